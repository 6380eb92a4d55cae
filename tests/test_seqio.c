/* seqio: FASTA reader on real data (test.fa, yeast, fasta_fixtures), committed edge fixtures and
 * damaged input (bad characters, text before the first header, duplicates, truncated gzip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fantasia/seqio.h"

static char *data_path(const char *rel) {
  const char *d = getenv("FANTASIA_DATA");
  if (!d) return NULL;
  char *p = fc_path_join(d, rel);
  if (!fc_file_exists(p)) {
    free(p);
    return NULL;
  }
  return p;
}

static char *fixture(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  char *p = fc_sprintf("%s/seqio/%s", d ? d : "tests/fixtures", rel);
  return p;
}

/* Writes text to a fresh temporary file; caller unlinks and frees. */
static char *tmp_with(const char *text, size_t n) {
  char *path = fc_strdup("/tmp/fc_test_seqio_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, n), (ssize_t)n);
  close(fd);
  return path;
}

static fc_status read_text(const char *text, const fc_fasta_opts *o, fc_seqset *s, fc_error *e) {
  char *p = tmp_with(text, strlen(text));
  fc_status rc = fc_fasta_read(p, o, s, e);
  unlink(p);
  free(p);
  return rc;
}

#define SKIP_NO_DATA(p, name)                                                                                \
  do {                                                                                                       \
    if (!(p)) {                                                                                              \
      fprintf(stderr, "SKIP: %s not found under FANTASIA_DATA\n", name);                                     \
      skip();                                                                                                \
    }                                                                                                        \
  } while (0)

static void test_alphabet(void **state) {
  (void)state;
  assert_string_equal(fc_residue_alphabet(), "ACDEFGHIKLMNPQRSTVWYBXZJOU");
  char *a = fc_accession_from_id("sp|P1|X/Y");
  assert_string_equal(a, "sp_P1_X_Y");
  free(a);
}

static void test_test_fa(void **state) {
  (void)state;
  char *p = data_path("test.fa");
  SKIP_NO_DATA(p, "test.fa");
  fc_seqset s;
  fc_error e;
  fc_error_clear(&e);
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 33);
  assert_int_equal(s.n_issues, 0);
  assert_int_equal(s.n_unique_seqs, 33);
  /* the record at line 32 has its header wrapped onto line 33 ("4 SV=1") */
  int found = 0, joined = 0;
  for (size_t i = 0; i < s.n; i++) {
    const fc_seq_record *r = &s.rec[i];
    assert_int_equal(strlen(r->seq), r->len);
    assert_true(r->len >= 31 && r->len <= 1122);
    assert_int_equal(strspn(r->seq, fc_residue_alphabet()), r->len);
    assert_null(strchr(r->accession, '|'));
    if (r->line == 32) {
      found = 1;
      assert_string_equal(r->id, "sp|P06965|DICC_ECOLI");
      assert_string_equal(r->accession, "sp_P06965_DICC_ECOLI");
      size_t hl = strlen(r->header);
      assert_true(hl > 10 && strcmp(r->header + hl - 10, "PE= 4 SV=1") == 0);
      assert_int_equal(strncmp(r->seq, "MLKTDALLYFGSKTKLAQAAGIRLASLYSWKGDLVPEGRAMRLQEASGGELQYDPKVYDE", 60),
                       0);
    }
    size_t hl = strlen(r->header);
    /* wrapped mid-token headers get a ' ' at the join ("SV= 2"): that is the documented rule */
    if (strstr(r->header, " OX=83333 GN=") && strstr(r->header, "SV") && r->header[hl - 1] >= '1' &&
        r->header[hl - 1] <= '9')
      joined++;
  }
  assert_true(found);
  assert_int_equal(joined, 33); /* every header, wrapped or not, ends up complete ("... SV=n") */
  fc_seqset_free(&s);
  free(p);
}

static void test_yeast_speed(void **state) {
  (void)state;
  char *p = data_path("yeast_UP000002311.fasta");
  SKIP_NO_DATA(p, "yeast_UP000002311.fasta");
  fc_seqset s;
  fc_error e;
  /* best of 3: the dev machine is shared, a single run measures the scheduler as much as the code */
  double dt = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = fc_now_seconds();
    assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
    double d = fc_now_seconds() - t0;
    if (d < dt) dt = d;
    if (rep < 2) fc_seqset_free(&s);
  }
  fprintf(stderr, "yeast proteome: %zu records read in %.4f s (best of 3)\n", s.n, dt);
  assert_int_equal(s.n, 6067);
  assert_int_equal(s.n_issues, 0);
  /* README: 68 duplicate sequences = 68 records whose sequence equals an earlier one */
  assert_int_equal(s.n_unique_seqs, 6067 - 68);
  size_t total = 0, dups = 0, minl = SIZE_MAX, maxl = 0;
  for (size_t i = 0; i < s.n; i++) {
    total += s.rec[i].len;
    if (s.rec[i].len < minl) minl = s.rec[i].len;
    if (s.rec[i].len > maxl) maxl = s.rec[i].len;
    int32_t f = s.rec[i].first_same_seq;
    assert_true(f >= 0 && (size_t)f <= i);
    if ((size_t)f != i) {
      dups++;
      assert_string_equal(s.rec[f].seq, s.rec[i].seq);
      assert_int_equal(s.rec[f].first_same_seq, f);
    }
  }
  assert_int_equal(dups, 68);
  assert_int_equal(total, 2938064);
  assert_int_equal(minl, 16);
  assert_int_equal(maxl, 4910);
  if (!getenv("FC_SANITIZE") || strcmp(getenv("FC_SANITIZE"), "1") != 0) assert_true(dt < 0.1);
  /* limit and max_len */
  fc_fasta_opts o = {.max_len = 100, .limit = 10};
  fc_seqset s2;
  assert_int_equal(fc_fasta_read(p, &o, &s2, &e), FC_OK);
  assert_int_equal(s2.n, 10);
  for (size_t i = 0; i < s2.n; i++) {
    assert_int_equal(s2.rec[i].len, s.rec[i].len < 100 ? s.rec[i].len : 100);
    assert_int_equal(s2.rec[i].orig_len, s.rec[i].len);
    assert_int_equal(strncmp(s2.rec[i].seq, s.rec[i].seq, s2.rec[i].len), 0);
    assert_string_equal(s2.rec[i].header, s.rec[i].header);
  }
  fc_seqset_free(&s2);
  fc_seqset_free(&s);
  free(p);
}

static void test_fixtures_bio_embeddings(void **state) {
  (void)state;
  fc_seqset s;
  fc_error e;
  char *p = data_path("fasta_fixtures/illegal_amino_acids.fasta");
  SKIP_NO_DATA(p, "fasta_fixtures/");
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.n_issues, 0);
  assert_string_equal(s.rec[0].seq, "MRHKDESTNQCUGPAVIFYWLOXZB"); /* U O X Z B accepted */
  assert_string_equal(s.rec[1].seq, "THISISALOWERCASESEQUENCE");
  assert_string_equal(s.rec[2].id, "PROTEIN");
  fc_seqset_free(&s);
  free(p);

  p = data_path("fasta_fixtures/unparsable.fasta");
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.n_issues, 1);
  assert_int_equal(s.issues[0].line, 3);
  assert_string_equal(s.issues[0].id, "unparsable");
  assert_non_null(strstr(s.issues[0].reason, "U+00E4"));
  assert_non_null(strstr(s.issues[0].reason, "line 4 column 36"));
  assert_string_equal(s.rec[1].seq, "PROTEIN");
  char *tsv = fc_strdup("/tmp/fc_test_issues_XXXXXX");
  int fd = mkstemp(tsv);
  close(fd);
  assert_int_equal(fc_seqset_write_issues(&s, tsv, &e), FC_OK);
  char *txt;
  size_t n;
  assert_int_equal(fc_read_file(tsv, 0, &txt, &n, &e), FC_OK);
  assert_int_equal(strncmp(txt, "line\tid\treason\n3\tunparsable\tinvalid character 'ä' (U+00E4)", 58), 0);
  free(txt);
  unlink(tsv);
  free(tsv);
  fc_seqset_free(&s);
  free(p);

  p = data_path("fasta_fixtures/seqwence-protein.fasta"); /* no final newline */
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.rec[0].seq, "SEQWENCE");
  assert_string_equal(s.rec[1].seq, "PROTEIN");
  fc_seqset_free(&s);
  free(p);

  p = data_path("fasta_fixtures/titin_twice.fasta");
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.rec[0].len, 68700);
  fc_seqset_free(&s);
  free(p);

  p = data_path("fasta_fixtures/test_failure.fa");
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 176);
  assert_int_equal(s.n_issues, 0);
  assert_int_equal(s.n_unique_seqs, 175);
  size_t xs = 0, maxl = 0, wrapped = 0;
  for (size_t i = 0; i < s.n; i++) {
    for (size_t k = 0; k < s.rec[i].len; k++)
      xs += s.rec[i].seq[k] == 'X';
    if (s.rec[i].len > maxl) maxl = s.rec[i].len;
    size_t hl = strlen(s.rec[i].header);
    if (hl > 7 && strcmp(s.rec[i].header + hl - 7, " 4 SV=1") == 0) wrapped++;
  }
  assert_int_equal(xs, 14);
  assert_int_equal(maxl, 35213);
  assert_int_equal(wrapped, 1);
  fc_seqset_free(&s);
  free(p);
}

static void test_edge_fixture(void **state) {
  (void)state;
  const char *names[] = {"edge.fa", "edge.fa.gz"};
  for (int k = 0; k < 2; k++) {
    char *p = fixture(names[k]);
    fc_seqset s;
    fc_error e;
    fc_error_clear(&e);
    assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.n_issues, 0);
    assert_string_equal(s.rec[0].id, "sp|P1|ONE_TEST");
    assert_string_equal(s.rec[0].accession, "sp_P1_ONE_TEST");
    assert_string_equal(s.rec[0].header,
                        "sp|P1|ONE_TEST Protein one OS=Test organism OX=1 GN=one PE=1 4 SV=1");
    assert_string_equal(s.rec[0].seq, "MKVLLAMKVLLA"); /* CRLF, spaces, lowercase, final '*' */
    assert_string_equal(s.rec[1].accession, "two_slash");
    assert_string_equal(s.rec[1].seq, "ACDEFGHIKLMNPQRSTVWYBXZJOU");
    assert_int_equal(s.rec[2].first_same_seq, 0);
    assert_int_equal(s.rec[3].first_same_seq, 3);
    assert_string_equal(s.rec[3].seq, "WWWWWW");
    assert_string_equal(s.rec[4].header, "five (strain K12) wrapped GN=five PE=1 SV=1");
    assert_string_equal(s.rec[4].seq, "MKV"); /* no final newline */
    assert_int_equal(s.rec[4].line, 14);
    assert_int_equal(s.n_unique_seqs, 4);
    fc_seqset_free(&s);
    free(p);
  }
  char *p = fixture("small.fa.gz");
  fc_seqset s;
  fc_error e;
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 50);
  assert_int_equal(s.rec[49].len, 59);
  fc_seqset_free(&s);
  free(p);
}

static void test_truncated_gzip(void **state) {
  (void)state;
  char *p = fixture("small_truncated.fa.gz");
  fc_seqset s;
  fc_error e;
  fc_error_clear(&e);
  assert_int_equal(fc_fasta_read(p, NULL, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, "small_truncated.fa.gz"));
  assert_non_null(strstr(e.msg, "gzip"));
  assert_int_equal(s.n, 0);
  assert_null(s.rec);
  fc_seqset_free(&s);
  free(p);
  /* gzip magic followed by garbage */
  char *g = tmp_with("\x1f\x8b\x08\x00garbagegarbage", 18);
  assert_int_equal(fc_fasta_read(g, NULL, &s, &e), FC_EFORMAT);
  unlink(g);
  free(g);
}

static void test_invalid_records(void **state) {
  (void)state;
  fc_seqset s;
  fc_error e;
  const char *text = ">ok1\nMKV\n"
                     ">dash\nMK-V\n"           /* '-' */
                     ">digit\nMKV\nMK1V\n"     /* digit on a later line */
                     ">dot\nMK.\n"             /* '.' */
                     ">star_inside\nMK*V\n"    /* '*' inside */
                     ">star_twice\nMKV**\n"    /* two stops */
                     ">star_line\nMKV*\nAA\n"  /* '*' then more residues on the next line */
                     ">empty\n"                /* no sequence */
                     ">\nMKV\n"                /* empty header */
                     ">cont_only\nOS=x OX=1\n" /* only a continuation line */
                     ">utf8\nMK\xc3\xa4V\n"    /* non-ASCII */
                     ">ctrl\nMK\x01V\n"        /* control byte */
                     ">starok\nMKV*\n"         /* final stop: fine */
                     ">onlystar\n*\n"          /* empty after dropping the stop */
                     ">ok2\nmkv\n";
  assert_int_equal(read_text(text, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 3);
  assert_string_equal(s.rec[0].id, "ok1");
  assert_string_equal(s.rec[1].id, "starok");
  assert_string_equal(s.rec[1].seq, "MKV");
  assert_string_equal(s.rec[2].id, "ok2");
  assert_int_equal(s.rec[2].first_same_seq, 0);
  assert_int_equal(s.n_unique_seqs, 1);
  assert_int_equal(s.n_issues, 12);
  const char *want[][2] = {{"dash", "invalid character '-' at line 4 column 3 (residue 3)"},
                           {"digit", "invalid character '1' at line 7 column 3 (residue 6)"},
                           {"dot", "invalid character '.' at line 9 column 3"},
                           {"star_inside", "'*' inside the sequence at line 11 column 3"},
                           {"star_twice", "second stop '*' at line 13 column 5"},
                           {"star_line", "'*' inside the sequence at line 15 column 4"},
                           {"empty", "empty sequence"},
                           {"", "empty header"},
                           {"cont_only", "empty sequence (1 header continuation line"},
                           {"utf8", "'ä' (U+00E4) at line 23 column 3"},
                           {"ctrl", "control byte 0x01 at line 25 column 3"},
                           {"onlystar", "empty sequence"}};
  for (size_t i = 0; i < 12; i++) {
    assert_string_equal(s.issues[i].id, want[i][0]);
    if (!strstr(s.issues[i].reason, want[i][1]))
      fail_msg("issue %zu: '%s' lacks '%s'", i, s.issues[i].reason, want[i][1]);
  }
  assert_int_equal(s.issues[0].line, 3);
  fc_seqset_free(&s);
}

static void test_header_continuation_rule(void **state) {
  (void)state;
  fc_seqset s;
  fc_error e;
  /* header-like: '=' / no letters / punctuation / mixed case with a blank between words;
   * otherwise a sequence line */
  const char *text = ">a x\n2\nMKV\n"            /* digits only: continuation */
                     ">b x\nHomo sapiens\nMKV\n" /* mixed-case words: continuation */
                     ">c x\n(strain)\nMKV\n"     /* punctuation: continuation */
                     ">d x\nMKV LLA\n"           /* spaces in the first sequence line: sequence */
                     ">e x\nmkv lla\n"           /* lowercase with spaces: sequence */
                     ">f x\nMKV\nOS=late\n"      /* after the sequence started: invalid */
                     ">g x\nMKVllaGG\n";         /* one mixed-case token (soft-masked): sequence */
  assert_int_equal(read_text(text, NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 6);
  assert_string_equal(s.rec[5].seq, "MKVLLAGG"); /* soft-masked first line: sequence, not header */
  assert_string_equal(s.rec[5].header, "g x");
  assert_string_equal(s.rec[0].header, "a x 2");
  assert_string_equal(s.rec[1].header, "b x Homo sapiens");
  assert_string_equal(s.rec[2].header, "c x (strain)");
  assert_string_equal(s.rec[3].seq, "MKVLLA");
  assert_string_equal(s.rec[3].header, "d x");
  assert_string_equal(s.rec[4].seq, "MKVLLA");
  assert_int_equal(s.rec[4].first_same_seq, 3);
  assert_int_equal(s.n_issues, 1);
  assert_string_equal(s.issues[0].id, "f");
  assert_non_null(strstr(s.issues[0].reason, "'=' at line 16 column 3"));
  fc_seqset_free(&s);
}

static void test_damaged_files(void **state) {
  (void)state;
  fc_seqset s;
  fc_error e;
  fc_error_clear(&e);
  assert_int_equal(read_text("MKV\n>a\nMKV\n", NULL, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, ":1: text before the first '>'"));
  assert_int_equal(read_text("\n\n# comment\n>a\nMKV\n", NULL, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, ":3: "));
  assert_int_equal(read_text("", NULL, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, "no FASTA records"));
  assert_int_equal(read_text("\n  \n\r\n", NULL, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, "no FASTA records"));
  assert_int_equal(read_text(">a x\nMKV\n>b\nMKV\n>a y\nAAA\n", NULL, &s, &e), FC_EDUPLICATE);
  assert_non_null(strstr(e.msg, "'a' at lines 1 and 5"));
  assert_null(s.rec);
  /* accession clash after '|' -> '_' */
  assert_int_equal(read_text(">sp|X\nMKV\n>sp_X\nMKV\n", NULL, &s, &e), FC_EDUPLICATE);
  assert_non_null(strstr(e.msg, "lines 1 and 3"));
  /* a rejected record still counts for duplicates */
  assert_int_equal(read_text(">a\nMK-\n>a\nMKV\n", NULL, &s, &e), FC_EDUPLICATE);
  assert_int_equal(fc_fasta_read("/nonexistent/x.fa", NULL, &s, &e), FC_EIO);
  assert_non_null(strstr(e.msg, "/nonexistent/x.fa"));
  /* only rejected records: not an error, the caller sees n == 0 */
  assert_int_equal(read_text(">a\n>b\n", NULL, &s, &e), FC_OK);
  assert_int_equal(s.n, 0);
  assert_int_equal(s.n_issues, 2);
  fc_seqset_free(&s);
  /* a very long line (longer than the 1 MiB read buffer) */
  size_t L = 3u << 20;
  char *big = malloc(L + 16);
  memcpy(big, ">long\n", 6);
  memset(big + 6, 'A', L);
  big[6 + L] = '\0';
  assert_int_equal(read_text(big, NULL, &s, &e), FC_OK);
  assert_int_equal(s.rec[0].len, L);
  fc_seqset_free(&s);
  free(big);
  /* random bytes never crash */
  srand(11);
  for (int it = 0; it < 200; it++) {
    char buf[300];
    size_t n = (size_t)(rand() % 299);
    for (size_t i = 0; i < n; i++) {
      int r = rand() % 8;
      buf[i] = r == 0 ? '>' : r == 1 ? '\n' : r == 2 ? 'A' : (char)(rand() % 256);
      if (buf[i] == 0) buf[i] = 'M';
    }
    buf[n] = 0;
    fc_status rc = read_text(buf, NULL, &s, &e);
    assert_true(rc == FC_OK || rc == FC_EFORMAT || rc == FC_EDUPLICATE);
    fc_seqset_free(&s);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alphabet),        cmocka_unit_test(test_test_fa),
      cmocka_unit_test(test_yeast_speed),     cmocka_unit_test(test_fixtures_bio_embeddings),
      cmocka_unit_test(test_edge_fixture),    cmocka_unit_test(test_truncated_gzip),
      cmocka_unit_test(test_invalid_records), cmocka_unit_test(test_header_continuation_rule),
      cmocka_unit_test(test_damaged_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
