/* CLI glue shared by `lookup` and `run`: the ontology, the prediction files and the optional evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fantasia/evaluate.h"
#include "fantasia/pipeline.h"

fc_status fc_cli_ontology_load(const char *path, fc_go **go, fc_ontology **onto, fc_error *err) {
  *go = NULL;
  *onto = NULL;
  if (!path) return FC_OK;
  fc_status st = fc_go_load(path, go, err);
  if (st == FC_OK) st = fc_ontology_build(*go, NULL, onto, err);
  if (st != FC_OK) {
    fc_go_free(*go);
    *go = NULL;
  }
  return st;
}

fc_status fc_cli_write_predictions(const fc_raw_table *t, const fc_predictions *scored, const char *out_dir,
                                   const fc_ontology *onto, int propagate, int precision, const char *author,
                                   fc_error *err) {
  fc_predictions *own = NULL;
  const fc_predictions *p = scored;
  fc_status st = FC_OK;
  if (!p) {
    if (!(own = fc_predictions_new())) return fc_error_set(err, FC_ENOMEM, "out of memory");
    st = fc_predictions_from_raw(t, own, err);
    p = own;
  }
  fc_predictions_write_opts wo;
  fc_predictions_write_opts_init(&wo);
  wo.out_dir = out_dir;
  wo.precision = precision;
  wo.propagate = propagate;
  wo.ontology = onto;
  if (author) wo.author = author;
  if (st == FC_OK) st = fc_predictions_write(p, &wo, err);
  if (st == FC_OK)
    fc_log_info("predictions: %zu (model, layer, target, term) scores in %s/predictions and %s/cafa%s",
                fc_predictions_size(p), out_dir, out_dir, propagate ? " (propagated)" : "");
  fc_predictions_free(own);
  return st;
}

fc_status fc_cli_evaluate_predictions(const char *obo, const char *gt, const char *ia, const char *out_dir,
                                      fc_error *err) {
  fc_go *go = NULL;
  fc_ontology *onto = NULL;
  fc_eval *ev = NULL;
  char *pred = fc_path_join(out_dir, "predictions");
  if (!pred) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_status st = fc_cli_ontology_load(obo, &go, &onto, err);
  if (st == FC_OK) st = fc_eval_new(onto, gt, ia, NULL, &ev, err);
  fc_eval_input_stats ps;
  memset(&ps, 0, sizeof ps);
  if (st == FC_OK && !fc_file_exists(pred))
    fc_log_warn("evaluation: no prediction files (no hit for any query); the evaluation files are empty");
  else if (st == FC_OK)
    st = fc_eval_add_path(ev, pred, &ps, err);
  if (st == FC_OK) st = fc_eval_write(ev, out_dir, err);
  if (st == FC_OK) {
    const fc_eval_row **best = NULL;
    double *cov = NULL;
    size_t nb = 0;
    st = fc_eval_best(ev, "f", &best, &cov, &nb, err);
    for (size_t i = 0; st == FC_OK && i < nb; i++)
      fc_log_info("evaluation: %s %s: Fmax %.3f at tau %.2f (coverage %.3f)", best[i]->filename,
                  fc_ontology_namespace(onto, best[i]->ns), best[i]->m[FC_EV_F], best[i]->tau, cov[i]);
    free(best);
    free(cov);
    if (st == FC_OK)
      fc_log_info(
          "evaluation: %zu prediction lines used of %zu; evaluation_all.tsv and evaluation_best_*.tsv "
          "in %s",
          ps.used, ps.lines, out_dir);
  }
  fc_eval_free(ev);
  fc_ontology_free(onto);
  fc_go_free(go);
  free(pred);
  return st;
}
