/*
 * export.c - ingot export: an artifact back into a checkpoint directory.
 *
 * The plan is made and checked before anything is written: the canonical
 * tensor list of the artifact's config (model/tensor_map.c gives each
 * tensor's HuggingFace name), what each output tensor is made from, the
 * shards, the files.  Then every shard is streamed through the safetensors
 * writer (convert/st_writer.c) from a generator that copies, converts,
 * dequantizes or repacks one tensor at a time, into a temporary directory
 * that is renamed into place at the end (outdir.c).
 *
 *   hf:  tensors as stored (bf16, f16, f32); quantized ones dequantized by
 *        the reference dequantizer (formats/) to bf16, with a note.
 *   awq: every linear weight must be int4 (int4 and awq4 artifacts); each
 *        becomes AutoAWQ's qweight / qzeros / scales (awq_pack.c), every
 *        other tensor f16; config.json gains quantization_config.
 *   bnb: every linear weight nf4 (one variant) or every one int8; each
 *        becomes the tensors transformers saves for a bitsandbytes Linear4bit
 *        / Linear8bitLt (bnb_pack.c), every other tensor as hf writes it;
 *        config.json gains the matching quantization_config.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "convert/st_writer.h"
#include "export/export.h"
#include "export/gguf.h"
#include "model/tensor_map.h"
#include "util/util.h"

static const char *const format_names[] = {"hf", "awq", "gguf", "bnb"};

const char *ingot_export_format_name(ingot_export_format f)
{
    return (unsigned)f < INGOT_ARRAY_LEN(format_names) ? format_names[f] : NULL;
}

int ingot_export_format_from_name(const char *s)
{
    for (size_t i = 0; s && i < INGOT_ARRAY_LEN(format_names); i++)
        if (!strcmp(s, format_names[i]))
            return (int)i;
    return -1;
}

void ingot_export_options_init(ingot_export_options *o)
{
    memset(o, 0, sizeof *o);
    o->format = INGOT_EXPORT_HF;
    o->max_shard_bytes = INGOT_EXPORT_DEFAULT_SHARD_BYTES;
}

/* ------------------------------------------------------------------ plan */

typedef enum { X_COPY, X_FLOAT, X_AWQ, X_SCB } xkind;

/* One output tensor and how it is made. */
typedef struct xtensor {
    char name[192];       /* HuggingFace name (+ ".quant_state.bitsandbytes__nf4") */
    ingot_dtype dtype;    /* output element type */
    int ndim;
    int64_t shape[2];
    uint64_t size;        /* bytes */
    xkind kind;
    const ingot_tensor *src;
    const uint8_t *raw;   /* X_COPY: the stored bytes */
    ingot_wmat w;         /* X_FLOAT: rows to dequantize; X_AWQ: the int4 weight; X_SCB: int8 */
    ingot_awq_array awq;  /* X_AWQ: which array */
    int shard;
} xtensor;

typedef struct exporter {
    const char *in_path;
    const ingot_export_options *o;
    ingot_artifact *a;
    ingot_tensor_spec *specs;
    int n_specs;
    xtensor *x;
    int n, cap;
    int n_dequant;        /* quantized tensors written as floats */
    int group_size;       /* awq */
    ingot_dtype bnb_type; /* bnb: INGOT_DT_NF4 or INGOT_DT_Q8 */
    int bnb_variant;      /* bnb nf4: INGOT_NF4_PLAIN or INGOT_NF4_DQ */
    char **owned;         /* bnb: quant_state texts that X_COPY tensors point into */
    int n_owned;
    int n_shards;
    uint64_t total, done;
    /* the tensor being generated */
    int cur;
    uint8_t *cur_buf;
    float *row;
    size_t row_cap;
} exporter;

static bool cancelled(const exporter *e)
{
    return e->o->cancel && *e->o->cancel;
}

static xtensor *add(exporter *e, ingot_error *err)
{
    if (e->n == e->cap) {
        int cap = e->cap ? 2 * e->cap : 64;
        xtensor *x = realloc(e->x, (size_t)cap * sizeof *x);
        if (!x) {
            ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
            return NULL;
        }
        e->x = x;
        e->cap = cap;
    }
    xtensor *x = &e->x[e->n++];
    memset(x, 0, sizeof *x);
    return x;
}

/* The stored tensor of spec s, checked against its canonical shape. */
static const ingot_tensor *stored(const exporter *e, const ingot_tensor_spec *s, ingot_error *err)
{
    const ingot_tensor *t = ingot_artifact_find(e->a, s->name);
    if (!t) {
        ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s: tensor missing", e->in_path, s->name);
        return NULL;
    }
    bool ok = t->ndim == s->ndim;
    for (int d = 0; ok && d < s->ndim; d++)
        ok = t->shape[d] == s->shape[d];
    if (!ok) {
        ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s: shape differs from the config's", e->in_path,
                   s->name);
        return NULL;
    }
    return t;
}

/* Binds t as rows (a matrix's rows; a vector is one row). */
static int bind(const exporter *e, const ingot_tensor *t, ingot_wmat *w, ingot_error *err)
{
    const ingot_format *f = ingot_format_of(t->type);
    if (!f)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: %s: type %s cannot be exported",
                          e->in_path, t->name, ingot_dtype_name(t->type));
    int64_t rows, cols;
    ingot_tensor_rows(t, &rows, &cols);
    return ingot_tensor_bind(t, f, rows, cols, e->in_path, w, err);
}

/* Output tensor `name` of type dt made from the stored tensor t. */
static int add_float(exporter *e, const ingot_tensor_spec *s, const ingot_tensor *t, const char *name,
                     ingot_dtype dt, ingot_error *err)
{
    xtensor *x = add(e, err);
    if (!x)
        return -1;
    snprintf(x->name, sizeof x->name, "%s", name);
    x->src = t;
    x->dtype = dt;
    x->ndim = s->ndim;
    x->size = ingot_dtype_size(dt);
    for (int d = 0; d < s->ndim; d++) {
        x->shape[d] = s->shape[d];
        x->size *= (uint64_t)s->shape[d];
    }
    if (t->type == dt) {
        x->kind = X_COPY;
        x->raw = t->parts[0].data;
        return 0;
    }
    x->kind = X_FLOAT;
    if (ingot_format_quantized(t->type))
        e->n_dequant++;
    return bind(e, t, &x->w, err);
}

static int plan_hf(exporter *e, ingot_error *err)
{
    for (int i = 0; i < e->n_specs; i++) {
        const ingot_tensor_spec *s = &e->specs[i];
        const ingot_tensor *t = stored(e, s, err);
        if (!t)
            return -1;
        bool plain = t->type == INGOT_DT_BF16 || t->type == INGOT_DT_F16 || t->type == INGOT_DT_F32;
        if (add_float(e, s, t, s->hf_name, plain ? t->type : INGOT_DT_BF16, err) != 0)
            return -1;
    }
    return 0;
}

/* What the artifact is, for the error of --format awq. */
static const char *artifact_kind(const exporter *e, const ingot_tensor *bad)
{
    json_t *q = json_object_get(e->a->manifest, "quantization");
    const char *type = json_string_value(json_object_get(q, "type"));
    if (type)
        return type;
    return bad ? ingot_dtype_name(bad->type) : "?";
}

static int plan_awq(exporter *e, ingot_error *err)
{
    /* every linear weight int4, with one group size */
    for (int i = 0; i < e->n_specs; i++) {
        const ingot_tensor_spec *s = &e->specs[i];
        if (s->kind != INGOT_TK_LINEAR)
            continue;
        const ingot_tensor *t = stored(e, s, err);
        if (!t)
            return -1;
        if (t->type != INGOT_DT_Q4)
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                              "%s: --format awq needs an int4 or awq4 artifact, this one is %s "
                              "(%s is %s)",
                              e->in_path, artifact_kind(e, t), t->name, ingot_dtype_name(t->type));
        int g = t->group_size > 0 ? t->group_size : INGOT_Q4_DEFAULT_GROUP;
        if (e->group_size && g != e->group_size)
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                              "%s: %s: group size %d differs from %d; awq needs one group size",
                              e->in_path, t->name, g, e->group_size);
        e->group_size = g;
        if (s->shape[0] % 8)
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                              "%s: %s: %lld outputs, not a multiple of 8 as awq packs them",
                              e->in_path, t->name, (long long)s->shape[0]);
    }
    if (!e->group_size)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: no linear weights", e->in_path);
    for (int i = 0; i < e->n_specs; i++) {
        const ingot_tensor_spec *s = &e->specs[i];
        const ingot_tensor *t = stored(e, s, err);
        if (!t)
            return -1;
        if (s->kind != INGOT_TK_LINEAR) {
            if (add_float(e, s, t, s->hf_name, INGOT_DT_F16, err) != 0)
                return -1;
            continue;
        }
        /* "model.layers.0.self_attn.q_proj.weight" -> "...q_proj.qweight" etc. */
        size_t base = strlen(s->hf_name) - strlen(".weight");
        static const char *const suffix[] = {"qweight", "qzeros", "scales"};
        const int64_t n_out = s->shape[0], n_in = s->shape[1], ng = n_in / e->group_size;
        const int64_t shapes[3][2] = {{n_in, n_out / 8}, {ng, n_out / 8}, {ng, n_out}};
        for (int a = 0; a < 3; a++) {
            xtensor *x = add(e, err);
            if (!x)
                return -1;
            snprintf(x->name, sizeof x->name, "%.*s.%s", (int)base, s->hf_name, suffix[a]);
            x->kind = X_AWQ;
            x->awq = (ingot_awq_array)a;
            x->src = t;
            x->dtype = a == INGOT_AWQ_SCALES ? INGOT_DT_F16 : INGOT_DT_I32;
            x->ndim = 2;
            x->shape[0] = shapes[a][0];
            x->shape[1] = shapes[a][1];
            x->size = (uint64_t)shapes[a][0] * (uint64_t)shapes[a][1] * ingot_dtype_size(x->dtype);
            if (bind(e, t, &x->w, err) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- bnb ---- */

/* Output tensor name (ndim 0..2) copied from bytes that outlive the export. */
static int add_raw(exporter *e, const ingot_tensor *t, const char *name, ingot_dtype dt, int ndim,
                   int64_t d0, int64_t d1, const void *raw, ingot_error *err)
{
    xtensor *x = add(e, err);
    if (!x)
        return -1;
    snprintf(x->name, sizeof x->name, "%s", name);
    x->kind = X_COPY;
    x->src = t;
    x->raw = raw;
    x->dtype = dt;
    x->ndim = ndim;
    x->shape[0] = d0;
    x->shape[1] = d1;
    x->size = ingot_dtype_size(dt);
    for (int d = 0; d < ndim; d++)
        x->size *= (uint64_t)x->shape[d];
    return 0;
}

/* The torch name of the unquantized weights' type, for quant_state's "dtype". */
static const char *torch_dtype(const exporter *e)
{
    switch (e->a->config.dtype) {
    case INGOT_DT_F16: return "float16";
    case INGOT_DT_F32: return "float32";
    default: return "bfloat16";
    }
}

/* W, W.absmax, W.quant_map, [W.nested_absmax, W.nested_quant_map], W.quant_state... */
static int add_nf4(exporter *e, const ingot_tensor_spec *s, const ingot_tensor *t, ingot_error *err)
{
    ingot_wmat w;
    if (bind(e, t, &w, err) != 0)
        return -1;
    const int64_t n = s->shape[0] * s->shape[1], nb = n / INGOT_NF4_BLOCK;
    const bool dq = w.variant == INGOT_NF4_DQ;
    float off = dq ? *(const float *)w.part[INGOT_NF4_ABSMAX_OFFSET] : 0.0f;
    char *state = ingot_bnb_nf4_state(s->shape[0], s->shape[1], torch_dtype(e), dq, off);
    char **owned = state ? realloc(e->owned, (size_t)(e->n_owned + 1) * sizeof *owned) : NULL;
    if (!owned) {
        free(state);
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    }
    e->owned = owned;
    e->owned[e->n_owned++] = state;
    char name[192];
    const char *W = s->hf_name;
#define NAME(suffix) (snprintf(name, sizeof name, "%s%s", W, suffix), name)
    if (add_raw(e, t, W, INGOT_DT_U8, 2, n / 2, 1, w.part[INGOT_NF4_QS], err) != 0 ||
        add_raw(e, t, NAME(".absmax"), dq ? INGOT_DT_U8 : INGOT_DT_F32, 1, nb, 0,
                w.part[INGOT_NF4_ABSMAX], err) != 0 ||
        add_raw(e, t, NAME(".quant_map"), INGOT_DT_F32, 1, 16, 0, ingot_nf4_code, err) != 0)
        return -1;
    if (dq && (add_raw(e, t, NAME(".nested_absmax"), INGOT_DT_F32, 1,
                       (nb + INGOT_NF4_DQ_BLOCK - 1) / INGOT_NF4_DQ_BLOCK, 0,
                       w.part[INGOT_NF4_ABSMAX_ABSMAX], err) != 0 ||
               add_raw(e, t, NAME(".nested_quant_map"), INGOT_DT_F32, 1, 256, 0,
                       ingot_dynamic_map(), err) != 0))
        return -1;
    return add_raw(e, t, NAME(".quant_state.bitsandbytes__nf4"), INGOT_DT_U8, 1,
                   (int64_t)strlen(state), 0, state, err);
#undef NAME
}

/* W (int8 codes), P.SCB, P.weight_format (0 = row-major) with P = W less ".weight". */
static int add_int8(exporter *e, const ingot_tensor_spec *s, const ingot_tensor *t, ingot_error *err)
{
    static const uint8_t row_format = 0;
    ingot_wmat w;
    if (bind(e, t, &w, err) != 0)
        return -1;
    char name[192];
    int base = (int)(strlen(s->hf_name) - strlen(".weight"));
    if (add_raw(e, t, s->hf_name, INGOT_DT_I8, 2, s->shape[0], s->shape[1], w.part[INGOT_Q8_QS],
                err) != 0)
        return -1;
    xtensor *x = add(e, err);
    if (!x)
        return -1;
    snprintf(x->name, sizeof x->name, "%.*s.SCB", base, s->hf_name);
    x->kind = X_SCB;
    x->src = t;
    x->w = w;
    x->dtype = INGOT_DT_F32;
    x->ndim = 1;
    x->shape[0] = s->shape[0];
    x->size = 4 * (uint64_t)s->shape[0];
    snprintf(name, sizeof name, "%.*s.weight_format", base, s->hf_name);
    return add_raw(e, t, name, INGOT_DT_U8, 0, 0, 0, &row_format, err);
}

/* Every linear weight one bitsandbytes type: nf4 (one variant) or int8. */
static int check_bnb_linear(exporter *e, const ingot_tensor *t, ingot_error *err)
{
    int variant = 0;
    if (t->type == INGOT_DT_NF4)
        variant = ingot_tensor_part(t, "absmax_q") ? INGOT_NF4_DQ : INGOT_NF4_PLAIN;
    else if (t->type != INGOT_DT_Q8)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: --format bnb needs an nf4 or int8 artifact, this one is %s "
                          "(%s is %s)",
                          e->in_path, artifact_kind(e, t), t->name, ingot_dtype_name(t->type));
    if (e->bnb_type != INGOT_DT_COUNT && (t->type != e->bnb_type || variant != e->bnb_variant))
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: %s: %s%s differs from the other linear weights; bitsandbytes "
                          "needs one type",
                          e->in_path, t->name, ingot_dtype_name(t->type),
                          variant == INGOT_NF4_DQ ? " (double quant)" : "");
    e->bnb_type = t->type;
    e->bnb_variant = variant;
    return 0;
}

static int plan_bnb(exporter *e, ingot_error *err)
{
    e->bnb_type = INGOT_DT_COUNT;
    for (int i = 0; i < e->n_specs; i++) {
        const ingot_tensor_spec *s = &e->specs[i];
        const ingot_tensor *t = stored(e, s, err);
        if (!t || (s->kind == INGOT_TK_LINEAR && check_bnb_linear(e, t, err) != 0))
            return -1;
    }
    if (e->bnb_type == INGOT_DT_COUNT)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: no linear weights", e->in_path);
    for (int i = 0; i < e->n_specs; i++) {
        const ingot_tensor_spec *s = &e->specs[i];
        const ingot_tensor *t = stored(e, s, err);
        int rc;
        if (s->kind != INGOT_TK_LINEAR) {
            /* as hf writes it: floats as stored, a quantized embedding / head in bf16 */
            bool plain = t->type == INGOT_DT_BF16 || t->type == INGOT_DT_F16 || t->type == INGOT_DT_F32;
            rc = add_float(e, s, t, s->hf_name, plain ? t->type : INGOT_DT_BF16, err);
        } else {
            rc = t->type == INGOT_DT_NF4 ? add_nf4(e, s, t, err) : add_int8(e, s, t, err);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Consecutive tensors into shards of at most max bytes (a larger tensor alone). */
static void plan_shards(exporter *e)
{
    uint64_t max = e->o->max_shard_bytes ? e->o->max_shard_bytes : INGOT_EXPORT_DEFAULT_SHARD_BYTES;
    uint64_t in_shard = 0;
    int shard = 0;
    e->total = 0;
    for (int i = 0; i < e->n; i++) {
        if (in_shard > 0 && in_shard + e->x[i].size > max) {
            shard++;
            in_shard = 0;
        }
        e->x[i].shard = shard;
        in_shard += e->x[i].size;
        e->total += e->x[i].size;
    }
    e->n_shards = e->n ? shard + 1 : 0;
}

static void shard_name(const exporter *e, int shard, char *out, size_t n)
{
    if (e->n_shards == 1)
        snprintf(out, n, "model.safetensors");
    else
        snprintf(out, n, "model-%05d-of-%05d.safetensors", shard + 1, e->n_shards);
}

/* ------------------------------------------------------------------ generate */

/* Makes the whole of tensor x into e->cur_buf. */
static int materialize(exporter *e, const xtensor *x, ingot_error *err)
{
    e->cur_buf = malloc(x->size ? x->size : 1);
    if (!e->cur_buf)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", x->name);
    if (x->kind == X_AWQ) {
        ingot_awq_pack_rows(&x->w, x->awq, 0, x->shape[0], e->cur_buf);
        return 0;
    }
    if (x->kind == X_SCB) {
        int row;
        if (ingot_bnb_scb(&x->w, (float *)e->cur_buf, &row) != 0)
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                              "%s: %s: scale of row %d has no bitsandbytes SCB (absmax) that "
                              "divides back to it", e->in_path, x->src->name, row);
        return 0;
    }
    const ingot_wmat *w = &x->w;
    if ((size_t)w->n_in > e->row_cap) {
        free(e->row);
        e->row = malloc((size_t)w->n_in * sizeof(float));
        e->row_cap = e->row ? (size_t)w->n_in : 0;
        if (!e->row)
            return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", x->name);
    }
    for (int o = 0; o < w->n_out; o++) {
        if (cancelled(e))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        ingot_dequantize_ref(w, o, o + 1, e->row);
        for (int k = 0; k < w->n_in; k++) {
            size_t at = (size_t)o * (size_t)w->n_in + (size_t)k;
            float v = e->row[k];
            switch (x->dtype) {
            case INGOT_DT_F32: memcpy(e->cur_buf + 4 * at, &v, 4); break;
            case INGOT_DT_BF16: {
                uint16_t h = ingot_f32_to_bf16(v);
                memcpy(e->cur_buf + 2 * at, &h, 2);
                break;
            }
            default: {
                uint16_t h = ingot_f32_to_f16(v);
                if (isfinite(v) && !isfinite(ingot_f16_to_f32(h)))
                    return ingot_fail(err, INGOT_ERR_NONFINITE,
                                      "%s: value %g at [%d, %d] does not fit in f16",
                                      x->src->name, (double)v, o, k);
                memcpy(e->cur_buf + 2 * at, &h, 2);
            }
            }
        }
    }
    return 0;
}

typedef struct shard_ctx {
    exporter *e;
    int first;  /* index in e->x of the shard's tensor 0 */
} shard_ctx;

static int gen(void *user, int i, uint64_t offset, uint8_t *buf, size_t len, ingot_error *err)
{
    shard_ctx *sc = user;
    exporter *e = sc->e;
    const xtensor *x = &e->x[sc->first + i];
    if (cancelled(e))
        return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
    if (x->kind == X_COPY) {
        memcpy(buf, x->raw + offset, len);
    } else {
        if (e->cur != sc->first + i) {
            free(e->cur_buf);
            e->cur_buf = NULL;
            e->cur = -1;
            if (materialize(e, x, err) != 0)
                return -1;
            e->cur = sc->first + i;
        }
        memcpy(buf, e->cur_buf + offset, len);
        if (offset + len == x->size) {
            free(e->cur_buf);
            e->cur_buf = NULL;
            e->cur = -1;
        }
    }
    e->done += len;
    if (e->o->progress)
        e->o->progress(e->o->progress_user, "export", e->done, e->total);
    return 0;
}

/* ------------------------------------------------------------------ write */

static int write_text(const ingot_outdir *d, const char *name, const void *data, size_t len,
                      ingot_error *err)
{
    char *path = ingot_outdir_file(d, name);
    if (!path)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    ingot_outfile of;
    int rc = ingot_outfile_open(&of, path, NULL, err);
    if (rc == 0 && ingot_write_all(of.fd, data, len) != 0) {
        rc = ingot_fail(err, INGOT_ERR_IO, "%s: write: %s", name, strerror(errno));
        ingot_outfile_abort(&of);
    }
    if (rc == 0)
        rc = ingot_outfile_commit(&of, err);
    free(path);
    return rc;
}

static int write_json(const ingot_outdir *d, const char *name, const json_t *j, size_t flags,
                      ingot_error *err)
{
    char *s = json_dumps(j, flags);
    if (!s)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", name);
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", name);
    }
    t[n] = '\n';
    t[n + 1] = 0;
    int rc = write_text(d, name, t, n + 1, err);
    free(t);
    return rc;
}

static int write_shards(exporter *e, const ingot_outdir *d, ingot_error *err)
{
    ingot_st_tensor *st = calloc((size_t)(e->n ? e->n : 1), sizeof *st);
    if (!st)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    int rc = 0;
    for (int i = 0; i < e->n; i++) {
        st[i].name = e->x[i].name;
        st[i].dtype = e->x[i].dtype;
        st[i].ndim = e->x[i].ndim;
        for (int k = 0; k < e->x[i].ndim; k++)
            st[i].shape[k] = e->x[i].shape[k];
        st[i].size = e->x[i].size;
    }
    e->cur = -1;
    for (int first = 0; rc == 0 && first < e->n;) {
        int end = first;
        while (end < e->n && e->x[end].shard == e->x[first].shard)
            end++;
        char name[64];
        shard_name(e, e->x[first].shard, name, sizeof name);
        char *path = ingot_outdir_file(d, name);
        shard_ctx sc = {e, first};
        rc = path ? ingot_st_write_gen(path, st + first, end - first, "{\"format\":\"pt\"}", gen,
                                       &sc, err)
                  : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        free(path);
        first = end;
    }
    free(e->cur_buf);
    e->cur_buf = NULL;
    if (rc == 0 && e->n_shards > 1) {
        /* transformers' index: total_size is the tensors' bytes, keys sorted */
        json_t *map = json_object();
        for (int i = 0; i < e->n; i++) {
            char name[64];
            shard_name(e, e->x[i].shard, name, sizeof name);
            json_object_set_new(map, e->x[i].name, json_string(name));
        }
        json_t *idx = json_pack("{s:{s:I}, s:o}", "metadata", "total_size",
                                (json_int_t)e->total, "weight_map", map);
        rc = idx ? write_json(d, "model.safetensors.index.json", idx,
                              JSON_INDENT(2) | JSON_SORT_KEYS, err)
                 : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        json_decref(idx);
    }
    free(st);
    return rc;
}

/* config.json for awq: the stored one with f16 and AutoAWQ's quantization_config. */
static int write_awq_config(const exporter *e, const ingot_outdir *d, const uint8_t *data,
                            size_t len, ingot_error *err)
{
    json_error_t je;
    json_t *c = json_loadb((const char *)data, len, 0, &je);
    if (!json_is_object(c)) {
        json_decref(c);
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: hf/config.json: not a JSON object",
                          e->in_path);
    }
    json_object_set_new(c, "torch_dtype", json_string("float16"));
    if (json_object_get(c, "dtype"))
        json_object_set_new(c, "dtype", json_string("float16"));
    json_object_set_new(c, "quantization_config",
                        json_pack("{s:s, s:i, s:i, s:b, s:s}", "quant_method", "awq", "bits", 4,
                                  "group_size", e->group_size, "zero_point", 1, "version",
                                  "gemm"));
    int rc = write_json(d, "config.json", c, JSON_INDENT(2), err);
    json_decref(c);
    return rc;
}

/* transformers' BitsAndBytesConfig.to_dict() for what plan_bnb found. */
static json_t *bnb_quant_config(const exporter *e)
{
    bool b4 = e->bnb_type == INGOT_DT_NF4;
    return json_pack("{s:s, s:b, s:b, s:b, s:b, s:s, s:b, s:s, s:s, s:f, s:n, s:b, s:b}",
                     "quant_method", "bitsandbytes", "_load_in_4bit", b4, "_load_in_8bit", !b4,
                     "load_in_4bit", b4, "load_in_8bit", !b4, "bnb_4bit_quant_type",
                     b4 ? "nf4" : "fp4", "bnb_4bit_use_double_quant",
                     b4 && e->bnb_variant == INGOT_NF4_DQ, "bnb_4bit_compute_dtype",
                     b4 ? torch_dtype(e) : "float32", "bnb_4bit_quant_storage", "uint8",
                     "llm_int8_threshold", 6.0, "llm_int8_skip_modules",
                     "llm_int8_enable_fp32_cpu_offload", 0, "llm_int8_has_fp16_weight", 0);
}

/*
 * config.json: hf writes the stored one (without a quantization_config that a
 * converted AWQ / GPTQ / bitsandbytes checkpoint brought: the export holds
 * floats), bnb the stored one with bitsandbytes' quantization_config.
 */
static int write_config(const exporter *e, const ingot_outdir *d, const uint8_t *data, size_t len,
                        ingot_error *err)
{
    if (e->o->format == INGOT_EXPORT_AWQ)
        return write_awq_config(e, d, data, len, err);
    json_error_t je;
    json_t *c = json_loadb((const char *)data, len, 0, &je);
    if (!json_is_object(c)) {
        json_decref(c);
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: hf/config.json: not a JSON object",
                          e->in_path);
    }
    int rc;
    if (e->o->format == INGOT_EXPORT_BNB) {
        json_object_set_new(c, "quantization_config", bnb_quant_config(e));
        rc = write_json(d, "config.json", c, JSON_INDENT(2), err);
    } else if (json_object_get(c, "quantization_config")) {
        json_object_del(c, "quantization_config");
        rc = write_json(d, "config.json", c, JSON_INDENT(2), err);
    } else {
        rc = write_text(d, "config.json", data, len, err); /* byte for byte */
    }
    json_decref(c);
    return rc;
}

/* A stored HF file name that may be written into the directory. */
static bool plain_file_name(const char *name)
{
    return name[0] && name[0] != '.' && !strchr(name, '/') && strcmp(name, "model.safetensors") &&
           strcmp(name, "model.safetensors.index.json") &&
           !(strncmp(name, "model-", 6) == 0 && strstr(name, ".safetensors"));
}

static int write_files(exporter *e, const ingot_outdir *d, ingot_error *err)
{
    json_t *files = json_object_get(e->a->manifest, "files");
    const char *name;
    json_t *v;
    bool have_config = false;
    json_object_foreach(files, name, v) {
        const char *member, *xxh3;
        size_t len;
        const uint8_t *data;
        if (ingot_artifact_file_entry(v, &member, &xxh3) != 0 ||
            !(data = ingot_artifact_member(e->a, member, &len)))
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: files: %s: no such member", e->in_path,
                              name);
        if (!plain_file_name(name))
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: files: %s: not a name to export",
                              e->in_path, name);
        int rc;
        if (!strcmp(name, "config.json")) {
            have_config = true;
            rc = write_config(e, d, data, len, err);
        } else {
            rc = write_text(d, name, data, len, err);
        }
        if (rc != 0)
            return -1;
    }
    if (!have_config)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: no hf/config.json stored", e->in_path);
    return 0;
}

static char *summary(const exporter *e, const char *out_dir, double seconds)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:i,s:f}", "output", out_dir, "format",
                          ingot_export_format_name(e->o->format), "architecture",
                          ingot_arch_name(e->a->config.arch), "tensors", e->n, "shards",
                          e->n_shards, "bytes", (json_int_t)e->total, "dequantized",
                          e->n_dequant, "seconds", seconds);
    if (j && e->o->format == INGOT_EXPORT_AWQ)
        json_object_set_new(j, "group_size", json_integer(e->group_size));
    char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
    json_decref(j);
    return s;
}

int ingot_export(const char *in_path, const char *out_dir, const ingot_export_options *opts,
                 char **summary_json, ingot_error *err)
{
    ingot_export_options defaults;
    ingot_export_options_init(&defaults);
    const ingot_export_options *o = opts ? opts : &defaults;
    if (summary_json)
        *summary_json = NULL;
    if (!in_path || !out_dir)
        return ingot_fail(err, INGOT_ERR_ARG, "export: missing input or output path");
    if (!ingot_export_format_name(o->format))
        return ingot_fail(err, INGOT_ERR_ARG, "export: unknown format %d", (int)o->format);
    if (o->format == INGOT_EXPORT_GGUF)
        return ingot_export_gguf(in_path, out_dir, o, summary_json, err);
    double t0 = ingot_now();
    exporter e = {.in_path = in_path, .o = o, .cur = -1};
    e.a = ingot_artifact_open(in_path, err);
    if (!e.a)
        return -1;
    int rc = ingot_tensor_specs(&e.a->config, &e.specs, &e.n_specs, err);
    if (rc == 0)
        rc = o->format == INGOT_EXPORT_AWQ   ? plan_awq(&e, err)
             : o->format == INGOT_EXPORT_BNB ? plan_bnb(&e, err)
                                             : plan_hf(&e, err);
    if (rc == 0) {
        plan_shards(&e);
        if (e.n_dequant && o->note) {
            char msg[512];
            if (o->format == INGOT_EXPORT_AWQ)
                snprintf(msg, sizeof msg,
                         "%s: %d quantized embedding/head tensor%s dequantized to f16, as "
                         "AutoAWQ keeps them unquantized",
                         in_path, e.n_dequant, e.n_dequant == 1 ? "" : "s");
            else if (o->format == INGOT_EXPORT_BNB)
                snprintf(msg, sizeof msg,
                         "%s: %d quantized embedding/head tensor%s dequantized to bf16, as "
                         "transformers keeps them unquantized",
                         in_path, e.n_dequant, e.n_dequant == 1 ? "" : "s");
            else
                snprintf(msg, sizeof msg,
                         "%s: %d quantized tensor%s dequantized to bf16: the export is a "
                         "plain bf16 checkpoint, not a quantized one",
                         in_path, e.n_dequant, e.n_dequant == 1 ? "" : "s");
            o->note(o->note_user, msg);
        }
    }
    ingot_outdir d = {0};
    if (rc == 0)
        rc = ingot_outdir_open(&d, out_dir, in_path, err);
    if (rc == 0) {
        rc = write_files(&e, &d, err);
        if (rc == 0)
            rc = write_shards(&e, &d, err);
        if (rc == 0)
            rc = ingot_outdir_commit(&d, err);
        else
            ingot_outdir_abort(&d);
    }
    if (rc == 0 && summary_json)
        *summary_json = summary(&e, out_dir, ingot_now() - t0);
    free(e.cur_buf);
    free(e.row);
    free(e.x);
    free(e.specs);
    for (int i = 0; i < e.n_owned; i++)
        free(e.owned[i]);
    free(e.owned);
    ingot_artifact_free(e.a);
    return rc;
}
