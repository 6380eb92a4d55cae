#include <stdio.h>

#include "cli/cli.h"

int fc_cmd_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "fantasia-c run: not implemented yet\n");
  return 1;
}
