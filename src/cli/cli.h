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

#endif
