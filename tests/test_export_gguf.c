/*
 * test_export_gguf.c - ingot export --format gguf on tiny-llama, read back
 * by a small GGUF reader written here from the format's definition
 * (llama.cpp's gguf-py constants.py / gguf_reader.py, ggml-common.h and
 * ggml-quants.c for the blocks), not from ingot's writer:
 *   - bf16, int8, int4 and awq4 artifacts: header, the llama metadata and
 *     tokenizer keys, one tensor per canonical tensor at aligned offsets;
 *     every tensor dequantized (F32, F16, BF16, Q4_1, Q8_0 as ggml does),
 *     attn_q / attn_k rows put back from llama.cpp's order, equals ingot's
 *     reference dequantization exactly for floats and within the stated
 *     rounding for Q4_1 (<= 15 * 2^-11, 0.73 % of a step) and Q8_0 (< 6.3 % of a step),
 *     and the largest change equals the one the summary reports;
 *   - nf4 refused naming the formats that export, leaving no file and an
 *     existing output untouched; an interrupt leaves nothing; a
 *     pre-tokenizer regex llama.cpp does not know refused.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifact/artifact.h"
#include "export/gguf.h"
#include "formats/formats.h"
#include "model/tensor_map.h"
#include "util/util.h"
#include "tests/test_files.h"

static char model_dir[1024], tmp[512], bf16[600], int8[600], int4[600], awq4[600], nf4[600];

/* ------------------------------------------------------------ the reader */

typedef struct rkv {
    char key[128];
    uint32_t type, sub;   /* value type; element type of arrays */
    uint64_t n;           /* array length */
    const uint8_t *val;   /* the value (arrays: the first element) */
} rkv;

typedef struct rtensor {
    char name[128];
    uint32_t ndim, type;
    uint64_t ne[4], offset;
} rtensor;

typedef struct rfile {
    uint8_t *buf;
    size_t len;
    uint64_t n_kv, n_t;
    rkv *kv;
    rtensor *t;
    size_t data; /* start of the data section */
} rfile;

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
    ck_assert_msg((size_t)(c->end - c->p) >= n, "gguf: truncated");
    const uint8_t *p = c->p;
    c->p += n;
    return p;
}

static uint32_t u32(cursor *c)
{
    uint32_t v;
    memcpy(&v, take(c, 4), 4);
    return v;
}

static uint64_t u64(cursor *c)
{
    uint64_t v;
    memcpy(&v, take(c, 8), 8);
    return v;
}

static void str(cursor *c, char *out, size_t cap)
{
    uint64_t n = u64(c);
    const uint8_t *p = take(c, n);
    ck_assert_uint_lt(n, cap);
    memcpy(out, p, n);
    out[n] = 0;
}

/* Bytes of one scalar of GGUF value type t (strings: 0). */
static size_t scalar_size(uint32_t t)
{
    static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    ck_assert_uint_lt(t, 13);
    return sz[t];
}

static void skip_value(cursor *c, uint32_t t)
{
    if (t == 8)
        take(c, u64(c));
    else
        take(c, scalar_size(t));
}

static void read_kv(cursor *c, rkv *kv)
{
    str(c, kv->key, sizeof kv->key);
    kv->type = u32(c);
    if (kv->type == 9) {
        kv->sub = u32(c);
        kv->n = u64(c);
        kv->val = c->p;
        for (uint64_t i = 0; i < kv->n; i++)
            skip_value(c, kv->sub);
    } else {
        kv->val = c->p;
        skip_value(c, kv->type);
    }
}

static void read_gguf(const char *path, rfile *f)
{
    memset(f, 0, sizeof *f);
    slurp(path, (char **)&f->buf, &f->len);
    cursor c = {f->buf, f->buf + f->len};
    ck_assert_mem_eq(take(&c, 4), "GGUF", 4);
    ck_assert_uint_eq(u32(&c), 3);
    f->n_t = u64(&c);
    f->n_kv = u64(&c);
    f->kv = calloc(f->n_kv, sizeof *f->kv);
    f->t = calloc(f->n_t, sizeof *f->t);
    for (uint64_t i = 0; i < f->n_kv; i++)
        read_kv(&c, &f->kv[i]);
    for (uint64_t i = 0; i < f->n_t; i++) {
        rtensor *t = &f->t[i];
        str(&c, t->name, sizeof t->name);
        t->ndim = u32(&c);
        ck_assert_uint_le(t->ndim, 4);
        for (uint32_t d = 0; d < t->ndim; d++)
            t->ne[d] = u64(&c);
        t->type = u32(&c);
        t->offset = u64(&c);
        ck_assert_uint_eq(t->offset % 32, 0);
    }
    size_t used = (size_t)(c.p - f->buf);
    f->data = (used + 31) / 32 * 32;
}

static void free_gguf(rfile *f)
{
    free(f->buf);
    free(f->kv);
    free(f->t);
}

static const rkv *kv_find(const rfile *f, const char *key)
{
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (!strcmp(f->kv[i].key, key))
            return &f->kv[i];
    ck_abort_msg("key %s missing", key);
    return NULL;
}

static uint32_t kv_u32(const rfile *f, const char *key)
{
    const rkv *kv = kv_find(f, key);
    ck_assert_uint_eq(kv->type, 4);
    uint32_t v;
    memcpy(&v, kv->val, 4);
    return v;
}

static float kv_f32(const rfile *f, const char *key)
{
    const rkv *kv = kv_find(f, key);
    ck_assert_uint_eq(kv->type, 6);
    float v;
    memcpy(&v, kv->val, 4);
    return v;
}

static void kv_str_is(const rfile *f, const char *key, const char *want)
{
    const rkv *kv = kv_find(f, key);
    ck_assert_uint_eq(kv->type, 8);
    uint64_t n;
    memcpy(&n, kv->val, 8);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_msg(!memcmp(kv->val + 8, want, n), "%s is not %s", key, want);
}

/* ------------------------------------------------------------ dequantization, as ggml */

static float h2f(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return ingot_f16_to_f32(h);
}

/* Row r of tensor t as f32 (ggml's dequantize_row_* arithmetic). */
static void gguf_row(const rfile *f, const rtensor *t, uint64_t r, float *out)
{
    const uint64_t n = t->ne[0];
    const uint8_t *base = f->buf + f->data + t->offset;
    switch (t->type) {
    case 0: memcpy(out, base + r * n * 4, n * 4); break;
    case 1:
        for (uint64_t k = 0; k < n; k++)
            out[k] = h2f(base + (r * n + k) * 2);
        break;
    case 30:
        for (uint64_t k = 0; k < n; k++) {
            uint16_t b;
            memcpy(&b, base + (r * n + k) * 2, 2);
            out[k] = ingot_bf16_to_f32(b);
        }
        break;
    case 3: /* Q4_1: d, m, qs[16]; y[j] = (qs[j] & 15) d + m, y[j+16] = (qs[j] >> 4) d + m */
        for (uint64_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = base + (r * (n / 32) + b) * 20;
            float d = h2f(blk), m = h2f(blk + 2);
            for (int j = 0; j < 16; j++) {
                out[b * 32 + j] = (float)(blk[4 + j] & 15) * d + m;
                out[b * 32 + j + 16] = (float)(blk[4 + j] >> 4) * d + m;
            }
        }
        break;
    case 7: /* Q5_1 (ggml dequantize_row_q5_1): d, m, qh (u32 LE), qs[16]; code j = nibble | bit j of qh << 4 */
        for (uint64_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = base + (r * (n / 32) + b) * 24;
            float d = h2f(blk), m = h2f(blk + 2);
            uint32_t qh;
            memcpy(&qh, blk + 4, 4);
            for (int j = 0; j < 16; j++) {
                int x0 = (blk[8 + j] & 15) | (int)(((qh >> j) << 4) & 0x10);
                int x1 = (blk[8 + j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
                out[b * 32 + j] = (float)x0 * d + m;
                out[b * 32 + j + 16] = (float)x1 * d + m;
            }
        }
        break;
    case 8: /* Q8_0: d, qs[32]; y = q d */
        for (uint64_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = base + (r * (n / 32) + b) * 34;
            float d = h2f(blk);
            for (int j = 0; j < 32; j++)
                out[b * 32 + j] = (float)(int8_t)blk[2 + j] * d;
        }
        break;
    default: ck_abort_msg("%s: unexpected ggml type %u", t->name, t->type);
    }
}

static uint64_t row_bytes(uint32_t type, uint64_t n)
{
    switch (type) {
    case 0: return 4 * n;
    case 1:
    case 30: return 2 * n;
    case 3: return n / 32 * 20;
    case 7: return n / 32 * 24;
    case 8: return n / 32 * 34;
    }
    return 0;
}

/* ------------------------------------------------------------ comparison */

/* The HF row that llama.cpp's row r of a Q/K weight with `heads` heads holds:
 * its converter reshapes (heads, 2, hd/2, in), swaps axes 1 and 2 and
 * flattens, so row (h, i, j) = h*hd + 2i + j holds HF row (h, j, i). */
static uint64_t hf_row(uint64_t r, uint64_t rows, int heads)
{
    if (!heads)
        return r;
    uint64_t hd = rows / (uint64_t)heads, h = r / hd, i = (r % hd) / 2, j = r % 2;
    return h * hd + j * (hd / 2) + i;
}

/* The scale of weight k of row o of a quantized weight (one step). */
static float step_of(const ingot_wmat *w, int o, int k)
{
    if (w->type == INGOT_DT_Q4 || w->type == INGOT_DT_Q5)
        return ingot_f16_to_f32(
            ((const uint16_t *)w->part[w->type == INGOT_DT_Q4 ? INGOT_Q4_SCALES : INGOT_QB_SCALES])
                [(int64_t)o * (w->n_in / w->group_size) + k / w->group_size]);
    return ((const float *)w->part[INGOT_Q8_SCALES])[o];
}

typedef struct result {
    double max_abs, max_steps;
} result;

/* Compares GGUF tensor t with ingot's stored tensor s; bound: changes allowed, in steps. */
static void compare_tensor(const rfile *f, const rtensor *t, const ingot_tensor *s,
                           const ingot_config *c, double bound, result *res)
{
    const ingot_format *fmt = ingot_format_of(s->type);
    int64_t rows, cols;
    ingot_tensor_rows(s, &rows, &cols);
    ingot_wmat w;
    ingot_error err = {0};
    ck_assert_msg(ingot_tensor_bind(s, fmt, rows, cols, "x", &w, &err) == 0, "%s", err.message);
    const bool vec = s->ndim == 1;
    const uint64_t n_out = (uint64_t)s->shape[0];
    int heads = strstr(s->name, ".attn_q.") ? c->n_heads : strstr(s->name, ".attn_k.") ? c->n_kv_heads : 0;
    float *want = malloc((size_t)(rows * cols) * sizeof(float));
    float *got = malloc((size_t)(vec ? (int64_t)n_out : cols) * sizeof(float));
    ingot_dequantize_ref(&w, 0, (int)rows, want);
    if (vec) {
        gguf_row(f, t, 0, got);
        for (uint64_t r = 0; r < n_out; r++)
            ck_assert_msg(got[r] == want[hf_row(r, n_out, heads)], "%s[%llu] differs", s->name,
                          (unsigned long long)r);
    }
    for (uint64_t r = 0; !vec && r < n_out; r++) {
        uint64_t o = hf_row(r, n_out, heads);
        gguf_row(f, t, r, got);
        for (int64_t k = 0; k < cols; k++) {
            double d = fabs((double)got[k] - (double)want[o * (uint64_t)cols + (uint64_t)k]);
            if (!fmt->quantized) {
                ck_assert_msg(d == 0, "%s: [%llu, %lld] differs", s->name, (unsigned long long)r,
                              (long long)k);
                continue;
            }
            double st = step_of(&w, (int)o, (int)k);
            ck_assert_msg(d <= bound * st, "%s: [%llu, %lld]: change %g > %g steps of %g",
                          s->name, (unsigned long long)r, (long long)k, d, bound, st);
            res->max_abs = fmax(res->max_abs, d);
            if (st > 0)
                res->max_steps = fmax(res->max_steps, d / st);
        }
    }
    free(want);
    free(got);
}

/* ------------------------------------------------------------ export + checks */

static char *export_gguf(const char *in, const char *out, ingot_error *err)
{
    ingot_export_options o;
    ingot_export_options_init(&o);
    o.format = INGOT_EXPORT_GGUF;
    char *summary = NULL;
    if (ingot_export(in, out, &o, &summary, err) != 0)
        return NULL;
    ck_assert_ptr_nonnull(summary);
    return summary;
}

static void check_metadata(const rfile *f, const ingot_config *c)
{
    kv_str_is(f, "general.architecture", "llama");
    ck_assert_uint_eq(kv_u32(f, "llama.block_count"), (uint32_t)c->n_layers);
    ck_assert_uint_eq(kv_u32(f, "llama.context_length"), (uint32_t)c->max_pos);
    ck_assert_uint_eq(kv_u32(f, "llama.embedding_length"), (uint32_t)c->hidden_size);
    ck_assert_uint_eq(kv_u32(f, "llama.feed_forward_length"), (uint32_t)c->ffn_size);
    ck_assert_uint_eq(kv_u32(f, "llama.attention.head_count"), (uint32_t)c->n_heads);
    ck_assert_uint_eq(kv_u32(f, "llama.attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    ck_assert_uint_eq(kv_u32(f, "llama.rope.dimension_count"), (uint32_t)c->head_dim);
    ck_assert_uint_eq(kv_u32(f, "llama.vocab_size"), (uint32_t)c->vocab_size);
    ck_assert(kv_f32(f, "llama.rope.freq_base") == (float)c->rope.theta);
    ck_assert(kv_f32(f, "llama.attention.layer_norm_rms_epsilon") == (float)c->rms_eps);
    kv_str_is(f, "tokenizer.ggml.model", "gpt2");
    /* tiny-llama: Llama 3's regex with ignore_merges false */
    kv_str_is(f, "tokenizer.ggml.pre", "smaug-bpe");
    const rkv *tok = kv_find(f, "tokenizer.ggml.tokens"), *ty = kv_find(f, "tokenizer.ggml.token_type");
    ck_assert_uint_eq(tok->sub, 8);
    ck_assert_uint_eq(tok->n, (uint64_t)c->vocab_size);
    ck_assert_uint_eq(ty->sub, 5);
    ck_assert_uint_eq(ty->n, (uint64_t)c->vocab_size);
    int32_t type0;
    memcpy(&type0, ty->val, 4);
    ck_assert_int_eq(type0, 3); /* <|endoftext|>: a special added token, control */
    ck_assert_uint_eq(kv_find(f, "tokenizer.ggml.merges")->n, 3837);
    ck_assert_uint_eq(kv_u32(f, "tokenizer.ggml.bos_token_id"), 0);
    ck_assert_uint_eq(kv_u32(f, "tokenizer.ggml.eos_token_id"), 0);
    ck_assert_uint_eq(kv_find(f, "tokenizer.ggml.add_bos_token")->val[0], 0);
    char *tmpl;
    size_t len;
    char *p = path_in(model_dir, "chat_template.jinja");
    slurp(p, &tmpl, &len);
    tmpl[len] = 0;
    kv_str_is(f, "tokenizer.chat_template", tmpl);
    free(tmpl);
    free(p);
}

/* Exports `in`, reads it back, checks everything; returns the summary's JSON. */
static json_t *round_trip(const char *in, uint32_t linear_type, double bound, result *res)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "m.gguf");
    ingot_error err = {0};
    char *summary = export_gguf(in, out, &err);
    ck_assert_msg(summary != NULL, "%s", err.message);
    ck_assert_int_eq(dir_entries(t), 1); /* the file, no temporary left */
    rfile f;
    read_gguf(out, &f);
    ingot_artifact *a = ingot_artifact_open(in, &err);
    ck_assert_ptr_nonnull(a);
    check_metadata(&f, &a->config);
    ingot_tensor_spec *specs;
    int n;
    ck_assert_int_eq(ingot_tensor_specs(&a->config, &specs, &n, &err), 0);
    ck_assert_uint_eq(f.n_t, (uint64_t)n);
    memset(res, 0, sizeof *res);
    for (int i = 0; i < n; i++) {
        const rtensor *gt = &f.t[i];
        ck_assert_str_eq(gt->name, specs[i].name);
        const ingot_tensor *s = ingot_artifact_find(a, specs[i].name);
        uint64_t rows = specs[i].ndim == 1 ? 1 : (uint64_t)specs[i].shape[0];
        uint64_t cols = (uint64_t)specs[i].shape[specs[i].ndim == 1 ? 0 : 1];
        ck_assert_uint_eq(gt->ne[0], cols);
        if (specs[i].ndim == 2)
            ck_assert_uint_eq(gt->ne[1], rows);
        if (specs[i].ndim == 1)
            ck_assert_uint_eq(gt->type, 0); /* norms and biases as f32 */
        else if (specs[i].kind == INGOT_TK_LINEAR)
            ck_assert_uint_eq(gt->type, linear_type);
        ck_assert_uint_le(f.data + gt->offset + rows * row_bytes(gt->type, cols), f.len);
        compare_tensor(&f, gt, s, &a->config, bound, res);
    }
    json_error_t je;
    json_t *j = json_loads(summary, 0, &je);
    ck_assert_ptr_nonnull(j);
    free(specs);
    ingot_artifact_free(a);
    free_gguf(&f);
    free(summary);
    rm_rf(t);
    free(out);
    free(t);
    return j;
}

static void check_reported(json_t *j, const char *key, const result *res)
{
    json_t *q = json_object_get(j, key);
    ck_assert_msg(json_is_object(q), "summary lacks %s", key);
    double abs = json_real_value(json_object_get(q, "max_abs_change"));
    double steps = json_real_value(json_object_get(q, "max_step_fraction"));
    ck_assert_msg(abs == res->max_abs, "%s: reported %g, measured %g", key, abs, res->max_abs);
    ck_assert_msg(fabs(steps - res->max_steps) <= 1e-12, "%s: reported %g steps, measured %g", key,
                  steps, res->max_steps);
    ck_assert(res->max_abs > 0); /* there is rounding, and it was measured */
}

START_TEST(gguf_bf16)
{
    result res;
    json_t *j = round_trip(bf16, 30, 0, &res);
    ck_assert_str_eq(json_string_value(json_object_get(j, "linear_type")), "bf16");
    ck_assert(json_is_null(json_object_get(j, "q4_1")));
    json_decref(j);
}
END_TEST

START_TEST(gguf_int8)
{
    result res;
    /* Q8_0: d = f16(scale): |q| * |d - scale| <= 127 * 2^-11 * scale */
    json_t *j = round_trip(int8, 8, 127.0 / 2048, &res);
    check_reported(j, "q8_0", &res);
    json_decref(j);
}
END_TEST

START_TEST(gguf_int4)
{
    result res;
    /* Q4_1: only m = f16(-zero * scale) rounds: <= 2^-11 * 15 * scale */
    json_t *j = round_trip(int4, 3, 15.0 / 2048, &res);
    check_reported(j, "q4_1", &res);
    ck_assert(res.max_steps <= 15.0 / 2048);
    json_decref(j);
}
END_TEST

/* int5 embedding and head (the linears kept bf16) as Q5_1: only m rounds,
 * <= 2^-11 * 31 of a step */
START_TEST(gguf_int5)
{
    char *d = make_case_dir(tmp), *in = path_in(d, "int5.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    const char *keep[] = {"blk.*", NULL};
    o.keep = keep;
    o.embed_type = INGOT_DT_Q5;
    o.head_type = INGOT_DT_Q5;
    o.group_size = 64;
    quantize_or_abort(bf16, in, &o);
    result res;
    json_t *j = round_trip(in, 30, 31.0 / 2048, &res);
    check_reported(j, "q5_1", &res);
    ck_assert(res.max_steps <= 31.0 / 2048);
    json_decref(j);
    rm_rf(d);
    free(in);
    free(d);
}
END_TEST

START_TEST(gguf_awq4)
{
    result res;
    json_t *j = round_trip(awq4, 3, 15.0 / 2048, &res);
    check_reported(j, "q4_1", &res);
    json_decref(j);
}
END_TEST

START_TEST(gguf_nf4_refused)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "m.gguf");
    write_text(out, "precious");
    ingot_error err = {0};
    ck_assert_ptr_null(export_gguf(nf4, out, &err));
    ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.message, "nf4") && strstr(err.message, "int4, awq4, int5, int8, bf16"),
                  "%s", err.message);
    ck_assert_ptr_null(strchr(err.message, '\n'));
    char *s;
    size_t len;
    slurp(out, &s, &len);
    ck_assert_uint_eq(len, 8);
    ck_assert(!memcmp(s, "precious", 8));
    free(s);
    ck_assert_int_eq(dir_entries(t), 1);
    rm_rf(t);
    free(out);
    free(t);
}
END_TEST

START_TEST(gguf_pre_names)
{
    static const char *llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
                                "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
                                "\\s+(?!\\S)|\\s+";
    static const char *qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
                               "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
                               "\\s+(?!\\S)|\\s+";
    ck_assert_str_eq(ingot_gguf_pre_name(llama3, true), "llama-bpe");
    ck_assert_str_eq(ingot_gguf_pre_name(llama3, false), "smaug-bpe");
    ck_assert_str_eq(ingot_gguf_pre_name(qwen2, false), "qwen2");
    ck_assert_ptr_null(ingot_gguf_pre_name(qwen2, true));
    ck_assert_ptr_null(ingot_gguf_pre_name("\\p{L}+", false));
}
END_TEST

START_TEST(gguf_interrupt_leaves_nothing)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "m.gguf");
    volatile int stop = 1;
    ingot_export_options o;
    ingot_export_options_init(&o);
    o.format = INGOT_EXPORT_GGUF;
    o.cancel = &stop;
    ingot_error err = {0};
    ck_assert_int_ne(ingot_export(int4, out, &o, NULL, &err), 0);
    ck_assert_int_eq(err.code, INGOT_ERR_INTERRUPTED);
    ck_assert_int_eq(dir_entries(t), 0);
    rm_rf(t);
    free(out);
    free(t);
}
END_TEST

/* llama3 rope: rope_freqs.weight holds, per frequency, default / llama3 inverse
 * frequency as transformers' _compute_llama3_parameters makes them. */
START_TEST(gguf_llama3_rope_freqs)
{
    char *t = make_case_dir(tmp), *hf = path_in(t, "hf"), *in = path_in(t, "m.ingot");
    char *out = path_in(t, "m.gguf"), cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cp -r '%s' '%s' && sed -i 's/\"rope_type\": \"default\"/\"rope_type\": \"llama3\", "
             "\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
             "\"original_max_position_embeddings\": 256/' '%s/config.json'",
             model_dir, hf, hf);
    ck_assert_int_eq(system(cmd), 0);
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(hf, in, NULL, NULL, &err) == 0, "%s", err.message);
    char *summary = export_gguf(in, out, &err);
    ck_assert_msg(summary != NULL, "%s", err.message);
    rfile f;
    read_gguf(out, &f);
    const rtensor *rt = NULL;
    for (uint64_t i = 0; i < f.n_t; i++)
        if (!strcmp(f.t[i].name, "rope_freqs.weight"))
            rt = &f.t[i];
    ck_assert_ptr_nonnull(rt);
    ck_assert_uint_eq(rt->type, 0);
    ck_assert_uint_eq(rt->ne[0], 32);
    float got[32];
    gguf_row(&f, rt, 0, got);
    int n_one = 0, n_factor = 0, n_ramp = 0;
    for (int i = 0; i < 32; i++) {
        double inv = 1.0 / pow(500000.0, 2.0 * i / 64), wl = 2 * M_PI / inv, llama3 = inv;
        if (wl > 256.0)
            llama3 = inv / 8;
        else if (wl >= 64.0) {
            double smooth = (256.0 / wl - 1.0) / (4.0 - 1.0);
            llama3 = (1 - smooth) * inv / 8 + smooth * inv;
        }
        double want = inv / llama3;
        ck_assert_msg(fabs(got[i] - want) <= 1e-5 * want, "factor %d: %g, want %g", i, got[i], want);
        n_one += want == 1;
        n_factor += want == 8;
        n_ramp += want != 1 && want != 8;
    }
    ck_assert(n_one > 0 && n_factor > 0 && n_ramp > 0);
    free_gguf(&f);
    free(summary);
    rm_rf(t);
    free(hf);
    free(in);
    free(out);
    free(t);
}
END_TEST

/* A checkpoint whose pre-tokenizer splits digits in twos: refused, no file. */
START_TEST(gguf_unknown_regex_refused)
{
    char *t = make_case_dir(tmp), *hf = path_in(t, "hf"), *in = path_in(t, "m.ingot");
    char *out = path_in(t, "m.gguf"), cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cp -r '%s' '%s' && sed -i 's/p{N}{1,3}/p{N}{1,2}/' '%s/tokenizer.json'", model_dir,
             hf, hf);
    ck_assert_int_eq(system(cmd), 0);
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(hf, in, NULL, NULL, &err) == 0, "%s", err.message);
    ck_assert_ptr_null(export_gguf(in, out, &err));
    ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err.message, "tokenizer.json: pre_tokenizer") &&
                      strstr(err.message, "none llama.cpp knows"),
                  "%s", err.message);
    struct stat st;
    ck_assert_int_ne(stat(out, &st), 0);
    rm_rf(t);
    free(hf);
    free(in);
    free(out);
    free(t);
}
END_TEST

/* ------------------------------------------------------------ main */

static void quantize(const char *out, ingot_quant_type type)
{
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = type;
    char calib[1100];
    snprintf(calib, sizeof calib, "%s/calib.txt", model_dir);
    if (type == INGOT_QUANT_AWQ4) { /* a short calibration: the layout is what is tested */
        o.calib_path = calib;
        o.calib_samples = 4;
        o.calib_len = 128;
        o.loss_samples = 2;
    }
    quantize_or_abort(bf16, out, &o);
}

static void setup_paths(void)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    snprintf(model_dir, sizeof model_dir, "%s/models/tiny-llama", top);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp, sizeof tmp, "%s/ingot-gguf-XXXXXX", base);
    if (!mkdtemp(tmp))
        abort();
    snprintf(bf16, sizeof bf16, "%s/tiny.ingot", tmp);
    snprintf(int8, sizeof int8, "%s/int8.ingot", tmp);
    snprintf(int4, sizeof int4, "%s/int4.ingot", tmp);
    snprintf(awq4, sizeof awq4, "%s/awq4.ingot", tmp);
    snprintf(nf4, sizeof nf4, "%s/nf4.ingot", tmp);
    convert_or_abort(model_dir, bf16);
    quantize(int8, INGOT_QUANT_INT8);
    quantize(int4, INGOT_QUANT_INT4);
    quantize(awq4, INGOT_QUANT_AWQ4);
    quantize(nf4, INGOT_QUANT_NF4);
}

int main(void)
{
    setup_paths();
    Suite *s = suite_create("export_gguf");
    TCase *tc = tcase_create("export_gguf");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, gguf_bf16);
    tcase_add_test(tc, gguf_int8);
    tcase_add_test(tc, gguf_int4);
    tcase_add_test(tc, gguf_awq4);
    tcase_add_test(tc, gguf_int5);
    tcase_add_test(tc, gguf_nf4_refused);
    tcase_add_test(tc, gguf_interrupt_leaves_nothing);
    tcase_add_test(tc, gguf_pre_names);
    tcase_add_test(tc, gguf_llama3_rope_freqs);
    tcase_add_test(tc, gguf_unknown_regex_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* no fork: the artifacts were quantized here with OpenMP threads, and a
       forked child's OpenMP pool is not one LeakSanitizer can scan */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[600]; /* not rm_rf: its assertion is for use inside a test */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
