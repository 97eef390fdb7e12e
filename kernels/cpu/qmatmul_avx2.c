/*
 * qmatmul_avx2.c - int8 / nf4 / int4 matmul with AVX2 + FMA + F16C,
 * dequantizing inside the kernel.  The same scheme as qmatmul_avx512.c at 8
 * lanes (read that file's header first):
 *
 *   - 4-bit codes are read 32 bytes (8 dwords = 64 codes) at a time; vector m
 *     (dwords shifted right by 4m) holds codes 8j + m of the 64-chunk, and x
 *     is permuted into the same order once per call;
 *   - the 16-entry NF4 look-up is two vpermps on the low 3 bits blended on
 *     bit 3; int4 codes are simply converted (& 15, cvtdq2ps);
 *   - prefill panels are 16 rows (two vectors) x KC, micro-tile 6 tokens.
 */
#include "config.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/qkernels.h"
#include "formats/formats.h"

#define AI static inline __attribute__((always_inline))
/* The loops over rows, tokens and nibbles inside the hot kernels have small
 * constant trip counts; they are unrolled (#pragma GCC unroll) so that their
 * vector arrays live in registers. */
#define PREFILL_MIN_TOK 4
#define KC 256 /* panel depth: a multiple of 64 (one 4-bit chunk) */
#define NR 16  /* panel rows: two vectors of outputs */
#define MR 6   /* tokens per micro-tile */
#define DEC_R 4
/* Decode prefetch distance in bytes (see qmatmul_avx512.c): each step
 * prefetches as many lines as it consumes, PF_DIST bytes ahead. */
#define PF_DIST 8192

enum { FMT_Q8, FMT_NF4, FMT_Q4 };

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

/* Scratch of n floats, 64-byte aligned (C11 wants the size a multiple too). */
static float *alloc_f32(size_t n)
{
    return aligned_alloc(64, round_up(n * sizeof(float), 64));
}

static float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static __m256 halves(float lo, float hi)
{
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(lo)), _mm_set1_ps(hi), 1);
}

/* ---------------------------------------------------------------- scales */

typedef struct q4ctx {
    const ingot_wmat *w;
    int fmt;
    int n_in, rowbytes;
    const float *dmap; /* nf4 double quant: the dynamic map */
    __m256 lut_lo, lut_hi;
} q4ctx;

static q4ctx q4ctx_make(const ingot_wmat *w, int fmt)
{
    q4ctx c = {w, fmt, w->n_in, w->n_in / 2, NULL, _mm256_setzero_ps(), _mm256_setzero_ps()};
    if (fmt == FMT_NF4) {
        c.lut_lo = _mm256_loadu_ps(ingot_nf4_code);
        c.lut_hi = _mm256_loadu_ps(ingot_nf4_code + 8);
        c.dmap = w->variant ? ingot_dynamic_map() : NULL;
    }
    return c;
}

/* nf4 absmax of block b, as ingot_nf4_absmax (mul, round, add, round):
 * scales is absmax f32 (nb) or, with double quant, absmax_q u8 (nb), aux
 * absmax_absmax f32 (ceil(nb/256)) and zeros absmax_offset f32 (1). */
AI float nf4_am(const q4ctx *c, int64_t b)
{
    const ingot_wmat *w = c->w;
    if (!c->dmap)
        return ((const float *)w->part[INGOT_NF4_ABSMAX])[b];
    float v = c->dmap[((const uint8_t *)w->part[INGOT_NF4_ABSMAX_Q])[b]] *
              ((const float *)w->part[INGOT_NF4_ABSMAX_ABSMAX])[b >> 8];
    return v + *(const float *)w->part[INGOT_NF4_ABSMAX_OFFSET];
}

/* Scale and zero vectors of 64-chunk ch of row o: lanes 0-3 cover elements
 * 0-31, lanes 4-7 elements 32-63 (past the row end: 0). */
AI void chunk_scales(const q4ctx *c, int o, int ch, __m256 *sv, __m256 *zv)
{
    int k = ch * 64;
    if (c->fmt == FMT_NF4) {
        *sv = _mm256_set1_ps(nf4_am(c, (int64_t)o * (c->n_in / 64) + ch));
        return;
    }
    const ingot_wmat *w = c->w;
    int g = w->group_size, ng = c->n_in / g;
    /* (n_out, n_in/G) each */
    const uint16_t *sc = (const uint16_t *)w->part[INGOT_Q4_SCALES] + (int64_t)o * ng;
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS] + (int64_t)o * ng;
    if (g % 64 == 0) {
        *sv = _mm256_set1_ps(_cvtsh_ss(sc[k / g]));
        *zv = _mm256_set1_ps((float)zp[k / g]);
        return;
    }
    int k1 = k + 32, in1 = k1 < c->n_in;
    *sv = halves(_cvtsh_ss(sc[k / g]), in1 ? _cvtsh_ss(sc[k1 / g]) : 0.0f);
    *zv = halves((float)zp[k / g], in1 ? (float)zp[k1 / g] : 0.0f);
}

AI __m256i load_chunk(const uint8_t *row, int n_in, int ch)
{
    if (n_in - ch * 64 >= 64)
        return _mm256_loadu_si256((const __m256i *)(row + ch * 32));
    /* int4 rows end on a 32-code boundary: the last chunk can be half */
    return _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(row + ch * 32)));
}

/* Code m of each dword (nibble m) as f32: the NF4 value or the int4 code. */
AI __m256 code(const q4ctx *c, __m256i v, int m)
{
    __m256i idx = m ? _mm256_srli_epi32(v, 4 * m) : v;
    if (c->fmt == FMT_Q4)
        return _mm256_cvtepi32_ps(_mm256_and_si256(idx, _mm256_set1_epi32(15)));
    __m256 lo = _mm256_permutevar8x32_ps(c->lut_lo, idx);
    __m256 hi = _mm256_permutevar8x32_ps(c->lut_hi, idx);
    return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

/* xp[ch*64 + m*8 + j] = x[ch*64 + 8j + (m^flip)], 0 past n_in. */
static void permute_x(const float *x, int n_in, int flip, float *xp)
{
    int np = (int)round_up((size_t)n_in, 64);
    for (int ch = 0; ch < np; ch += 64)
        for (int m = 0; m < 8; m++)
            for (int j = 0; j < 8; j++) {
                int k = ch + 8 * j + (m ^ flip);
                xp[ch + m * 8 + j] = k < n_in ? x[k] : 0.0f;
            }
}

/* ---------------------------------------------------------------- decode */

AI void dec4_rows(const q4ctx *c, int R, int o, const float *xp, const float *xs, float *out)
{
    const uint8_t *base = (const uint8_t *)c->w->part[INGOT_Q4_QS]; // (n_out, n_in/2)
    __m256 acc[DEC_R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        acc[r] = _mm256_setzero_ps();
    int nch = (c->n_in + 63) / 64;
    for (int ch = 0; ch < nch; ch++) {
        __m256i v[DEC_R];
        __m256 t0[DEC_R], t1[DEC_R];
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            v[r] = load_chunk(base + (size_t)(o + r) * (size_t)c->rowbytes, c->n_in, ch);
            t0[r] = t1[r] = _mm256_setzero_ps();
        }
        /* an address, not a pointer: it may lie past the end of the rows
         * (prefetches never fault) */
        uintptr_t pf = (uintptr_t)base + (size_t)o * (size_t)c->rowbytes + PF_DIST +
                       (size_t)ch * 32 * R;
        #pragma GCC unroll 16
        for (int r = 0; r < R; r += 2)
            _mm_prefetch((const char *)(pf + 32 * r), _MM_HINT_T0);
        const float *xc = xp + ch * 64;
        #pragma GCC unroll 16
        for (int m = 0; m < 8; m += 2) {
            __m256 xa = _mm256_loadu_ps(xc + m * 8), xb = _mm256_loadu_ps(xc + m * 8 + 8);
            #pragma GCC unroll 16
            for (int r = 0; r < R; r++) {
                t0[r] = _mm256_fmadd_ps(code(c, v[r], m), xa, t0[r]);
                t1[r] = _mm256_fmadd_ps(code(c, v[r], m + 1), xb, t1[r]);
            }
        }
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            __m256 sv, zv = _mm256_setzero_ps(), t = _mm256_add_ps(t0[r], t1[r]);
            chunk_scales(c, o + r, ch, &sv, &zv);
            if (c->fmt == FMT_Q4)
                t = _mm256_fnmadd_ps(zv, _mm256_loadu_ps(xs + ch * 8), t);
            acc[r] = _mm256_fmadd_ps(t, sv, acc[r]);
        }
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        out[r] = hsum(acc[r]);
}

static void decode4(const q4ctx *c, const float *x, int n_tok, float *y, int n_out, int o0,
                    int o1, float *xp, float *xs)
{
    int np = (int)round_up((size_t)c->n_in, 64);
    for (int t = 0; t < n_tok; t++) {
        permute_x(x + (size_t)t * (size_t)c->n_in, c->n_in, c->fmt == FMT_NF4, xp);
        for (int ch = 0; ch < np; ch += 64)
            for (int j = 0; j < 8; j++) {
                float s = 0.0f;
                for (int m = 0; m < 8; m++)
                    s += xp[ch + m * 8 + j];
                xs[ch / 8 + j] = s;
            }
        float *yt = y + (size_t)t * (size_t)n_out;
        int o = o0;
        for (; o + DEC_R <= o1; o += DEC_R)
            dec4_rows(c, DEC_R, o, xp, xs, yt + o);
        for (; o < o1; o++)
            dec4_rows(c, 1, o, xp, xs, yt + o);
    }
}

AI __m256 load_q8(const int8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

AI void dec8_rows(const ingot_wmat *w, int R, int o, const float *x, float *out)
{
    const int n = w->n_in;
    const int8_t *q = (const int8_t *)w->part[INGOT_Q8_QS]; // (n_out, n_in)
    __m256 a0[DEC_R], a1[DEC_R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        a0[r] = a1[r] = _mm256_setzero_ps();
    int k = 0;
    /* an address past the rows is fine: prefetches never fault */
    uintptr_t pf = (uintptr_t)q + (size_t)o * (size_t)n + PF_DIST;
    for (; k + 16 <= n; k += 16) {
        if ((k & 63) == 0) { /* every 4 steps of 16 bytes: R lines */
            #pragma GCC unroll 16
            for (int r = 0; r < R; r++)
                _mm_prefetch((const char *)(pf + (size_t)k * R + 64 * r), _MM_HINT_T0);
        }
        __m256 xa = _mm256_loadu_ps(x + k), xb = _mm256_loadu_ps(x + k + 8);
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            const int8_t *p = q + (size_t)(o + r) * (size_t)n + k;
            a0[r] = _mm256_fmadd_ps(load_q8(p), xa, a0[r]);
            a1[r] = _mm256_fmadd_ps(load_q8(p + 8), xb, a1[r]);
        }
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
        const int8_t *p = q + (size_t)(o + r) * (size_t)n;
        float s = hsum(_mm256_add_ps(a0[r], a1[r]));
        for (int kk = k; kk < n; kk++)
            s += (float)p[kk] * x[kk];
        out[r] = s * ((const float *)w->part[INGOT_Q8_SCALES])[o + r];
    }
}

static void decode8(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0, int o1)
{
    for (int t = 0; t < n_tok; t++) {
        const float *xt = x + (size_t)t * (size_t)w->n_in;
        float *yt = y + (size_t)t * (size_t)w->n_out;
        int o = o0;
        for (; o + DEC_R <= o1; o += DEC_R)
            dec8_rows(w, DEC_R, o, xt, yt + o);
        for (; o < o1; o++)
            dec8_rows(w, 1, o, xt, yt + o);
    }
}

/* ---------------------------------------------------------------- prefill */

static inline void transpose8(__m256 r[8])
{
    __m256 t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    __m256 u[8];
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

static void deq_row(const ingot_wmat *w, const q4ctx *c, int fmt, int o, int k0, int kcp,
                    float *dst)
{
    if (fmt == FMT_Q8) {
        // (n_out, n_in)
        const int8_t *q = (const int8_t *)w->part[INGOT_Q8_QS] + (size_t)o * (size_t)w->n_in;
        float s = ((const float *)w->part[INGOT_Q8_SCALES])[o];
        __m256 sv = _mm256_set1_ps(s);
        int k = 0, kc = w->n_in - k0 < kcp ? w->n_in - k0 : kcp;
        for (; k + 8 <= kc; k += 8)
            _mm256_storeu_ps(dst + k, _mm256_mul_ps(load_q8(q + k0 + k), sv));
        for (; k < kcp; k++)
            dst[k] = k < kc ? (float)q[k0 + k] * s : 0.0f;
        return;
    }
    /* row o of data (n_out, n_in/2) */
    const uint8_t *row = (const uint8_t *)w->part[INGOT_Q4_QS] + (size_t)o * (size_t)c->rowbytes;
    for (int kk = 0; kk < kcp; kk += 64) {
        int ch = (k0 + kk) / 64;
        __m256i v = load_chunk(row, c->n_in, ch);
        __m256 sv, zv = _mm256_setzero_ps();
        chunk_scales(c, o, ch, &sv, &zv);
        for (int m = 0; m < 8; m++) {
            __m256 f = code(c, v, m);
            if (fmt == FMT_Q4)
                f = _mm256_sub_ps(f, zv);
            _mm256_storeu_ps(dst + kk + m * 8, _mm256_mul_ps(f, sv));
        }
    }
}

static void build_panel(const ingot_wmat *w, const q4ctx *c, int fmt, int o, int nr, int k0,
                        int kcp, float *tmp, float *wp)
{
    for (int h = 0; h < NR / 8; h++) {
        for (int r = 0; r < 8; r++) {
            int rr = h * 8 + r;
            if (rr < nr)
                deq_row(w, c, fmt, o + rr, k0, kcp, tmp + (size_t)r * kcp);
            else
                memset(tmp + (size_t)r * kcp, 0, (size_t)kcp * sizeof(float));
        }
        for (int kb = 0; kb < kcp; kb += 8) {
            __m256 v[8];
            for (int r = 0; r < 8; r++)
                v[r] = _mm256_loadu_ps(tmp + (size_t)r * kcp + kb);
            transpose8(v);
            for (int i = 0; i < 8; i++)
                _mm256_store_ps(wp + (size_t)(kb + i) * NR + h * 8, v[i]);
        }
    }
}

static int panel_src(int fmt, int k0, int kk, int n_in)
{
    int k;
    if (fmt == FMT_Q8) {
        k = k0 + kk;
    } else {
        int base = k0 + (kk & ~63), m = (kk >> 3) & 7, j = kk & 7;
        k = base + 8 * j + (m ^ (fmt == FMT_NF4));
    }
    return k < n_in ? k : -1;
}

static void pack_x(const float *x, int n_in, int fmt, int t0, int mr, int k0, int kcp, float *xb)
{
    for (int kk = 0; kk < kcp; kk++) {
        int k = panel_src(fmt, k0, kk, n_in);
        for (int i = 0; i < mr; i++)
            xb[(size_t)kk * mr + i] = k >= 0 ? x[(size_t)(t0 + i) * (size_t)n_in + k] : 0.0f;
    }
}

/* Lanes [0, n) of 8 as a maskload/maskstore mask. */
static __m256i lane_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AI void micro(int MRc, const float *xb, const float *wp, int kcp, float *y, size_t n_out, int nr,
              int first)
{
    __m256 a0[MR], a1[MR];
    #pragma GCC unroll 16
    for (int i = 0; i < MRc; i++)
        a0[i] = a1[i] = _mm256_setzero_ps();
    for (int kk = 0; kk < kcp; kk++) {
        __m256 w0 = _mm256_load_ps(wp + (size_t)kk * NR);
        __m256 w1 = _mm256_load_ps(wp + (size_t)kk * NR + 8);
        #pragma GCC unroll 16
        for (int i = 0; i < MRc; i++) {
            __m256 b = _mm256_broadcast_ss(xb + (size_t)kk * MRc + i);
            a0[i] = _mm256_fmadd_ps(w0, b, a0[i]);
            a1[i] = _mm256_fmadd_ps(w1, b, a1[i]);
        }
    }
    __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    #pragma GCC unroll 16
    for (int i = 0; i < MRc; i++) {
        float *yi = y + (size_t)i * n_out;
        if (!first) {
            a0[i] = _mm256_add_ps(_mm256_maskload_ps(yi, m0), a0[i]);
            a1[i] = _mm256_add_ps(_mm256_maskload_ps(yi + 8, m1), a1[i]);
        }
        _mm256_maskstore_ps(yi, m0, a0[i]);
        _mm256_maskstore_ps(yi + 8, m1, a1[i]);
    }
}

static int block_len(int left)
{
    return left >= MR ? MR : left >= 2 ? 2 : 1;
}

static void prefill(const ingot_wmat *w, const q4ctx *c, int fmt, const float *x, int n_tok,
                    float *y, int o0, int o1, float *wp, float *tmp, float *xpk)
{
    const int n_in = w->n_in, step = fmt == FMT_Q8 ? 8 : 64;
    const size_t n_out = (size_t)w->n_out;
    for (int k0 = 0; k0 < n_in; k0 += KC) {
        int kc = n_in - k0 < KC ? n_in - k0 : KC, kcp = (int)round_up((size_t)kc, step);
        for (int t0 = 0, len; t0 < n_tok; t0 += len) {
            len = block_len(n_tok - t0);
            pack_x(x, n_in, fmt, t0, len, k0, kcp, xpk + (size_t)t0 * kcp);
        }
        for (int o = o0; o < o1; o += NR) {
            int nr = o1 - o < NR ? o1 - o : NR;
            build_panel(w, c, fmt, o, nr, k0, kcp, tmp, wp);
            for (int t0 = 0, len; t0 < n_tok; t0 += len) {
                len = block_len(n_tok - t0);
                const float *xb = xpk + (size_t)t0 * kcp;
                float *yb = y + (size_t)t0 * n_out + o;
                if (len == MR)
                    micro(MR, xb, wp, kcp, yb, n_out, nr, k0 == 0);
                else if (len == 2)
                    micro(2, xb, wp, kcp, yb, n_out, nr, k0 == 0);
                else
                    micro(1, xb, wp, kcp, yb, n_out, nr, k0 == 0);
            }
        }
    }
}

/* ---------------------------------------------------------------- entry points */

static void qmatmul(int fmt, const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                    int o1)
{
    if (o0 >= o1 || n_tok <= 0)
        return;
    q4ctx c = q4ctx_make(w, fmt);
    if (n_tok < PREFILL_MIN_TOK && fmt == FMT_Q8) {
        decode8(w, x, n_tok, y, o0, o1);
        return;
    }
    int ok;
    if (n_tok < PREFILL_MIN_TOK) {
        size_t np = round_up((size_t)w->n_in, 64);
        float *xp = alloc_f32(np + np / 8);
        if ((ok = xp != NULL))
            decode4(&c, x, n_tok, y, w->n_out, o0, o1, xp, xp + np);
        free(xp);
    } else {
        float *wp = alloc_f32((size_t)KC * NR);
        float *tmp = alloc_f32((size_t)8 * KC);
        float *xpk = alloc_f32((size_t)n_tok * KC);
        if ((ok = wp && tmp && xpk))
            prefill(w, &c, fmt, x, n_tok, y, o0, o1, wp, tmp, xpk);
        free(wp);
        free(tmp);
        free(xpk);
    }
    if (!ok) /* out of memory for the scratch: the reference needs none */
        ingot_qmatmul_ref(w, x, n_tok, y, o0, o1);
}

void ingot_qmatmul_q8_avx2(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                           int o1)
{
    qmatmul(FMT_Q8, w, x, n_tok, y, o0, o1);
}

void ingot_qmatmul_nf4_avx2(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                            int o1)
{
    qmatmul(FMT_NF4, w, x, n_tok, y, o0, o1);
}

void ingot_qmatmul_q4_avx2(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                           int o1)
{
    qmatmul(FMT_Q4, w, x, n_tok, y, o0, o1);
}
