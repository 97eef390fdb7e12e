/*
 * tokenizer.h - HuggingFace tokenizer.json tokenizers (internal API).
 *
 * Reproduces the `tokenizers` library (0.2x) for the byte-level and
 * SentencePiece-style BPE tokenizers of Llama 2/3, Mistral, Qwen2 and
 * DeepSeek: added tokens, normalizers, pre-tokenizers, BPE, the
 * TemplateProcessing post-processor and the decoders.  Anything the file
 * asks for that is not implemented is refused at load time, naming the
 * field, so that a tokenizer never silently produces different ids.
 *
 * A loaded tokenizer is immutable apart from an internal, mutex-protected
 * BPE cache: encode and decode may be called from several threads at once.
 */
#ifndef INGOT_TOKENIZER_H
#define INGOT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"

typedef struct ingot_tokenizer ingot_tokenizer;

/**
 * Parses a tokenizer.json.
 * @param json       the file's text (len bytes, need not be NUL-terminated)
 * @param what       name used in error messages ("m.ingot:hf/tokenizer.json")
 * @param vocab_size the model's vocabulary size: every id must be below it
 *                   (0 skips the check)
 * @return the tokenizer, or NULL with err set ("<what>: <field>: <why>").
 */
ingot_tokenizer *ingot_tokenizer_load(const char *json, size_t len, const char *what,
                                      int vocab_size, ingot_error *err);

/** Frees t; NULL is a no-op. */
void ingot_tokenizer_free(ingot_tokenizer *t);

/**
 * Encodes len bytes of text.  Invalid UTF-8 is replaced by U+FFFD first,
 * as Python's bytes.decode('utf-8', errors='replace') does.
 * @param add_special apply the post-processor (BOS...), as HF's
 *                    add_special_tokens=True
 * @return 0 with *ids malloc'ed (never NULL, even when *n_ids is 0) and owned
 *         by the caller, or -1.
 */
int ingot_tokenizer_encode(const ingot_tokenizer *t, const char *text, size_t len, int add_special,
                           int32_t **ids, size_t *n_ids, ingot_error *err);

/**
 * Decodes ids to text as HF's decode(ids, skip_special_tokens=skip_special).
 * Ids that name no token are skipped, as HF does.
 * @return 0 with *text malloc'ed, NUL-terminated and owned by the caller
 *         (len, when not NULL, receives its length), or -1.
 */
int ingot_tokenizer_decode(const ingot_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                           char **text, size_t *len, ingot_error *err);

/** @return the id of token (an added token first, then the vocabulary), or -1. */
int ingot_tokenizer_token_id(const ingot_tokenizer *t, const char *token);

/** @return the token string of id (static to t), or NULL when id names none. */
const char *ingot_tokenizer_id_token(const ingot_tokenizer *t, int32_t id);

/** @return 1 when id is an added token marked "special", else 0. */
int ingot_tokenizer_is_special(const ingot_tokenizer *t, int32_t id);

/** @return one more than the largest id that names a token. */
int32_t ingot_tokenizer_n_ids(const ingot_tokenizer *t);

#endif /* INGOT_TOKENIZER_H */
