/*
 * hf_files.h - checks the HuggingFace files an artifact stores verbatim
 * (internal to libingot), so that the runtime never meets a malformed one.
 *
 * Kinds (the file's base name) and what is checked:
 *   tokenizer.json          JSON object with a "model" object whose "vocab" is
 *                           an object of token -> integer id (BPE, WordPiece,
 *                           WordLevel) or a Unigram list of [piece, score];
 *                           every id in model.vocab, added_tokens[].id and
 *                           post_processor special tokens is an integer in
 *                           [0, vocab_size); added_tokens entries have a
 *                           string "content".
 *   tokenizer_config.json   JSON object; chat_template is a string or a list of
 *                           {name, template} strings; bos/eos/unk/sep/pad/cls/
 *                           mask_token are a string, null or {content: string};
 *                           additional_special_tokens / extra_special_tokens
 *                           hold such tokens; added_tokens_decoder keys are
 *                           ids in [0, vocab_size) mapping to {content: ...}.
 *   special_tokens_map.json the same special-token rules.
 *   generation_config.json  JSON object; bos/eos/pad/decoder_start_token_id
 *                           are null, an id or a list of ids, each in
 *                           [0, vocab_size); temperature >= 0, 0 <= top_p <= 1,
 *                           top_k >= 0, repetition_penalty > 0, max_length /
 *                           max_new_tokens >= 0, do_sample a boolean.
 *   chat_template.jinja     valid UTF-8 without NUL bytes.
 *   config.json             a JSON object (ingot_hf_config_parse does the rest).
 *
 * Integers too large for 64 bits (tokenizer_config's model_max_length is often
 * 1e30 written as an integer) are accepted where no integer is needed.
 * Errors are one line, "<path>: <field>: <why>", naming the token at fault.
 */
#ifndef INGOT_HF_FILES_H
#define INGOT_HF_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "ingot.h"

/**
 * Validates one HF file.
 * @param path       the file, named in errors; read from disk when data is NULL.
 * @param kind       its kind, one of the base names above.
 * @param data, len  the file's contents when the caller has already read them.
 * @param vocab_size ids must be below it; <= 0 checks only that ids are >= 0.
 * @return 0, or -1 with err filled: INGOT_ERR_FORMAT for a malformed file,
 *         INGOT_ERR_IO when it cannot be read, INGOT_ERR_ARG for an unknown kind.
 */
int ingot_hf_validate_file(const char *path, const char *kind, const char *data, size_t len,
                           int vocab_size, ingot_error *err);

/** @return true when kind is one ingot_hf_validate_file knows. */
bool ingot_hf_file_kind_known(const char *kind);

/**
 * Checks that s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF).
 * @param bad_at when not NULL and s is invalid, receives the offset of the
 *        first bad byte.
 */
bool ingot_utf8_valid(const char *s, size_t len, size_t *bad_at);

#endif /* INGOT_HF_FILES_H */
