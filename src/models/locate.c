/* Model folders: from a FANTASIA model name (ESM, Prot-T5, ...) or a hub id to the directory holding
 * the published checkpoint, in a folder of the user's or in the Hugging Face cache they already have. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fantasia/models.h"

static int is_dir(const char *p) {
  struct stat sb;
  return p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The snapshot a hub cache entry points at: refs/main, else the most recently modified snapshot. */
static char *hub_snapshot(const char *entry) {
  char *snaps = fc_path_join(entry, "snapshots");
  if (!snaps || !is_dir(snaps)) {
    free(snaps);
    return NULL;
  }
  char *ref = fc_path_join(entry, "refs/main"), *txt = NULL, *best = NULL;
  size_t len = 0;
  if (ref && fc_read_file(ref, 0, &txt, &len, NULL) == FC_OK) {
    while (len && (txt[len - 1] == '\n' || txt[len - 1] == '\r' || txt[len - 1] == ' '))
      txt[--len] = '\0';
    if (len && !strchr(txt, '/')) {
      char *cand = fc_path_join(snaps, txt);
      if (is_dir(cand))
        best = cand;
      else
        free(cand);
    }
  }
  free(txt);
  free(ref);
  if (!best) {
    DIR *d = opendir(snaps);
    struct dirent *de;
    double newest = -1;
    while (d && (de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      char *cand = fc_path_join(snaps, de->d_name);
      struct stat sb;
      if (cand && stat(cand, &sb) == 0 && S_ISDIR(sb.st_mode) &&
          (double)sb.st_mtim.tv_sec + 1e-9 * (double)sb.st_mtim.tv_nsec > newest) {
        newest = (double)sb.st_mtim.tv_sec + 1e-9 * (double)sb.st_mtim.tv_nsec;
        free(best);
        best = cand;
      } else {
        free(cand);
      }
    }
    if (d) closedir(d);
  }
  free(snaps);
  return best;
}

/* Appends "; <p>" to *tried (best effort: a failed allocation only shortens the message). */
static void note(char **tried, const char *p) {
  char *n = *tried ? fc_sprintf("%s; %s", *tried, p) : fc_strdup(p);
  if (n) {
    free(*tried);
    *tried = n;
  }
}

static char *try_folder(const char *folder, const char *given, const char *repo, char **tried) {
  const char *base = repo ? strrchr(repo, '/') : NULL;
  base = base ? base + 1 : repo;
  const char *cands[3] = {repo, base, given};
  for (size_t i = 0; i < 3; i++) {
    if (!cands[i] || (i > 0 && cands[i - 1] && !strcmp(cands[i], cands[i - 1]))) continue;
    char *p = fc_path_join(folder, cands[i]);
    if (is_dir(p)) return p;
    if (p) note(tried, p);
    free(p);
  }
  if (repo && strchr(repo, '/')) {
    char *flat = fc_strdup(repo);
    for (char *c = flat; c && *c; c++)
      if (*c == '/') *c = '\0';
    char *entry = flat ? fc_sprintf("%s/models--%s--%s", folder, flat, flat + strlen(flat) + 1) : NULL;
    char *snap = entry ? hub_snapshot(entry) : NULL;
    if (!snap && entry) {
      char *msg = fc_sprintf("%s/snapshots/*", entry);
      if (msg) note(tried, msg);
      free(msg);
    }
    free(entry);
    free(flat);
    if (snap) return snap;
  }
  return NULL;
}

fc_status fc_model_locate(const char *name, const char *path, const char *models_dir, char **out,
                          fc_error *err) {
  *out = NULL;
  if (path && *path) {
    if (!strcasecmp(path, "kmer") || fc_file_exists(path) || is_dir(path)) {
      *out = fc_strdup(path);
      return *out ? FC_OK : fc_error_set(err, FC_ENOMEM, "out of memory");
    }
    return fc_error_set(err, FC_ENOTFOUND, "model '%s': path %s does not exist", name ? name : "", path);
  }
  if (!name || !*name) return fc_error_set(err, FC_EINVAL, "model: no name and no path given");
  if (!strcasecmp(name, "kmer")) {
    *out = fc_strdup("kmer");
    return *out ? FC_OK : fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  const fc_fantasia_model *fm = fc_fantasia_model_find(name);
  const char *repo = fm ? fm->hub_repo : strchr(name, '/') ? name : NULL;
  /* folders in order; only models_dir when the user named one */
  char *folders[6] = {0};
  size_t nf = 0;
  const char *env;
  if (models_dir && *models_dir) {
    folders[nf++] = fc_strdup(models_dir);
  } else {
    if ((env = getenv("FANTASIA_MODELS")) && *env) folders[nf++] = fc_strdup(env);
    if ((env = getenv("HF_HUB_CACHE")) && *env) folders[nf++] = fc_strdup(env);
    if ((env = getenv("HF_HOME")) && *env) folders[nf++] = fc_path_join(env, "hub");
    if ((env = getenv("XDG_CACHE_HOME")) && *env) folders[nf++] = fc_path_join(env, "huggingface/hub");
    if ((env = getenv("HOME")) && *env) folders[nf++] = fc_path_join(env, ".cache/huggingface/hub");
  }
  char *tried = NULL, *found = NULL;
  for (size_t i = 0; i < nf && !found; i++)
    if (folders[i]) found = try_folder(folders[i], name, repo, &tried);
  for (size_t i = 0; i < nf; i++)
    free(folders[i]);
  if (found) {
    free(tried);
    *out = found;
    return FC_OK;
  }
  fc_status st = fc_error_set(err, FC_ENOTFOUND,
                              "model '%s': no path configured and no model folder holds it (tried %s); set "
                              "embedding.models.%s.path or embedding.models_dir / --models-dir "
                              "(docs/models.md \"Where models are found\")",
                              name, tried ? tried : "no folder: none given and no cache found", name);
  free(tried);
  return st;
}
