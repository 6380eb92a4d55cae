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

#endif
