/* models: FANTASIA's model table and fc_model_locate (model folders and the Hugging Face cache layout),
 * on a scratch folder tree: hub id paths, bare names, refs/main, the newest-snapshot fallback, explicit
 * paths, and the error that lists every place tried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fantasia/models.h"

static char root[64];

static void mk(const char *rel) {
  char *p = fc_path_join(root, rel);
  assert_int_equal(fc_mkdir_p(p, NULL), FC_OK);
  free(p);
}

static void check(const char *name, const char *path, const char *dir, const char *want_rel) {
  char *out = NULL, *d = dir ? fc_path_join(root, dir) : NULL;
  fc_error e;
  fc_error_clear(&e);
  fc_status st = fc_model_locate(name, path, d, &out, &e);
  if (st != FC_OK) fprintf(stderr, "%s: %s\n", name, e.msg);
  assert_int_equal(st, FC_OK);
  char *want = fc_path_join(root, want_rel);
  assert_string_equal(out, want);
  free(want);
  free(out);
  free(d);
}

static void test_table(void **state) {
  (void)state;
  assert_int_equal(fc_fantasia_model_find("esm")->type_id, 1);
  assert_int_equal(fc_fantasia_model_find("5")->type_id, 5);
  assert_string_equal(fc_fantasia_model_find("ESM3c")->hub_repo, "EvolutionaryScale/esmc-600m-2024-12");
  assert_null(fc_fantasia_model_find("ESM-2"));
  assert_null(fc_fantasia_model_find(""));
}

static void test_folders(void **state) {
  (void)state;
  mk("a/Rostlab/prot_t5_xl_uniref50");
  mk("a/ankh3-large");
  mk("a/mymodel");
  check("Prot-T5", NULL, "a", "a/Rostlab/prot_t5_xl_uniref50");
  check("ankh3-large", NULL, "a", "a/ankh3-large"); /* the table's name, case-insensitive, bare repo name */
  check("mymodel", NULL, "a", "a/mymodel");
  /* hub cache: refs/main wins over a newer snapshot */
  mk("hub/models--Rostlab--ProstT5/snapshots/aaa");
  mk("hub/models--Rostlab--ProstT5/snapshots/bbb");
  mk("hub/models--Rostlab--ProstT5/refs");
  char *ref = fc_path_join(root, "hub/models--Rostlab--ProstT5/refs/main");
  FILE *f = fopen(ref, "w");
  assert_non_null(f);
  fputs("aaa\n", f);
  fclose(f);
  check("Prost-T5", NULL, "hub", "hub/models--Rostlab--ProstT5/snapshots/aaa");
  /* without refs/main: the most recently modified snapshot */
  unlink(ref);
  free(ref);
  char *old = fc_path_join(root, "hub/models--Rostlab--ProstT5/snapshots/aaa");
  struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
  free(old);
  check("Prost-T5", NULL, "hub", "hub/models--Rostlab--ProstT5/snapshots/bbb");
  /* an explicit path wins and must exist; kmer passes through */
  char *out = NULL, *p = fc_path_join(root, "a/mymodel"), *hub = fc_path_join(root, "hub");
  fc_error e;
  assert_int_equal(fc_model_locate("ESM", p, hub, &out, &e), FC_OK);
  assert_string_equal(out, p);
  free(out);
  assert_int_equal(fc_model_locate("kmer", NULL, NULL, &out, &e), FC_OK);
  assert_string_equal(out, "kmer");
  free(out);
  assert_int_equal(fc_model_locate("ESM", "/nonexistent/x", NULL, &out, &e), FC_ENOTFOUND);
  assert_null(out);
  assert_non_null(strstr(e.msg, "/nonexistent/x does not exist"));
  /* not found: every place tried is named, the hub layout included */
  assert_int_equal(fc_model_locate("ESM3c", NULL, hub, &out, &e), FC_ENOTFOUND);
  assert_null(out);
  assert_non_null(strstr(e.msg, "hub/EvolutionaryScale/esmc-600m-2024-12"));
  assert_non_null(strstr(e.msg, "models--EvolutionaryScale--esmc-600m-2024-12/snapshots/*"));
  assert_int_equal(fc_model_locate(NULL, NULL, hub, &out, &e), FC_EINVAL);
  free(p);
  free(hub);
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/fc-test-models-XXXXXX");
  if (!mkdtemp(root)) return 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_table), cmocka_unit_test(test_folders)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char *cmd = fc_sprintf("rm -rf '%s'", root);
  if (cmd && system(cmd) != 0) rc = rc ? rc : 1;
  free(cmd);
  return rc;
}
