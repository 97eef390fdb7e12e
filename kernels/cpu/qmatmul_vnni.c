/*
 * qmatmul_vnni.c - int8, nf4 and int4 decode with AVX-512 VNNI integer
 * dot products; everything else (prefill, double-quantized nf4, odd
 * shapes) goes to qmatmul_avx512.c.
 *
 * Why: the f32 kernel spends about 23 vector instructions per 128 weights
 * and row to expand 4-bit codes into floats (shift, table permute, FMA),
 * which holds 4-bit decode near 10 GB/s per Zen 4 core even from cache,
 * below what memory delivers.  vpdpbusd multiplies 64 u8 x s8 pairs and
 * sums them into 16 int32 lanes in one instruction, so the token is
 * quantized instead, as llama.cpp does (its q8_0):
 *
 *   x is cut into blocks of 32 inputs; block b gets d_b = max|x| / 127 and
 *   xq_k = round(x_k / d_b) in -127..127;
 *   int4: y_o = sum_g s_og * (sum_b d_b sum_{k in b} q_ok xq_k - z_og X_g),
 *         X_g = sum_{k in g} x_k summed in f32 from the unquantized x;
 *   int8: y_o = s_o * sum_b d_b sum_{k in b} q_ok xq_k;
 *   nf4:  below (its code book goes through a byte table).
 * From cache, one Zen 4 core: int4 22-36 GB/s (f32 kernel 10-12), nf4
 * 20-22 (10-12), int8 43-49 GB/s (26-30).
 *
 * The only difference from the reference is the rounding of x (and nf4's
 * code book): each output stays within 0.5 * sum_k |w_k| d_b(k) of it
 * (tests/test_quant.c checks that bound).  Prefill keeps the exact f32 path, so perplexity runs
 * (`ingot eval`) are unaffected.  Each output depends only on its row and
 * the token: row splits over threads give the same bits.
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
#define DEC_MAX_TOK 3 /* as qmatmul_avx512.c: 4 tokens and more are prefill */
#define R 4           /* rows per pass: the token's loads serve R rows */
#define PF_DIST 8192  /* bytes ahead of a row group that are prefetched */

/* The quantized token: for each 128-chunk, xq of inputs 2i (lo) and 2i+1
 * (hi), i = 0..63, matching the code bytes (low nibble first); dv: per
 * chunk, the d of each int32 lane (lane j covers inputs 8j..8j+7, block
 * j/4); xsum: per chunk, the f32 sum of x. */
typedef struct qtok {
    int8_t *lo, *hi; // (n_in/2) each
    float *dv;       // (n_in/128, 16)
    float *xsum;     // (n_in/128)
    float *xg;       // int4: (n_in/G + 16) sums of x per group, 0-padded
    float *sc;       // int4: (R, n_in/G + 16) scratch: the rows' f32 scales
    void *mem;
} qtok;

static int qtok_alloc(qtok *t, int n_in)
{
    size_t n = (size_t)n_in, ngp = n / 128 + 16;
    size_t bytes = n + n / 128 * 64 + n / 128 * 4 + (1 + R) * ngp * 4;
    t->mem = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!t->mem)
        return -1;
    t->lo = t->mem;
    t->hi = t->lo + n / 2;
    t->dv = (float *)(t->hi + n / 2);
    t->xsum = t->dv + n / 128 * 16;
    t->xg = t->xsum + n / 128;
    t->sc = t->xg + ngp;
    return 0;
}

/* max|x| / 127 over 32 floats a, b (16 each) */
AI float block_d(__m512 a, __m512 b)
{
    const __m512i sign = _mm512_set1_epi32(0x7fffffff);
    __m512 m = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), sign)),
                             _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(b), sign)));
    return _mm512_reduce_max_ps(m) / 127.0f;
}

/* round(v / d), halves away from zero as roundf; 1/d overflows for tiny d,
 * so those blocks divide */
AI __m512i quant16(__m512 v, float d)
{
    if (d >= FLT_MIN * 128.0f)
        v = _mm512_mul_ps(v, _mm512_set1_ps(1.0f / d));
    else if (d > 0.0f)
        v = _mm512_div_ps(v, _mm512_set1_ps(d));
    else
        v = _mm512_setzero_ps();
    __m512i q = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(v, _mm512_cvtepi32_ps(q));
    const __m512i one = _mm512_set1_epi32(1);
    q = _mm512_mask_add_epi32(q, _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ), q, one);
    return _mm512_mask_sub_epi32(q, _mm512_cmp_ps_mask(f, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), q, one);
}

/* One 128-chunk: 4 blocks of 32, each two 16-lane halves. */
static void qtok_chunk(qtok *t, const float *x, int c)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    __m512 sum = _mm512_setzero_ps();
    for (int b = 0; b < 4; b++) {
        const float *xb = x + c * 128 + b * 32;
        __m512 a = _mm512_loadu_ps(xb), bb = _mm512_loadu_ps(xb + 16);
        sum = _mm512_add_ps(sum, _mm512_add_ps(a, bb));
        float d = block_d(a, bb);
        __m512i ql = quant16(_mm512_permutex2var_ps(a, even, bb), d);
        __m512i qh = quant16(_mm512_permutex2var_ps(a, odd, bb), d);
        _mm_storeu_si128((__m128i *)(t->lo + c * 64 + b * 16), _mm512_cvtsepi32_epi8(ql));
        _mm_storeu_si128((__m128i *)(t->hi + c * 64 + b * 16), _mm512_cvtsepi32_epi8(qh));
        for (int j = 0; j < 4; j++)
            t->dv[c * 16 + b * 4 + j] = d;
    }
    t->xsum[c] = _mm512_reduce_add_ps(sum);
}

/*
 * Row o's f32 group scales into sc (ng, zero-padded to 16) and
 * @return sum_g s_g z_g X_g, the zero points' share: vector work once per
 * row, not scalar work per group in the dot-product loop.
 */
AI float row_groups(const ingot_wmat *w, int o, int ng, const float *xg, float *sc)
{
    /* (ng) each */
    const uint16_t *s16 = (const uint16_t *)w->part[INGOT_Q4_SCALES] + (size_t)o * (size_t)ng;
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS] + (size_t)o * (size_t)ng;
    __m512 corr = _mm512_setzero_ps();
    for (int g = 0; g < ng; g += 16) {
        __mmask16 m = ng - g >= 16 ? 0xffff : (__mmask16)((1u << (ng - g)) - 1);
        __m512 sv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, s16 + g));
        __m512 zv = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, zp + g)));
        _mm512_storeu_ps(sc + g, sv);
        corr = _mm512_fmadd_ps(_mm512_mul_ps(sv, zv), _mm512_maskz_loadu_ps(m, xg + g), corr);
    }
    return _mm512_reduce_add_ps(corr);
}

AI void dec4_rows(const ingot_wmat *w, int nr, int o, const qtok *t, float *out)
{
    const int n = w->n_in, rowbytes = n / 2, ng = n / w->group_size, ngp = n / 128 + 16;
    const int cpg = w->group_size / 128;                         // 128-chunks per group
    const uint8_t *base = (const uint8_t *)w->part[INGOT_Q4_QS]; // (n_out, n_in/2)
    const __m512i low = _mm512_set1_epi8(0x0f);
    __m512 acc[R];
    float corr[R];
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
        acc[r] = _mm512_setzero_ps();
        corr[r] = row_groups(w, o + r, ng, t->xg, t->sc + (size_t)r * (size_t)ngp);
    }
    /* the group of rows is one contiguous stream: prefetch it linearly */
    const char *pf = (const char *)base + (size_t)o * (size_t)rowbytes + PF_DIST;
    for (int c = 0; c < n / 128; c++) {
        const int g = c / cpg;
        __m512i xl = _mm512_loadu_si512(t->lo + 64 * c), xh = _mm512_loadu_si512(t->hi + 64 * c);
        __m512 dv = _mm512_loadu_ps(t->dv + 16 * c);
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            _mm_prefetch(pf + ((size_t)c * nr + (size_t)r) * 64, _MM_HINT_T0);
            __m512i v = _mm512_loadu_si512(base + (size_t)(o + r) * (size_t)rowbytes + 64 * c);
            __m512i ql = _mm512_and_si512(v, low);
            __m512i qh = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
            __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ql, xl);
            s = _mm512_dpbusd_epi32(s, qh, xh);
            __m512 sv = _mm512_set1_ps(t->sc[(size_t)r * (size_t)ngp + (size_t)g]);
            acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), dv), sv, acc[r]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
        out[r] = _mm512_reduce_add_ps(acc[r]) - corr[r];
}

void ingot_qmatmul_q4_vnni(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                           int o1)
{
    qtok t;
    if (n_tok > DEC_MAX_TOK || w->n_in % 128 || w->group_size <= 0 || w->group_size % 128 ||
        w->n_in % w->group_size || o0 >= o1 || qtok_alloc(&t, w->n_in) != 0) {
        ingot_qmatmul_q4_avx512(w, x, n_tok, y, o0, o1);
        return;
    }
    for (int tk = 0; tk < n_tok; tk++) {
        for (int c = 0; c < w->n_in / 128; c++)
            qtok_chunk(&t, x + (size_t)tk * (size_t)w->n_in, c);
        int ng = w->n_in / w->group_size, cpg = w->group_size / 128;
        for (int g = 0; g < ng + 16; g++) { /* per-group sums, padded for the vector loads */
            float xs = 0.0f;
            for (int c = g * cpg; g < ng && c < (g + 1) * cpg; c++)
                xs += t.xsum[c];
            t.xg[g] = xs;
        }
        float *yt = y + (size_t)tk * (size_t)w->n_out;
        int o = o0;
        for (; o + R <= o1; o += R)
            dec4_rows(w, R, o, &t, yt + o);
        for (; o < o1; o++)
            dec4_rows(w, 1, o, &t, yt + o);
    }
    free(t.mem);
}

/* ---------------------------------------------------------------- int8 */

/*
 * vpdpbusd wants an unsigned operand: |xq| (u8), with the sign of xq moved
 * onto the weight (exact: int8 weights are in -127..127).  Lane j of 64
 * inputs covers inputs 4j..4j+3, block j/8.
 */
typedef struct qtok8 {
    uint8_t *ab;   // (n_in): |xq|
    uint64_t *neg; // (n_in/64): bit i set when xq[64c + i] < 0
    float *dv;     // (n_in/64, 16)
    void *mem;
} qtok8;

static int qtok8_alloc(qtok8 *t, int n_in)
{
    size_t n = (size_t)n_in, bytes = n + n / 64 * 8 + n / 64 * 64;
    t->mem = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!t->mem)
        return -1;
    t->ab = t->mem;
    t->neg = (uint64_t *)(t->ab + n);
    t->dv = (float *)(t->neg + n / 64);
    return 0;
}

static void qtok8_make(qtok8 *t, const float *x, int n_in)
{
    for (int c = 0; c < n_in / 64; c++) {
        uint64_t neg = 0;
        for (int h = 0; h < 2; h++) { /* the two blocks of 32 */
            const float *xb = x + c * 64 + h * 32;
            __m512 a = _mm512_loadu_ps(xb), b = _mm512_loadu_ps(xb + 16);
            float d = block_d(a, b);
            __m512i qa = quant16(a, d), qb = quant16(b, d);
            neg |= (uint64_t)_mm512_cmplt_epi32_mask(qa, _mm512_setzero_si512()) << (32 * h);
            neg |= (uint64_t)_mm512_cmplt_epi32_mask(qb, _mm512_setzero_si512()) << (32 * h + 16);
            _mm_storeu_si128((__m128i *)(t->ab + c * 64 + h * 32), _mm512_cvtepi32_epi8(_mm512_abs_epi32(qa)));
            _mm_storeu_si128((__m128i *)(t->ab + c * 64 + h * 32 + 16),
                             _mm512_cvtepi32_epi8(_mm512_abs_epi32(qb)));
            for (int j = 0; j < 8; j++)
                t->dv[c * 16 + h * 8 + j] = d;
        }
        t->neg[c] = neg;
    }
}

AI void dec8_rows(const ingot_wmat *w, int nr, int o, const qtok8 *t, float *out)
{
    const int n = w->n_in;
    const int8_t *q = (const int8_t *)w->part[INGOT_Q8_QS]; // (n_out, n_in)
    __m512 acc[R];
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
        acc[r] = _mm512_setzero_ps();
    const char *pf = (const char *)q + (size_t)o * (size_t)n + PF_DIST;
    for (int c = 0; c < n / 64; c++) {
        __m512i xa = _mm512_loadu_si512(t->ab + 64 * c);
        __mmask64 neg = t->neg[c];
        __m512 dv = _mm512_loadu_ps(t->dv + 16 * c);
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            _mm_prefetch(pf + ((size_t)c * nr + (size_t)r) * 64, _MM_HINT_T0);
            __m512i wq = _mm512_loadu_si512(q + (size_t)(o + r) * (size_t)n + 64 * c);
            wq = _mm512_mask_sub_epi8(wq, neg, _mm512_setzero_si512(), wq);
            __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), xa, wq);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), dv, acc[r]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
        out[r] = _mm512_reduce_add_ps(acc[r]) * ((const float *)w->part[INGOT_Q8_SCALES])[o + r];
}

void ingot_qmatmul_q8_vnni(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                           int o1)
{
    qtok8 t;
    if (n_tok > DEC_MAX_TOK || w->n_in % 64 || o0 >= o1 || qtok8_alloc(&t, w->n_in) != 0) {
        ingot_qmatmul_q8_avx512(w, x, n_tok, y, o0, o1);
        return;
    }
    for (int tk = 0; tk < n_tok; tk++) {
        qtok8_make(&t, x + (size_t)tk * (size_t)w->n_in, w->n_in);
        float *yt = y + (size_t)tk * (size_t)w->n_out;
        int o = o0;
        for (; o + R <= o1; o += R)
            dec8_rows(w, R, o, &t, yt + o);
        for (; o < o1; o++)
            dec8_rows(w, 1, o, &t, yt + o);
    }
    free(t.mem);
}

/* ---------------------------------------------------------------- nf4 */

/*
 * nf4 codes index the code book through vpshufb (a 16-entry byte table per
 * 128-bit lane) holding round(127 v) + 128: unsigned, as vpdpbusd wants;
 * the + 128 comes off as 128 sum xq per lane.  So besides the token, the
 * code book is rounded: each weight moves by at most absmax / 254.  Byte i
 * of a chunk holds input 2i in its high nibble and 2i + 1 in its low one.
 * Without double quantization only (absmax as f32 per block of 64).
 */
AI void decnf4_rows(const ingot_wmat *w, int nr, int o, const qtok *t, const __m512i *xqs,
                    __m512i lut, float *out)
{
    const int n = w->n_in, rowbytes = n / 2, nb = n / 64;
    const uint8_t *base = (const uint8_t *)w->part[INGOT_NF4_QS]; // (n_out, n_in/2)
    const float *am = (const float *)w->part[INGOT_NF4_ABSMAX];   // (n_out, n_in/64)
    const __m512i low = _mm512_set1_epi8(0x0f);
    const __m512i half = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    __m512 acc[R];
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
        acc[r] = _mm512_setzero_ps();
    const char *pf = (const char *)base + (size_t)o * (size_t)rowbytes + PF_DIST;
    for (int c = 0; c < n / 128; c++) {
        __m512i xe = _mm512_loadu_si512(t->lo + 64 * c), xo = _mm512_loadu_si512(t->hi + 64 * c);
        __m512 dv = _mm512_mul_ps(_mm512_loadu_ps(t->dv + 16 * c), _mm512_set1_ps(1.0f / 127.0f));
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            _mm_prefetch(pf + ((size_t)c * nr + (size_t)r) * 64, _MM_HINT_T0);
            __m512i v = _mm512_loadu_si512(base + (size_t)(o + r) * (size_t)rowbytes + 64 * c);
            __m512i wo = _mm512_shuffle_epi8(lut, _mm512_and_si512(v, low));
            __m512i we = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
            __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), we, xe);
            s = _mm512_sub_epi32(_mm512_dpbusd_epi32(s, wo, xo), xqs[c]);
            const float *a = am + (size_t)(o + r) * (size_t)nb + 2 * c;
            __m512 sv = _mm512_permutexvar_ps(
                half, _mm512_castps128_ps512(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)a))));
            acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), dv), sv, acc[r]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++)
        out[r] = _mm512_reduce_add_ps(acc[r]);
}

void ingot_qmatmul_nf4_vnni(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                            int o1)
{
    qtok t;
    __m512i *xqs = NULL;
    if (n_tok > DEC_MAX_TOK || w->n_in % 128 || w->variant || o0 >= o1 ||
        !(xqs = aligned_alloc(64, (size_t)w->n_in / 128 * 64)) || qtok_alloc(&t, w->n_in) != 0) {
        free(xqs);
        ingot_qmatmul_nf4_avx512(w, x, n_tok, y, o0, o1);
        return;
    }
    int8_t tab[16];
    for (int i = 0; i < 16; i++)
        tab[i] = (int8_t)(uint8_t)(lrintf(127.0f * ingot_nf4_code[i]) + 128);
    const __m512i lut = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)tab));
    const __m512i ones = _mm512_set1_epi8(1);
    for (int tk = 0; tk < n_tok; tk++) {
        for (int c = 0; c < w->n_in / 128; c++) {
            qtok_chunk(&t, x + (size_t)tk * (size_t)w->n_in, c);
            /* 128 * (sum of xq over each lane's 8 inputs) */
            __m512i sxq = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(t.lo + 64 * c));
            sxq = _mm512_dpbusd_epi32(sxq, ones, _mm512_loadu_si512(t.hi + 64 * c));
            xqs[c] = _mm512_slli_epi32(sxq, 7);
        }
        float *yt = y + (size_t)tk * (size_t)w->n_out;
        int o = o0;
        for (; o + R <= o1; o += R)
            decnf4_rows(w, R, o, &t, xqs, lut, yt + o);
        for (; o < o1; o++)
            decnf4_rows(w, 1, o, &t, xqs, lut, yt + o);
    }
    free(xqs);
    free(t.mem);
}
