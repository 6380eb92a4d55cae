/* fantasia.c — taxonomy: NCBI taxonomy tree from nodes.dmp (plain or gzip).
 *
 * nodes.dmp lines are fields separated by "\t|\t" and end with "\t|"; only the first two fields
 * (tax_id, parent tax_id) are read. The root is the node whose parent is itself (NCBI: 1). Load
 * fails cleanly (FC_EFORMAT naming the line) on a non-numeric id, a missing separator, a parent
 * that is not in the file, or a cycle; a repeated tax_id is FC_EDUPLICATE naming both lines.
 */
#ifndef FANTASIA_TAXONOMY_H
#define FANTASIA_TAXONOMY_H

#include "fantasia/core.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fc_taxonomy fc_taxonomy;

fc_status fc_taxonomy_load(const char *path, fc_taxonomy **out, fc_error *err);
void fc_taxonomy_free(fc_taxonomy *t);
size_t fc_taxonomy_count(const fc_taxonomy *t);
int fc_taxonomy_contains(const fc_taxonomy *t, int64_t tax);
/* Parent tax id (the root returns itself); -1 if tax is unknown. */
int64_t fc_taxonomy_parent(const fc_taxonomy *t, int64_t tax);
/* 1 if tax is ancestor or lies below it (tax == ancestor counts), else 0. An id missing from the
 * taxonomy is a descendant of itself only. */
int fc_taxonomy_is_descendant(const fc_taxonomy *t, int64_t tax, int64_t ancestor);
/* All descendants of ids[0..n) including the ids themselves, sorted ascending, unique. Ids missing
 * from the taxonomy are kept as themselves. *out is malloc'ed (caller frees; NULL when *n_out == 0).
 * Returns FC_OK or FC_ENOMEM. */
fc_status fc_taxonomy_expand(const fc_taxonomy *t, const int64_t *ids, size_t n, int64_t **out,
                             size_t *n_out);

#ifdef __cplusplus
}
#endif
#endif
