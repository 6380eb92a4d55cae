#include "fantasia/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

char *fc_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

char *fc_strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *fc_sprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *out = NULL;
  if (vasprintf(&out, fmt, ap) < 0) out = NULL;
  va_end(ap);
  return out;
}

char *fc_path_join(const char *a, const char *b) {
  if (!a || !*a) return fc_strdup(b);
  size_t la = strlen(a);
  return fc_sprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

int fc_file_exists(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0;
}

fc_status fc_mkdir_p(const char *path, fc_error *err) {
  char *buf = fc_strdup(path);
  if (!buf) return fc_error_set(err, FC_ENOMEM, "out of memory");
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        fc_status st = fc_error_set(err, FC_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        free(buf);
        return st;
      }
      *p = c;
      if (c == '\0') break;
    }
  }
  struct stat s;
  if (stat(path, &s) != 0 || !S_ISDIR(s.st_mode)) {
    free(buf);
    return fc_error_set(err, FC_EIO, "%s: not a directory", path);
  }
  free(buf);
  return FC_OK;
}

char *fc_tmp_path_for(const char *path) {
  return fc_sprintf("%s.tmp.%ld", path, (long)getpid());
}

fc_status fc_commit_tmp(const char *tmp_path, const char *path, fc_error *err) {
  int fd = open(tmp_path, O_RDONLY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  if (rename(tmp_path, path) != 0) {
    fc_status st =
        fc_error_set(err, FC_EIO, "%s: cannot rename temporary file into place: %s", path, strerror(errno));
    unlink(tmp_path);
    return st;
  }
  return FC_OK;
}

fc_status fc_atomic_open(fc_atomic_file *f, const char *path, fc_error *err) {
  memset(f, 0, sizeof *f);
  f->path = fc_strdup(path);
  f->tmp_path = fc_tmp_path_for(path);
  if (!f->path || !f->tmp_path) {
    fc_atomic_abort(f);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  f->fp = fopen(f->tmp_path, "wb");
  if (!f->fp) {
    fc_status st = fc_error_set(err, FC_EIO, "%s: cannot write: %s", path, strerror(errno));
    free(f->path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
    return st;
  }
  return FC_OK;
}

fc_status fc_atomic_commit(fc_atomic_file *f, fc_error *err) {
  if (!f->fp) return fc_error_set(err, FC_EINVAL, "atomic file not open");
  int bad = fflush(f->fp) != 0 || ferror(f->fp);
  if (!bad) bad = fsync(fileno(f->fp)) != 0;
  int saved = errno;
  bad |= fclose(f->fp) != 0;
  f->fp = NULL;
  fc_status st = FC_OK;
  if (bad) {
    st = fc_error_set(err, FC_EIO, "%s: write failed: %s", f->path, strerror(saved ? saved : EIO));
    unlink(f->tmp_path);
  } else if (rename(f->tmp_path, f->path) != 0) {
    st = fc_error_set(err, FC_EIO, "%s: cannot rename temporary file into place: %s", f->path,
                      strerror(errno));
    unlink(f->tmp_path);
  }
  free(f->path);
  free(f->tmp_path);
  memset(f, 0, sizeof *f);
  return st;
}

void fc_atomic_abort(fc_atomic_file *f) {
  if (!f) return;
  if (f->fp) {
    fclose(f->fp);
    f->fp = NULL;
  }
  if (f->tmp_path) unlink(f->tmp_path);
  free(f->path);
  free(f->tmp_path);
  memset(f, 0, sizeof *f);
}

fc_status fc_read_file(const char *path, int gz, char **data, size_t *len, fc_error *err) {
  *data = NULL;
  if (len) *len = 0;
  gzFile g = NULL;
  FILE *fp = NULL;
  if (gz) {
    g = gzopen(path, "rb");
    if (!g) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(g, 1 << 20);
  } else {
    fp = fopen(path, "rb");
    if (!fp) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno));
  }
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap + 1);
  if (!buf) goto nomem;
  for (;;) {
    if (n == cap) {
      cap *= 2;
      char *nb = realloc(buf, cap + 1);
      if (!nb) goto nomem;
      buf = nb;
    }
    long r;
    if (g) {
      r = gzread(g, buf + n, (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n));
      if (r < 0) {
        int zerr;
        const char *m = gzerror(g, &zerr);
        fc_error_set(err, FC_EFORMAT, "%s: gzip stream is damaged: %s", path, m);
        free(buf);
        gzclose(g);
        return FC_EFORMAT;
      }
    } else {
      r = (long)fread(buf + n, 1, cap - n, fp);
      if (r == 0 && ferror(fp)) {
        fc_error_set(err, FC_EIO, "%s: read failed", path);
        free(buf);
        fclose(fp);
        return FC_EIO;
      }
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  if (g && gzclose(g) == Z_BUF_ERROR) { /* the stream ended inside a gzip member */
    free(buf);
    return fc_error_set(err, FC_EFORMAT, "%s: gzip stream is truncated", path);
  }
  if (fp) fclose(fp);
  buf[n] = '\0';
  *data = buf;
  if (len) *len = n;
  return FC_OK;
nomem:
  free(buf);
  if (g) gzclose(g);
  if (fp) fclose(fp);
  return fc_error_set(err, FC_ENOMEM, "%s: out of memory reading file", path);
}

double fc_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *fc_aligned_alloc(size_t bytes) {
  void *p = NULL;
  if (bytes == 0) bytes = 64;
  if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
  return p;
}

void fc_aligned_free(void *p) {
  free(p);
}
