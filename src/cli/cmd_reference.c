#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fantasia/pipeline.h"
#include "fantasia/refdb.h"

static void help(FILE *out) {
  fputs("usage: fantasia-c reference <build|import-lite|info> [options]\n\n"
        "  build        make a reference store (one SQLite file) from your own data\n"
        "  import-lite  convert a FANTASIA-Lite lookup bundle (lookup_table.npz + JSON) into a store\n"
        "  info         print models, layers, dimensions, counts, evidence codes and provenance\n\n"
        "reference build options:\n"
        "  --fasta FILE          reference proteins (plain or .gz; UniProt headers give protein id,\n"
        "                        accession, gene (GN=), organism (OS=) and taxonomy id (OX=))\n"
        "  --annotations FILE    GO annotations: GAF 2.x, or TSV accession<TAB>GO<TAB>evidence|aspect\n"
        "  --ontology FILE       GO in OBO format (names, aspects, alt_id and obsolete handling)\n"
        "  --embeddings FILE     embeddings.h5 of the reference proteins (any models and layers)\n"
        "  --taxonomy FILE       optional TSV accession<TAB>taxonomy_id[<TAB>organism]\n"
        "  --evidence CODES      comma-separated evidence codes to keep, or 'all'\n"
        "                        [EXP,IDA,IPI,IMP,IGI,IEP,TAS,IC: FANTASIA's experimental set]\n"
        "  --skip-bad-lines      warn about and skip malformed annotation lines [they are an error]\n"
        "  -o, --output FILE     the store to write (atomically)\n\n"
        "reference import-lite options:\n"
        "  --lookup-npz FILE --annotations-json FILE --accessions-json FILE -o, --output FILE\n\n"
        "reference info STORE\n\n"
        "examples:\n"
        "  fantasia-c reference build --fasta refs.fasta --annotations goa.gaf --ontology go.obo \\\n"
        "      --embeddings refs.h5 -o reference.db\n"
        "  fantasia-c reference import-lite --lookup-npz lookup_table.npz --annotations-json "
        "annotations.json \\\n"
        "      --accessions-json accessions.json -o lite.db\n"
        "  fantasia-c reference info reference.db\n",
        out);
}

static int cmd_build(int argc, char **argv) {
  static const struct option opts[] = {
      {"fasta", required_argument, 0, 'f'},    {"annotations", required_argument, 0, 'a'},
      {"ontology", required_argument, 0, 'g'}, {"embeddings", required_argument, 0, 'e'},
      {"taxonomy", required_argument, 0, 'x'}, {"evidence", required_argument, 0, 'E'},
      {"output", required_argument, 0, 'o'},   {"skip-bad-lines", no_argument, 0, 'B'},
      {"verbose", no_argument, 0, 'v'},        {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
  fc_build_opts o;
  memset(&o, 0, sizeof o);
  char *codes_buf = NULL;
  const char *codes[64];
  int c;
  optind = 1;
  opterr = 0; /* one message of our own instead of getopt's */
  while ((c = getopt_long(argc, argv, "o:vqh", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      o.fasta = optarg;
      break;
    case 'a':
      o.annotations = optarg;
      break;
    case 'g':
      o.ontology = optarg;
      break;
    case 'e':
      o.embeddings = optarg;
      break;
    case 'x':
      o.taxonomy_tsv = optarg;
      break;
    case 'o':
      o.output = optarg;
      break;
    case 'B':
      o.skip_bad_lines = 1;
      break;
    case 'E':
      if (!strcmp(optarg, "all")) {
        o.all_evidence = 1;
        break;
      }
      free(codes_buf);
      codes_buf = fc_strdup(optarg);
      o.n_evidence = 0;
      for (char *tok = strtok(codes_buf, ", "); tok && o.n_evidence < 64; tok = strtok(NULL, ", "))
        codes[o.n_evidence++] = tok;
      o.evidence_codes = codes;
      break;
    case 'v':
      fc_log_set_level(FC_LOG_DEBUG);
      break;
    case 'q':
      fc_log_set_level(FC_LOG_ERROR);
      break;
    case 'h':
      help(stdout);
      free(codes_buf);
      return 0;
    default:
      free(codes_buf);
      return fc_cli_usage_error("reference build", "unknown option or missing value: %s", argv[optind - 1]);
    }
  }
  if (!o.fasta || !o.annotations || !o.ontology || !o.embeddings || !o.output) {
    free(codes_buf);
    return fc_cli_usage_error("reference build",
                              "--fasta, --annotations, --ontology, --embeddings and --output are required");
  }
  fc_error err;
  fc_error_clear(&err);
  fc_build_report rep;
  fc_status st = fc_reference_build(&o, &rep, &err);
  free(codes_buf);
  if (st != FC_OK) return fc_cli_fail(&err);
  fc_log_info("reference build: %s: %zu sequences, %zu proteins, %zu annotations on %zu GO terms, %zu "
              "embedding spaces",
              o.output, rep.sequences, rep.proteins, rep.annotations, rep.go_terms, rep.spaces);
  if (rep.skipped_evidence || rep.unknown_go || rep.unknown_protein)
    fc_log_info(
        "reference build: left out %zu annotations by evidence code, %zu with unknown/obsolete GO terms, "
        "%zu for proteins not in the FASTA",
        rep.skipped_evidence, rep.unknown_go, rep.unknown_protein);
  printf("%s\n", o.output);
  return 0;
}

static int cmd_import_lite(int argc, char **argv) {
  static const struct option opts[] = {{"lookup-npz", required_argument, 0, 'n'},
                                       {"annotations-json", required_argument, 0, 'a'},
                                       {"accessions-json", required_argument, 0, 'c'},
                                       {"output", required_argument, 0, 'o'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *npz = NULL, *ann = NULL, *acc = NULL, *out = NULL;
  int c;
  optind = 1;
  opterr = 0; /* one message of our own instead of getopt's */
  while ((c = getopt_long(argc, argv, "o:vqh", opts, NULL)) != -1) {
    switch (c) {
    case 'n':
      npz = optarg;
      break;
    case 'a':
      ann = optarg;
      break;
    case 'c':
      acc = optarg;
      break;
    case 'o':
      out = optarg;
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
      return fc_cli_usage_error("reference import-lite", "unknown option or missing value: %s",
                                argv[optind - 1]);
    }
  }
  if (!npz || !ann || !out)
    return fc_cli_usage_error("reference import-lite",
                              "--lookup-npz, --annotations-json and --output are required");
  fc_error err;
  fc_error_clear(&err);
  if (fc_refdb_import_lite(npz, ann, acc, out, NULL, &err) != FC_OK) return fc_cli_fail(&err);
  printf("%s\n", out);
  return 0;
}

static int cmd_info(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      help(stdout);
      return 0;
    }
    if (fc_cli_verbosity_flag(argv[i])) continue;
    path = argv[i];
  }
  if (!path) return fc_cli_usage_error("reference info", "give the store path");
  fc_error err;
  fc_error_clear(&err);
  fc_refdb *db;
  if (fc_refdb_open(path, &db, &err) != FC_OK) return fc_cli_fail(&err);
  fc_refdb_info in;
  if (fc_refdb_get_info(db, &in, &err) != FC_OK) {
    fc_refdb_close(db, 0, NULL);
    return fc_cli_fail(&err);
  }
  printf("store            %s\nschema version   %d\n", path, in.schema_version);
  printf("sequences        %llu\nproteins         %llu\nGO terms         %llu\nannotations      %llu\n",
         (unsigned long long)in.sequences, (unsigned long long)in.proteins, (unsigned long long)in.go_terms,
         (unsigned long long)in.annotations);
  if (in.annotations_without_go_term)
    printf("  (%llu annotations name a GO term the store does not define)\n",
           (unsigned long long)in.annotations_without_go_term);
  printf("evidence codes  ");
  for (size_t i = 0; i < in.n_evidence; i++)
    printf(" %s=%llu", in.evidence[i].code, (unsigned long long)in.evidence[i].count);
  printf("\n\nembedding spaces (model, layer, dimensions, rows, pooling):\n");
  for (size_t i = 0; i < in.n_spaces; i++) {
    const fc_refdb_space *sp = &in.spaces[i];
    printf("  %-14s type_id %-3lld layer %-3d dim %-6zu rows %-9zu pooling %s\n", sp->name,
           (long long)sp->type_id, sp->layer, sp->dim, sp->n_rows, sp->pooling ? sp->pooling : "-");
  }
  printf("\nprovenance:\n");
  for (size_t i = 0; i < in.n_meta; i++)
    printf("  %-20s %s\n", in.meta[i].key, in.meta[i].value);
  fc_refdb_info_free(&in);
  fc_refdb_close(db, 0, NULL);
  return 0;
}

int fc_cmd_reference(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    help(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "build")) return cmd_build(argc - 1, argv + 1);
  if (!strcmp(argv[1], "import-lite")) return cmd_import_lite(argc - 1, argv + 1);
  if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
  return fc_cli_usage_error("reference", "unknown subcommand '%s' (build, import-lite, info)", argv[1]);
}
