/* fantasia.c — tokenize: protein-model tokenizers read from a Hugging Face model directory.
 *
 * Three kinds (docs/models.md "Tokenizers"):
 *  - FC_TOK_VOCAB_TXT: ESM `vocab.txt` with HF EsmTokenizer semantics: every vocab string is matched in the
 *    text (leftmost-longest), the rest is split on whitespace and each word becomes <unk>; encoded with
 *    <cls> ... <eos>.
 *  - FC_TOK_SPIECE: SentencePiece `spiece.model` (protobuf read here) as HF's slow T5Tokenizer (legacy mode)
 *    uses it: added tokens (</s> <unk> <pad>, <extra_id_N>, `added_tokens.json`, additional special tokens
 *    of `special_tokens_map.json`) are split off first, every other span goes through SentencePiece's
 *    normalisation (whitespace clean-up, dummy "▁" prefix) and Unigram Viterbi segmentation (user-defined
 *    pieces preferred, unknown runs fused into one <unk>); </s> is appended unless already last.
 *  - FC_TOK_JSON: HF `tokenizer.json` (tokenizers pipeline): added tokens, normalizers Strip / Replace /
 *    Lowercase / Precompiled (treated as identity) / NFC/NFKC (identity on ASCII) / Sequence, pre-tokenizers
 *    Metaspace / WhitespaceSplit / Whitespace / Sequence, models Unigram / BPE / WordLevel, post-processors
 *    TemplateProcessing / BertProcessing / RobertaProcessing.
 * The ids equal HF's on the committed fixtures (tests/fixtures/tokenize/golden.json, made with transformers).
 * A tokenizer is immutable after open and may be used from several threads.
 */
#ifndef FANTASIA_TOKENIZE_H
#define FANTASIA_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FC_TOK_AUTO = 0, FC_TOK_VOCAB_TXT, FC_TOK_SPIECE, FC_TOK_JSON } fc_tokenizer_kind;

typedef struct fc_tokenizer fc_tokenizer;

/* Opens the tokenizer of a model directory. FC_TOK_AUTO picks the first present of vocab.txt, spiece.model
 * (the slow tokenizer FANTASIA uses for the T5 family), tokenizer.json. */
fc_status fc_tokenizer_open(const char *dir, fc_tokenizer_kind kind, fc_tokenizer **out, fc_error *err);
void fc_tokenizer_close(fc_tokenizer *t); /* NULL is fine */

fc_tokenizer_kind fc_tokenizer_get_kind(const fc_tokenizer *t);
size_t fc_tokenizer_vocab_size(const fc_tokenizer *t);                   /* largest id + 1 */
int32_t fc_tokenizer_token_to_id(const fc_tokenizer *t, const char *s);  /* -1 when unknown */
const char *fc_tokenizer_id_to_token(const fc_tokenizer *t, int32_t id); /* borrowed; NULL when none */
/* Special ids, -1 when the tokenizer has none. */
int32_t fc_tokenizer_unk_id(const fc_tokenizer *t);
int32_t fc_tokenizer_pad_id(const fc_tokenizer *t);
int32_t fc_tokenizer_eos_id(const fc_tokenizer *t);
int32_t fc_tokenizer_cls_id(const fc_tokenizer *t);

/* Encodes len bytes of UTF-8 text as HF's tokenizer(text)["input_ids"] (add_special = 1) or with
 * add_special_tokens=False (0). *ids is malloc'ed (caller frees; non-NULL even when *n is 0). */
fc_status fc_tokenizer_encode(const fc_tokenizer *t, const char *text, size_t len, int add_special,
                              int32_t **ids, size_t *n, fc_error *err);

/* Text handed to the tokenizer for a protein sequence, as each model's pipeline builds it. */
typedef enum {
  FC_PROTEIN_RAW = 0,   /* ESM-2, ESM C, Ankh (FastPLMs golden convention): the sequence as is */
  FC_PROTEIN_PROTT5,    /* U Z O B -> X, residues separated by single spaces */
  FC_PROTEIN_PROSTT5,   /* "<AA2fold>" + " " + ProtT5 form (amino-acid input) */
  FC_PROTEIN_ANKH3_NLU, /* "[NLU]" + sequence */
  /* FANTASIA's text for ProtT5 (spec fantasia §4.3): its t5 module gives ProtT5 ProstT5's "<AA2fold> "
   * prefix, a string ProtT5's vocabulary does not hold (it becomes <unk> / pieces). Same text as PROSTT5. */
  FC_PROTEIN_PROTT5_FANTASIA
} fc_protein_style;
/* Returns the malloc'ed text (caller frees), or NULL on allocation failure. */
char *fc_tokenizer_protein_text(fc_protein_style style, const char *seq, size_t len);

#ifdef __cplusplus
}
#endif
#endif
