/* MMseqs2 redundancy masking, as FANTASIA does it (spec §5.6), without its id collisions:
 * references are written as "R<sequence id>" and queries as "Q<n>", so a numeric query
 * accession can never be mistaken for a reference. mmseqs is run directly (posix_spawnp). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fantasia/pipeline.h"
#include "pipeline/internal.h"

extern char **environ;

struct fc_redundancy {
  fc_strmap by_acc; /* query accession -> query number */
  char **accs;      /* query number -> accession (owned) */
  size_t n_q;
  int64_t **members; /* query number -> reference sequence ids in its cluster */
  size_t *n_members;
};

fc_status fc_spawn_wait(char *const argv[], const char *log_path, fc_error *err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (log_path) {
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    if (rc == ENOENT)
      return fc_error_set(err, FC_EEXTERNAL,
                          "'%s' is not installed or not on PATH (redundancy filtering needs MMseqs2: apt-get "
                          "install mmseqs2)",
                          argv[0]);
    return fc_error_set(err, FC_EEXTERNAL, "cannot start '%s': %s", argv[0], strerror(rc));
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return fc_error_set(err, FC_EEXTERNAL, "waiting for '%s': %s", argv[0], strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    /* quote the end of the tool's own output: the log lives in a folder that is removed */
    char tail[240] = "";
    char *data = NULL;
    size_t len = 0;
    if (log_path && fc_read_file(log_path, 0, &data, &len, NULL) == FC_OK && len) {
      size_t from = len > sizeof tail - 1 ? len - (sizeof tail - 1) : 0;
      snprintf(tail, sizeof tail, "%s", data + from);
    }
    free(data);
    return fc_error_set(err, FC_EEXTERNAL, "'%s %s' failed (exit %d): %s", argv[0], argv[1] ? argv[1] : "",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1, tail);
  }
  return FC_OK;
}

void fc_redundancy_free(fc_redundancy *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_q; i++) {
    free(r->accs[i]);
    free(r->members[i]);
  }
  free(r->accs);
  free(r->members);
  free(r->n_members);
  fc_strmap_free(&r->by_acc);
  free(r);
}

size_t fc_redundancy_members(const fc_redundancy *r, const char *accession, const int64_t **ids) {
  int64_t q;
  if (!r || !fc_strmap_get(&r->by_acc, accession, strlen(accession), &q)) {
    *ids = NULL;
    return 0;
  }
  *ids = r->members[q];
  return r->n_members[q];
}

static void rm_rf(const char *dir) {
  char *argv[] = {"rm", "-rf", (char *)dir, NULL};
  fc_spawn_wait(argv, NULL, NULL);
}

typedef struct {
  char *rep, *mem;
} pair_t;

fc_status fc_redundancy_run(const fc_embset *queries, const fc_refcatalog *cat, double identity,
                            double coverage, int threads, const char *work_dir, fc_redundancy **out,
                            fc_error *err) {
  *out = NULL;
  if (identity < 0 || identity > 1)
    return fc_error_set(err, FC_EINVAL, "redundancy identity must be in [0,1]");
  if (coverage <= 0 || coverage > 1)
    return fc_error_set(err, FC_EINVAL, "redundancy coverage must be in (0,1]");
  char tmpl[] = "/tmp/fantasia-mmseqs-XXXXXX";
  if (!mkdtemp(tmpl))
    return fc_error_set(err, FC_EIO, "cannot create a temporary folder: %s", strerror(errno));
  fc_status st = FC_OK;
  fc_redundancy *r = calloc(1, sizeof *r);
  char *fa = fc_path_join(tmpl, "redundancy.fasta"), *db = fc_path_join(tmpl, "seqDB"),
       *clu = fc_path_join(tmpl, "mmseqs_clu"), *tmpd = fc_path_join(tmpl, "mmseqs_tmp"),
       *tsv = fc_path_join(tmpl, "clusters.tsv"), *log = fc_path_join(tmpl, "mmseqs.log");
  char *data = NULL;
  pair_t *pairs = NULL;
  size_t n_pairs = 0;
  if (!r || fc_strmap_init(&r->by_acc, 1024) != FC_OK) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  FILE *fp = fopen(fa, "w");
  if (!fp) {
    st = fc_error_set(err, FC_EIO, "%s: cannot write: %s", fa, strerror(errno));
    goto out;
  }
  for (size_t i = 0; i < fc_refcatalog_count(cat); i++) {
    const fc_ref_sequence *rs = fc_refcatalog_at(cat, i);
    if (rs->sequence && rs->sequence[0]) fprintf(fp, ">R%lld\n%s\n", (long long)rs->id, rs->sequence);
  }
  for (size_t b = 0; b < queries->n_blocks; b++)
    for (size_t q = 0; q < queries->blocks[b].n; q++) {
      const char *acc = queries->blocks[b].accessions[q];
      const char *seq = queries->blocks[b].sequences[q];
      if (fc_strmap_get(&r->by_acc, acc, strlen(acc), NULL) || !seq || !*seq) continue;
      char **g = realloc(r->accs, (r->n_q + 1) * sizeof *g);
      if (!g) {
        fclose(fp);
        st = fc_error_set(err, FC_ENOMEM, "out of memory");
        goto out;
      }
      r->accs = g;
      r->accs[r->n_q] = fc_strdup(acc);
      fc_strmap_put(&r->by_acc, r->accs[r->n_q], strlen(acc), (int64_t)r->n_q, NULL);
      fprintf(fp, ">Q%zu\n%s\n", r->n_q, seq);
      r->n_q++;
    }
  if (fclose(fp) != 0) {
    st = fc_error_set(err, FC_EIO, "%s: write failed", fa);
    goto out;
  }
  r->members = calloc(r->n_q ? r->n_q : 1, sizeof *r->members);
  r->n_members = calloc(r->n_q ? r->n_q : 1, sizeof *r->n_members);
  char sid[32], scov[32], sthr[16];
  snprintf(sid, sizeof sid, "%g", identity);
  snprintf(scov, sizeof scov, "%g", coverage);
  snprintf(sthr, sizeof sthr, "%d", threads > 0 ? threads : fc_num_threads());
  fc_log_info(
      "redundancy: clustering %zu reference and %zu query sequences with MMseqs2 (identity %s, coverage %s)",
      fc_refcatalog_count(cat), r->n_q, sid, scov);
  char *a1[] = {"mmseqs", "createdb", fa, db, NULL};
  char *a2[] = {"mmseqs",     "cluster", db,   clu,  tmpd,        "--min-seq-id", sid,
                "--cov-mode", "1",       "-c", scov, "--threads", sthr,           NULL};
  char *a3[] = {"mmseqs", "createtsv", db, db, clu, tsv, NULL};
  if ((st = fc_spawn_wait(a1, log, err)) != FC_OK || (st = fc_spawn_wait(a2, log, err)) != FC_OK ||
      (st = fc_spawn_wait(a3, log, err)) != FC_OK)
    goto out;
  size_t len;
  if ((st = fc_read_file(tsv, 0, &data, &len, err)) != FC_OK) goto out;
  /* parse representative \t member lines */
  size_t cap = 1024;
  pairs = malloc(cap * sizeof *pairs);
  for (char *line = data; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    char *tab = strchr(line, '\t');
    if (tab) {
      *tab = '\0';
      if (n_pairs == cap) {
        cap *= 2;
        pair_t *g = realloc(pairs, cap * sizeof *pairs);
        if (!g) {
          st = fc_error_set(err, FC_ENOMEM, "out of memory");
          goto out;
        }
        pairs = g;
      }
      pairs[n_pairs].rep = line;
      pairs[n_pairs].mem = tab + 1;
      n_pairs++;
    }
    line = nl ? nl + 1 : NULL;
  }
  /* clusters.tsv for the user, with the original ids (sequence ids and query accessions) */
  if (work_dir) {
    char *outp = fc_path_join(work_dir, "clusters.tsv");
    fc_atomic_file af;
    if ((st = fc_atomic_open(&af, outp, err)) != FC_OK) {
      free(outp);
      goto out;
    }
    fputs("cluster\tidentifier\n", af.fp);
    for (size_t i = 0; i < n_pairs; i++) {
      const char *ids[2] = {pairs[i].rep, pairs[i].mem};
      for (int k = 0; k < 2; k++) {
        if (ids[k][0] == 'Q')
          fputs(r->accs[strtoul(ids[k] + 1, NULL, 10)], af.fp);
        else
          fputs(ids[k] + 1, af.fp);
        fputc(k ? '\n' : '\t', af.fp);
      }
    }
    st = fc_atomic_commit(&af, err);
    free(outp);
    if (st != FC_OK) goto out;
  }
  /* group members per representative: pairs come grouped by representative */
  for (size_t i = 0; i < n_pairs;) {
    size_t j = i;
    while (j < n_pairs && !strcmp(pairs[j].rep, pairs[i].rep))
      j++;
    size_t nref = 0;
    for (size_t x = i; x < j; x++)
      nref += pairs[x].mem[0] == 'R';
    for (size_t x = i; x < j; x++) {
      if (pairs[x].mem[0] != 'Q' || !nref) continue;
      size_t q = strtoul(pairs[x].mem + 1, NULL, 10);
      if (q >= r->n_q) continue;
      free(r->members[q]);
      r->members[q] = malloc(nref * sizeof(int64_t));
      r->n_members[q] = 0;
      for (size_t y = i; y < j; y++)
        if (pairs[y].mem[0] == 'R') r->members[q][r->n_members[q]++] = strtoll(pairs[y].mem + 1, NULL, 10);
    }
    i = j;
  }
  for (size_t q = 0; q < r->n_q; q++)
    if (!r->n_members[q]) fc_log_debug("redundancy: query %s shares no cluster with a reference", r->accs[q]);
out:
  free(pairs);
  free(data);
  rm_rf(tmpl);
  free(fa);
  free(db);
  free(clu);
  free(tmpd);
  free(tsv);
  free(log);
  if (st != FC_OK) {
    fc_redundancy_free(r);
    return st;
  }
  *out = r;
  return FC_OK;
}
