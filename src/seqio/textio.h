/* fantasia.c — internal text input helpers shared by the parsers (seqio, go, taxonomy).
 *
 * fc_lines: a streaming line reader over a plain or gzip file (gzip detected by the magic bytes
 * 1f 8b, not by the file name). Lines come back NUL-terminated without "\n" and without a trailing
 * "\r" (CRLF files read like LF files); the last line may lack a final newline. A truncated or
 * damaged gzip stream is an FC_EFORMAT error naming the file (zlib's gzread on its own tolerates a
 * truncated stream, so fc_lines checks gzerror at the end).
 *
 * fc_txmap: an open-addressing hash map from byte strings to int32 values. Keys are borrowed
 * pointers: the caller keeps them alive (and unchanged) as long as the map lives. Why our own:
 * Debian has no small C library for a string->index map that does not copy keys or allocate per
 * entry (glib's GHashTable would be a new dependency; hsearch_r cannot grow and needs NUL-terminated
 * keys). This one is 100 lines and does one allocation per resize.
 *
 * Not public API: include "seqio/textio.h" from src/ only.
 */
#ifndef FC_SEQIO_TEXTIO_H
#define FC_SEQIO_TEXTIO_H

#include "fantasia/core.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fc_lines fc_lines;

fc_status fc_lines_open(const char *path, fc_lines **out, fc_error *err);
/* 1: a line in *line (length *len, NUL-terminated, writable until the next call); 0: end of file;
 * -1: error, err filled. */
int fc_lines_next(fc_lines *lr, char **line, size_t *len, fc_error *err);
size_t fc_lines_lineno(const fc_lines *lr); /* 1-based number of the line last returned */
int fc_lines_is_gzip(const fc_lines *lr);
void fc_lines_close(fc_lines *lr);

/* 64-bit hash of n bytes (8 bytes per step, multiply-xorshift mixing). */
uint64_t fc_tx_hash(const void *data, size_t n);

typedef struct {
  const char *key;
  size_t klen;
  uint64_t hash;
  int32_t value;
} fc_txmap_slot;

typedef struct {
  fc_txmap_slot *slots; /* key == NULL: empty */
  size_t cap;            /* power of two */
  size_t n;
} fc_txmap;

void fc_txmap_init(fc_txmap *m);
void fc_txmap_free(fc_txmap *m);
/* Value of key or -1. */
int32_t fc_txmap_get(const fc_txmap *m, const char *key, size_t klen);
/* Insert key -> value unless present. Returns the value already stored (key present, nothing
 * changed), or -1 when inserted; -2 when out of memory. */
int32_t fc_txmap_put(fc_txmap *m, const char *key, size_t klen, int32_t value);
/* Same with a precomputed hash (fc_tx_hash(key, klen)). */
int32_t fc_txmap_put_h(fc_txmap *m, const char *key, size_t klen, uint64_t h, int32_t value);

/* fc_arena: append-only string storage in 256 KiB blocks; strings never move; freed all at once. */
typedef struct fc_arena_block fc_arena_block;
typedef struct {
  fc_arena_block *head;
  char *cur;
  size_t left;
} fc_arena;
void fc_arena_init(fc_arena *a);
/* Copy of s[0..n) plus NUL; NULL when out of memory. */
char *fc_arena_strndup(fc_arena *a, const char *s, size_t n);
void fc_arena_free(fc_arena *a);

#endif
