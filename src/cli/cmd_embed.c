#include <stdio.h>

#include "cli/cli.h"

int fc_cmd_embed(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "fantasia-c embed: not implemented yet\n");
  return 1;
}
