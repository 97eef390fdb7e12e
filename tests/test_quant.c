/*
 * test_quant.c - the quantized formats: known answers for each reference
 * quantizer (worked out by hand in the comments), numerics at the edges
 * (zero, subnormal, huge, NaN/Inf), round-trip error bounds, the bitsandbytes
 * dynamic map, and every SIMD kernel built and supported here against the
 * reference kernel, including split row ranges (what threads do).
 */
#include "config.h"

#include <check.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/qkernels.h"
#include "formats/formats.h"
#include "util/util.h"

/* SIMD vs reference: |y - y_ref| <= KERNEL_TOL * sum_k |x_k w_k|: f32
 * accumulation in a different order (the reference sums in double). */
#define KERNEL_TOL 1e-5


static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
    rng_state = s * 0x9e3779b97f4a7c15ull + 1;
}

static float rnd(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

/* A quantized tensor with its parts. */
typedef struct qt {
    ingot_wlayout l;
    void *parts[INGOT_WMAT_MAX_PARTS];
    ingot_wmat w;
} qt;

/* dq: nf4 double quant (the variant INGOT_NF4_DQ); 0 for the other formats */
static int qt_make(qt *q, ingot_dtype type, const float *w, int n_out, int n_in, int g, int dq,
                   ingot_error *err)
{
    memset(q, 0, sizeof *q);
    const ingot_format *f = ingot_format_of(type);
    if (ingot_format_layout(f, n_out, n_in, g, dq, &q->l, "t", err))
        return -1;
    for (int i = 0; i < q->l.n; i++)
        q->parts[i] = calloc(1, q->l.p[i].bytes);
    if (ingot_quantize_ref(f, w, n_out, n_in, g, dq, q->parts, "t", err))
        return -1;
    return ingot_wmat_bind(&q->w, f, n_out, n_in, g, dq, (const void *const *)q->parts, "t", err);
}

static void qt_free(qt *q)
{
    for (int i = 0; i < INGOT_WMAT_MAX_PARTS; i++)
        free(q->parts[i]);
}

static void qt_ok(qt *q, ingot_dtype type, const float *w, int n_out, int n_in, int g, int dq)
{
    ingot_error err = {0};
    ck_assert_msg(qt_make(q, type, w, n_out, n_in, g, dq, &err) == 0, "%s", err.message);
}

static float *deq(const qt *q)
{
    float *out = malloc(sizeof(float) * (size_t)q->w.n_out * (size_t)q->w.n_in);
    ingot_dequantize_ref(&q->w, 0, q->w.n_out, out);
    return out;
}

static void assert_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(isfinite(v[i]), "element %zu is %g", i, (double)v[i]);
}

/* ------------------------------------------------------------------ int8 */

START_TEST(test_q8_known)
{
    /* absmax 127 -> scale exactly 1.0, so q = round_half_away(w):
     * 62.5 -> 63 (half-even would give 62), -62.5 -> -63, 0.5 -> 1,
     * 1.5 -> 2, -0.49 -> 0, 126.5 -> 127, -127 -> -127 */
    float w[8] = {62.5f, -62.5f, 0.5f, 1.5f, -0.49f, 126.5f, -127.0f, 3.0f};
    const int8_t want[8] = {63, -63, 1, 2, 0, 127, -127, 3};
    qt q;
    qt_ok(&q, INGOT_DT_Q8, w, 1, 8, 0, 0);
    ck_assert_float_eq(((float *)q.parts[1])[0], 1.0f);
    ck_assert_mem_eq(q.parts[0], want, 8);
    float *d = deq(&q);
    ck_assert_float_eq(d[0], 63.0f);
    ck_assert_float_eq(d[6], -127.0f);
    free(d);
    qt_free(&q);
}
END_TEST

START_TEST(test_q8_edges)
{
    /* rows: all zero | subnormal | scale underflows to 0 | huge */
    float w[4 * 4] = {0, 0, 0, 0,
                      1e-40f, -3e-41f, 0, 5e-39f,
                      FLT_TRUE_MIN, -FLT_TRUE_MIN, 0, 0,
                      1e30f, -3e38f, 1.0f, 0};
    qt q;
    qt_ok(&q, INGOT_DT_Q8, w, 4, 4, 0, 0);
    const float *s = q.parts[1];
    const int8_t *qs = q.parts[0];
    ck_assert_float_eq(s[0], 0.0f);
    ck_assert_float_eq(s[2], 0.0f);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(qs[i], 0);
        ck_assert_int_eq(qs[8 + i], 0);
    }
    ck_assert_int_eq(qs[4 + 3], 127);
    ck_assert_int_eq(qs[12 + 1], -127);
    float *d = deq(&q);
    assert_finite(d, 16);
    ck_assert(fabsf(d[13] + 3e38f) <= 3e38f / 127.0f);
    free(d);
    qt_free(&q);
}
END_TEST

/* ------------------------------------------------------------------ nf4 */

static const float nf4_thresholds[15] = {
    -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
    -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
    0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
    0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f,
};

START_TEST(test_nf4_codes_and_thresholds)
{
    /* the code book is sorted and the thresholds lie between neighbours */
    for (int c = 0; c < 15; c++) {
        ck_assert(ingot_nf4_code[c] < nf4_thresholds[c]);
        ck_assert(nf4_thresholds[c] < ingot_nf4_code[c + 1]);
    }
    for (int c = 0; c < 16; c++)
        ck_assert_int_eq(ingot_nf4_quantize(ingot_nf4_code[c]), c);
    /* a value exactly on a threshold takes the lower code ("x > t"), the
     * next float up the upper one */
    for (int c = 0; c < 15; c++) {
        ck_assert_int_eq(ingot_nf4_quantize(nf4_thresholds[c]), c);
        ck_assert_int_eq(ingot_nf4_quantize(nextafterf(nf4_thresholds[c], 1.0f)), c + 1);
    }
    ck_assert_int_eq(ingot_nf4_quantize(NAN), 0); /* as bitsandbytes: every test false */
    ck_assert_int_eq(ingot_nf4_quantize(2.0f), 15);
    ck_assert_int_eq(ingot_nf4_quantize(-2.0f), 0);
}
END_TEST

START_TEST(test_nf4_known_block)
{
    /* one block of 64 with absmax 2.0 (so x/absmax = x * 0.5 exactly):
     * element 0 = 2.0 -> 1.0 -> code 15; element 1 = -2.0 -> code 0, so
     * byte 0 = 0xF0 (FIRST element in the HIGH nibble, as bitsandbytes);
     * element 2 = 0.5 -> 0.25 -> code 10 (0.2461); element 3 = 0 -> code 7
     * -> byte 1 = 0xA7; element 4 = 2*t(7|8) exactly -> code 7 (lower),
     * element 5 = -2*0.0911 -> -0.0911 = code 6 -> byte 2 = 0x76. */
    float w[64] = {0};
    w[0] = 2.0f;
    w[1] = -2.0f;
    w[2] = 0.5f;
    w[3] = 0.0f;
    w[4] = 2.0f * 0.03979014977812767f;
    w[5] = -2.0f * 0.09105003625154495f;
    qt q;
    qt_ok(&q, INGOT_DT_NF4, w, 1, 64, 0, 0);
    const uint8_t *b = q.parts[0];
    ck_assert_float_eq(((float *)q.parts[1])[0], 2.0f);
    ck_assert_uint_eq(b[0], 0xF0);
    ck_assert_uint_eq(b[1], 0xA7);
    ck_assert_uint_eq(b[2], 0x76);
    ck_assert_uint_eq(b[3], 0x77); /* zeros: code 7 (0.0) */
    float *d = deq(&q);
    ck_assert_float_eq(d[0], 2.0f);
    ck_assert_float_eq(d[1], -2.0f);
    ck_assert_float_eq(d[2], 0.24611230194568634f * 2.0f);
    ck_assert_float_eq(d[3], 0.0f);
    free(d);
    qt_free(&q);
}
END_TEST

START_TEST(test_nf4_edges)
{
    /* blocks: all zero | subnormal | huge | mixed huge and tiny */
    float w[4 * 64] = {0};
    for (int i = 0; i < 64; i++) {
        w[64 + i] = (i % 3 - 1) * 1e-40f;
        w[128 + i] = (i % 2 ? -1e30f : 3e38f) * ((float)(i + 1) / 64.0f);
        w[192 + i] = i == 7 ? 1e30f : 1e-30f;
    }
    qt q;
    qt_ok(&q, INGOT_DT_NF4, w, 1, 256, 0, 0);
    const uint8_t *b = q.parts[0];
    /* all-zero block: absmax 0, 1/0 = Inf, 0 * Inf = NaN -> code 0 (like
     * bitsandbytes), and it dequantizes to -1.0 * 0 = -0.0 */
    ck_assert_float_eq(((float *)q.parts[1])[0], 0.0f);
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq(b[i], 0x00);
    float *d = deq(&q);
    assert_finite(d, 256);
    for (int i = 0; i < 64; i++)
        ck_assert(d[i] == 0.0f);
    free(d);
    qt_free(&q);
    /* the same through double quantization */
    qt_ok(&q, INGOT_DT_NF4, w, 1, 256, 0, 1);
    d = deq(&q);
    assert_finite(d, 256);
    free(d);
    qt_free(&q);
}
END_TEST

START_TEST(test_dynamic_map)
{
    /* bitsandbytes create_dynamic_map(signed=True), values as torch produces
     * them on x86-64 (entry 20 is one of those that depend on linspace's fused
     * multiply-add: -0.7117187976837158, not -0.711718738079071) */
    const float *m = ingot_dynamic_map();
    for (int i = 1; i < 256; i++)
        ck_assert(m[i - 1] < m[i]);
    ck_assert_float_eq(m[0], -0.992968738079071f);
    ck_assert_float_eq(m[1], -0.9789062738418579f);
    ck_assert_float_eq(m[20], -0.7117187976837158f);
    ck_assert_float_eq(m[25], -0.6414062976837158f);
    ck_assert_float_eq(m[126], -5.500000384017767e-07f);
    ck_assert_float_eq(m[127], 0.0f);
    ck_assert_float_eq(m[128], 5.500000384017767e-07f);
    ck_assert_float_eq(m[159], 0.011406250298023224f);
    ck_assert_float_eq(m[191], 0.10703125596046448f);
    ck_assert_float_eq(m[254], 0.992968738079071f);
    ck_assert_float_eq(m[255], 1.0f);
    for (int i = 0; i < 256; i++)
        ck_assert_int_eq(ingot_dynamic_quantize(m, m[i]), i);
    /* between neighbours: the nearer one; NaN walks down to 0 */
    ck_assert_int_eq(ingot_dynamic_quantize(m, 0.9f * m[200] + 0.1f * m[201]), 200);
    ck_assert_int_eq(ingot_dynamic_quantize(m, 0.1f * m[200] + 0.9f * m[201]), 201);
    ck_assert_int_eq(ingot_dynamic_quantize(m, NAN), 0);
}
END_TEST

START_TEST(test_nf4_double_quant)
{
    enum { O = 48, I = 384 }; /* 288 blocks: two absmax2 blocks, the last partial */
    float *w = malloc(sizeof(float) * O * I);
    rng_seed(7);
    for (int i = 0; i < O * I; i++)
        w[i] = rnd() * (0.01f + (float)(i / 64 % 13) * 0.02f);
    qt plain, dq;
    qt_ok(&plain, INGOT_DT_NF4, w, O, I, 0, 0);
    qt_ok(&dq, INGOT_DT_NF4, w, O, I, 0, 1);
    ck_assert_int_eq(dq.l.n, 4);
    ck_assert_uint_eq(dq.l.p[2].bytes, 2 * sizeof(float));
    /* codes are the same; absmax comes back within the 8-bit map's error */
    ck_assert_mem_eq(plain.parts[0], dq.parts[0], (size_t)O * I / 2);
    const float *am = plain.parts[1];
    double sum = 0;
    for (int b = 0; b < O * I / 64; b++)
        sum += am[b];
    ck_assert_float_eq_tol(*(float *)dq.parts[3], (float)(sum / (O * I / 64)), 1e-7f);
    for (int b = 0; b < O * I / 64; b++) {
        float back = ingot_nf4_absmax(&dq.w, b);
        ck_assert_msg(fabsf(back - am[b]) <= 0.02f * ((float *)dq.parts[2])[b / 256] + 1e-9f,
                      "block %d: %g vs %g", b, (double)back, (double)am[b]);
    }
    free(w);
    qt_free(&plain);
    qt_free(&dq);
}
END_TEST

/* ------------------------------------------------------------------ int4 */

START_TEST(test_q4_known)
{
    /* G = 32, two groups.
     * group 0: min -1.0, max 2.75 -> scale 3.75/15 = 0.25 (exact in f16,
     *   0x3400), zero = -round(-1.0/0.25) = 4;
     *   q = clamp(round(w/0.25) + 4): -1.0 -> 0, 2.75 -> 15, 0.125 -> round(0.5)
     *   = 0 (half to even) -> 4, 0.375 -> round(1.5) = 2 -> 6, -0.875 ->
     *   round(-3.5) = -4 -> 0, 0.625 -> round(2.5) = 2 -> 6, 0 -> 4.
     *   bytes (low nibble = even element): 0xF0, 0x64, 0x60, then 0x44.
     * group 1: min -0.625, max 3.125 -> scale 0.25, zero = -round(-2.5) = 2
     *   (half to even; half away would give 3); -0.625 -> -2 + 2 = 0,
     *   3.125 -> round(12.5) = 12 -> 14, 0 -> 2: bytes 0xE0, then 0x22. */
    float w[64] = {0};
    w[0] = -1.0f, w[1] = 2.75f, w[2] = 0.125f, w[3] = 0.375f, w[4] = -0.875f, w[5] = 0.625f;
    w[32] = -0.625f, w[33] = 3.125f;
    qt q;
    qt_ok(&q, INGOT_DT_Q4, w, 1, 64, 32, 0);
    const uint8_t *b = q.parts[0], *z = q.parts[2];
    const uint16_t *s = q.parts[1];
    ck_assert_uint_eq(s[0], 0x3400);
    ck_assert_uint_eq(s[1], 0x3400);
    ck_assert_uint_eq(z[0], 4);
    ck_assert_uint_eq(z[1], 2);
    const uint8_t want0[4] = {0xF0, 0x64, 0x60, 0x44}, want1[2] = {0xE0, 0x22};
    ck_assert_mem_eq(b, want0, 4);
    ck_assert_mem_eq(b + 16, want1, 2);
    float *d = deq(&q);
    ck_assert_float_eq(d[0], -1.0f);
    ck_assert_float_eq(d[1], 2.75f);
    ck_assert_float_eq(d[2], 0.0f);
    ck_assert_float_eq(d[3], 0.5f);
    ck_assert_float_eq(d[33], 3.0f);
    free(d);
    qt_free(&q);
}
END_TEST

START_TEST(test_q4_edges)
{
    /* groups of 32: zero | constant (scale clamp 1e-5 -> f16 min normal) |
     * subnormal | huge (scale clamps to 65504) */
    float w[128] = {0};
    for (int i = 0; i < 32; i++) {
        w[32 + i] = 0.5f;
        w[64 + i] = (i % 3 - 1) * 1e-40f;
        w[96 + i] = (i % 2 ? -1e30f : 3e38f);
    }
    qt q;
    qt_ok(&q, INGOT_DT_Q4, w, 1, 128, 32, 0);
    const uint16_t *s = q.parts[1];
    ck_assert_uint_eq(s[0], 0x0400); /* 2^-14 */
    ck_assert_uint_eq(s[1], 0x0400);
    ck_assert_uint_eq(s[2], 0x0400);
    ck_assert_uint_eq(s[3], 0x7bff); /* 65504 */
    float *d = deq(&q);
    assert_finite(d, 128);
    for (int i = 0; i < 32; i++)
        ck_assert_float_eq(d[i], 0.0f);
    free(d);
    qt_free(&q);
    ck_assert_uint_eq(ingot_q4_scale_f16(INFINITY), 0x7bff);
    ck_assert_uint_eq(ingot_q4_scale_f16(1e-30f), 0x0400);
}
END_TEST


/* Squared error of one int4 row (n_in, groups of g) as stored, against w,
 * each input's weighed by c (NULL: 1). */
static double q4_row_werr(const float *w, const float *c, int n_in, int g, const uint8_t *qs, const uint16_t *sc,
                          const uint8_t *zp)
{
    ingot_wmat m = ingot_q4_row_view(qs, sc, zp, n_in, g);
    float out[512];
    ingot_q4_dequantize_row(&m, 0, 0, n_in, out);
    double e = 0;
    for (int i = 0; i < n_in; i++)
        e += (c ? c[i] : 1.0) * ((double)w[i] - out[i]) * ((double)w[i] - out[i]);
    return e;
}

static double q4_row_err(const float *w, int n_in, int g, const uint8_t *qs, const uint16_t *sc, const uint8_t *zp)
{
    return q4_row_werr(w, NULL, n_in, g, qs, sc, zp);
}

/*
 * The search quantizer (--mse-scales): every group's error is at most the
 * min/max quantizer's (its pair is a candidate), lower on average (by 9 % here)
 * on Gaussian-like rows with outliers, and the edge groups stay
 * finite.
 */
START_TEST(test_q4_mse_search)
{
    rng_seed(77);
    double sum_rtn = 0, sum_mse = 0;
    for (int round = 0; round < 200; round++) {
        int g = round % 2 ? 32 : 128;
        float w[512];
        for (int i = 0; i < 512; i++)
            w[i] = (rnd() + rnd() + rnd()) * (i % 97 == round % 97 ? 6.0f : 1.0f);
        uint8_t qa[256], qb[256], za[16], zb[16];
        uint16_t sa[16], sb[16];
        ingot_q4_quantize_row(w, 512, g, qa, sa, za);
        ingot_q4_quantize_row_mse(w, 512, g, qb, sb, zb);
        for (int j = 0; j < 512 / g; j++) {
            double ea = q4_row_err(w + j * g, g, g, qa + j * g / 2, sa + j, za + j);
            double eb = q4_row_err(w + j * g, g, g, qb + j * g / 2, sb + j, zb + j);
            ck_assert_msg(eb <= ea * (1 + 1e-6), "round %d group %d: search error %g > min/max %g", round, j, eb, ea);
            sum_rtn += ea;
            sum_mse += eb;
        }
    }
    ck_assert_msg(sum_mse < 0.95 * sum_rtn, "search error %g is not 5%% below min/max %g", sum_mse, sum_rtn);
    float e[128] = {0};
    for (int i = 0; i < 32; i++) {
        e[32 + i] = 0.5f;
        e[64 + i] = (i % 3 - 1) * 1e-40f;
        e[96 + i] = (i % 2 ? -1e30f : 3e38f);
    }
    uint8_t q[64], z[4];
    uint16_t sc[4];
    ingot_q4_quantize_row_mse(e, 128, 32, q, sc, z);
    ck_assert(q4_row_err(e, 64, 32, q, sc, z) == 0 || isfinite(q4_row_err(e, 64, 32, q, sc, z)));
    for (int j = 0; j < 4; j++)
        ck_assert(isfinite(ingot_f16_to_f32(sc[j])) && z[j] <= 15);
}
END_TEST

/*
 * The weighted search (--target-bpw passes each input's mean square on the
 * calibration text): in the weighted error it is never worse than min/max,
 * clearly better than the unweighted search (by 21 % here, with importances
 * spread over two decades as activations' are), and weights of 1 are no
 * weights at all, byte for byte.
 */
START_TEST(test_q4_weighted_search)
{
    rng_seed(78);
    double sum_plain = 0, sum_w = 0;
    for (int round = 0; round < 200; round++) {
        int g = round % 2 ? 32 : 128;
        float w[512], c[512], ones[512];
        for (int i = 0; i < 512; i++) {
            w[i] = (rnd() + rnd() + rnd()) * (i % 97 == round % 97 ? 6.0f : 1.0f);
            c[i] = powf(10.0f, 2.0f * (rnd() + 1.0f) / 2.0f) * (i % 53 == 0 ? 20.0f : 1.0f);
            ones[i] = 1.0f;
        }
        uint8_t qa[256], qb[256], qc[256], za[16], zb[16], zc[16];
        uint16_t sa[16], sb[16], sc[16];
        ingot_q4_quantize_row(w, 512, g, qa, sa, za);
        ingot_q4_quantize_row_mse(w, 512, g, qb, sb, zb);
        ingot_q4_quantize_row_wmse(w, c, 512, g, qc, sc, zc);
        for (int j = 0; j < 512 / g; j++) {
            double ea = q4_row_werr(w + j * g, c + j * g, g, g, qa + j * g / 2, sa + j, za + j);
            double ec = q4_row_werr(w + j * g, c + j * g, g, g, qc + j * g / 2, sc + j, zc + j);
            ck_assert_msg(ec <= ea * (1 + 1e-5), "round %d group %d: weighted search %g > min/max %g", round, j,
                          ec, ea);
            sum_plain += q4_row_werr(w + j * g, c + j * g, g, g, qb + j * g / 2, sb + j, zb + j);
            sum_w += ec;
        }
        ingot_q4_quantize_row_wmse(w, ones, 512, g, qc, sc, zc);
        ck_assert(!memcmp(qb, qc, 256) && !memcmp(sb, sc, 2 * (512 / g)) && !memcmp(zb, zc, 512 / g));
    }
    ck_assert_msg(sum_w < 0.85 * sum_plain, "weighted search error %g is not 15%% below the plain search's %g",
                  sum_w, sum_plain);
}
END_TEST


/* ------------------------------------------------------------------ int5, int6 */

START_TEST(test_qb_known)
{
    /* int5, G = 32: min -1.0, max 6.75 -> scale 7.75/31 = 0.25 (0x3400),
     * zero = -round(-4) = 4; -1.0 -> 0, 6.75 -> 27 + 4 = 31, 0.125 ->
     * round(0.5) = 0 -> 4, 3.0 -> 12 + 4 = 16 (high bit set, nibble 0),
     * 0.375 -> round(1.5) = 2 -> 6; the rest 0 -> 4.
     * qs (low nibble = even element): 0xF0, 0x04, 0x46, 0x44 ...
     * qh byte 0: high bits of elements 0..7 at bit m: element 1 (31) and
     * element 3 (16) -> 0x0A. */
    float w[32] = {0};
    w[0] = -1.0f, w[1] = 6.75f, w[2] = 0.125f, w[3] = 3.0f, w[4] = 0.375f;
    qt q;
    qt_ok(&q, INGOT_DT_Q5, w, 1, 32, 32, 0);
    const uint8_t *qs = q.parts[INGOT_QB_QS], *qh = q.parts[INGOT_QB_QH], *z = q.parts[INGOT_QB_ZEROS];
    const uint16_t *sc = q.parts[INGOT_QB_SCALES];
    ck_assert_uint_eq(sc[0], 0x3400);
    ck_assert_uint_eq(z[0], 4);
    const uint8_t want[4] = {0xF0, 0x04, 0x46, 0x44};
    ck_assert_mem_eq(qs, want, 4);
    ck_assert_uint_eq(qh[0], 0x0A);
    ck_assert_uint_eq(qh[1], 0x00);
    float *d = deq(&q);
    ck_assert_float_eq(d[0], -1.0f);
    ck_assert_float_eq(d[1], 6.75f);
    ck_assert_float_eq(d[3], 3.0f);
    ck_assert_float_eq(d[4], 0.5f);
    free(d);
    qt_free(&q);
    /* int6: min -1.0, max 14.75 -> scale 15.75/63 = 0.25, zero 4; 14.75 ->
     * 59 + 4 = 63 (high bits 3), 3.0 -> 16 (high bits 1); two high bits per
     * code, element m at bits 2m of the little-endian word: 0x0C | 0x40 */
    w[1] = 14.75f;
    qt_ok(&q, INGOT_DT_Q6, w, 1, 32, 32, 0);
    qh = q.parts[INGOT_QB_QH];
    ck_assert_uint_eq(((uint16_t *)q.parts[INGOT_QB_SCALES])[0], 0x3400);
    ck_assert_uint_eq(qh[0], 0x4C);
    ck_assert_uint_eq(qh[1], 0x00);
    d = deq(&q);
    ck_assert_float_eq(d[1], 14.75f);
    ck_assert_float_eq(d[3], 3.0f);
    free(d);
    qt_free(&q);
}
END_TEST

/* Every int5/int6 value within one step of its group's scale; the search never worse per group;
 * weighted, it lowers the weighted error. */
START_TEST(test_qb_bounds_and_search)
{
    enum { O = 24, I = 512 };
    float *w = malloc(sizeof(float) * O * I);
    rng_seed(19);
    for (int i = 0; i < O * I; i++)
        w[i] = rnd() * rnd() * (i % 101 == 0 ? 8.0f : 0.1f);
    const ingot_dtype types[2] = {INGOT_DT_Q5, INGOT_DT_Q6};
    for (int t = 0; t < 2; t++)
        for (int g = 32; g <= 128; g *= 2) {
            qt q;
            qt_ok(&q, types[t], w, O, I, g, 0);
            float *d = deq(&q);
            const uint16_t *sc = q.parts[INGOT_QB_SCALES];
            for (int i = 0; i < O * I; i++)
                ck_assert(fabsf(d[i] - w[i]) <= ingot_f16_to_f32(sc[i / g]));
            /* the search's parts, through the same dequantizer */
            const ingot_format *mf = types[t] == INGOT_DT_Q5 ? &ingot_format_int5_mse : &ingot_format_int6_mse;
            qt m;
            memset(&m, 0, sizeof m);
            m.l = q.l;
            for (int p = 0; p < q.l.n; p++)
                m.parts[p] = malloc(q.l.p[p].bytes);
            ingot_error err = {0};
            ck_assert_int_eq(ingot_quantize_ref(mf, w, O, I, g, 0, m.parts, "t", &err), 0);
            ck_assert_int_eq(ingot_wmat_bind(&m.w, ingot_format_of(types[t]), O, I, g, 0,
                                             (const void *const *)m.parts, "t", &err), 0);
            float *dm = deq(&m);
            double ea = 0, eb = 0;
            for (int j = 0; j < O * I / g; j++) {
                double ga = 0, gb = 0;
                for (int i = j * g; i < (j + 1) * g; i++) {
                    ga += ((double)d[i] - w[i]) * ((double)d[i] - w[i]);
                    gb += ((double)dm[i] - w[i]) * ((double)dm[i] - w[i]);
                }
                ck_assert_msg(gb <= ga * (1 + 1e-5) + 1e-30, "%s g%d group %d: %g > %g",
                              ingot_dtype_name(types[t]), g, j, gb, ga);
                ea += ga;
                eb += gb;
            }
            ck_assert_msg(eb < ea, "%s g%d: the search gained nothing", ingot_dtype_name(types[t]), g);
            /* weighted by input importances, through ingot_quantize_ref_weighted: less weighted error */
            float c[I];
            for (int i = 0; i < I; i++)
                c[i] = powf(10.0f, rnd() + 1.0f);
            ck_assert_int_eq(ingot_quantize_ref_weighted(mf, w, c, O, I, g, 0, m.parts, "t", &err), 0);
            float *dw = deq(&m);
            double wb = 0, ww = 0;
            for (int i = 0; i < O * I; i++) {
                wb += c[i % I] * ((double)dm[i] - w[i]) * ((double)dm[i] - w[i]);
                ww += c[i % I] * ((double)dw[i] - w[i]) * ((double)dw[i] - w[i]);
            }
            ck_assert_msg(ww < wb, "%s g%d: weighted %g, plain %g", ingot_dtype_name(types[t]), g, ww, wb);
            free(dw);
            free(dm);
            free(d);
            qt_free(&m);
            qt_free(&q);
        }
    free(w);
}
END_TEST

/* The row quantizers use inline/branch-free arithmetic; recompute the spec
 * with libm rounding and bitsandbytes' tree on data full of exact ties. */
static float tie_value(int i, float unit)
{
    return (float)((i * 37) % 61 - 30) * 0.5f * unit; /* k/2 * unit: many .5 ties */
}

START_TEST(test_row_quantizers_match_spec)
{
    enum { G = 32, N = 256 };
    float w[N];
    /* int8: absmax 127 -> scale 1, every odd multiple of 0.5 is a tie */
    for (int i = 0; i < N; i++)
        w[i] = i == 0 ? 127.0f : tie_value(i, 1.0f) + (i % 7 == 0 ? 0.37f : 0.0f);
    qt q;
    qt_ok(&q, INGOT_DT_Q8, w, 1, N, 0, 0);
    for (int i = 0; i < N; i++) {
        float r = fminf(fmaxf(roundf(w[i] / 1.0f), -127.0f), 127.0f);
        ck_assert_int_eq(((int8_t *)q.parts[0])[i], (int)r);
    }
    qt_free(&q);
    /* int4: groups with range 3.75 -> scale 0.25, w = k/8 so w/0.25 = k/2 */
    for (int i = 0; i < N; i++)
        w[i] = i % G == 0 ? -1.0f : i % G == 1 ? 2.75f : (float)((i * 37) % 9 - 4) * 0.125f;
    qt_ok(&q, INGOT_DT_Q4, w, 1, N, G, 0);
    for (int i = 0; i < N; i++) {
        float s = ingot_f16_to_f32(((uint16_t *)q.parts[1])[i / G]);
        float z = ((uint8_t *)q.parts[2])[i / G];
        float want = fminf(fmaxf(nearbyintf(w[i] / s) + z, 0.0f), 15.0f);
        uint8_t b = ((uint8_t *)q.parts[0])[i / 2];
        ck_assert_int_eq(i % 2 ? b >> 4 : b & 15, (int)want);
    }
    qt_free(&q);
    /* nf4: absmax 1, values on and next to every threshold and code */
    float v[64 * 4];
    for (int i = 0; i < 64 * 4; i++) {
        int t = i % 15;
        v[i] = i % 64 == 0 ? 1.0f
               : i % 4 == 0 ? nf4_thresholds[t]
               : i % 4 == 1 ? nextafterf(nf4_thresholds[t], 2.0f)
               : i % 4 == 2 ? nextafterf(nf4_thresholds[t], -2.0f)
                            : ingot_nf4_code[i % 16];
    }
    qt_ok(&q, INGOT_DT_NF4, v, 1, 64 * 4, 0, 0);
    for (int i = 0; i < 64 * 4; i++) {
        uint8_t b = ((uint8_t *)q.parts[0])[i / 2];
        float am = ((float *)q.parts[1])[i / 64];
        ck_assert_int_eq(i % 2 ? b & 15 : b >> 4, ingot_nf4_quantize(v[i] * (1.0f / am)));
    }
    qt_free(&q);
}
END_TEST

/* ------------------------------------------------------------------ all formats */

START_TEST(test_nonfinite)
{
    float w[4 * 64] = {0};
    w[64 + 3] = NAN;
    w[128 + 5] = INFINITY;
    const ingot_dtype types[3] = {INGOT_DT_Q8, INGOT_DT_NF4, INGOT_DT_Q4};
    for (int i = 0; i < 3; i++) {
        const ingot_format *f = ingot_format_of(types[i]);
        ingot_wlayout l;
        ingot_error err = {0};
        ck_assert_int_eq(ingot_format_layout(f, 4, 64, 32, 0, &l, "blk.0.w", &err), 0);
        void *parts[INGOT_WMAT_MAX_PARTS] = {0};
        for (int p = 0; p < l.n; p++)
            parts[p] = malloc(l.p[p].bytes);
        ck_assert_int_eq(ingot_quantize_ref(f, w, 4, 64, 32, 0, parts, "blk.0.w", &err), -1);
        ck_assert_int_eq(err.code, INGOT_ERR_NONFINITE);
        ck_assert_msg(strncmp(err.message, "blk.0.w: ", 9) == 0, "%s", err.message);
        ck_assert_msg(strstr(err.message, "[1, 3]") != NULL, "%s", err.message);
        for (int p = 0; p < l.n; p++)
            free(parts[p]);
    }
}
END_TEST

START_TEST(test_layout)
{
    const ingot_format *q8 = ingot_format_of(INGOT_DT_Q8), *nf4 = ingot_format_of(INGOT_DT_NF4);
    const ingot_format *q4 = ingot_format_of(INGOT_DT_Q4), *bf16 = ingot_format_of(INGOT_DT_BF16);
    ingot_wlayout l;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_format_layout(nf4, 4, 96, 0, 0, &l, "blk.1.q", &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_SHAPE);
    ck_assert_msg(strncmp(err.message, "blk.1.q: ", 9) == 0, "%s", err.message);
    ck_assert_int_eq(ingot_format_layout(q4, 4, 192, 128, 0, &l, "blk.1.k", &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_SHAPE);
    ck_assert_msg(strncmp(err.message, "blk.1.k: ", 9) == 0, "%s", err.message);
    ck_assert_int_eq(ingot_format_layout(q4, 4, 192, 48, 0, &l, "x", &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ck_assert_int_eq(ingot_format_layout(NULL, 4, 64, 0, 0, &l, "x", &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ck_assert_int_eq(ingot_format_layout(q8, 0, 64, 0, 0, &l, "x", &err), -1);
    ck_assert_int_eq(ingot_format_layout(q8, 4, 64, 0, 1, &l, "x", &err), -1); /* no variant 1 */
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);

    ck_assert_int_eq(ingot_format_layout(q4, 896, 4864, 0, 0, &l, "x", &err), 0);
    ck_assert_int_eq(l.n, 3);
    ck_assert_str_eq(l.p[INGOT_Q4_SCALES].role, "scales");
    ck_assert_int_eq(l.p[INGOT_Q4_SCALES].dtype, INGOT_DT_F16);
    ck_assert_int_eq(l.p[INGOT_Q4_SCALES].shape[1], 4864 / 128);
    ck_assert_uint_eq(l.p[INGOT_Q4_QS].bytes, 896u * 4864 / 2);
    ck_assert_int_eq(ingot_format_layout(nf4, 896, 896, 0, INGOT_NF4_DQ, &l, "x", &err), 0);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.p[INGOT_NF4_ABSMAX_OFFSET].role, "absmax_offset");
    ck_assert_uint_eq(l.p[INGOT_NF4_ABSMAX_ABSMAX].bytes, 4u * ((896u * 896 / 64 + 255) / 256));
    ck_assert_int_eq(ingot_format_layout(nf4, 896, 896, 0, INGOT_NF4_PLAIN, &l, "x", &err), 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.p[INGOT_NF4_ABSMAX].role, "absmax");
    /* the float types: one "data" part of themselves, no quantizer */
    ck_assert_int_eq(ingot_format_layout(bf16, 4, 64, 0, 0, &l, "x", &err), 0);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.p[INGOT_F_DATA].role, "data");
    ck_assert_int_eq(l.p[INGOT_F_DATA].dtype, INGOT_DT_BF16);
    ck_assert_uint_eq(l.p[INGOT_F_DATA].bytes, 4u * 64 * 2);
    float w[4 * 64] = {0};
    uint16_t out[4 * 64];
    void *parts[1] = {out};
    ck_assert_int_eq(ingot_quantize_ref(bf16, w, 4, 64, 0, 0, parts, "x", &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);

    ck_assert_double_eq_tol(ingot_format_bits_per_weight(q8, 896, 896, 0, 0), 8.0 + 32.0 / 896,
                            1e-12);
    ck_assert_double_eq_tol(ingot_format_bits_per_weight(nf4, 896, 896, 0, 0), 4.5, 1e-12);
    ck_assert_double_eq_tol(ingot_format_bits_per_weight(q4, 896, 896, 128, 0), 4.1875, 1e-12);
    double dq = ingot_format_bits_per_weight(nf4, 896, 896, 0, INGOT_NF4_DQ);
    ck_assert(dq > 4.125 && dq < 4.13);
    ck_assert_double_eq_tol(ingot_format_bits_per_weight(bf16, 896, 896, 0, 0), 16.0, 1e-12);
}
END_TEST

/* The table: one entry per weight format, each variant's roles in layout order. */
START_TEST(test_format_table)
{
    ck_assert_ptr_null(ingot_format_of(INGOT_DT_I8));
    ck_assert_ptr_null(ingot_format_of(INGOT_DT_F64));
    int n = 0;
    for (const ingot_format *f; (f = ingot_format_at(n)); n++) {
        ck_assert_ptr_eq(ingot_format_of(f->type), f);
        ck_assert_str_eq(f->name, ingot_dtype_name(f->type));
        ck_assert(ingot_format_quantized(f->type) == f->quantized);
        ck_assert(f->quantized == (f->quantize_row != NULL));
        ck_assert_ptr_nonnull(f->dequantize);
        for (int v = 0; v < f->n_variants; v++) {
            ingot_wlayout l;
            ingot_error err = {0};
            ck_assert_msg(ingot_format_layout(f, 8, 256, 128, v, &l, "x", &err) == 0, "%s",
                          err.message);
            ck_assert_int_eq(l.n, f->variants[v].n_parts);
            for (int i = 0; i < l.n; i++)
                ck_assert_str_eq(l.p[i].role, f->variants[v].role[i]);
        }
    }
    ck_assert_int_eq(n, 8); /* bf16 f16 f32 int8 nf4 int4 int5 int6 */
}
END_TEST

/* Binding stored parts by role: the variant comes from the parts, sizes are checked. */
struct fake_parts {
    int n;
    const char *role[5];
    const void *data[5];
    uint64_t bytes[5];
};

static bool fake_find(void *user, const char *role, const void **data, uint64_t *bytes)
{
    const struct fake_parts *fp = user;
    for (int i = 0; i < fp->n; i++)
        if (strcmp(fp->role[i], role) == 0) {
            *data = fp->data[i];
            *bytes = fp->bytes[i];
            return true;
        }
    return false;
}

START_TEST(test_bind_found)
{
    enum { O = 4, I = 512 }; /* nf4: 32 blocks */
    static uint8_t buf[4][O * I];
    const ingot_format *nf4 = ingot_format_of(INGOT_DT_NF4);
    struct fake_parts fp = {2, {"absmax", "qs"}, {buf[0], buf[1]}, {32 * 4, O * I / 2}};
    ingot_wmat w;
    ingot_error err = {0};
    ck_assert_msg(ingot_wmat_bind_found(&w, nf4, O, I, 0, fake_find, &fp, "f", "t", &err) == 0,
                  "%s", err.message);
    ck_assert_int_eq(w.variant, INGOT_NF4_PLAIN);
    ck_assert_int_eq(w.n_parts, 2);
    ck_assert_int_eq(w.group_size, INGOT_NF4_BLOCK);
    ck_assert_ptr_eq(w.part[INGOT_NF4_QS], buf[1]);
    ck_assert_ptr_eq(w.part[INGOT_NF4_ABSMAX], buf[0]);
    /* absmax_q marks double quant; a missing part is named */
    fp = (struct fake_parts){3, {"absmax_q", "qs", "absmax_offset"}, {buf[0], buf[1], buf[2]},
                             {32, O * I / 2, 4}};
    ck_assert_int_eq(ingot_wmat_bind_found(&w, nf4, O, I, 0, fake_find, &fp, "f", "t", &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_FORMAT);
    ck_assert_str_eq(err.message, "f: t: part absmax_absmax is missing");
    fp.role[3] = "absmax_absmax", fp.data[3] = buf[3], fp.bytes[3] = 4, fp.n = 4;
    ck_assert_msg(ingot_wmat_bind_found(&w, nf4, O, I, 0, fake_find, &fp, "f", "t", &err) == 0,
                  "%s", err.message);
    ck_assert_int_eq(w.variant, INGOT_NF4_DQ);
    ck_assert_ptr_eq(w.part[INGOT_NF4_ABSMAX_Q], buf[0]);
    ck_assert_ptr_eq(w.part[INGOT_NF4_ABSMAX_ABSMAX], buf[3]);
    ck_assert_ptr_eq(w.part[INGOT_NF4_ABSMAX_OFFSET], buf[2]);
    fp.bytes[1] = 1;
    ck_assert_int_eq(ingot_wmat_bind_found(&w, nf4, O, I, 0, fake_find, &fp, "f", "t", &err), -1);
    ck_assert_str_eq(err.message, "f: t: part qs has the wrong size");
    /* a float matrix: its "data" */
    fp = (struct fake_parts){1, {"data"}, {buf[0]}, {O * 8 * 4}};
    ck_assert_msg(ingot_wmat_bind_found(&w, ingot_format_of(INGOT_DT_F32), O, 8, 0, fake_find,
                                        &fp, "f", "t", &err) == 0,
                  "%s", err.message);
    ck_assert_ptr_eq(w.part[INGOT_F_DATA], buf[0]);
    ck_assert_int_eq(w.type, INGOT_DT_F32);
}
END_TEST

START_TEST(test_round_trip_bounds)
{
    enum { O = 16, I = 512 };
    float *w = malloc(sizeof(float) * O * I);
    rng_seed(11);
    for (int i = 0; i < O * I; i++)
        w[i] = rnd() * rnd() * 0.1f; /* peaked at 0, like real weights */
    qt q;
    /* int8: half a step of the row's scale */
    qt_ok(&q, INGOT_DT_Q8, w, O, I, 0, 0);
    float *d = deq(&q);
    for (int i = 0; i < O * I; i++)
        ck_assert(fabsf(d[i] - w[i]) <= 0.5f * ((float *)q.parts[1])[i / I] * 1.0001f);
    free(d);
    qt_free(&q);
    /* nf4: half the widest gap of the code book (-0.6962 - -1.0) times absmax */
    qt_ok(&q, INGOT_DT_NF4, w, O, I, 0, 0);
    d = deq(&q);
    for (int i = 0; i < O * I; i++)
        ck_assert(fabsf(d[i] - w[i]) <= 0.1520f * ((float *)q.parts[1])[i / 64]);
    free(d);
    qt_free(&q);
    /* int4: within one step of the group's scale (half a step plus the
     * clamp at the ends of the 0..15 range) */
    qt_ok(&q, INGOT_DT_Q4, w, O, I, 128, 0);
    d = deq(&q);
    for (int i = 0; i < O * I; i++)
        ck_assert(fabsf(d[i] - w[i]) <= ingot_f16_to_f32(((uint16_t *)q.parts[1])[i / 128]));
    free(d);
    qt_free(&q);
    free(w);
}
END_TEST

START_TEST(test_thread_count_independent)
{
    /* quantization runs rows in parallel; the bytes must not depend on it */
    enum { O = 64, I = 256 };
    float *w = malloc(sizeof(float) * O * I);
    rng_seed(3);
    for (int i = 0; i < O * I; i++)
        w[i] = rnd();
    qt a, b;
    qt_ok(&a, INGOT_DT_NF4, w, O, I, 0, 1);
#ifdef _OPENMP
    int nth = omp_get_max_threads();
    omp_set_num_threads(nth > 1 ? 1 : 2);
#endif
    qt_ok(&b, INGOT_DT_NF4, w, O, I, 0, 1);
#ifdef _OPENMP
    omp_set_num_threads(nth);
#endif
    for (int p = 0; p < a.l.n; p++)
        ck_assert_mem_eq(a.parts[p], b.parts[p], a.l.p[p].bytes);
    qt_free(&a);
    qt_free(&b);
    free(w);
}
END_TEST

/* ------------------------------------------------------------------ kernels */

typedef struct kcase {
    ingot_dtype type;
    int n_out, n_in, group, dq;
} kcase;

static const kcase kcases[] = {
    {INGOT_DT_Q8, 96, 256, 0, 0},   {INGOT_DT_Q8, 37, 100, 0, 0},  {INGOT_DT_Q8, 40, 4864, 0, 0},
    {INGOT_DT_NF4, 96, 256, 0, 0},  {INGOT_DT_NF4, 33, 320, 0, 0}, {INGOT_DT_NF4, 40, 4864, 0, 0},
    {INGOT_DT_NF4, 70, 192, 0, 1},  {INGOT_DT_NF4, 64, 896, 0, 1}, {INGOT_DT_Q4, 96, 256, 128, 0},
    {INGOT_DT_Q4, 33, 320, 32, 0},  {INGOT_DT_Q4, 70, 192, 64, 0}, {INGOT_DT_Q4, 40, 4864, 128, 0},
    {INGOT_DT_Q4, 17, 288, 96, 0},  {INGOT_DT_Q4, 24, 512, 256, 0}, {INGOT_DT_Q8, 20, 896, 0, 0},
    {INGOT_DT_Q5, 96, 256, 128, 0}, {INGOT_DT_Q5, 33, 320, 32, 0}, {INGOT_DT_Q5, 17, 288, 96, 0},
    {INGOT_DT_Q5, 40, 4864, 32, 0}, {INGOT_DT_Q6, 70, 192, 64, 0}, {INGOT_DT_Q6, 40, 4864, 128, 0},
    {INGOT_DT_Q6, 24, 512, 256, 0}, {INGOT_DT_Q6, 33, 320, 32, 0},
};
static const int ktoks[] = {1, 3, 17, 64};

/* The kernel tables to test: ref always, SIMD when built and supported. */
#define MAX_TABS 5
static int kernel_tables(ingot_cpu_kernels tabs[MAX_TABS])
{
    int n = 0;
    memset(tabs, 0, MAX_TABS * sizeof *tabs);
    tabs[n].isa = "ref";
    ingot_quant_kernels_fill(&tabs[n++], "ref");
#ifdef INGOT_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c")) {
        tabs[n].isa = "avx2";
        ingot_quant_kernels_fill(&tabs[n++], "avx2");
        tabs[n].isa = "avx2dot";
        ingot_quant_kernels_fill(&tabs[n++], "avx2dot");
    }
#endif
#ifdef INGOT_HAVE_AVX512
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
        tabs[n].isa = "avx512";
        ingot_quant_kernels_fill(&tabs[n++], "avx512");
    }
#endif
#ifdef INGOT_HAVE_VNNI
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
        tabs[n].isa = "avx512vnni";
        ingot_quant_kernels_fill(&tabs[n++], "avx512vnni");
    }
#endif
    return n;
}

/*
 * The VNNI and avx2dot decodes (1-3 tokens) round the token to int8 in blocks of 32
 * (step d = max|x| / 127): each product may move by |w_k| d / 2.  nf4 also
 * rounds its code book to 1/127 (each weight moves by at most absmax / 254).
 * @return that bound for output row o and token x.
 */
static double vnni_bound(const kcase *c, const qt *q, const float *wrow, const float *x, int o)
{
    double b = 0;
    for (int k0 = 0; k0 + 32 <= c->n_in; k0 += 32) {
        float amax = 0;
        for (int k = k0; k < k0 + 32; k++)
            amax = fmaxf(amax, fabsf(x[k]));
        double d = amax / 127.0;
        for (int k = k0; k < k0 + 32; k++) {
            b += fabs((double)wrow[k]) * d * 0.5;
            if (c->type == INGOT_DT_NF4) {
                double am = ingot_nf4_absmax(&q->w, (int64_t)o * (c->n_in / 64) + k / 64);
                b += am / 254.0 * (fabs((double)x[k]) + d * 0.5);
            }
        }
    }
    return b * 1.001;
}

/* @return whether this table's kernel rounds the token (VNNI or AVX2 integer-dot decode) */
static bool quantizes_token(const ingot_cpu_kernels *k, const kcase *c, int n_tok)
{
    if (n_tok >= 4)
        return false;
    if (strcmp(k->isa, "avx2dot") == 0)
        return true;
    return strcmp(k->isa, "avx512vnni") == 0 && !(c->type == INGOT_DT_NF4 && c->dq);
}

static void check_kernel(const ingot_cpu_kernels *k, const kcase *c, const qt *q, const float *x,
                         int n_tok)
{
    int O = c->n_out, I = c->n_in;
    size_t ny = (size_t)n_tok * O;
    float *ref = malloc(ny * sizeof(float)), *y = malloc(ny * sizeof(float));
    float *ys = malloc(ny * sizeof(float));
    ingot_qmatmul_ref(&q->w, x, n_tok, ref, 0, O);
    ingot_matmul_fn fn = k->matmul[c->type];
    ck_assert_ptr_nonnull(fn);
    fn(&q->w, x, n_tok, y, 0, O);
    float *d = deq(q);
    for (int t = 0; t < n_tok; t++)
        for (int o = 0; o < O; o++) {
            double mag = 0;
            for (int i = 0; i < I; i++)
                mag += fabs((double)x[(size_t)t * I + i] * d[(size_t)o * I + i]);
            double e = fabs((double)y[(size_t)t * O + o] - ref[(size_t)t * O + o]);
            double xq = quantizes_token(k, c, n_tok)
                            ? vnni_bound(c, q, d + (size_t)o * I, x + (size_t)t * I, o)
                            : 0;
            ck_assert_msg(e <= KERNEL_TOL * mag + xq + 1e-30,
                          "%s %s %dx%d g%d dq%d n_tok %d [%d,%d]: %g vs %g", k->isa,
                          ingot_dtype_name(c->type), O, I, c->group, c->dq, n_tok, t, o,
                          (double)y[(size_t)t * O + o], (double)ref[(size_t)t * O + o]);
        }
    /* rows split at odd places, as threads would, give the same bits; two
     * threads really run it when OpenMP is there */
    int cut = O / 3 + 1;
#pragma omp parallel for num_threads(2)
    for (int part = 0; part < 2; part++)
        fn(&q->w, x, n_tok, ys, part ? cut : 0, part ? O : cut);
    ck_assert_msg(memcmp(y, ys, ny * sizeof(float)) == 0, "%s %s n_tok %d: split rows differ",
                  k->isa, ingot_dtype_name(c->type), n_tok);
    free(d);
    free(ref);
    free(y);
    free(ys);
}

START_TEST(test_kernels_vs_ref)
{
    ingot_cpu_kernels tabs[MAX_TABS];
    int nt = kernel_tables(tabs);
    const kcase *c = &kcases[_i];
    float *w = malloc(sizeof(float) * (size_t)c->n_out * c->n_in);
    rng_seed(100 + (uint64_t)_i);
    for (int i = 0; i < c->n_out * c->n_in; i++)
        w[i] = rnd() * 0.05f;
    qt q;
    qt_ok(&q, c->type, w, c->n_out, c->n_in, c->group, c->dq);
    float *x = malloc(sizeof(float) * 64 * (size_t)c->n_in);
    for (int i = 0; i < 64 * c->n_in; i++)
        x[i] = rnd();
    for (int ti = 0; ti < nt; ti++)
        for (size_t j = 0; j < INGOT_ARRAY_LEN(ktoks); j++)
            check_kernel(&tabs[ti], c, &q, x, ktoks[j]);
    qt_free(&q);
    free(w);
    free(x);
}
END_TEST

START_TEST(test_kernels_edge_values)
{
    /* zero rows and blocks, subnormals and huge values stay finite through
     * every kernel */
    ingot_cpu_kernels tabs[MAX_TABS];
    int nt = kernel_tables(tabs);
    enum { O = 8, I = 256 };
    float w[O * I];
    for (int i = 0; i < O * I; i++) {
        int r = i / I;
        w[i] = r == 0 ? 0.0f : r == 1 ? 1e-40f * (float)(i % 7) : r == 2 ? 1e30f : 0.01f;
    }
    float x[4 * I], y[4 * O];
    for (int i = 0; i < 4 * I; i++)
        x[i] = (float)(i % 5) * 0.1f;
    const ingot_dtype types[5] = {INGOT_DT_Q8, INGOT_DT_NF4, INGOT_DT_Q4, INGOT_DT_Q5, INGOT_DT_Q6};
    for (int ti = 0; ti < 5; ti++) {
        qt q;
        qt_ok(&q, types[ti], w, O, I, 128, 0);
        for (int k = 0; k < nt; k++)
            for (int n_tok = 1; n_tok <= 4; n_tok += 3) {
                tabs[k].matmul[types[ti]](&q.w, x, n_tok, y, 0, O);
                assert_finite(y, (size_t)n_tok * O);
            }
        qt_free(&q);
    }
}
END_TEST

static Suite *quant_suite(void)
{
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, test_q8_known);
    tcase_add_test(tc, test_q8_edges);
    tcase_add_test(tc, test_nf4_codes_and_thresholds);
    tcase_add_test(tc, test_nf4_known_block);
    tcase_add_test(tc, test_nf4_edges);
    tcase_add_test(tc, test_dynamic_map);
    tcase_add_test(tc, test_nf4_double_quant);
    tcase_add_test(tc, test_format_table);
    tcase_add_test(tc, test_bind_found);
    tcase_add_test(tc, test_q4_known);
    tcase_add_test(tc, test_q4_edges);
    tcase_add_test(tc, test_q4_mse_search);
    tcase_add_test(tc, test_q4_weighted_search);
    tcase_add_test(tc, test_qb_known);
    tcase_add_test(tc, test_qb_bounds_and_search);
    tcase_add_test(tc, test_row_quantizers_match_spec);
    tcase_add_test(tc, test_nonfinite);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_round_trip_bounds);
    tcase_add_test(tc, test_thread_count_independent);
    suite_add_tcase(s, tc);
    TCase *tk = tcase_create("kernels");
    tcase_add_loop_test(tk, test_kernels_vs_ref, 0, (int)INGOT_ARRAY_LEN(kcases));
    tcase_add_test(tk, test_kernels_edge_values);
    suite_add_tcase(s, tk);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(quant_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
