/*
 * tensor_map.c - the canonical tensor list (see tensor_map.h for the table).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/tensor_map.h"
#include "util/util.h"

const char *ingot_tensor_kind_name(ingot_tensor_kind k)
{
    static const char *const names[] = {"embed", "norm", "linear", "bias", "head"};
    return (unsigned)k < INGOT_ARRAY_LEN(names) ? names[k] : "unknown";
}

/* Appends one spec; rows/cols: cols == 0 makes a 1-D tensor. */
static void add(ingot_tensor_spec *s, int *n, ingot_tensor_kind kind, int layer, const char *name,
                const char *hf_name, int64_t rows, int64_t cols)
{
    ingot_tensor_spec *t = &s[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->hf_name, sizeof t->hf_name, "%s", hf_name);
    t->kind = kind;
    t->layer = layer;
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
}

/* A projection: weight [out, in], then its bias [out] when biased. */
static void add_proj(ingot_tensor_spec *s, int *n, int layer, const char *name,
                     const char *hf_name, int64_t out, int64_t in, bool bias)
{
    char nm[96], hf[128];
    snprintf(nm, sizeof nm, "blk.%d.%s.weight", layer, name);
    snprintf(hf, sizeof hf, "model.layers.%d.%s.weight", layer, hf_name);
    add(s, n, INGOT_TK_LINEAR, layer, nm, hf, out, in);
    if (!bias)
        return;
    snprintf(nm, sizeof nm, "blk.%d.%s.bias", layer, name);
    snprintf(hf, sizeof hf, "model.layers.%d.%s.bias", layer, hf_name);
    add(s, n, INGOT_TK_BIAS, layer, nm, hf, out, 0);
}

static void add_norm(ingot_tensor_spec *s, int *n, int layer, const char *name,
                     const char *hf_name, int64_t dim)
{
    char nm[96], hf[128];
    snprintf(nm, sizeof nm, "blk.%d.%s.weight", layer, name);
    snprintf(hf, sizeof hf, "model.layers.%d.%s.weight", layer, hf_name);
    add(s, n, INGOT_TK_NORM, layer, nm, hf, dim, 0);
}

static void add_layer(const ingot_config *c, ingot_tensor_spec *s, int *n, int i)
{
    int64_t h = c->hidden_size, q = (int64_t)c->n_heads * c->head_dim;
    int64_t kv = (int64_t)c->n_kv_heads * c->head_dim, f = c->ffn_size;
    add_norm(s, n, i, "attn_norm", "input_layernorm", h);
    add_proj(s, n, i, "attn_q", "self_attn.q_proj", q, h, c->qkv_bias);
    add_proj(s, n, i, "attn_k", "self_attn.k_proj", kv, h, c->qkv_bias);
    add_proj(s, n, i, "attn_v", "self_attn.v_proj", kv, h, c->qkv_bias);
    add_proj(s, n, i, "attn_output", "self_attn.o_proj", h, q, c->o_bias);
    add_norm(s, n, i, "ffn_norm", "post_attention_layernorm", h);
    add_proj(s, n, i, "ffn_gate", "mlp.gate_proj", f, h, c->mlp_bias);
    add_proj(s, n, i, "ffn_up", "mlp.up_proj", f, h, c->mlp_bias);
    add_proj(s, n, i, "ffn_down", "mlp.down_proj", h, f, c->mlp_bias);
}

static int per_layer_count(const ingot_config *c)
{
    return 9 + (c->qkv_bias ? 3 : 0) + (c->o_bias ? 1 : 0) + (c->mlp_bias ? 3 : 0);
}

int ingot_tensor_specs(const ingot_config *c, ingot_tensor_spec **specs, int *n,
                       ingot_error *err)
{
    if (!specs || !n)
        return ingot_fail(err, INGOT_ERR_ARG, "ingot_tensor_specs: no output");
    *specs = NULL;
    *n = 0;
    /* Validation bounds n_layers, so the count below cannot overflow. */
    if (ingot_config_validate(c, "config", err) != 0)
        return -1;
    int total = 2 + (c->tied_embeddings ? 0 : 1) + c->n_layers * per_layer_count(c);
    ingot_tensor_spec *s = calloc((size_t)total, sizeof *s);
    if (!s)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory for %d tensor specs", total);
    int k = 0;
    add(s, &k, INGOT_TK_EMBED, -1, "token_embd.weight", "model.embed_tokens.weight",
        c->vocab_size, c->hidden_size);
    for (int i = 0; i < c->n_layers; i++)
        add_layer(c, s, &k, i);
    add(s, &k, INGOT_TK_NORM, -1, "output_norm.weight", "model.norm.weight", c->hidden_size, 0);
    if (!c->tied_embeddings)
        add(s, &k, INGOT_TK_HEAD, -1, "output.weight", "lm_head.weight", c->vocab_size,
            c->hidden_size);
    *specs = s;
    *n = k;
    return 0;
}

int64_t ingot_tensor_spec_numel(const ingot_tensor_spec *s)
{
    return s->ndim == 2 ? s->shape[0] * s->shape[1] : s->shape[0];
}

const ingot_tensor_spec *ingot_tensor_spec_find(const ingot_tensor_spec *specs, int n,
                                                const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

const ingot_tensor_spec *ingot_tensor_spec_find_hf(const ingot_tensor_spec *specs, int n,
                                                   const char *hf_name)
{
    for (int i = 0; hf_name && i < n; i++)
        if (strcmp(specs[i].hf_name, hf_name) == 0)
            return &specs[i];
    return NULL;
}

/* Parses a canonical layer number (digits, no leading zero) ending at '.'. */
static const char *layer_number(const char *p, int *layer)
{
    long v = 0;
    const char *start = p;
    while (*p >= '0' && *p <= '9' && p - start < 6)
        v = v * 10 + (*p++ - '0');
    if (p == start || *p != '.' || (p - start > 1 && *start == '0'))
        return NULL;
    *layer = (int)v;
    return p + 1;
}

int ingot_hf_tensor_ignorable(const ingot_config *c, const char *hf_name)
{
    if (!c || !hf_name)
        return 0;
    if (strcmp(hf_name, "lm_head.weight") == 0)
        return c->tied_embeddings;
    if (strcmp(hf_name, "model.rotary_emb.inv_freq") == 0)
        return 1;
    static const char prefix[] = "model.layers.";
    if (strncmp(hf_name, prefix, sizeof prefix - 1) != 0)
        return 0;
    int layer;
    const char *rest = layer_number(hf_name + sizeof prefix - 1, &layer);
    return rest && layer < c->n_layers && strcmp(rest, "self_attn.rotary_emb.inv_freq") == 0;
}
