/* Private to src/summarize: table layout and shared helpers. */
#ifndef FC_SUMMARIZE_INTERNAL_H
#define FC_SUMMARIZE_INTERNAL_H

#include <stdio.h>

#include "fantasia/summarize.h"

struct fc_raw_table {
  char *pool; /* NUL-terminated strings back to back */
  size_t pool_len, pool_cap;
  size_t *offs;   /* id -> offset in pool */
  uint32_t *lens; /* id -> length */
  size_t nstr, str_cap;
  uint32_t *slots; /* open-addressing hash of ids, UINT32_MAX = empty */
  size_t slot_cap;
  fc_raw_row *rows;
  size_t nrows, row_cap;
};

/* rank[id] = position in byte order among the strings used by the given row fields (offsetof of uint32_t
 * string-id members of fc_raw_row); UINT32_MAX for strings not used there. Caller frees; NULL on OOM. */
uint32_t *fc__string_ranks(const fc_raw_table *t, const size_t *fields, int nfields);
#define FC_RANK_FIELDS(...)                                                                                  \
  (const size_t[]){__VA_ARGS__}, (int)(sizeof((const size_t[]){__VA_ARGS__}) / sizeof(size_t))

/* Writes s as one CSV field (quoted when it holds sep, '"', CR or LF). */
void fc__put_csv_field(FILE *fp, const char *s, char sep);
/* Writes s as one TSV field, escaping '\\', TAB, LF, CR as \\\\, \\t, \\n, \\r. */
void fc__put_tsv_field(FILE *fp, const char *s);

/* "%.{prec}f" of x, or -1 when only printf can tell (near a tie, huge, NaN, prec > 9). buf: 40 bytes. */
int fc__fixed_fast(double x, int prec, char *buf);

#endif
