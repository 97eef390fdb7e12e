/*
 * tensor_map.h - the canonical tensor list of a model (internal to libingot).
 *
 * ingot names tensors as GGUF / llama.cpp do; each spec also carries the
 * HuggingFace name it is read from and its shape in PyTorch order
 * ([out_features, in_features] for linear weights).
 *
 *   token_embd.weight            [vocab, hidden]   model.embed_tokens.weight
 *   per layer i, in this order:
 *   blk.i.attn_norm.weight       [hidden]          model.layers.i.input_layernorm.weight
 *   blk.i.attn_q.weight          [heads*hd, hidden] ...self_attn.q_proj.weight
 *   blk.i.attn_q.bias            [heads*hd]        ...self_attn.q_proj.bias   (qkv_bias)
 *   blk.i.attn_k.weight          [kv*hd, hidden]   ...self_attn.k_proj.weight
 *   blk.i.attn_k.bias            [kv*hd]           ...self_attn.k_proj.bias   (qkv_bias)
 *   blk.i.attn_v.weight          [kv*hd, hidden]   ...self_attn.v_proj.weight
 *   blk.i.attn_v.bias            [kv*hd]           ...self_attn.v_proj.bias   (qkv_bias)
 *   blk.i.attn_output.weight     [hidden, heads*hd] ...self_attn.o_proj.weight
 *   blk.i.attn_output.bias       [hidden]          ...self_attn.o_proj.bias   (o_bias)
 *   blk.i.ffn_norm.weight        [hidden]          model.layers.i.post_attention_layernorm.weight
 *   blk.i.ffn_gate.weight        [ffn, hidden]     ...mlp.gate_proj.weight
 *   blk.i.ffn_gate.bias          [ffn]             ...mlp.gate_proj.bias      (mlp_bias)
 *   blk.i.ffn_up.weight          [ffn, hidden]     ...mlp.up_proj.weight
 *   blk.i.ffn_up.bias            [ffn]             ...mlp.up_proj.bias        (mlp_bias)
 *   blk.i.ffn_down.weight        [hidden, ffn]     ...mlp.down_proj.weight
 *   blk.i.ffn_down.bias          [hidden]          ...mlp.down_proj.bias      (mlp_bias)
 *   output_norm.weight           [hidden]          model.norm.weight
 *   output.weight                [vocab, hidden]   lm_head.weight   (absent when tied)
 */
#ifndef INGOT_TENSOR_MAP_H
#define INGOT_TENSOR_MAP_H

#include <stdint.h>

#include "ingot.h"
#include "model/model_config.h"

typedef enum ingot_tensor_kind {
    INGOT_TK_EMBED,  /* token_embd.weight */
    INGOT_TK_NORM,   /* RMSNorm weights (1-D) */
    INGOT_TK_LINEAR, /* projection weights (2-D), the ones quantizers touch */
    INGOT_TK_BIAS,   /* projection biases (1-D) */
    INGOT_TK_HEAD    /* output.weight (untied lm_head) */
} ingot_tensor_kind;

typedef struct ingot_tensor_spec {
    char name[96];     /* ingot name, "blk.3.attn_q.weight" */
    char hf_name[128]; /* "model.layers.3.self_attn.q_proj.weight" */
    ingot_tensor_kind kind;
    int layer;         /* -1 for tensors outside the layers */
    int ndim;          /* 1 or 2 */
    int64_t shape[2];  /* shape[1] is 0 when ndim == 1 */
} ingot_tensor_spec;

/** @return "embed", "norm", "linear", "bias" or "head" ("unknown" otherwise). */
const char *ingot_tensor_kind_name(ingot_tensor_kind k);

/**
 * Builds the canonical list for c (validated first) in the order above:
 * embedding, layers in order, final norm, output.
 * @param specs receives a malloc'ed array (caller frees); @param n its length.
 * @return 0, or -1 with err filled (and *specs NULL).
 */
int ingot_tensor_specs(const ingot_config *c, ingot_tensor_spec **specs, int *n,
                       ingot_error *err);

/** @return the number of elements of s (product of its shape). */
int64_t ingot_tensor_spec_numel(const ingot_tensor_spec *s);

/** @return the spec whose ingot name is name, or NULL (linear search). */
const ingot_tensor_spec *ingot_tensor_spec_find(const ingot_tensor_spec *specs, int n,
                                                const char *name);
/** @return the spec read from the HF tensor hf_name, or NULL (linear search). */
const ingot_tensor_spec *ingot_tensor_spec_find_hf(const ingot_tensor_spec *specs, int n,
                                                   const char *hf_name);

/**
 * HF tensors a checkpoint may carry that ingot does not use: the rotary
 * inv_freq buffers older transformers saved
 * ("model.layers.N.self_attn.rotary_emb.inv_freq" with N < n_layers, and
 * "model.rotary_emb.inv_freq"), and "lm_head.weight" when the embeddings are
 * tied (transformers ties it to the embedding and ignores the stored copy).
 * @return 1 if hf_name may be skipped, 0 if it must match a spec.
 */
int ingot_hf_tensor_ignorable(const ingot_config *c, const char *hf_name);

#endif /* INGOT_TENSOR_MAP_H */
