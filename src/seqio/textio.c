/* Internal text input helpers: streaming line reader (plain or gzip) and a string hash map. */
#include "seqio/textio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FC_LINES_BUF (1u << 20)

struct fc_lines {
  char *path;
  FILE *fp;
  gzFile gz;
  char *buf;
  size_t cap, pos, end;
  int eof;
  size_t lineno;
};

fc_status fc_lines_open(const char *path, fc_lines **out, fc_error *err) {
  *out = NULL;
  FILE *fp = fopen(path, "rb");
  if (!fp) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno));
  unsigned char magic[2] = {0, 0};
  size_t got = fread(magic, 1, 2, fp);
  int is_gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  fc_lines *lr = calloc(1, sizeof *lr);
  if (!lr) {
    fclose(fp);
    return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  lr->path = fc_strdup(path);
  lr->cap = FC_LINES_BUF;
  lr->buf = malloc(lr->cap + 1);
  if (!lr->path || !lr->buf) {
    fclose(fp);
    fc_lines_close(lr);
    return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  if (is_gz) {
    fclose(fp);
    lr->gz = gzopen(path, "rb");
    if (!lr->gz) {
      fc_lines_close(lr);
      return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    }
    gzbuffer(lr->gz, 1u << 18);
  } else {
    rewind(fp);
    lr->fp = fp;
  }
  *out = lr;
  return FC_OK;
}

int fc_lines_is_gzip(const fc_lines *lr) {
  return lr->gz != NULL;
}
size_t fc_lines_lineno(const fc_lines *lr) {
  return lr->lineno;
}

void fc_lines_close(fc_lines *lr) {
  if (!lr) return;
  if (lr->fp) fclose(lr->fp);
  if (lr->gz) gzclose(lr->gz);
  free(lr->buf);
  free(lr->path);
  free(lr);
}

/* gzerror's message starts with "<path>: "; drop that (our messages name the file already). */
static const char *gz_msg(fc_lines *lr) {
  int zerr = 0;
  const char *m = gzerror(lr->gz, &zerr);
  size_t n = strlen(lr->path);
  if (m && strncmp(m, lr->path, n) == 0 && m[n] == ':' && m[n + 1] == ' ') m += n + 2;
  return m ? m : "unknown zlib error";
}

/* Refill: keep [pos,end), append more bytes. Returns 0 ok (maybe eof set), -1 error. */
static int lines_fill(fc_lines *lr, fc_error *err) {
  if (lr->pos > 0) {
    memmove(lr->buf, lr->buf + lr->pos, lr->end - lr->pos);
    lr->end -= lr->pos;
    lr->pos = 0;
  }
  if (lr->end == lr->cap) {
    size_t ncap = lr->cap * 2;
    char *nb = realloc(lr->buf, ncap + 1);
    if (!nb) {
      fc_error_set(err, FC_ENOMEM, "%s: out of memory (line %zu longer than %zu bytes)", lr->path,
                   lr->lineno + 1, lr->cap);
      return -1;
    }
    lr->buf = nb;
    lr->cap = ncap;
  }
  size_t want = lr->cap - lr->end;
  if (lr->gz) {
    if (want > (1u << 30)) want = 1u << 30;
    int r = gzread(lr->gz, lr->buf + lr->end, (unsigned)want);
    if (r < 0) {
      fc_error_set(err, FC_EFORMAT, "%s: gzip stream is damaged near line %zu: %s", lr->path, lr->lineno + 1,
                   gz_msg(lr));
      return -1;
    }
    if (r == 0) {
      int zerr = 0;
      (void)gzerror(lr->gz, &zerr);
      if (zerr != Z_OK) {
        fc_error_set(err, FC_EFORMAT, "%s: gzip stream is truncated or damaged after line %zu: %s", lr->path,
                     lr->lineno, gz_msg(lr));
        return -1;
      }
      lr->eof = 1;
    }
    lr->end += (size_t)r;
  } else {
    size_t r = fread(lr->buf + lr->end, 1, want, lr->fp);
    if (r == 0) {
      if (ferror(lr->fp)) {
        fc_error_set(err, FC_EIO, "%s: read failed after line %zu", lr->path, lr->lineno);
        return -1;
      }
      lr->eof = 1;
    }
    lr->end += r;
  }
  return 0;
}

int fc_lines_next(fc_lines *lr, char **line, size_t *len, fc_error *err) {
  size_t scan = lr->pos;
  for (;;) {
    char *nl = lr->end > scan ? memchr(lr->buf + scan, '\n', lr->end - scan) : NULL;
    if (nl) {
      char *s = lr->buf + lr->pos;
      size_t n = (size_t)(nl - s);
      lr->pos += n + 1;
      if (n > 0 && s[n - 1] == '\r') n--;
      s[n] = '\0';
      *line = s;
      *len = n;
      lr->lineno++;
      return 1;
    }
    if (lr->eof) {
      if (lr->pos >= lr->end) return 0;
      char *s = lr->buf + lr->pos; /* last line without final newline; buf has cap+1 bytes */
      size_t n = lr->end - lr->pos;
      lr->pos = lr->end;
      if (n > 0 && s[n - 1] == '\r') n--;
      s[n] = '\0';
      *line = s;
      *len = n;
      lr->lineno++;
      return 1;
    }
    size_t scanned = lr->end - lr->pos;
    if (lines_fill(lr, err) != 0) return -1;
    scan = lr->pos + scanned;
  }
}

/* ---- hashing ---- */

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ull;
  x ^= x >> 32;
  return x;
}

uint64_t fc_tx_hash(const void *data, size_t n) {
  const unsigned char *p = data;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, p, n);
  h = (h ^ w ^ ((uint64_t)n << 56)) * 0x94d049bb133111ebull;
  return mix64(h);
}

void fc_txmap_init(fc_txmap *m) {
  memset(m, 0, sizeof *m);
}

void fc_txmap_free(fc_txmap *m) {
  free(m->slots);
  memset(m, 0, sizeof *m);
}

int32_t fc_txmap_get(const fc_txmap *m, const char *key, size_t klen) {
  if (!m->cap) return -1;
  uint64_t h = fc_tx_hash(key, klen);
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    const fc_txmap_slot *s = &m->slots[i];
    if (!s->key) return -1;
    if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0) return s->value;
  }
}

static int strmap_grow(fc_txmap *m) {
  size_t ncap = m->cap ? m->cap * 2 : 64;
  fc_txmap_slot *ns = calloc(ncap, sizeof *ns);
  if (!ns) return -1;
  for (size_t i = 0; i < m->cap; i++) {
    fc_txmap_slot *s = &m->slots[i];
    if (!s->key) continue;
    size_t j = (size_t)s->hash & (ncap - 1);
    while (ns[j].key)
      j = (j + 1) & (ncap - 1);
    ns[j] = *s;
  }
  free(m->slots);
  m->slots = ns;
  m->cap = ncap;
  return 0;
}

int32_t fc_txmap_put_h(fc_txmap *m, const char *key, size_t klen, uint64_t h, int32_t value) {
  if ((m->n + 1) * 4 > m->cap * 3 && strmap_grow(m) != 0) return -2; /* load <= 0.75 */
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    fc_txmap_slot *s = &m->slots[i];
    if (!s->key) {
      s->key = key;
      s->klen = klen;
      s->hash = h;
      s->value = value;
      m->n++;
      return -1;
    }
    if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0) return s->value;
  }
}

int32_t fc_txmap_put(fc_txmap *m, const char *key, size_t klen, int32_t value) {
  return fc_txmap_put_h(m, key, klen, fc_tx_hash(key, klen), value);
}

/* ---- arena ---- */

struct fc_arena_block {
  fc_arena_block *next;
  char data[];
};

#define FC_ARENA_BLOCK (256u << 10)

void fc_arena_init(fc_arena *a) {
  memset(a, 0, sizeof *a);
}

char *fc_arena_strndup(fc_arena *a, const char *s, size_t n) {
  if (n + 1 > a->left) {
    size_t sz = n + 1 > FC_ARENA_BLOCK / 4 ? n + 1 : FC_ARENA_BLOCK;
    fc_arena_block *b = malloc(sizeof *b + sz);
    if (!b) return NULL;
    if (sz == FC_ARENA_BLOCK || !a->head) {
      b->next = a->head;
      a->head = b;
      a->cur = b->data;
      a->left = sz;
    } else { /* a big string gets its own block; keep filling the current one */
      b->next = a->head->next;
      a->head->next = b;
      memcpy(b->data, s, n);
      b->data[n] = '\0';
      return b->data;
    }
  }
  char *d = a->cur;
  memcpy(d, s, n);
  d[n] = '\0';
  a->cur += n + 1;
  a->left -= n + 1;
  return d;
}

void fc_arena_free(fc_arena *a) {
  fc_arena_block *b = a->head;
  while (b) {
    fc_arena_block *nx = b->next;
    free(b);
    b = nx;
  }
  memset(a, 0, sizeof *a);
}
