/* fantasia.c — config: a small ordered YAML tree (libyaml), FANTASIA's configuration
 * semantics (config file + CLI overrides, merge algorithm of spec §2.3) and the experiment folder.
 *
 * YAML tree
 * ---------
 * fc_ynode is public. A node is a scalar (text + whether it was quoted in the source), a map
 * (keys in insertion order; a repeated key replaces the earlier value, like PyYAML) or a
 * sequence. Anchors/aliases are expanded by copying. Only the first document of a stream is read;
 * an empty document is an empty map. Tags are ignored (the scalar text is kept).
 * Nodes own their children: freeing a node frees the subtree.
 *
 * A plain scalar is "null" when its text is "", "~", "null", "Null" or "NULL" (YAML 1.1).
 * Typed reads (fc_ynode_bool/int/double) work on the scalar text whether quoted or not, which
 * is what FANTASIA's string-valued CLI overrides need ("--limit_execution 5" is the text "5").
 */
#ifndef FANTASIA_CONFIG_H
#define FANTASIA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FC_YSCALAR = 0, FC_YMAP = 1, FC_YSEQ = 2 } fc_ytype;

typedef struct fc_ynode fc_ynode;
struct fc_ynode {
  fc_ytype type;
  char *text;       /* scalar: its text (never NULL for a scalar) */
  int quoted;       /* scalar: 1 when quoted / block literal in the source, or set as a string */
  size_t n, cap;    /* map: number of entries; seq: number of items */
  fc_ynode **keys;  /* map: key scalars (n) */
  fc_ynode **items; /* map: values (n); seq: items (n) */
  int line, col;    /* 1-based source position, 0 for nodes built in code */
};

/* ---- loading ---- */
/* Errors: FC_EIO (cannot read), FC_EFORMAT "<file>:<line>:<col>: YAML syntax error: <problem>". */
fc_status fc_yaml_load_file(const char *path, fc_ynode **out, fc_error *err);
fc_status fc_yaml_load_string(const char *text, fc_ynode **out, fc_error *err);

/* ---- building / freeing ---- */
fc_ynode *fc_ynode_new_map(void);
fc_ynode *fc_ynode_new_seq(void);
fc_ynode *fc_ynode_new_scalar(const char *text, int quoted); /* text copied; NULL -> "null" plain */
fc_ynode *fc_ynode_copy(const fc_ynode *n);                  /* deep copy; NULL on ENOMEM */
void fc_ynode_free(fc_ynode *n);                             /* NULL is fine */
/* Put key -> value into a map (value ownership taken, also on failure). Replaces an existing key
 * in place (order kept); appends otherwise. */
fc_status fc_ynode_map_put(fc_ynode *map, const char *key, fc_ynode *value, fc_error *err);
fc_status fc_ynode_seq_push(fc_ynode *seq, fc_ynode *item, fc_error *err); /* ownership taken */
/* Remove a key from a map (frees key and value); returns 1 if it existed. */
int fc_ynode_map_remove(fc_ynode *map, const char *key);

/* ---- access (borrowed pointers, valid while the tree lives) ---- */
fc_ytype fc_ynode_type(const fc_ynode *n);
const char *fc_ynode_text(const fc_ynode *n); /* scalar text, NULL for non-scalars / NULL node */
int fc_ynode_is_null(const fc_ynode *n);      /* NULL pointer or plain null scalar */
size_t fc_ynode_size(const fc_ynode *n);      /* entries of a map / items of a seq, 0 otherwise */
const char *fc_ynode_map_key(const fc_ynode *map, size_t i);
const fc_ynode *fc_ynode_map_value(const fc_ynode *map, size_t i);
const fc_ynode *fc_ynode_seq_item(const fc_ynode *seq, size_t i);
const fc_ynode *fc_ynode_map_find(const fc_ynode *map, const char *key); /* one level, exact key */
/* Walk maps along "a.b.c". NULL if any step is missing or not a map. */
const fc_ynode *fc_ynode_get(const fc_ynode *map, const char *dotted_path);

/* Parse helpers. They return FC_OK, or FC_EINVAL (err names the value) when the node is not a
 * scalar of that kind. Booleans are FANTASIA's "boolish": 1,true,t,yes,y,on / 0,false,f,no,n,off,
 * case-insensitive. Integers: optional sign, decimal digits ('_' separators allowed, as YAML 1.1).
 * Doubles: strtod syntax plus YAML's .inf/.nan spellings. */
fc_status fc_ynode_bool(const fc_ynode *n, int *out, fc_error *err);
fc_status fc_ynode_int(const fc_ynode *n, long *out, fc_error *err);
fc_status fc_ynode_double(const fc_ynode *n, double *out, fc_error *err);
int fc_parse_boolish(const char *s, int *out); /* 1 when s is boolish */

/* ---- modifying ---- */
/* Set "a.b.c" to a scalar, creating intermediate maps. A non-map on the way is an FC_EINVAL
 * error. set_scalar stores a plain scalar (typed as if written in a YAML file); set_string
 * stores a quoted string. fc_ynode_set takes ownership of value (also on failure). */
fc_status fc_ynode_set_scalar(fc_ynode *root, const char *dotted_path, const char *value, fc_error *err);
fc_status fc_ynode_set_string(fc_ynode *root, const char *dotted_path, const char *value, fc_error *err);
fc_status fc_ynode_set(fc_ynode *root, const char *dotted_path, fc_ynode *value, fc_error *err);
/* Deep merge: maps merge key by key (recursively); anything else in src replaces dst's value. */
fc_status fc_ynode_merge(fc_ynode *dst, const fc_ynode *src, fc_error *err);
/* Structural equality: same types, same texts, same keys in the same order. Quoting is compared
 * only as YAML meaning: a quoted "5" differs from a plain 5, a quoted "abc" equals a plain abc. */
int fc_ynode_equal(const fc_ynode *a, const fc_ynode *b);

/* ---- dumping ----
 * Like Python's yaml.safe_dump(default_flow_style=False): block style, map keys sorted by byte
 * order, 2-space indentation, sequences inside maps not indented, empty collections as {} / [],
 * strings quoted (single, or double with escapes) only when they would otherwise read back as a
 * different type or are not plain-safe. Long strings are not folded (PyYAML folds at 80 columns;
 * the value read back is the same). fc_yaml_dump_file is atomic (temp file + rename). */
fc_status fc_yaml_dump_file(const fc_ynode *root, const char *path, fc_error *err);
char *fc_yaml_dump_string(const fc_ynode *root); /* caller frees; NULL on ENOMEM */

/* ======================================================================
 * FANTASIA run configuration (docs/configuration.md lists every key and default).
 * ====================================================================== */

typedef struct {
  char *name;
  int enabled;
  int *layers; /* layer_index list; NULL/0 when layer_index is null (FANTASIA "legacy") */
  size_t n_layers;
  double distance_threshold; /* NAN = none */
  int batch_size;
  int fantasia_pooling; /* OUR key models.<Name>.pooling: "residues" (0, default) | "fantasia" (1) */
  char *path;      /* our key: model directory, or the built-in "kmer" (default for a model named kmer) */
  int64_t type_id; /* FANTASIA DB id: ESM 1, Prost-T5 2, Prot-T5 3, Ankh3-Large 4, ESM3c 5, kmer 0;
                      -1 unknown. Our key `type_id` overrides. */
} fc_model_cfg;

typedef struct {
  char *metric;
  char **funs; /* "min" | "max" | "mean" ("avg" is normalised to "mean"; others dropped with a warning) */
  size_t n_funs;
} fc_metric_cfg;

typedef struct {
  char *key;
  int is_number; /* weights[key] is a number ... */
  double number;
  char **fun_keys; /* ... or a map fun -> number */
  double *fun_values;
  size_t n_fun;
} fc_weight_cfg;

typedef struct {
  char *input, *prefix, *base_directory, *log_path, *experiment_path;
  /* base_directory is expanded (~). log_path is "<expanduser(log_path)>/Logs_<timestamp>", a
   * directory the caller creates. experiment_path is NULL until fc_config_make_experiment. */
  int only_lookup, only_embedding;
  long limit_execution;  /* 0 = no limit; limits the queries only, never the reference */
  char *reference;       /* OUR key: path of the reference store (SQLite file); CLI --reference */
  char *models_dir;      /* OUR key embedding.models_dir: folder of model directories (fc_model_locate) */
  char *device;          /* as given ("cpu" default); "cuda*" accepted with a warning, runs on CPU */
  char *distance_metric; /* "cosine" | "euclidean" */
  long limit_per_entry;
  long lookup_batch_size;
  int precision;
  long max_sequence_length; /* 0 = no truncation */
  long queue_batch_size;
  long batch_tokens; /* OUR key embedding.batch_tokens: tokens per packed PLM batch; 0 = embed's default */
  char *max_memory;  /* OUR key embedding.max_memory: PLM working-memory budget as written ("8G"); NULL =
                        embed's default (half of the RAM); parsed by the run (fc_parse_bytes) */
  double redundancy_identity, redundancy_coverage;
  int redundancy_threads;
  char **tax_exclude;
  size_t n_tax_exclude;
  char **tax_include;
  size_t n_tax_include;
  int get_descendants;
  char *taxonomy_nodes;          /* OUR key: nodes.dmp path; required when get_descendants is true */
  int exclude_self;              /* OUR key lookup.exclude_self */
  double exclude_identity_above; /* OUR key lookup.exclude_identity_above, NAN = none */
  char *ontology;            /* OUR key `ontology`: OBO file (goPredSim leaves, propagation, evaluation) */
  char *scoring;             /* OUR key lookup.scoring: "fantasia" (default) | "gopredsim" */
  int write_predictions;     /* OUR key predictions.write (default true): predictions/ and cafa/ files */
  int propagate_predictions; /* OUR key predictions.propagate (default false): max through `ontology` */
  char *predictions_author;  /* OUR key predictions.author: the CAFA file's AUTHOR (default fantasia.c) */
  char *eval_ground_truth;   /* OUR key evaluation.ground_truth: target<TAB>GO file; NULL = no evaluation */
  char *eval_ontology;       /* OUR key evaluation.ontology (NULL: `ontology`) */
  char *eval_ia;             /* OUR key evaluation.ia: term<TAB>ia file (optional) */
  int keep_sequences;
  int alignments;   /* OUR key postprocess.alignments */
  char *raw_format; /* OUR key postprocess.raw_format: "tsv" | "csv_tree" | "both" */
  int include_counts;
  fc_metric_cfg *metrics;
  size_t n_metrics;
  char **alias_keys, **alias_values;
  size_t n_aliases;
  fc_weight_cfg *weights;
  size_t n_weights;
  char *weighted_prefix;
  int store_workers;
  int threads; /* flat `threads` when given (also the MMseqs2-style redundancy threads), else 0 = auto */
  fc_model_cfg *models; /* every model in YAML order; enabled ones are the run's types */
  size_t n_models;
  char **unused_keys; /* dotted keys accepted but without effect here (DB_*, rabbitmq_*, ...) */
  size_t n_unused;
  char **unknown_keys; /* dotted keys nobody reads (warned at load) */
  size_t n_unknown;
  char timestamp[16]; /* YYYYmmddHHMMSS taken at load; used for Logs_ and the experiment folder */
  fc_ynode *tree;     /* merged tree, dumped as experiment_config.yaml */
} fc_run_config;

/* Load a config file (path NULL: the built-in defaults, identical to config/config.yaml) and apply
 * CLI-style overrides: "--flag value" / "--flag=value" tokens. FANTASIA's run flags and ours are
 * typed and validated; any other "--key value" becomes a flat string key ("--key" alone: true); a
 * dotted key ("--lookup.precision 3") sets the nested key (our extension). "--config X" is skipped
 * (the caller resolves the path). Warnings (unknown keys, unsupported device, unknown metric) go to
 * fc_log_warn. Errors: FC_EIO/FC_EFORMAT (file), FC_EINVAL (values, validation). */
fc_status fc_config_load(const char *path, const char *const *overrides, int n_overrides, fc_run_config **out,
                         fc_error *err);
void fc_config_free(fc_run_config *c);
/* Create <base_directory>/experiments/<prefix>_<timestamp>/ (suffix _2, _3, ... when it exists),
 * set c->experiment_path (and the tree's experiment_path) and write experiment_config.yaml
 * atomically. Errors: FC_EIO naming the path. */
fc_status fc_config_make_experiment(fc_run_config *c, fc_error *err);
/* FANTASIA type id for a model name (case-insensitive), -1 if unknown. */
int64_t fc_config_model_type_id(const char *name);
/* The built-in default configuration text (same values as config/config.yaml). */
const char *fc_config_default_yaml(void);

#ifdef __cplusplus
}
#endif
#endif
