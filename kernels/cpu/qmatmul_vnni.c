/*
 * qmatmul_vnni.c - int4 decode with AVX-512 VNNI integer dot products;
 * everything else (prefill, odd shapes) goes to qmatmul_avx512.c.
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
 *   y_o = sum_g s_og * (sum_b d_b sum_{k in b} q_ok xq_k - z_og X_g),
 *   X_g = sum_{k in g} x_k summed in f32 from the unquantized x.
 *
 * The only difference from the reference is the rounding of x: each output
 * stays within 0.5 * sum_k |w_k| d_b(k) of it (tests/test_quant.c checks
 * that bound).  Prefill keeps the exact f32 path, so perplexity runs
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
#include "quant/quant.h"

void ingot_qmatmul_q4_avx512(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                             int o1);
void ingot_qmatmul_q4_vnni(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                           int o1);

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
    void *mem;
} qtok;

static int qtok_alloc(qtok *t, int n_in)
{
    size_t n = (size_t)n_in, bytes = n + n / 128 * 64 + n / 128 * 4;
    t->mem = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!t->mem)
        return -1;
    t->lo = t->mem;
    t->hi = t->lo + n / 2;
    t->dv = (float *)(t->hi + n / 2);
    t->xsum = t->dv + n / 128 * 16;
    return 0;
}

/* One 128-chunk: 4 blocks of 32, each two 16-lane halves. */
static void qtok_chunk(qtok *t, const float *x, int c)
{
    const __m512i sign = _mm512_set1_epi32(0x7fffffff);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    __m512 sum = _mm512_setzero_ps();
    for (int b = 0; b < 4; b++) {
        const float *xb = x + c * 128 + b * 32;
        __m512 a = _mm512_loadu_ps(xb), bb = _mm512_loadu_ps(xb + 16);
        sum = _mm512_add_ps(sum, _mm512_add_ps(a, bb));
        __m512 m = _mm512_max_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), sign)),
                                 _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(bb), sign)));
        float d = _mm512_reduce_max_ps(m) / 127.0f;
        /* 1/d overflows for tiny d: those blocks take the division */
        __m512 lo = _mm512_permutex2var_ps(a, even, bb), hi = _mm512_permutex2var_ps(a, odd, bb);
        if (d >= FLT_MIN * 128.0f) {
            __m512 id = _mm512_set1_ps(1.0f / d);
            lo = _mm512_mul_ps(lo, id);
            hi = _mm512_mul_ps(hi, id);
        } else if (d > 0.0f) {
            lo = _mm512_div_ps(lo, _mm512_set1_ps(d));
            hi = _mm512_div_ps(hi, _mm512_set1_ps(d));
        } else {
            lo = hi = _mm512_setzero_ps();
        }
        /* round half away from zero, as roundf */
        __m512i ql = _mm512_cvt_roundps_epi32(lo, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m512i qh = _mm512_cvt_roundps_epi32(hi, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m512 fl = _mm512_sub_ps(lo, _mm512_cvtepi32_ps(ql)), fh = _mm512_sub_ps(hi, _mm512_cvtepi32_ps(qh));
        ql = _mm512_mask_add_epi32(ql, _mm512_cmp_ps_mask(fl, _mm512_set1_ps(0.5f), _CMP_GE_OQ), ql, _mm512_set1_epi32(1));
        ql = _mm512_mask_sub_epi32(ql, _mm512_cmp_ps_mask(fl, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), ql, _mm512_set1_epi32(1));
        qh = _mm512_mask_add_epi32(qh, _mm512_cmp_ps_mask(fh, _mm512_set1_ps(0.5f), _CMP_GE_OQ), qh, _mm512_set1_epi32(1));
        qh = _mm512_mask_sub_epi32(qh, _mm512_cmp_ps_mask(fh, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), qh, _mm512_set1_epi32(1));
        _mm_storeu_si128((__m128i *)(t->lo + c * 64 + b * 16), _mm512_cvtsepi32_epi8(ql));
        _mm_storeu_si128((__m128i *)(t->hi + c * 64 + b * 16), _mm512_cvtsepi32_epi8(qh));
        for (int j = 0; j < 4; j++)
            t->dv[c * 16 + b * 4 + j] = d;
    }
    t->xsum[c] = _mm512_reduce_add_ps(sum);
}

AI void dec4_rows(const ingot_wmat *w, int nr, int o, const qtok *t, float *out)
{
    const int n = w->n_in, rowbytes = n / 2, ng = n / w->group_size;
    const int cpg = w->group_size / 128;                // 128-chunks per group
    const uint8_t *base = (const uint8_t *)w->data;     // (n_out, n_in/2)
    const uint16_t *s16 = (const uint16_t *)w->scales; // (n_out, n_in/G)
    const uint8_t *zp = (const uint8_t *)w->zeros;      // (n_out, n_in/G)
    const __m512i low = _mm512_set1_epi8(0x0f);
    __m512 acc[R];
    float corr[R];
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
        acc[r] = _mm512_setzero_ps();
        corr[r] = 0.0f;
    }
    /* the group of rows is one contiguous stream: prefetch it linearly */
    const char *pf = (const char *)base + (size_t)o * (size_t)rowbytes + PF_DIST;
    for (int g = 0, c = 0; g < ng; g++) {
        __m512 sv[R];
        float xs = 0.0f;
        for (int cc = g * cpg; cc < (g + 1) * cpg; cc++)
            xs += t->xsum[cc];
        #pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            size_t gi = (size_t)(o + r) * (size_t)ng + (size_t)g;
            float s = _cvtsh_ss(s16[gi]);
            sv[r] = _mm512_set1_ps(s);
            corr[r] += s * (float)zp[gi] * xs;
        }
        for (int cc = 0; cc < cpg; cc++, c++) {
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
                acc[r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), dv), sv[r], acc[r]);
            }
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
        float *yt = y + (size_t)tk * (size_t)w->n_out;
        int o = o0;
        for (; o + R <= o1; o += R)
            dec4_rows(w, R, o, &t, yt + o);
        for (; o < o1; o++)
            dec4_rows(w, 1, o, &t, yt + o);
    }
    free(t.mem);
}
