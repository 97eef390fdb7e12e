/*
 * qmatmul_tmpl.h - int8 / nf4 / int4 matmul in exact f32 arithmetic,
 * dequantizing inside the kernel: y(n_tok, n_out) = x · W^T, rows [o0, o1).
 * Written once against the vector layer (vec_avx2.h / vec_avx512.h) and
 * included by qmatmul_avx2.c and qmatmul_avx512.c, which first define:
 *
 *   QM_ISA     suffix of the entry points ingot_qmatmul_{q8,nf4,q4}_<QM_ISA>
 *   QM_MR      prefill micro-tile: tokens
 *   QM_MR_MID  prefill: the tokens past the last whole tile go in blocks of
 *              QM_MR_MID, then of 1
 *   QM_CHAINS  4-bit decode: accumulator chains per row and chunk (1 or 2)
 *   QM_Q4_LUT  1: int4 codes go through the table permute like nf4's, and
 *              where groups are whole chunks the zero point is folded into
 *              the table; 0: they are converted (& 15, cvtdq2ps)
 *   QM_PF8_STEPS  int8 decode: steps between software prefetches
 *   QM_ROW_SCALES 4-bit decode: 1 converts a row's scales to f32 once per
 *              row (the vector layer needs v_map256, v_blend_from); 0 reads
 *              them from the weight per chunk
 *
 * and the vector layer tells V_MASKED: whether tails are masked vectors or
 * scalar code.  Those choices change the order of the f32 operations, so
 * each ISA keeps its own bits; everything else is common.
 *
 * 4-bit codes are read a chunk at a time: one integer vector, VL dwords =
 * 8 * VL codes (QCH).  The table permute looks a code up with the low 4 bits
 * of each dword, so shifting the dwords right by 4m (m = 0..7) and looking
 * up the 16-entry table (the NF4 code book, or 0..15 for int4) gives 8
 * vectors, vector m holding codes 8j + m (j = lane) of the chunk: no byte
 * unpacking at all.  x is permuted once per call into the same order ("xp"),
 * so dot products need no shuffles.  For nf4 (first element in the high
 * nibble) nibble m holds element m ^ 1.
 *
 * Decode (n_tok < PREFILL_MIN_TOK) streams DEC_R rows at a time, QM_CHAINS
 * f32 accumulator chains per row, and scales per block (nf4) / per group
 * (int4):
 *   nf4:  sum_b absmax_b * sum_k code_k x_k
 *   int4: sum_g s_g * (sum_k q_k x_k - z_g sum_k x_k)
 *         or, folded into the table (QM_Q4_LUT), sum_g s_g * sum_k (q_k - z_g) x_k
 * (int4 groups that are not whole chunks: lane by lane, z_g sum_k x_k from
 * the per-lane sums of xp, "xs").  The stream of rows is
 * software-prefetched (PF_DIST).
 * Prefill dequantizes a panel of NR = 2 * VL rows x KC inputs (exactly the
 * reference values) into a transposed f32 panel and runs a QM_MR-token x
 * NR-row register-blocked FMA micro-kernel over all tokens.  Each output's
 * arithmetic depends only on n_tok (decode or prefill) and never on the row
 * range or token blocking, so any split over threads gives the same bits.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/qkernels.h"
#include "formats/formats.h"

#define AI static inline __attribute__((always_inline))
/* The loops over rows, tokens and nibbles inside the hot kernels have small
 * constant trip counts; they are unrolled so that their vector arrays live
 * in registers. */
#define UNROLL _Pragma("GCC unroll 16")
#define PREFILL_MIN_TOK 4
#define QCH (8 * VL) /* codes per chunk of 4-bit codes */
#define KC 256       /* panel depth: a multiple of QCH */
#define NR (2 * VL)  /* panel rows: two vectors of outputs */
#define DEC_R 4
/* Decode prefetch distance in bytes.  The rows of a decode call are one
 * contiguous stream, but read as DEC_R interleaved streams of only a few
 * cache lines each: too short for the hardware prefetchers to lock on, so
 * the kernels also prefetch, PF_DIST bytes ahead of the group's start, as
 * many lines as they consume. */
#ifndef PF_DIST
#define PF_DIST 8192
#endif

#define QM_CAT2(a, b) a##b
#define QM_CAT(a, b) QM_CAT2(a, b)
#define QM_NAME(fmt) QM_CAT(QM_CAT(ingot_qmatmul_, fmt), QM_CAT(_, QM_ISA))

enum { FMT_Q8, FMT_NF4, FMT_Q4, FMT_Q5, FMT_Q6 };
/* formats with a scale and a zero point per group, and their high bits per code (int5: 1, int6: 2) */
#define GRP(fmt) ((fmt) >= FMT_Q4)
#define HB(fmt) ((fmt) >= FMT_Q4 ? (fmt) - FMT_Q4 : 0)

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

/* Scratch of n floats, 64-byte aligned (C11 wants the size a multiple too). */
static float *alloc_f32(size_t n)
{
    return aligned_alloc(64, round_up(n * sizeof(float), 64));
}

/* ---------------------------------------------------------------- the weight */

/* Per-call constants of a weight: its parts, read here and nowhere else. */
typedef struct qm {
    const void *data;   /* int8 qs (n_out, n_in); 4-bit qs (n_out, n_in/2) */
    const void *scales; /* int8 f32 (n_out); nf4 absmax f32 or absmax_q u8; int4 f16 (n_out, ng) */
    const void *zeros;  /* int4 u8 (n_out, ng); nf4 double quant: absmax_offset f32 (1) */
    const void *aux;    /* nf4 double quant: absmax_absmax f32 (ceil(nb/256)) */
    const uint8_t *qh;  /* int5/int6 high bits (n_out, n_in*hb/8) */
    int n_in, n_out, group, rowbytes;
    const float *dmap; /* nf4 double quant: the dynamic map */
    vlut lut;          /* the NF4 code book, or 0..15 */
} qm;

static qm qm_make(const ingot_wmat *w, int fmt)
{
    static const float ident[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    /* the parts (formats/formats.h) under the names the loops use */
    const void *zeros = fmt == FMT_NF4 ? w->part[INGOT_NF4_ABSMAX_OFFSET]
                        : HB(fmt)      ? w->part[INGOT_QB_ZEROS]
                                       : w->part[INGOT_Q4_ZEROS];
    const void *scales = HB(fmt) ? w->part[INGOT_QB_SCALES] : w->part[1];
    const void *aux = fmt == FMT_NF4 && w->variant == INGOT_NF4_DQ ? w->part[INGOT_NF4_ABSMAX_ABSMAX] : NULL;
    const uint8_t *qh = HB(fmt) ? (const uint8_t *)w->part[INGOT_QB_QH] : NULL;
    qm c = {w->part[0], scales, zeros, aux, qh, w->n_in, w->n_out, w->group_size, w->n_in / 2,
            NULL, v_lut_load(fmt == FMT_NF4 ? ingot_nf4_code : ident)};
    if (fmt == FMT_NF4 && c.aux)
        c.dmap = ingot_dynamic_map();
    return c;
}

/* nf4 absmax of block b, as ingot_nf4_absmax (mul, round, add, round). */
AI float nf4_am(const qm *c, int64_t b)
{
    if (!c->dmap)
        return ((const float *)c->scales)[b];
    float v = c->dmap[((const uint8_t *)c->scales)[b]] * ((const float *)c->aux)[b >> 8];
    return v + *(const float *)c->zeros;
}

/*
 * Scale and zero vectors of chunk ch of row o: lane j covers elements
 * 8j..8j+7, so lanes 8i..8i+7 are nf4 block i of the chunk and lanes
 * 4q..4q+3 the int4 group of element 32q.  Lanes past the row end get 0.
 */
AI void chunk_scales(const qm *c, int fmt, int o, int ch, vf *sv, vf *zv)
{
    int k = ch * QCH;
    if (fmt == FMT_NF4) {
        int64_t b = (int64_t)o * (c->n_in / 64) + k / 64;
        float a[VL / 8];
        UNROLL
        for (int i = 0; i < VL / 8; i++)
            a[i] = i == 0 || c->n_in - k > 64 * i ? nf4_am(c, b + i) : 0.0f;
        *sv = v_spread8(a, VL / 8);
        return;
    }
    int g = c->group, ng = c->n_in / g;
    const uint16_t *sc = (const uint16_t *)c->scales + (int64_t)o * ng; // (n_out, n_in/G)
    const uint8_t *zp = (const uint8_t *)c->zeros + (int64_t)o * ng;    // (n_out, n_in/G)
    if (g % QCH == 0) {
        *sv = v_set1(_cvtsh_ss(sc[k / g]));
        *zv = v_set1((float)zp[k / g]);
        return;
    }
    float s[VL / 4], z[VL / 4];
    UNROLL
    for (int q = 0; q < VL / 4; q++) {
        int kq = k + 32 * q;
        s[q] = kq < c->n_in ? _cvtsh_ss(sc[kq / g]) : 0.0f;
        z[q] = kq < c->n_in ? (float)zp[kq / g] : 0.0f;
    }
    *sv = v_spread4(s);
    *zv = v_spread4(z);
}

/* Chunk ch of a row's codes; dwords past the row end are 0 (int4 rows end
 * on a 32-code boundary, so the last chunk can be partial). */
AI vi load_chunk(const uint8_t *row, int n_in, int ch)
{
    int rem = n_in - ch * QCH;
    return vi_load_dwords(row + ch * (QCH / 2), rem >= QCH ? VL : rem / 8);
}

/* The high bits of chunk ch of an int5/int6 row (0 for the other formats). */
AI vi load_hi(const qm *c, int fmt, int o, int ch)
{
    vi z;
    if (!HB(fmt)) { /* never asked for */
        memset(&z, 0, sizeof z);
        return z;
    }
    int hb = HB(fmt), rem = c->n_in - ch * QCH;
    const uint8_t *row = c->qh + (size_t)o * (size_t)(c->n_in / 8 * hb);
    return vi_load_hi(row + (size_t)ch * (QCH / 8) * hb, hb, rem >= QCH ? VL : rem / 8);
}

/* Code m of each dword (nibble m) as f32: the NF4 value or the int4 code
 * (minus the zero point where lut has it folded in); int5/int6 take their
 * high bits from h. */
AI vf code(int fmt, vlut lut, vi v, vi h, int m)
{
    if (HB(fmt))
        return v_cvt_code_hi(v, h, m, HB(fmt));
    vi idx = m ? vi_srl32(v, 4 * m) : v;
    if (fmt == FMT_Q4 && !QM_Q4_LUT)
        return v_cvt_low4(idx);
    return v_lut(lut, idx);
}

/* xp[ch + m*VL + j] = x[ch + 8j + (m^flip)] per chunk ch, 0 past n_in;
 * xp has round_up(n_in, QCH) entries. */
static void permute_x(const float *x, int n_in, int flip, float *xp)
{
    int np = (int)round_up((size_t)n_in, QCH);
    for (int ch = 0; ch < np; ch += QCH)
        for (int m = 0; m < 8; m++)
            for (int j = 0; j < VL; j++) {
                int k = ch + 8 * j + (m ^ flip);
                xp[ch + m * VL + j] = k < n_in ? x[k] : 0.0f;
            }
}

/* ---------------------------------------------------------------- decode */

#if QM_ROW_SCALES
/* nf4 double quant: the absmax of the row's nb blocks from b0 on into am,
 * computed as nf4_am does: map[q] * absmax2, rounded, + offset, rounded. */
static void row_absmax_dq(const qm *c, int64_t b0, int nb, float *am)
{
    const uint8_t *q = (const uint8_t *)c->scales; // (nb)
    const float *aa = (const float *)c->aux;       // (ceil(nb/256))
    const vf off = v_set1(*(const float *)c->zeros);
    for (int b = 0; b < nb; b += VL) {
        int n = nb - b < VL ? nb - b : VL;
        int64_t bb = b0 + b;
        vf mv = v_map256(c->dmap, q + bb, n);
        /* the VL blocks span at most two absmax2 entries */
        int first = 256 - (int)(bb & 255);
        vf av = v_set1(aa[bb >> 8]);
        if (first < n)
            av = v_blend_from(av, v_set1(aa[(bb >> 8) + 1]), first);
        vf a = v_add(v_mul(mv, av), off);
        if (n == VL)
            v_store(am + b, a);
        else
            v_store_part(am + b, a, n);
    }
}
#endif

/*
 * Where decode finds a row's scales.  With QM_ROW_SCALES they are converted
 * to f32 once per row instead of once per chunk: nf4 absmax (double quant
 * undone) and, for int4 groups that are whole chunks, scales and zeros
 * (sc holds 2 * (n_in/64 + 1) floats).  Without, each chunk reads them from
 * the weight (cheaper where partial vectors cost a copy).
 */
typedef struct rowsc {
    const float *am;     /* nf4: absmax of the row's blocks; NULL (only without
                          * QM_ROW_SCALES): nf4_am per chunk */
    const float *s, *z;  /* int4 whole-chunk groups, QM_ROW_SCALES: f32 scale and zero */
    const uint16_t *s16; /* ... otherwise the row's stored f16 scales */
    const uint8_t *zp;   /* and u8 zeros */
} rowsc;

AI float rs_scale(const rowsc *r, int gi)
{
    return QM_ROW_SCALES ? r->s[gi] : _cvtsh_ss(r->s16[gi]);
}

AI float rs_zero(const rowsc *r, int gi)
{
    return QM_ROW_SCALES ? r->z[gi] : (float)r->zp[gi];
}

AI rowsc row_scales(const qm *c, int fmt, int o, float *sc)
{
    rowsc r = {NULL, NULL, NULL, NULL, NULL};
    if (fmt == FMT_NF4) {
        int nb = c->n_in / 64;
        if (!c->dmap) {
            r.am = (const float *)c->scales + (int64_t)o * nb; // (n_out*n_in/64)
        } else {
#if QM_ROW_SCALES
            row_absmax_dq(c, (int64_t)o * nb, nb, sc);
            r.am = sc;
#endif
        }
        return r;
    }
    int g = c->group, ng = c->n_in / g;
    if (g % QCH)
        return r; /* groups inside a chunk: chunk_scales per chunk */
    const uint16_t *s16 = (const uint16_t *)c->scales + (int64_t)o * ng; // (n_out, n_in/G)
    const uint8_t *zp = (const uint8_t *)c->zeros + (int64_t)o * ng;    // (n_out, n_in/G)
    if (!QM_ROW_SCALES) {
        r.s16 = s16;
        r.zp = zp;
        return r;
    }
    for (int j = 0; j < ng; j += VL) {
        int n = ng - j;
        if (n >= VL) {
            v_store(sc + j, v_load_f16(s16 + j));
            v_store(sc + ng + j, v_load_u8(zp + j));
        } else {
            v_store_part(sc + j, v_load_part_f16(s16 + j, n), n);
            v_store_part(sc + ng + j, v_load_part_u8(zp + j, n), n);
        }
    }
    r.s = sc;
    r.z = sc + ng;
    return r;
}

/* R rows o.. of a 4-bit weight against one permuted token xp; xs (int4
 * groups inside a chunk, or not folded): per-lane sums of xp over m.  Each
 * row's arithmetic is independent of R. */
AI void dec4_rows(const qm *c, int fmt, int R, int o, const float *xp, const float *xs,
                  float *sc, float *out)
{
    const uint8_t *base = (const uint8_t *)c->data; // (n_out, n_in/2)
    const int nb = c->n_in / 64, g = c->group;
    const int whole = GRP(fmt) && g % QCH == 0, fold = QM_Q4_LUT && whole && fmt == FMT_Q4;
    vf acc[DEC_R];
    rowsc rs[DEC_R];
    UNROLL
    for (int r = 0; r < R; r++) {
        acc[r] = v_zero();
        rs[r] = row_scales(c, fmt, o + r, sc + (size_t)r * (size_t)(2 * nb + 2));
    }
    int nch = (c->n_in + QCH - 1) / QCH;
    /* whole-chunk int4 groups: group gi of chunk ch, kept without a division */
    const int cpg = whole ? g / QCH : 1;
    for (int ch = 0, gi = 0, left = cpg; ch < nch; ch++) {
        vi v[DEC_R], h[DEC_R];
        vf t[QM_CHAINS][DEC_R];
        vlut lut[DEC_R];
        UNROLL
        for (int r = 0; r < R; r++) {
            v[r] = load_chunk(base + (size_t)(o + r) * (size_t)c->rowbytes, c->n_in, ch);
            h[r] = HB(fmt) ? load_hi(c, fmt, o + r, ch) : v[r];
            UNROLL
            for (int i = 0; i < QM_CHAINS; i++)
                t[i][r] = v_zero();
            /* int4 folded: lut[i] = i - z, so t sums (q - z) x exactly like
             * the reference */
            lut[r] = fold ? v_lut_sub(c->lut, v_set1(rs_zero(&rs[r], gi))) : c->lut;
        }
        /* an address, not a pointer: it may lie past the end of the rows
         * (prefetches never fault) */
        uintptr_t pf = (uintptr_t)base + (size_t)o * (size_t)c->rowbytes + PF_DIST +
                       (size_t)ch * (QCH / 2) * R;
        UNROLL
        for (int i = 0; i < R * (QCH / 2); i += 64)
            _mm_prefetch((const char *)(pf + i), _MM_HINT_T0);
        const float *xc = xp + ch * QCH;
        UNROLL
        for (int m = 0; m < 8; m += 2) {
            vf xa = v_load(xc + m * VL), xb = v_load(xc + m * VL + VL);
            UNROLL
            for (int r = 0; r < R; r++) {
                t[0][r] = v_fma(code(fmt, lut[r], v[r], h[r], m), xa, t[0][r]);
                t[QM_CHAINS - 1][r] =
                    v_fma(code(fmt, lut[r], v[r], h[r], m + 1), xb, t[QM_CHAINS - 1][r]);
            }
        }
        UNROLL
        for (int r = 0; r < R; r++) {
            vf sv, zv = v_zero(), tr = QM_CHAINS == 1 ? t[0][r] : v_add(t[0][r], t[QM_CHAINS - 1][r]);
            if (fmt == FMT_NF4) {
                /* absmax of the chunk's blocks into lanes 8i..8i+7 */
                int b = ch * (VL / 8);
                if (QM_ROW_SCALES || rs[r].am)
                    sv = v_spread8(rs[r].am + b, nb - b < VL / 8 ? nb - b : VL / 8);
                else
                    chunk_scales(c, fmt, o + r, ch, &sv, &zv);
            } else if (whole) {
                sv = v_set1(rs_scale(&rs[r], gi));
                if (!fold) {
                    zv = v_set1(rs_zero(&rs[r], gi));
                    tr = v_fnmadd(zv, v_load(xs + ch * VL), tr);
                }
            } else {
                chunk_scales(c, fmt, o + r, ch, &sv, &zv);
                tr = v_fnmadd(zv, v_load(xs + ch * VL), tr);
            }
            acc[r] = v_fma(tr, sv, acc[r]);
        }
        if (--left == 0) {
            gi++;
            left = cpg;
        }
    }
    UNROLL
    for (int r = 0; r < R; r++)
        out[r] = v_hsum(acc[r]);
}

AI void decode4(const qm *c, int fmt, const float *x, int n_tok, float *y, int o0, int o1,
                float *xp, float *xs, float *sc)
{
    const int np = (int)round_up((size_t)c->n_in, QCH);
    /* lane sums of x: only int4 groups that are not folded use them */
    const int need_xs = GRP(fmt) && !(QM_Q4_LUT && fmt == FMT_Q4 && c->group % QCH == 0);
    for (int t = 0; t < n_tok; t++) {
        permute_x(x + (size_t)t * (size_t)c->n_in, c->n_in, fmt == FMT_NF4, xp);
        for (int ch = 0; need_xs && ch < np; ch += QCH)
            for (int j = 0; j < VL; j++) {
                float s = 0.0f;
                for (int m = 0; m < 8; m++)
                    s += xp[ch + m * VL + j];
                xs[ch / 8 + j] = s;
            }
        float *yt = y + (size_t)t * (size_t)c->n_out;
        int o = o0;
        for (; o + DEC_R <= o1; o += DEC_R)
            dec4_rows(c, fmt, DEC_R, o, xp, xs, sc, yt + o);
        for (; o < o1; o++)
            dec4_rows(c, fmt, 1, o, xp, xs, sc, yt + o);
    }
}

/* R int8 rows o.. against token x: two accumulator chains per row. */
AI void dec8_rows(const qm *c, int R, int o, const float *x, float *out)
{
    const int n = c->n_in;
    const int8_t *q = (const int8_t *)c->data; // (n_out, n_in)
    vf a0[DEC_R], a1[DEC_R];
    UNROLL
    for (int r = 0; r < R; r++)
        a0[r] = a1[r] = v_zero();
    int k = 0;
    /* an address past the rows is fine: prefetches never fault */
    uintptr_t pf = (uintptr_t)q + (size_t)o * (size_t)n + PF_DIST;
    for (; k + 2 * VL <= n; k += 2 * VL) {
        /* every QM_PF8_STEPS steps, the lines of the group those steps read */
        if (k % (QM_PF8_STEPS * 2 * VL) == 0) {
            UNROLL
            for (int i = 0; i < QM_PF8_STEPS * 2 * VL * R; i += 64)
                _mm_prefetch((const char *)(pf + (size_t)k * R + i), _MM_HINT_T0);
        }
        vf xa = v_load(x + k), xb = v_load(x + k + VL);
        UNROLL
        for (int r = 0; r < R; r++) {
            const int8_t *p = q + (size_t)(o + r) * (size_t)n + k;
            a0[r] = v_fma(v_load_i8(p), xa, a0[r]);
            a1[r] = v_fma(v_load_i8(p + VL), xb, a1[r]);
        }
    }
#if V_MASKED
    for (; k < n; k += VL) {
        int m = n - k >= VL ? VL : n - k;
        vf xa = v_load_part(x + k, m);
        UNROLL
        for (int r = 0; r < R; r++)
            a0[r] = v_fma(v_load_part_i8(q + (size_t)(o + r) * (size_t)n + k, m), xa, a0[r]);
    }
    UNROLL
    for (int r = 0; r < R; r++)
        out[r] = v_hsum(v_add(a0[r], a1[r])) * ((const float *)c->scales)[o + r];
#else
    UNROLL
    for (int r = 0; r < R; r++) {
        const int8_t *p = q + (size_t)(o + r) * (size_t)n;
        float s = v_hsum(v_add(a0[r], a1[r]));
        for (int kk = k; kk < n; kk++)
            s += (float)p[kk] * x[kk];
        out[r] = s * ((const float *)c->scales)[o + r];
    }
#endif
}

static void decode8(const qm *c, const float *x, int n_tok, float *y, int o0, int o1)
{
    for (int t = 0; t < n_tok; t++) {
        const float *xt = x + (size_t)t * (size_t)c->n_in;
        float *yt = y + (size_t)t * (size_t)c->n_out;
        int o = o0;
        for (; o + DEC_R <= o1; o += DEC_R)
            dec8_rows(c, DEC_R, o, xt, yt + o);
        for (; o < o1; o++)
            dec8_rows(c, 1, o, xt, yt + o);
    }
}

/* ---------------------------------------------------------------- prefill */

/* Dequantizes row o, panel positions [0, kcp) of the chunk at k0, into dst
 * (reference values; 4-bit in chunk order, int8 in natural order). */
AI void deq_row(const qm *c, int fmt, int o, int k0, int kcp, float *dst)
{
    if (fmt == FMT_Q8) {
        const int8_t *q = (const int8_t *)c->data + (size_t)o * (size_t)c->n_in; // (n_out, n_in)
        float s = ((const float *)c->scales)[o];
        vf sv = v_set1(s);
#if V_MASKED
        for (int k = 0; k < kcp; k += VL) {
            int rem = c->n_in - (k0 + k);
            v_store(dst + k, v_mul(v_load_part_i8(q + k0 + k, rem >= VL ? VL : rem > 0 ? rem : 0), sv));
        }
#else
        int k = 0, kc = c->n_in - k0 < kcp ? c->n_in - k0 : kcp;
        for (; k + VL <= kc; k += VL)
            v_store(dst + k, v_mul(v_load_i8(q + k0 + k), sv));
        for (; k < kcp; k++)
            dst[k] = k < kc ? (float)q[k0 + k] * s : 0.0f;
#endif
        return;
    }
    /* row o of data (n_out, n_in/2) */
    const uint8_t *row = (const uint8_t *)c->data + (size_t)o * (size_t)c->rowbytes;
    /* int4 groups of whole chunks: group gi of the chunk by a counter (an
     * integer division per chunk would cost more than the chunk) */
    const int g = c->group, whole = GRP(fmt) && g % QCH == 0;
    const int cpg = whole ? g / QCH : 1, ch0 = k0 / QCH;
    const uint16_t *s16 = (const uint16_t *)c->scales; // (n_out, n_in/G)
    const uint8_t *zp = (const uint8_t *)c->zeros;     // (n_out, n_in/G)
    int64_t gi = whole ? (int64_t)o * (c->n_in / g) + ch0 / cpg : 0;
    int left = cpg - ch0 % cpg;
    for (int kk = 0; kk < kcp; kk += QCH) {
        int ch = (k0 + kk) / QCH;
        vi v = load_chunk(row, c->n_in, ch), hbits = HB(fmt) ? load_hi(c, fmt, o, ch) : v;
        vf sv, zv = v_zero();
        if (whole) {
            sv = v_set1(_cvtsh_ss(s16[gi]));
            zv = v_set1((float)zp[gi]);
            if (--left == 0) {
                gi++;
                left = cpg;
            }
        } else {
            chunk_scales(c, fmt, o, ch, &sv, &zv);
        }
        UNROLL
        for (int m = 0; m < 8; m++) {
            vf f = code(fmt, c->lut, v, hbits, m);
            if (GRP(fmt))
                f = v_sub(f, zv); /* q - z: exact */
            v_store(dst + kk + m * VL, v_mul(f, sv));
        }
    }
}

/* Panel (kcp, NR) of rows [o, o+nr), zero past nr; tmp holds VL rows x kcp. */
AI void build_panel(const qm *c, int fmt, int o, int nr, int k0, int kcp, float *tmp, float *wp)
{
    for (int h = 0; h < NR / VL; h++) {
        for (int r = 0; r < VL; r++) {
            int rr = h * VL + r;
            if (rr < nr)
                deq_row(c, fmt, o + rr, k0, kcp, tmp + (size_t)r * kcp);
            else
                memset(tmp + (size_t)r * kcp, 0, (size_t)kcp * sizeof(float));
        }
        for (int kb = 0; kb < kcp; kb += VL) {
            vf v[VL];
            for (int r = 0; r < VL; r++)
                v[r] = v_load(tmp + (size_t)r * kcp + kb);
            v_transpose(v);
            for (int i = 0; i < VL; i++)
                v_store(wp + (size_t)(kb + i) * NR + h * VL, v[i]);
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
        int base = k0 + (kk & ~(QCH - 1)), m = (kk / VL) & 7, j = kk & (VL - 1);
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
    vf a0[QM_MR], a1[QM_MR];
    UNROLL
    for (int i = 0; i < MRc; i++)
        a0[i] = a1[i] = v_zero();
    for (int kk = 0; kk < kcp; kk++) {
        vf w0 = v_load(wp + (size_t)kk * NR), w1 = v_load(wp + (size_t)kk * NR + VL);
        UNROLL
        for (int i = 0; i < MRc; i++) {
            vf b = v_set1(xb[(size_t)kk * MRc + i]);
            a0[i] = v_fma(w0, b, a0[i]);
            a1[i] = v_fma(w1, b, a1[i]);
        }
    }
    if (nr == NR) {
        UNROLL
        for (int i = 0; i < MRc; i++) {
            float *yi = y + (size_t)i * n_out;
            if (!first) {
                a0[i] = v_add(v_load(yi), a0[i]);
                a1[i] = v_add(v_load(yi + VL), a1[i]);
            }
            v_store(yi, a0[i]);
            v_store(yi + VL, a1[i]);
        }
        return;
    }
    /* the last panel of a range: nr < NR outputs */
    int n0 = nr < VL ? nr : VL, n1 = nr - VL;
    UNROLL
    for (int i = 0; i < MRc; i++) {
        float *yi = y + (size_t)i * n_out;
        if (!first)
            a0[i] = v_add(n0 == VL ? v_load(yi) : v_load_part(yi, n0), a0[i]);
        if (n0 == VL)
            v_store(yi, a0[i]);
        else
            v_store_part(yi, a0[i], n0);
        if (n1 > 0) {
            if (!first)
                a1[i] = v_add(v_load_part(yi + VL, n1), a1[i]);
            v_store_part(yi + VL, a1[i], n1);
        }
    }
}

/* Token blocks: QM_MR at a time, then QM_MR_MID, then 1 (same per-output arithmetic). */
static int block_len(int left)
{
    return left >= QM_MR ? QM_MR : left >= QM_MR_MID ? QM_MR_MID : 1;
}

AI void prefill(const qm *c, int fmt, const float *x, int n_tok, float *y, int o0, int o1,
                float *wp, float *tmp, float *xpk)
{
    const int n_in = c->n_in, step = fmt == FMT_Q8 ? VL : QCH;
    const size_t n_out = (size_t)c->n_out;
    for (int k0 = 0; k0 < n_in; k0 += KC) {
        int kc = n_in - k0 < KC ? n_in - k0 : KC, kcp = (int)round_up((size_t)kc, step);
        for (int t0 = 0, len; t0 < n_tok; t0 += len) {
            len = block_len(n_tok - t0);
            pack_x(x, n_in, fmt, t0, len, k0, kcp, xpk + (size_t)t0 * kcp);
        }
        for (int o = o0; o < o1; o += NR) {
            int nr = o1 - o < NR ? o1 - o : NR;
            build_panel(c, fmt, o, nr, k0, kcp, tmp, wp);
            for (int t0 = 0, len; t0 < n_tok; t0 += len) {
                len = block_len(n_tok - t0);
                const float *xb = xpk + (size_t)t0 * kcp;
                float *yb = y + (size_t)t0 * n_out + o;
                if (len == QM_MR)
                    micro(QM_MR, xb, wp, kcp, yb, n_out, nr, k0 == 0);
                else if (len == QM_MR_MID)
                    micro(QM_MR_MID, xb, wp, kcp, yb, n_out, nr, k0 == 0);
                else
                    micro(1, xb, wp, kcp, yb, n_out, nr, k0 == 0);
            }
        }
    }
}

/* ---------------------------------------------------------------- entry points */

AI void qmatmul(int fmt, const ingot_wmat *w, const float *x, int n_tok, float *y, int o0, int o1)
{
    if (o0 >= o1 || n_tok <= 0)
        return;
    qm c = qm_make(w, fmt);
    if (n_tok < PREFILL_MIN_TOK && fmt == FMT_Q8) {
        decode8(&c, x, n_tok, y, o0, o1);
        return;
    }
    int ok;
    if (n_tok < PREFILL_MIN_TOK) {
        size_t np = round_up((size_t)c.n_in, QCH), nsc = DEC_R * (2 * (size_t)c.n_in / 64 + 2);
        float *xp = alloc_f32(np + np / 8 + nsc);
        if ((ok = xp != NULL))
            decode4(&c, fmt, x, n_tok, y, o0, o1, xp, xp + np, xp + np + np / 8);
        free(xp);
    } else {
        float *wp = alloc_f32((size_t)KC * NR);
        float *tmp = alloc_f32((size_t)VL * KC);
        float *xpk = alloc_f32((size_t)n_tok * KC);
        if ((ok = wp && tmp && xpk))
            prefill(&c, fmt, x, n_tok, y, o0, o1, wp, tmp, xpk);
        free(wp);
        free(tmp);
        free(xpk);
    }
    if (!ok) /* out of memory for the scratch: the reference needs none */
        ingot_qmatmul_ref(w, x, n_tok, y, o0, o1);
}

INGOT_QMATMUL_DECL(QM_NAME(q8))
{
    qmatmul(FMT_Q8, w, x, n_tok, y, o0, o1);
}

INGOT_QMATMUL_DECL(QM_NAME(nf4))
{
    qmatmul(FMT_NF4, w, x, n_tok, y, o0, o1);
}

INGOT_QMATMUL_DECL(QM_NAME(q4))
{
    qmatmul(FMT_Q4, w, x, n_tok, y, o0, o1);
}

INGOT_QMATMUL_DECL(QM_NAME(q5))
{
    qmatmul(FMT_Q5, w, x, n_tok, y, o0, o1);
}

INGOT_QMATMUL_DECL(QM_NAME(q6))
{
    qmatmul(FMT_Q6, w, x, n_tok, y, o0, o1);
}
