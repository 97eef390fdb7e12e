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

#include <stdbool.h>
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
 *         (other model_type, hidden_act, rope type, a quantization_config
 *         that ingot_hf_quant_parse refuses...).
 */
int ingot_hf_config_parse(const char *json_text, size_t len, const char *what, ingot_config *out,
                          ingot_error *err);

/**
 * Reads and parses <hf_dir>/config.json; errors name that path.
 * @return 0, or -1 with err filled (INGOT_ERR_IO when the file is unreadable).
 */
int ingot_hf_config_load(const char *hf_dir, ingot_config *out, ingot_error *err);

/** How a pre-quantized checkpoint stores its linear weights (config.json's quantization_config). */
typedef enum ingot_hfq_method {
    INGOT_HFQ_NONE = 0, /* no quantization_config: float weights */
    INGOT_HFQ_AWQ,      /* AutoAWQ GEMM, 4 bits, zero point -> int4 */
    INGOT_HFQ_GPTQ,     /* GPTQ, 4 bits, desc_act false -> int4 */
    INGOT_HFQ_BNB4,     /* bitsandbytes nf4 -> nf4 */
    INGOT_HFQ_BNB8      /* bitsandbytes LLM.int8 -> int8 */
} ingot_hfq_method;

/* int4 groups are whole 32-weight chunks (formats.h INGOT_Q4_GROUP_ALIGN) */
#define INGOT_HFQ_GROUP_ALIGN 32

typedef struct ingot_hf_quant {
    ingot_hfq_method method;
    int group_size;    /* awq, gptq: inputs per group; gptq -1: the whole row */
    bool sym;          /* gptq: symmetric (zero 8); read from the stored zeros either way */
    bool gptq_v2;      /* gptq: checkpoint_format gptq_v2 stores zeros as is; v1 ("gptq")
                        * stores zero - 1 */
    bool double_quant; /* bnb4: bnb_4bit_use_double_quant as declared */
} ingot_hf_quant;

/**
 * Reads quantization_config from config.json's text: awq (version gemm, bits
 * 4, zero_point), gptq (bits 4, desc_act false, checkpoint_format gptq or
 * gptq_v2) and bitsandbytes (load_in_4bit with nf4, or load_in_8bit) are
 * read; anything else is INGOT_ERR_UNSUPPORTED with the field and why.
 * No quantization_config: method INGOT_HFQ_NONE.
 * @return 0, or -1 with err "<what>: quantization_config.<field>: <why>".
 */
int ingot_hf_quant_parse(const char *json_text, size_t len, const char *what, ingot_hf_quant *out,
                         ingot_error *err);

#endif /* INGOT_HF_CONFIG_H */
