/*
 * qmatmul_avx2dot.c - int8, nf4 and int4 decode with AVX2 integer dot
 * products (vpmaddubsw + vpmaddwd) over the token rounded to int8: the
 * scheme of qmatmul_vnni.c for CPUs without AVX-512 (Zen 2 and 3, Intel
 * client cores).  Prefill and shapes these loops do not cover go to the
 * exact f32 kernels of qmatmul_avx2.c.
 *
 * Why: expanding 4-bit codes into floats costs the f32 kernel more
 * instructions per byte than memory delivers bytes: on a Zen 2 core nf4
 * decodes at about 5 GB/s and int4 at 8, from cache or not.  vpmaddubsw
 * multiplies 32 u8 x s8 pairs into 16 int16 sums in one instruction, so
 * the token is quantized instead, exactly as the VNNI kernel does it:
 *
 *   x is cut into blocks of 32 inputs; block b gets d_b = max|x| / 127 and
 *   xq_k = round(x_k / d_b) in -127..127 (halves away from zero);
 *   int8: y_o = s_o * sum_b d_b sum_{k in b} q_ok xq_k;
 *   int4: y_o = sum_g s_og * (sum_b d_b sum_{k in b} q_ok xq_k - z_og X_g),
 *         X_g = sum_{k in g} x_k, summed in f32 from the unquantized x;
 *   nf4:  y_o = sum_blocks absmax * sum_b d_b / 127 sum_k c_ok xq_k with the
 *         code book rounded to c = round(127 v) (a byte table, vpshufb).
 *
 * vpmaddubsw wants one operand unsigned and saturates its int16 pair sums:
 * int4 codes (0..15) are the unsigned side (|pair| <= 2 * 15 * 127, two of
 * them still fit int16); for int8 and nf4 the token goes in as |xq| and its
 * sign moves onto the weight (vpsignb, exact; pair sums <= 2 * 127 * 127).
 *
 * Error against the reference: each output stays within
 * 0.5 * sum_k |w_k| d_b(k) (plus nf4's code book rounding, absmax / 254 per
 * weight); tests/test_quant.c checks that bound.  Each output depends only
 * on its row and the token: row splits over threads give the same bits.
 */
#include "config.h"

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/qkernels.h"
#include "formats/formats.h"

#define AI static inline __attribute__((always_inline))
#define DEC_MAX_TOK 3 /* as qmatmul_avx2.c: 4 tokens and more are prefill */
/*
 * Rows read at once, each from its own part of the thread's range: one
 * sequential stream per core leaves bandwidth unused on cores whose
 * prefetchers run only so far ahead of a stream (Zen 2 reads 15 GB/s with
 * one, 25 with six), and each token load serves every row.  4-bit: as many
 * as the registers hold; int8's lighter loop takes six.
 */
#define R 4
#define R8 6
/* Software prefetch, PF_DIST bytes ahead in each row stream: from memory the
 * hardware prefetcher alone leaves these kernels well short of their
 * in-cache speed. */
#define PF_DIST 8192

/* Step `step` reads 32 bytes of row p: one prefetch per 64-byte line. */
AI void prefetch_step(const void *p, int step)
{
    if (!(step & 1))
        _mm_prefetch((const char *)p + PF_DIST + (size_t)step * 32, _MM_HINT_T0);
}

/*
 * The quantized token.  Natural order for int8 (q, a = |q|); for the 4-bit
 * formats, whose bytes hold inputs 2i and 2i + 1, the even inputs (lo) and
 * the odd ones (hi) apart, so one 32-byte load of codes meets one load of
 * each.  dv: per 64 inputs, the d of each int32 lane after vpmaddwd (lane j
 * covers inputs 8j..8j+7: d of block 2m for lanes 0-3, of 2m + 1 for 4-7).
 */
typedef struct qtok {
    int8_t *q;          // (n): xq
    uint8_t *a;         // (n): |xq|
    int8_t *lo, *hi;    // (n/2) each: xq of even / odd inputs
    uint8_t *alo, *ahi; // (n/2) each: their absolute values
    float *d;           // (n/32): block steps
    float *dv;          // (n/64, 8)
    float *xg;          // int4: (n/64 + 8) sums of x per group, 0-padded
    float *sc;          // int4: (R, n/64 + 8) the rows' f32 group scales
    void *mem;
} qtok;

static int qtok_alloc(qtok *t, int n_in)
{
    size_t n = (size_t)n_in, ngp = n / 64 + 8;
    size_t bytes = 4 * n + n / 32 * 4 + n / 64 * 32 + (1 + R) * ngp * 4 + 64;
    t->mem = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!t->mem)
        return -1;
    t->q = t->mem;
    t->a = (uint8_t *)(t->q + n);
    t->lo = (int8_t *)(t->a + n);
    t->hi = t->lo + n / 2;
    t->alo = (uint8_t *)(t->hi + n / 2);
    t->ahi = t->alo + n / 2;
    t->d = (float *)(void *)(t->ahi + n / 2); /* 4n bytes in: still 4-aligned */
    t->dv = t->d + n / 32;
    t->xg = t->dv + n / 64 * 8;
    t->sc = t->xg + ngp;
    return 0;
}

AI __m256 abs_ps(__m256 v)
{
    return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

/* round(v / d) as roundf would (halves away from zero); 1/d overflows for
 * tiny d, so those blocks divide */
AI __m256i quant8(__m256 v, float d)
{
    if (d >= FLT_MIN * 128.0f)
        v = _mm256_mul_ps(v, _mm256_set1_ps(1.0f / d));
    else if (d > 0.0f)
        v = _mm256_div_ps(v, _mm256_set1_ps(d));
    else
        v = _mm256_setzero_ps();
    __m256i q = _mm256_cvttps_epi32(v);
    __m256 f = _mm256_sub_ps(v, _mm256_cvtepi32_ps(q));
    __m256i up = _mm256_castps_si256(_mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
    __m256i dn = _mm256_castps_si256(_mm256_cmp_ps(f, _mm256_set1_ps(-0.5f), _CMP_LE_OQ));
    return _mm256_add_epi32(_mm256_sub_epi32(q, up), dn); /* masks are -1 */
}

/* Block b: 32 inputs into q (natural order) and d. */
/* What a format's loop reads of the token: int8 the natural order and |xq|;
 * int4 the even/odd split; nf4 the split and its absolute values. */
enum tok_parts { TOK_INT8, TOK_SPLIT, TOK_SPLIT_ABS };

static void qtok_block(qtok *t, const float *x, int b, enum tok_parts parts)
{
    const float *xb = x + 32 * b;
    __m256 v[4], m = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(xb + 8 * i);
        m = _mm256_max_ps(m, abs_ps(v[i]));
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float d = _mm_cvtss_f32(h) / 127.0f;
    __m256i p01 = _mm256_packs_epi32(quant8(v[0], d), quant8(v[1], d));
    __m256i p23 = _mm256_packs_epi32(quant8(v[2], d), quant8(v[3], d));
    /* packs work per 128-bit lane: dwords come out as 0 4 1 5 2 6 3 7 */
    __m256i q = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23),
                                            _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(t->q + 32 * b), q);
    if (parts == TOK_INT8)
        _mm256_storeu_si256((__m256i *)(t->a + 32 * b), _mm256_abs_epi8(q));
    t->d[b] = d;
}

/* The whole token, the parts a format reads (the split ones need n_in a
 * multiple of 64). */
static void qtok_make(qtok *t, const float *x, int n_in, enum tok_parts parts)
{
    for (int b = 0; b < n_in / 32; b++)
        qtok_block(t, x, b, parts);
    if (parts == TOK_INT8)
        return;
    /* per 128-bit lane: even bytes to the low 8, odd ones to the high 8 */
    const __m256i eo = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2,
                                        4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    for (int m = 0; m < n_in / 64; m++)
        for (int h = 0; h < 2; h++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(t->q + 64 * m + 32 * h));
            v = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, eo), 0xd8); /* 0 2 1 3 */
            __m128i e = _mm256_castsi256_si128(v), o = _mm256_extracti128_si256(v, 1);
            _mm_storeu_si128((__m128i *)(t->lo + 32 * m + 16 * h), e);
            _mm_storeu_si128((__m128i *)(t->hi + 32 * m + 16 * h), o);
            if (parts != TOK_SPLIT_ABS)
                continue;
            _mm_storeu_si128((__m128i *)(t->alo + 32 * m + 16 * h), _mm_abs_epi8(e));
            _mm_storeu_si128((__m128i *)(t->ahi + 32 * m + 16 * h), _mm_abs_epi8(o));
        }
    for (int m = 0; m < n_in / 64; m++)
        _mm256_storeu_ps(t->dv + 8 * m,
                         _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(t->d[2 * m])),
                                              _mm_set1_ps(t->d[2 * m + 1]), 1));
}

/*
 * Lane sums in one fixed order, ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)),
 * whether a row is summed alone or four at once: a row's bits must not
 * depend on which pass of the thread's range it fell in.
 */
AI float hsum(__m256 v)
{
    __m256 t = _mm256_hadd_ps(v, v);
    t = _mm256_hadd_ps(t, t);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
}

/* y[r * stride] = hsum(a[r]) for nr rows; four of them with three vhaddps */
AI void store_sums(int nr, const __m256 *a, float *y, int stride)
{
    if (nr == 4) {
        float s[4];
        __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
        _mm_storeu_ps(s, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
        for (int r = 0; r < 4; r++)
            y[(size_t)r * (size_t)stride] = s[r];
        return;
    }
    for (int r = 0; r < nr; r++)
        y[(size_t)r * (size_t)stride] = hsum(a[r]);
}

/* 16 int16 pair sums into 8 int32 lanes */
AI __m256i pairs(__m256i s16)
{
    return _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
}

/*
 * Runs fn(nr, o, stride, ...) over [o0, o1) cut into n equal parts: rows
 * o, o + stride, ... (one per part) at once, then the remainder one by one.
 */
#define ROW_STREAMS(n, fn, ...)                                                                \
    do {                                                                                       \
        int part_ = (o1 - o0) / (n);                                                           \
        for (int i_ = 0; i_ < part_; i_++)                                                     \
            fn(n, o0 + i_, part_, __VA_ARGS__);                                                \
        for (int o_ = o0 + part_ * (n); o_ < o1; o_++)                                         \
            fn(1, o_, 0, __VA_ARGS__);                                                         \
    } while (0)

/* ---------------------------------------------------------------- int8 */

/* rows o + r * stride, r < nr */
AI void dec8_rows(int nr, int o, int stride, const ingot_wmat *w, const qtok *t, float *yt)
{
    const int n = w->n_in;
    const int8_t *q[R8]; // (n_in) each
    __m256 acc[R8];
    #pragma GCC unroll 6
    for (int r = 0; r < nr; r++) {
        q[r] = (const int8_t *)w->part[INGOT_Q8_QS] + (size_t)(o + r * stride) * (size_t)n;
        acc[r] = _mm256_setzero_ps();
    }
    for (int b = 0; b < n / 32; b++) {
        __m256i xa = _mm256_loadu_si256((const __m256i *)(t->a + 32 * b));
        __m256i xs = _mm256_loadu_si256((const __m256i *)(t->q + 32 * b));
        __m256 d = _mm256_broadcast_ss(t->d + b);
        #pragma GCC unroll 6
        for (int r = 0; r < nr; r++) {
            prefetch_step(q[r], b);
            __m256i wq = _mm256_loadu_si256((const __m256i *)(q[r] + 32 * b));
            __m256i s = pairs(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(wq, xs)));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, acc[r]);
        }
    }
    #pragma GCC unroll 6
    for (int r = 0; r < nr; r++) {
        size_t row = (size_t)(o + r * stride);
        yt[row] = hsum(acc[r]) * ((const float *)w->part[INGOT_Q8_SCALES])[row];
    }
}

void ingot_qmatmul_q8_avx2dot(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                              int o1)
{
    qtok t;
    if (n_tok > DEC_MAX_TOK || w->n_in % 32 || o0 >= o1 || qtok_alloc(&t, w->n_in) != 0) {
        ingot_qmatmul_q8_avx2(w, x, n_tok, y, o0, o1);
        return;
    }
    for (int tk = 0; tk < n_tok; tk++) {
        qtok_make(&t, x + (size_t)tk * (size_t)w->n_in, w->n_in, TOK_INT8);
        ROW_STREAMS(R8, dec8_rows, w, &t, y + (size_t)tk * (size_t)w->n_out);
    }
    free(t.mem);
}

/* ---------------------------------------------------------------- int4 */

/*
 * Row o's f32 group scales into sc (ng, zero-padded to 8) and
 * @return the lanes of sum_g s_g z_g X_g, the zero points' share, taken off
 * the row's accumulator before its final sum: vector work once per row,
 * not per group inside the dot product.
 */
AI __m256 row_groups(const ingot_wmat *w, int o, int ng, const float *xg, float *sc)
{
    /* (ng) each */
    const uint16_t *s16 = (const uint16_t *)w->part[INGOT_Q4_SCALES] + (size_t)o * (size_t)ng;
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS] + (size_t)o * (size_t)ng;
    __m256 corr = _mm256_setzero_ps();
    int g = 0;
    for (; g + 8 <= ng; g += 8) {
        __m256 sv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s16 + g)));
        __m256 zv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(zp + g))));
        _mm256_storeu_ps(sc + g, sv);
        corr = _mm256_fmadd_ps(_mm256_mul_ps(sv, zv), _mm256_loadu_ps(xg + g), corr);
    }
    if (g == ng)
        return corr;
    /* the tail as one more vector where reading 8 past it stays inside the
     * arrays (every row but the last few): lanes past ng are zeroed, and xg
     * is 0 there */
    if ((size_t)o * (size_t)ng + (size_t)g + 8 <= (size_t)w->n_out * (size_t)ng) {
        __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
            _mm256_set1_epi32(ng - g), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
        __m256 sv = _mm256_and_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s16 + g))), keep);
        __m256 zv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(zp + g))));
        _mm256_storeu_ps(sc + g, sv);
        return _mm256_fmadd_ps(_mm256_mul_ps(sv, zv), _mm256_loadu_ps(xg + g), corr);
    }
    float c[8] = {0};
    for (int i = 0; g + i < ng; i++) {
        sc[g + i] = _cvtsh_ss(s16[g + i]);
        c[i] = sc[g + i] * (float)zp[g + i] * xg[g + i];
    }
    return _mm256_add_ps(corr, _mm256_loadu_ps(c));
}

/* rows o + r * stride, r < nr */
AI void dec4_rows(int nr, int o, int stride, const ingot_wmat *w, const qtok *t, float *yt)
{
    const int n = w->n_in, rowbytes = n / 2, ng = n / w->group_size, ngp = n / 64 + 8;
    const int lpg = w->group_size / 64;                          // 32-byte loads per group
    const uint8_t *base = (const uint8_t *)w->part[INGOT_Q4_QS]; // (n_out, n_in/2)
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256 acc[R], corr[R];
    const uint8_t *rp[R]; // (n_in/2) each
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
        rp[r] = base + (size_t)(o + r * stride) * (size_t)rowbytes;
        acc[r] = _mm256_setzero_ps();
        corr[r] = row_groups(w, o + r * stride, ng, t->xg, t->sc + (size_t)r * (size_t)ngp);
    }
    for (int g = 0, m = 0; g < ng; g++) {
        __m256 ag[R];
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++)
            ag[r] = _mm256_setzero_ps();
        for (const int m_end = m + lpg; m < m_end; m++) {
            __m256i xl = _mm256_loadu_si256((const __m256i *)(t->lo + 32 * m));
            __m256i xh = _mm256_loadu_si256((const __m256i *)(t->hi + 32 * m));
            __m256 dv = _mm256_loadu_ps(t->dv + 8 * m);
            #pragma GCC unroll 4
            for (int r = 0; r < nr; r++) {
                prefetch_step(rp[r], m);
                __m256i v = _mm256_loadu_si256((const __m256i *)(rp[r] + 32 * m));
                __m256i ql = _mm256_and_si256(v, low);
                __m256i qh = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
                __m256i s = pairs(_mm256_add_epi16(_mm256_maddubs_epi16(ql, xl),
                                                   _mm256_maddubs_epi16(qh, xh)));
                ag[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dv, ag[r]);
            }
        }
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++)
            acc[r] = _mm256_fmadd_ps(ag[r], _mm256_broadcast_ss(t->sc + (size_t)r * (size_t)ngp + (size_t)g), acc[r]);
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
        acc[r] = _mm256_sub_ps(acc[r], corr[r]);
    store_sums(nr, acc, yt + o, stride);
}

/* f32 sums of x over each group (exact x: the zero points multiply them) */
static void group_sums(const float *x, int n_in, int gs, float *xg)
{
    int ng = n_in / gs;
    for (int g = 0; g < ng; g++) {
        __m256 s = _mm256_setzero_ps();
        for (int k = g * gs; k < (g + 1) * gs; k += 8)
            s = _mm256_add_ps(s, _mm256_loadu_ps(x + k));
        xg[g] = hsum(s);
    }
    for (int g = ng; g < ng + 8; g++)
        xg[g] = 0.0f;
}

void ingot_qmatmul_q4_avx2dot(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                              int o1)
{
    qtok t;
    if (n_tok > DEC_MAX_TOK || w->group_size <= 0 || w->group_size % 64 ||
        w->n_in % w->group_size || o0 >= o1 || qtok_alloc(&t, w->n_in) != 0) {
        ingot_qmatmul_q4_avx2(w, x, n_tok, y, o0, o1);
        return;
    }
    for (int tk = 0; tk < n_tok; tk++) {
        const float *xt = x + (size_t)tk * (size_t)w->n_in;
        qtok_make(&t, xt, w->n_in, TOK_SPLIT);
        group_sums(xt, w->n_in, w->group_size, t.xg);
        ROW_STREAMS(R, dec4_rows, w, &t, y + (size_t)tk * (size_t)w->n_out);
    }
    free(t.mem);
}

/* ---------------------------------------------------------------- nf4 */

/*
 * One 32-byte load is one absmax block of 64 weights; byte i holds input
 * 2i in its high nibble and 2i + 1 in its low one (bitsandbytes' order).
 * With double quantization, each row's absmax values are undone into
 * scratch first, exactly as the reference does (ingot_nf4_row_absmax).
 */
AI void decnf4_rows(int nr, int o, int stride, const ingot_wmat *w, const qtok *t, __m256i lut,
                    float *yt)
{
    const int n = w->n_in, rowbytes = n / 2, nb = n / 64;
    const uint8_t *base = (const uint8_t *)w->part[INGOT_NF4_QS]; // (n_out, n_in/2)
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256 acc[R];
    const float *am[R];   // (nb) per row: the stored f32 absmax, or undone double quant
    const uint8_t *rp[R]; // (n_in/2) each
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
        int row = o + r * stride;
        rp[r] = base + (size_t)row * (size_t)rowbytes;
        acc[r] = _mm256_setzero_ps();
        if (w->variant) {
            float *a = t->sc + (size_t)r * (size_t)(nb + 8);
            ingot_nf4_row_absmax(w, row, a);
            am[r] = a;
        } else {
            am[r] = (const float *)w->part[INGOT_NF4_ABSMAX] + (size_t)row * (size_t)nb;
        }
    }
    for (int m = 0; m < nb; m++) {
        __m256i xe = _mm256_loadu_si256((const __m256i *)(t->lo + 32 * m));
        __m256i xo = _mm256_loadu_si256((const __m256i *)(t->hi + 32 * m));
        __m256i ae = _mm256_loadu_si256((const __m256i *)(t->alo + 32 * m));
        __m256i ao = _mm256_loadu_si256((const __m256i *)(t->ahi + 32 * m));
        __m256 dv = _mm256_loadu_ps(t->dv + 8 * m);
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            prefetch_step(rp[r], m);
            __m256i v = _mm256_loadu_si256((const __m256i *)(rp[r] + 32 * m));
            __m256i we = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
            __m256i wo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));
            __m256i s = _mm256_add_epi32(pairs(_mm256_maddubs_epi16(ae, _mm256_sign_epi8(we, xe))),
                                         pairs(_mm256_maddubs_epi16(ao, _mm256_sign_epi8(wo, xo))));
            __m256 a = _mm256_broadcast_ss(am[r] + m);
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), dv), a, acc[r]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
        acc[r] = _mm256_mul_ps(acc[r], _mm256_set1_ps(1.0f / 127.0f));
    store_sums(nr, acc, yt + o, stride);
}

void ingot_qmatmul_nf4_avx2dot(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                               int o1)
{
    qtok t;
    if (n_tok > DEC_MAX_TOK || w->n_in % 64 || o0 >= o1 ||
        qtok_alloc(&t, w->n_in) != 0) {
        ingot_qmatmul_nf4_avx2(w, x, n_tok, y, o0, o1);
        return;
    }
    int8_t tab[16];
    for (int i = 0; i < 16; i++)
        tab[i] = (int8_t)lrintf(127.0f * ingot_nf4_code[i]);
    const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)tab));
    for (int tk = 0; tk < n_tok; tk++) {
        qtok_make(&t, x + (size_t)tk * (size_t)w->n_in, w->n_in, TOK_SPLIT_ABS);
        ROW_STREAMS(R, decnf4_rows, w, &t, lut, y + (size_t)tk * (size_t)w->n_out);
    }
    free(t.mem);
}
