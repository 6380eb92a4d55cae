/* weights/torchzip: PyTorch zip checkpoints (torch.save >= 1.6). The archive is opened and checked with
 * libzip; record data offsets come from our own central-directory walk (ZIP64 aware) so that STORED
 * storages are used in place from the memory map. data.pkl is run through a small pickle machine that
 * knows the opcodes torch emits and an allow-list of globals (never arbitrary code). */
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "internal.h"

/* ------------------------------------------------------------------ zip directory */

typedef struct {
  char *name;
  uint64_t data_off, size, comp_size;
  unsigned method;
} zent;

typedef struct {
  zent *e;
  size_t n;
} zdir;

static uint32_t rd16(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint32_t rd32(const uint8_t *p) {
  return rd16(p) | rd16(p + 2) << 16;
}
static uint64_t rd64(const uint8_t *p) {
  return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void zdir_free(zdir *d) {
  for (size_t i = 0; i < d->n; i++)
    free(d->e[i].name);
  free(d->e);
}

static fc_status zdir_read(const uint8_t *b, size_t len, const char *path, zdir *d, fc_error *err) {
  memset(d, 0, sizeof *d);
  if (len < 22) return fc_error_set(err, FC_EFORMAT, "%s: truncated zip archive", path);
  size_t eocd = (size_t)-1;
  size_t lo = len > 65557 ? len - 65557 : 0;
  for (size_t i = len - 22 + 1; i-- > lo;)
    if (rd32(b + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == (size_t)-1)
    return fc_error_set(err, FC_EFORMAT, "%s: zip end-of-central-directory not found (truncated?)", path);
  uint64_t count = rd16(b + eocd + 10), cd_off = rd32(b + eocd + 16), cd_size = rd32(b + eocd + 12);
  if ((count == 0xFFFF || cd_off == 0xFFFFFFFFu || cd_size == 0xFFFFFFFFu) && eocd >= 20 &&
      rd32(b + eocd - 20) == 0x07064b50) {
    uint64_t z = rd64(b + eocd - 20 + 8);
    if (z > len || len - z < 56 || rd32(b + z) != 0x06064b50)
      return fc_error_set(err, FC_EFORMAT, "%s: bad ZIP64 end-of-central-directory record", path);
    count = rd64(b + z + 32);
    cd_size = rd64(b + z + 40);
    cd_off = rd64(b + z + 48);
  }
  if (cd_off > len || cd_size > len - cd_off || count > cd_size / 46 + 1)
    return fc_error_set(err, FC_EFORMAT, "%s: zip central directory out of range", path);
  d->e = calloc(count ? count : 1, sizeof *d->e);
  if (!d->e) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  uint64_t p = cd_off, end = cd_off + cd_size;
  for (uint64_t i = 0; i < count; i++) {
    if (end - p < 46 || rd32(b + p) != 0x02014b50) goto bad;
    unsigned method = rd16(b + p + 10);
    uint64_t csize = rd32(b + p + 20), usize = rd32(b + p + 24);
    uint32_t nl = rd16(b + p + 28), xl = rd16(b + p + 30), cl = rd16(b + p + 32);
    uint64_t loff = rd32(b + p + 42);
    if (end - p < 46ull + nl + xl + cl) goto bad;
    const uint8_t *x = b + p + 46 + nl, *xe = x + xl;
    while (xe - x >= 4) {
      uint32_t id = rd16(x), sz = rd16(x + 2);
      if ((size_t)(xe - x - 4) < sz) break;
      if (id == 1) {
        const uint8_t *q = x + 4, *qe = q + sz;
        if (usize == 0xFFFFFFFFu && qe - q >= 8) usize = rd64(q), q += 8;
        if (csize == 0xFFFFFFFFu && qe - q >= 8) csize = rd64(q), q += 8;
        if (loff == 0xFFFFFFFFu && qe - q >= 8) loff = rd64(q), q += 8;
      }
      x += 4 + sz;
    }
    if (loff > len || len - loff < 30 || rd32(b + loff) != 0x04034b50) goto bad;
    uint64_t doff = loff + 30 + rd16(b + loff + 26) + rd16(b + loff + 28);
    zent *z = &d->e[d->n];
    z->name = fc_strndup((const char *)b + p + 46, nl);
    if (!z->name) {
      zdir_free(d);
      return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    }
    z->data_off = doff;
    z->size = usize;
    z->comp_size = csize;
    z->method = method;
    d->n++;
    p += 46ull + nl + xl + cl;
  }
  return FC_OK;
bad:
  zdir_free(d);
  return fc_error_set(err, FC_EFORMAT, "%s: corrupt zip central directory or local header", path);
}

/* ------------------------------------------------------------------ pickle values */

typedef enum {
  PV_NONE,
  PV_BOOL,
  PV_INT,
  PV_FLOAT,
  PV_STR,
  PV_TUPLE,
  PV_LIST,
  PV_DICT,
  PV_GLOBAL,
  PV_STORAGE,
  PV_TENSOR,
  PV_OBJECT
} pv_kind;

typedef struct pv {
  pv_kind k;
  int64_t i;
  char *s; /* str/bytes; storage key; global "module.name" */
  size_t slen;
  struct pv **it; /* tuple/list items; dict: key,value pairs */
  size_t n, cap;
  fc_tensor_dtype dtype; /* storage */
  struct pv *storage;    /* tensor */
  int64_t off;
  int ndim;
  int64_t shape[FC_TENSOR_MAX_DIMS], stride[FC_TENSOR_MAX_DIMS];
} pv;

typedef struct {
  const char *path;
  const uint8_t *p, *end;
  pv **all;
  size_t nall, capall;
  pv **stack;
  size_t sp, scap;
  size_t *marks;
  size_t nmarks, mcap;
  pv **memo;
  size_t nmemo, memo_count;
  fc_error *err;
} pm;

static pv *pv_new(pm *m, pv_kind k) {
  if (m->nall == m->capall) {
    size_t nc = m->capall ? 2 * m->capall : 256;
    pv **na = realloc(m->all, nc * sizeof *na);
    if (!na) return NULL;
    m->all = na;
    m->capall = nc;
  }
  pv *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  v->k = k;
  m->all[m->nall++] = v;
  return v;
}

static void pm_free(pm *m) {
  for (size_t i = 0; i < m->nall; i++) {
    free(m->all[i]->s);
    free(m->all[i]->it);
    free(m->all[i]);
  }
  free(m->all);
  free(m->stack);
  free(m->marks);
  free(m->memo);
}

static int pv_push_item(pv *c, pv *x) {
  if (c->n == c->cap) {
    size_t nc = c->cap ? 2 * c->cap : 8;
    pv **ni = realloc(c->it, nc * sizeof *ni);
    if (!ni) return 0;
    c->it = ni;
    c->cap = nc;
  }
  c->it[c->n++] = x;
  return 1;
}

#define PFAIL(code, ...)                                                                                     \
  do {                                                                                                       \
    fc_error_set(m->err, code, __VA_ARGS__);                                                                 \
    return NULL;                                                                                             \
  } while (0)

static const char *const allowed_globals[] = {"collections.OrderedDict",
                                              "torch._utils._rebuild_tensor_v2",
                                              "torch._utils._rebuild_parameter",
                                              "torch._utils._rebuild_parameter_with_state",
                                              "argparse.Namespace",
                                              NULL};

static const struct {
  const char *name;
  fc_tensor_dtype t;
} storages[] = {{"torch.FloatStorage", FC_TDT_F32},     {"torch.HalfStorage", FC_TDT_F16},
                {"torch.BFloat16Storage", FC_TDT_BF16}, {"torch.DoubleStorage", FC_TDT_F64},
                {"torch.LongStorage", FC_TDT_I64},      {"torch.IntStorage", FC_TDT_I32},
                {"torch.ShortStorage", FC_TDT_I16},     {"torch.CharStorage", FC_TDT_I8},
                {"torch.ByteStorage", FC_TDT_U8},       {"torch.UntypedStorage", FC_TDT_U8},
                {"torch.BoolStorage", FC_TDT_BOOL}};

static int storage_dtype(const char *g, fc_tensor_dtype *t) {
  for (size_t i = 0; i < sizeof storages / sizeof storages[0]; i++)
    if (strcmp(g, storages[i].name) == 0) {
      *t = storages[i].t;
      return 1;
    }
  return 0;
}

static pv *make_global(pm *m, const char *mod, size_t ml, const char *name, size_t nl) {
  char *g = fc_sprintf("%.*s.%.*s", (int)ml, mod, (int)nl, name);
  if (!g) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
  int ok = 0;
  fc_tensor_dtype t;
  for (const char *const *a = allowed_globals; *a && !ok; a++)
    ok = strcmp(g, *a) == 0;
  if (!ok && !storage_dtype(g, &t)) {
    fc_error_set(m->err, FC_EUNSUPPORTED,
                 "%s: data.pkl: unsupported pickle global '%s' (only torch state dicts are read)", m->path,
                 g);
    free(g);
    return NULL;
  }
  pv *v = pv_new(m, PV_GLOBAL);
  if (!v) {
    free(g);
    PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
  }
  v->s = g;
  return v;
}

static int is_global(const pv *v, const char *g) {
  return v->k == PV_GLOBAL && strcmp(v->s, g) == 0;
}

static int int_tuple(const pv *t, int64_t *out, int *n) {
  if (t->k != PV_TUPLE || t->n > FC_TENSOR_MAX_DIMS) return 0;
  for (size_t i = 0; i < t->n; i++) {
    if (t->it[i]->k != PV_INT) return 0;
    out[i] = t->it[i]->i;
  }
  *n = (int)t->n;
  return 1;
}

/* callable(args) for the allow-listed callables */
static pv *call(pm *m, pv *fn, pv *args) {
  if (fn->k != PV_GLOBAL) PFAIL(FC_EFORMAT, "%s: data.pkl: REDUCE on a non-callable", m->path);
  if (args->k != PV_TUPLE) PFAIL(FC_EFORMAT, "%s: data.pkl: REDUCE arguments are not a tuple", m->path);
  if (is_global(fn, "collections.OrderedDict")) return pv_new(m, PV_DICT);
  if (is_global(fn, "argparse.Namespace")) return pv_new(m, PV_OBJECT);
  if (is_global(fn, "torch._utils._rebuild_parameter") ||
      is_global(fn, "torch._utils._rebuild_parameter_with_state")) {
    if (args->n < 1 || args->it[0]->k != PV_TENSOR)
      PFAIL(FC_EFORMAT, "%s: data.pkl: _rebuild_parameter without a tensor", m->path);
    return args->it[0];
  }
  if (is_global(fn, "torch._utils._rebuild_tensor_v2")) {
    pv *t = pv_new(m, PV_TENSOR);
    if (!t) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
    int ns = 0, nst = 0;
    if (args->n < 4 || args->it[0]->k != PV_STORAGE || args->it[1]->k != PV_INT ||
        !int_tuple(args->it[2], t->shape, &ns) || !int_tuple(args->it[3], t->stride, &nst) || ns != nst)
      PFAIL(FC_EFORMAT, "%s: data.pkl: malformed _rebuild_tensor_v2 arguments", m->path);
    t->storage = args->it[0];
    t->off = args->it[1]->i;
    t->ndim = ns;
    return t;
  }
  PFAIL(FC_EUNSUPPORTED, "%s: data.pkl: cannot call '%s'", m->path, fn->s);
}

static int push(pm *m, pv *v) {
  if (!v) return 0;
  if (m->sp == m->scap) {
    size_t nc = m->scap ? 2 * m->scap : 64;
    pv **ns = realloc(m->stack, nc * sizeof *ns);
    if (!ns) {
      fc_error_set(m->err, FC_ENOMEM, "%s: out of memory", m->path);
      return 0;
    }
    m->stack = ns;
    m->scap = nc;
  }
  m->stack[m->sp++] = v;
  return 1;
}

#define NEED(k)                                                                                              \
  do {                                                                                                       \
    if ((size_t)(m->end - m->p) < (size_t)(k)) PFAIL(FC_EFORMAT, "%s: data.pkl: truncated pickle", m->path); \
  } while (0)
#define POP(v)                                                                                               \
  do {                                                                                                       \
    if (m->sp == 0 || (m->nmarks && m->marks[m->nmarks - 1] >= m->sp))                                       \
      PFAIL(FC_EFORMAT, "%s: data.pkl: stack underflow at byte %zu", m->path, (size_t)(m->p - start));       \
    v = m->stack[--m->sp];                                                                                   \
  } while (0)
#define PUSH(v)                                                                                              \
  do {                                                                                                       \
    if (!push(m, (v))) {                                                                                     \
      if (m->err && m->err->code == FC_OK) fc_error_set(m->err, FC_ENOMEM, "%s: out of memory", m->path);    \
      return NULL;                                                                                           \
    }                                                                                                        \
  } while (0)

static int memo_put(pm *m, size_t idx, pv *v) {
  if (idx > (1u << 26)) return 0;
  if (idx >= m->nmemo) {
    size_t nn = idx + 1 > 2 * m->nmemo ? idx + 1 : 2 * m->nmemo;
    pv **nm = realloc(m->memo, nn * sizeof *nm);
    if (!nm) return 0;
    memset(nm + m->nmemo, 0, (nn - m->nmemo) * sizeof *nm);
    m->memo = nm;
    m->nmemo = nn;
  }
  if (!m->memo[idx]) m->memo_count++;
  m->memo[idx] = v;
  return 1;
}

/* Pops everything above the last mark into a fresh container of kind k. */
static pv *pop_mark(pm *m, pv_kind k) {
  if (!m->nmarks) PFAIL(FC_EFORMAT, "%s: data.pkl: no MARK on the stack", m->path);
  size_t mk = m->marks[--m->nmarks];
  pv *c = pv_new(m, k);
  if (!c) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
  for (size_t i = mk; i < m->sp; i++)
    if (!pv_push_item(c, m->stack[i])) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
  m->sp = mk;
  return c;
}

static int64_t rd_le_signed(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;)
    v = (v << 8) | p[i];
  if (n < 8 && n > 0 && (p[n - 1] & 0x80)) v |= ~0ull << (8 * n);
  return (int64_t)v;
}

static pv *run_pickle(pm *m) {
  const uint8_t *start = m->p;
  for (;;) {
    NEED(1);
    size_t at = (size_t)(m->p - start);
    uint8_t op = *m->p++;
    pv *a, *b, *c;
    switch (op) {
    case 0x80: /* PROTO */
      NEED(1);
      if (*m->p > 5) PFAIL(FC_EUNSUPPORTED, "%s: data.pkl: pickle protocol %u", m->path, *m->p);
      m->p++;
      break;
    case 0x95: /* FRAME */
      NEED(8);
      m->p += 8;
      break;
    case '.': /* STOP */
      POP(a);
      return a;
    case '(':
      if (m->nmarks == m->mcap) {
        size_t nc = m->mcap ? 2 * m->mcap : 16;
        size_t *nm = realloc(m->marks, nc * sizeof *nm);
        if (!nm) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
        m->marks = nm;
        m->mcap = nc;
      }
      m->marks[m->nmarks++] = m->sp;
      break;
    case '0':
      POP(a);
      break;
    case '1':
      a = pop_mark(m, PV_TUPLE);
      if (!a) return NULL;
      break;
    case '2':
      POP(a);
      PUSH(a);
      PUSH(a);
      break;
    case '}':
      PUSH(pv_new(m, PV_DICT));
      break;
    case ']':
      PUSH(pv_new(m, PV_LIST));
      break;
    case ')':
      PUSH(pv_new(m, PV_TUPLE));
      break;
    case 't':
      a = pop_mark(m, PV_TUPLE);
      if (!a) return NULL;
      PUSH(a);
      break;
    case 'l':
      a = pop_mark(m, PV_LIST);
      if (!a) return NULL;
      PUSH(a);
      break;
    case 'd':
      a = pop_mark(m, PV_DICT);
      if (!a) return NULL;
      if (a->n % 2) PFAIL(FC_EFORMAT, "%s: data.pkl: odd DICT item count", m->path);
      PUSH(a);
      break;
    case 0x85:
    case 0x86:
    case 0x87: {
      size_t n = op - 0x84;
      if (m->sp < n || (m->nmarks && m->marks[m->nmarks - 1] > m->sp - n))
        PFAIL(FC_EFORMAT, "%s: data.pkl: stack underflow at byte %zu", m->path, at);
      a = pv_new(m, PV_TUPLE);
      if (!a) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      for (size_t i = m->sp - n; i < m->sp; i++)
        if (!pv_push_item(a, m->stack[i])) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      m->sp -= n;
      PUSH(a);
      break;
    }
    case 'a':
      POP(b);
      POP(a);
      if (a->k != PV_LIST) PFAIL(FC_EFORMAT, "%s: data.pkl: APPEND to a non-list", m->path);
      if (!pv_push_item(a, b)) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      PUSH(a);
      break;
    case 'e':
    case 'u': {
      c = pop_mark(m, PV_TUPLE);
      if (!c) return NULL;
      POP(a);
      if (op == 'e' ? a->k != PV_LIST : (a->k != PV_DICT || c->n % 2))
        PFAIL(FC_EFORMAT, "%s: data.pkl: %s on a wrong object", m->path, op == 'e' ? "APPENDS" : "SETITEMS");
      for (size_t i = 0; i < c->n; i++)
        if (!pv_push_item(a, c->it[i])) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      PUSH(a);
      break;
    }
    case 's':
      POP(c);
      POP(b);
      POP(a);
      if (a->k != PV_DICT) PFAIL(FC_EFORMAT, "%s: data.pkl: SETITEM on a non-dict", m->path);
      if (!pv_push_item(a, b) || !pv_push_item(a, c)) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      PUSH(a);
      break;
    case 'c': {
      const uint8_t *nl1 = memchr(m->p, '\n', (size_t)(m->end - m->p));
      const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(m->end - nl1 - 1)) : NULL;
      if (!nl2) PFAIL(FC_EFORMAT, "%s: data.pkl: truncated GLOBAL", m->path);
      a = make_global(m, (const char *)m->p, (size_t)(nl1 - m->p), (const char *)nl1 + 1,
                      (size_t)(nl2 - nl1 - 1));
      if (!a) return NULL;
      m->p = nl2 + 1;
      PUSH(a);
      break;
    }
    case 0x93: /* STACK_GLOBAL */
      POP(b);
      POP(a);
      if (a->k != PV_STR || b->k != PV_STR)
        PFAIL(FC_EFORMAT, "%s: data.pkl: STACK_GLOBAL needs strings", m->path);
      a = make_global(m, a->s, a->slen, b->s, b->slen);
      if (!a) return NULL;
      PUSH(a);
      break;
    case 'R':
      POP(b);
      POP(a);
      a = call(m, a, b);
      if (!a) return NULL;
      PUSH(a);
      break;
    case 0x81: /* NEWOBJ */
      POP(b);
      POP(a);
      a = call(m, a, b);
      if (!a) return NULL;
      PUSH(a);
      break;
    case 'b': /* BUILD: state is ignored (OrderedDict _metadata, Namespace fields) */
      POP(b);
      POP(a);
      if (a->k == PV_TENSOR && b->k != PV_NONE && !(b->k == PV_DICT && b->n == 0) && b->k != PV_TUPLE)
        PFAIL(FC_EUNSUPPORTED, "%s: data.pkl: tensor with extra state", m->path);
      PUSH(a);
      break;
    case 'Q': { /* BINPERSID */
      POP(a);
      fc_tensor_dtype t;
      if (a->k != PV_TUPLE || a->n < 5 || a->it[0]->k != PV_STR || strcmp(a->it[0]->s, "storage") != 0 ||
          a->it[1]->k != PV_GLOBAL || !storage_dtype(a->it[1]->s, &t) || a->it[2]->k != PV_STR ||
          a->it[4]->k != PV_INT || a->it[4]->i < 0)
        PFAIL(FC_EFORMAT,
              "%s: data.pkl: persistent id is not a ('storage', type, key, location, numel) tuple", m->path);
      b = pv_new(m, PV_STORAGE);
      if (!b) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      b->dtype = t;
      b->s = fc_strdup(a->it[2]->s);
      if (!b->s) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      b->i = a->it[4]->i;
      PUSH(b);
      break;
    }
    case 'q':
    case 'r':
    case 0x94: {
      size_t idx;
      if (op == 'q') {
        NEED(1);
        idx = *m->p++;
      } else if (op == 'r') {
        NEED(4);
        idx = rd32(m->p);
        m->p += 4;
      } else {
        idx = m->memo_count; /* Python: memo[len(memo)] */
      }
      if (m->sp == 0) PFAIL(FC_EFORMAT, "%s: data.pkl: memo store on an empty stack", m->path);
      if (!memo_put(m, idx, m->stack[m->sp - 1])) PFAIL(FC_EFORMAT, "%s: data.pkl: bad memo index", m->path);
      break;
    }
    case 'h':
    case 'j': {
      size_t idx;
      if (op == 'h') {
        NEED(1);
        idx = *m->p++;
      } else {
        NEED(4);
        idx = rd32(m->p);
        m->p += 4;
      }
      if (idx >= m->nmemo || !m->memo[idx])
        PFAIL(FC_EFORMAT, "%s: data.pkl: memo key %zu not found", m->path, idx);
      PUSH(m->memo[idx]);
      break;
    }
    case 'K':
    case 'M':
    case 'J': {
      size_t n = op == 'K' ? 1 : op == 'M' ? 2 : 4;
      NEED(n);
      a = pv_new(m, PV_INT);
      if (!a) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      a->i = op == 'J' ? (int64_t)(int32_t)rd32(m->p) : op == 'M' ? (int64_t)rd16(m->p) : (int64_t)*m->p;
      m->p += n;
      PUSH(a);
      break;
    }
    case 0x8a:
    case 0x8b: {
      size_t n;
      if (op == 0x8a) {
        NEED(1);
        n = *m->p++;
      } else {
        NEED(4);
        n = rd32(m->p);
        m->p += 4;
      }
      NEED(n);
      if (n > 8) PFAIL(FC_EUNSUPPORTED, "%s: data.pkl: integer wider than 64 bits", m->path);
      a = pv_new(m, PV_INT);
      if (!a) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      a->i = rd_le_signed(m->p, n);
      m->p += n;
      PUSH(a);
      break;
    }
    case 'G':
      NEED(8);
      m->p += 8;
      a = pv_new(m, PV_FLOAT);
      PUSH(a);
      break;
    case 'N':
      PUSH(pv_new(m, PV_NONE));
      break;
    case 0x88:
    case 0x89:
      a = pv_new(m, PV_BOOL);
      if (a) a->i = op == 0x88;
      PUSH(a);
      break;
    case 'X':
    case 0x8c:
    case 0x8d:
    case 'C':
    case 'B':
    case 'T':
    case 'U':
    case 0x8e: {
      uint64_t n;
      if (op == 0x8c || op == 'C' || op == 'U') {
        NEED(1);
        n = *m->p++;
      } else if (op == 0x8d || op == 0x8e) {
        NEED(8);
        n = rd64(m->p);
        m->p += 8;
      } else {
        NEED(4);
        n = rd32(m->p);
        m->p += 4;
      }
      NEED(n);
      a = pv_new(m, PV_STR);
      if (!a) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      a->s = fc_strndup((const char *)m->p, (size_t)n);
      if (!a->s) PFAIL(FC_ENOMEM, "%s: out of memory", m->path);
      a->slen = (size_t)n;
      m->p += n;
      PUSH(a);
      break;
    }
    default:
      PFAIL(FC_EUNSUPPORTED, "%s: data.pkl: unsupported pickle opcode 0x%02x at byte %zu", m->path, op, at);
    }
  }
}

/* ------------------------------------------------------------------ tensors */

typedef struct {
  const char *key;
  const uint8_t *data;
  uint64_t size;
} sdata;

static fc_status storage_bytes(fc_weights *w, zip_t *za, const zdir *d, const char *root, const uint8_t *base,
                               size_t len, const char *key, sdata **cache, size_t *ncache,
                               const uint8_t **out, uint64_t *size, const char *path, fc_error *err) {
  for (size_t i = 0; i < *ncache; i++)
    if (strcmp((*cache)[i].key, key) == 0) {
      *out = (*cache)[i].data;
      *size = (*cache)[i].size;
      return FC_OK;
    }
  char *name = fc_sprintf("%s/data/%s", root, key);
  if (!name) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  const zent *z = NULL;
  for (size_t i = 0; i < d->n && !z; i++)
    if (strcmp(d->e[i].name, name) == 0) z = &d->e[i];
  if (!z) {
    fc_status s = fc_error_set(err, FC_EFORMAT, "%s: storage record '%s' is missing", path, name);
    free(name);
    return s;
  }
  if (z->method == 0 && z->comp_size == z->size && z->data_off <= len && len - z->data_off >= z->size) {
    *out = base + z->data_off;
    *size = z->size;
  } else {
    zip_int64_t idx = zip_name_locate(za, name, 0);
    zip_file_t *zf = idx >= 0 ? zip_fopen_index(za, (zip_uint64_t)idx, 0) : NULL;
    uint8_t *buf = zf && z->size < ((uint64_t)1 << 40) ? malloc(z->size ? z->size : 1) : NULL;
    zip_int64_t got = buf ? zip_fread(zf, buf, z->size) : -1;
    if (zf) zip_fclose(zf);
    if (got < 0 || (uint64_t)got != z->size) {
      free(buf);
      fc_status s = fc_error_set(err, FC_EFORMAT, "%s: cannot read storage record '%s'", path, name);
      free(name);
      return s;
    }
    if (!fcw_own(w, buf)) {
      free(name);
      return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    }
    *out = buf;
    *size = z->size;
  }
  free(name);
  sdata *nc = realloc(*cache, (*ncache + 1) * sizeof *nc);
  if (!nc) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  *cache = nc;
  nc[*ncache].key = key;
  nc[*ncache].data = *out;
  nc[*ncache].size = *size;
  (*ncache)++;
  return FC_OK;
}

static void bswap_elems(uint8_t *p, size_t n, size_t es) {
  for (size_t i = 0; i < n; i++)
    for (size_t a = 0, b = es - 1; a < b; a++, b--) {
      uint8_t t = p[i * es + a];
      p[i * es + a] = p[i * es + b];
      p[i * es + b] = t;
    }
}

static fc_status add_tensor(fc_weights *w, const char *name, const pv *tv, const uint8_t *sbytes,
                            uint64_t ssize, int in_map, int bigendian, const char *path, fc_error *err) {
  const pv *s = tv->storage;
  fc_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = s->dtype;
  t.ndim = tv->ndim;
  size_t es = fc_tensor_dtype_size(t.dtype);
  uint64_t snumel = (uint64_t)s->i;
  if (snumel > ssize / es)
    return fc_error_set(err, FC_EFORMAT,
                        "%s: tensor '%s': storage %s holds %llu bytes, numel %llu needs more", path, name,
                        s->s, (unsigned long long)ssize, (unsigned long long)snumel);
  uint64_t numel = 1, maxidx = 0;
  int contiguous = 1;
  int64_t expect = 1;
  if (tv->off < 0)
    return fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': negative storage offset", path, name);
  for (int i = tv->ndim - 1; i >= 0; i--) {
    if (tv->shape[i] < 0 || tv->stride[i] < 0)
      return fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': negative size or stride", path, name);
    t.shape[i] = tv->shape[i];
    if (tv->shape[i] && numel > (UINT64_MAX >> 8) / (uint64_t)tv->shape[i])
      return fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': size overflows", path, name);
    numel *= (uint64_t)tv->shape[i];
    if (tv->shape[i] > 1 && tv->stride[i] != expect) contiguous = 0;
    if (tv->shape[i] && (uint64_t)tv->stride[i] > (UINT64_MAX >> 8) / (uint64_t)tv->shape[i])
      return fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': stride overflows", path, name);
    if (tv->shape[i]) maxidx += (uint64_t)(tv->shape[i] - 1) * (uint64_t)tv->stride[i];
    expect *= tv->shape[i] ? tv->shape[i] : 1;
  }
  if (numel && (uint64_t)tv->off + maxidx >= snumel)
    return fc_error_set(
        err, FC_EFORMAT,
        "%s: tensor '%s': view (offset %lld, shape and strides) reaches element %llu of storage %s "
        "with %llu elements",
        path, name, (long long)tv->off, (unsigned long long)(tv->off + maxidx), s->s,
        (unsigned long long)snumel);
  t.numel = (size_t)numel;
  t.nbytes = t.numel * es;
  const uint8_t *src = numel ? sbytes + (size_t)tv->off * es : sbytes;
  if (contiguous && !bigendian) {
    t.data = src;
    t.mapped = in_map; /* a compressed record was inflated into owned memory: not a file mapping */
  } else {
    uint8_t *buf = malloc(t.nbytes ? t.nbytes : 1);
    if (!buf || !fcw_own(w, buf)) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    int64_t idx[FC_TENSOR_MAX_DIMS] = {0};
    for (size_t k = 0; k < t.numel; k++) {
      int64_t o = 0;
      for (int i = 0; i < tv->ndim; i++)
        o += idx[i] * tv->stride[i];
      memcpy(buf + k * es, src + (size_t)o * es, es);
      for (int i = tv->ndim - 1; i >= 0; i--) {
        if (++idx[i] < tv->shape[i]) break;
        idx[i] = 0;
      }
    }
    if (bigendian) bswap_elems(buf, t.numel, es);
    t.data = buf;
  }
  return fcw_add(w, name, &t, path, err);
}

static int dict_has_tensor(const pv *d) {
  for (size_t i = 1; i < d->n; i += 2)
    if (d->it[i]->k == PV_TENSOR) return 1;
  return 0;
}

static fc_status read_entry(zip_t *za, const char *name, char **out, size_t *len, const char *path,
                            fc_error *err) {
  zip_stat_t zs;
  *out = NULL;
  if (zip_stat(za, name, 0, &zs) != 0) return FC_ENOTFOUND;
  if (!(zs.valid & ZIP_STAT_SIZE) || zs.size > ((uint64_t)1 << 34))
    return fc_error_set(err, FC_EFORMAT, "%s: record %s has no usable size", path, name);
  zip_file_t *zf = zip_fopen(za, name, 0);
  char *buf = malloc(zs.size + 1);
  zip_int64_t got = zf && buf ? zip_fread(zf, buf, zs.size) : -1;
  if (zf) zip_fclose(zf);
  if (got < 0 || (uint64_t)got != zs.size) {
    free(buf);
    return fc_error_set(err, FC_EFORMAT, "%s: cannot read record %s (corrupt or truncated archive)", path,
                        name);
  }
  buf[zs.size] = '\0';
  *out = buf;
  *len = zs.size;
  return FC_OK;
}

fc_status fcw_load_torch_zip(fc_weights *w, const char *path, fc_error *err) {
  const uint8_t *base;
  size_t len;
  fc_status st = fcw_map_file(w, path, &base, &len, err);
  if (st != FC_OK) return st;
  if (!w->format) w->format = "torch-zip";
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(base, len, 0, &ze);
  zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
  if (!za) {
    st = fc_error_set(err, FC_EFORMAT, "%s: not a readable zip archive: %s", path, zip_error_strerror(&ze));
    if (src) zip_source_free(src);
    zip_error_fini(&ze);
    return st;
  }
  zip_error_fini(&ze);
  zdir d;
  char *root = NULL, *pkl = NULL, *bo = NULL;
  size_t pkl_len = 0, bo_len = 0;
  sdata *cache = NULL;
  size_t ncache = 0;
  pm m;
  memset(&m, 0, sizeof m);
  st = zdir_read(base, len, path, &d, err);
  if (st != FC_OK) goto out_nodir;
  if (d.n == 0 || !strchr(d.e[0].name, '/')) {
    st = fc_error_set(err, FC_EFORMAT, "%s: zip archive has no top-level folder (not a torch.save file)",
                      path);
    goto out;
  }
  root = fc_strndup(d.e[0].name, (size_t)(strchr(d.e[0].name, '/') - d.e[0].name));
  char *nm = root ? fc_sprintf("%s/constants.pkl", root) : NULL;
  if (!nm) {
    st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    goto out;
  }
  int ts = zip_name_locate(za, nm, 0) >= 0;
  free(nm);
  if (ts) {
    st = fc_error_set(err, FC_EUNSUPPORTED,
                      "%s: TorchScript archive (constants.pkl); save the state_dict instead", path);
    goto out;
  }
  nm = fc_sprintf("%s/data.pkl", root);
  st = nm ? read_entry(za, nm, &pkl, &pkl_len, path, err) : FC_ENOMEM;
  if (st == FC_ENOTFOUND)
    st = fc_error_set(err, FC_EFORMAT, "%s: no %s record (not a torch.save file)", path, nm);
  free(nm);
  if (st != FC_OK) goto out;
  nm = fc_sprintf("%s/byteorder", root);
  st = nm ? read_entry(za, nm, &bo, &bo_len, path, err) : FC_ENOMEM;
  free(nm);
  if (st == FC_ENOTFOUND) st = FC_OK;
  if (st != FC_OK) goto out;
  int big = bo && strncmp(bo, "big", 3) == 0;
  if (bo && !big && strncmp(bo, "little", 6) != 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: unknown byteorder record '%.16s'", path, bo);
    goto out;
  }
  m.path = path;
  m.err = err;
  m.p = (const uint8_t *)pkl;
  m.end = m.p + pkl_len;
  fc_error_clear(err);
  pv *top = run_pickle(&m);
  if (!top) {
    st = err ? err->code : FC_EFORMAT;
    if (st == FC_OK) st = FC_EFORMAT;
    goto out;
  }
  pv *sd = NULL;
  if (top->k == PV_DICT && dict_has_tensor(top))
    sd = top;
  else if (top->k == PV_DICT)
    for (size_t i = 0; i + 1 < top->n && !sd; i += 2) {
      const pv *k = top->it[i], *v = top->it[i + 1];
      if (k->k == PV_STR && v->k == PV_DICT && dict_has_tensor(v) &&
          (!strcmp(k->s, "state_dict") || !strcmp(k->s, "model") || !strcmp(k->s, "module")))
        sd = top->it[i + 1];
    }
  if (!sd) {
    st = fc_error_set(err, FC_EFORMAT, "%s: data.pkl holds no state dict of tensors", path);
    goto out;
  }
  for (size_t i = 0; i + 1 < sd->n; i += 2) {
    const pv *k = sd->it[i], *v = sd->it[i + 1];
    if (v->k != PV_TENSOR) continue;
    if (k->k != PV_STR) {
      st = fc_error_set(err, FC_EFORMAT, "%s: state dict key is not a string", path);
      goto out;
    }
    const uint8_t *sb = NULL;
    uint64_t ss = 0;
    st = storage_bytes(w, za, &d, root, base, len, v->storage->s, &cache, &ncache, &sb, &ss, path, err);
    if (st != FC_OK) goto out;
    int in_map = base && sb >= base && sb < base + len; /* stored uncompressed: inside the mapped file */
    st = add_tensor(w, k->s, v, sb, ss, in_map, big, path, err);
    if (st != FC_OK) goto out;
  }
out:
  zdir_free(&d);
out_nodir:
  pm_free(&m);
  free(cache);
  free(root);
  free(pkl);
  free(bo);
  zip_discard(za);
  return st;
}
