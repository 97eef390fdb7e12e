/*
 * model.c - opening an artifact for inference: binds every tensor of the
 * canonical list (model/tensor_map) to the layer structs, checks types and
 * shapes, and loads the tokenizer and chat template.
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/tensor_map.h"
#include "formats/formats.h"
#include "chat/chat_template.h"
#include "runtime/model.h"
#include "util/util.h"

static float *pool_take(ingot_model *m, size_t n)
{
    if (m->pool_used + n > m->pool_cap)
        return NULL;
    float *p = m->pool + m->pool_used;
    m->pool_used += n;
    return p;
}

static uint64_t tensor_bytes(const ingot_tensor *t)
{
    uint64_t b = 0;
    for (int i = 0; i < t->n_parts; i++)
        b += t->parts[i].size;
    return b;
}

/* A (n_out, n_in) view of t's parts in its format, each part's size checked. */
static int bind_tensor(ingot_model *m, const ingot_tensor *t, int64_t n_out, int64_t n_in,
                       ingot_wmat *w, ingot_error *err)
{
    const ingot_format *f = ingot_format_of(t->type);
    if (!f)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %s is not a weight format", t->name,
                          ingot_dtype_name(t->type));
    return ingot_tensor_bind(t, f, n_out, n_in, m->art->path, w, err);
}

int ingot_wmat_from_tensor(ingot_model *m, const ingot_tensor *t, ingot_wmat *w, ingot_error *err)
{
    memset(w, 0, sizeof *w);
    if (t->ndim != 2)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s: expected a matrix", m->art->path, t->name);
    return bind_tensor(m, t, t->shape[0], t->shape[1], w, err);
}

/* A vector tensor (norm weight or bias) as an f32 copy of exactly n values. */
static int load_vec(ingot_model *m, const char *name, int64_t n, const float **out, ingot_error *err)
{
    const ingot_tensor *t = ingot_artifact_find(m->art, name);
    if (!t)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: tensor %s: missing", m->art->path, name);
    const ingot_format *f = ingot_format_of(t->type);
    if (!f || f->quantized || t->ndim != 1 || t->shape[0] != n)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: tensor %s: expected %s vector of %lld", m->art->path,
                          name, "a float", (long long)n);
    ingot_wmat v; /* one row of n */
    if (bind_tensor(m, t, 1, n, &v, err) != 0)
        return -1;
    float *dst = pool_take(m, (size_t)n);
    if (!dst)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", m->art->path);
    ingot_dequantize_ref(&v, 0, 1, dst);
    *out = dst;
    m->weight_bytes += tensor_bytes(t);
    m->n_params += (uint64_t)n;
    return 0;
}

static int load_mat(ingot_model *m, const ingot_tensor_spec *s, ingot_wmat *w, ingot_error *err)
{
    const ingot_tensor *t = ingot_artifact_find(m->art, s->name);
    if (!t)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: tensor %s: missing", m->art->path, s->name);
    if (t->ndim != 2 || t->shape[0] != s->shape[0] || t->shape[1] != s->shape[1])
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: tensor %s: expected shape [%lld, %lld]",
                          m->art->path, s->name, (long long)s->shape[0], (long long)s->shape[1]);
    if (ingot_wmat_from_tensor(m, t, w, err) != 0)
        return -1;
    m->weight_bytes += tensor_bytes(t);
    if (strcmp(s->name, "token_embd.weight") != 0 || m->cfg.tied_embeddings) {
        m->bytes_per_token += tensor_bytes(t);
        m->flops_per_token += 2 * (uint64_t)s->shape[0] * (uint64_t)s->shape[1];
    }
    m->n_params += (uint64_t)s->shape[0] * (uint64_t)s->shape[1];
    return 0;
}

/* Where each canonical tensor lands: a matrix, or a vector of the layer. */
static int bind_spec(ingot_model *m, const ingot_tensor_spec *s, ingot_error *err)
{
    ingot_layer *L = s->layer >= 0 ? &m->layers[s->layer] : NULL;
    const char *n = s->layer >= 0 ? strchr(strchr(s->name, '.') + 1, '.') + 1 : s->name;
    struct { const char *suffix; ingot_wmat *w; const float **v; } map[] = {
        {"token_embd.weight", &m->embed, NULL}, {"output.weight", &m->output, NULL},
        {"output_norm.weight", NULL, &m->out_norm},
        {"attn_norm.weight", NULL, L ? &L->attn_norm : NULL},
        {"attn_q.weight", L ? &L->wq : NULL, NULL}, {"attn_k.weight", L ? &L->wk : NULL, NULL},
        {"attn_v.weight", L ? &L->wv : NULL, NULL}, {"attn_output.weight", L ? &L->wo : NULL, NULL},
        {"attn_q.bias", NULL, L ? &L->bq : NULL}, {"attn_k.bias", NULL, L ? &L->bk : NULL},
        {"attn_v.bias", NULL, L ? &L->bv : NULL}, {"attn_output.bias", NULL, L ? &L->bo : NULL},
        {"ffn_norm.weight", NULL, L ? &L->ffn_norm : NULL},
        {"ffn_gate.weight", L ? &L->w_gate : NULL, NULL}, {"ffn_up.weight", L ? &L->w_up : NULL, NULL},
        {"ffn_down.weight", L ? &L->w_down : NULL, NULL},
        {"ffn_gate.bias", NULL, L ? &L->b_gate : NULL}, {"ffn_up.bias", NULL, L ? &L->b_up : NULL},
        {"ffn_down.bias", NULL, L ? &L->b_down : NULL},
    };
    for (size_t i = 0; i < INGOT_ARRAY_LEN(map); i++) {
        if (strcmp(n, map[i].suffix) != 0)
            continue;
        if (s->ndim == 1 && map[i].v)
            return load_vec(m, s->name, s->shape[0], map[i].v, err);
        if (s->ndim == 2 && map[i].w)
            return load_mat(m, s, map[i].w, err);
    }
    return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: tensor %s: not used by the runtime",
                      m->art->path, s->name);
}

static int bind_weights(ingot_model *m, ingot_error *err)
{
    ingot_tensor_spec *specs = NULL;
    int n = 0;
    if (ingot_tensor_specs(&m->cfg, &specs, &n, err) != 0)
        return -1;
    size_t vec = 0;
    for (int i = 0; i < n; i++)
        if (specs[i].ndim == 1)
            vec += (size_t)specs[i].shape[0];
    m->pool_cap = vec;
    m->pool = malloc((vec ? vec : 1) * sizeof(float));
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    int rc = m->pool && m->layers ? 0 : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++)
        rc = bind_spec(m, &specs[i], err);
    free(specs);
    if (rc == 0 && m->cfg.tied_embeddings)
        m->output = m->embed;
    return rc;
}

static char *json_token_string(json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_object(v) && json_is_string(json_object_get(v, "content")))
        return strdup(json_string_value(json_object_get(v, "content")));
    return NULL;
}

/* Chat template: chat_template.jinja, else tokenizer_config.json's (string or named list). */
static int load_chat_info(ingot_model *m, ingot_error *err)
{
    size_t len = 0;
    const uint8_t *jinja = ingot_artifact_member(m->art, "hf/chat_template.jinja", &len);
    if (jinja && !(m->chat_template = strndup((const char *)jinja, len)))
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    const uint8_t *tc = ingot_artifact_member(m->art, "hf/tokenizer_config.json", &len);
    if (!tc)
        return 0;
    /* model_max_length is often 1e30 written as an integer, beyond int64 */
    json_t *j = json_loadb((const char *)tc, len, JSON_DECODE_INT_AS_REAL, NULL);
    if (!j)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: hf/tokenizer_config.json: invalid JSON", m->art->path);
    m->bos_token = json_token_string(json_object_get(j, "bos_token"));
    m->eos_token = json_token_string(json_object_get(j, "eos_token"));
    json_t *ct = json_object_get(j, "chat_template");
    if (!m->chat_template && json_is_string(ct))
        m->chat_template = strdup(json_string_value(ct));
    size_t i;
    json_t *e;
    if (!m->chat_template && json_is_array(ct))
        json_array_foreach(ct, i, e) {
            const char *name = json_string_value(json_object_get(e, "name"));
            if (name && !strcmp(name, "default") && json_is_string(json_object_get(e, "template")))
                m->chat_template = strdup(json_string_value(json_object_get(e, "template")));
        }
    json_decref(j);
    return 0;
}

static int load_tokenizer(ingot_model *m, ingot_error *err)
{
    size_t len = 0;
    const uint8_t *tj = ingot_artifact_member(m->art, "hf/tokenizer.json", &len);
    if (!tj)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: hf/tokenizer.json: missing", m->art->path);
    char what[512];
    snprintf(what, sizeof what, "%s:hf/tokenizer.json", m->art->path);
    m->tok = ingot_tokenizer_load((const char *)tj, len, what, m->cfg.vocab_size, err);
    return m->tok ? 0 : -1;
}

ingot_model *ingot_model_open(const char *path, ingot_error *err)
{
    ingot_model *m = calloc(1, sizeof *m);
    if (!m) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->art = ingot_artifact_open(path, err);
    int rc = m->art ? 0 : -1;
    if (rc == 0) {
        m->cfg = m->art->config;
        rc = bind_weights(m, err);
    }
    if (rc == 0)
        rc = load_tokenizer(m, err);
    if (rc == 0)
        rc = load_chat_info(m, err);
    if (rc != 0) {
        ingot_model_free(m);
        return NULL;
    }
    return m;
}

void ingot_model_free(ingot_model *m)
{
    if (!m)
        return;
    ingot_tokenizer_free(m->tok);
    free(m->chat_template);
    free(m->bos_token);
    free(m->eos_token);
    free(m->layers);
    free(m->pool);
    ingot_artifact_free(m->art);
    free(m);
}

void ingot_model_get_info(const ingot_model *m, ingot_model_info *info)
{
    memset(info, 0, sizeof *info);
    info->architecture = ingot_arch_name(m->cfg.arch);
    info->vocab_size = m->cfg.vocab_size;
    info->hidden_size = m->cfg.hidden_size;
    info->n_layers = m->cfg.n_layers;
    info->n_heads = m->cfg.n_heads;
    info->n_kv_heads = m->cfg.n_kv_heads;
    info->head_dim = m->cfg.head_dim;
    info->max_pos = m->cfg.max_pos;
    info->bos_id = m->cfg.bos_id;
    info->n_eos = m->cfg.n_eos;
    info->eos_ids = m->cfg.eos_ids;
    info->n_params = m->n_params;
    info->weight_bytes = m->weight_bytes;
    info->bytes_per_token = m->bytes_per_token;
    info->flops_per_token = m->flops_per_token;
}

const ingot_artifact *ingot_model_artifact(const ingot_model *m)
{
    return m->art;
}

int ingot_tokenize(const ingot_model *m, const char *text, size_t len, int add_special,
                   int32_t **ids, size_t *n_ids, ingot_error *err)
{
    return ingot_tokenizer_encode(m->tok, text, len, add_special, ids, n_ids, err);
}

int ingot_detokenize(const ingot_model *m, const int32_t *ids, size_t n, int skip_special,
                     char **text, size_t *len, ingot_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
            return ingot_fail(err, INGOT_ERR_ARG, "token id %d: outside the vocabulary (0..%d)",
                              (int)ids[i], m->cfg.vocab_size - 1);
    return ingot_tokenizer_decode(m->tok, ids, n, skip_special, text, len, err);
}

char *ingot_chat_prompt(const ingot_model *m, const char *system, const char *user,
                        ingot_error *err)
{
    if (!m->chat_template) {
        ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: the model has no chat template", m->art->path);
        return NULL;
    }
    ingot_chat_message msgs[2];
    int n = 0;
    if (system)
        msgs[n++] = (ingot_chat_message){"system", system};
    msgs[n++] = (ingot_chat_message){"user", user};
    char *out = ingot_chat_render(m->chat_template, msgs, n, 1, m->bos_token, m->eos_token, err);
    if (!out)
        ingot_error_prefix(err, "chat template");
    return out;
}
