#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "fantasia/config.h"
#include "fantasia/go.h"
#include "fantasia/models.h"
#include "fantasia/pipeline.h"

static void help(FILE *out) {
  fputs("usage: fantasia-c run --config config.yaml [FANTASIA flags] [--key value ...]\n\n"
        "FANTASIA's `run`: reads its config.yaml (same keys and defaults; database and RabbitMQ keys\n"
        "are accepted and reported as unused), creates <base_directory>/experiments/<prefix>_<timestamp>/,\n"
        "writes experiment_config.yaml, then runs stage A (embed the FASTA), B (lookup) and C (outputs).\n"
        "Modes: only_lookup (input is an embeddings.h5), only_embedding. Prints the experiment folder.\n\n"
        "FANTASIA's flags: --input --prefix --base_directory --log_path --limit_execution --only_lookup\n"
        "  --only_embedding --device --length_filter --sequence_queue_package --limit_per_entry\n"
        "  --redundancy_identity/--redundancy_filter --redundancy_coverage/--alignment_coverage --threads\n"
        "  --taxonomy_ids_to_exclude --taxonomy_ids_included_exclusively --get_descendants\n"
        "fantasia.c's flags: --reference STORE --distance_metric cosine|euclidean --raw_format "
        "tsv|csv_tree|both\n"
        "  --alignments true|false --exclude_self true|false --taxonomy_nodes nodes.dmp\n"
        "  --ontology go.obo --scoring fantasia|gopredsim --ground_truth gt.tsv\n"
        "Any other --key value sets a top-level key; --a.b.c value sets a nested key.\n"
        "Stage C also writes predictions/<model>_L<k>.tsv (target term score) and cafa/<model>_L<k>.txt\n"
        "(CAFA submission format); with evaluation.ground_truth set, the run ends with a CAFA-evaluator\n"
        "evaluation of those predictions (evaluation_all.tsv, evaluation_best_*.tsv).\n"
        "See docs/configuration.md for every key.\n\n"
        "examples:\n"
        "  fantasia-c run --config demo/config.yaml\n"
        "  fantasia-c run --config demo/config.yaml --only_lookup true --input old/embeddings.h5 "
        "--limit_per_entry 5\n",
        out);
}

/* summary options from the config's postprocess.summary block */
static fc_status summary_from_config(const fc_run_config *c, int have_alignments, fc_summary_opts *so,
                                     fc_error *err) {
  fc_summary_opts_init(so);
  so->include_counts = c->include_counts;
  so->precision = c->precision;
  so->k = (int)c->limit_per_entry;
  if (c->weighted_prefix) {
    free(so->weighted_prefix);
    so->weighted_prefix = fc_strdup(c->weighted_prefix);
  }
  fc_status st = FC_OK;
  for (size_t i = 0; i < c->n_metrics && st == FC_OK; i++) {
    const fc_metric_cfg *m = &c->metrics[i];
    int needs_alignment = !strncmp(m->metric, "identity", 8) || !strncmp(m->metric, "similarity", 10) ||
                          !strncmp(m->metric, "alignment_", 10) || !strncmp(m->metric, "gaps_", 5);
    if (needs_alignment && !have_alignments) {
      fc_log_info("summary: metric '%s' needs alignments (postprocess.alignments is off): left out",
                  m->metric);
      continue;
    }
    st = fc_summary_opts_add_metric(so, m->metric, (const char *const *)m->funs, m->n_funs);
  }
  for (size_t i = 0; i < c->n_aliases && st == FC_OK; i++)
    st = fc_summary_opts_add_alias(so, c->alias_keys[i], c->alias_values[i]);
  for (size_t i = 0; i < c->n_weights && st == FC_OK; i++) {
    const fc_weight_cfg *w = &c->weights[i];
    if (w->is_number) st = fc_summary_opts_add_weight(so, w->key, w->number);
    for (size_t j = 0; j < w->n_fun && st == FC_OK; j++)
      st = fc_summary_opts_add_weight_fun(so, w->key, w->fun_keys[j], w->fun_values[j]);
  }
  if (st != FC_OK) fc_error_set(err, st, "out of memory building summary options");
  return st;
}

int fc_cmd_run(int argc, char **argv) {
  const char *config_path = NULL;
  const char **over = calloc((size_t)argc + 1, sizeof *over);
  int n_over = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      help(stdout);
      free(over);
      return 0;
    }
    if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "-q")) {
      fc_cli_verbosity_flag(argv[i]);
      continue;
    }
    if (!strcmp(argv[i], "--config")) {
      if (i + 1 >= argc) {
        free(over);
        return fc_cli_usage_error("run", "--config needs a file");
      }
      config_path = argv[++i];
      continue;
    }
    if (!strncmp(argv[i], "--config=", 9)) {
      config_path = argv[i] + 9;
      continue;
    }
    over[n_over++] = argv[i];
  }
  if (!config_path) {
    free(over);
    return fc_cli_usage_error("run", "--config is required");
  }
  fc_error err;
  fc_error_clear(&err);
  fc_run_config *c = NULL;
  fc_status st = fc_config_load(config_path, over, n_over, &c, &err);
  free(over);
  if (st != FC_OK) return fc_cli_fail(&err);
  for (size_t i = 0; i < c->n_unused; i++)
    fc_log_info("config: '%s' is a FANTASIA service key without effect in fantasia.c", c->unused_keys[i]);
  if (!c->input) {
    fc_config_free(c);
    return fc_cli_usage_error("run", "no input: set 'input' in the config or pass --input");
  }
  if (!c->only_embedding && (!c->reference || !*c->reference)) {
    fc_config_free(c);
    return fc_cli_usage_error("run", "no reference store: set 'reference' in the config or pass --reference");
  }
  /* check the inputs before making the experiment folder or spending time on embeddings */
  if (!fc_file_exists(c->input))
    st = fc_error_set(&err, FC_EIO, "input %s: no such file", c->input);
  else if (!c->only_embedding && !fc_file_exists(c->reference))
    st = fc_error_set(&err, FC_EIO, "reference store %s: no such file", c->reference);
  else if (!c->only_embedding && c->ontology && !fc_file_exists(c->ontology))
    st = fc_error_set(&err, FC_EIO, "ontology %s: no such file", c->ontology);
  else if (!c->only_embedding && c->eval_ground_truth && !fc_file_exists(c->eval_ground_truth))
    st = fc_error_set(&err, FC_EIO, "evaluation ground truth %s: no such file", c->eval_ground_truth);
  else if (!c->only_embedding && c->eval_ontology && !fc_file_exists(c->eval_ontology))
    st = fc_error_set(&err, FC_EIO, "evaluation ontology %s: no such file", c->eval_ontology);
  else if (!c->only_embedding && c->eval_ia && !fc_file_exists(c->eval_ia))
    st = fc_error_set(&err, FC_EIO, "evaluation IA file %s: no such file", c->eval_ia);
  if (st != FC_OK) {
    fc_config_free(c);
    return fc_cli_fail(&err);
  }
  if ((st = fc_config_make_experiment(c, &err)) != FC_OK) {
    fc_config_free(c);
    return fc_cli_fail(&err);
  }
  fc_log_info("run: experiment folder %s", c->experiment_path);
  char *h5 = NULL;
  fc_embset q;
  memset(&q, 0, sizeof q);
  fc_raw_table *t = NULL;
  fc_lookup_model *lm = NULL;
  fc_summary_opts so;
  fc_summary_opts_init(&so);
  int have_so = 0;
  fc_go *go = NULL;
  fc_ontology *onto = NULL;
  fc_predictions *scored = NULL;
  int gopredsim = !strcasecmp(c->scoring, "gopredsim");

  if (c->threads > 0) { /* the backend kernels' thread count (the GEMMs get it through fc_embed_opts) */
    char nt[16];
    snprintf(nt, sizeof nt, "%d", c->threads);
    setenv("FANTASIA_THREADS", nt, 1);
  }
  /* stage A */
  if (c->only_lookup) {
    h5 = fc_strdup(c->input);
  } else {
    h5 = fc_path_join(c->experiment_path, "embeddings.h5");
    for (size_t i = 0; i < c->n_models && st == FC_OK; i++) {
      const fc_model_cfg *m = &c->models[i];
      if (!m->enabled) continue;
      char *where = NULL;
      if ((st = fc_model_locate(m->name, m->path, c->models_dir, &where, &err)) != FC_OK) break;
      int is_dir_model = strcasecmp(where, "kmer") != 0;
      for (size_t l = 0; l < m->n_layers && !is_dir_model; l++)
        if (m->layers[l] != 0) {
          st = fc_error_set(&err, FC_EINVAL,
                            "model %s: the kmer model has only layer 0 (layer_index %d asked)", m->name,
                            m->layers[l]);
          break;
        }
      if (st != FC_OK) {
        free(where);
        break;
      }
      fc_embed_opts eo;
      memset(&eo, 0, sizeof eo);
      eo.model = is_dir_model ? where : "kmer";
      if (is_dir_model) {
        eo.model_name = m->name;
        eo.fantasia_pooling = m->fantasia_pooling;
        eo.layers = m->layers;
        eo.n_layers = m->n_layers;
      }
      eo.max_len = c->max_sequence_length > 0 ? (size_t)c->max_sequence_length : 0;
      eo.batch_tokens = c->batch_tokens > 0 ? (size_t)c->batch_tokens : 0;
      if (c->max_memory && (st = fc_parse_bytes(c->max_memory, &eo.max_memory, &err)) != FC_OK) {
        char *why = fc_strdup(err.msg);
        st = fc_error_set(&err, FC_EINVAL, "config %s: embedding.max_memory: %s", config_path,
                          why ? why : "bad size");
        free(why);
        free(where);
        break;
      }
      eo.max_memory_source = "embedding.max_memory";
      eo.limit = c->limit_execution > 0 ? (size_t)c->limit_execution : 0;
      eo.dtype = FC_DTYPE_F32;
      eo.threads = c->threads;
      char *failed = fc_path_join(c->experiment_path, "failed_sequences.tsv");
      eo.failed_tsv = failed;
      size_t done = 0, nfail = 0;
      st = fc_embed_fasta(c->input, h5, &eo, &done, &nfail, &err);
      free(failed);
      free(where);
      if (st == FC_OK)
        fc_log_info("run: stage A: %zu sequences embedded (%s), %zu failed", done, m->name, nfail);
    }
    if (st == FC_OK && !fc_file_exists(h5))
      st = fc_error_set(&err, FC_ENOTFOUND, "%s: no embeddings were produced", h5);
  }
  if (st != FC_OK || c->only_embedding) goto out;

  /* stage B */
  if ((st = fc_embfile_read(h5, &q, &err)) != FC_OK) goto out;
  if ((gopredsim || c->propagate_predictions) &&
      (st = fc_cli_ontology_load(c->ontology, &go, &onto, &err)) != FC_OK)
    goto out;
  fc_lookup_opts lo;
  fc_lookup_opts_init(&lo);
  lo.reference = c->reference;
  if ((st = fc_metric_parse(c->distance_metric, &lo.metric, &err)) != FC_OK) goto out;
  lo.k = c->limit_per_entry > 0 ? (size_t)c->limit_per_entry : 1;
  lm = calloc(c->n_models ? c->n_models : 1, sizeof *lm);
  size_t nm = 0;
  for (size_t i = 0; i < c->n_models; i++) {
    const fc_model_cfg *m = &c->models[i];
    if (!m->enabled) continue;
    lm[nm++] = (fc_lookup_model){m->name, m->type_id > 0 ? m->type_id : 0, m->n_layers ? m->layers : NULL,
                                 m->n_layers, m->distance_threshold};
  }
  lo.models = lm;
  lo.n_models = nm;
  lo.tax_exclude = (const char *const *)c->tax_exclude;
  lo.n_tax_exclude = c->n_tax_exclude;
  lo.tax_include = (const char *const *)c->tax_include;
  lo.n_tax_include = c->n_tax_include;
  lo.taxonomy_nodes = c->get_descendants ? c->taxonomy_nodes : NULL;
  lo.exclude_self = c->exclude_self;
  lo.max_identity = c->exclude_identity_above;
  lo.redundancy_identity = c->redundancy_identity;
  lo.redundancy_coverage = c->redundancy_coverage;
  lo.redundancy_threads = c->redundancy_threads;
  lo.work_dir = c->experiment_path;
  lo.threads = c->threads;
  lo.limit_queries = c->only_lookup && c->limit_execution > 0 ? (size_t)c->limit_execution : 0;
  if (gopredsim) {
    lo.scoring = FC_SCORING_GOPREDSIM;
    lo.ontology = onto;
    if (!(scored = fc_predictions_new())) {
      st = fc_error_set(&err, FC_ENOMEM, "out of memory");
      goto out;
    }
    lo.predictions = scored;
  }
  t = fc_raw_table_new();
  if (!t) {
    st = fc_error_set(&err, FC_ENOMEM, "out of memory");
    goto out;
  }
  if ((st = fc_lookup_run(&q, &lo, t, &err)) != FC_OK) goto out;

  /* stage C */
  fc_outputs_opts oo;
  memset(&oo, 0, sizeof oo);
  oo.out_dir = c->experiment_path;
  const char *raw = c->raw_format ? c->raw_format : "tsv";
  oo.write_tsv = !strcmp(raw, "tsv") || !strcmp(raw, "both");
  oo.write_csv_tree = !strcmp(raw, "csv_tree") || !strcmp(raw, "both");
  oo.keep_sequences = c->keep_sequences;
  oo.alignments = c->alignments;
  oo.precision = c->precision;
  oo.threads = c->store_workers > 0 ? c->store_workers : c->threads;
  if ((st = summary_from_config(c, c->alignments, &so, &err)) != FC_OK) goto out;
  have_so = 1;
  oo.summary = &so;
  if ((st = fc_outputs_write(t, &oo, &err)) != FC_OK) goto out;
  fc_log_info("run: %zu raw rows; summary.csv and TopGO written", fc_raw_table_size(t));
  /* prediction files (always when an evaluation follows: it reads them) */
  if (c->write_predictions || c->eval_ground_truth) {
    /* goPredSim publishes 2 decimals; FANTASIA mode keeps the configured precision */
    st = fc_cli_write_predictions(t, scored, c->experiment_path, onto, c->propagate_predictions,
                                  gopredsim ? 2 : c->precision, c->predictions_author, &err);
    if (st != FC_OK) goto out;
  }
  if (c->eval_ground_truth) {
    st = fc_cli_evaluate_predictions(c->eval_ontology ? c->eval_ontology : c->ontology, c->eval_ground_truth,
                                     c->eval_ia, c->experiment_path, &err);
    if (st != FC_OK) goto out;
  }
out:
  if (have_so) fc_summary_opts_free(&so);
  fc_predictions_free(scored);
  fc_ontology_free(onto);
  fc_go_free(go);
  fc_raw_table_free(t);
  fc_embset_free(&q);
  free(lm);
  free(h5);
  int rc = 0;
  if (st != FC_OK)
    rc = fc_cli_fail(&err);
  else
    printf("%s\n", c->experiment_path);
  fc_config_free(c);
  return rc;
}
