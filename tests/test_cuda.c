/*
 * test_cuda.c - the CUDA backend against its CPU references.  Exits 77
 * (skipped) in a build without CUDA or on a machine without a GPU.
 *
 *   - every weight format's decode GEMV (n = 1..8) and prefill GEMM (each
 *     GEMM type) against a double-precision product with the reference
 *     dequantizer's weights, odd shapes included (the element-wise path);
 *   - embedding rows: bit-identical to ingot_dequantize_ref;
 *   - rmsnorm, rope, SwiGLU, add, absmax against the CPU code;
 *   - attention (GQA, sliding window, head dims 64/80/128, split sequences)
 *     against a double-precision softmax over the same cached values, for
 *     each KV cache type;
 *   - both shared models through the runtime: logits against the
 *     transformers goldens, greedy ids, eval perplexity against the CPU.
 *
 * Tolerances are relative to sum |w·x| of each output (so to the size of
 * the products, not of the result, which may cancel to nothing).
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert/st_reader.h"
#include "formats/formats.h"
#include "test_files.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cuda/cuda_ops.h"
#include "runtime/backend.h"
#include "runtime/rope.h"
#include "util/util.h"

/* f32 accumulation in another order than the reference */
#define TOL_F32 2e-6
/* prefill with bf16 / f16 inputs: each input rounded to 8 / 11 bits */
#define TOL_GEMM_BF16 8e-3
#define TOL_GEMM_F16 2e-3
/* attention: f32 softmax against double, over cached values of the KV type */
#define TOL_ATT 2e-5

#ifdef INGOT_HAVE_CUDA

static ingot_cuda *g;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1 << 24))) * 2.0f - 1.0f;
}

static void *dev(const void *host, size_t bytes)
{
    ingot_error err = {0};
    void *d = ingot_cuda_malloc(g, bytes, &err);
    ck_assert_msg(d != NULL, "%s", err.message);
    ck_assert_int_eq(ingot_cuda_upload(g, d, host, bytes, &err), 0);
    return d;
}

static void get(void *host, const void *d, size_t bytes)
{
    ingot_error err = {0};
    ck_assert_msg(ingot_cuda_download(g, host, d, bytes, &err) == 0, "%s", err.message);
}

/* A random weight of type t on host (h, parts malloc'ed) and device (d). */
typedef struct tw {
    ingot_wmat h, d;
    void *parts[INGOT_WMAT_MAX_PARTS];
} tw;

static void tw_make(tw *w, ingot_dtype t, int variant, int group, int n_out, int n_in)
{
    const ingot_format *f = ingot_format_of(t);
    ingot_wlayout lay;
    ingot_error err = {0};
    int gs = f->group_size(group);
    ck_assert_int_eq(ingot_format_layout(f, n_out, n_in, gs, variant, &lay, "w", &err), 0);
    float *src = malloc((size_t)n_out * n_in * sizeof *src);
    for (size_t i = 0; i < (size_t)n_out * n_in; i++)
        src[i] = rnd() * (i % 97 == 0 ? 4.0f : 0.5f); /* a few outliers */
    for (int i = 0; i < lay.n; i++)
        w->parts[i] = calloc(1, (size_t)lay.p[i].bytes);
    if (f->quantized) {
        ck_assert_int_eq(ingot_quantize_ref(f, src, n_out, n_in, gs, variant, w->parts, "w", &err), 0);
    } else {
        for (size_t i = 0; i < (size_t)n_out * n_in; i++) {
            if (t == INGOT_DT_F32)
                ((float *)w->parts[0])[i] = src[i];
            else if (t == INGOT_DT_BF16)
                ((uint16_t *)w->parts[0])[i] = ingot_f32_to_bf16(src[i]);
            else
                ((uint16_t *)w->parts[0])[i] = ingot_f32_to_f16(src[i]);
        }
    }
    free(src);
    ck_assert_int_eq(ingot_wmat_bind(&w->h, f, n_out, n_in, gs, variant, (const void *const *)w->parts, "w", &err), 0);
    w->d = w->h;
    for (int i = 0; i < lay.n; i++)
        w->d.part[i] = dev(w->parts[i], (size_t)lay.p[i].bytes);
}

static void tw_free(tw *w)
{
    for (int i = 0; i < w->h.n_parts; i++) {
        free(w->parts[i]);
        ingot_cuda_free(g, (void *)w->d.part[i]);
    }
}

/* The formats and variants under test. */
static const struct {
    ingot_dtype t;
    int variant, group;
    const char *name;
} fmts[] = {
    {INGOT_DT_BF16, 0, 0, "bf16"}, {INGOT_DT_F16, 0, 0, "f16"},   {INGOT_DT_F32, 0, 0, "f32"},
    {INGOT_DT_Q8, 0, 0, "int8"},   {INGOT_DT_NF4, 0, 0, "nf4"},   {INGOT_DT_NF4, 1, 0, "nf4-dq"},
    {INGOT_DT_Q4, 0, 128, "int4"}, {INGOT_DT_Q4, 0, 32, "int4-g32"}, {INGOT_DT_Q5, 0, 32, "int5-g32"},
    {INGOT_DT_Q6, 0, 128, "int6"},
};

/* Checks y(n, n_out) against x · Wᵀ (+ bias) in double with the reference weights. */
static void check_product(const tw *w, const float *x, const float *bias, int n, const float *y, double tol,
                          const char *what)
{
    int n_out = w->h.n_out, n_in = w->h.n_in;
    float *wr = malloc((size_t)n_out * n_in * sizeof *wr);
    ingot_dequantize_ref(&w->h, 0, n_out, wr);
    double worst = 0;
    for (int t = 0; t < n; t++)
        for (int o = 0; o < n_out; o++) {
            double s = bias ? bias[o] : 0, mag = bias ? fabs(bias[o]) : 0;
            for (int k = 0; k < n_in; k++) {
                double p = (double)wr[(size_t)o * n_in + k] * x[(size_t)t * n_in + k];
                s += p;
                mag += fabs(p);
            }
            double e = fabs(y[(size_t)t * n_out + o] - s) / (mag + 1e-30);
            worst = fmax(worst, e);
        }
    free(wr);
    ck_assert_msg(worst <= tol, "%s: error %.3g of sum |w x| > %.3g", what, worst, tol);
}

static void product_case(int fi, int n_out, int n_in, int n, int path, ingot_cuda_gemm_t gt)
{
    tw w;
    tw_make(&w, fmts[fi].t, fmts[fi].variant, fmts[fi].group, n_out, n_in);
    float *x = malloc((size_t)n * n_in * sizeof *x), *y = malloc((size_t)n * n_out * sizeof *y);
    float *bias = malloc((size_t)n_out * sizeof *bias);
    for (size_t i = 0; i < (size_t)n * n_in; i++)
        x[i] = rnd();
    for (int i = 0; i < n_out; i++)
        bias[i] = rnd();
    float *dx = dev(x, (size_t)n * n_in * 4), *db = dev(bias, (size_t)n_out * 4);
    float *dy = dev(y, (size_t)n * n_out * 4);
    ingot_error err = {0};
    ingot_cuda_set_gemm_type(g, gt);
    int rc = path == 0 ? ingot_cuda_gemv(g, &w.d, n % 2 ? db : NULL, dx, n, dy, &err)
                       : ingot_cuda_gemm(g, &w.d, n % 2 ? db : NULL, dx, n, dy, &err);
    ck_assert_msg(rc == 0, "%s", err.message);
    get(y, dy, (size_t)n * n_out * 4);
    char what[128];
    snprintf(what, sizeof what, "%s (%d, %d) n=%d %s", fmts[fi].name, n_out, n_in, n,
             path == 0 ? "gemv" : ingot_cuda_gemm_name(gt));
    double tol = path == 0 || gt == INGOT_CUDA_GEMM_F32 ? TOL_F32
                 : gt == INGOT_CUDA_GEMM_BF16        ? TOL_GEMM_BF16
                                                     : TOL_GEMM_F16;
    check_product(&w, x, n % 2 ? bias : NULL, n, y, tol, what);
    ingot_cuda_free(g, dx);
    ingot_cuda_free(g, db);
    ingot_cuda_free(g, dy);
    free(x);
    free(y);
    free(bias);
    tw_free(&w);
}

/* shapes every format holds (n_in a multiple of 128), and odd ones for the float types */
START_TEST(gemv_every_format)
{
    for (size_t fi = 0; fi < INGOT_ARRAY_LEN(fmts); fi++)
        for (int n = 1; n <= 8; n++)
            product_case((int)fi, n == 3 ? 1 : 67, n == 5 ? 1024 : 256, n, 0, INGOT_CUDA_GEMM_F32);
    for (int fi = 0; fi < 3; fi++) {
        product_case(fi, 33, 37, 1, 0, INGOT_CUDA_GEMM_F32); /* not whole 16-byte chunks */
        product_case(fi, 5, 1, 3, 0, INGOT_CUDA_GEMM_F32);
    }
    product_case(3, 9, 40, 2, 0, INGOT_CUDA_GEMM_F32); /* int8 rows of 40: elementwise */
    /* 1, 2 and 4 rows per warp, the last warp's rows past the end; long rows too */
    for (int rows = 1; rows <= 4; rows *= 2) {
        ingot_cuda_set_gemv_rows(g, rows);
        for (size_t fi = 0; fi < INGOT_ARRAY_LEN(fmts); fi++)
            for (int n = 1; n <= 2; n++) {
                product_case((int)fi, 67, 256, n, 0, INGOT_CUDA_GEMM_F32);
                product_case((int)fi, 5, 4096 + 256, n, 0, INGOT_CUDA_GEMM_F32);
            }
    }
    ingot_cuda_set_gemv_rows(g, 0);
}
END_TEST

START_TEST(gemm_every_format_and_type)
{
    ingot_cuda_gemm_t types[] = {INGOT_CUDA_GEMM_BF16, INGOT_CUDA_GEMM_F16, INGOT_CUDA_GEMM_F32};
    for (size_t fi = 0; fi < INGOT_ARRAY_LEN(fmts); fi++)
        for (size_t ti = 0; ti < 3; ti++) {
            product_case((int)fi, 300, 256, 9, 1, types[ti]);
            product_case((int)fi, 129, 384, 70, 1, types[ti]);
        }
    product_case(0, 31, 37, 17, 1, INGOT_CUDA_GEMM_BF16); /* odd: elementwise dequantize */
    product_case(2, 31, 37, 17, 1, INGOT_CUDA_GEMM_F32);
    /* more rows than one dequantized slab */
    product_case(6, 9000, 512, 12, 1, INGOT_CUDA_GEMM_BF16);
    ingot_cuda_set_gemm_type(g, INGOT_CUDA_GEMM_BF16);
}
END_TEST

START_TEST(embed_is_bit_identical)
{
    for (size_t fi = 0; fi < INGOT_ARRAY_LEN(fmts); fi++) {
        tw w;
        tw_make(&w, fmts[fi].t, fmts[fi].variant, fmts[fi].group, 50, 256);
        int32_t tok[5] = {0, 49, 7, 7, 23};
        float *x = malloc(5 * 256 * sizeof *x), *want = malloc(256 * sizeof *want);
        float *dx = dev(x, 5 * 256 * 4);
        ingot_error err = {0};
        ck_assert_msg(ingot_cuda_embed(g, &w.d, tok, 5, dx, &err) == 0, "%s", err.message);
        get(x, dx, 5 * 256 * 4);
        for (int t = 0; t < 5; t++) {
            ingot_dequantize_ref(&w.h, tok[t], tok[t] + 1, want);
            ck_assert_msg(memcmp(want, x + t * 256, 256 * sizeof *want) == 0, "%s: row %d differs", fmts[fi].name,
                          tok[t]);
        }
        ingot_cuda_free(g, dx);
        free(x);
        free(want);
        tw_free(&w);
    }
}
END_TEST

static void close_to(const float *a, const float *b, size_t n, double tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(a[i] - b[i]) <= tol * (fabs(b[i]) + 1e-3), "%s[%zu]: %.9g vs %.9g", what, i, a[i], b[i]);
}

START_TEST(row_ops)
{
    enum { N = 3, D = 1000, NH = 5, HD = 64 };
    float x[N * D], w[D], y[N * D], ref[N * D], u[N * D];
    for (int i = 0; i < N * D; i++)
        x[i] = rnd() * 3, u[i] = rnd() * 3;
    for (int i = 0; i < D; i++)
        w[i] = rnd();
    float *dx = dev(x, sizeof x), *dw = dev(w, sizeof w), *du = dev(u, sizeof u), *dy = dev(y, sizeof y);
    ingot_cuda_rmsnorm(g, dy, dx, dw, N, D, 1e-5f);
    get(y, dy, sizeof y);
    for (int t = 0; t < N; t++)
        ingot_rmsnorm_ref(ref + t * D, x + t * D, w, D, 1e-5f);
    close_to(y, ref, N * D, 1e-5, "rmsnorm");
    ingot_cuda_rmsnorm(g, dx, dx, dw, N, D, 1e-5f); /* in place */
    get(y, dx, sizeof y);
    close_to(y, ref, N * D, 1e-5, "rmsnorm in place");
    ck_assert_int_eq(ingot_cuda_upload(g, dx, x, sizeof x, NULL), 0);

    ingot_cuda_swiglu(g, dx, du, N * D);
    get(y, dx, sizeof y);
    memcpy(ref, x, sizeof x);
    ingot_swiglu_ref(ref, u, N * D);
    close_to(y, ref, N * D, 1e-6, "swiglu");

    /* the add is exact in f32 on both sides, so it starts from the GPU's swiglu, not the CPU's */
    memcpy(ref, y, sizeof y);
    ingot_cuda_add(g, dx, du, N * D);
    get(y, dx, sizeof y);
    for (int i = 0; i < N * D; i++)
        ref[i] += u[i];
    close_to(y, ref, N * D, 0, "add");

    float absmax = 0.5f;
    int bad = 0;
    ck_assert_int_eq(ingot_cuda_absmax(g, dx, N * D, &absmax, &bad, NULL), 0);
    float want = 0.5f;
    int wbad = 0;
    ingot_host_absmax(ref, N * D, &want, &wbad);
    ck_assert(absmax == want && bad == 0);
    float inf = INFINITY;
    ck_assert_int_eq(ingot_cuda_upload(g, dx + 17, &inf, 4, NULL), 0);
    ck_assert_int_eq(ingot_cuda_absmax(g, dx, N * D, &absmax, &bad, NULL), 0);
    ck_assert(absmax == want && bad == 1);

    /* rope: (N, NH*HD) with tables (N, HD/2) */
    float q[N * NH * HD], cs[N * HD / 2], sn[N * HD / 2];
    for (int i = 0; i < N * NH * HD; i++)
        q[i] = rnd();
    for (int i = 0; i < N * HD / 2; i++)
        cs[i] = cosf((float)i * 0.37f), sn[i] = sinf((float)i * 0.37f);
    float *dq = dev(q, sizeof q), *dc = dev(cs, sizeof cs), *ds = dev(sn, sizeof sn);
    ingot_cuda_rope(g, dq, N, NH, HD, dc, ds);
    float got[N * NH * HD];
    get(got, dq, sizeof got);
    for (int t = 0; t < N; t++)
        ingot_rope_apply(q + t * NH * HD, NH, HD, cs + t * HD / 2, sn + t * HD / 2);
    /* the GPU may fuse a*c - b*s, so the error is relative to the products, not to a result near 0 */
    for (int i = 0; i < N * NH * HD; i++)
        ck_assert_msg(fabs(got[i] - q[i]) <= 1e-6 * (fabs(q[i]) + 1), "rope[%d]: %.9g vs %.9g", i, got[i], q[i]);
    void *bufs[] = {dx, dw, du, dy, dq, dc, ds};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(bufs); i++)
        ingot_cuda_free(g, bufs[i]);
}
END_TEST

static float kv_round(ingot_dtype t, float v)
{
    return t == INGOT_DT_F16 ? ingot_f16_to_f32(ingot_f32_to_f16(v))
           : t == INGOT_DT_BF16 ? ingot_bf16_to_f32(ingot_f32_to_bf16(v)) : v;
}

/* Fills a cache of `len` positions in batches, runs attention for n queries at pos, compares. */
static void attention_case(ingot_dtype kt, int nh, int nkv, int hd, int pos, int n, int window)
{
    int kvd = nkv * hd, len = pos + n, n_ctx = len + 3;
    ingot_cuda_kv kv = {.type = kt, .n_layers = 2, .n_ctx = n_ctx, .kv_dim = kvd};
    ingot_error err = {0};
    ck_assert_msg(ingot_cuda_kv_alloc(g, &kv, hd, &err) == 0, "%s", err.message);
    float *k = malloc((size_t)len * kvd * 4), *v = malloc((size_t)len * kvd * 4);
    float *q = malloc((size_t)n * nh * hd * 4), *out = malloc((size_t)n * nh * hd * 4);
    for (size_t i = 0; i < (size_t)len * kvd; i++)
        k[i] = rnd() * 2, v[i] = rnd();
    for (size_t i = 0; i < (size_t)n * nh * hd; i++)
        q[i] = rnd() * 2;
    float *dk = dev(k, (size_t)len * kvd * 4), *dv = dev(v, (size_t)len * kvd * 4);
    for (int p = 0; p < len; p += 100) /* stored in batches, into layer 1 */
        ingot_cuda_kv_store(g, &kv, 1, p, len - p < 100 ? len - p : 100, dk + (size_t)p * kvd, dv + (size_t)p * kvd);
    float *dq = dev(q, (size_t)n * nh * hd * 4), *dout = dev(out, (size_t)n * nh * hd * 4);
    ingot_cuda_attention(g, &kv, 1, pos, n, dq, dout, nh, nkv, hd, window);
    get(out, dout, (size_t)n * nh * hd * 4);
    double worst = 0, *sc = malloc((size_t)len * sizeof *sc);
    for (int t = 0; t < n; t++)
        for (int h = 0; h < nh; h++) {
            int p = pos + t, lo = window > 0 && p >= window ? p - window + 1 : 0, kh = h / (nh / nkv);
            double mx = -1e300, sum = 0;
            for (int j = lo; j <= p; j++) {
                double d = 0;
                for (int e = 0; e < hd; e++)
                    d += (double)q[((size_t)t * nh + h) * hd + e] * kv_round(kt, k[(size_t)j * kvd + kh * hd + e]);
                sc[j] = d / sqrt((double)hd);
                mx = fmax(mx, sc[j]);
            }
            for (int j = lo; j <= p; j++)
                sum += (sc[j] = exp(sc[j] - mx));
            for (int e = 0; e < hd; e++) {
                double o = 0;
                for (int j = lo; j <= p; j++)
                    o += sc[j] / sum * kv_round(kt, v[(size_t)j * kvd + kh * hd + e]);
                worst = fmax(worst, fabs(o - out[((size_t)t * nh + h) * hd + e]));
            }
        }
    ck_assert_msg(worst <= TOL_ATT, "attention %s nh=%d nkv=%d hd=%d pos=%d n=%d window=%d: error %.3g",
                  ingot_dtype_name(kt), nh, nkv, hd, pos, n, window, worst);
    free(sc);
    free(k);
    free(v);
    free(q);
    free(out);
    void *bufs[] = {dk, dv, dq, dout};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(bufs); i++)
        ingot_cuda_free(g, bufs[i]);
    ingot_cuda_kv_free(g, &kv);
}

START_TEST(attention_every_kv_type)
{
    ingot_dtype types[] = {INGOT_DT_F32, INGOT_DT_F16, INGOT_DT_BF16};
    for (int i = 0; i < 3; i++) {
        attention_case(types[i], 4, 2, 64, 0, 7, 0);      /* prefill from 0 */
        attention_case(types[i], 8, 2, 128, 900, 1, 0);   /* decode, split sequence */
        attention_case(types[i], 2, 1, 80, 2000, 1, 0);   /* hd not a multiple of 32, many splits */
        attention_case(types[i], 6, 6, 64, 130, 40, 0);   /* MHA, prefill after a prefix */
        attention_case(types[i], 4, 2, 64, 500, 3, 100);  /* sliding window */
    }
}
END_TEST

/* ---- the models, through the runtime ---- */

static char model_dirs[2][1024], artifacts[2][1024], tmpdir[256];

static ingot_context *cuda_ctx(ingot_model *m, int n_ctx, ingot_dtype kv)
{
    ingot_context_params p;
    ingot_context_params_init(&p);
    p.device = INGOT_DEVICE_CUDA;
    p.n_ctx = n_ctx;
    p.kv_type = kv;
    ingot_error err = {0};
    ingot_context *c = ingot_context_create_with(m, &p, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    return c;
}

/* golden logits (transformers, fp32) within 2e-3 (f16 cache) or 1e-4 (f32 cache) of max |logit| */
static void golden_logits(int mi, ingot_dtype kv, double tol)
{
    if (!artifacts[mi][0])
        return;
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(artifacts[mi], &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    char path[1100];
    snprintf(path, sizeof path, "%s/golden/logits.safetensors", model_dirs[mi]);
    ingot_st_file *f = ingot_st_open(path, &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    const ingot_st_tensor *jt = ingot_st_file_find(f, "tokens"), *jl = ingot_st_file_find(f, "logits");
    ck_assert(jt && jl && jt->ndim == 2 && jl->shape[2] == info.vocab_size);
    int n_seq = (int)jt->shape[0], sl = (int)jt->shape[1];
    const int32_t *tok = (const int32_t *)(const void *)jt->data;
    const float *ref = (const float *)(const void *)jl->data;
    float *out = malloc((size_t)sl * info.vocab_size * sizeof *out);
    double md = 0, mr = 0;
    for (int s = 0; s < n_seq; s++) {
        ingot_context *c = cuda_ctx(m, sl, kv);
        ck_assert_int_eq(ingot_context_eval(c, tok + (size_t)s * sl, sl, 0, out, 1, &err), 0);
        const float *r = ref + (size_t)s * sl * info.vocab_size;
        for (size_t k = 0; k < (size_t)sl * info.vocab_size; k++)
            md = fmax(md, fabs((double)out[k] - r[k])), mr = fmax(mr, fabs((double)r[k]));
        ingot_context_free(c);
    }
    printf("%s, cuda, kv %s: logits max|diff|/max|logit| = %.3g\n", model_dirs[mi], ingot_dtype_name(kv), md / mr);
    ck_assert_msg(md / mr <= tol, "logits differ: %g > %g", md / mr, tol);
    ingot_st_close(f);
    free(out);
    ingot_model_free(m);
}

/*
 * The f16 cache against the goldens, under each prefill GEMM type.  f32 and
 * f16 GEMM inputs leave the cache's rounding as the main error: 2e-3, the
 * CUDA issue's bound.  bf16 inputs (the default on sm_80 and up) round each
 * activation to 8 bits, which alone moves the logits by about 5e-3 of the
 * largest; transformers itself in bf16 is 1.2-1.5e-2 from its fp32 goldens
 * on these models (bench/hf_precision.py), so the bound there is 6e-3, under
 * half of that.
 */
START_TEST(golden_logits_f16_cache)
{
    const char *types[] = {"f32", "f16", "bf16"};
    const double tol[] = {2e-3, 2e-3, 6e-3};
    for (int i = 0; i < 3; i++) {
        setenv("INGOT_CUDA_GEMM", types[i], 1);
        printf("prefill GEMM %s:\n", types[i]);
        golden_logits(0, INGOT_DT_F16, tol[i]);
        golden_logits(1, INGOT_DT_F16, tol[i]);
    }
    unsetenv("INGOT_CUDA_GEMM");
}
END_TEST

START_TEST(golden_logits_f32_cache)
{
    /* bf16 GEMM inputs dominate in prefill: 1e-4 needs the f32 GEMM */
    setenv("INGOT_CUDA_GEMM", "f32", 1);
    golden_logits(0, INGOT_DT_F32, 1e-4);
    golden_logits(1, INGOT_DT_F32, 1e-4);
    unsetenv("INGOT_CUDA_GEMM");
}
END_TEST

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        best = v[i] > v[best] ? i : best;
    return best;
}

/*
 * Greedy decoding on the GPU (f16 cache, default prefill GEMM) against the
 * CPU fed the GPU's ids: at every step the GPU's pick is the CPU's argmax,
 * or within GREEDY_TIE of the largest logit of it, where the two devices'
 * rounding may order a near tie either way (the prefill's bf16 inputs alone
 * move logits by about 5e-3 of the largest).  Decode runs the GEMV kernels.
 */
#define GREEDY_TIE 1e-2
static void greedy_same(int mi)
{
    if (!artifacts[mi][0])
        return;
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(artifacts[mi], &err);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    enum { NP = 12, NG = 40 };
    int32_t ids[NP + NG];
    for (int i = 0; i < NP; i++)
        ids[i] = (int32_t)((i * 131 + 17) % info.vocab_size);
    float *lg = malloc((size_t)info.vocab_size * sizeof *lg);
    ingot_context *c = cuda_ctx(m, NP + NG, INGOT_DT_F16);
    ck_assert_int_eq(ingot_context_eval(c, ids, NP, 0, lg, 0, &err), 0);
    for (int i = 0; i < NG; i++) {
        ids[NP + i] = argmax(lg, info.vocab_size);
        if (i + 1 < NG)
            ck_assert_msg(ingot_context_eval(c, &ids[NP + i], 1, NP + i, lg, 0, &err) == 0, "%s", err.message);
    }
    ingot_context_free(c);
    c = ingot_context_create(m, NP + NG, 0, &err);
    ck_assert_int_eq(ingot_context_eval(c, ids, NP, 0, lg, 0, &err), 0);
    int same = 0;
    for (int i = 0; i < NG; i++) {
        int best = argmax(lg, info.vocab_size), pick = ids[NP + i];
        float top = fabsf(lg[best]);
        for (int v = 0; v < info.vocab_size; v++)
            top = fmaxf(top, fabsf(lg[v]));
        same += best == pick;
        ck_assert_msg(best == pick || lg[best] - lg[pick] <= GREEDY_TIE * top,
                      "%s: step %d: the GPU chose %d, %.4g below the CPU's %d (%.4g)", model_dirs[mi], i, pick,
                      lg[best] - lg[pick], best, lg[best]);
        if (i + 1 < NG)
            ck_assert_msg(ingot_context_eval(c, &ids[NP + i], 1, NP + i, lg, 0, &err) == 0, "%s", err.message);
    }
    printf("%s: greedy, cuda against cpu: %d of %d picks the same\n", model_dirs[mi], same, NG);
    ingot_context_free(c);
    free(lg);
    ingot_model_free(m);
}

START_TEST(greedy_matches_cpu)
{
    greedy_same(0);
    greedy_same(1);
}
END_TEST

/* Decode steps replayed from a CUDA graph give the logits of the same steps run as plain ops. */
START_TEST(graphs_match_plain_ops)
{
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(artifacts[0], &err);
    ck_assert_ptr_nonnull(m);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    enum { NP = 5, NG = 30 };
    size_t nv = (size_t)info.vocab_size;
    float *lg[2] = {malloc(NG * nv * 4), malloc(NG * nv * 4)};
    for (int side = 0; side < 2; side++) {
        if (side)
            setenv("INGOT_CUDA_GRAPHS", "0", 1);
        ingot_context *c = cuda_ctx(m, NP + NG, INGOT_DT_F16);
        unsetenv("INGOT_CUDA_GRAPHS");
        int32_t t[NP + NG];
        for (int i = 0; i < NP + NG; i++)
            t[i] = (int32_t)((i * 37 + 11) % info.vocab_size);
        ck_assert_int_eq(ingot_context_eval(c, t, NP, 0, lg[side], 0, &err), 0);
        for (int i = 0; i < NG; i++)
            ck_assert_msg(ingot_context_eval(c, t + NP + i, 1, NP + i, lg[side] + i * nv, 0, &err) == 0, "%s",
                          err.message);
        ingot_context_free(c);
    }
    double md = 0, mx = 0;
    for (size_t i = 0; i < NG * nv; i++)
        md = fmax(md, fabs(lg[0][i] - lg[1][i])), mx = fmax(mx, fabs(lg[1][i]));
    printf("graphs against plain ops: max|diff|/max|logit| = %.3g\n", md / mx);
    ck_assert_msg(md / mx <= 1e-5, "graph replay differs: %g", md / mx);
    free(lg[0]);
    free(lg[1]);
    ingot_model_free(m);
}
END_TEST

/* Two contexts of one model share one upload and do not disturb each other. */
START_TEST(contexts_share_weights)
{
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(artifacts[0], &err);
    ck_assert_ptr_nonnull(m);
    ingot_context *a = cuda_ctx(m, 64, INGOT_DT_F32), *b = cuda_ctx(m, 64, INGOT_DT_F32);
    int32_t t[20];
    for (int i = 0; i < 20; i++)
        t[i] = i * 7 + 3;
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    float *la = malloc((size_t)info.vocab_size * 4), *lb = malloc((size_t)info.vocab_size * 4);
    ck_assert_int_eq(ingot_context_eval(a, t, 20, 0, la, 0, &err), 0);
    ck_assert_int_eq(ingot_context_eval(b, t, 5, 0, lb, 0, &err), 0);
    ingot_context_free(b);
    ck_assert_int_eq(ingot_context_eval(b = cuda_ctx(m, 64, INGOT_DT_F32), t, 20, 0, lb, 0, &err), 0);
    ck_assert(memcmp(la, lb, (size_t)info.vocab_size * 4) == 0);
    ingot_context_free(a);
    ingot_context_free(b);
    free(la);
    free(lb);
    ingot_model_free(m);
}
END_TEST

static void setup_artifacts(void)
{
    test_models_convert(model_dirs, artifacts, tmpdir, sizeof tmpdir, "cuda");
    for (int i = 0; i < 2; i++)
        if (!artifacts[i][0])
            printf("SKIP: %s not found (set INGOT_MODELS)\n", model_dirs[i]);
}

int main(void)
{
    char desc[512];
    if (ingot_cuda_probe(desc, sizeof desc) <= 0) {
        printf("SKIP: %s\n", desc);
        return 77;
    }
    ingot_error err = {0};
    if (!(g = ingot_cuda_open(0, &err))) {
        printf("cuda: %s\n", err.message);
        return EXIT_FAILURE;
    }
    printf("cuda: %s\n", ingot_cuda_name(g));
    setup_artifacts();
    Suite *s = suite_create("cuda");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, gemv_every_format);
    tcase_add_test(tc, gemm_every_format_and_type);
    tcase_add_test(tc, embed_is_bit_identical);
    tcase_add_test(tc, row_ops);
    tcase_add_test(tc, attention_every_kv_type);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("models");
    tcase_set_timeout(tm, 600);
    tcase_add_test(tm, golden_logits_f16_cache);
    tcase_add_test(tm, golden_logits_f32_cache);
    tcase_add_test(tm, greedy_matches_cpu);
    tcase_add_test(tm, graphs_match_plain_ops);
    tcase_add_test(tm, contexts_share_weights);
    suite_add_tcase(s, tm);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* one CUDA context for the whole run */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ingot_cuda_close(g);
    for (int i = 0; i < 2; i++)
        if (artifacts[i][0])
            unlink(artifacts[i]);
    rmdir(tmpdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#else /* no CUDA in this build */

int main(void)
{
    printf("SKIP: built without CUDA\n");
    return 77;
}

#endif
