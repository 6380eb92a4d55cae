/* fantasia-c evaluate: CAFA-evaluator 1.2.1 metrics of prediction files against a ground truth. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fantasia/evaluate.h"
#include "fantasia/go.h"

static void help(FILE *out) {
  fputs(
      "usage: fantasia-c evaluate --ontology go.obo --ground-truth gt.tsv --predictions FILE|DIR -o OUTDIR\n"
      "                           [--ia ia.tsv] [--norm cafa|pred|gt] [--prop max|fill] [--th-step 0.01]\n"
      "                           [--max-terms N] [--no-orphans] [--known known.tsv] [--replace-obsolete] "
      "[--plot]\n\n"
      "Evaluates predictions the way CAFA-evaluator 1.2.1 (pip cafaeval) does, per namespace and per file:\n"
      "precision/recall/F over the thresholds tau = step, 2*step, ... < 1, Fmax, IA-weighted F (with --ia),\n"
      "S = sqrt(ru^2 + mi^2) and its minimum, coverage and micro-averaged F.\n\n"
      "  --ontology FILE       GO (or any) ontology in OBO format, plain or .gz\n"
      "  --ground-truth FILE   target<TAB>term pairs (extra columns ignored), propagated to ancestors\n"
      "  --predictions PATH    a file or a folder (recursive) of 'target term score' lines\n"
      "  --ia FILE             'term ia' lines (fantasia-c ia makes one): adds the *_w columns\n"
      "  --norm MODE           cafa (default): precision over targets with a prediction, recall over all;\n"
      "                        pred: everything over targets with a prediction; gt: over all targets\n"
      "  --prop MODE           max (default): each ancestor gets the max score below it;\n"
      "                        fill: only ancestors without a score of their own get it\n"
      "  --th-step X           threshold step [0.01]; outputs have ceil(-log10 X)+1 decimals\n"
      "  --max-terms N         at most N (+1, as cafaeval) distinct terms per target, in file order\n"
      "  --no-orphans          do not evaluate terms without parents (the namespace roots), as CAFA\n"
      "  --known FILE          known annotations (target term) left out per target: partial-knowledge\n"
      "                        evaluation as later CAFA-evaluator versions' -known (not in 1.2.1); targets\n"
      "                        left without ground truth are not evaluated\n"
      "  --replace-obsolete    map obsolete terms to their replaced_by term (cafaeval drops them)\n"
      "  --plot                also write pr_<namespace>.svg precision-recall plots (one curve per file)\n"
      "  -o, --output DIR      writes evaluation_all.tsv and "
      "evaluation_best_{f,s,f_micro}[,f_w,f_micro_w].tsv\n\n"
      "Unknown or obsolete terms, scores outside [0,1], duplicate lines, targets without ground truth and\n"
      "unreadable files are counted and reported on stderr; they never stop the evaluation.\n\n"
      "example:\n"
      "  fantasia-c evaluate --ontology go.obo --ground-truth gt.tsv --predictions preds/ --ia ia.tsv -o "
      "eval\n",
      out);
}

static void report(const char *what, const fc_eval_input_stats *s) {
  if (fc_log_get_level() < FC_LOG_WARN) return; /* -q */
  fprintf(
      stderr,
      "%s: %zu lines, %zu used; skipped: %zu short, %zu unknown terms, %zu obsolete terms, %zu bad scores, "
      "%zu targets without ground truth, %zu terms of a namespace without ground truth, %zu over max-terms; "
      "%zu duplicates, %zu alt_ids mapped, %zu scores outside [0,1]%s",
      what, s->lines, s->used, s->short_lines, s->unknown_term, s->obsolete_term, s->bad_score,
      s->other_target, s->ns_without_gt, s->over_max_terms, s->duplicates, s->alt_mapped, s->out_of_range,
      s->unreadable ? "" : "\n");
  if (s->unreadable) fprintf(stderr, "; %zu unreadable files\n", s->unreadable);
}

int fc_cmd_evaluate(int argc, char **argv) {
  static const struct option opts[] = {{"ontology", required_argument, 0, 'g'},
                                       {"ground-truth", required_argument, 0, 't'},
                                       {"predictions", required_argument, 0, 'p'},
                                       {"ia", required_argument, 0, 'i'},
                                       {"norm", required_argument, 0, 'n'},
                                       {"prop", required_argument, 0, 'P'},
                                       {"th-step", required_argument, 0, 's'},
                                       {"max-terms", required_argument, 0, 'm'},
                                       {"no-orphans", no_argument, 0, 'O'},
                                       {"replace-obsolete", no_argument, 0, 'R'},
                                       {"known", required_argument, 0, 'K'},
                                       {"plot", no_argument, 0, 'L'},
                                       {"output", required_argument, 0, 'o'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *obo = NULL, *gt = NULL, *pred = NULL, *ia = NULL, *outdir = NULL;
  fc_eval_opts eo;
  fc_eval_opts_default(&eo);
  fc_ontology_opts oo = {0};
  int c, plot = 0;
  char *end;
  optind = 1;
  while ((c = getopt_long(argc, argv, "o:vqh", opts, NULL)) != -1) {
    switch (c) {
    case 'g':
      obo = optarg;
      break;
    case 't':
      gt = optarg;
      break;
    case 'p':
      pred = optarg;
      break;
    case 'i':
      ia = optarg;
      break;
    case 'o':
      outdir = optarg;
      break;
    case 'O':
      eo.no_orphans = 1;
      break;
    case 'K':
      eo.known_path = optarg;
      break;
    case 'L':
      plot = 1;
      break;
    case 'R':
      oo.replace_obsolete = 1;
      break;
    case 'n':
      if (!strcmp(optarg, "cafa"))
        eo.norm = FC_NORM_CAFA;
      else if (!strcmp(optarg, "pred"))
        eo.norm = FC_NORM_PRED;
      else if (!strcmp(optarg, "gt"))
        eo.norm = FC_NORM_GT;
      else
        return fc_cli_usage_error("evaluate", "--norm must be cafa, pred or gt, not '%s'", optarg);
      break;
    case 'P':
      if (!strcmp(optarg, "max"))
        eo.prop = FC_PROP_MAX;
      else if (!strcmp(optarg, "fill"))
        eo.prop = FC_PROP_FILL;
      else
        return fc_cli_usage_error("evaluate", "--prop must be max or fill, not '%s'", optarg);
      break;
    case 's':
      eo.th_step = strtod(optarg, &end);
      if (end == optarg || *end || !(eo.th_step > 0 && eo.th_step < 1))
        return fc_cli_usage_error("evaluate", "--th-step must be a number in (0, 1), not '%s'", optarg);
      break;
    case 'm':
      eo.max_terms = strtol(optarg, &end, 10);
      if (end == optarg || *end || eo.max_terms < 0)
        return fc_cli_usage_error("evaluate", "--max-terms must be a non-negative integer, not '%s'", optarg);
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
      return fc_cli_usage_error("evaluate", "bad option");
    }
  }
  if (optind < argc) return fc_cli_usage_error("evaluate", "unexpected argument '%s'", argv[optind]);
  if (!obo || !gt || !pred || !outdir)
    return fc_cli_usage_error("evaluate",
                              "--ontology, --ground-truth, --predictions and --output are required");
  fc_error err = {0};
  fc_go *go = NULL;
  fc_ontology *o = NULL;
  fc_eval *ev = NULL;
  int rc = 0;
  double t0 = fc_now_seconds();
  if (fc_go_load(obo, &go, &err) != FC_OK || fc_ontology_build(go, &oo, &o, &err) != FC_OK ||
      fc_eval_new(o, gt, ia, &eo, &ev, &err) != FC_OK) {
    rc = fc_cli_fail(&err);
    goto out;
  }
  const fc_ontology_stats *os = fc_ontology_get_stats(o);
  fc_log(
      FC_LOG_INFO,
      "ontology %s: %zu terms in %zu namespaces, %zu obsolete dropped%s, %zu cross-namespace edges dropped",
      obo, os->n_terms, fc_ontology_n_namespaces(o), os->n_obsolete,
      oo.replace_obsolete ? " (replaced_by used)" : "", os->n_cross_ns_edges);
  for (size_t k = 0; k < fc_ontology_n_namespaces(o); k++)
    if (fc_eval_gt_targets(ev, (int)k))
      fc_log(FC_LOG_INFO, "ground truth %s: %zu targets, %zu annotations (propagated)",
             fc_ontology_namespace(o, (int)k), fc_eval_gt_targets(ev, (int)k),
             fc_eval_gt_annotations(ev, (int)k));
  report("ground truth", fc_eval_gt_stats(ev));
  if (ia) report("ia", fc_eval_ia_stats(ev));
  if (eo.known_path) {
    report("known", fc_eval_known_stats(ev));
    for (size_t k = 0; k < fc_ontology_n_namespaces(o); k++)
      if (fc_eval_gt_targets(ev, (int)k))
        fc_log(FC_LOG_INFO, "known %s: %zu of %zu targets keep ground truth to evaluate",
               fc_ontology_namespace(o, (int)k), fc_eval_active_targets(ev, (int)k),
               fc_eval_gt_targets(ev, (int)k));
  }
  fc_eval_input_stats ps;
  if (fc_eval_add_path(ev, pred, &ps, &err) != FC_OK) {
    rc = fc_cli_fail(&err);
    goto out;
  }
  report("predictions", &ps);
  size_t nrows;
  fc_eval_rows(ev, &nrows);
  if (nrows == 0) {
    fc_error_set(&err, FC_EINVAL, "%s: no prediction overlaps the ground truth: nothing to evaluate", pred);
    rc = fc_cli_fail(&err);
    goto out;
  }
  if (fc_eval_write(ev, outdir, &err) != FC_OK) {
    rc = fc_cli_fail(&err);
    goto out;
  }
  if (plot && fc_eval_write_plots(ev, o, outdir, &err) != FC_OK) {
    rc = fc_cli_fail(&err);
    goto out;
  }
  /* short table: Fmax (and weighted Fmax, Smin) per file and namespace */
  const fc_eval_row **best, **best_w = NULL, **best_s;
  double *cov, *cov_w = NULL, *cov_s;
  size_t nb, nbw = 0, nbs;
  if (fc_eval_best(ev, "f", &best, &cov, &nb, &err) != FC_OK ||
      fc_eval_best(ev, "s", &best_s, &cov_s, &nbs, &err) != FC_OK ||
      (ia && fc_eval_best(ev, "f_w", &best_w, &cov_w, &nbw, &err) != FC_OK)) {
    rc = fc_cli_fail(&err);
    goto out;
  }
  printf("%-28s %-20s %6s %5s %6s %6s %6s %7s%s\n", "filename", "ns", "Fmax", "tau", "pr", "rc", "cov", "S",
         ia ? "  wFmax" : "");
  for (size_t i = 0; i < nb; i++) {
    printf("%-28s %-20s %6.3f %5.2f %6.3f %6.3f %6.3f %7.3f", best[i]->filename,
           fc_ontology_namespace(o, best[i]->ns), best[i]->m[FC_EV_F], best[i]->tau, best[i]->m[FC_EV_PR],
           best[i]->m[FC_EV_RC], best[i]->m[FC_EV_COV], i < nbs ? best_s[i]->m[FC_EV_S] : 0.0);
    if (ia && i < nbw) printf("  %6.3f", best_w[i]->w[FC_EV_F]);
    putchar('\n');
  }
  free(best);
  free(cov);
  free(best_s);
  free(cov_s);
  free(best_w);
  free(cov_w);
  fc_log(FC_LOG_INFO, "wrote %s/evaluation_all.tsv and evaluation_best_*.tsv in %.2f s", outdir,
         fc_now_seconds() - t0);
out:
  fc_eval_free(ev);
  fc_ontology_free(o);
  fc_go_free(go);
  return rc;
}
