/*
 * test_kernels.c - every CPU kernel table this machine can run against the
 * portable reference: matmul for each plain weight type at awkward sizes,
 * the row operations, and the threaded split of ingot_matmul.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "util/util.h"

/*
 * Two f32 sums of the same n products in different orders differ by at most
 * ~n*eps*sum|terms|, in practice ~sqrt(n)*eps*sum|terms|: 1e-5 of sum|x*w|
 * holds with margin up to n_in of a few thousand.
 */
#define MATMUL_RTOL 1e-5
/* Row ops: 2-ulp SIMD exp plus a reordered sum. */
#define OPS_RTOL 1e-5
#define OPS_ATOL 1e-7

static const char *const isas[] = {"ref", "avx2", "avx512"};
static const ingot_dtype wtypes[] = {INGOT_DT_F32, INGOT_DT_F16, INGOT_DT_BF16};

static uint32_t rng = 2463534242u;

static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static float *rand_f32(size_t n, float scale)
{
    float *v = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = frand() * scale;
    return v;
}

/* W (n_out, n_in) of the given type, plus its values as f32 in *wf */
static void *make_weights(ingot_dtype type, int n_out, int n_in, float **wf)
{
    size_t n = (size_t)n_out * (size_t)n_in;
    float *f = rand_f32(n ? n : 1, 1.0f);
    void *data = malloc((n ? n : 1) * 4);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++) {
        if (type == INGOT_DT_BF16) {
            ((uint16_t *)data)[i] = ingot_f32_to_bf16(f[i]);
            f[i] = ingot_bf16_to_f32(((uint16_t *)data)[i]);
        } else if (type == INGOT_DT_F16) {
            ((uint16_t *)data)[i] = ingot_f32_to_f16(f[i]);
            f[i] = ingot_f16_to_f32(((uint16_t *)data)[i]);
        } else {
            ((float *)data)[i] = f[i];
        }
    }
    *wf = f;
    return data;
}

/* |y - yref| <= MATMUL_RTOL * sum|x*w| per element of rows [o0, o1); y elsewhere untouched */
static void check_matmul(const char *isa, const ingot_wmat *w, const float *wf, const float *x,
                         int n_tok, const float *y, const float *yref, int o0, int o1)
{
    for (int t = 0; t < n_tok; t++)
        for (int o = 0; o < w->n_out; o++) {
            size_t i = (size_t)t * (size_t)w->n_out + (size_t)o;
            if (o < o0 || o >= o1) {
                ck_assert_msg(y[i] == -7.0f, "%s %s: wrote row %d outside [%d,%d)", isa,
                              ingot_dtype_name(w->type), o, o0, o1);
                continue;
            }
            double mag = 0.0;
            for (int k = 0; k < w->n_in; k++)
                mag += fabs((double)x[(size_t)t * w->n_in + k] * wf[(size_t)o * w->n_in + k]);
            ck_assert_msg(fabs((double)y[i] - yref[i]) <= MATMUL_RTOL * mag,
                          "%s %s n_out=%d n_in=%d n_tok=%d: y[%d][%d]=%.9g ref %.9g", isa,
                          ingot_dtype_name(w->type), w->n_out, w->n_in, n_tok, t, o, y[i],
                          yref[i]);
        }
}

/* Every runnable ISA vs the reference, on rows [o0, o1) of one shape. */
static void matmul_case(ingot_dtype type, int n_out, int n_in, int n_tok, int o0, int o1)
{
    float *wf;
    void *data = make_weights(type, n_out, n_in, &wf);
    ingot_wmat w = ingot_wmat_plain(type, n_out, n_in, data);
    size_t ny = (size_t)n_tok * (size_t)n_out;
    float *x = rand_f32((size_t)n_tok * (size_t)n_in + 1, 2.0f);
    float *yref = malloc(ny * sizeof(float)), *y = malloc(ny * sizeof(float));
    ck_assert(yref && y);
    ingot_cpu_kernels_ref()->matmul[type](&w, x, n_tok, yref, o0, o1);
    for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
        const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
        if (!k)
            continue;
        for (size_t j = 0; j < ny; j++)
            y[j] = -7.0f;
        k->matmul[type](&w, x, n_tok, y, o0, o1);
        check_matmul(isas[i], &w, wf, x, n_tok, y, yref, o0, o1);
    }
    free(data);
    free(wf);
    free(x);
    free(yref);
    free(y);
}

START_TEST(matmul_matches_ref_odd_sizes)
{
    static const int n_ins[] = {1, 7, 16, 33, 100, 257};
    static const int n_outs[] = {1, 5, 32, 33, 70};
    static const int n_toks[] = {1, 2, 3, 4, 5, 6, 13, 17, 64};
    ingot_dtype type = wtypes[_i];
    for (size_t a = 0; a < INGOT_ARRAY_LEN(n_ins); a++)
        for (size_t b = 0; b < INGOT_ARRAY_LEN(n_outs); b++)
            for (size_t c = 0; c < INGOT_ARRAY_LEN(n_toks); c++)
                matmul_case(type, n_outs[b], n_ins[a], n_toks[c], 0, n_outs[b]);
}
END_TEST

/* Callers hand out row ranges: a kernel must write exactly [o0, o1). */
START_TEST(matmul_respects_row_range)
{
    ingot_dtype type = wtypes[_i];
    static const int n_toks[] = {1, 3, 17};
    for (size_t c = 0; c < INGOT_ARRAY_LEN(n_toks); c++) {
        matmul_case(type, 70, 45, n_toks[c], 3, 61);
        matmul_case(type, 70, 45, n_toks[c], 32, 64);
        matmul_case(type, 70, 45, n_toks[c], 69, 70);
        matmul_case(type, 70, 45, n_toks[c], 10, 10);
    }
}
END_TEST

/*
 * Long rows: decode switches to several rows at once past ~1.5k elements,
 * prefill runs several depth blocks; real model widths and a ragged one.
 */
START_TEST(matmul_matches_ref_long_rows)
{
    ingot_dtype type = wtypes[_i];
    matmul_case(type, 40, 896, 1, 0, 40);
    matmul_case(type, 40, 896, 19, 0, 40);
    for (int n_tok = 1; n_tok <= 5; n_tok++)
        matmul_case(type, 21, 1601, n_tok, 0, 21);
    matmul_case(type, 9, 4864, 2, 0, 9);
    matmul_case(type, 9, 4864, 13, 0, 9);
}
END_TEST

/*
 * Decode of one token gives every row the same bits whatever range of rows a
 * call gets: the kernels read several parts of their range at once, and a
 * row must not depend on which part (or remainder) it lands in.
 */
START_TEST(matmul_decode_rows_independent_of_range)
{
    static const int shapes[][2] = {/* n_out, n_in */ {77, 896}, {1000, 96}, {13, 4864}, {50, 100}};
    static const int cuts[][2] = {{0, 1}, {5, 6}, {0, 7}, {3, 61}, {1, 13}, {6, 50}, {12, 13}};
    ingot_dtype type = wtypes[_i];
    for (size_t s = 0; s < INGOT_ARRAY_LEN(shapes); s++) {
        int n_out = shapes[s][0], n_in = shapes[s][1];
        float *wf;
        void *data = make_weights(type, n_out, n_in, &wf);
        ingot_wmat w = ingot_wmat_plain(type, n_out, n_in, data);
        float *x = rand_f32((size_t)n_in, 1.0f);
        float *y1 = malloc((size_t)n_out * sizeof(float)), *y2 = malloc((size_t)n_out * sizeof(float));
        ck_assert(y1 && y2);
        for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
            const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
            if (!k)
                continue;
            k->matmul[type](&w, x, 1, y1, 0, n_out);
            for (size_t c = 0; c < INGOT_ARRAY_LEN(cuts); c++) {
                int o0 = cuts[c][0], o1 = cuts[c][1] < n_out ? cuts[c][1] : n_out;
                for (int o = 0; o < n_out; o++)
                    y2[o] = -7.0f;
                k->matmul[type](&w, x, 1, y2, o0, o1);
                for (int o = o0; o < o1; o++)
                    ck_assert_msg(memcmp(&y1[o], &y2[o], sizeof(float)) == 0,
                                  "%s %s %dx%d: row %d of [%d,%d) %.9g, of all rows %.9g", isas[i],
                                  ingot_dtype_name(type), n_out, n_in, o, o0, o1, y2[o], y1[o]);
            }
        }
        free(data);
        free(wf);
        free(x);
        free(y1);
        free(y2);
    }
}
END_TEST

START_TEST(matmul_zero_depth_gives_zero)
{
    for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
        const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
        if (!k)
            continue;
        float x[17] = {0}, y[17 * 3];
        ingot_wmat w = ingot_wmat_plain(INGOT_DT_BF16, 3, 0, x);
        for (int n_tok = 1; n_tok <= 17; n_tok += 16) {
            for (size_t j = 0; j < INGOT_ARRAY_LEN(y); j++)
                y[j] = 1.0f;
            k->matmul[INGOT_DT_BF16](&w, x, n_tok, y, 0, 3);
            for (int j = 0; j < 3 * n_tok; j++)
                ck_assert_float_eq(y[j], 0.0f);
        }
    }
}
END_TEST

/* The threaded split (rows, or tokens when rows are few) changes nothing. */
START_TEST(matmul_threaded_equals_single)
{
    static const int shapes[][3] = {/* n_out, n_in, n_tok */
                                    {1000, 96, 1}, {1000, 96, 3}, {517, 130, 40},
                                    {20, 300, 50}, {5, 64, 9},    {64, 200, 7}};
    ingot_dtype type = wtypes[_i];
    for (size_t s = 0; s < INGOT_ARRAY_LEN(shapes); s++) {
        int n_out = shapes[s][0], n_in = shapes[s][1], n_tok = shapes[s][2];
        float *wf;
        void *data = make_weights(type, n_out, n_in, &wf);
        ingot_wmat w = ingot_wmat_plain(type, n_out, n_in, data);
        size_t ny = (size_t)n_tok * (size_t)n_out;
        float *x = rand_f32((size_t)n_tok * (size_t)n_in, 1.0f);
        float *y1 = malloc(ny * sizeof(float)), *y2 = malloc(ny * sizeof(float));
        const ingot_cpu_kernels *k = ingot_cpu_kernels_get();
        ck_assert_int_eq(ingot_matmul_with(k, &w, x, n_tok, y1, 1), 0);
        for (int nth = 2; nth <= 3; nth++) {
            for (size_t j = 0; j < ny; j++)
                y2[j] = -7.0f;
            ck_assert_int_eq(ingot_matmul_with(k, &w, x, n_tok, y2, nth), 0);
            check_matmul(k->isa, &w, wf, x, n_tok, y2, y1, 0, n_out);
        }
        for (size_t j = 0; j < ny; j++)
            y2[j] = -7.0f;
        ck_assert_int_eq(ingot_matmul(&w, x, n_tok, y2), 0);
        check_matmul(k->isa, &w, wf, x, n_tok, y2, y1, 0, n_out);
        free(data);
        free(wf);
        free(x);
        free(y1);
        free(y2);
    }
}
END_TEST

START_TEST(matmul_unsupported_type_fails)
{
    float x[4] = {0}, y[4];
    ingot_wmat w = ingot_wmat_plain(INGOT_DT_I8, 2, 2, x);
    ck_assert_int_eq(ingot_matmul(&w, x, 1, y), -1);
    w.type = INGOT_DT_COUNT;
    ck_assert_int_eq(ingot_matmul(&w, x, 1, y), -1);
}
END_TEST

static void assert_close(const char *what, const char *isa, int n, const float *got,
                         const float *want, double rtol, double atol)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= atol + rtol * fabs((double)want[i]),
                      "%s %s n=%d: [%d] = %.9g, ref %.9g", what, isa, n, i, got[i], want[i]);
}

static const int op_sizes[] = {1, 3, 8, 15, 16, 17, 31, 33, 100, 896, 4864};

START_TEST(dot_axpy_match_ref)
{
    const ingot_cpu_kernels *ref = ingot_cpu_kernels_ref();
    for (size_t s = 0; s < INGOT_ARRAY_LEN(op_sizes); s++) {
        int n = op_sizes[s];
        float *a = rand_f32((size_t)n, 1.0f), *b = rand_f32((size_t)n, 1.0f);
        float *y0 = rand_f32((size_t)n, 1.0f);
        float *y1 = malloc((size_t)n * 4), *y2 = malloc((size_t)n * 4);
        double mag = 0.0;
        for (int i = 0; i < n; i++)
            mag += fabs((double)a[i] * b[i]);
        float dref = ref->dot_f32(a, b, n);
        memcpy(y1, y0, (size_t)n * 4);
        ref->axpy_f32(0.37f, a, y1, n);
        for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
            const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
            if (!k)
                continue;
            ck_assert_msg(fabs((double)k->dot_f32(a, b, n) - dref) <= MATMUL_RTOL * mag,
                          "dot %s n=%d", isas[i], n);
            memcpy(y2, y0, (size_t)n * 4);
            k->axpy_f32(0.37f, a, y2, n);
            assert_close("axpy", isas[i], n, y2, y1, 1e-6, 1e-7);
        }
        free(a);
        free(b);
        free(y0);
        free(y1);
        free(y2);
    }
}
END_TEST

START_TEST(rmsnorm_matches_ref)
{
    const ingot_cpu_kernels *ref = ingot_cpu_kernels_ref();
    for (size_t s = 0; s < INGOT_ARRAY_LEN(op_sizes); s++) {
        int n = op_sizes[s];
        float *x = rand_f32((size_t)n, 3.0f), *w = rand_f32((size_t)n, 1.0f);
        float *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
        ref->rmsnorm(want, x, w, n, 1e-6f);
        for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
            const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
            if (!k)
                continue;
            k->rmsnorm(got, x, w, n, 1e-6f);
            assert_close("rmsnorm", isas[i], n, got, want, OPS_RTOL, OPS_ATOL);
            memcpy(got, x, (size_t)n * 4); /* in place */
            k->rmsnorm(got, got, w, n, 1e-6f);
            assert_close("rmsnorm in place", isas[i], n, got, want, OPS_RTOL, OPS_ATOL);
        }
        free(x);
        free(w);
        free(want);
        free(got);
    }
}
END_TEST

START_TEST(softmax_matches_ref)
{
    const ingot_cpu_kernels *ref = ingot_cpu_kernels_ref();
    for (size_t s = 0; s < INGOT_ARRAY_LEN(op_sizes); s++) {
        int n = op_sizes[s];
        float *x = rand_f32((size_t)n, 30.0f);
        for (int i = 1; i < n; i += 3)
            x[i] = -INFINITY; /* masked scores */
        float *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
        memcpy(want, x, (size_t)n * 4);
        ref->softmax(want, n);
        for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
            const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
            if (!k)
                continue;
            memcpy(got, x, (size_t)n * 4);
            k->softmax(got, n);
            assert_close("softmax", isas[i], n, got, want, OPS_RTOL, OPS_ATOL);
            for (int j = 1; j < n; j += 3)
                ck_assert_float_eq(got[j], 0.0f);
            for (int j = 0; j < n; j++)
                got[j] = -INFINITY;
            k->softmax(got, n);
            for (int j = 0; j < n; j++)
                ck_assert_float_eq(got[j], 0.0f);
        }
        free(x);
        free(want);
        free(got);
    }
}
END_TEST

START_TEST(swiglu_matches_ref)
{
    const ingot_cpu_kernels *ref = ingot_cpu_kernels_ref();
    for (size_t s = 0; s < INGOT_ARRAY_LEN(op_sizes); s++) {
        int n = op_sizes[s];
        float *g = rand_f32((size_t)n, 12.0f), *up = rand_f32((size_t)n, 2.0f);
        if (n > 2) {
            g[0] = 100.0f; /* exp(-g) underflows */
            g[1] = -100.0f; /* exp(-g) overflows: silu -> -0 */
        }
        float *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
        memcpy(want, g, (size_t)n * 4);
        ref->swiglu(want, up, n);
        for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
            const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
            if (!k)
                continue;
            memcpy(got, g, (size_t)n * 4);
            k->swiglu(got, up, n);
            assert_close("swiglu", isas[i], n, got, want, OPS_RTOL, OPS_ATOL);
        }
        free(g);
        free(up);
        free(want);
        free(got);
    }
}
END_TEST

START_TEST(dispatch_tables)
{
    const ingot_cpu_kernels *best = ingot_cpu_kernels_get();
    ck_assert_ptr_nonnull(best);
    ck_assert_str_eq(ingot_cpu_kernels_ref()->isa, "ref");
    ck_assert_ptr_null(ingot_cpu_kernels_named("sse9"));
    ck_assert_ptr_null(ingot_cpu_kernels_named(NULL));
    for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
        const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
        if (!k)
            continue;
        ck_assert_str_eq(k->isa, isas[i]);
        for (size_t t = 0; t < INGOT_ARRAY_LEN(wtypes); t++)
            ck_assert_ptr_nonnull(k->matmul[wtypes[t]]);
        ck_assert(k->dot_f32 && k->axpy_f32 && k->rmsnorm && k->softmax && k->swiglu);
    }
    const char *want = getenv("INGOT_ISA");
    if (want && ingot_cpu_kernels_named(want))
        ck_assert_str_eq(best->isa, want);
}
END_TEST

/* INGOT_ISA is read once, on first use: only a fresh (forked) process sees it. */
START_TEST(dispatch_env_forces_ref)
{
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && strcmp(fork_mode, "no") == 0)
        return;
    setenv("INGOT_ISA", "ref", 1);
    ck_assert_str_eq(ingot_cpu_kernels_get()->isa, "ref");
}
END_TEST

START_TEST(machine_measurements_are_positive)
{
    ck_assert(ingot_measure_fma_peak(1) > 0.1);
    size_t bytes = (size_t)4 << 20;
    char *buf = malloc(bytes);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 1, bytes);
    ck_assert(ingot_read_pass(buf, bytes, 2) > 0.01);
    ck_assert(ingot_read_pass(buf, 100, 2) == 0.0); /* too small to split: nothing read */
    ck_assert(ingot_read_pass_streams(buf, bytes, 2, 6) > 0.01);
    ck_assert(ingot_read_pass_streams(buf, bytes, 2, 3) == 0.0); /* a count it does not try */
    free(buf);
}
END_TEST

/* The read loop visits every float once, however many streams cut it (and
 * whatever the parts leave over). */
START_TEST(read_sum_reads_every_byte_once)
{
#ifdef INGOT_HAVE_AVX2
    if (!ingot_cpu_kernels_named("avx2"))
        return;
    size_t n = ((size_t)1 << 20) + 768, count = n / sizeof(float); /* 1 MiB + 3 x 256 bytes */
    float *f = aligned_alloc(64, n);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < count; i++)
        f[i] = 1.0f;
    static const int streams[] = {1, 2, 4, 6, 8};
    for (size_t s = 0; s < INGOT_ARRAY_LEN(streams); s++)
        ck_assert_msg(ingot_read_sum_avx2(f, n, streams[s]) == (float)count,
                      "%d streams: sum %.1f of %zu ones", streams[s],
                      (double)ingot_read_sum_avx2(f, n, streams[s]), count);
    free(f);
#endif
}
END_TEST

/*
 * Attention against a double-precision reference: the per-query path (few
 * queries) and the tiled GEMM path (INGOT_ATTN_TILE or more), with grouped
 * heads, a start position, a sliding window and a head size that is not a
 * multiple of the vector width.  Outputs are convex combinations of value
 * rows in [-1, 1]: ATTN_ATOL bounds the f32 error of scores and sums.
 */
#define ATTN_ATOL 2e-5

static void attn_reference(const ingot_attn_args *a, double *out)
{
    int group = a->n_heads / a->n_kv_heads;
    double *sc = malloc((size_t)(a->pos + a->n) * sizeof(double));
    ck_assert_ptr_nonnull(sc);
    for (int t = 0; t < a->n; t++)
        for (int h = 0; h < a->n_heads; h++) {
            int p = a->pos + t, lo = a->window > 0 && p >= a->window ? p - a->window + 1 : 0;
            const float *q = a->q + ((size_t)t * a->n_heads + h) * a->hd;
            size_t off = (size_t)(h / group) * a->hd;
            double mx = -INFINITY, sum = 0;
            for (int j = lo; j <= p; j++) {
                double d = 0;
                for (int i = 0; i < a->hd; i++)
                    d += (double)q[i] * a->k[(size_t)j * a->kv_dim + off + i];
                sc[j] = d * a->scale;
                mx = sc[j] > mx ? sc[j] : mx;
            }
            for (int j = lo; j <= p; j++)
                sum += sc[j] = exp(sc[j] - mx);
            double *o = out + ((size_t)t * a->n_heads + h) * a->hd;
            for (int i = 0; i < a->hd; i++) {
                o[i] = 0;
                for (int j = lo; j <= p; j++)
                    o[i] += sc[j] / sum * a->v[(size_t)j * a->kv_dim + off + i];
            }
        }
    free(sc);
}

static void attn_case(int n, int pos, int nh, int nkv, int hd, int window)
{
    int ctx = pos + n + 3;
    size_t kvd = (size_t)nkv * hd, qd = (size_t)nh * hd;
    float *q = rand_f32((size_t)n * qd, 2.0f), *kc = rand_f32((size_t)ctx * kvd, 2.0f);
    float *vc = rand_f32((size_t)ctx * kvd, 1.0f), *out = malloc((size_t)n * qd * sizeof(float));
    float *scores = malloc((size_t)4 * ctx * sizeof(float));
    double *ref = malloc((size_t)n * qd * sizeof(double));
    ck_assert(out && scores && ref);
    ingot_attn_args a = {.q = q, .k = kc, .v = vc, .out = out, .n = n, .pos = pos, .n_heads = nh,
                         .n_kv_heads = nkv, .hd = hd, .n_ctx = ctx, .kv_dim = kvd, .window = window,
                         .scale = 1.0f / sqrtf((float)hd)};
    attn_reference(&a, ref);
    for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
        const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
        if (!k)
            continue;
        for (int threads = 1; threads <= 4; threads += 3) {
            memset(out, 0xff, (size_t)n * qd * sizeof(float)); /* NaN: every element must be written */
            ingot_attention_f32(k, &a, scores, threads);
            for (size_t e = 0; e < (size_t)n * qd; e++)
                ck_assert_msg(fabs(out[e] - ref[e]) <= ATTN_ATOL,
                              "%s, %d threads, n=%d pos=%d heads %d/%d hd=%d window %d: out[%zu] = %.8g, ref %.8g",
                              isas[i], threads, n, pos, nh, nkv, hd, window, e, out[e], ref[e]);
        }
    }
    free(q);
    free(kc);
    free(vc);
    free(out);
    free(scores);
    free(ref);
}

START_TEST(attention_matches_reference)
{
    attn_case(5, 100, 4, 2, 64, 0);             /* per query, after a prefix */
    attn_case(INGOT_ATTN_TILE * 2 + 3, 0, 4, 2, 64, 0); /* tiles, with a short last one */
    attn_case(INGOT_ATTN_TILE + 6, 37, 6, 3, 48, 50);   /* tiles after a prefix, window */
    attn_case(INGOT_ATTN_TILE, 0, 2, 1, 40, 0);         /* exactly one tile, MQA */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("matmul");
    tcase_set_timeout(tc, 600);
    int nt = (int)INGOT_ARRAY_LEN(wtypes);
    tcase_add_loop_test(tc, matmul_matches_ref_odd_sizes, 0, nt);
    tcase_add_loop_test(tc, matmul_respects_row_range, 0, nt);
    tcase_add_loop_test(tc, matmul_matches_ref_long_rows, 0, nt);
    tcase_add_loop_test(tc, matmul_threaded_equals_single, 0, nt);
    tcase_add_loop_test(tc, matmul_decode_rows_independent_of_range, 0, nt);
    tcase_add_test(tc, matmul_zero_depth_gives_zero);
    tcase_add_test(tc, matmul_unsupported_type_fails);
    suite_add_tcase(s, tc);
    tc = tcase_create("ops");
    tcase_add_test(tc, dot_axpy_match_ref);
    tcase_add_test(tc, rmsnorm_matches_ref);
    tcase_add_test(tc, softmax_matches_ref);
    tcase_add_test(tc, swiglu_matches_ref);
    tcase_add_test(tc, attention_matches_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("dispatch");
    tcase_add_test(tc, dispatch_tables);
    tcase_add_test(tc, dispatch_env_forces_ref);
    tcase_add_test(tc, machine_measurements_are_positive);
    tcase_add_test(tc, read_sum_reads_every_byte_once);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
