/*
 * qmatmul_avx512.c - int8 / nf4 / int4 matmul with AVX-512 (F, BW, VL) +
 * F16C, dequantizing inside the kernel.  y(n_tok, n_out) = x · W^T, rows
 * [o0, o1).
 *
 * 4-bit codes are read 64 bytes (one zmm = 16 dwords = 128 codes) at a time.
 * vpermps looks a code up with the low 4 bits of each dword, so shifting the
 * dwords right by 4m (m = 0..7) and permuting the 16-entry table (the NF4
 * code book, or 0..15 for int4) gives 8 vectors, vector m holding codes
 * 8j + m (j = lane) of the 128-chunk: no byte unpacking at all.  x is
 * permuted once per call into the same order ("xp"), so dot products need
 * no shuffles.  For nf4 (first element in the high nibble) nibble m holds
 * element m ^ 1.
 *
 * Decode (n_tok < PREFILL_MIN_TOK) streams 4 rows at a time, one f32
 * accumulator chain per row, and scales per block (nf4) / per group (int4):
 *   nf4:  sum_b absmax_b * sum_k code_k x_k
 *   int4: sum_g s_g * sum_k (q_k - z_g) x_k      (table entries i - z_g)
 * (int4 groups smaller than a 128-chunk use sum_k q_k x_k - z_g sum_k x_k.)
 * The rows' scales are converted to f32 once per row, and the stream of rows
 * is software-prefetched (see PF_DIST).
 * Prefill dequantizes a panel of 32 rows x KC inputs (exactly the reference
 * values) into a transposed f32 panel and runs a 12-token x 32-row
 * register-blocked FMA micro-kernel over all tokens.  Each output's
 * arithmetic depends only on n_tok (decode or prefill) and never on the row
 * range or token blocking, so any split over threads gives the same bits.
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
#define KC 256 /* panel depth: a multiple of 128 (one 4-bit chunk) */
#define NR 32  /* panel rows: two vectors of outputs */
#define MR 12  /* tokens per micro-tile */
#define DEC_R 4
/* Decode prefetch distance in bytes.  The rows of a decode call are one
 * contiguous stream, but read as DEC_R interleaved streams of only a few
 * cache lines each: too short for the hardware prefetchers to lock on, so
 * each step also prefetches, PF_DIST bytes ahead of the group's start, as
 * many lines as the step consumes. */
#ifndef PF_DIST
#define PF_DIST 8192
#endif

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

/* ---------------------------------------------------------------- scales */

/* Per-call constants of a 4-bit weight. */
typedef struct q4ctx {
    const ingot_wmat *w;
    int fmt;
    int n_in, rowbytes;
    const float *dmap; /* nf4 double quant: the dynamic map */
    __m512 lut;
} q4ctx;

static q4ctx q4ctx_make(const ingot_wmat *w, int fmt)
{
    q4ctx c = {w, fmt, w->n_in, w->n_in / 2, NULL, _mm512_setzero_ps()};
    if (fmt == FMT_NF4) {
        c.lut = _mm512_loadu_ps(ingot_nf4_code);
        c.dmap = w->variant ? ingot_dynamic_map() : NULL;
    } else {
        c.lut = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
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

/*
 * Scale and zero vectors of 128-chunk ch of row o: lane j covers elements
 * 8j..8j+7, so lanes 0-7 / 8-15 are the two nf4 blocks and lanes 4q..4q+3 the
 * int4 group of element 32q.  Lanes past the row end get 0.
 */
AI void chunk_scales(const q4ctx *c, int o, int ch, __m512 *sv, __m512 *zv)
{
    int k = ch * 128, rem = c->n_in - k;
    if (c->fmt == FMT_NF4) {
        int64_t b = (int64_t)o * (c->n_in / 64) + k / 64;
        float a0 = nf4_am(c, b), a1 = rem > 64 ? nf4_am(c, b + 1) : 0.0f;
        *sv = _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(a0), _mm512_set1_ps(a1));
        return;
    }
    const ingot_wmat *w = c->w;
    int g = w->group_size, ng = c->n_in / g;
    /* (n_out, n_in/G) each */
    const uint16_t *sc = (const uint16_t *)w->part[INGOT_Q4_SCALES] + (int64_t)o * ng;
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS] + (int64_t)o * ng;
    if (g % 128 == 0) {
        *sv = _mm512_set1_ps(_cvtsh_ss(sc[k / g]));
        *zv = _mm512_set1_ps((float)zp[k / g]);
        return;
    }
    float s[4], z[4];
    for (int q = 0; q < 4; q++) {
        int kq = k + 32 * q;
        s[q] = kq < c->n_in ? _cvtsh_ss(sc[kq / g]) : 0.0f;
        z[q] = kq < c->n_in ? (float)zp[kq / g] : 0.0f;
    }
    const __m512i quarter = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    *sv = _mm512_permutexvar_ps(quarter, _mm512_castps128_ps512(_mm_loadu_ps(s)));
    *zv = _mm512_permutexvar_ps(quarter, _mm512_castps128_ps512(_mm_loadu_ps(z)));
}

/* Loads 128-chunk ch of a row's codes; dwords past the row end are 0. */
AI __m512i load_chunk(const uint8_t *row, int n_in, int ch)
{
    int rem = n_in - ch * 128;
    __mmask16 m = rem >= 128 ? 0xffff : (__mmask16)((1u << (rem / 8)) - 1);
    return _mm512_maskz_loadu_epi32(m, row + ch * 64);
}

AI __m512i nib(__m512i v, int m)
{
    return m ? _mm512_srli_epi32(v, 4 * m) : v;
}

/* Permutes x (n_in) into chunk order: xp[ch*128 + m*16 + j] = x[ch*128 + 8j + (m^flip)];
 * positions past n_in are 0.  xp has round_up(n_in, 128) entries. */
static void permute_x(const float *x, int n_in, int flip, float *xp)
{
    int np = (int)round_up((size_t)n_in, 128);
    for (int ch = 0; ch < np; ch += 128)
        for (int m = 0; m < 8; m++)
            for (int j = 0; j < 16; j++) {
                int k = ch + 8 * j + (m ^ flip);
                xp[ch + m * 16 + j] = k < n_in ? x[k] : 0.0f;
            }
}

/* ---------------------------------------------------------------- decode */

/* map[q] for 16 indices: 8 two-table permutes over the 256 entries, then a
 * blend tree on index bits 5, 6 and 7 (AVX-512 gathers are slower on Zen 4). */
AI __m512 map256(const float *map, __m512i qi)
{
    __m512 p[8];
    #pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        p[i] = _mm512_permutex2var_ps(_mm512_loadu_ps(map + 32 * i), qi,
                                      _mm512_loadu_ps(map + 32 * i + 16));
    #pragma GCC unroll 3
    for (int bit = 32, n = 8; bit <= 128; bit *= 2, n /= 2) {
        __mmask16 sel = _mm512_test_epi32_mask(qi, _mm512_set1_epi32(bit));
        #pragma GCC unroll 4
        for (int i = 0; i < n / 2; i++)
            p[i] = _mm512_mask_blend_ps(sel, p[2 * i], p[2 * i + 1]);
    }
    return p[0];
}

/* nf4 double quant: absmax of blocks [b, b+16) (lanes in m), computed as
 * nf4_am does: map[q] * absmax2, rounded, + offset, rounded. */
static inline __m512 dq_absmax16(const q4ctx *c, int64_t b, __mmask16 m)
{
    const ingot_wmat *w = c->w;
    const uint8_t *q = (const uint8_t *)w->part[INGOT_NF4_ABSMAX_Q];   // (nb)
    const float *aa = (const float *)w->part[INGOT_NF4_ABSMAX_ABSMAX]; // (ceil(nb/256))
    __m512 mv = map256(c->dmap, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, q + b)));
    /* the 16 blocks span at most two absmax2 entries */
    int first = 256 - (int)(b & 255);
    __m512 av = _mm512_set1_ps(aa[b >> 8]);
    if (first < 16 && (m >> first))
        av = _mm512_mask_blend_ps((__mmask16)(0xffffu << first), av,
                                  _mm512_set1_ps(aa[(b >> 8) + 1]));
    return _mm512_add_ps(_mm512_mul_ps(mv, av),
                         _mm512_set1_ps(*(const float *)w->part[INGOT_NF4_ABSMAX_OFFSET]));
}

/*
 * Per-row scales for decode, converted once per row instead of once per
 * chunk: nf4 absmax (double quant undone) and, for int4 groups that are
 * whole 128-chunks, f32 scales and zeros.  sc holds 2 * (n_in/64 + 1) floats.
 */
typedef struct rowsc {
    const float *am;     /* nf4: absmax of the row's blocks */
    const float *s, *z;  /* int4 fast path: scale and zero of each group */
} rowsc;

static rowsc row_scales(const q4ctx *c, int o, float *sc)
{
    const ingot_wmat *w = c->w;
    rowsc r = {NULL, NULL, NULL};
    if (c->fmt == FMT_NF4) {
        int nb = c->n_in / 64;
        if (!c->dmap) {
            r.am = (const float *)w->part[INGOT_NF4_ABSMAX] + (int64_t)o * nb; // (n_out*n_in/64)
            return r;
        }
        int64_t b0 = (int64_t)o * nb;
        for (int b = 0; b < nb; b += 16) {
            __mmask16 m = nb - b >= 16 ? 0xffff : (__mmask16)((1u << (nb - b)) - 1);
            _mm512_mask_storeu_ps(sc + b, m, dq_absmax16(c, b0 + b, m));
        }
        r.am = sc;
        return r;
    }
    int g = w->group_size, ng = c->n_in / g;
    if (g % 128)
        return r; /* groups inside a chunk: chunk_scales per chunk */
    /* (n_out, n_in/G) each */
    const uint16_t *s16 = (const uint16_t *)w->part[INGOT_Q4_SCALES] + (int64_t)o * ng;
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS] + (int64_t)o * ng;
    for (int j = 0; j < ng; j += 16) {
        __mmask16 m = ng - j >= 16 ? 0xffff : (__mmask16)((1u << (ng - j)) - 1);
        __m512 sv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, s16 + j));
        __m512 zv = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, zp + j)));
        _mm512_mask_storeu_ps(sc + j, m, sv);
        _mm512_mask_storeu_ps(sc + ng + j, m, zv);
    }
    r.s = sc;
    r.z = sc + ng;
    return r;
}

/* R rows o.. of a 4-bit weight against one permuted token xp; xs (int4,
 * generic groups): per-lane sums of xp over m.  Each row's arithmetic is
 * independent of R. */
AI void dec4_rows(const q4ctx *c, int R, int o, const float *xp, const float *xs, float *sc,
                  float *out)
{
    const uint8_t *base = (const uint8_t *)c->w->part[INGOT_Q4_QS]; // (n_out, n_in/2)
    const int nb = c->n_in / 64, g = c->w->group_size;
    const int fast_q4 = c->fmt == FMT_Q4 && g % 128 == 0;
    const __m512 ident = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 acc[DEC_R];
    rowsc rs[DEC_R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
        acc[r] = _mm512_setzero_ps();
        rs[r] = row_scales(c, o + r, sc + (size_t)r * (size_t)(2 * nb + 2));
    }
    int nch = (c->n_in + 127) / 128;
    /* int4 fast path: group gi of chunk ch, kept without a division */
    const int cpg = fast_q4 ? g / 128 : 1;
    for (int ch = 0, gi = 0, left = cpg; ch < nch; ch++) {
        __m512i v[DEC_R];
        __m512 t[DEC_R], lut[DEC_R];
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            v[r] = load_chunk(base + (size_t)(o + r) * (size_t)c->rowbytes, c->n_in, ch);
            t[r] = _mm512_setzero_ps();
            /* int4 with whole-chunk groups: the zero folds into the table,
             * lut[i] = i - z, so t sums (q - z) x exactly like the reference */
            lut[r] = fast_q4 ? _mm512_sub_ps(ident, _mm512_set1_ps(rs[r].z[gi])) : c->lut;
        }
        /* an address, not a pointer: it may lie past the end of the rows
         * (prefetches never fault) */
        uintptr_t pf = (uintptr_t)base + (size_t)o * (size_t)c->rowbytes + PF_DIST +
                       (size_t)ch * 64 * R;
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++)
            _mm_prefetch((const char *)(pf + 64 * r), _MM_HINT_T0);
        const float *xc = xp + ch * 128;
        #pragma GCC unroll 16
        for (int m = 0; m < 8; m += 2) {
            __m512 xa = _mm512_loadu_ps(xc + m * 16), xb = _mm512_loadu_ps(xc + m * 16 + 16);
            #pragma GCC unroll 16
            for (int r = 0; r < R; r++) {
                /* one chain per row: DEC_R chains already hide the FMA
                 * latency, and a second would cost an add per chunk */
                t[r] = _mm512_fmadd_ps(_mm512_permutexvar_ps(nib(v[r], m), lut[r]), xa, t[r]);
                t[r] = _mm512_fmadd_ps(_mm512_permutexvar_ps(nib(v[r], m + 1), lut[r]), xb, t[r]);
            }
        }
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            __m512 sv, zv = _mm512_setzero_ps(), tr = t[r];
            if (c->fmt == FMT_NF4) {
                /* absmax of the chunk's two blocks into lanes 0-7 and 8-15 */
                const __m512i half =
                    _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
                const float *a = rs[r].am + 2 * ch;
                __m128 pair = 2 * ch + 1 < nb
                                  ? _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)a))
                                  : _mm_load_ss(a);
                sv = _mm512_permutexvar_ps(half, _mm512_castps128_ps512(pair));
            } else if (fast_q4) {
                sv = _mm512_set1_ps(rs[r].s[gi]);
            } else {
                chunk_scales(c, o + r, ch, &sv, &zv);
                tr = _mm512_fnmadd_ps(zv, _mm512_loadu_ps(xs + ch * 16), tr);
            }
            acc[r] = _mm512_fmadd_ps(tr, sv, acc[r]);
        }
        if (--left == 0) {
            gi++;
            left = cpg;
        }
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        out[r] = _mm512_reduce_add_ps(acc[r]);
}

static void decode4(const q4ctx *c, const float *x, int n_tok, float *y, int n_out, int o0,
                    int o1, float *xp, float *xs, float *sc)
{
    int np = (int)round_up((size_t)c->n_in, 128);
    for (int t = 0; t < n_tok; t++) {
        permute_x(x + (size_t)t * (size_t)c->n_in, c->n_in, c->fmt == FMT_NF4, xp);
        /* lane sums of x: only int4 groups smaller than a chunk use them */
        for (int ch = 0; c->fmt == FMT_Q4 && c->w->group_size % 128 && ch < np; ch += 128)
            for (int j = 0; j < 16; j++) {
                float s = 0.0f;
                for (int m = 0; m < 8; m++)
                    s += xp[ch + m * 16 + j];
                xs[ch / 8 + j] = s;
            }
        float *yt = y + (size_t)t * (size_t)n_out;
        int o = o0;
        for (; o + DEC_R <= o1; o += DEC_R)
            dec4_rows(c, DEC_R, o, xp, xs, sc, yt + o);
        for (; o < o1; o++)
            dec4_rows(c, 1, o, xp, xs, sc, yt + o);
    }
}

/* R int8 rows o.. against token x: two accumulator chains per row. */
AI void dec8_rows(const ingot_wmat *w, int R, int o, const float *x, float *out)
{
    const int n = w->n_in;
    const int8_t *q = (const int8_t *)w->part[INGOT_Q8_QS]; // (n_out, n_in)
    __m512 a0[DEC_R], a1[DEC_R];
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        a0[r] = a1[r] = _mm512_setzero_ps();
    int k = 0;
    /* an address past the rows is fine: prefetches never fault */
    uintptr_t pf = (uintptr_t)q + (size_t)o * (size_t)n + PF_DIST;
    for (; k + 32 <= n; k += 32) {
        /* 32 bytes of each of R rows per step: R/2 lines of the group ahead */
        #pragma GCC unroll 16
        for (int r = 0; r < R; r += 2)
            _mm_prefetch((const char *)(pf + (size_t)k * R + 64 * (r / 2)), _MM_HINT_T0);
        __m512 xa = _mm512_loadu_ps(x + k), xb = _mm512_loadu_ps(x + k + 16);
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            const int8_t *p = q + (size_t)(o + r) * (size_t)n + k;
            __m512 fa = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const void *)p)));
            __m512 fb = _mm512_cvtepi32_ps(
                _mm512_cvtepi8_epi32(_mm_loadu_si128((const void *)(p + 16))));
            a0[r] = _mm512_fmadd_ps(fa, xa, a0[r]);
            a1[r] = _mm512_fmadd_ps(fb, xb, a1[r]);
        }
    }
    for (; k < n; k += 16) {
        __mmask16 m = n - k >= 16 ? 0xffff : (__mmask16)((1u << (n - k)) - 1);
        __m512 xa = _mm512_maskz_loadu_ps(m, x + k);
        #pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            const int8_t *p = q + (size_t)(o + r) * (size_t)n + k;
            __m512 fa = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
            a0[r] = _mm512_fmadd_ps(fa, xa, a0[r]);
        }
    }
    #pragma GCC unroll 16
    for (int r = 0; r < R; r++)
        out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r])) *
                 ((const float *)w->part[INGOT_Q8_SCALES])[o + r];
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

/* In-register transpose of 16 rows of 16 floats. */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 2]);
        __m512d c = _mm512_castps_pd(t[i + 1]), d = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    /* r[4a + b] now holds, in 128-bit lane L, rows 4a..4a+3 of column 4L + b */
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* Dequantizes row o, panel positions [0, kcp) of the chunk at k0, into dst
 * (reference values; 4-bit in chunk order, int8 in natural order). */
static void deq_row(const ingot_wmat *w, const q4ctx *c, int fmt, int o, int k0, int kcp,
                    float *dst)
{
    if (fmt == FMT_Q8) {
        // (n_out, n_in)
        const int8_t *q = (const int8_t *)w->part[INGOT_Q8_QS] + (size_t)o * (size_t)w->n_in;
        __m512 s = _mm512_set1_ps(((const float *)w->part[INGOT_Q8_SCALES])[o]);
        for (int k = 0; k < kcp; k += 16) {
            int rem = w->n_in - (k0 + k);
            __mmask16 m = rem >= 16 ? 0xffff : rem > 0 ? (__mmask16)((1u << rem) - 1) : 0;
            __m512i qi = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, q + k0 + k));
            __m512 f = _mm512_cvtepi32_ps(qi);
            _mm512_storeu_ps(dst + k, _mm512_mul_ps(f, s));
        }
        return;
    }
    /* row o of data (n_out, n_in/2) */
    const uint8_t *row = (const uint8_t *)w->part[INGOT_Q4_QS] + (size_t)o * (size_t)c->rowbytes;
    /* int4 groups of whole chunks: group gi of the chunk by a counter (an
     * integer division per chunk would cost more than the chunk) */
    const int g = w->group_size, whole = fmt == FMT_Q4 && g % 128 == 0;
    const int cpg = whole ? g / 128 : 1, ch0 = k0 / 128;
    const uint16_t *s16 = (const uint16_t *)w->part[INGOT_Q4_SCALES]; // (n_out, n_in/G)
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS];     // (n_out, n_in/G)
    int64_t gi = whole ? (int64_t)o * (c->n_in / g) + ch0 / cpg : 0;
    int left = cpg - ch0 % cpg;
    for (int kk = 0; kk < kcp; kk += 128) {
        int ch = (k0 + kk) / 128;
        __m512i v = load_chunk(row, c->n_in, ch);
        __m512 sv, zv = _mm512_setzero_ps();
        if (whole) {
            sv = _mm512_set1_ps(_cvtsh_ss(s16[gi]));
            zv = _mm512_set1_ps((float)zp[gi]);
            if (--left == 0) {
                gi++;
                left = cpg;
            }
        } else {
            chunk_scales(c, o, ch, &sv, &zv);
        }
        for (int m = 0; m < 8; m++) {
            __m512 f = _mm512_permutexvar_ps(nib(v, m), c->lut);
            if (fmt == FMT_Q4)
                f = _mm512_sub_ps(f, zv); /* q - z: exact */
            _mm512_storeu_ps(dst + kk + m * 16, _mm512_mul_ps(f, sv));
        }
    }
}

/* Panel (kcp, NR) of rows [o, o+nr), zero past nr; tmp holds 16 rows x kcp. */
static void build_panel(const ingot_wmat *w, const q4ctx *c, int fmt, int o, int nr, int k0,
                        int kcp, float *tmp, float *wp)
{
    for (int h = 0; h < NR / 16; h++) {
        for (int r = 0; r < 16; r++) {
            int rr = h * 16 + r;
            if (rr < nr)
                deq_row(w, c, fmt, o + rr, k0, kcp, tmp + (size_t)r * kcp);
            else
                memset(tmp + (size_t)r * kcp, 0, (size_t)kcp * sizeof(float));
        }
        for (int kb = 0; kb < kcp; kb += 16) {
            __m512 v[16];
            for (int r = 0; r < 16; r++)
                v[r] = _mm512_loadu_ps(tmp + (size_t)r * kcp + kb);
            transpose16(v);
            for (int i = 0; i < 16; i++)
                _mm512_store_ps(wp + (size_t)(kb + i) * NR + h * 16, v[i]);
        }
    }
}

/* The input position of panel position kk of the chunk at k0 (-1: padding). */
static int panel_src(int fmt, int k0, int kk, int n_in)
{
    int k;
    if (fmt == FMT_Q8) {
        k = k0 + kk;
    } else {
        int base = k0 + (kk & ~127), m = (kk >> 4) & 7, j = kk & 15;
        k = base + 8 * j + (m ^ (fmt == FMT_NF4));
    }
    return k < n_in ? k : -1;
}

/* Packs tokens [t0, t0+mr) at chunk k0 as xb[kk*mr + i]. */
static void pack_x(const float *x, int n_in, int fmt, int t0, int mr, int k0, int kcp, float *xb)
{
    for (int kk = 0; kk < kcp; kk++) {
        int k = panel_src(fmt, k0, kk, n_in);
        for (int i = 0; i < mr; i++)
            xb[(size_t)kk * mr + i] = k >= 0 ? x[(size_t)(t0 + i) * (size_t)n_in + k] : 0.0f;
    }
}

/* y[t0+i][o .. o+nr) (+)= sum_kk xb[kk][i] * wp[kk][.] for MRc tokens. */
AI void micro(int MRc, const float *xb, const float *wp, int kcp, float *y, size_t n_out, int nr,
              int first)
{
    __m512 a0[MR], a1[MR];
    #pragma GCC unroll 16
    for (int i = 0; i < MRc; i++)
        a0[i] = a1[i] = _mm512_setzero_ps();
    for (int kk = 0; kk < kcp; kk++) {
        __m512 w0 = _mm512_load_ps(wp + (size_t)kk * NR);
        __m512 w1 = _mm512_load_ps(wp + (size_t)kk * NR + 16);
        #pragma GCC unroll 16
        for (int i = 0; i < MRc; i++) {
            __m512 b = _mm512_set1_ps(xb[(size_t)kk * MRc + i]);
            a0[i] = _mm512_fmadd_ps(w0, b, a0[i]);
            a1[i] = _mm512_fmadd_ps(w1, b, a1[i]);
        }
    }
    __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    #pragma GCC unroll 16
    for (int i = 0; i < MRc; i++) {
        float *yi = y + (size_t)i * n_out;
        if (!first) {
            a0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, yi), a0[i]);
            a1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, yi + 16), a1[i]);
        }
        _mm512_mask_storeu_ps(yi, m0, a0[i]);
        _mm512_mask_storeu_ps(yi + 16, m1, a1[i]);
    }
}

/* Token blocks: MR at a time, then 4, then 1 (same per-output arithmetic). */
static int block_len(int left)
{
    return left >= MR ? MR : left >= 4 ? 4 : 1;
}

static void prefill(const ingot_wmat *w, const q4ctx *c, int fmt, const float *x, int n_tok,
                    float *y, int o0, int o1, float *wp, float *tmp, float *xpk)
{
    const int n_in = w->n_in, step = fmt == FMT_Q8 ? 16 : 128;
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
                else if (len == 4)
                    micro(4, xb, wp, kcp, yb, n_out, nr, k0 == 0);
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
        size_t np = round_up((size_t)w->n_in, 128), nsc = DEC_R * (2 * (size_t)w->n_in / 64 + 2);
        float *xp = alloc_f32(np + np / 8 + nsc);
        if ((ok = xp != NULL))
            decode4(&c, x, n_tok, y, w->n_out, o0, o1, xp, xp + np, xp + np + np / 8);
        free(xp);
    } else {
        float *wp = alloc_f32((size_t)KC * NR);
        float *tmp = alloc_f32((size_t)16 * KC);
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

void ingot_qmatmul_q8_avx512(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                             int o1)
{
    qmatmul(FMT_Q8, w, x, n_tok, y, o0, o1);
}

void ingot_qmatmul_nf4_avx512(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                              int o1)
{
    qmatmul(FMT_NF4, w, x, n_tok, y, o0, o1);
}

void ingot_qmatmul_q4_avx512(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                             int o1)
{
    qmatmul(FMT_Q4, w, x, n_tok, y, o0, o1);
}
