/* CLI-internal helpers shared by the subcommand files. Not part of libfantasia. */
#ifndef FC_CLI_H
#define FC_CLI_H

#include "fantasia/core.h"

/* One subcommand: argv[0] is the subcommand name. Returns the process exit code. */
int fc_cmd_run(int argc, char **argv);
int fc_cmd_embed(int argc, char **argv);
int fc_cmd_lookup(int argc, char **argv);
int fc_cmd_reference(int argc, char **argv);
int fc_cmd_evaluate(int argc, char **argv);
int fc_cmd_ia(int argc, char **argv);

/* Print "fantasia-c: error: <msg>" on stderr and return the exit code for err->code. */
int fc_cli_fail(const fc_error *err);
/* Print a usage error (with a pointer to --help) and return 2. */
int fc_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Handle -v / -q / --verbose / --quiet (may repeat). Returns 1 if argv[i] was consumed. */
int fc_cli_verbosity_flag(const char *arg);
/* Parse option value s of option opt as a whole integer / finite number in [lo, hi] into *out.
 * Returns 0 on success; otherwise prints a usage error naming the option and returns 2. */
int fc_cli_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int fc_cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);

/* ---- prediction files and evaluation (src/cli/predout.c) ---- */
typedef struct fc_go fc_go;
typedef struct fc_ontology fc_ontology;
typedef struct fc_raw_table fc_raw_table;
typedef struct fc_predictions fc_predictions;
/* OBO -> ontology; path NULL leaves both NULL. Free with fc_ontology_free then fc_go_free. */
fc_status fc_cli_ontology_load(const char *path, fc_go **go, fc_ontology **onto, fc_error *err);
/* predictions/ and cafa/ files under out_dir: from `scored` (goPredSim) when non-NULL, else the max RI of
 * the raw rows of t. */
fc_status fc_cli_write_predictions(const fc_raw_table *t, const fc_predictions *scored, const char *out_dir,
                                   const fc_ontology *onto, int propagate, int precision, const char *author,
                                   fc_error *err);
/* Evaluates out_dir/predictions against gt (CAFA-evaluator defaults), writes evaluation_*.tsv into out_dir.
 */
fc_status fc_cli_evaluate_predictions(const char *obo, const char *gt, const char *ia, const char *out_dir,
                                      fc_error *err);

#endif
