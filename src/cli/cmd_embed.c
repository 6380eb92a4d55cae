#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "fantasia/models.h"
#include "fantasia/pipeline.h"

static void help(FILE *out) {
  fputs(
      "usage: fantasia-c embed --input FASTA --output embeddings.h5 [options]\n\n"
      "Computes one pooled vector per sequence and writes FANTASIA's embeddings.h5 layout\n"
      "(/accession_<acc>/type_<model>/layer_<k>/embedding). Resumable: re-running the same command\n"
      "after an interruption keeps what was already computed. Records that cannot be embedded are\n"
      "listed in failed_sequences.tsv next to the output (or --failed).\n\n"
      "options:\n"
      "  -i, --input FILE        FASTA (plain or .gz)\n"
      "  -o, --output FILE       embeddings.h5 to write\n"
      "  -m, --model NAME|DIR    'kmer' (built-in k-mer composition baseline), or an ESM-2 or T5\n"
      "                          (ProtT5, ProstT5, Ankh; config.json model_type t5) model directory in\n"
      "                          Hugging Face layout (config.json, tokenizer, weights), an ESM C\n"
      "                          checkpoint (hub directory with data/weights/esmc_*.pth, or the .pth\n"
      "                          file), or a model name\n"
      "                          (ESM, Prot-T5, Prost-T5, Ankh3-Large, ESM3c, or a hub id org/name)\n"
      "                          found in --models-dir or the Hugging Face cache [kmer]\n"
      "      --models-dir DIR    folder of model directories searched for a model name (default:\n"
      "                          $FANTASIA_MODELS, then the Hugging Face cache ~/.cache/huggingface/hub)\n"
      "      --layers LIST       ESM-2 / T5 / ESM C: comma-separated FANTASIA layer indices,\n"
      "                          0 = last hidden state, k = hidden_states[-(k+1)]; ESM C: 0 = last\n"
      "                          block output before the final norm, up to n_layers-1 [0]\n"
      "      --model-name NAME   ESM-2 / T5 / ESM C: group name, written as type_<NAME> [ESM / T5 / ESM3c]\n"
      "      --pooling P         'residues' (mean over residue tokens only) or 'fantasia' (what FANTASIA's\n"
      "                          reference dumps hold: for T5 encoders the mean over every token, prefix\n"
      "                          and </s> included, ProtT5 with FANTASIA's '<AA2fold> ' prefix; ESM-2 and\n"
      "                          ESM C pool residues either way) [residues]\n"
      "      --kmer-k K          k-mer length for the kmer model, 1..4 [3]\n"
      "      --dtype T           stored precision: f32 | f16 | f64 [f32]\n"
      "      --max-length N      truncate sequences to N residues (0 = never) [0]\n"
      "      --batch-tokens N    ESM-2 / T5 / ESM C: tokens per packed batch (residues + 2 per\n"
      "                          sequence); distinct sequences run longest first, packed without\n"
      "                          padding, so results do not depend on it; a longer one runs alone [4096]\n"
      "      --max-memory SIZE   ESM-2 / T5 / ESM C: working memory per batch beyond the weights (8G,\n"
      "                          512M); a batch over it is split, a sequence over it alone is listed in\n"
      "                          failed_sequences.tsv with the memory it needs [half of what\n"
      "                          this process may still use once the model is loaded: physical RAM\n"
      "                          or a cgroup limit (Slurm job, container), whichever is smaller]\n"
      "      --limit N           embed only the first N records [all]\n"
      "      --failed FILE       where unprocessable records are listed\n"
      "  -t, --threads N         worker threads [the CPUs this process may use: affinity, cgroup quota]\n"
      "  -v, --verbose / -q, --quiet\n\n"
      "example:\n"
      "  fantasia-c embed --model kmer -i demo/queries.fasta -o out/embeddings.h5\n"
      "  fantasia-c embed --model models/esm2_t33_650M_UR50D --layers 0,1 -i q.fasta -o out/emb.h5\n"
      "  fantasia-c embed --model Prot-T5 --models-dir /data/models --pooling fantasia -i q.fasta -o e.h5\n",
      out);
}

int fc_cmd_embed(int argc, char **argv) {
  static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                       {"output", required_argument, 0, 'o'},
                                       {"model", required_argument, 0, 'm'},
                                       {"kmer-k", required_argument, 0, 'K'},
                                       {"dtype", required_argument, 0, 'D'},
                                       {"max-length", required_argument, 0, 'L'},
                                       {"limit", required_argument, 0, 'N'},
                                       {"failed", required_argument, 0, 'F'},
                                       {"threads", required_argument, 0, 't'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {"layers", required_argument, 0, 'Y'},
                                       {"model-name", required_argument, 0, 'n'},
                                       {"pooling", required_argument, 0, 'P'},
                                       {"models-dir", required_argument, 0, 'M'},
                                       {"batch-tokens", required_argument, 0, 'B'},
                                       {"max-memory", required_argument, 0, 'R'},
                                       {0, 0, 0, 0}};
  const char *input = NULL, *output = NULL, *models_dir = NULL;
  fc_embed_opts o;
  memset(&o, 0, sizeof o);
  o.model = "kmer";
  o.dtype = FC_DTYPE_F32;
  int c;
  long v;
  int layers[64];
  optind = 1;
  opterr = 0; /* one message of our own instead of getopt's */
  while ((c = getopt_long(argc, argv, "i:o:m:t:vqh", opts, NULL)) != -1) {
    switch (c) {
    case 'i':
      input = optarg;
      break;
    case 'o':
      output = optarg;
      break;
    case 'm':
      o.model = optarg;
      break;
    case 'K':
      if (fc_cli_long("embed", "--kmer-k", optarg, 1, 4, &v)) return 2;
      o.kmer_k = (int)v;
      break;
    case 'D':
      if (fc_dtype_parse(optarg, &o.dtype) != 0)
        return fc_cli_usage_error("embed", "--dtype must be f32, f16 or f64, not '%s'", optarg);
      break;
    case 'L':
      if (fc_cli_long("embed", "--max-length", optarg, 0, LONG_MAX, &v)) return 2;
      o.max_len = (size_t)v;
      break;
    case 'N':
      if (fc_cli_long("embed", "--limit", optarg, 0, LONG_MAX, &v)) return 2;
      o.limit = (size_t)v;
      break;
    case 'Y': {
      o.n_layers = 0;
      char *dup = fc_strdup(optarg), *save = NULL;
      if (!dup) return 1;
      for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o.n_layers == sizeof layers / sizeof layers[0] ||
            fc_cli_long("embed", "--layers", tok, 0, 4096, &v)) {
          free(dup);
          return o.n_layers == sizeof layers / sizeof layers[0]
                     ? fc_cli_usage_error("embed", "--layers: at most 64 indices")
                     : 2;
        }
        layers[o.n_layers++] = (int)v;
      }
      free(dup);
      if (!o.n_layers) return fc_cli_usage_error("embed", "--layers needs at least one index");
      o.layers = layers;
      break;
    }
    case 'n':
      o.model_name = optarg;
      break;
    case 'P':
      if (!strcmp(optarg, "fantasia"))
        o.fantasia_pooling = 1;
      else if (!strcmp(optarg, "residues"))
        o.fantasia_pooling = 0;
      else
        return fc_cli_usage_error("embed", "--pooling must be fantasia or residues, not '%s'", optarg);
      break;
    case 'B':
      if (fc_cli_long("embed", "--batch-tokens", optarg, 1, LONG_MAX, &v)) return 2;
      o.batch_tokens = (size_t)v;
      break;
    case 'R': {
      fc_error e;
      fc_error_clear(&e);
      if (fc_parse_bytes(optarg, &o.max_memory, &e) != FC_OK)
        return fc_cli_usage_error("embed", "--max-memory: %s", e.msg);
      break;
    }
    case 'M':
      models_dir = optarg;
      break;
    case 'F':
      o.failed_tsv = optarg;
      break;
    case 't':
      if (fc_cli_long("embed", "--threads", optarg, 0, 4096, &v)) return 2;
      o.threads = (int)v;
      if (v > 0) setenv("FANTASIA_THREADS", optarg, 1); /* the backend kernels' thread count */
      break;
    case 'v':
      fc_log_set_level(FC_LOG_DEBUG);
      break;
    case 'q':
      fc_log_set_level(FC_LOG_ERROR);
      break;
    case 'h':
      help(stdout);
      return 0;
    default:
      return fc_cli_usage_error("embed", "unknown option or missing value: %s", argv[optind - 1]);
    }
  }
  if (!input || !output) return fc_cli_usage_error("embed", "--input and --output are required");
  fc_error err;
  fc_error_clear(&err);
  size_t done = 0, failed = 0;
  /* a name that is not a path is looked up in the model folders (and becomes the group name) */
  char *where = NULL;
  int pathlike = o.model[0] == '/' || o.model[0] == '.' || o.model[0] == '~' || fc_file_exists(o.model);
  if (strcasecmp(o.model, "kmer") && !pathlike) {
    if (fc_model_locate(o.model, NULL, models_dir, &where, &err) != FC_OK) return fc_cli_fail(&err);
    fc_log_info("embed: model %s found at %s", o.model, where);
    if (!o.model_name) {
      const fc_fantasia_model *fm = fc_fantasia_model_find(o.model);
      const char *base = strrchr(o.model, '/'); /* a hub id org/name: the group is type_<name> */
      o.model_name = fm ? fm->name : base ? base + 1 : o.model;
    }
    o.model = where;
  }
  fc_status st = fc_embed_fasta(input, output, &o, &done, &failed, &err);
  free(where);
  if (st != FC_OK) return fc_cli_fail(&err);
  fc_log_info("embed: %zu sequences embedded into %s, %zu could not be processed", done, output, failed);
  return 0;
}
