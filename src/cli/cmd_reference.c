#include <stdio.h>

#include "cli/cli.h"

int fc_cmd_reference(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "fantasia-c reference: not implemented yet\n");
  return 1;
}
