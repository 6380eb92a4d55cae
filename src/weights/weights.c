/* weights: the name -> tensor set, key normalisation, format dispatch and sharded indexes. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const struct {
  const char *name;
  size_t size;
} dtype_info[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
                  {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};

const char *fc_tensor_dtype_name(fc_tensor_dtype t) {
  return (unsigned)t < sizeof dtype_info / sizeof dtype_info[0] ? dtype_info[t].name : "?";
}
size_t fc_tensor_dtype_size(fc_tensor_dtype t) {
  return (unsigned)t < sizeof dtype_info / sizeof dtype_info[0] ? dtype_info[t].size : 0;
}
int fcw_dtype_from_st(const char *s, fc_tensor_dtype *out) {
  for (size_t i = 0; i < sizeof dtype_info / sizeof dtype_info[0]; i++)
    if (strcmp(s, dtype_info[i].name) == 0) {
      *out = (fc_tensor_dtype)i;
      return 1;
    }
  return 0;
}

static int starts_with(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

int fc_weights_normalize_name(const char *name, const fc_weights_options *opt, char *buf, size_t n) {
  const char *s = name;
  if (opt && opt->strip_prefixes) {
    int again = 1;
    while (again) {
      again = 0;
      for (const char *const *p = opt->strip_prefixes; *p; p++)
        if (**p && starts_with(s, *p) && strlen(s) > strlen(*p)) {
          s += strlen(*p);
          again = 1;
          break;
        }
    }
  }
  if (opt && opt->skip_heads) {
    if (starts_with(s, "decoder.") || starts_with(s, "lm_head") || starts_with(s, "contact_head.") ||
        starts_with(s, "cls.") || strstr(s, ".decoder.") || strstr(s, ".lm_head."))
      return 0;
  }
  size_t l = strlen(s);
  if (l + 1 > n) return -1;
  memcpy(buf, s, l + 1);
  return 1;
}

fc_status fcw_map_file(fc_weights *w, const char *path, const uint8_t **base, size_t *len, fc_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fc_error_set(err, FC_EIO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fc_error_set(err, FC_EIO, "%s: not a regular file", path);
  }
  *len = (size_t)st.st_size;
  *base = NULL;
  if (*len == 0) {
    close(fd);
    return FC_OK;
  }
  void *m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (m == MAP_FAILED) return fc_error_set(err, FC_EIO, "%s: cannot mmap: %s", path, strerror(e));
  void **nm = realloc(w->maps, (w->nmaps + 1) * sizeof *nm);
  size_t *nl = nm ? realloc(w->map_lens, (w->nmaps + 1) * sizeof *nl) : NULL;
  if (nm) w->maps = nm;
  if (nl) w->map_lens = nl;
  if (!nm || !nl) {
    munmap(m, *len);
    return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  w->maps[w->nmaps] = m;
  w->map_lens[w->nmaps++] = *len;
  *base = m;
  return FC_OK;
}

int fcw_own(fc_weights *w, void *p) {
  void **no = realloc(w->owned, (w->nowned + 1) * sizeof *no);
  if (!no) {
    free(p);
    return 0;
  }
  w->owned = no;
  w->owned[w->nowned++] = p;
  return 1;
}

fc_status fcw_add(fc_weights *w, const char *raw_name, const fc_tensor *t, const char *where, fc_error *err) {
  size_t cap = strlen(raw_name) + 1;
  char *name = malloc(cap);
  if (!name) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", where);
  int r = fc_weights_normalize_name(raw_name, w->opt, name, cap);
  if (r == 0) {
    free(name);
    return FC_OK;
  }
  if (!fcw_own(w, name)) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", where);
  if (!w->map_ready) {
    if (fc_strmap_init(&w->map, 64) != FC_OK) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", where);
    w->map_ready = 1;
  }
  if (w->n == w->cap) {
    size_t nc = w->cap ? 2 * w->cap : 64;
    fc_tensor *nt = realloc(w->t, nc * sizeof *nt);
    if (!nt) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", where);
    w->t = nt;
    w->cap = nc;
  }
  int64_t prev;
  int pr = fc_strmap_put(&w->map, name, strlen(name), (int64_t)w->n, &prev);
  if (pr < 0) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", where);
  if (pr == 0)
    return fc_error_set(err, FC_EDUPLICATE, "%s: tensor '%s' appears twice (stored as '%s' and '%s')", where,
                        name, w->t[prev].name, raw_name);
  w->t[w->n] = *t;
  w->t[w->n].name = name;
  w->n++;
  return FC_OK;
}

void fc_weights_close(fc_weights *w) {
  if (!w) return;
  for (size_t i = 0; i < w->nmaps; i++)
    munmap(w->maps[i], w->map_lens[i]);
  for (size_t i = 0; i < w->nowned; i++)
    free(w->owned[i]);
  if (w->map_ready) fc_strmap_free(&w->map);
  free(w->maps);
  free(w->map_lens);
  free(w->owned);
  free(w->t);
  free(w);
}

size_t fc_weights_count(const fc_weights *w) {
  return w ? w->n : 0;
}
const fc_tensor *fc_weights_at(const fc_weights *w, size_t i) {
  return w && i < w->n ? &w->t[i] : NULL;
}
const fc_tensor *fc_weights_get(const fc_weights *w, const char *name) {
  int64_t i;
  if (!w || !w->map_ready || !name) return NULL;
  return fc_strmap_get(&w->map, name, strlen(name), &i) ? &w->t[i] : NULL;
}
const char *fc_weights_format(const fc_weights *w) {
  return w && w->format ? w->format : "?";
}

fc_status fc_tensor_to_f32(const fc_tensor *t, float *dst, fc_error *err) {
  const uint8_t *p = t->data;
  switch (t->dtype) {
  case FC_TDT_F32:
    if (t->numel) memcpy(dst, p, t->numel * 4);
    return FC_OK;
  case FC_TDT_F16:
    for (size_t i = 0; i < t->numel; i++) {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      dst[i] = fc_f16_to_f32(h);
    }
    return FC_OK;
  case FC_TDT_BF16:
    for (size_t i = 0; i < t->numel; i++) {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      dst[i] = fc_bf16_to_f32(h);
    }
    return FC_OK;
  case FC_TDT_F64:
    for (size_t i = 0; i < t->numel; i++) {
      double d;
      memcpy(&d, p + 8 * i, 8);
      dst[i] = (float)d;
    }
    return FC_OK;
  default:
    return fc_error_set(err, FC_EUNSUPPORTED, "tensor '%s': dtype %s is not a float type", t->name,
                        fc_tensor_dtype_name(t->dtype));
  }
}

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Loads one file whose kind is decided by its first bytes. */
static fc_status load_file(fc_weights *w, const char *path, fc_error *err);

static fc_status load_index(fc_weights *w, const char *path, fc_error *err) {
  char *text = NULL;
  size_t len = 0;
  fc_status st = fc_read_file(path, 0, &text, &len, err);
  if (st != FC_OK) return st;
  cJSON *root = cJSON_ParseWithLength(text, len);
  free(text);
  if (!root) return fc_error_set(err, FC_EFORMAT, "%s: malformed JSON in shard index", path);
  const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
  if (!cJSON_IsObject(wm)) {
    cJSON_Delete(root);
    return fc_error_set(err, FC_EFORMAT, "%s: shard index has no \"weight_map\" object", path);
  }
  char *dir = fc_strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (dir) {
    if (slash)
      slash[1] = '\0';
    else
      dir[0] = '\0';
  }
  const char **done = NULL;
  size_t ndone = 0;
  st = dir ? FC_OK : fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  const cJSON *e;
  cJSON_ArrayForEach(e, wm) {
    if (st != FC_OK) break;
    if (!cJSON_IsString(e) || !e->valuestring[0] || strchr(e->valuestring, '/')) {
      st = fc_error_set(err, FC_EFORMAT, "%s: weight_map entry '%s' is not a plain shard file name", path,
                        e->string ? e->string : "?");
      break;
    }
    int seen = 0;
    for (size_t i = 0; i < ndone && !seen; i++)
      seen = strcmp(done[i], e->valuestring) == 0;
    if (seen) continue;
    const char **nd = realloc(done, (ndone + 1) * sizeof *nd);
    if (!nd) {
      st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
      break;
    }
    done = nd;
    done[ndone++] = e->valuestring;
    char *sp = fc_sprintf("%s%s", dir, e->valuestring);
    if (!sp) {
      st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
      break;
    }
    st = load_file(w, sp, err);
    free(sp);
  }
  /* every listed tensor must be present in its shard */
  if (st == FC_OK) {
    cJSON_ArrayForEach(e, wm) {
      char buf[1024];
      int r = fc_weights_normalize_name(e->string, w->opt, buf, sizeof buf);
      if (r == 1 && !fc_weights_get(w, buf)) {
        st = fc_error_set(err, FC_EFORMAT, "%s: tensor '%s' listed in weight_map is missing from shard %s",
                          path, e->string, e->valuestring);
        break;
      }
    }
  }
  free(done);
  free(dir);
  cJSON_Delete(root);
  return st;
}

static fc_status load_file(fc_weights *w, const char *path, fc_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno));
  unsigned char m[4] = {0};
  size_t got = fread(m, 1, 4, f);
  fclose(f);
  if (got == 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4)
    return fcw_load_torch_zip(w, path, err);
  if (ends_with(path, ".json")) return load_index(w, path, err);
  if (ends_with(path, ".bin") || ends_with(path, ".pth") || ends_with(path, ".pt") ||
      ends_with(path, ".ckpt")) {
    if (got == 4 && m[0] == 0x80)
      return fc_error_set(err, FC_EUNSUPPORTED,
                          "%s: legacy (pre-1.6, non-zip) torch.save file is not supported; re-save it with "
                          "torch >= 1.6 (torch.save(torch.load(f), f)) or convert it to safetensors",
                          path);
    return fc_error_set(err, FC_EFORMAT, "%s: not a PyTorch zip archive (no PK signature)", path);
  }
  return fcw_load_safetensors(w, path, err);
}

static const char *const dir_candidates[] = {"model.safetensors", "model.safetensors.index.json",
                                             "pytorch_model.bin", "pytorch_model.bin.index.json", NULL};

fc_status fc_weights_open(const char *path, const fc_weights_options *opt, fc_weights **out, fc_error *err) {
  *out = NULL;
  if (!path) return fc_error_set(err, FC_EINVAL, "weights: no path given");
  struct stat st;
  if (stat(path, &st) != 0) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno));
  char *file = NULL;
  if (S_ISDIR(st.st_mode)) {
    for (const char *const *c = dir_candidates; *c && !file; c++) {
      char *p = fc_path_join(path, *c);
      if (p && fc_file_exists(p))
        file = p;
      else
        free(p);
    }
    if (!file)
      return fc_error_set(err, FC_ENOTFOUND,
                          "%s: no weights found (looked for model.safetensors, model.safetensors.index.json, "
                          "pytorch_model.bin, pytorch_model.bin.index.json)",
                          path);
  } else {
    file = fc_strdup(path);
  }
  fc_weights *w = calloc(1, sizeof *w);
  if (!w || !file) {
    free(w);
    free(file);
    return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  w->opt = opt;
  fc_status s = load_file(w, file, err);
  if (s == FC_OK && ends_with(file, ".json"))
    w->format = ends_with(file, ".bin.index.json") ? "torch-zip-sharded" : "safetensors-sharded";
  free(file);
  w->opt = NULL;
  if (s != FC_OK) {
    fc_weights_close(w);
    return s;
  }
  *out = w;
  return FC_OK;
}

fc_status fc_tensor_take_f32(const fc_tensor *t, int64_t d0, int64_t d1, const char *wpath, float **out,
                             fc_error *err) {
  *out = NULL;
  int ok =
      d1 ? (t->ndim == 2 && t->shape[0] == d0 && t->shape[1] == d1) : (t->ndim == 1 && t->shape[0] == d0);
  if (!ok) {
    char want[64];
    if (d1)
      snprintf(want, sizeof want, "[%lld, %lld]", (long long)d0, (long long)d1);
    else
      snprintf(want, sizeof want, "[%lld]", (long long)d0);
    return fc_error_set(err, FC_EFORMAT, "%s: tensor '%s' has %d dims (first %lld), expected %s", wpath,
                        t->name, t->ndim, t->ndim ? (long long)t->shape[0] : 0LL, want);
  }
  float *p = fc_aligned_alloc((t->numel ? t->numel : 1) * sizeof *p);
  if (!p) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_status st = fc_tensor_to_f32(t, p, err);
  if (st != FC_OK) {
    fc_aligned_free(p);
    return st;
  }
  /* The copy is what the model keeps: let the kernel drop this tensor's pages of the (read-only, never
   * written) file mapping now, so a loaded model holds ~1x its float32 size instead of mapping + copy.
   * A later read of the same bytes (a tied tensor) simply faults them in again from the file. */
  if (t->mapped && t->nbytes) {
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)t->data, b = a + t->nbytes, ps = (uintptr_t)(pg > 0 ? pg : 4096);
    a = (a + ps - 1) / ps * ps; /* whole pages inside the tensor only */
    b = b / ps * ps;
    if (b > a) (void)madvise((void *)a, b - a, MADV_DONTNEED);
  }
  *out = p;
  return FC_OK;
}
