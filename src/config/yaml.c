/* Ordered YAML tree: libyaml event parser -> fc_ynode, dotted access, merge, safe_dump-like dumper. */
#include "fantasia/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* ---------------- building ---------------- */

static fc_ynode *node_new(fc_ytype t) {
  fc_ynode *n = calloc(1, sizeof *n);
  if (n) n->type = t;
  return n;
}

fc_ynode *fc_ynode_new_map(void) {
  return node_new(FC_YMAP);
}
fc_ynode *fc_ynode_new_seq(void) {
  return node_new(FC_YSEQ);
}

fc_ynode *fc_ynode_new_scalar(const char *text, int quoted) {
  fc_ynode *n = node_new(FC_YSCALAR);
  if (!n) return NULL;
  n->text = fc_strdup(text ? text : "null");
  n->quoted = text ? quoted : 0;
  if (!n->text) {
    free(n);
    return NULL;
  }
  return n;
}

void fc_ynode_free(fc_ynode *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n; i++) {
    if (n->keys) fc_ynode_free(n->keys[i]);
    fc_ynode_free(n->items[i]);
  }
  free(n->keys);
  free(n->items);
  free(n->text);
  free(n);
}

fc_ynode *fc_ynode_copy(const fc_ynode *n) {
  if (!n) return NULL;
  fc_ynode *c = n->type == FC_YSCALAR ? fc_ynode_new_scalar(n->text, n->quoted) : node_new(n->type);
  if (!c) return NULL;
  c->line = n->line;
  c->col = n->col;
  if (n->type == FC_YSCALAR) return c;
  if (n->n) {
    c->items = calloc(n->n, sizeof *c->items);
    if (n->type == FC_YMAP) c->keys = calloc(n->n, sizeof *c->keys);
    if (!c->items || (n->type == FC_YMAP && !c->keys)) goto fail;
    c->cap = n->n;
    for (size_t i = 0; i < n->n; i++) {
      c->items[i] = fc_ynode_copy(n->items[i]);
      if (n->type == FC_YMAP) c->keys[i] = fc_ynode_copy(n->keys[i]);
      c->n = i + 1;
      if (!c->items[i] || (n->type == FC_YMAP && !c->keys[i])) goto fail;
    }
  }
  return c;
fail:
  fc_ynode_free(c);
  return NULL;
}

static int grow(fc_ynode *n) {
  if (n->n < n->cap) return 1;
  size_t cap = n->cap ? n->cap * 2 : 4;
  fc_ynode **it = realloc(n->items, cap * sizeof *it);
  if (!it) return 0;
  n->items = it;
  if (n->type == FC_YMAP) {
    fc_ynode **k = realloc(n->keys, cap * sizeof *k);
    if (!k) return 0;
    n->keys = k;
  }
  n->cap = cap;
  return 1;
}

static long map_index(const fc_ynode *map, const char *key) {
  if (!map || map->type != FC_YMAP || !key) return -1;
  for (size_t i = 0; i < map->n; i++)
    if (strcmp(map->keys[i]->text, key) == 0) return (long)i;
  return -1;
}

/* Put with a key node (ownership of both taken). */
static fc_status map_put_node(fc_ynode *map, fc_ynode *key, fc_ynode *value, fc_error *err) {
  long i = map_index(map, key->text);
  if (i >= 0) {
    fc_ynode_free(map->items[i]);
    map->items[i] = value;
    fc_ynode_free(key);
    return FC_OK;
  }
  if (!grow(map)) {
    fc_ynode_free(key);
    fc_ynode_free(value);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  map->keys[map->n] = key;
  map->items[map->n] = value;
  map->n++;
  return FC_OK;
}

fc_status fc_ynode_map_put(fc_ynode *map, const char *key, fc_ynode *value, fc_error *err) {
  if (!map || map->type != FC_YMAP || !key || !value) {
    fc_ynode_free(value);
    return fc_error_set(err, FC_EINVAL, "yaml: map_put on a non-map or with a NULL key/value");
  }
  fc_ynode *k = fc_ynode_new_scalar(key, 0);
  if (!k) {
    fc_ynode_free(value);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  return map_put_node(map, k, value, err);
}

fc_status fc_ynode_seq_push(fc_ynode *seq, fc_ynode *item, fc_error *err) {
  if (!seq || seq->type != FC_YSEQ || !item) {
    fc_ynode_free(item);
    return fc_error_set(err, FC_EINVAL, "yaml: seq_push on a non-sequence or with a NULL item");
  }
  if (!grow(seq)) {
    fc_ynode_free(item);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  seq->items[seq->n++] = item;
  return FC_OK;
}

int fc_ynode_map_remove(fc_ynode *map, const char *key) {
  long i = map_index(map, key);
  if (i < 0) return 0;
  fc_ynode_free(map->keys[i]);
  fc_ynode_free(map->items[i]);
  memmove(map->keys + i, map->keys + i + 1, (map->n - (size_t)i - 1) * sizeof *map->keys);
  memmove(map->items + i, map->items + i + 1, (map->n - (size_t)i - 1) * sizeof *map->items);
  map->n--;
  return 1;
}

/* ---------------- access ---------------- */

fc_ytype fc_ynode_type(const fc_ynode *n) {
  return n ? n->type : FC_YSCALAR;
}
const char *fc_ynode_text(const fc_ynode *n) {
  return n && n->type == FC_YSCALAR ? n->text : NULL;
}
size_t fc_ynode_size(const fc_ynode *n) {
  return n && n->type != FC_YSCALAR ? n->n : 0;
}

int fc_ynode_is_null(const fc_ynode *n) {
  if (!n) return 1;
  if (n->type != FC_YSCALAR || n->quoted) return 0;
  const char *t = n->text;
  return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

const char *fc_ynode_map_key(const fc_ynode *map, size_t i) {
  return map && map->type == FC_YMAP && i < map->n ? map->keys[i]->text : NULL;
}
const fc_ynode *fc_ynode_map_value(const fc_ynode *map, size_t i) {
  return map && map->type == FC_YMAP && i < map->n ? map->items[i] : NULL;
}
const fc_ynode *fc_ynode_seq_item(const fc_ynode *seq, size_t i) {
  return seq && seq->type == FC_YSEQ && i < seq->n ? seq->items[i] : NULL;
}
const fc_ynode *fc_ynode_map_find(const fc_ynode *map, const char *key) {
  long i = map_index(map, key);
  return i < 0 ? NULL : map->items[i];
}

const fc_ynode *fc_ynode_get(const fc_ynode *map, const char *path) {
  if (!map || !path) return NULL;
  const fc_ynode *cur = map;
  const char *p = path;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    if (!cur || cur->type != FC_YMAP) return NULL;
    const fc_ynode *next = NULL;
    for (size_t i = 0; i < cur->n; i++)
      if (strlen(cur->keys[i]->text) == len && !memcmp(cur->keys[i]->text, p, len)) next = cur->items[i];
    if (!next) return NULL;
    if (!dot) return next;
    cur = next;
    p = dot + 1;
  }
}

/* ---------------- typed parsing ---------------- */

int fc_parse_boolish(const char *s, int *out) {
  static const char *const yes[] = {"1", "true", "t", "yes", "y", "on"};
  static const char *const no[] = {"0", "false", "f", "no", "n", "off"};
  if (!s) return 0;
  while (isspace((unsigned char)*s))
    s++;
  size_t len = strlen(s);
  while (len && isspace((unsigned char)s[len - 1]))
    len--;
  for (size_t i = 0; i < 6; i++) {
    if (strlen(yes[i]) == len && !strncasecmp(s, yes[i], len)) {
      *out = 1;
      return 1;
    }
    if (strlen(no[i]) == len && !strncasecmp(s, no[i], len)) {
      *out = 0;
      return 1;
    }
  }
  return 0;
}

static const char *describe(const fc_ynode *n) {
  if (!n) return "(missing)";
  if (n->type == FC_YMAP) return "(a mapping)";
  if (n->type == FC_YSEQ) return "(a list)";
  return n->text;
}

static fc_status loc_err(fc_error *err, const fc_ynode *n, const char *what) {
  if (n && n->line)
    return fc_error_set(err, FC_EINVAL, "line %d: expected %s, got '%s'", n->line, what, describe(n));
  return fc_error_set(err, FC_EINVAL, "expected %s, got '%s'", what, describe(n));
}

fc_status fc_ynode_bool(const fc_ynode *n, int *out, fc_error *err) {
  if (n && n->type == FC_YSCALAR && fc_parse_boolish(n->text, out)) return FC_OK;
  return loc_err(err, n, "a boolean (true/false, yes/no, on/off, 1/0)");
}

/* Copy s without '_' separators and surrounding blanks into buf; 0 if too long or empty. */
static int clean_number(const char *s, char *buf, size_t cap) {
  while (isspace((unsigned char)*s))
    s++;
  size_t j = 0;
  for (; *s; s++) {
    if (*s == '_') continue;
    if (j + 1 >= cap) return 0;
    buf[j++] = *s;
  }
  while (j && isspace((unsigned char)buf[j - 1]))
    j--;
  buf[j] = '\0';
  return j > 0;
}

fc_status fc_ynode_int(const fc_ynode *n, long *out, fc_error *err) {
  char buf[64];
  if (n && n->type == FC_YSCALAR && clean_number(n->text, buf, sizeof buf)) {
    const char *p = buf;
    if (*p == '+' || *p == '-') p++;
    int digits = *p != '\0';
    for (const char *q = p; *q; q++)
      if (!isdigit((unsigned char)*q)) digits = 0;
    if (digits) {
      errno = 0;
      long v = strtol(buf, NULL, 10);
      if (errno == 0) {
        *out = v;
        return FC_OK;
      }
    }
  }
  return loc_err(err, n, "an integer");
}

fc_status fc_ynode_double(const fc_ynode *n, double *out, fc_error *err) {
  char buf[128];
  if (n && n->type == FC_YSCALAR && clean_number(n->text, buf, sizeof buf)) {
    const char *p = buf;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    if (!strcasecmp(p, ".inf") || !strcasecmp(p, "inf") || !strcasecmp(p, "infinity")) {
      *out = neg ? -INFINITY : INFINITY;
      return FC_OK;
    }
    if (!strcasecmp(p, ".nan") || !strcasecmp(p, "nan")) {
      *out = NAN;
      return FC_OK;
    }
    /* reject hex floats and other strtod extensions: digits, '.', exponent only */
    int ok = 1, nd = 0;
    for (const char *q = p; *q; q++) {
      if (isdigit((unsigned char)*q))
        nd++;
      else if (!(*q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-'))
        ok = 0;
    }
    if (ok && nd) {
      char *end;
      errno = 0;
      double v = strtod(buf, &end);
      if (*end == '\0' && errno != ERANGE) {
        *out = v;
        return FC_OK;
      }
    }
  }
  return loc_err(err, n, "a number");
}

/* ---------------- loading ---------------- */

typedef struct {
  char *name;
  fc_ynode *node; /* borrowed: lives in the tree */
} anchor_t;

typedef struct {
  yaml_parser_t parser;
  const char *fname;
  fc_error *err;
  anchor_t *anchors;
  size_t n_anchors, cap_anchors;
  size_t alias_nodes; /* nodes created by expanding aliases ("billion laughs" guard) */
} loader;

#define FC_YAML_MAX_ALIAS_NODES 1000000

static size_t count_nodes(const fc_ynode *n) {
  size_t c = 1;
  if (n->type != FC_YSCALAR)
    for (size_t i = 0; i < n->n; i++)
      c += count_nodes(n->items[i]) + (n->keys ? 1 : 0);
  return c;
}

/* YAML merge key "<<: *anchor" (or a list of them): copy entries whose keys are absent. */
static fc_status merge_key(loader *L, fc_ynode *map, const fc_ynode *src) {
  size_t count = src->type == FC_YSEQ ? src->n : 1;
  for (size_t k = 0; k < count; k++) {
    const fc_ynode *m = src->type == FC_YSEQ ? src->items[k] : src;
    if (m->type != FC_YMAP)
      return fc_error_set(L->err, FC_EFORMAT,
                          "%s:%d:%d: a merge key '<<' needs a mapping or a list of mappings", L->fname,
                          m->line, m->col);
    for (size_t i = 0; i < m->n; i++) {
      if (map_index(map, m->keys[i]->text) >= 0) continue;
      fc_ynode *kk = fc_ynode_copy(m->keys[i]), *vv = fc_ynode_copy(m->items[i]);
      if (!kk || !vv) {
        fc_ynode_free(kk);
        fc_ynode_free(vv);
        return fc_error_set(L->err, FC_ENOMEM, "out of memory");
      }
      fc_status st = map_put_node(map, kk, vv, L->err);
      if (st) return st;
    }
  }
  return FC_OK;
}

static fc_status parse_fail(loader *L) {
  yaml_parser_t *p = &L->parser;
  if (p->error == YAML_MEMORY_ERROR) return fc_error_set(L->err, FC_ENOMEM, "%s: out of memory", L->fname);
  const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
  if (p->context)
    return fc_error_set(L->err, FC_EFORMAT, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu)", L->fname,
                        m->line + 1, m->column + 1, p->problem ? p->problem : "unknown problem", p->context,
                        p->context_mark.line + 1);
  return fc_error_set(L->err, FC_EFORMAT, "%s:%zu:%zu: YAML syntax error: %s", L->fname, m->line + 1,
                      m->column + 1, p->problem ? p->problem : "unknown problem");
}

static fc_status remember_anchor(loader *L, const unsigned char *name, fc_ynode *n) {
  if (!name) return FC_OK;
  if (L->n_anchors == L->cap_anchors) {
    size_t cap = L->cap_anchors ? 2 * L->cap_anchors : 8;
    anchor_t *a = realloc(L->anchors, cap * sizeof *a);
    if (!a) return fc_error_set(L->err, FC_ENOMEM, "out of memory");
    L->anchors = a;
    L->cap_anchors = cap;
  }
  L->anchors[L->n_anchors].name = fc_strdup((const char *)name);
  if (!L->anchors[L->n_anchors].name) return fc_error_set(L->err, FC_ENOMEM, "out of memory");
  L->anchors[L->n_anchors++].node = n;
  return FC_OK;
}

static fc_status parse_node(loader *L, yaml_event_t *ev, fc_ynode **out, int depth);

/* Parse the contents of a collection whose start event has been consumed. */
static fc_status parse_collection(loader *L, fc_ynode *coll, int depth) {
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&L->parser, &ev)) return parse_fail(L);
    if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&ev);
      return FC_OK;
    }
    fc_ynode *first = NULL;
    fc_status st = parse_node(L, &ev, &first, depth + 1); /* deletes ev */
    if (st) return st;
    if (coll->type == FC_YSEQ) {
      if ((st = fc_ynode_seq_push(coll, first, L->err))) return st;
      continue;
    }
    if (first->type != FC_YSCALAR) {
      fc_status s2 =
          fc_error_set(L->err, FC_EFORMAT, "%s:%d:%d: unsupported YAML: a mapping key must be a scalar",
                       L->fname, first->line, first->col);
      fc_ynode_free(first);
      return s2;
    }
    if (!yaml_parser_parse(&L->parser, &ev)) {
      fc_ynode_free(first);
      return parse_fail(L);
    }
    fc_ynode *value = NULL;
    if ((st = parse_node(L, &ev, &value, depth + 1))) {
      fc_ynode_free(first);
      return st;
    }
    if (!first->quoted && !strcmp(first->text, "<<") && value->type != FC_YSCALAR) {
      st = merge_key(L, coll, value);
      fc_ynode_free(first);
      fc_ynode_free(value);
      if (st) return st;
      continue;
    }
    if ((st = map_put_node(coll, first, value, L->err))) return st;
  }
}

static fc_status parse_node(loader *L, yaml_event_t *ev, fc_ynode **out, int depth) {
  fc_status st = FC_OK;
  *out = NULL;
  int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
  if (depth > 200) {
    yaml_event_delete(ev);
    return fc_error_set(L->err, FC_EFORMAT, "%s:%d:%d: YAML nested too deeply", L->fname, line, col);
  }
  switch (ev->type) {
  case YAML_SCALAR_EVENT: {
    int quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    fc_ynode *n = node_new(FC_YSCALAR);
    if (n) n->text = fc_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!n || !n->text) {
      fc_ynode_free(n);
      st = fc_error_set(L->err, FC_ENOMEM, "out of memory");
      break;
    }
    n->quoted = quoted;
    n->line = line;
    n->col = col;
    *out = n;
    st = remember_anchor(L, ev->data.scalar.anchor, n);
    break;
  }
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    const unsigned char *anchor = is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    fc_ynode *n = node_new(is_map ? FC_YMAP : FC_YSEQ);
    if (!n) {
      st = fc_error_set(L->err, FC_ENOMEM, "out of memory");
      break;
    }
    n->line = line;
    n->col = col;
    *out = n;
    if ((st = parse_collection(L, n, depth))) break;
    st = remember_anchor(L, anchor, n);
    break;
  }
  case YAML_ALIAS_EVENT: {
    const char *name = (const char *)ev->data.alias.anchor;
    fc_ynode *target = NULL;
    for (size_t i = L->n_anchors; i-- > 0;)
      if (!strcmp(L->anchors[i].name, name)) {
        target = L->anchors[i].node;
        break;
      }
    if (!target) {
      st = fc_error_set(L->err, FC_EFORMAT, "%s:%d:%d: YAML alias '*%s' names no anchor", L->fname, line, col,
                        name);
      break;
    }
    L->alias_nodes += count_nodes(target);
    if (L->alias_nodes > FC_YAML_MAX_ALIAS_NODES) {
      st = fc_error_set(L->err, FC_EFORMAT, "%s:%d:%d: YAML aliases expand to more than %d nodes", L->fname,
                        line, col, FC_YAML_MAX_ALIAS_NODES);
      break;
    }
    *out = fc_ynode_copy(target);
    if (!*out) st = fc_error_set(L->err, FC_ENOMEM, "out of memory");
    break;
  }
  default:
    st = fc_error_set(L->err, FC_EFORMAT, "%s:%d:%d: unexpected YAML event", L->fname, line, col);
  }
  yaml_event_delete(ev);
  if (st) {
    fc_ynode_free(*out);
    *out = NULL;
  }
  return st;
}

static fc_status load_common(loader *L, fc_ynode **out) {
  fc_ynode *root = NULL;
  fc_status st = FC_OK;
  yaml_event_t ev;
  for (;;) {
    if (!yaml_parser_parse(&L->parser, &ev)) {
      st = parse_fail(L);
      break;
    }
    yaml_event_type_t t = ev.type;
    if (t == YAML_STREAM_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
      yaml_event_delete(&ev);
      continue;
    }
    if (t == YAML_DOCUMENT_END_EVENT) {
      yaml_event_delete(&ev);
      if (root) break; /* first document only */
      continue;
    }
    if ((st = parse_node(L, &ev, &root, 0))) break;
  }
  for (size_t i = 0; i < L->n_anchors; i++)
    free(L->anchors[i].name);
  free(L->anchors);
  if (st) {
    fc_ynode_free(root);
    return st;
  }
  if (!root || fc_ynode_is_null(root)) { /* empty document: empty map */
    fc_ynode_free(root);
    root = fc_ynode_new_map();
    if (!root) return fc_error_set(L->err, FC_ENOMEM, "out of memory");
  }
  *out = root;
  return FC_OK;
}

fc_status fc_yaml_load_string(const char *text, fc_ynode **out, fc_error *err) {
  loader L = {.fname = "<string>", .err = err};
  *out = NULL;
  if (!yaml_parser_initialize(&L.parser)) return fc_error_set(err, FC_ENOMEM, "out of memory");
  yaml_parser_set_input_string(&L.parser, (const unsigned char *)text, strlen(text));
  fc_status st = load_common(&L, out);
  yaml_parser_delete(&L.parser);
  return st;
}

fc_status fc_yaml_load_file(const char *path, fc_ynode **out, fc_error *err) {
  *out = NULL;
  char *data = NULL;
  size_t len = 0;
  fc_status st = fc_read_file(path, 0, &data, &len, err);
  if (st) return st;
  loader L = {.fname = path, .err = err};
  if (!yaml_parser_initialize(&L.parser)) {
    free(data);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  yaml_parser_set_input_string(&L.parser, (const unsigned char *)data, len);
  st = load_common(&L, out);
  yaml_parser_delete(&L.parser);
  free(data);
  return st;
}

/* ---------------- modifying ---------------- */

fc_status fc_ynode_set(fc_ynode *root, const char *path, fc_ynode *value, fc_error *err) {
  if (!root || root->type != FC_YMAP || !path || !*path || !value) {
    fc_ynode_free(value);
    return fc_error_set(err, FC_EINVAL, "config: cannot set '%s': bad arguments", path ? path : "(null)");
  }
  fc_ynode *cur = root;
  const char *p = path;
  for (;;) {
    const char *dot = strchr(p, '.');
    if (!dot) break;
    char *seg = fc_strndup(p, (size_t)(dot - p));
    if (!seg) {
      fc_ynode_free(value);
      return fc_error_set(err, FC_ENOMEM, "out of memory");
    }
    long i = map_index(cur, seg);
    if (i < 0 || fc_ynode_is_null(cur->items[i])) {
      fc_ynode *m = fc_ynode_new_map();
      fc_status st = m ? fc_ynode_map_put(cur, seg, m, err) : fc_error_set(err, FC_ENOMEM, "out of memory");
      free(seg);
      if (st) {
        fc_ynode_free(value);
        return st;
      }
      cur = m;
    } else if (cur->items[i]->type != FC_YMAP) {
      fc_status st =
          fc_error_set(err, FC_EINVAL, "config: cannot set '%s': '%s' is not a mapping", path, seg);
      free(seg);
      fc_ynode_free(value);
      return st;
    } else {
      free(seg);
      cur = cur->items[i];
    }
    p = dot + 1;
  }
  if (!*p) {
    fc_ynode_free(value);
    return fc_error_set(err, FC_EINVAL, "config: cannot set '%s': empty key", path);
  }
  return fc_ynode_map_put(cur, p, value, err);
}

static fc_status set_text(fc_ynode *root, const char *path, const char *value, int quoted, fc_error *err) {
  fc_ynode *v = fc_ynode_new_scalar(value, quoted);
  if (!v) return fc_error_set(err, FC_ENOMEM, "out of memory");
  return fc_ynode_set(root, path, v, err);
}

fc_status fc_ynode_set_scalar(fc_ynode *root, const char *path, const char *value, fc_error *err) {
  return set_text(root, path, value, 0, err);
}
fc_status fc_ynode_set_string(fc_ynode *root, const char *path, const char *value, fc_error *err) {
  return set_text(root, path, value, 1, err);
}

fc_status fc_ynode_merge(fc_ynode *dst, const fc_ynode *src, fc_error *err) {
  if (!dst || !src || dst->type != FC_YMAP || src->type != FC_YMAP)
    return fc_error_set(err, FC_EINVAL, "yaml: merge needs two mappings");
  for (size_t i = 0; i < src->n; i++) {
    long j = map_index(dst, src->keys[i]->text);
    if (j >= 0 && dst->items[j]->type == FC_YMAP && src->items[i]->type == FC_YMAP) {
      fc_status st = fc_ynode_merge(dst->items[j], src->items[i], err);
      if (st) return st;
      continue;
    }
    fc_ynode *k = fc_ynode_copy(src->keys[i]), *v = fc_ynode_copy(src->items[i]);
    if (!k || !v) {
      fc_ynode_free(k);
      fc_ynode_free(v);
      return fc_error_set(err, FC_ENOMEM, "out of memory");
    }
    fc_status st = map_put_node(dst, k, v, err);
    if (st) return st;
  }
  return FC_OK;
}

/* ---------------- YAML 1.1 implicit typing (what PyYAML's resolver does) ---------------- */

typedef enum { R_STR, R_NULL, R_BOOL, R_INT, R_FLOAT } rtype;

static int all_of(const char *s, const char *set) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!strchr(set, *s)) return 0;
  return 1;
}

static rtype resolve_plain(const char *s) {
  static const char *const bools[] = {"yes",   "Yes",   "YES",   "no", "No", "NO", "true", "True", "TRUE",
                                      "false", "False", "FALSE", "on", "On", "ON", "off",  "Off",  "OFF"};
  if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")) return R_NULL;
  for (size_t i = 0; i < sizeof bools / sizeof *bools; i++)
    if (!strcmp(s, bools[i])) return R_BOOL;
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) return R_FLOAT;
  if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN"))) return R_FLOAT;
  if (!*p) return R_STR;
  if (!strncmp(p, "0b", 2) && all_of(p + 2, "01_")) return R_INT;
  if (!strncmp(p, "0x", 2) && all_of(p + 2, "0123456789abcdefABCDEF_")) return R_INT;
  if (all_of(p, "0123456789_") && isdigit((unsigned char)*p)) return R_INT;
  /* sexagesimal 190:20:30 (int) or 190:20:30.15 (float) */
  if (isdigit((unsigned char)*p) && strchr(p, ':') && all_of(p, "0123456789_:.")) {
    return strchr(p, '.') ? R_FLOAT : R_INT;
  }
  /* float: [0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)? or \.[0-9_]+... */
  const char *q = p;
  int digits_before = 0, digits_after = 0;
  while (isdigit((unsigned char)*q) || *q == '_')
    digits_before += *q++ != '_';
  if (*q != '.') return R_STR;
  q++;
  while (isdigit((unsigned char)*q) || *q == '_' || *q == '.')
    digits_after += isdigit((unsigned char)*q++) != 0;
  if (!digits_before && !digits_after) return R_STR;
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q != '+' && *q != '-') return R_STR;
    q++;
    if (!isdigit((unsigned char)*q)) return R_STR;
    while (isdigit((unsigned char)*q))
      q++;
  }
  return *q ? R_STR : R_FLOAT;
}

/* PyYAML's representation of a plain scalar's value: null, true/false, str(int), repr(float).
 * Writes into buf (cap >= 64); returns 0 when the scalar is a string (caller keeps the text). */
static int canonical_plain(const char *t, char *buf, size_t cap) {
  switch (resolve_plain(t)) {
  case R_NULL:
    snprintf(buf, cap, "null");
    return 1;
  case R_BOOL:
    snprintf(buf, cap, "%s",
             (!strcasecmp(t, "yes") || !strcasecmp(t, "true") || !strcasecmp(t, "on")) ? "true" : "false");
    return 1;
  case R_INT: {
    char c[64];
    size_t j = 0;
    for (const char *p = t; *p && j + 1 < sizeof c; p++)
      if (*p != '_') c[j++] = *p;
    c[j] = '\0';
    if (strchr(c, ':')) return 0; /* sexagesimal: keep text */
    const char *p = c;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    int base = 10;
    if (!strncmp(p, "0b", 2))
      base = 2, p += 2;
    else if (!strncmp(p, "0x", 2))
      base = 16, p += 2;
    else if (p[0] == '0' && p[1])
      base = 8, p += 1;
    errno = 0;
    unsigned long long v = strtoull(p, NULL, base);
    if (errno) return 0;
    snprintf(buf, cap, "%s%llu", neg && v ? "-" : "", v);
    return 1;
  }
  case R_FLOAT: {
    char c[128];
    size_t j = 0;
    for (const char *p = t; *p && j + 1 < sizeof c; p++)
      if (*p != '_') c[j++] = *p;
    c[j] = '\0';
    if (strchr(c, ':')) return 0;
    const char *p = c;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    if (!strcasecmp(p, ".inf")) {
      snprintf(buf, cap, "%s.inf", neg ? "-" : "");
      return 1;
    }
    if (!strcasecmp(p, ".nan")) {
      snprintf(buf, cap, ".nan");
      return 1;
    }
    double v = strtod(c, NULL);
    if (isinf(v)) {
      snprintf(buf, cap, "%s.inf", v < 0 ? "-" : "");
      return 1;
    }
    /* shortest round-trip digits, then Python repr layout (fixed for -4 <= exp < 16) */
    char e[64];
    int prec = 0;
    for (prec = 0; prec < 17; prec++) {
      snprintf(e, sizeof e, "%.*e", prec, v);
      if (strtod(e, NULL) == v) break;
    }
    char digits[32];
    size_t nd = 0;
    const char *q = e;
    int sign = 0;
    if (*q == '-') sign = 1, q++;
    for (; *q && *q != 'e'; q++)
      if (isdigit((unsigned char)*q)) digits[nd++] = *q;
    digits[nd] = '\0';
    int ex = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0')
      digits[--nd] = '\0';
    char out[128];
    size_t o = 0;
    if (sign) out[o++] = '-';
    if (ex >= -4 && ex < 16) {
      if (ex >= 0) {
        for (int i = 0; i <= ex; i++)
          out[o++] = (size_t)i < nd ? digits[i] : '0';
        out[o++] = '.';
        if ((size_t)ex + 1 < nd)
          for (size_t i = (size_t)ex + 1; i < nd; i++)
            out[o++] = digits[i];
        else
          out[o++] = '0';
      } else {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -ex - 1; i++)
          out[o++] = '0';
        for (size_t i = 0; i < nd; i++)
          out[o++] = digits[i];
      }
      out[o] = '\0';
    } else {
      out[o++] = digits[0];
      out[o++] = '.';
      if (nd > 1)
        for (size_t i = 1; i < nd; i++)
          out[o++] = digits[i];
      else
        out[o++] = '0';
      out[o] = '\0';
      snprintf(out + o, sizeof out - o, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
    snprintf(buf, cap, "%s", out);
    return 1;
  }
  default:
    return 0;
  }
}

int fc_ynode_equal(const fc_ynode *a, const fc_ynode *b) {
  if (!a || !b) return a == b;
  if (a->type != b->type || a->n != b->n) return 0;
  if (a->type == FC_YSCALAR) {
    char ca[128], cb[128];
    int pa = !a->quoted && canonical_plain(a->text, ca, sizeof ca);
    int pb = !b->quoted && canonical_plain(b->text, cb, sizeof cb);
    if (pa != pb) return 0;
    return pa ? !strcmp(ca, cb) : !strcmp(a->text, b->text);
  }
  for (size_t i = 0; i < a->n; i++) {
    if (a->type == FC_YMAP && !fc_ynode_equal(a->keys[i], b->keys[i])) return 0;
    if (!fc_ynode_equal(a->items[i], b->items[i])) return 0;
  }
  return 1;
}

/* ---------------- dumping ---------------- */

typedef struct {
  char *buf;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap)
      cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
      b->oom = 1;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}
static void sb_str(sbuf *b, const char *s) {
  sb_put(b, s, strlen(s));
}
static void sb_indent(sbuf *b, int n) {
  for (int i = 0; i < n; i++)
    sb_put(b, " ", 1);
}

/* Can s be written as a plain scalar that reads back as the same string? */
static int plain_safe(const char *s) {
  size_t n = strlen(s);
  if (n == 0) return 0;
  if (resolve_plain(s) != R_STR) return 0;
  if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && n > 1 && !isspace((unsigned char)s[1])) {
    /* plain-safe: an indicator followed by a non-space (PyYAML writes -x plainly) */
  } else if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0])) {
    return 0;
  }
  if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1])) return 0;
  if (s[n - 1] == ':') return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) return 0;
    if (c == ':' && i + 1 < n && s[i + 1] == ' ') return 0;
    if (c == '#' && i > 0 && s[i - 1] == ' ') return 0;
  }
  if (!strcmp(s, "<<") || !strcmp(s, "=") || !strncmp(s, "---", 3) || !strncmp(s, "...", 3)) return 0;
  return 1;
}

static void emit_string(sbuf *b, const char *s) {
  if (plain_safe(s)) {
    sb_str(b, s);
    return;
  }
  int printable = 1;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f) printable = 0;
  if (printable) {
    sb_put(b, "'", 1);
    for (const char *p = s; *p; p++) {
      if (*p == '\'') sb_put(b, "'", 1);
      sb_put(b, p, 1);
    }
    sb_put(b, "'", 1);
    return;
  }
  sb_put(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    switch (*p) {
    case '"':
      sb_str(b, "\\\"");
      break;
    case '\\':
      sb_str(b, "\\\\");
      break;
    case '\n':
      sb_str(b, "\\n");
      break;
    case '\t':
      sb_str(b, "\\t");
      break;
    case '\r':
      sb_str(b, "\\r");
      break;
    default:
      if (*p < 0x20 || *p == 0x7f) {
        snprintf(esc, sizeof esc, "\\x%02X", *p);
        sb_str(b, esc);
      } else {
        sb_put(b, (const char *)p, 1);
      }
    }
  }
  sb_put(b, "\"", 1);
}

static void emit_scalar(sbuf *b, const fc_ynode *n) {
  char c[128];
  if (!n->quoted && canonical_plain(n->text, c, sizeof c))
    sb_str(b, c);
  else if (!n->quoted && resolve_plain(n->text) != R_STR)
    sb_str(b, n->text); /* sexagesimal numbers: keep as written */
  else
    emit_string(b, n->text);
}

static int nonempty_coll(const fc_ynode *n) {
  return n->type != FC_YSCALAR && n->n > 0;
}

static void emit_inline_value(sbuf *b, const fc_ynode *n) {
  if (n->type == FC_YMAP)
    sb_str(b, "{}");
  else if (n->type == FC_YSEQ)
    sb_str(b, "[]");
  else
    emit_scalar(b, n);
}

static int cmp_keys(const void *a, const void *b) {
  const fc_ynode *const *ka = a, *const *kb = b;
  return strcmp((*ka)->text, (*kb)->text);
}

static void emit_block(sbuf *b, const fc_ynode *n, int indent, int inline_first);

static void emit_map(sbuf *b, const fc_ynode *n, int indent, int inline_first) {
  /* sort indices by key text */
  size_t *idx = malloc(n->n * sizeof *idx);
  const fc_ynode **keys = malloc(n->n * sizeof *keys);
  if (!idx || !keys) {
    free(idx);
    free(keys);
    b->oom = 1;
    return;
  }
  for (size_t i = 0; i < n->n; i++)
    keys[i] = n->keys[i];
  qsort(keys, n->n, sizeof *keys, cmp_keys);
  for (size_t i = 0; i < n->n; i++) {
    const fc_ynode *k = keys[i];
    size_t j = 0;
    while (n->keys[j] != k)
      j++;
    const fc_ynode *v = n->items[j];
    if (!(i == 0 && inline_first)) sb_indent(b, indent);
    emit_scalar(b, k);
    if (nonempty_coll(v)) {
      sb_str(b, ":\n");
      emit_block(b, v, v->type == FC_YMAP ? indent + 2 : indent, 0);
    } else {
      sb_str(b, ": ");
      emit_inline_value(b, v);
      sb_str(b, "\n");
    }
  }
  free(idx);
  free(keys);
}

static void emit_block(sbuf *b, const fc_ynode *n, int indent, int inline_first) {
  if (n->type == FC_YMAP) {
    emit_map(b, n, indent, inline_first);
    return;
  }
  for (size_t i = 0; i < n->n; i++) {
    const fc_ynode *v = n->items[i];
    if (!(i == 0 && inline_first)) sb_indent(b, indent);
    sb_str(b, "- ");
    if (nonempty_coll(v)) {
      emit_block(b, v, indent + 2, 1);
    } else {
      emit_inline_value(b, v);
      sb_str(b, "\n");
    }
  }
}

char *fc_yaml_dump_string(const fc_ynode *root) {
  sbuf b = {0};
  if (!root) {
    sb_str(&b, "{}\n");
  } else if (nonempty_coll(root)) {
    emit_block(&b, root, 0, 0);
  } else {
    emit_inline_value(&b, root);
    sb_str(&b, "\n");
  }
  if (b.oom) {
    free(b.buf);
    return NULL;
  }
  return b.buf;
}

fc_status fc_yaml_dump_file(const fc_ynode *root, const char *path, fc_error *err) {
  char *text = fc_yaml_dump_string(root);
  if (!text) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_atomic_file f = {0};
  fc_status st = fc_atomic_open(&f, path, err);
  if (st) {
    free(text);
    return st;
  }
  size_t len = strlen(text);
  if (fwrite(text, 1, len, f.fp) != len) {
    int e = errno;
    fc_atomic_abort(&f);
    free(text);
    return fc_error_set(err, FC_EIO, "%s: write failed: %s", path, strerror(e));
  }
  free(text);
  return fc_atomic_commit(&f, err);
}
