#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fantasia/go.h"
#include "fantasia/pipeline.h"

static void help(FILE *out) {
  fputs("usage: fantasia-c lookup --embeddings embeddings.h5 --reference STORE --output-dir DIR [options]\n\n"
        "Exact k-nearest-neighbour lookup of every query embedding (each model and layer of the file\n"
        "against the same model and layer of the store), GO transfer from the neighbours, and the\n"
        "outputs: raw_results.tsv, summary.csv, topgo/, sequences.fasta, query_index_mapping.csv,\n"
        "predictions/<model>_L<k>.tsv (target term score) and cafa/<model>_L<k>.txt (CAFA format).\n\n"
        "options:\n"
        "  -e, --embeddings FILE     query embeddings.h5 (FANTASIA layout)\n"
        "  -r, --reference FILE      reference store (fantasia-c reference build / import-lite)\n"
        "  -o, --output-dir DIR      where the outputs go (created)\n"
        "  -k, --k N                 neighbours per query (limit_per_entry), 1..10000 [1]\n"
        "      --metric M            cosine | euclidean [cosine]\n"
        "      --threshold D         keep neighbours with distance <= D (applied before k)\n"
        "      --model NAME          only this model of the query file (repeatable)\n"
        "      --layer K             only this layer (with --model; repeatable)\n"
        "      --exclude-taxa IDS    drop donors of these NCBI taxonomy ids (comma-separated)\n"
        "      --include-taxa IDS    keep only donors of these taxonomy ids\n"
        "      --taxonomy-nodes FILE NCBI nodes.dmp: the two lists then include all descendants\n"
        "      --exclude-self        drop donors with the query's sequence or accession (benchmarks)\n"
        "      --max-identity F      drop donors whose global identity to the query is above F,\n"
        "                            refilling k from further neighbours (benchmarks)\n"
        "      --redundancy-identity F, --redundancy-coverage F\n"
        "                            MMseqs2 cluster masking as FANTASIA does (needs mmseqs on PATH)\n"
        "      --alignments          add NW/SW identity, similarity, score, gaps columns (parasail)\n"
        "      --raw-format F        tsv | csv_tree (FANTASIA's per-accession files) | both [tsv]\n"
        "      --keep-sequences      write the query/reference sequence columns\n"
        "      --scoring S           fantasia (per-hit rows) | gopredsim (goPredSim: one search per\n"
        "                            namespace, ties at the k-th distance, sum(RI)/hits, leaf terms;\n"
        "                            needs --ontology) [fantasia]\n"
        "      --ontology FILE       GO OBO (plain or .gz), for gopredsim and --propagate\n"
        "      --propagate           propagate the prediction files' scores to all ancestors (max)\n"
        "      --no-predictions      do not write predictions/*.tsv and cafa/*.txt\n"
        "  -t, --threads N           threads [the CPUs this process may use: affinity, cgroup quota]\n"
        "  -v, --verbose / -q, --quiet\n\n"
        "example:\n"
        "  fantasia-c lookup -e out/embeddings.h5 -r out/reference.db -o out/lookup -k 5 --alignments\n",
        out);
}

static size_t split_list(char *s, const char **out, size_t max) {
  size_t n = 0;
  for (char *tok = strtok(s, ", "); tok && n < max; tok = strtok(NULL, ", "))
    out[n++] = tok;
  return n;
}

int fc_cmd_lookup(int argc, char **argv) {
  static const struct option opts[] = {{"embeddings", required_argument, 0, 'e'},
                                       {"reference", required_argument, 0, 'r'},
                                       {"output-dir", required_argument, 0, 'o'},
                                       {"k", required_argument, 0, 'k'},
                                       {"metric", required_argument, 0, 'M'},
                                       {"threshold", required_argument, 0, 'T'},
                                       {"model", required_argument, 0, 'm'},
                                       {"layer", required_argument, 0, 'l'},
                                       {"exclude-taxa", required_argument, 0, 'X'},
                                       {"include-taxa", required_argument, 0, 'I'},
                                       {"taxonomy-nodes", required_argument, 0, 'N'},
                                       {"exclude-self", no_argument, 0, 'S'},
                                       {"max-identity", required_argument, 0, 'Y'},
                                       {"redundancy-identity", required_argument, 0, 'R'},
                                       {"redundancy-coverage", required_argument, 0, 'C'},
                                       {"alignments", no_argument, 0, 'A'},
                                       {"raw-format", required_argument, 0, 'F'},
                                       {"keep-sequences", no_argument, 0, 'K'},
                                       {"threads", required_argument, 0, 't'},
                                       {"scoring", required_argument, 0, 'G'},
                                       {"ontology", required_argument, 0, 'O'},
                                       {"propagate", no_argument, 0, 'P'},
                                       {"no-predictions", no_argument, 0, 'n'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *emb = NULL, *outdir = NULL, *raw = "tsv", *obo = NULL;
  int propagate = 0, no_predictions = 0;
  fc_go *go = NULL;
  fc_ontology *onto = NULL;
  fc_predictions *scored = NULL;
  fc_lookup_opts o;
  fc_lookup_opts_init(&o);
  fc_outputs_opts oo;
  memset(&oo, 0, sizeof oo);
  oo.precision = 4;
  const char *models[32];
  size_t n_models = 0;
  int layers[32];
  size_t n_layers = 0;
  char *xbuf = NULL, *ibuf = NULL;
  const char *xl[256], *il[256];
  fc_error err;
  fc_error_clear(&err);
  int c, rc = 0;
  long v;
  optind = 1;
  opterr = 0; /* one message of our own instead of getopt's */
  while ((c = getopt_long(argc, argv, "e:r:o:k:m:l:t:vqh", opts, NULL)) != -1) {
    switch (c) {
    case 'e':
      emb = optarg;
      break;
    case 'r':
      o.reference = optarg;
      break;
    case 'o':
      outdir = optarg;
      break;
    case 'k':
      if ((rc = fc_cli_long("lookup", "-k/--k", optarg, 1, 10000, &v))) goto done;
      o.k = (size_t)v;
      break;
    case 'M':
      if (fc_metric_parse(optarg, &o.metric, &err) != FC_OK) {
        rc = fc_cli_fail(&err);
        goto done;
      }
      break;
    case 'T':
      if ((rc = fc_cli_double("lookup", "--threshold", optarg, 0, HUGE_VAL, &o.default_threshold))) goto done;
      break;
    case 'm':
      if (n_models < 32) models[n_models++] = optarg;
      break;
    case 'l':
      if ((rc = fc_cli_long("lookup", "--layer", optarg, -1, 100000, &v))) goto done;
      if (n_layers < 32) layers[n_layers++] = (int)v;
      break;
    case 'X':
      free(xbuf);
      xbuf = fc_strdup(optarg);
      o.n_tax_exclude = split_list(xbuf, xl, 256);
      o.tax_exclude = xl;
      break;
    case 'I':
      free(ibuf);
      ibuf = fc_strdup(optarg);
      o.n_tax_include = split_list(ibuf, il, 256);
      o.tax_include = il;
      break;
    case 'N':
      o.taxonomy_nodes = optarg;
      break;
    case 'S':
      o.exclude_self = 1;
      break;
    case 'Y':
      if ((rc = fc_cli_double("lookup", "--max-identity", optarg, 0, 1, &o.max_identity))) goto done;
      break;
    case 'R':
      if ((rc = fc_cli_double("lookup", "--redundancy-identity", optarg, 0, 1, &o.redundancy_identity)))
        goto done;
      break;
    case 'C':
      if ((rc = fc_cli_double("lookup", "--redundancy-coverage", optarg, 0, 1, &o.redundancy_coverage)))
        goto done;
      break;
    case 'A':
      oo.alignments = 1;
      break;
    case 'F':
      raw = optarg;
      break;
    case 'K':
      oo.keep_sequences = 1;
      break;
    case 't':
      if ((rc = fc_cli_long("lookup", "--threads", optarg, 0, 4096, &v))) goto done;
      o.threads = oo.threads = (int)v;
      break;
    case 'G':
      if (fc_scoring_parse(optarg, &o.scoring, &err) != FC_OK) {
        rc = fc_cli_usage_error("lookup", "--scoring must be fantasia or gopredsim, not '%s'", optarg);
        goto done;
      }
      break;
    case 'O':
      obo = optarg;
      break;
    case 'P':
      propagate = 1;
      break;
    case 'n':
      no_predictions = 1;
      break;
    case 'v':
      fc_log_set_level(FC_LOG_DEBUG);
      break;
    case 'q':
      fc_log_set_level(FC_LOG_ERROR);
      break;
    case 'h':
      help(stdout);
      goto done;
    default:
      rc = fc_cli_usage_error("lookup", "unknown option or missing value: %s", argv[optind - 1]);
      goto done;
    }
  }
  if (!emb || !o.reference || !outdir) {
    rc = fc_cli_usage_error("lookup", "--embeddings, --reference and --output-dir are required");
    goto done;
  }
  if (!strcmp(raw, "tsv"))
    oo.write_tsv = 1;
  else if (!strcmp(raw, "csv_tree"))
    oo.write_csv_tree = 1;
  else if (!strcmp(raw, "both"))
    oo.write_tsv = oo.write_csv_tree = 1;
  else {
    rc = fc_cli_usage_error("lookup", "--raw-format must be tsv, csv_tree or both");
    goto done;
  }
  if ((o.scoring == FC_SCORING_GOPREDSIM || propagate) && !obo) {
    rc = fc_cli_usage_error("lookup", "%s needs --ontology",
                            propagate ? "--propagate" : "--scoring gopredsim");
    goto done;
  }
  fc_lookup_model lm[32];
  for (size_t i = 0; i < n_models; i++) {
    lm[i] = (fc_lookup_model){models[i], 0, n_layers ? layers : NULL, n_layers, NAN};
  }
  if (n_models) {
    o.models = lm;
    o.n_models = n_models;
  } else if (n_layers) {
    rc = fc_cli_usage_error("lookup", "--layer needs --model");
    goto done;
  }
  o.work_dir = outdir;
  oo.out_dir = outdir;
  if (fc_mkdir_p(outdir, &err) != FC_OK) {
    rc = fc_cli_fail(&err);
    goto done;
  }
  fc_embset q;
  if (fc_embfile_read(emb, &q, &err) != FC_OK) {
    rc = fc_cli_fail(&err);
    goto done;
  }
  fc_raw_table *t = fc_raw_table_new();
  fc_status st = fc_cli_ontology_load(obo, &go, &onto, &err);
  if (st == FC_OK && o.scoring == FC_SCORING_GOPREDSIM) {
    o.ontology = onto;
    o.predictions = scored = fc_predictions_new();
    if (!scored) st = fc_error_set(&err, FC_ENOMEM, "out of memory");
  }
  if (st == FC_OK) st = fc_lookup_run(&q, &o, t, &err);
  if (st == FC_OK) st = fc_outputs_write(t, &oo, &err);
  if (st == FC_OK && !no_predictions)
    st = fc_cli_write_predictions(t, scored, outdir, onto, propagate,
                                  o.scoring == FC_SCORING_GOPREDSIM ? 2 : oo.precision, NULL, &err);
  if (st != FC_OK)
    rc = fc_cli_fail(&err);
  else {
    fc_log_info("lookup: %zu raw rows; outputs in %s", fc_raw_table_size(t), outdir);
    printf("%s\n", outdir);
  }
  fc_raw_table_free(t);
  fc_embset_free(&q);
done:
  fc_predictions_free(scored);
  fc_ontology_free(onto);
  fc_go_free(go);
  free(xbuf);
  free(ibuf);
  return rc;
}
