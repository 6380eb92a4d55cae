/* core: errors, fp16/bf16 conversion (vectorised vs scalar twin), atomic files, CPU and memory limits
 * (affinity, cgroup v1/v2 files, damaged ones). */
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <zlib.h>

#include "fantasia/core.h"

static void test_error_one_line(void **state) {
  (void)state;
  fc_error e;
  fc_error_clear(&e);
  assert_int_equal(fc_error_set(&e, FC_EFORMAT, "a\nb %d", 3), FC_EFORMAT);
  assert_string_equal(e.msg, "a b 3");
  assert_int_equal(fc_status_exit_code(FC_EFORMAT), 4);
  assert_int_equal(fc_error_set(NULL, FC_EIO, "x"), FC_EIO);
}

/* Every one of the 65,536 half values converts to float and back unchanged (NaNs stay NaN). */
static void test_f16_roundtrip_all(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = fc_f16_to_f32((uint16_t)h);
    uint16_t back = fc_f32_to_f16(f);
    if (isnan(f))
      assert_true(((back >> 10) & 0x1f) == 0x1f && (back & 0x3ff));
    else
      assert_int_equal(back, h);
  }
}

/* float -> half rounds to nearest, ties to even: compare against a double-precision reference. */
static void test_f16_rounding(void **state) {
  (void)state;
  srand(7);
  for (int i = 0; i < 200000; i++) {
    uint32_t u = ((uint32_t)rand() << 16) ^ (uint32_t)rand();
    float f;
    memcpy(&f, &u, 4);
    if (isnan(f)) continue;
    uint16_t h = fc_f32_to_f16(f);
    double fh = fc_f16_to_f32(h);
    if (isinf(fh)) {
      assert_true(fabs((double)f) >= 65520.0);
      continue;
    }
    /* no other half is strictly closer */
    uint16_t nb[2] = {(uint16_t)(h + 1), (uint16_t)(h - 1)};
    for (int k = 0; k < 2; k++) {
      double o = fc_f16_to_f32(nb[k]);
      if (isnan(o) || isinf(o) || ((nb[k] ^ h) & 0x8000)) continue;
      assert_true(fabs(o - f) >= fabs(fh - f));
      if (fabs(o - f) == fabs(fh - f)) assert_int_equal(h & 1, 0);
    }
  }
  assert_int_equal(fc_f32_to_f16(65504.0f), 0x7bff);
  assert_int_equal(fc_f32_to_f16(65520.0f), 0x7c00);
  assert_int_equal(fc_f32_to_f16(-0.0f), 0x8000);
  assert_int_equal(fc_f32_to_f16(5.9604644775390625e-8f), 1);
}

static void test_f16_array_matches_scalar(void **state) {
  (void)state;
  size_t sizes[] = {0, 1, 7, 8, 9, 1023, 65536 + 5};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    uint16_t *src = malloc((n + 1) * 2);
    float *a = malloc((n + 1) * 4), *b = malloc((n + 1) * 4);
    for (size_t i = 0; i < n; i++)
      src[i] = (uint16_t)(i * 2654435761u >> 7);
    fc_f16_to_f32_array(src, a, n);
    fc_f16_to_f32_array_scalar(src, b, n);
    assert_memory_equal(a, b, n * 4);
    free(src);
    free(a);
    free(b);
  }
}

static void test_bf16(void **state) {
  (void)state;
  assert_int_equal(fc_f32_to_bf16(1.0f), 0x3f80);
  assert_true(fc_bf16_to_f32(fc_f32_to_bf16(3.140625f)) == 3.140625f);
}

static void test_atomic_file(void **state) {
  (void)state;
  char dir[] = "/tmp/fc_core_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *path = fc_path_join(dir, "out.txt");
  fc_atomic_file f;
  fc_error e;
  assert_int_equal(fc_atomic_open(&f, path, &e), FC_OK);
  fputs("hello", f.fp);
  assert_false(fc_file_exists(path)); /* nothing visible before commit */
  assert_int_equal(fc_atomic_commit(&f, &e), FC_OK);
  char *data;
  size_t len;
  assert_int_equal(fc_read_file(path, 0, &data, &len, &e), FC_OK);
  assert_string_equal(data, "hello");
  free(data);
  /* abort leaves the old file */
  assert_int_equal(fc_atomic_open(&f, path, &e), FC_OK);
  fputs("partial", f.fp);
  fc_atomic_abort(&f);
  assert_int_equal(fc_read_file(path, 0, &data, &len, &e), FC_OK);
  assert_string_equal(data, "hello");
  free(data);
  /* unwritable folder: clear error naming the path */
  assert_int_equal(fc_atomic_open(&f, "/nonexistent-dir/x.txt", &e), FC_EIO);
  assert_non_null(strstr(e.msg, "/nonexistent-dir/x.txt"));
  unlink(path);
  rmdir(dir);
  free(path);
}

static void test_strmap(void **state) {
  (void)state;
  fc_strmap m;
  assert_int_equal(fc_strmap_init(&m, 0), FC_OK);
  char keys[5000][12];
  for (int i = 0; i < 5000; i++) {
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    assert_int_equal(fc_strmap_put(&m, keys[i], strlen(keys[i]), i, NULL), 1);
  }
  int64_t v = -1;
  assert_int_equal(fc_strmap_put(&m, "k17", 3, 99, &v), 0);
  assert_int_equal(v, 17);
  for (int i = 0; i < 5000; i++) {
    assert_true(fc_strmap_get(&m, keys[i], strlen(keys[i]), &v));
    assert_int_equal(v, i);
  }
  assert_false(fc_strmap_get(&m, "nope", 4, &v));
  assert_int_equal(m.n, 5000);
  fc_strmap_free(&m);
}

static void test_read_truncated_gzip(void **state) {
  (void)state;
  char path[] = "/tmp/fc_core_gz_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  gzFile g = gzopen(path, "wb");
  for (int i = 0; i < 20000; i++)
    gzprintf(g, "line %d of some text\n", i);
  gzclose(g);
  char *data;
  size_t len;
  fc_error e;
  assert_int_equal(fc_read_file(path, 1, &data, &len, &e), FC_OK);
  free(data);
  assert_int_equal(truncate(path, 3000), 0);
  assert_int_equal(fc_read_file(path, 1, &data, &len, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, path));
  unlink(path);
}

/* writes `text` to <dir>/<rel>, creating the folders on the way */
static void put(const char *dir, const char *rel, const char *text) {
  char path[1024], cmd[1100];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
  assert_int_equal(system(cmd), 0);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_cgroup_limits(void **state) {
  (void)state;
  char d[] = "/tmp/fc_cgroup_XXXXXX", proc[64], root[64];
  assert_non_null(mkdtemp(d));
  snprintf(proc, sizeof proc, "%s/proc_cgroup", d);
  snprintf(root, sizeof root, "%s/cg", d);
  /* v2: the tightest limit from the job's cgroup up to the root ("max" = none); quota 1.5 CPUs */
  put(d, "proc_cgroup", "0::/slurm/job1/step0\n");
  put(d, "cg/slurm/memory.max", "17179869184\n");
  put(d, "cg/slurm/job1/memory.max", "max\n");
  put(d, "cg/slurm/job1/step0/memory.max", "34359738368\n");
  put(d, "cg/slurm/job1/cpu.max", "150000 100000\n");
  put(d, "cg/slurm/cpu.max", "max 100000\n");
  assert_true(fc_cgroup_memory_limit_at(proc, root) == (size_t)17179869184ULL);
  assert_true(fabs(fc_cgroup_cpu_quota_at(proc, root) - 1.5) < 1e-12);
  /* damaged limit files are ignored, not trusted: garbage, empty, negative, trailing junk */
  put(d, "cg/slurm/memory.max", "lots\n");
  put(d, "cg/slurm/job1/memory.max", "");
  put(d, "cg/slurm/job1/step0/memory.max", "-5\n");
  put(d, "cg/slurm/job1/cpu.max", "150000\n");
  assert_true(fc_cgroup_memory_limit_at(proc, root) == SIZE_MAX);
  assert_true(fc_cgroup_cpu_quota_at(proc, root) == 0);
  put(d, "cg/slurm/job1/step0/memory.max", "1024x\n");
  put(d, "cg/slurm/job1/cpu.max", "100000 0x10\n");
  assert_true(fc_cgroup_memory_limit_at(proc, root) == SIZE_MAX);
  assert_true(fc_cgroup_cpu_quota_at(proc, root) == 0);
  put(d, "cg/slurm/job1/cpu.max", "100000 100000 junk\n");
  assert_true(fc_cgroup_cpu_quota_at(proc, root) == 0);
  /* a container's own namespace: path "/", the limit at the root */
  put(d, "proc_cgroup", "0::/\n");
  put(d, "cg/memory.max", "1000\n");
  assert_true(fc_cgroup_memory_limit_at(proc, root) == 1000);
  /* v1: the memory hierarchy among others; 2^63 - 4096 means unlimited */
  put(d, "proc_cgroup", "12:cpu,cpuacct:/x\n4:blkio,memory:/docker/abc\n1:name=systemd:/y\n");
  put(d, "cg/memory/docker/abc/memory.limit_in_bytes", "1073741824\n");
  put(d, "cg/memory/memory.limit_in_bytes", "9223372036854771712\n");
  assert_true(fc_cgroup_memory_limit_at(proc, root) == (size_t)1073741824);
  assert_true(fc_cgroup_cpu_quota_at(proc, root) == 0);
  put(d, "cg/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");
  assert_true(fc_cgroup_memory_limit_at(proc, root) == SIZE_MAX);
  /* no cgroup file at all, or one naming nothing we know: no limit */
  put(d, "proc_cgroup", "garbage without colons\n3:cpuset:/z\n");
  assert_true(fc_cgroup_memory_limit_at(proc, root) == SIZE_MAX);
  assert_true(fc_cgroup_memory_limit_at("/nonexistent/cgroup", root) == SIZE_MAX);
  assert_true(fc_cgroup_cpu_quota_at("/nonexistent/cgroup", root) == 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);

  /* this process: some memory, and threads = FANTASIA_THREADS, else at most the CPUs it may run on */
  assert_true(fc_memory_limit() > 0);
  assert_true(fc_process_rss() > 0 && fc_process_rss() < fc_memory_limit());
  const char *saved = getenv("FANTASIA_THREADS");
  char *keep = saved ? strdup(saved) : NULL;
  setenv("FANTASIA_THREADS", "7", 1);
  assert_int_equal(fc_num_threads(), 7);
  unsetenv("FANTASIA_THREADS");
  cpu_set_t set;
  int n = fc_num_threads();
  assert_true(n >= 1);
  if (sched_getaffinity(0, sizeof set, &set) == 0) assert_true(n <= CPU_COUNT(&set));
  if (keep) setenv("FANTASIA_THREADS", keep, 1);
  free(keep);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_one_line), cmocka_unit_test(test_f16_roundtrip_all),
      cmocka_unit_test(test_f16_rounding),   cmocka_unit_test(test_f16_array_matches_scalar),
      cmocka_unit_test(test_bf16),           cmocka_unit_test(test_atomic_file),
      cmocka_unit_test(test_strmap),         cmocka_unit_test(test_read_truncated_gzip),
      cmocka_unit_test(test_cgroup_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
