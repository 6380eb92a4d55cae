/* fantasia-c: command-line front end. Parses arguments, prints, maps errors to exit codes;
 * every piece of real work is a call into libfantasia. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#ifndef FC_VERSION
#define FC_VERSION "0.1.0"
#endif

typedef struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} command;

static const command commands[] = {
    {"run", fc_cmd_run, "whole pipeline from config.yaml: FASTA -> embeddings -> lookup -> GO outputs"},
    {"embed", fc_cmd_embed, "compute embeddings of a FASTA file into embeddings.h5"},
    {"lookup", fc_cmd_lookup, "exact k-NN lookup + GO transfer of embeddings.h5 against a reference store"},
    {"reference", fc_cmd_reference,
     "build, import and inspect reference stores (build | import-lite | info)"},
    {"evaluate", fc_cmd_evaluate,
     "CAFA-evaluator metrics (Fmax, Smin, weighted F...) of predictions vs a ground truth"},
    {"ia", fc_cmd_ia, "information accretion of GO terms from an annotation file"},
};

static void usage(FILE *out) {
  fprintf(out,
          "fantasia-c %s — protein function annotation by embedding similarity (FANTASIA in C)\n\n"
          "usage: fantasia-c [-v|-q] <command> [options]\n\ncommands:\n",
          FC_VERSION);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n  fantasia-c <command> --help   options of one command\n"
               "  fantasia-c --version          print the version\n\n"
               "Global options: -v/--verbose (more log lines), -q/--quiet (errors only).\n"
               "Exit codes: 0 ok, 1 internal/external failure, 2 bad input or usage, 3 i/o error, 4 "
               "malformed file.\n");
}

int fc_cli_fail(const fc_error *err) {
  fprintf(stderr, "fantasia-c: error: %s\n",
          err && err->msg[0] ? err->msg : fc_status_name(err ? err->code : FC_EINVAL));
  return fc_status_exit_code(err ? err->code : FC_EINVAL);
}

int fc_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fantasia-c %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see: fantasia-c %s --help)\n", cmd);
  return 2;
}

int fc_cli_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi)
    return fc_cli_usage_error(cmd, "%s must be a whole number in %ld..%ld, not '%s'", opt, lo, hi, s);
  *out = v;
  return 0;
}

int fc_cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi)
    return fc_cli_usage_error(cmd, "%s must be a number in %g..%g, not '%s'", opt, lo, hi, s);
  *out = v;
  return 0;
}

int fc_cli_verbosity_flag(const char *arg) {
  if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
    fc_log_set_level(FC_LOG_DEBUG);
    return 1;
  }
  if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
    fc_log_set_level(FC_LOG_ERROR);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (fc_cli_verbosity_flag(argv[i])) continue;
    if (!strcmp(argv[i], "--version")) {
      printf("fantasia-c %s\n", FC_VERSION);
      return 0;
    }
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    fprintf(stderr, "fantasia-c: unknown option '%s'\n", argv[i]);
    usage(stderr);
    return 2;
  }
  if (i >= argc) {
    usage(stdout);
    return 0;
  }
  for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
    if (!strcmp(argv[i], commands[c].name)) return commands[c].fn(argc - i, argv + i);
  fprintf(stderr, "fantasia-c: unknown command '%s'\n", argv[i]);
  usage(stderr);
  return 2;
}
