/*
 * model.h - a model opened for inference (internal).
 *
 * Weights point into the artifact's mapping; only the small vectors (norm
 * weights, biases) are copied to f32.  Shapes use the config's names:
 * dim = hidden_size, hd = head_dim, nh / nkv = query / key-value heads,
 * ffn = ffn_size, vocab = vocab_size.
 */
#ifndef INGOT_MODEL_H
#define INGOT_MODEL_H

#include "ingot.h"
#include "kernels/cpu/kernels.h"
#include "artifact/artifact.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

typedef struct ingot_layer {
    const float *attn_norm;      // (dim)
    ingot_wmat wq;               // (nh*hd, dim)
    ingot_wmat wk;               // (nkv*hd, dim)
    ingot_wmat wv;               // (nkv*hd, dim)
    ingot_wmat wo;               // (dim, nh*hd)
    const float *bq, *bk, *bv;   // (nh*hd), (nkv*hd), (nkv*hd) or NULL
    const float *bo;             // (dim) or NULL
    const float *ffn_norm;       // (dim)
    ingot_wmat w_gate;           // (ffn, dim)
    ingot_wmat w_up;             // (ffn, dim)
    ingot_wmat w_down;           // (dim, ffn)
    const float *b_gate, *b_up;  // (ffn) or NULL
    const float *b_down;         // (dim) or NULL
} ingot_layer;

struct ingot_model {
    ingot_artifact *art;
    ingot_config cfg;
    ingot_tokenizer *tok;
    ingot_wmat embed;            // (vocab, dim)
    ingot_wmat output;           // (vocab, dim); the embedding when tied
    const float *out_norm;       // (dim)
    ingot_layer *layers;         // (n_layers)
    float *pool;                 // owned f32 copies of norms and biases
    size_t pool_used, pool_cap;
    char *chat_template;         // NULL when the artifact has none
    char *bos_token, *eos_token; // token strings for the chat template, or NULL
    uint64_t n_params, weight_bytes, bytes_per_token, flops_per_token;
};

/** Builds a wmat view of a stored tensor (plain or quantized). */
int ingot_wmat_from_tensor(ingot_model *m, const ingot_tensor *t, ingot_wmat *w, ingot_error *err);

#endif
