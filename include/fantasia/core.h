/* fantasia.c — core: errors, logging, progress, atomic files, fp16, aligned memory.
 *
 * Contract for every module: library functions never exit and never print to stdout.
 * They return an fc_status and, on failure, fill the caller's fc_error (may be NULL)
 * with a one-line message naming file, record and cause.
 * Logging goes to stderr only and is the CLI's choice of verbosity (fc_log_set_level).
 */
#ifndef FANTASIA_CORE_H
#define FANTASIA_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  FC_OK = 0,
  FC_EINVAL,       /* bad argument or bad user input (config, option) */
  FC_EIO,          /* file cannot be opened, read, written or renamed */
  FC_ENOMEM,       /* allocation failed */
  FC_EFORMAT,      /* malformed or truncated file content */
  FC_ENOTFOUND,    /* a named thing (model, layer, record, file) does not exist */
  FC_EUNSUPPORTED, /* valid input we do not handle */
  FC_EEXTERNAL,    /* an external program or library failed */
  FC_EMISMATCH,    /* inputs disagree (dimensions, models, pooling) */
  FC_EDUPLICATE    /* duplicate key where uniqueness is required */
} fc_status;

#define FC_ERROR_MSG_MAX 1024

typedef struct {
  fc_status code;
  char msg[FC_ERROR_MSG_MAX];
} fc_error;

/* Fill err (if non-NULL) and return code. printf-style message, one line, no trailing newline. */
fc_status fc_error_set(fc_error *err, fc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fc_error_clear(fc_error *err);
const char *fc_status_name(fc_status code);
/* Process exit code the CLI uses for a status: 0 ok, 2 usage/input, 3 io, 4 format, 1 other. */
int fc_status_exit_code(fc_status code);

/* ---- logging (stderr) ---- */
typedef enum { FC_LOG_ERROR = 0, FC_LOG_WARN = 1, FC_LOG_INFO = 2, FC_LOG_DEBUG = 3 } fc_log_level;
void fc_log_set_level(fc_log_level level);
fc_log_level fc_log_get_level(void);
void fc_log(fc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define fc_log_error(...) fc_log(FC_LOG_ERROR, __VA_ARGS__)
#define fc_log_warn(...) fc_log(FC_LOG_WARN, __VA_ARGS__)
#define fc_log_info(...) fc_log(FC_LOG_INFO, __VA_ARGS__)
#define fc_log_debug(...) fc_log(FC_LOG_DEBUG, __VA_ARGS__)

/* ---- progress bar on a terminal (stderr is a tty and log level >= info); silent otherwise ---- */
typedef struct fc_progress fc_progress;
fc_progress *fc_progress_start(const char *label, uint64_t total);
void fc_progress_update(fc_progress *p, uint64_t done); /* thread-safe, rate-limited redraw */
void fc_progress_add(fc_progress *p, uint64_t delta);   /* thread-safe increment */
void fc_progress_finish(fc_progress *p);                /* frees p; NULL is fine */

/* ---- atomic output files: write to "<path>.tmp.<pid>", fsync, rename on commit ---- */
typedef struct {
  FILE *fp;
  char *path;
  char *tmp_path;
} fc_atomic_file;
fc_status fc_atomic_open(fc_atomic_file *f, const char *path, fc_error *err);
/* Flushes, fsyncs, closes and renames. On failure the temporary file is removed. */
fc_status fc_atomic_commit(fc_atomic_file *f, fc_error *err);
/* Closes and removes the temporary file (no-op on a zeroed or committed struct). */
void fc_atomic_abort(fc_atomic_file *f);
/* Temporary name for writers that cannot use a FILE* (HDF5, SQLite): "<path>.tmp.<pid>". Caller frees. */
char *fc_tmp_path_for(const char *path);
/* fsync + rename tmp to path; removes tmp on failure. */
fc_status fc_commit_tmp(const char *tmp_path, const char *path, fc_error *err);

/* ---- filesystem helpers ---- */
fc_status fc_mkdir_p(const char *path, fc_error *err);
int fc_file_exists(const char *path);
/* Reads a whole file (gzip-transparent if gz != 0) into a NUL-terminated buffer. Caller frees. */
fc_status fc_read_file(const char *path, int gz, char **data, size_t *len, fc_error *err);
char *fc_path_join(const char *a, const char *b); /* caller frees */

/* ---- strings ---- */
char *fc_strdup(const char *s);
char *fc_strndup(const char *s, size_t n);
char *fc_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* caller frees */

/* ---- half precision (IEEE binary16), round-to-nearest-even, our own conversion ----
 * HDF5 1.10's f32->f16 conversion is wrong for some values, so fp16 is converted here
 * and stored as raw bits. */
uint16_t fc_f32_to_f16(float f);
float fc_f16_to_f32(uint16_t h);
void fc_f16_to_f32_array(const uint16_t *src, float *dst, size_t n); /* F16C when the CPU has it */
void fc_f16_to_f32_array_scalar(const uint16_t *src, float *dst, size_t n);
void fc_f32_to_f16_array(const float *src, uint16_t *dst, size_t n);
/* bf16 (top 16 bits of f32), round-to-nearest-even */
uint16_t fc_f32_to_bf16(float f);
float fc_bf16_to_f32(uint16_t h);

/* ---- memory: 64-byte aligned, free with fc_aligned_free ---- */
void *fc_aligned_alloc(size_t bytes);
void fc_aligned_free(void *p);

/* ---- what this process may use of the machine (src/core/sysres.c) ---- */
/* Worker count: FANTASIA_THREADS env (read on every call), else the CPUs this process may run on: its
 * affinity mask (taskset, Slurm's cpuset) capped by a cgroup v2 CPU quota (cpu.max, e.g. `docker --cpus
 * 1.5`: 2), at least 1, read at the first call. */
int fc_num_threads(void);
/* Bytes of memory this process may use: the physical RAM capped by its cgroup's memory limit (v2
 * memory.max, v1 memory.limit_in_bytes; the tightest from its cgroup up to the root), since a Slurm job or
 * a container sees the node's RAM but is killed at its limit. 0 when unknown. */
size_t fc_memory_limit(void);
/* Resident memory of this process now (/proc/self/statm), 0 when unknown. */
size_t fc_process_rss(void);
/* The cgroup parts, readable from any root (tests): the memory limit in bytes (SIZE_MAX: none) and the CPU
 * quota in CPUs (0: none) for the cgroups named by a /proc/self/cgroup-style file, under a cgroup mount
 * root (v2 files at <root><path>/, v1 memory at <root>/memory<path>/). */
size_t fc_cgroup_memory_limit_at(const char *proc_cgroup, const char *root);
double fc_cgroup_cpu_quota_at(const char *proc_cgroup, const char *root);

/* ---- string -> int64 hash map (open addressing, FNV-1a). Keys are BORROWED: the caller keeps
 * them alive and unchanged while they are in the map. Not thread-safe for writers. ---- */
typedef struct {
  const char **keys;
  size_t *lens;
  int64_t *vals;
  size_t cap, n;
} fc_strmap;
fc_status fc_strmap_init(fc_strmap *m, size_t expected);
void fc_strmap_free(fc_strmap *m);
/* Insert key -> val. If the key exists, leaves it and returns its value in *existing (if non-NULL) and 0;
 * returns 1 when inserted, -1 on allocation failure. */
int fc_strmap_put(fc_strmap *m, const char *key, size_t len, int64_t val, int64_t *existing);
/* Returns 1 and sets *val when found, else 0. */
int fc_strmap_get(const fc_strmap *m, const char *key, size_t len, int64_t *val);
uint64_t fc_hash_bytes(const void *data, size_t len);

/* ---- time ---- */
double fc_now_seconds(void); /* monotonic */

#ifdef __cplusplus
}
#endif
#endif
