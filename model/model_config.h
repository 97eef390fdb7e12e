/*
 * config.h - the normalized model configuration.
 *
 * convert/hf_config.c fills it from a HuggingFace config.json; the artifact
 * manifest stores it under "config" (ingot_config_to_json) and the runtime
 * reads it back (ingot_config_from_json).  Every field the forward pass needs
 * is here, already resolved (head_dim computed, rope scaling normalized).
 */
#ifndef INGOT_MODEL_CONFIG_H
#define INGOT_MODEL_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ingot.h"

#define INGOT_MAX_EOS 8
/* Limits that reject absurd configs before anything is allocated. */
#define INGOT_MAX_LAYERS 1024
#define INGOT_MAX_DIM (1 << 20)
#define INGOT_MAX_VOCAB (1 << 24)
#define INGOT_MAX_POS (1 << 24)

typedef enum ingot_arch {
    INGOT_ARCH_LLAMA = 0, /* also DeepSeek LLM / Coder (Llama-based) */
    INGOT_ARCH_MISTRAL,
    INGOT_ARCH_QWEN2
} ingot_arch;

typedef enum ingot_rope_type {
    INGOT_ROPE_DEFAULT = 0,
    INGOT_ROPE_LINEAR,
    INGOT_ROPE_DYNAMIC, /* dynamic NTK */
    INGOT_ROPE_LLAMA3,
    INGOT_ROPE_YARN
} ingot_rope_type;

typedef struct ingot_rope {
    ingot_rope_type type;
    double theta;            /* base */
    double factor;           /* scaling factor (1 when none) */
    double low_freq_factor;  /* llama3 */
    double high_freq_factor; /* llama3 */
    int original_max_pos;    /* llama3, yarn, dynamic */
    double beta_fast;        /* yarn (default 32) */
    double beta_slow;        /* yarn (default 1) */
    double attention_factor; /* yarn mscale; 0 = derive from factor */
    double partial_rotary_factor; /* 1.0 = whole head */
} ingot_rope;

typedef struct ingot_config {
    ingot_arch arch;
    char model_type[32];     /* as in config.json: "llama", "mistral", "qwen2" */
    int hidden_size;         /* (dim) */
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int head_dim;
    int ffn_size;            /* intermediate_size */
    int vocab_size;
    int max_pos;             /* max_position_embeddings */
    int sliding_window;      /* 0 = none (Mistral may set it) */
    double rms_eps;
    ingot_rope rope;
    bool tied_embeddings;
    bool qkv_bias;           /* Qwen2, or attention_bias */
    bool o_bias;             /* attention_bias on Llama also biases o_proj */
    bool mlp_bias;
    int bos_id;              /* -1 when none */
    int n_eos;
    int eos_ids[INGOT_MAX_EOS];
    ingot_dtype dtype;       /* the checkpoint's declared dtype (bf16, f16 or f32);
                                INGOT_DT_COUNT when config.json declares none */
} ingot_config;

/** @return "llama", "mistral" or "qwen2". */
const char *ingot_arch_name(ingot_arch a);
/** @return "default", "linear", "dynamic", "llama3" or "yarn". */
const char *ingot_rope_type_name(ingot_rope_type t);
/** @return the arch named s (as ingot_arch_name writes it), or -1. */
int ingot_arch_from_name(const char *s);
/** @return the rope type named s (as ingot_rope_type_name writes it), or -1. */
int ingot_rope_type_from_name(const char *s);

/**
 * Checks the invariants the runtime relies on (positive sizes, heads
 * dividing, products that fit in 64 bits).  what names the source in errors.
 */
int ingot_config_validate(const ingot_config *c, const char *what, ingot_error *err);

/** @return a new JSON object with the normalized config (caller decrefs). */
json_t *ingot_config_to_json(const ingot_config *c);
/** Reads back what ingot_config_to_json wrote, and validates it. */
int ingot_config_from_json(const json_t *j, ingot_config *c, const char *what,
                           ingot_error *err);

#endif /* INGOT_MODEL_CONFIG_H */
