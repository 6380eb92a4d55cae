/* OBO 1.2 parser for the Gene Ontology (rules in include/fantasia/go.h and docs/input-formats.md). */
#include "fantasia/go.h"

#include "seqio/textio.h"

#include <stdlib.h>
#include <string.h>

enum { EDGE_IS_A = 0, EDGE_PART_OF = 1 };

typedef struct {
  int32_t child;
  int32_t kind;
  const char *target; /* arena */
  size_t line;
} pending_edge;

struct fc_go {
  fc_go_term *terms;
  size_t n, cap;
  fc_txmap ids;  /* primary id -> index (keys in arena) */
  fc_txmap alts; /* alt_id -> index */
  size_t n_alt;
  fc_arena arena;
  int32_t *edge_pool;
  size_t n_is_a, n_part_of;
  char *data_version;
};

char fc_go_aspect_of_namespace(const char *ns) {
  if (!ns) return 0;
  if (strcmp(ns, "biological_process") == 0) return 'P';
  if (strcmp(ns, "molecular_function") == 0) return 'F';
  if (strcmp(ns, "cellular_component") == 0) return 'C';
  return 0;
}

/* PREFIX:LOCAL, PREFIX = letter then letters/digits/_ ; LOCAL = letters/digits/_ ; < 16 chars */
static int valid_id(const char *s, size_t n) {
  if (n == 0 || n > 15) return 0;
  size_t i = 0;
  if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return 0;
  int colon = 0;
  size_t after = 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (c == ':') {
      if (colon) return 0;
      colon = 1;
      continue;
    }
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    if (colon) after++;
  }
  return colon && after > 0;
}

/* Strips an OBO comment ('!' outside quotes, not backslash-escaped) and trailing blanks. */
static size_t strip_comment(char *s, size_t n) {
  int q = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\') {
      i++;
      continue;
    }
    if (s[i] == '"')
      q = !q;
    else if (s[i] == '!' && !q) {
      n = i;
      break;
    }
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  s[n] = '\0';
  return n;
}

/* First whitespace-delimited token of s: returns start, sets *len. */
static char *token(char *s, size_t *len) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strcspn(s, " \t");
  *len = n;
  return s;
}

typedef struct {
  const char *path;
  fc_error *err;
  fc_go *go;
  pending_edge *edges;
  size_t n_edges, cap_edges;
  char *default_ns;
  /* current term */
  int in_term; /* 1: [Term], 2: other stanza being skipped, 0: header */
  size_t stanza_line;
  int has_id;
  int32_t cur;
} obo_state;

static fc_status oom(obo_state *st) {
  return fc_error_set(st->err, FC_ENOMEM, "%s: out of memory", st->path);
}

static fc_status finish_term(obo_state *st) {
  if (st->in_term != 1) return FC_OK;
  if (!st->has_id)
    return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: [Term] stanza without an id line", st->path,
                        st->stanza_line);
  fc_go_term *t = &st->go->terms[st->cur];
  if (!t->namespace_) {
    t->namespace_ = fc_arena_strndup(&st->go->arena, st->default_ns ? st->default_ns : "",
                                     st->default_ns ? strlen(st->default_ns) : 0);
    if (!t->namespace_) return oom(st);
  }
  t->aspect = fc_go_aspect_of_namespace(t->namespace_);
  if (!t->name && !(t->name = fc_arena_strndup(&st->go->arena, "", 0))) return oom(st);
  return FC_OK;
}

static fc_status start_term(obo_state *st, size_t line) {
  fc_go *go = st->go;
  if (go->n == go->cap) {
    size_t nc = go->cap ? go->cap * 2 : 1024;
    fc_go_term *nt = realloc(go->terms, nc * sizeof *nt);
    if (!nt) return oom(st);
    go->terms = nt;
    go->cap = nc;
  }
  if (go->n >= (size_t)INT32_MAX)
    return fc_error_set(st->err, FC_EUNSUPPORTED, "%s: too many terms", st->path);
  st->cur = (int32_t)go->n++;
  memset(&go->terms[st->cur], 0, sizeof(fc_go_term));
  go->terms[st->cur].line = line;
  st->has_id = 0;
  return FC_OK;
}

static fc_status add_edge(obo_state *st, int kind, const char *tgt, size_t tlen, size_t line) {
  if (!valid_id(tgt, tlen))
    return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: bad %s target id '%.*s'", st->path, line,
                        kind == EDGE_IS_A ? "is_a" : "part_of", (int)(tlen > 40 ? 40 : tlen), tgt);
  if (st->n_edges == st->cap_edges) {
    size_t nc = st->cap_edges ? st->cap_edges * 2 : 4096;
    pending_edge *ne = realloc(st->edges, nc * sizeof *ne);
    if (!ne) return oom(st);
    st->edges = ne;
    st->cap_edges = nc;
  }
  pending_edge *e = &st->edges[st->n_edges];
  e->child = st->cur;
  e->kind = kind;
  e->line = line;
  e->target = fc_arena_strndup(&st->go->arena, tgt, tlen);
  if (!e->target) return oom(st);
  st->n_edges++;
  return FC_OK;
}

static fc_status term_tag(obo_state *st, const char *tag, size_t taglen, char *val, size_t vlen,
                          size_t line) {
  fc_go *go = st->go;
  fc_go_term *t = &go->terms[st->cur];
#define TAG(s) (taglen == sizeof(s) - 1 && memcmp(tag, s, sizeof(s) - 1) == 0)
  if (TAG("id")) {
    size_t n;
    char *v = token(val, &n);
    if (st->has_id)
      return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: second id line in the [Term] stanza of line %zu",
                          st->path, line, st->stanza_line);
    if (!valid_id(v, n) || v[n] != '\0')
      return fc_error_set(st->err, FC_EFORMAT,
                          "%s:%zu: bad term id '%.*s' (expected PREFIX:LOCAL, e.g. GO:0008150)", st->path,
                          line, (int)(vlen > 40 ? 40 : vlen), val);
    memcpy(t->id, v, n);
    t->id[n] = '\0';
    const char *key = fc_arena_strndup(&go->arena, v, n);
    if (!key) return oom(st);
    int32_t prev = fc_txmap_put(&go->ids, key, n, st->cur);
    if (prev == -2) return oom(st);
    if (prev >= 0)
      return fc_error_set(st->err, FC_EDUPLICATE, "%s: duplicate term id %s (stanzas at lines %zu and %zu)",
                          st->path, key, go->terms[prev].line, st->stanza_line);
    st->has_id = 1;
  } else if (TAG("name")) {
    if (t->name)
      return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: second name line in a [Term]", st->path, line);
    if (!(t->name = fc_arena_strndup(&go->arena, val, vlen))) return oom(st);
  } else if (TAG("namespace")) {
    if (t->namespace_)
      return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: second namespace line in a [Term]", st->path, line);
    if (!(t->namespace_ = fc_arena_strndup(&go->arena, val, vlen))) return oom(st);
  } else if (TAG("alt_id")) {
    size_t n;
    char *v = token(val, &n);
    if (!valid_id(v, n) || v[n] != '\0')
      return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: bad alt_id '%.*s'", st->path, line,
                          (int)(vlen > 40 ? 40 : vlen), val);
    const char *key = fc_arena_strndup(&go->arena, v, n);
    if (!key) return oom(st);
    int32_t prev = fc_txmap_put(&go->alts, key, n, st->cur);
    if (prev == -2) return oom(st);
    if (prev >= 0)
      return fc_error_set(st->err, FC_EDUPLICATE,
                          "%s:%zu: duplicate alt_id %s (also in the stanza at line %zu)", st->path, line, key,
                          go->terms[prev].line);
    go->n_alt++;
  } else if (TAG("is_obsolete")) {
    t->obsolete = strncmp(val, "true", 4) == 0;
  } else if (TAG("replaced_by")) {
    if (!t->replaced_by) {
      size_t n;
      char *v = token(val, &n);
      if (!(t->replaced_by = fc_arena_strndup(&go->arena, v, n))) return oom(st);
    }
  } else if (TAG("is_a")) {
    size_t n;
    char *v = token(val, &n);
    return add_edge(st, EDGE_IS_A, v, n, line);
  } else if (TAG("relationship")) {
    size_t n1, n2;
    char *rel = token(val, &n1);
    char *v = token(rel + n1, &n2);
    if (n1 == 0 || n2 == 0)
      return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: relationship needs a type and a target", st->path,
                          line);
    if (n1 == 7 && memcmp(rel, "part_of", 7) == 0) return add_edge(st, EDGE_PART_OF, v, n2, line);
  }
#undef TAG
  return FC_OK;
}

static fc_status parse_line(obo_state *st, char *s, size_t n, size_t line) {
  size_t a = 0;
  while (a < n && (s[a] == ' ' || s[a] == '\t'))
    a++;
  s += a;
  n -= a;
  if (n == 0 || s[0] == '!') return FC_OK;
  if (s[0] == '[') {
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
      n--;
    if (n < 3 || s[n - 1] != ']')
      return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: malformed stanza header '%.*s'", st->path, line,
                          (int)(n > 40 ? 40 : n), s);
    fc_status rc = finish_term(st);
    if (rc != FC_OK) return rc;
    st->stanza_line = line;
    if (n == 6 && memcmp(s, "[Term]", 6) == 0) {
      st->in_term = 1;
      return start_term(st, line);
    }
    st->in_term = 2;
    return FC_OK;
  }
  char *colon = memchr(s, ':', n);
  size_t taglen = colon ? (size_t)(colon - s) : 0;
  if (!colon || taglen == 0 || memchr(s, ' ', taglen) || memchr(s, '\t', taglen))
    return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: not a 'tag: value' line: '%.*s'", st->path, line,
                        (int)(n > 40 ? 40 : n), s);
  char *val = colon + 1;
  while (*val == ' ' || *val == '\t')
    val++;
  size_t vlen = strip_comment(val, n - (size_t)(val - s));
  /* drop a trailing {...} modifier block */
  if (vlen && val[vlen - 1] == '}') {
    char *open = memrchr(val, '{', vlen);
    if (open) {
      vlen = (size_t)(open - val);
      while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
        vlen--;
      val[vlen] = '\0';
    }
  }
  if (st->in_term == 0) {
    if (taglen == 12 && memcmp(s, "data-version", 12) == 0) {
      free(st->go->data_version);
      if (!(st->go->data_version = fc_strndup(val, vlen))) return oom(st);
    } else if (taglen == 17 && memcmp(s, "default-namespace", 17) == 0) {
      free(st->default_ns);
      if (!(st->default_ns = fc_strndup(val, vlen))) return oom(st);
    }
    return FC_OK;
  }
  if (st->in_term == 2) return FC_OK;
  return term_tag(st, s, taglen, val, vlen, line);
}

static fc_status resolve(obo_state *st) {
  fc_go *go = st->go;
  /* an alt_id must not also be a primary id */
  for (size_t i = 0; i < go->alts.cap; i++) {
    const fc_txmap_slot *sl = &go->alts.slots[i];
    if (!sl->key) continue;
    int32_t p = fc_txmap_get(&go->ids, sl->key, sl->klen);
    if (p >= 0)
      return fc_error_set(st->err, FC_EDUPLICATE,
                          "%s: alt_id %s of the term at line %zu is also the id of the term at line %zu",
                          st->path, sl->key, go->terms[sl->value].line, go->terms[p].line);
  }
  size_t *cnt = calloc(go->n ? go->n : 1, 2 * sizeof *cnt);
  if (!cnt) return oom(st);
  size_t total = 0;
  for (size_t i = 0; i < st->n_edges; i++) {
    pending_edge *e = &st->edges[i];
    size_t n = strlen(e->target);
    int32_t p = fc_txmap_get(&go->ids, e->target, n);
    if (p < 0) p = fc_txmap_get(&go->alts, e->target, n);
    if (p < 0) {
      free(cnt);
      return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: %s target %s is not defined in the file", st->path,
                          e->line, e->kind == EDGE_IS_A ? "is_a" : "part_of", e->target);
    }
    e->target = NULL;
    e->line = (size_t)p; /* reuse: resolved parent index */
    cnt[2 * (size_t)e->child + (size_t)e->kind]++;
    total++;
    if (e->kind == EDGE_IS_A)
      go->n_is_a++;
    else
      go->n_part_of++;
  }
  go->edge_pool = malloc((total ? total : 1) * sizeof(int32_t));
  if (!go->edge_pool) {
    free(cnt);
    return oom(st);
  }
  size_t off = 0;
  for (size_t i = 0; i < go->n; i++) {
    fc_go_term *t = &go->terms[i];
    t->is_a = go->edge_pool + off;
    off += cnt[2 * i];
    t->part_of = go->edge_pool + off;
    off += cnt[2 * i + 1];
  }
  free(cnt);
  for (size_t i = 0; i < st->n_edges; i++) {
    pending_edge *e = &st->edges[i];
    fc_go_term *t = &go->terms[e->child];
    if (e->kind == EDGE_IS_A)
      t->is_a[t->n_is_a++] = (int32_t)e->line;
    else
      t->part_of[t->n_part_of++] = (int32_t)e->line;
  }
  return FC_OK;
}

fc_status fc_go_load(const char *path, fc_go **out, fc_error *err) {
  *out = NULL;
  fc_go *go = calloc(1, sizeof *go);
  if (!go) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_txmap_init(&go->ids);
  fc_txmap_init(&go->alts);
  fc_arena_init(&go->arena);
  obo_state st;
  memset(&st, 0, sizeof st);
  st.path = path;
  st.err = err;
  st.go = go;
  fc_lines *lr = NULL;
  fc_status rc = fc_lines_open(path, &lr, err);
  while (rc == FC_OK) {
    char *line;
    size_t len;
    int r = fc_lines_next(lr, &line, &len, err);
    if (r < 0) {
      rc = err ? err->code : FC_EFORMAT;
      break;
    }
    if (r == 0) break;
    rc = parse_line(&st, line, len, fc_lines_lineno(lr));
  }
  if (rc == FC_OK) rc = finish_term(&st);
  if (rc == FC_OK && go->n == 0) rc = fc_error_set(err, FC_EFORMAT, "%s: no [Term] stanzas", path);
  if (rc == FC_OK) rc = resolve(&st);
  fc_lines_close(lr);
  free(st.edges);
  free(st.default_ns);
  if (rc != FC_OK) {
    fc_go_free(go);
    return rc;
  }
  *out = go;
  return FC_OK;
}

void fc_go_free(fc_go *go) {
  if (!go) return;
  free(go->terms);
  fc_txmap_free(&go->ids);
  fc_txmap_free(&go->alts);
  fc_arena_free(&go->arena);
  free(go->edge_pool);
  free(go->data_version);
  free(go);
}

size_t fc_go_count(const fc_go *go) {
  return go ? go->n : 0;
}

const fc_go_term *fc_go_term_at(const fc_go *go, int32_t idx) {
  if (!go || idx < 0 || (size_t)idx >= go->n) return NULL;
  return &go->terms[idx];
}

int32_t fc_go_find(const fc_go *go, const char *id) {
  if (!go || !id) return -1;
  size_t n = strlen(id);
  int32_t p = fc_txmap_get(&go->ids, id, n);
  if (p < 0) p = fc_txmap_get(&go->alts, id, n);
  return p;
}

const char *fc_go_data_version(const fc_go *go) {
  return go && go->data_version ? go->data_version : "";
}
size_t fc_go_n_alt_ids(const fc_go *go) {
  return go ? go->n_alt : 0;
}
size_t fc_go_n_is_a(const fc_go *go) {
  return go ? go->n_is_a : 0;
}
size_t fc_go_n_part_of(const fc_go *go) {
  return go ? go->n_part_of : 0;
}
