/* fantasia-c ia: information accretion of ontology terms from an annotation file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fantasia/go.h"

static void help(FILE *out) {
  fputs("usage: fantasia-c ia --ontology go.obo --annotations ann.tsv -o ia.tsv [--replace-obsolete]\n\n"
        "Information accretion (Clark & Radivojac 2013) of every annotated term: the annotations are\n"
        "propagated over is_a + part_of within each namespace, then IA(v) = log2(N(Pa(v)) / N(v)), N(v) the\n"
        "targets annotated with v, N(Pa(v)) those annotated with all parents of v (a root: all targets\n"
        "annotated in its namespace). No pseudocounts. Writes term<TAB>ia sorted by term; terms never\n"
        "annotated are left out (evaluators read them as 0).\n\n"
        "  --ontology FILE       OBO, plain or .gz\n"
        "  --annotations FILE    target<TAB>term pairs, GAF 2.x, or TSV target<TAB>term<TAB>evidence|aspect\n"
        "  --replace-obsolete    map obsolete terms to their replaced_by term (default: dropped)\n"
        "  -o, --output FILE     the IA table to write\n\n"
        "example:\n"
        "  fantasia-c ia --ontology go.obo --annotations ground_truth.tsv -o ia.tsv\n",
        out);
}

int fc_cmd_ia(int argc, char **argv) {
  static const struct option opts[] = {{"ontology", required_argument, 0, 'g'},
                                       {"annotations", required_argument, 0, 'a'},
                                       {"replace-obsolete", no_argument, 0, 'R'},
                                       {"output", required_argument, 0, 'o'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *obo = NULL, *ann_path = NULL, *outp = NULL;
  fc_ontology_opts oo = {0};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:vqh", opts, NULL)) != -1) {
    switch (c) {
    case 'g':
      obo = optarg;
      break;
    case 'a':
      ann_path = optarg;
      break;
    case 'o':
      outp = optarg;
      break;
    case 'R':
      oo.replace_obsolete = 1;
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
      return fc_cli_usage_error("ia", "bad option");
    }
  }
  if (optind < argc) return fc_cli_usage_error("ia", "unexpected argument '%s'", argv[optind]);
  if (!obo || !ann_path || !outp)
    return fc_cli_usage_error("ia", "--ontology, --annotations and --output are required");
  fc_error err = {0};
  fc_go *go = NULL;
  fc_ontology *o = NULL;
  fc_annot_set ann;
  memset(&ann, 0, sizeof ann);
  fc_ia_table t;
  memset(&t, 0, sizeof t);
  int rc = 0;
  if (fc_go_load(obo, &go, &err) != FC_OK || fc_ontology_build(go, &oo, &o, &err) != FC_OK ||
      fc_annot_read(ann_path, NULL, &ann, &err) != FC_OK ||
      fc_ontology_ia_compute(o, &ann, &t, &err) != FC_OK || fc_ia_table_write(o, &t, outp, &err) != FC_OK) {
    rc = fc_cli_fail(&err);
  } else {
    fprintf(
        stderr,
        "ia: %zu annotation lines, %zu used for %zu targets; skipped: %zu unknown terms, %zu obsolete terms, "
        "%zu malformed lines; wrote %s\n",
        ann.n + ann.n_bad, t.n_pairs_used, t.n_targets, t.n_skipped_unknown, t.n_skipped_obsolete, ann.n_bad,
        outp);
  }
  fc_ia_table_free(&t);
  fc_annot_set_free(&ann);
  fc_ontology_free(o);
  fc_go_free(go);
  return rc;
}
