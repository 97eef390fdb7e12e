/*
 * export_gguf.c - ingot export --format gguf: an artifact as one GGUF v3
 * file that llama.cpp loads (layout and modules: gguf.h).
 *
 * Plan first, write after: the architecture and its metadata keys (those
 * llama.cpp's converter writes for `llama` and `qwen2`:
 * TextModel.set_gguf_parameters, LlamaModel.set_gguf_parameters), the
 * vocabulary (gguf_vocab.c), every tensor's ggml type, then the header, then
 * the data tensor by tensor into a temporary file renamed into place (no
 * partial file on error or interrupt).
 *
 * Tensor types: matrices as stored for bf16 / f16 / f32, int4 (int4 and awq4
 * artifacts) as Q4_1, int8 as Q8_0 (gguf_quant.c: the codes stay, the
 * rounding change is measured and reported); norms and biases as f32 (the
 * stored bf16 widened exactly), as llama.cpp's converter writes 1-D
 * tensors.  nf4 has no GGUF type and is refused.
 *
 * llama3 rope scaling is, as llama.cpp's converter writes it
 * (LlamaModel.generate_extra_tensors), one more f32 tensor, rope_freqs.weight:
 * per frequency pair the factor llama.cpp divides the angle by (1 for short
 * wavelengths, `factor` for long ones, a smooth ramp between).
 *
 * Row order: for `llama`, llama.cpp's converter permutes the rows of
 * attn_q / attn_k (weights and biases) from HuggingFace's rotate-half order
 * to the interleaved pairs its rope uses (LlamaModel.permute: within each
 * head of hd rows, row 2i + j takes HF row j * hd/2 + i), heads being
 * n_heads for q and n_kv_heads for k.  Whole rows move, with their scales
 * and zeros, so nothing is re-rounded.  qwen2 uses the NeoX rope on HF's
 * order: no permutation.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "export/gguf.h"
#include "model/tensor_map.h"
#include "util/util.h"

/* One output tensor. */
typedef struct gtensor {
    const char *name;        /* the spec's (GGUF names already) */
    const ingot_tensor *src; /* NULL for a made tensor (rope_freqs) */
    const float *made;       /* its values */
    ingot_ggml_type type;
    int ndim;
    int64_t ne[2];           /* ne[0] = row length */
    uint64_t bytes;
    int perm_heads;          /* > 0: llama's Q/K row permutation in this many heads */
    ingot_wmat w;            /* the stored tensor as rows (not for plain copies) */
} gtensor;

typedef struct gexport {
    const char *in_path;
    const ingot_export_options *o;
    ingot_artifact *a;
    ingot_tensor_spec *specs;
    int n_specs;
    gtensor *t;
    int n;
    ingot_gguf g;
    const char *arch, *pre;
    int n_q4, n_q5, n_q8;
    ingot_gguf_rounding q4, q5, q8;
    float *rope_freqs;       /* llama3 rope: the factors, else NULL */
    uint64_t total, done;
} gexport;

static bool cancelled(const gexport *e)
{
    return e->o->cancel && *e->o->cancel;
}

/* ------------------------------------------------------------------ plan */

static int check_arch(gexport *e, ingot_error *err)
{
    const ingot_config *c = &e->a->config;
    e->arch = c->arch == INGOT_ARCH_QWEN2 ? "qwen2" : "llama"; /* Mistral is llama to llama.cpp */
    if (c->arch == INGOT_ARCH_MISTRAL && c->sliding_window > 0 && c->sliding_window < c->max_pos)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: sliding window %d: llama.cpp's llama architecture has none",
                          e->in_path, c->sliding_window);
    bool llama3 = c->rope.type == INGOT_ROPE_LLAMA3 && !strcmp(e->arch, "llama");
    if (c->rope.type != INGOT_ROPE_DEFAULT && c->rope.type != INGOT_ROPE_LINEAR && !llama3)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: rope scaling %s is not exported to GGUF (default, linear and, for "
                          "llama, llama3 are)",
                          e->in_path, ingot_rope_type_name(c->rope.type));
    return 0;
}

/* llama3 rope: the factor each frequency's angle is divided by (LlamaModel.generate_extra_tensors). */
static int make_rope_freqs(gexport *e, int n_rot, ingot_error *err)
{
    const ingot_rope *r = &e->a->config.rope;
    e->rope_freqs = malloc((size_t)(n_rot / 2) * sizeof(float));
    if (!e->rope_freqs)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    const double orig = r->original_max_pos, low_wl = orig / r->low_freq_factor;
    const double high_wl = orig / r->high_freq_factor;
    for (int i = 0; i < n_rot / 2; i++) {
        float freq = 1.0f / powf((float)r->theta, (float)(2 * i) / (float)n_rot);
        double wl = 2 * M_PI / freq, f;
        if (wl < high_wl)
            f = 1;
        else if (wl > low_wl)
            f = r->factor;
        else {
            double smooth = (orig / wl - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor);
            f = 1 / ((1 - smooth) / r->factor + smooth);
        }
        e->rope_freqs[i] = (float)f;
    }
    return 0;
}

static int n_rot(const ingot_config *c)
{
    double prf = c->rope.partial_rotary_factor > 0 ? c->rope.partial_rotary_factor : 1.0;
    return (int)(c->head_dim * prf);
}

static int pick_type(const gexport *e, const ingot_tensor_spec *s, const ingot_tensor *t,
                     ingot_ggml_type *out, ingot_error *err)
{
    if (s->ndim == 1) {
        *out = INGOT_GGML_F32;
        return 0;
    }
    switch (t->type) {
    case INGOT_DT_F32: *out = INGOT_GGML_F32; return 0;
    case INGOT_DT_F16: *out = INGOT_GGML_F16; return 0;
    case INGOT_DT_BF16: *out = INGOT_GGML_BF16; return 0;
    case INGOT_DT_Q4: *out = INGOT_GGML_Q4_1; return 0;
    case INGOT_DT_Q5: *out = INGOT_GGML_Q5_1; return 0;
    case INGOT_DT_Q8: *out = INGOT_GGML_Q8_0; return 0;
    default:
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: %s is %s, which GGUF cannot hold; int4, awq4, int5, int8, bf16, f16 "
                          "and f32 tensors export to GGUF",
                          e->in_path, t->name, ingot_dtype_name(t->type));
    }
}

static int perm_heads(const gexport *e, const ingot_tensor_spec *s)
{
    if (strcmp(e->arch, "llama") || s->layer < 0)
        return 0;
    const char *dot = strchr(s->name + 4, '.'); /* "blk.N.<rest>" */
    if (dot && !strncmp(dot + 1, "attn_q.", 7))
        return e->a->config.n_heads;
    if (dot && !strncmp(dot + 1, "attn_k.", 7))
        return e->a->config.n_kv_heads;
    return 0;
}

static int plan_tensor(gexport *e, const ingot_tensor_spec *s, gtensor *x, ingot_error *err)
{
    const ingot_tensor *t = ingot_artifact_find(e->a, s->name);
    if (!t)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s: tensor missing", e->in_path, s->name);
    bool same = t->ndim == s->ndim;
    for (int d = 0; same && d < s->ndim; d++)
        same = t->shape[d] == s->shape[d];
    if (!same)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s: shape differs from the config's",
                          e->in_path, s->name);
    x->name = s->name;
    x->src = t;
    x->ndim = s->ndim;
    x->ne[0] = s->ndim == 1 ? s->shape[0] : s->shape[1];
    x->ne[1] = s->ndim == 1 ? 1 : s->shape[0];
    x->perm_heads = perm_heads(e, s);
    if (pick_type(e, s, t, &x->type, err) != 0)
        return -1;
    e->n_q4 += x->type == INGOT_GGML_Q4_1;
    e->n_q5 += x->type == INGOT_GGML_Q5_1;
    e->n_q8 += x->type == INGOT_GGML_Q8_0;
    const ingot_format *f = ingot_format_of(t->type);
    int64_t rows, cols;
    ingot_tensor_rows(t, &rows, &cols);
    return ingot_tensor_bind(t, f, rows, cols, e->in_path, &x->w, err);
}

static int plan(gexport *e, ingot_error *err)
{
    if (ingot_tensor_specs(&e->a->config, &e->specs, &e->n_specs, err) != 0)
        return -1;
    e->t = calloc((size_t)e->n_specs + 1, sizeof *e->t);
    if (!e->t)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < e->n_specs; i++, e->n++)
        if (plan_tensor(e, &e->specs[i], &e->t[i], err) != 0)
            return -1;
    if (e->a->config.rope.type != INGOT_ROPE_LLAMA3)
        return 0;
    int n = n_rot(&e->a->config);
    if (make_rope_freqs(e, n, err) != 0)
        return -1;
    gtensor *x = &e->t[e->n++];
    x->name = "rope_freqs.weight";
    x->made = e->rope_freqs;
    x->type = INGOT_GGML_F32;
    x->ndim = 1;
    x->ne[0] = n / 2;
    x->ne[1] = 1;
    return 0;
}

/* ------------------------------------------------------------------ metadata */

static void arch_key_u32(gexport *e, const char *key, uint32_t v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", e->arch, key);
    ingot_gguf_kv_u32(&e->g, k, v);
}

static void arch_key_f32(gexport *e, const char *key, double v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", e->arch, key);
    ingot_gguf_kv_f32(&e->g, k, (float)v);
}

/* The type of the (first) linear weight. */
static ingot_ggml_type linear_type(const gexport *e)
{
    for (int i = 0; i < e->n_specs; i++)
        if (e->specs[i].kind == INGOT_TK_LINEAR)
            return e->t[i].type;
    return INGOT_GGML_F32;
}

/* llama.cpp's file type: the type of the linear weights (LlamaFileType). */
static uint32_t file_type(const gexport *e)
{
    switch (linear_type(e)) {
    case INGOT_GGML_F32: return 0;
    case INGOT_GGML_F16: return 1;
    case INGOT_GGML_Q4_1: return 3;
    case INGOT_GGML_Q5_1: return 9;
    case INGOT_GGML_Q8_0: return 7;
    case INGOT_GGML_BF16: return 32;
    }
    return 0;
}

static void add_general(gexport *e)
{
    const char *base = strrchr(e->in_path, '/');
    base = base ? base + 1 : e->in_path;
    const char *dot = strrchr(base, '.');
    ingot_gguf_kv_str(&e->g, "general.architecture", e->arch);
    ingot_gguf_kv_strn(&e->g, "general.name", base, dot && dot != base ? (size_t)(dot - base)
                                                                         : strlen(base));
    ingot_gguf_kv_u32(&e->g, "general.file_type", file_type(e));
    ingot_gguf_kv_u32(&e->g, "general.quantization_version", 2); /* GGML_QNT_VERSION */
}

static void add_hparams(gexport *e)
{
    const ingot_config *c = &e->a->config;
    arch_key_u32(e, "vocab_size", (uint32_t)c->vocab_size);
    arch_key_u32(e, "context_length", (uint32_t)c->max_pos);
    arch_key_u32(e, "embedding_length", (uint32_t)c->hidden_size);
    arch_key_u32(e, "feed_forward_length", (uint32_t)c->ffn_size);
    arch_key_u32(e, "block_count", (uint32_t)c->n_layers);
    arch_key_u32(e, "attention.head_count", (uint32_t)c->n_heads);
    arch_key_u32(e, "attention.head_count_kv", (uint32_t)c->n_kv_heads);
    arch_key_u32(e, "attention.key_length", (uint32_t)c->head_dim);
    arch_key_u32(e, "attention.value_length", (uint32_t)c->head_dim);
    arch_key_f32(e, "attention.layer_norm_rms_epsilon", c->rms_eps);
    arch_key_f32(e, "rope.freq_base", c->rope.theta);
    arch_key_u32(e, "rope.dimension_count", (uint32_t)n_rot(c));
    if (c->rope.type == INGOT_ROPE_LINEAR) {
        char k[128];
        snprintf(k, sizeof k, "%s.rope.scaling.type", e->arch);
        ingot_gguf_kv_str(&e->g, k, "linear");
        arch_key_f32(e, "rope.scaling.factor", c->rope.factor);
    }
}

/* A stored HF file by name, for gguf_vocab.c. */
static const uint8_t *stored_file(void *user, const char *name, size_t *len)
{
    const gexport *e = user;
    const char *member, *xxh3;
    json_t *v = json_object_get(json_object_get(e->a->manifest, "files"), name);
    if (!v || ingot_artifact_file_entry(v, &member, &xxh3) != 0)
        return NULL;
    return ingot_artifact_member(e->a, member, len);
}

static int add_metadata(gexport *e, ingot_error *err)
{
    const ingot_config *c = &e->a->config;
    add_general(e);
    add_hparams(e);
    if (ingot_gguf_add_vocab(&e->g, stored_file, e, c->vocab_size, c->bos_id,
                             c->n_eos > 0 ? c->eos_ids[0] : -1, e->in_path, &e->pre, err) != 0)
        return -1;
    for (int i = 0; i < e->n; i++) {
        gtensor *x = &e->t[i];
        x->bytes = ingot_gguf_tensor(&e->g, x->name, x->ndim, x->ne, x->type, err);
        if (!x->bytes) {
            ingot_error_prefix(err, e->in_path);
            return -1;
        }
        e->total += x->bytes;
    }
    return 0;
}

/* ------------------------------------------------------------------ data */

/* The stored row that output row r of x comes from. */
static int64_t src_row(const gtensor *x, int64_t r)
{
    if (x->perm_heads <= 0)
        return r;
    int64_t n = x->ndim == 1 ? x->ne[0] : x->ne[1];
    int64_t hd = n / x->perm_heads, h = r / hd, k = r % hd;
    return h * hd + (k % 2) * (hd / 2) + k / 2;
}

/* A 1-D tensor (norm, bias) as f32, permuted like its weight's rows. */
static int make_vector(const gtensor *x, uint8_t *buf, ingot_error *err)
{
    float *v = malloc((size_t)x->ne[0] * sizeof *v);
    if (!v)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", x->name);
    ingot_dequantize_ref(&x->w, 0, x->w.n_out, v); /* one row, or one value per row */
    float *out = (float *)buf;
    for (int64_t r = 0; r < x->ne[0]; r++)
        out[r] = v[src_row(x, r)];
    free(v);
    return 0;
}

static int make_rows(gexport *e, const gtensor *x, uint8_t *buf, ingot_error *err)
{
    const uint64_t rb = ingot_ggml_row_bytes(x->type, x->ne[0]);
    for (int64_t r = 0; r < x->ne[1]; r++) {
        int64_t s = src_row(x, r);
        uint8_t *out = buf + (uint64_t)r * rb;
        int rc = 0;
        if (x->type == INGOT_GGML_Q4_1)
            rc = ingot_gguf_q4_1_row(&x->w, (int)s, out, &e->q4, x->name, err);
        else if (x->type == INGOT_GGML_Q5_1)
            rc = ingot_gguf_q5_1_row(&x->w, (int)s, out, &e->q5, x->name, err);
        else if (x->type == INGOT_GGML_Q8_0)
            rc = ingot_gguf_q8_0_row(&x->w, (int)s, out, &e->q8, x->name, err);
        else
            memcpy(out, x->src->parts[0].data + (uint64_t)s * rb, rb);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int write_tensor(gexport *e, const gtensor *x, int fd, ingot_error *err)
{
    uint8_t *buf = malloc(x->bytes);
    if (!buf)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", x->name);
    int rc = 0;
    if (x->made)
        memcpy(buf, x->made, x->bytes);
    else
        rc = x->ndim == 1 ? make_vector(x, buf, err) : make_rows(e, x, buf, err);
    if (rc == 0 && (ingot_write_all(fd, buf, x->bytes) != 0 ||
                    ingot_gguf_write_pad(fd, x->bytes) != 0))
        rc = ingot_fail(err, INGOT_ERR_IO, "%s: write: %s", x->name, strerror(errno));
    free(buf);
    e->done += x->bytes;
    if (rc == 0 && e->o->progress)
        e->o->progress(e->o->progress_user, "export", e->done, e->total);
    return rc;
}

static int write_file(gexport *e, const char *out, ingot_error *err)
{
    const char *inputs[] = {e->in_path, NULL};
    ingot_outfile of;
    if (ingot_outfile_open(&of, out, inputs, err) != 0)
        return -1;
    int rc = ingot_gguf_write_header(&e->g, of.fd, out, err);
    for (int i = 0; rc == 0 && i < e->n; i++) {
        if (cancelled(e))
            rc = ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        else
            rc = write_tensor(e, &e->t[i], of.fd, err);
    }
    if (rc == 0)
        return ingot_outfile_commit(&of, err);
    ingot_outfile_abort(&of);
    return -1;
}

/* ------------------------------------------------------------------ report */

static void note_rounding(const gexport *e)
{
    if (!e->o->note)
        return;
    const struct { int n; const ingot_gguf_rounding *r; const char *what; } q[] = {
        {e->n_q4, &e->q4, "int4 weights as Q4_1 (m = -zero*scale in f16)"},
        {e->n_q5, &e->q5, "int5 weights as Q5_1 (m = -zero*scale in f16)"},
        {e->n_q8, &e->q8, "int8 weights as Q8_0 (the row scale in f16)"},
    };
    for (size_t i = 0; i < INGOT_ARRAY_LEN(q); i++) {
        if (!q[i].n)
            continue;
        char msg[512];
        snprintf(msg, sizeof msg,
                 "%s: %s: largest rounding change %.3g, %.4f of a quantization step (%s)",
                 e->in_path, q[i].what, q[i].r->max_abs, q[i].r->max_steps, q[i].r->tensor);
        e->o->note(e->o->note_user, msg);
    }
}

static json_t *rounding_json(int n, const ingot_gguf_rounding *r)
{
    if (!n)
        return json_null();
    return json_pack("{s:i,s:I,s:f,s:f,s:s}", "tensors", n, "weights", (json_int_t)r->n_weights,
                     "max_abs_change", r->max_abs, "max_step_fraction", r->max_steps,
                     "worst_tensor", r->tensor);
}

static char *summary(const gexport *e, const char *out, double seconds)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:o,s:o,s:f}", "output", out, "format",
                          "gguf", "architecture", e->arch, "tokenizer_pre", e->pre,
                          "linear_type", ingot_ggml_type_name(linear_type(e)), "tensors", e->n,
                          "bytes", (json_int_t)(ingot_gguf_header_bytes(&e->g) + e->g.data_size),
                          "q4_1", rounding_json(e->n_q4, &e->q4), "q8_0",
                          rounding_json(e->n_q8, &e->q8), "seconds", seconds);
    if (j && e->n_q5)
        json_object_set_new(j, "q5_1", rounding_json(e->n_q5, &e->q5));
    char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
    json_decref(j);
    return s;
}

int ingot_export_gguf(const char *in_path, const char *out, const ingot_export_options *o,
                      char **summary_json, ingot_error *err)
{
    double t0 = ingot_now();
    gexport e = {.in_path = in_path, .o = o};
    ingot_gguf_init(&e.g);
    e.a = ingot_artifact_open(in_path, err);
    int rc = e.a ? 0 : -1;
    if (rc == 0)
        rc = check_arch(&e, err);
    if (rc == 0)
        rc = plan(&e, err);
    if (rc == 0)
        rc = add_metadata(&e, err);
    if (rc == 0)
        rc = write_file(&e, out, err);
    if (rc == 0) {
        note_rounding(&e);
        if (summary_json)
            *summary_json = summary(&e, out, ingot_now() - t0);
    }
    ingot_gguf_free(&e.g);
    free(e.rope_freqs);
    free(e.t);
    free(e.specs);
    ingot_artifact_free(e.a);
    return rc;
}
