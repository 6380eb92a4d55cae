/* config: YAML tree (load, errors, dump, round trip), FANTASIA merge semantics, experiment folder. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fantasia/config.h"

static char g_tmp[256];

static const char *fixture(const char *name) {
  static char buf[1024];
  const char *dir = getenv("FC_FIXTURES");
  snprintf(buf, sizeof buf, "%s/config/%s", dir ? dir : "tests/fixtures", name);
  return buf;
}

static char *write_tmp(const char *name, const char *text) {
  char *p = fc_path_join(g_tmp, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static fc_status load_text(const char *text, const char *const *ov, int n, fc_run_config **c, fc_error *e) {
  char *p = write_tmp("cfg.yaml", text);
  fc_status st = fc_config_load(p, ov, n, c, e);
  free(p);
  return st;
}

static int has_key(char **list, size_t n, const char *k) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(list[i], k)) return 1;
  return 0;
}

static const char *KMER = "embedding:\n  models:\n    kmer: {enabled: true}\n";

/* ---------- YAML tree ---------- */

static void test_yaml_basic_access(void **state) {
  (void)state;
  fc_ynode *r = NULL;
  fc_error e = {0};
  assert_int_equal(fc_yaml_load_string("b: 1\na:\n  x: 'yes'\n  y: [1, two]\nc: ~\n", &r, &e), FC_OK);
  assert_int_equal(fc_ynode_type(r), FC_YMAP);
  assert_int_equal(fc_ynode_size(r), 3);
  assert_string_equal(fc_ynode_map_key(r, 0), "b"); /* insertion order kept */
  assert_string_equal(fc_ynode_map_key(r, 1), "a");
  const fc_ynode *x = fc_ynode_get(r, "a.x");
  assert_non_null(x);
  assert_true(x->quoted);
  int b = 0;
  assert_int_equal(fc_ynode_bool(x, &b, NULL), FC_OK); /* boolish parse works on the text */
  assert_int_equal(b, 1);
  const fc_ynode *y = fc_ynode_get(r, "a.y");
  assert_int_equal(fc_ynode_size(y), 2);
  assert_string_equal(fc_ynode_text(fc_ynode_seq_item(y, 1)), "two");
  assert_true(fc_ynode_is_null(fc_ynode_get(r, "c")));
  assert_null(fc_ynode_get(r, "a.x.z"));
  assert_null(fc_ynode_get(r, "nope"));
  long l;
  assert_int_equal(fc_ynode_int(fc_ynode_get(r, "b"), &l, NULL), FC_OK);
  assert_int_equal(l, 1);
  assert_int_equal(fc_ynode_int(fc_ynode_seq_item(y, 1), &l, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "two"));
  double d;
  assert_int_equal(fc_ynode_double(fc_ynode_get(r, "a"), &d, &e), FC_EINVAL);
  /* set / merge */
  assert_int_equal(fc_ynode_set_scalar(r, "a.z.w", "5", &e), FC_OK);
  assert_string_equal(fc_ynode_text(fc_ynode_get(r, "a.z.w")), "5");
  assert_int_equal(fc_ynode_set_scalar(r, "b.q", "5", &e), FC_EINVAL); /* b is a scalar */
  fc_ynode *o = NULL;
  assert_int_equal(fc_yaml_load_string("a: {x: no, new: 1}\nd: [1]\n", &o, &e), FC_OK);
  assert_int_equal(fc_ynode_merge(r, o, &e), FC_OK);
  assert_string_equal(fc_ynode_text(fc_ynode_get(r, "a.x")), "no");
  assert_non_null(fc_ynode_get(r, "a.y"));
  assert_non_null(fc_ynode_get(r, "a.new"));
  assert_int_equal(fc_ynode_size(fc_ynode_get(r, "d")), 1);
  fc_ynode_free(o);
  fc_ynode_free(r);
  /* boolish set */
  const char *t[] = {"1", "TRUE", "t", "Yes", "y", "On"}, *f[] = {"0", "false", "F", "no", "N", "OFF"};
  for (int i = 0; i < 6; i++) {
    assert_true(fc_parse_boolish(t[i], &b) && b == 1);
    assert_true(fc_parse_boolish(f[i], &b) && b == 0);
  }
  assert_false(fc_parse_boolish("maybe", &b));
  assert_false(fc_parse_boolish("", &b));
}

static void test_yaml_syntax_errors(void **state) {
  (void)state;
  static const char *const bad[] = {
      "a: 1\nb: [1, 2\nc: 3\n",    /* unclosed flow sequence */
      "a: 1\n  b: 2\n",            /* bad indentation */
      "a: 'unterminated\n",        /* unclosed quote */
      "a:\n\t- tab\n",             /* tab indentation */
      "a: *nope\n",                /* undefined alias */
      "? [1, 2]\n: complex key\n", /* non-scalar key */
      "a: {b: 1\n",                /* truncated */
      "\x01\x02\x03: \xff\xfe\n",  /* garbage */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *p = write_tmp("bad.yaml", bad[i]);
    fc_ynode *r = NULL;
    fc_error e = {0};
    fc_status st = fc_yaml_load_file(p, &r, &e);
    assert_int_not_equal(st, FC_OK);
    assert_null(r);
    assert_non_null(strstr(e.msg, "bad.yaml"));
    free(p);
  }
  /* the line of the problem is named */
  char *p = write_tmp("bad.yaml", "a: 1\nb: 2\nc: d: e\n");
  fc_ynode *r = NULL;
  fc_error e = {0};
  assert_int_equal(fc_yaml_load_file(p, &r, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, "bad.yaml:3:"));
  assert_non_null(strstr(e.msg, "YAML syntax error"));
  /* through fc_config_load too */
  fc_run_config *c = NULL;
  assert_int_equal(fc_config_load(p, NULL, 0, &c, &e), FC_EFORMAT);
  assert_null(c);
  free(p);
  /* alias bomb: clean error, not memory exhaustion */
  {
    char bomb[2048] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'j'; c++) {
      char line[128];
      snprintf(line, sizeof line, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", c, c, c - 1,
               c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
      strcat(bomb, line);
    }
    assert_int_equal(fc_yaml_load_string(bomb, &r, &e), FC_EFORMAT);
    assert_non_null(strstr(e.msg, "aliases"));
  }
  /* merge keys */
  assert_int_equal(fc_yaml_load_string("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n", &r, &e), FC_OK);
  assert_string_equal(fc_ynode_text(fc_ynode_get(r, "m.x")), "1");
  assert_string_equal(fc_ynode_text(fc_ynode_get(r, "m.y")), "3");
  assert_null(fc_ynode_get(r, "m.<<"));
  fc_ynode_free(r);
  assert_int_equal(fc_yaml_load_string("m:\n  <<: [1]\n", &r, &e), FC_EFORMAT);
  /* missing file */
  assert_int_equal(fc_yaml_load_file("/nonexistent/x.yaml", &r, &e), FC_EIO);
  /* top level must be a map for a config; empty document is an empty map */
  assert_int_equal(load_text("- a\n- b\n", NULL, 0, &c, &e), FC_EFORMAT);
  assert_int_equal(fc_yaml_load_string("", &r, &e), FC_OK);
  assert_int_equal(fc_ynode_type(r), FC_YMAP);
  fc_ynode_free(r);
}

/* Every prefix of a real config, and copies with one byte damaged, either load or fail cleanly (ASan: no
 * leak). */
static void test_damaged_configs(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(fc_read_file(fixture("fantasia_shipped.yaml"), 0, &text, &len, NULL), FC_OK);
  size_t step = getenv("FC_SANITIZE") && !strcmp(getenv("FC_SANITIZE"), "1") ? 7 : 1;
  size_t ok = 0, failed = 0;
  for (size_t cut = 0; cut <= len; cut += step) {
    char *t = fc_strndup(text, cut);
    fc_ynode *r = NULL;
    fc_error e = {0};
    if (fc_yaml_load_string(t, &r, &e) == FC_OK) {
      assert_non_null(r);
      fc_ynode_free(r);
    } else {
      assert_null(r);
      assert_true(e.msg[0] != '\0');
    }
    fc_run_config *c = NULL;
    char *p = write_tmp("cut.yaml", t);
    if (fc_config_load(p, NULL, 0, &c, &e) == FC_OK) {
      ok++;
      fc_config_free(c);
    } else {
      failed++;
      assert_null(c);
      assert_true(e.msg[0] != '\0');
    }
    free(p);
    free(t);
  }
  assert_true(ok > 0 && failed > 0);
  static const char junk[] = {':', '[', '{', '\'', '"', '\t', '&', '*', '!', '-', '\0', '\xff'};
  for (size_t pos = 0; pos < len; pos += 13 * step) {
    char *t = fc_strdup(text);
    t[pos] = junk[pos % sizeof junk];
    fc_ynode *r = NULL;
    if (fc_yaml_load_string(t, &r, NULL) == FC_OK) fc_ynode_free(r);
    fc_run_config *c = NULL;
    char *p = write_tmp("junk.yaml", t);
    if (fc_config_load(p, NULL, 0, &c, NULL) == FC_OK) fc_config_free(c);
    free(p);
    free(t);
  }
  free(text);
}

static void test_yaml_dump_exact(void **state) {
  (void)state;
  /* expected text is what PyYAML 6 yaml.safe_dump(default_flow_style=False) writes */
  fc_ynode *r = NULL;
  assert_int_equal(
      fc_yaml_load_string("b: [1, 2]\na: {y: 'yes', x: null}\nc: []\nd: {}\n"
                          "e: [{k: 1, j: 2}, [3, 4]]\nf: 'a: b'\ng: ''\nh: '0.3'\nj: '#x'\nk: -x\n"
                          "m: ' lead'\nn: 0.20\no: True\np: 0x10\nq: 1e+20\nr: 100.\ns: ~\nt: 1_000\nu: 010\n"
                          "v: 12345678901234567.0\nw: 0.00001\nz: 1.0e+20\n",
                          &r, NULL),
      FC_OK);
  char *s = fc_yaml_dump_string(r);
  assert_string_equal(
      s, "a:\n  x: null\n  y: 'yes'\nb:\n- 1\n- 2\nc: []\nd: {}\ne:\n- j: 2\n  k: 1\n- - 3\n  - 4\n"
         "f: 'a: b'\ng: ''\nh: '0.3'\nj: '#x'\nk: -x\nm: ' lead'\nn: 0.2\no: true\np: 16\n"
         "q: 1e+20\nr: 100.0\ns: null\nt: 1000\nu: 8\nv: 1.2345678901234568e+16\nw: 1.0e-05\n"
         "z: 1.0e+20\n");
  free(s);
  fc_ynode_free(r);
}

/* Order-insensitive equality for maps (a dump sorts keys). */
static int same(const fc_ynode *a, const fc_ynode *b) {
  if (fc_ynode_type(a) != fc_ynode_type(b) || fc_ynode_size(a) != fc_ynode_size(b)) return 0;
  if (a->type == FC_YSCALAR) return fc_ynode_equal(a, b);
  for (size_t i = 0; i < a->n; i++) {
    if (a->type == FC_YSEQ) {
      if (!same(a->items[i], b->items[i])) return 0;
    } else if (!same(a->items[i], fc_ynode_map_find(b, a->keys[i]->text))) {
      return 0;
    }
  }
  return 1;
}

static void roundtrip(const char *path) {
  fc_ynode *a = NULL, *b = NULL;
  fc_error e = {0};
  assert_int_equal(fc_yaml_load_file(path, &a, &e), FC_OK);
  char *out = fc_path_join(g_tmp, "dump.yaml");
  assert_int_equal(fc_yaml_dump_file(a, out, &e), FC_OK);
  assert_int_equal(fc_yaml_load_file(out, &b, &e), FC_OK);
  if (!same(a, b)) {
    char *s = fc_yaml_dump_string(b);
    fprintf(stderr, "round trip of %s differs:\n%s\n", path, s);
    free(s);
  }
  assert_true(same(a, b));
  /* dumping is idempotent */
  char *s1 = fc_yaml_dump_string(a), *s2 = fc_yaml_dump_string(b);
  assert_string_equal(s1, s2);
  free(s1);
  free(s2);
  free(out);
  fc_ynode_free(a);
  fc_ynode_free(b);
}

static void test_yaml_roundtrip(void **state) {
  (void)state;
  roundtrip(fixture("tricky.yaml"));
  roundtrip(fixture("fantasia_shipped.yaml"));
  roundtrip(fixture("legacy.yaml"));
  fc_ynode *a = NULL;
  assert_int_equal(fc_yaml_load_file(fixture("tricky.yaml"), &a, NULL), FC_OK);
  assert_string_equal(fc_ynode_text(fc_ynode_get(a, "newline")), "multi\nline");
  assert_int_equal(fc_ynode_size(fc_ynode_get(a, "copy.y")), 2); /* alias expanded */
  assert_string_equal(fc_ynode_text(fc_ynode_get(a, "block")), "line one\nline two\n");
  fc_ynode *c = fc_ynode_copy(a);
  assert_true(fc_ynode_equal(a, c));
  assert_int_equal(fc_ynode_set_string(c, "quoted_num", "0.4", NULL), FC_OK);
  assert_false(fc_ynode_equal(a, c));
  fc_ynode_free(c);
  fc_ynode_free(a);
}

/* Compare our dump with PyYAML's on the same files when python3 + yaml are there (skip otherwise). */
static void test_yaml_dump_matches_pyyaml(void **state) {
  (void)state;
  if (system("python3 -c 'import yaml' >/dev/null 2>&1") != 0) {
    skip();
    return;
  }
  const char *files[] = {fixture("fantasia_shipped.yaml"), NULL};
  char shipped[1024];
  snprintf(shipped, sizeof shipped, "%s/config/config.yaml",
           getenv("FC_SOURCE_DIR") ? getenv("FC_SOURCE_DIR") : ".");
  for (int k = 0; k < 2; k++) {
    const char *f = k == 0 ? files[0] : shipped;
    fc_ynode *a = NULL;
    assert_int_equal(fc_yaml_load_file(f, &a, NULL), FC_OK);
    char *ours = fc_path_join(g_tmp, "ours.yaml"), *theirs = fc_path_join(g_tmp, "theirs.yaml");
    assert_int_equal(fc_yaml_dump_file(a, ours, NULL), FC_OK);
    char *cmd = fc_sprintf(
        "python3 -c 'import yaml,sys; sys.stdout.write(yaml.safe_dump(yaml.safe_load(open(sys.argv[1])),"
        " default_flow_style=False))' '%s' > '%s' && cmp -s '%s' '%s'",
        f, theirs, ours, theirs);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "dump differs from PyYAML for %s: diff %s %s\n", f, ours, theirs);
    assert_int_equal(rc, 0);
    free(cmd);
    free(ours);
    free(theirs);
    fc_ynode_free(a);
  }
}

/* ---------- configuration ---------- */

static void test_defaults_equal_shipped_file(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/config/config.yaml",
           getenv("FC_SOURCE_DIR") ? getenv("FC_SOURCE_DIR") : ".");
  fc_ynode *a = NULL, *b = NULL;
  fc_error e = {0};
  assert_int_equal(fc_yaml_load_file(path, &a, &e), FC_OK);
  assert_int_equal(fc_yaml_load_string(fc_config_default_yaml(), &b, &e), FC_OK);
  assert_true(fc_ynode_equal(a, b));
  fc_ynode_free(a);
  fc_ynode_free(b);
  fc_run_config *c = NULL;
  assert_int_equal(fc_config_load(NULL, NULL, 0, &c, &e), FC_OK);
  assert_int_equal(c->n_models, 6);
  assert_string_equal(c->models[5].name, "kmer");
  assert_true(c->models[5].enabled);
  assert_string_equal(c->models[5].path, "kmer");
  assert_int_equal(c->models[5].type_id, 0);
  assert_null(c->reference); /* no default store: lookup asks for one */
  assert_string_equal(c->device, "cpu");
  assert_string_equal(c->raw_format, "tsv");
  assert_int_equal(c->limit_per_entry, 1);
  assert_int_equal(c->store_workers, 4);
  assert_int_equal(c->n_unknown, 0);
  assert_null(c->input);
  fc_config_free(c);
  assert_int_equal(fc_config_load(path, NULL, 0, &c, &e), FC_OK);
  assert_int_equal(c->n_unknown, 0);
  assert_true(has_key(c->unused_keys, c->n_unused, "DB_HOST"));
  fc_config_free(c);
}

static void test_fantasia_shipped_config(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  assert_int_equal(fc_config_load(fixture("fantasia_shipped.yaml"), NULL, 0, &c, &e), FC_OK);
  assert_int_equal(c->n_models, 5);
  size_t en = 0;
  for (size_t i = 0; i < c->n_models; i++) {
    en += c->models[i].enabled;
    assert_true(isnan(c->models[i].distance_threshold));
    assert_int_equal(c->models[i].n_layers, 1);
    assert_int_equal(c->models[i].layers[0], 0);
    assert_int_equal(c->models[i].batch_size, 1);
  }
  assert_int_equal(en, 1);
  assert_string_equal(c->models[3].name, "Prot-T5");
  assert_true(c->models[3].enabled);
  assert_int_equal(c->models[3].type_id, 3);
  assert_int_equal(c->models[0].type_id, 1);
  assert_int_equal(c->models[1].type_id, 5);
  assert_int_equal(c->models[2].type_id, 4);
  assert_int_equal(c->models[4].type_id, 2);
  assert_null(c->models[3].path);
  assert_string_equal(c->device, "cuda"); /* accepted, warned */
  assert_string_equal(c->prefix, "sample");
  assert_string_equal(c->input, "data_sample/sample.fasta");
  assert_int_equal(c->limit_execution, 0);
  assert_int_equal(c->limit_per_entry, 1);
  assert_int_equal(c->lookup_batch_size, 516);
  assert_int_equal(c->precision, 4);
  assert_int_equal(c->queue_batch_size, 100);
  assert_int_equal(c->max_sequence_length, 0);
  assert_int_equal(c->batch_tokens, 0);
  assert_null(c->max_memory);
  assert_true(c->redundancy_identity == 0.0);
  assert_true(c->redundancy_coverage == 0.7);
  assert_int_equal(c->redundancy_threads, 10);
  assert_int_equal(c->n_tax_exclude + c->n_tax_include, 0);
  assert_false(c->get_descendants);
  assert_string_equal(c->distance_metric, "cosine");
  assert_true(c->keep_sequences);
  assert_true(c->include_counts);
  assert_true(c->alignments); /* identity metrics need alignments */
  assert_int_equal(c->n_metrics, 3);
  assert_string_equal(c->metrics[1].metric, "identity");
  assert_int_equal(c->metrics[1].n_funs, 3);
  assert_string_equal(c->metrics[1].funs[2], "mean");
  assert_int_equal(c->n_aliases, 3);
  assert_string_equal(c->alias_values[2], "id_l");
  assert_int_equal(c->n_weights, 4);
  assert_string_equal(c->weights[0].key, "reliability_index");
  assert_false(c->weights[0].is_number);
  assert_int_equal(c->weights[0].n_fun, 1);
  assert_string_equal(c->weights[0].fun_keys[0], "max");
  assert_true(c->weights[0].fun_values[0] == 0.4);
  assert_true(c->weights[1].is_number && c->weights[1].number == 0.2);
  assert_string_equal(c->weighted_prefix, "w_");
  assert_null(c->reference); /* built-in default: none */
  /* DB/RabbitMQ keys reported unused, nothing unknown */
  assert_int_equal(c->n_unknown, 0);
  const char *unused[] = {"DB_USERNAME",      "DB_PORT",
                          "rabbitmq_host",    "rabbitmq_password",
                          "monitor_interval", "delete_queues",
                          "constants",        "lookup.use_gpu",
                          "lookup.topgo",     "postprocess.summary.export_raw_count"};
  for (size_t i = 0; i < sizeof unused / sizeof *unused; i++)
    assert_true(has_key(c->unused_keys, c->n_unused, unused[i]));
  /* log path and types */
  assert_non_null(strstr(c->log_path, "/fantasia/logs/Logs_"));
  assert_int_equal(strlen(c->timestamp), 14);
  const fc_ynode *types = fc_ynode_get(c->tree, "embedding.types");
  assert_int_equal(fc_ynode_size(types), 1);
  assert_string_equal(fc_ynode_text(fc_ynode_seq_item(types, 0)), "Prot-T5");
  fc_config_free(c);
}

static void test_overrides_win(void **state) {
  (void)state;
  const char *ov[] = {"--limit_per_entry",
                      "7",
                      "--redundancy_identity",
                      "0.5",
                      "--alignment_coverage=0.9",
                      "--threads",
                      "3",
                      "--device",
                      "cpu",
                      "--length_filter",
                      "500",
                      "--sequence_queue_package",
                      "9",
                      "--only_lookup",
                      "true",
                      "--input",
                      "x.h5",
                      "--prefix",
                      "p",
                      "--reference",
                      "r.db",
                      "--distance_metric",
                      "Euclidean",
                      "--raw_format",
                      "both",
                      "--alignments",
                      "false",
                      "--exclude_self",
                      "--k",
                      "5",
                      "--lookup.precision",
                      "6",
                      "--taxonomy_ids_to_exclude",
                      "9606, 10090 x",
                      "--config",
                      "ignored.yaml",
                      "--limit_execution",
                      "20",
                      "--flagonly"};
  int n = (int)(sizeof ov / sizeof *ov);
  fc_run_config *c = NULL;
  fc_error e = {0};
  assert_int_equal(fc_config_load(fixture("fantasia_shipped.yaml"), ov, n, &c, &e), FC_OK);
  assert_int_equal(c->limit_per_entry, 7);
  assert_true(c->redundancy_identity == 0.5);
  assert_true(c->redundancy_coverage == 0.9);
  assert_int_equal(c->redundancy_threads, 3);
  assert_int_equal(c->threads, 3);
  assert_string_equal(c->device, "cpu");
  assert_int_equal(c->max_sequence_length, 500);
  assert_int_equal(c->queue_batch_size, 9);
  assert_true(c->only_lookup);
  assert_string_equal(c->input, "x.h5");
  assert_string_equal(c->prefix, "p");
  assert_string_equal(c->reference, "r.db");
  assert_string_equal(c->distance_metric, "euclidean");
  assert_string_equal(c->raw_format, "both");
  assert_false(c->alignments);
  assert_true(c->exclude_self);
  assert_int_equal(c->precision, 6);
  assert_int_equal(c->limit_execution, 20);
  assert_int_equal(c->n_tax_exclude, 2);
  assert_string_equal(c->tax_exclude[0], "9606");
  assert_string_equal(c->tax_exclude[1], "10090");
  /* unknown --k v: a flat string key, reported unknown */
  const fc_ynode *k = fc_ynode_get(c->tree, "k");
  assert_non_null(k);
  assert_true(k->quoted);
  assert_string_equal(k->text, "5");
  assert_true(has_key(c->unknown_keys, c->n_unknown, "k"));
  assert_true(has_key(c->unknown_keys, c->n_unknown, "flagonly"));
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "flagonly")), "true");
  /* FANTASIA's flat keys are in the tree, and copied into the nested ones */
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "lookup.redundancy.identity")), "0.5");
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "embedding.device")), "cpu");
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "lookup.redundancy.coverage")), "0.9");
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "lookup.taxonomy.exclude")),
                      "9606, 10090 x"); /* step 7 */
  fc_config_free(c);

  /* bad values */
  const char *bad[][2] = {{"--limit_per_entry", "abc"},
                          {"--redundancy_identity", "x"},
                          {"--only_lookup", "maybe"},
                          {"--limit_per_entry", "0"},
                          {"--device", "tpu"},
                          {"--raw_format", "xml"},
                          {"--redundancy_identity", "1.5"},
                          {"--redundancy_coverage", "0"},
                          {"--threads", "1.5"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(fc_config_load(fixture("fantasia_shipped.yaml"), bad[i], 2, &c, &e), FC_EINVAL);
    assert_null(c);
  }
  const char *pos[] = {"stray"};
  assert_int_equal(fc_config_load(fixture("fantasia_shipped.yaml"), pos, 1, &c, &e), FC_EINVAL);
  const char *noval[] = {"--input"};
  assert_int_equal(fc_config_load(fixture("fantasia_shipped.yaml"), noval, 1, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "--input"));
  /* unknown distance metric: warning, cosine */
  const char *dm[] = {"--distance_metric", "manhattan"};
  assert_int_equal(fc_config_load(fixture("fantasia_shipped.yaml"), dm, 2, &c, &e), FC_OK);
  assert_string_equal(c->distance_metric, "cosine");
  fc_config_free(c);
}

static void test_precedence_rules(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  /* flat keys win over nested; embedding.distance_metric wins over lookup's; postprocess.store_workers
   * honoured */
  assert_int_equal(
      load_text(
          "limit_per_entry: 3\nprecision: 2\nstore_workers: 6\nbatch_size: 8\n"
          "length_filter: 50\nsequence_queue_package: 4\n"
          "lookup: {limit_per_entry: 9, precision: 5, distance_metric: cosine, batch_size: 2}\n"
          "embedding:\n  distance_metric: euclidean\n  max_sequence_length: 10\n"
          "  queue_batch_size: 1\n  batch_tokens: 512\n  max_memory: 2G\n  models: {kmer: {enabled: true}}\n"
          "postprocess: {store_workers: 2}\n",
          NULL, 0, &c, &e),
      FC_OK);
  assert_int_equal(c->limit_per_entry, 3);
  assert_int_equal(c->precision, 2);
  assert_int_equal(c->store_workers, 6);
  assert_int_equal(c->lookup_batch_size, 8);
  assert_int_equal(c->max_sequence_length, 50);
  assert_int_equal(c->queue_batch_size, 4);
  assert_int_equal(c->batch_tokens, 512);
  assert_string_equal(c->max_memory, "2G");
  assert_string_equal(c->distance_metric, "euclidean");
  fc_config_free(c);
  assert_int_equal(load_text("lookup: {precision: 5, limit_per_entry: 2}\npostprocess: {store_workers: 2, "
                             "summary: {metrics: {reliability_index: [max, avg, median]}}}\n"
                             "embedding:\n  models:\n    kmer: {enabled: true}\n    ESM: {enabled: 'yes', "
                             "layer_index: 3, path: /m/esm, batch_size: 4, pooling: FANTASIA}\n    Custom: {enabled: on, "
                             "layer_index: ~, type_id: 42}\n",
                             NULL, 0, &c, &e),
                   FC_OK);
  assert_int_equal(c->precision, 5);
  assert_int_equal(c->limit_per_entry, 2);
  assert_int_equal(c->store_workers, 2);
  assert_false(c->alignments); /* no identity metric */
  assert_int_equal(c->n_metrics, 1);
  assert_int_equal(c->metrics[0].n_funs, 2); /* median dropped, avg -> mean */
  assert_string_equal(c->metrics[0].funs[1], "mean");
  assert_int_equal(c->n_aliases, 3); /* defaults when absent */
  assert_int_equal(c->n_models, 3);
  assert_int_equal(c->models[1].n_layers, 1);
  assert_int_equal(c->models[1].layers[0], 3);
  assert_string_equal(c->models[1].path, "/m/esm");
  assert_int_equal(c->models[1].batch_size, 4);
  assert_int_equal(c->models[1].fantasia_pooling, 1);
  assert_int_equal(c->models[0].fantasia_pooling, 0); /* residues by default */
  assert_int_equal(c->models[2].n_layers, 0); /* legacy: layer_index null */
  assert_int_equal(c->models[2].type_id, 42);
  assert_string_equal(c->prefix, "sample");
  fc_config_free(c);
}

static void test_legacy_blocks(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  assert_int_equal(fc_config_load(fixture("legacy.yaml"), NULL, 0, &c, &e), FC_OK);
  assert_true(c->redundancy_identity == 0.95);
  assert_true(c->redundancy_coverage == 0.8);
  assert_int_equal(c->redundancy_threads, 4);
  assert_int_equal(c->n_tax_exclude, 2);
  assert_string_equal(c->tax_exclude[0], "9606");
  assert_string_equal(c->tax_exclude[1], "10090");
  assert_int_equal(c->n_tax_include, 2);
  assert_string_equal(c->tax_include[0], "7227");
  assert_string_equal(c->tax_include[1], "6239");
  assert_int_equal(c->limit_per_entry, 5);
  assert_int_equal(c->models[0].n_layers, 1); /* int layer_index -> [k] */
  assert_int_equal(c->n_unknown, 0);
  /* the nested keys were filled */
  assert_non_null(fc_ynode_get(c->tree, "lookup.redundancy.identity"));
  assert_non_null(fc_ynode_get(c->tree, "lookup.taxonomy.include_only"));
  fc_config_free(c);
  /* a legacy block that is not a mapping */
  assert_int_equal(
      load_text("redundancy: 0.5\nembedding: {models: {kmer: {enabled: true}}}\n", NULL, 0, &c, &e),
      FC_EINVAL);
}

static void test_threshold_normalisation(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  assert_int_equal(load_text("embedding:\n  models:\n"
                             "    a: {enabled: true, distance_threshold: false}\n"
                             "    b: {enabled: true, distance_threshold: \"off\"}\n"
                             "    c: {enabled: true, distance_threshold: \"0.3\"}\n"
                             "    d: {enabled: true, distance_threshold: -1}\n"
                             "    e: {enabled: true, distance_threshold: 0}\n"
                             "    f: {enabled: true, distance_threshold: true}\n"
                             "    g: {enabled: true}\n"
                             "    h: {enabled: true, distance_threshold: ' Disabled '}\n"
                             "    i: {enabled: true, distance_threshold: 1.25}\n"
                             "    j: {enabled: true, distance_threshold: no}\n",
                             NULL, 0, &c, &e),
                   FC_OK);
  double want[] = {NAN, NAN, 0.3, NAN, NAN, 1.0, NAN, NAN, 1.25, NAN};
  assert_int_equal(c->n_models, 10);
  for (size_t i = 0; i < 10; i++) {
    if (isnan(want[i]))
      assert_true(isnan(c->models[i].distance_threshold));
    else
      assert_true(c->models[i].distance_threshold == want[i]);
  }
  /* normalised in the tree too */
  assert_true(fc_ynode_is_null(fc_ynode_get(c->tree, "embedding.models.d.distance_threshold")));
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "embedding.models.c.distance_threshold")), "0.3");
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "embedding.models.f.distance_threshold")), "1.0");
  assert_null(fc_ynode_get(c->tree, "embedding.models.g.distance_threshold"));
  fc_config_free(c);
  assert_int_equal(
      load_text("embedding: {models: {a: {enabled: true, distance_threshold: abc}}}\n", NULL, 0, &c, &e),
      FC_EINVAL);
  assert_non_null(strstr(e.msg, "distance_threshold"));
  assert_int_equal(
      load_text("embedding: {models: {a: {enabled: true, distance_threshold: [1]}}}\n", NULL, 0, &c, &e),
      FC_EINVAL);
}

static void test_taxonomy_sanitising(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  char buf[512];
  snprintf(buf, sizeof buf,
           "%staxonomy_ids_to_exclude: \"9606, 10090 x\"\n"
           "taxonomy_ids_included_exclusively: [9606, \"10090 abc,7227\", 1.5]\n"
           "lookup: {taxonomy: {exclude: [1, 2, 3]}}\n",
           KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_OK);
  assert_int_equal(c->n_tax_exclude, 2); /* the flat list wins when non-empty */
  assert_string_equal(c->tax_exclude[0], "9606");
  assert_string_equal(c->tax_exclude[1], "10090");
  assert_int_equal(c->n_tax_include, 3);
  assert_string_equal(c->tax_include[2], "7227");
  const fc_ynode *flat = fc_ynode_get(c->tree, "taxonomy_ids_to_exclude");
  assert_int_equal(fc_ynode_type(flat), FC_YSEQ);
  assert_int_equal(fc_ynode_size(flat), 2);
  fc_config_free(c);
  /* nested only */
  snprintf(buf, sizeof buf, "%slookup: {taxonomy: {exclude: [1, 2, 3], include_only: \"5 6\"}}\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_OK);
  assert_int_equal(c->n_tax_exclude, 3);
  assert_int_equal(c->n_tax_include, 2);
  fc_config_free(c);
  /* wrong type */
  snprintf(buf, sizeof buf, "%staxonomy_ids_to_exclude: {a: 1}\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%staxonomy_ids_to_exclude: [[1]]\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
}

static void test_validation_errors(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  char buf[512];
  /* both modes */
  snprintf(buf, sizeof buf, "%sonly_lookup: true\nonly_embedding: yes\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "only_lookup"));
  /* nested identity out of range */
  snprintf(buf, sizeof buf, "%slookup: {redundancy: {identity: 1.5}}\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%slookup: {redundancy: {coverage: 0}}\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%sredundancy_filter: -0.1\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%salignment_coverage: 1.01\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  /* no enabled model */
  assert_int_equal(load_text("embedding: {models: {ESM: {enabled: false}}}\n", NULL, 0, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "no model is enabled"));
  assert_int_equal(load_text("prefix: x\n", NULL, 0, &c, &e), FC_EINVAL);
  assert_int_equal(load_text("embedding: {models: [a, b]}\n", NULL, 0, &c, &e), FC_EINVAL);
  assert_int_equal(load_text("embedding: {models: {kmer: 1}}\n", NULL, 0, &c, &e), FC_EINVAL);
  /* model fields */
  assert_int_equal(load_text("embedding: {models: {kmer: {enabled: maybe}}}\n", NULL, 0, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "embedding.models.kmer.enabled"));
  assert_int_equal(
      load_text("embedding: {models: {kmer: {enabled: true, layer_index: [-1]}}}\n", NULL, 0, &c, &e),
      FC_EINVAL);
  assert_int_equal(
      load_text("embedding: {models: {kmer: {enabled: true, layer_index: [a]}}}\n", NULL, 0, &c, &e),
      FC_EINVAL);
  assert_int_equal(
      load_text("embedding: {models: {kmer: {enabled: true, layer_index: []}}}\n", NULL, 0, &c, &e),
      FC_EINVAL);
  assert_int_equal(
      load_text("embedding: {models: {kmer: {enabled: true, batch_size: 0}}}\n", NULL, 0, &c, &e), FC_EINVAL);
  assert_int_equal(
      load_text("embedding: {models: {kmer: {enabled: true, pooling: cls}}}\n", NULL, 0, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "pooling must be residues or fantasia"));
  /* wrong types elsewhere */
  snprintf(buf, sizeof buf, "%slimit_execution: lots\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "limit_execution"));
  snprintf(buf, sizeof buf, "%sprefix: [a]\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%sprefix: a/b\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%spostprocess: {summary: {weights: {count: heavy}}}\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%spostprocess: {summary: {metrics: [a]}}\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%slookup: {exclude_identity_above: 2}\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%slookup: 5\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_OK); /* nothing nested needed: scalar lookup ignored */
  fc_config_free(c);
  /* get_descendants: needs a nodes.dmp */
  snprintf(buf, sizeof buf, "%sget_descendants: true\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "nodes.dmp"));
  const char *ov[] = {"--taxonomy_nodes", "/tmp/nodes.dmp"};
  assert_int_equal(load_text(buf, ov, 2, &c, &e), FC_OK);
  assert_true(c->get_descendants);
  assert_string_equal(c->taxonomy_nodes, "/tmp/nodes.dmp");
  fc_config_free(c);
  const char *ov2[] = {"--get_descendants", "yes"};
  assert_int_equal(load_text(KMER, ov2, 2, &c, &e), FC_EINVAL);
  snprintf(buf, sizeof buf, "%sget_descendants: sometimes\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_EINVAL);
}

static void test_unknown_keys(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  assert_int_equal(
      load_text("foo: 1\nlookup: {bar: 2, redundancy: {identity: 0, speed: 3}}\n"
                "embedding: {models: {kmer: {enabled: true, zzz: 1}, esm2.650M: {enabled: false}}}\n"
                "postprocess: {summary: {weights: {count: 0.1}}}\n"
                "DB_HOST: x\nrabbitmq_port_http: 15672\nembeddings_url: http://x\n",
                NULL, 0, &c, &e),
      FC_OK);
  assert_int_equal(c->n_unknown, 4);
  assert_true(has_key(c->unknown_keys, c->n_unknown, "foo"));
  assert_true(has_key(c->unknown_keys, c->n_unknown, "lookup.bar"));
  assert_true(has_key(c->unknown_keys, c->n_unknown, "lookup.redundancy.speed"));
  assert_true(has_key(c->unknown_keys, c->n_unknown, "embedding.models.kmer.zzz"));
  assert_true(has_key(c->unused_keys, c->n_unused, "DB_HOST"));
  assert_true(has_key(c->unused_keys, c->n_unused, "rabbitmq_port_http"));
  assert_true(has_key(c->unused_keys, c->n_unused, "embeddings_url"));
  assert_int_equal(c->n_weights, 1);
  fc_config_free(c);
}

static void test_experiment_folder(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  char *base = fc_path_join(g_tmp, "base");
  const char *ov[] = {"--base_directory", base, "--prefix", "exp"};
  assert_int_equal(load_text(KMER, ov, 4, &c, &e), FC_OK);
  assert_int_equal(fc_config_make_experiment(c, &e), FC_OK);
  char *first = fc_strdup(c->experiment_path);
  char *want = fc_sprintf("%s/experiments/exp_%s", base, c->timestamp);
  assert_string_equal(first, want);
  /* same second, same prefix: a fresh folder, never a reused one */
  assert_int_equal(fc_config_make_experiment(c, &e), FC_OK);
  char *want2 = fc_sprintf("%s_2", want);
  assert_string_equal(c->experiment_path, want2);
  assert_int_equal(fc_config_make_experiment(c, &e), FC_OK);
  assert_non_null(strstr(c->experiment_path, "_3"));
  /* experiment_config.yaml reloads as the same config */
  char *yml = fc_path_join(first, "experiment_config.yaml");
  assert_true(fc_file_exists(yml));
  fc_run_config *c2 = NULL;
  assert_int_equal(fc_config_load(yml, NULL, 0, &c2, &e), FC_OK);
  assert_string_equal(c2->prefix, "exp");
  assert_string_equal(c2->base_directory, base);
  assert_int_equal(c2->n_models, 1);
  assert_int_equal(c2->n_unknown, 0);
  const fc_ynode *ep = fc_ynode_get(c2->tree, "experiment_path");
  assert_non_null(ep);
  assert_string_equal(fc_ynode_text(ep), first);
  fc_config_free(c2);
  /* no temporary left behind */
  char *cmd = fc_sprintf("ls '%s' | grep -q tmp", first);
  assert_int_not_equal(system(cmd), 0);
  free(cmd);
  free(yml);
  free(want);
  free(want2);
  free(first);
  fc_config_free(c);
  /* unwritable base_directory: a path under a regular file */
  char *file = write_tmp("afile", "x");
  char *bad = fc_path_join(file, "sub");
  const char *ov3[] = {"--base_directory", bad};
  assert_int_equal(load_text(KMER, ov3, 2, &c, &e), FC_OK);
  assert_int_equal(fc_config_make_experiment(c, &e), FC_EIO);
  assert_non_null(strstr(e.msg, "afile"));
  assert_null(c->experiment_path);
  fc_config_free(c);
  free(bad);
  free(file);
  free(base);
}

static void test_expanduser(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e = {0};
  const char *home = getenv("HOME");
  char *saved = home ? fc_strdup(home) : NULL;
  setenv("HOME", "/home/tester", 1);
  char buf[256];
  snprintf(buf, sizeof buf, "%sbase_directory: ~/work\nlog_path: \"~\"\nreference: ~/ref.db\n", KMER);
  assert_int_equal(load_text(buf, NULL, 0, &c, &e), FC_OK);
  assert_string_equal(c->base_directory, "/home/tester/work");
  assert_string_equal(c->reference, "/home/tester/ref.db");
  char *want = fc_sprintf("/home/tester/Logs_%s", c->timestamp);
  assert_string_equal(c->log_path, want);
  assert_string_equal(fc_ynode_text(fc_ynode_get(c->tree, "log_path")), want);
  free(want);
  fc_config_free(c);
  if (saved) {
    setenv("HOME", saved, 1);
    free(saved);
  }
}

static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/fc_test_config_XXXXXX");
  return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char *cmd = fc_sprintf("rm -rf '%s'", g_tmp);
  int rc = system(cmd);
  free(cmd);
  return rc == 0 ? 0 : -1;
}

/* our scoring, prediction and evaluation keys: defaults, flags and the checks between them */
static void test_scoring_and_evaluation_keys(void **state) {
  (void)state;
  fc_run_config *c = NULL;
  fc_error e;
  assert_int_equal(fc_config_load(NULL, NULL, 0, &c, &e), FC_OK);
  assert_string_equal(c->scoring, "fantasia");
  assert_int_equal(c->write_predictions, 1);
  assert_int_equal(c->propagate_predictions, 0);
  assert_string_equal(c->predictions_author, "fantasia.c");
  assert_null(c->ontology);
  assert_null(c->eval_ground_truth);
  fc_config_free(c);
  const char *ok[] = {"--scoring", "gopredsim", "--ontology", "/x/go.obo", "--ground_truth", "/x/gt.tsv",
                      "--evaluation.ia", "/x/ia.tsv", "--predictions.propagate", "true"};
  assert_int_equal(fc_config_load(NULL, ok, 10, &c, &e), FC_OK);
  assert_string_equal(c->scoring, "gopredsim");
  assert_string_equal(c->ontology, "/x/go.obo");
  assert_string_equal(c->eval_ground_truth, "/x/gt.tsv");
  assert_string_equal(c->eval_ia, "/x/ia.tsv");
  assert_null(c->eval_ontology);
  assert_int_equal(c->propagate_predictions, 1);
  fc_config_free(c);
  const char *no_onto[] = {"--scoring", "gopredsim"};
  assert_int_equal(fc_config_load(NULL, no_onto, 2, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "ontology"));
  const char *bad[] = {"--lookup.scoring", "best"};
  assert_int_equal(fc_config_load(NULL, bad, 2, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "lookup.scoring"));
  const char *gt_only[] = {"--ground_truth", "gt.tsv"};
  assert_int_equal(fc_config_load(NULL, gt_only, 2, &c, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "evaluation.ontology"));
  const char *prop_only[] = {"--predictions.propagate", "yes"};
  assert_int_equal(fc_config_load(NULL, prop_only, 2, &c, &e), FC_EINVAL);
}

int main(void) {
  fc_log_set_level(FC_LOG_ERROR); /* warnings are expected here */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_yaml_basic_access),
      cmocka_unit_test(test_yaml_syntax_errors),
      cmocka_unit_test(test_damaged_configs),
      cmocka_unit_test(test_yaml_dump_exact),
      cmocka_unit_test(test_yaml_roundtrip),
      cmocka_unit_test(test_yaml_dump_matches_pyyaml),
      cmocka_unit_test(test_defaults_equal_shipped_file),
      cmocka_unit_test(test_fantasia_shipped_config),
      cmocka_unit_test(test_overrides_win),
      cmocka_unit_test(test_precedence_rules),
      cmocka_unit_test(test_legacy_blocks),
      cmocka_unit_test(test_threshold_normalisation),
      cmocka_unit_test(test_taxonomy_sanitising),
      cmocka_unit_test(test_validation_errors),
      cmocka_unit_test(test_unknown_keys),
      cmocka_unit_test(test_experiment_folder),
      cmocka_unit_test(test_expanduser),
      cmocka_unit_test(test_scoring_and_evaluation_keys),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
