/*
 * hf_config.h - reads a HuggingFace config.json into the normalized
 * ingot_config (internal to libingot).
 *
 * Supported model_type values: "llama" (also DeepSeek LLM / Coder and
 * DeepSeek-R1-Distill-Llama), "mistral", "qwen2" (Qwen2, Qwen2.5 and
 * DeepSeek-R1-Distill-Qwen).  Both transformers 4.x keys (rope_theta,
 * rope_scaling, torch_dtype) and 5.x keys (rope_parameters, dtype) are read;
 * absent optional keys take transformers' defaults for the model type.
 *
 * Everything is checked before the caller allocates anything from it: sizes
 * within the INGOT_MAX_* limits, integers where integers are expected, heads
 * dividing, token ids below vocab_size, products that fit in 64 bits.  Errors
 * are one line: "<what>: <field>: <why>".
 */
#ifndef INGOT_HF_CONFIG_H
#define INGOT_HF_CONFIG_H

#include <stddef.h>

#include "ingot.h"
#include "model/model_config.h"

/** Largest config.json read (real ones are a few KB). */
#define INGOT_HF_CONFIG_MAX_BYTES ((size_t)16 << 20)

/**
 * Parses the config.json text json_text[0..len) (need not be NUL-terminated).
 * @param what names the file in error messages (NULL: "config.json").
 * @param out  written only on success.
 * @return 0, or -1 with err filled: INGOT_ERR_FORMAT for malformed or absurd
 *         values, INGOT_ERR_UNSUPPORTED for a model ingot does not run
 *         (other model_type, hidden_act, rope type, quantized checkpoint...).
 */
int ingot_hf_config_parse(const char *json_text, size_t len, const char *what, ingot_config *out,
                          ingot_error *err);

/**
 * Reads and parses <hf_dir>/config.json; errors name that path.
 * @return 0, or -1 with err filled (INGOT_ERR_IO when the file is unreadable).
 */
int ingot_hf_config_load(const char *hf_dir, ingot_config *out, ingot_error *err);

#endif /* INGOT_HF_CONFIG_H */
