#include <stdio.h>

#include "cli/cli.h"

int fc_cmd_lookup(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "fantasia-c lookup: not implemented yet\n");
  return 1;
}
