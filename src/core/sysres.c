/* What this process may use of the machine: CPUs (fc_num_threads) and memory (fc_memory_limit).
 *
 * sysconf alone reports the whole node: a Slurm job, a taskset or a container sees every CPU and all of
 * the RAM there, yet runs on its allocated CPUs (affinity mask, cpuset) or under a CPU quota (cgroup v2
 * cpu.max, `docker --cpus`), and is killed at its cgroup's memory limit. Starting 128 threads on a
 * 4-CPU allocation, or budgeting half of a 1 TB node for a job granted 16 GB, is what this avoids. The
 * cgroup files are read directly: no Debian library covers them (libcgroup manages hierarchies, it
 * does not answer "what is my limit"), and the format is two lines of text. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fantasia/core.h"

/* One line from `path` into buf (newline stripped); 0 when unreadable or empty. */
static int read_line(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int ok = fgets(buf, (int)n, f) != NULL;
  fclose(f);
  if (!ok) return 0;
  buf[strcspn(buf, "\n")] = 0;
  return buf[0] != 0;
}

/* The cgroup path of the v2 entry ("0::/path") or of the v1 hierarchy listing `controller`
 * ("N:cpu,memory:/path") of a /proc/self/cgroup-style file, into out; 0 when absent. */
static int cgroup_path(const char *proc_cgroup, const char *controller, char *out, size_t n) {
  FILE *f = fopen(proc_cgroup, "r");
  if (!f) return 0;
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || c2[1] != '/') continue;
    *c1 = *c2 = 0; /* line: the hierarchy id; ctrls: its controllers; c2 + 1: the path */
    const char *ctrls = c1 + 1;
    if (!controller) {
      found = strcmp(line, "0") == 0 && ctrls[0] == 0;
    } else {
      char tmp[1024], *save = NULL;
      snprintf(tmp, sizeof tmp, "%s", ctrls);
      for (char *t = strtok_r(tmp, ",", &save); t && !found; t = strtok_r(NULL, ",", &save))
        found = strcmp(t, controller) == 0;
    }
    if (found) snprintf(out, n, "%s", c2 + 1);
  }
  fclose(f);
  return found;
}

/* Calls fn on <dir><path>/<file> for path and each parent up to "/" (a limit set on a parent binds the
 * children too); fn returns the tighter of its current value and the file's. */
typedef double (*limit_fn)(const char *file_path, double cur);
static double walk_up(const char *dir, const char *path, const char *file, limit_fn fn, double cur) {
  char p[4096], full[8192];
  snprintf(p, sizeof p, "%s", path);
  for (;;) {
    size_t l = strlen(p);
    while (l > 1 && p[l - 1] == '/')
      p[--l] = 0;
    snprintf(full, sizeof full, "%s%s%s%s", dir, strcmp(p, "/") ? p : "", "/", file);
    cur = fn(full, cur);
    if (l <= 1) break;
    char *s = strrchr(p, '/');
    if (s == p)
      p[1] = 0;
    else if (s)
      *s = 0;
    else
      break;
  }
  return cur;
}

/* A decimal integer as cgroup files write them: digits only (no sign, hex, exponent or spaces); -1 when
 * there are none. *end: the first character after them. */
static double parse_digits(const char *s, const char **end) {
  double v = 0;
  const char *p = s;
  while (*p >= '0' && *p <= '9')
    v = v * 10 + (*p++ - '0');
  *end = p;
  return p == s ? -1 : v;
}

/* memory.max ("max" or bytes) / memory.limit_in_bytes (bytes; >= 2^62: unlimited) */
static double mem_file(const char *path, double cur) {
  char b[128];
  if (!read_line(path, b, sizeof b) || !strcmp(b, "max")) return cur;
  const char *end;
  double v = parse_digits(b, &end);
  if (*end || !(v > 0) || v >= 4.6e18) return cur;
  return v < cur ? v : cur;
}

size_t fc_cgroup_memory_limit_at(const char *proc_cgroup, const char *root) {
  char path[4096], dir[4096];
  double lim = INFINITY;
  if (cgroup_path(proc_cgroup, NULL, path, sizeof path))
    lim = walk_up(root, path, "memory.max", mem_file, lim);
  if (cgroup_path(proc_cgroup, "memory", path, sizeof path)) {
    snprintf(dir, sizeof dir, "%s/memory", root);
    lim = walk_up(dir, path, "memory.limit_in_bytes", mem_file, lim);
  }
  return lim < (double)SIZE_MAX ? (size_t)lim : SIZE_MAX;
}

/* cpu.max: "max 100000" or "<quota> <period>" -> CPUs */
static double cpu_file(const char *path, double cur) {
  char b[128];
  if (!read_line(path, b, sizeof b) || !strncmp(b, "max", 3)) return cur;
  const char *end;
  double q = parse_digits(b, &end), per;
  if (*end != ' ') return cur;
  per = parse_digits(end + 1, &end);
  if (*end || !(q > 0) || !(per > 0)) return cur;
  return q / per < cur ? q / per : cur;
}

double fc_cgroup_cpu_quota_at(const char *proc_cgroup, const char *root) {
  char path[4096];
  double q = INFINITY;
  if (cgroup_path(proc_cgroup, NULL, path, sizeof path)) q = walk_up(root, path, "cpu.max", cpu_file, q);
  return q < INFINITY ? q : 0;
}

/* The CPUs this process may use, read once (a cgroup walk costs ~50 µs and fc_num_threads() is called
 * per kernel call). */
static int usable_cpus;
static void read_usable_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) n = CPU_COUNT(&set);
  double q = fc_cgroup_cpu_quota_at("/proc/self/cgroup", "/sys/fs/cgroup");
  if (q > 0 && (double)n > q) n = (long)q + ((double)(long)q < q); /* a quota of 1.5 CPUs: 2 threads */
  usable_cpus = n > 0 ? (int)n : 1;
}

int fc_num_threads(void) {
  const char *e = getenv("FANTASIA_THREADS");
  if (e && atoi(e) > 0) return atoi(e);
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, read_usable_cpus);
  return usable_cpus;
}

size_t fc_process_rss(void) {
  char b[256];
  unsigned long long size = 0, res = 0;
  long psz = sysconf(_SC_PAGE_SIZE);
  if (!read_line("/proc/self/statm", b, sizeof b) || sscanf(b, "%llu %llu", &size, &res) != 2 || psz <= 0)
    return 0;
  return (size_t)res * (size_t)psz;
}

size_t fc_memory_limit(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGE_SIZE);
  size_t ram = pages > 0 && psz > 0 ? (size_t)pages * (size_t)psz : 0;
  size_t cg = fc_cgroup_memory_limit_at("/proc/self/cgroup", "/sys/fs/cgroup"); /* SIZE_MAX: none */
  if (cg == SIZE_MAX) return ram;
  return ram && ram < cg ? ram : cg;
}
