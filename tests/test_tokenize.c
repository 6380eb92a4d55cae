/* tokenize: ids equal Hugging Face's on tiny tokenizer directories (tests/fixtures/tokenize/golden.json, made
 * by tools/make_tokenize_fixtures.py with transformers 4.x), the protein text conventions, and damaged files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fantasia/tokenize.h"

static char *fx(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/tokenize/%s", d ? d : "tests/fixtures", rel);
}

static fc_tokenizer *open_ok(const char *rel, fc_tokenizer_kind kind) {
  char *p = fx(rel);
  fc_tokenizer *t = NULL;
  fc_error err = {0};
  fc_status st = fc_tokenizer_open(p, kind, &t, &err);
  if (st != FC_OK) fprintf(stderr, "%s: %s\n", p, err.msg);
  free(p);
  assert_int_equal(st, FC_OK);
  return t;
}

static void test_golden(void **state) {
  (void)state;
  char *p = fx("golden.json");
  char *txt = NULL;
  size_t len = 0;
  assert_int_equal(fc_read_file(p, 0, &txt, &len, NULL), FC_OK);
  free(p);
  cJSON *g = cJSON_Parse(txt);
  free(txt);
  assert_non_null(g);
  const cJSON *dir;
  int total = 0, bad = 0;
  cJSON_ArrayForEach(dir, g) {
    const char *name = dir->string;
    fc_tokenizer_kind kind = !strcmp(name, "esm")         ? FC_TOK_VOCAB_TXT
                             : !strncmp(name, "json_", 5) ? FC_TOK_JSON
                                                          : FC_TOK_SPIECE;
    fc_tokenizer *t = open_ok(name, kind);
    assert_int_equal(fc_tokenizer_get_kind(t), kind);
    const cJSON *c;
    cJSON_ArrayForEach(c, dir) {
      const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
      const cJSON *want = cJSON_GetObjectItem(c, "ids");
      int32_t *ids = NULL;
      size_t n = 0;
      assert_int_equal(fc_tokenizer_encode(t, text, strlen(text), 1, &ids, &n, NULL), FC_OK);
      int same = (int)n == cJSON_GetArraySize(want);
      for (size_t i = 0; same && i < n; i++)
        same = ids[i] == (int32_t)cJSON_GetArrayItem(want, (int)i)->valuedouble;
      if (!same) {
        char *w = cJSON_PrintUnformatted(want);
        fprintf(stderr, "%s: '%s': want %s got [", name, text, w);
        for (size_t i = 0; i < n; i++)
          fprintf(stderr, "%s%d", i ? "," : "", ids[i]);
        fprintf(stderr, "]\n");
        free(w);
        bad++;
      }
      total++;
      free(ids);
    }
    fc_tokenizer_close(t);
  }
  cJSON_Delete(g);
  fprintf(stderr, "%d golden cases, %d mismatches\n", total, bad);
  assert_true(total > 60);
  assert_int_equal(bad, 0);
}

static void test_auto_and_lookup(void **state) {
  (void)state;
  fc_tokenizer *t = open_ok("esm", FC_TOK_AUTO);
  assert_int_equal(fc_tokenizer_get_kind(t), FC_TOK_VOCAB_TXT);
  assert_int_equal(fc_tokenizer_vocab_size(t), 33);
  assert_int_equal(fc_tokenizer_cls_id(t), 0);
  assert_int_equal(fc_tokenizer_pad_id(t), 1);
  assert_int_equal(fc_tokenizer_eos_id(t), 2);
  assert_int_equal(fc_tokenizer_unk_id(t), 3);
  assert_int_equal(fc_tokenizer_token_to_id(t, "L"), 4);
  assert_int_equal(fc_tokenizer_token_to_id(t, "<mask>"), 32);
  assert_int_equal(fc_tokenizer_token_to_id(t, "J"), -1);
  assert_string_equal(fc_tokenizer_id_to_token(t, 20), "M");
  assert_null(fc_tokenizer_id_to_token(t, 33));
  int32_t *ids;
  size_t n;
  assert_int_equal(fc_tokenizer_encode(t, "MK", 2, 0, &ids, &n, NULL), FC_OK); /* no specials */
  assert_int_equal(n, 2);
  assert_int_equal(ids[0], 20);
  free(ids);
  assert_int_equal(fc_tokenizer_encode(t, "", 0, 0, &ids, &n, NULL), FC_OK);
  assert_int_equal(n, 0);
  assert_non_null(ids);
  free(ids);
  fc_tokenizer_close(t);

  t = open_ok("prott5", FC_TOK_AUTO);
  assert_int_equal(fc_tokenizer_get_kind(t), FC_TOK_SPIECE);
  assert_int_equal(fc_tokenizer_vocab_size(t), 128); /* 28 pieces + 100 extra ids */
  assert_int_equal(fc_tokenizer_token_to_id(t, "\xe2\x96\x81"
                                               "A"),
                   3);
  assert_int_equal(fc_tokenizer_token_to_id(t, "<extra_id_0>"), 127);
  assert_int_equal(fc_tokenizer_eos_id(t), 1);
  assert_int_equal(fc_tokenizer_pad_id(t), 0);
  assert_int_equal(fc_tokenizer_unk_id(t), 2);
  fc_tokenizer_close(t);
  t = open_ok("prostt5", FC_TOK_AUTO);
  assert_int_equal(fc_tokenizer_token_to_id(t, "<AA2fold>"), 149);
  assert_int_equal(fc_tokenizer_vocab_size(t), 150);
  fc_tokenizer_close(t);
  t = open_ok("json_bpe", FC_TOK_AUTO);
  assert_int_equal(fc_tokenizer_get_kind(t), FC_TOK_JSON);
  assert_int_equal(fc_tokenizer_cls_id(t), 0);
  assert_int_equal(fc_tokenizer_eos_id(t), 2);
  assert_int_equal(fc_tokenizer_token_to_id(t, "|"), 31);
  fc_tokenizer_close(t);
}

static void check_text(fc_protein_style st, const char *seq, const char *want) {
  char *s = fc_tokenizer_protein_text(st, seq, strlen(seq));
  assert_non_null(s);
  assert_string_equal(s, want);
  free(s);
}

static void test_protein_text(void **state) {
  (void)state;
  check_text(FC_PROTEIN_RAW, "MKUB", "MKUB");
  check_text(FC_PROTEIN_PROTT5, "MKUZOB", "M K X X X X");
  check_text(FC_PROTEIN_PROTT5, "", "");
  check_text(FC_PROTEIN_PROSTT5, "MKT", "<AA2fold> M K T");
  check_text(FC_PROTEIN_ANKH3_NLU, "MKT", "[NLU]MKT");
  check_text(FC_PROTEIN_PROTT5_FANTASIA, "MKU", "<AA2fold> M K X");
  {
    /* FANTASIA's ProtT5 text through ProtT5's vocabulary: "<AA2fold>" is one <unk> there. Expected ids from
     * HF transformers 5.24 T5Tokenizer (legacy and default) on tests/fixtures/tokenize/prott5. */
    fc_tokenizer *t5 = open_ok("prott5", FC_TOK_AUTO);
    char *s = fc_tokenizer_protein_text(FC_PROTEIN_PROTT5_FANTASIA, "MKTA", 4);
    int32_t *ids, want[] = {2, 19, 14, 11, 3, 1};
    size_t n;
    assert_int_equal(fc_tokenizer_encode(t5, s, strlen(s), 1, &ids, &n, NULL), FC_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(ids, want, sizeof want);
    free(ids);
    free(s);
    fc_tokenizer_close(t5);
  }
  /* end to end: ProtT5 and ProstT5 conventions give one id per residue plus the documented specials */
  fc_tokenizer *t = open_ok("prostt5", FC_TOK_AUTO);
  char *s = fc_tokenizer_protein_text(FC_PROTEIN_PROSTT5, "MKTU", 4);
  int32_t *ids;
  size_t n;
  assert_int_equal(fc_tokenizer_encode(t, s, strlen(s), 1, &ids, &n, NULL), FC_OK);
  int32_t want[] = {149, 19, 14, 11, 23, 1};
  assert_int_equal(n, 6);
  assert_memory_equal(ids, want, sizeof want);
  free(ids);
  free(s);
  fc_tokenizer_close(t);
}

static char *tmpdir_with(const char *file, const void *data, size_t len) {
  char *d = fc_strdup("/tmp/fc_test_tok_XXXXXX");
  assert_non_null(mkdtemp(d));
  char *p = fc_path_join(d, file);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  if (len) assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
  free(p);
  return d;
}

static void rm_dir(char *d, const char *file) {
  char *p = fc_path_join(d, file);
  unlink(p);
  free(p);
  rmdir(d);
  free(d);
}

static fc_status try_open(const char *file, const void *data, size_t len, fc_tokenizer_kind kind) {
  char *d = tmpdir_with(file, data, len);
  fc_tokenizer *t = NULL;
  fc_error err = {0};
  fc_status st = fc_tokenizer_open(d, kind, &t, &err);
  if (st == FC_OK) {
    /* whatever loaded must encode without crashing */
    int32_t *ids;
    size_t n;
    assert_int_equal(fc_tokenizer_encode(t, "<AA2fold> M KTA [NLU]xx", 23, 1, &ids, &n, NULL), FC_OK);
    free(ids);
  } else {
    assert_null(t);
    assert_true(strlen(err.msg) > 0);
  }
  fc_tokenizer_close(t);
  rm_dir(d, file);
  return st;
}

static void test_damaged(void **state) {
  (void)state;
  fc_tokenizer *t = NULL;
  fc_error err = {0};
  assert_int_equal(fc_tokenizer_open("/nonexistent-dir", FC_TOK_AUTO, &t, &err), FC_ENOTFOUND);
  assert_int_equal(fc_tokenizer_open("/nonexistent-dir", FC_TOK_SPIECE, &t, &err), FC_ENOTFOUND);
  assert_int_equal(try_open("vocab.txt", "", 0, FC_TOK_VOCAB_TXT), FC_EFORMAT);
  assert_int_equal(try_open("vocab.txt", "A\nB\n", 4, FC_TOK_VOCAB_TXT), FC_EFORMAT); /* no specials */
  assert_int_equal(try_open("vocab.txt", "<cls>\n\n<eos>\n<unk>\n", 20, FC_TOK_VOCAB_TXT), FC_EFORMAT);
  assert_int_equal(try_open("tokenizer.json", "{\"model\": ", 10, FC_TOK_JSON), FC_EFORMAT);
  const char *wp = "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}";
  assert_int_equal(try_open("tokenizer.json", wp, strlen(wp), FC_TOK_JSON), FC_EUNSUPPORTED);
  const char *bt = "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\", \"x\"]]}}";
  assert_int_equal(try_open("tokenizer.json", bt, strlen(bt), FC_TOK_JSON), FC_EFORMAT);
  const char *bp =
      "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": "
      "\"ByteLevel\"}}";
  assert_int_equal(try_open("tokenizer.json", bp, strlen(bp), FC_TOK_JSON), FC_EUNSUPPORTED);
  assert_int_equal(try_open("spiece.model", "\x0a\xff\xff", 3, FC_TOK_SPIECE), FC_EFORMAT);
  assert_int_equal(try_open("spiece.model", "", 0, FC_TOK_SPIECE), FC_EFORMAT);
  /* every truncation and random byte flips of the real files: clean status, never a crash */
  const char *files[][2] = {
      {"ankh3", "spiece.model"}, {"json_unigram", "tokenizer.json"}, {"esm", "vocab.txt"}};
  fc_tokenizer_kind kinds[] = {FC_TOK_SPIECE, FC_TOK_JSON, FC_TOK_VOCAB_TXT};
  int asan = getenv("FC_SANITIZE") && atoi(getenv("FC_SANITIZE"));
  for (int f = 0; f < 3; f++) {
    char *rel = fc_sprintf("%s/%s", files[f][0], files[f][1]);
    char *p = fx(rel);
    char *data;
    size_t len;
    assert_int_equal(fc_read_file(p, 0, &data, &len, NULL), FC_OK);
    size_t step = len / (asan ? 60 : 200) + 1;
    for (size_t l = 0; l < len; l += step)
      (void)try_open(files[f][1], data, l, kinds[f]);
    unsigned char *c = malloc(len);
    srand(7);
    for (int k = 0; k < (asan ? 60 : 150); k++) {
      memcpy(c, data, len);
      c[(size_t)rand() % len] ^= (unsigned char)(1 + rand() % 255);
      (void)try_open(files[f][1], c, len, kinds[f]);
    }
    free(c);
    free(data);
    free(p);
    free(rel);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_auto_and_lookup),
      cmocka_unit_test(test_protein_text),
      cmocka_unit_test(test_damaged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
