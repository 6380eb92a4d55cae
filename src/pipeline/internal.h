/* pipeline-internal declarations (not part of the public API) */
#ifndef FC_PIPELINE_INTERNAL_H
#define FC_PIPELINE_INTERNAL_H

#include "fantasia/embfile.h"
#include "fantasia/refdb.h"

/* MMseqs2 redundancy masking (FANTASIA spec §5.6): every reference sequence and every query are
 * clustered together; a query's cluster-mates among the references are masked from its hits. */
typedef struct fc_redundancy fc_redundancy;
fc_status fc_redundancy_run(const fc_embset *queries, const fc_refcatalog *cat, double identity,
                            double coverage, int threads, const char *work_dir, fc_redundancy **out,
                            fc_error *err);
/* Reference sequence ids in the same cluster as the query accession (borrowed; 0 when none). */
size_t fc_redundancy_members(const fc_redundancy *r, const char *accession, const int64_t **ids);
void fc_redundancy_free(fc_redundancy *r);

/* Run an external program (no shell) and wait; stdout/stderr go to log_path (appended). */
fc_status fc_spawn_wait(char *const argv[], const char *log_path, fc_error *err);

#endif
