/*
 * qdot_tmpl.h - int8, nf4 and int4 decode (1 to 3 tokens) on integer dot
 * products over the token rounded to int8; prefill and the shapes these
 * loops do not cover go to the exact f32 kernels (qmatmul_tmpl.h).  Written
 * once against the vector layer (vec_avx2.h / vec_avx512.h) and an
 * integer-dot layer (vec_dot_avx2.h: vpmaddubsw + vpmaddwd, or
 * vec_dot_vnni.h: vpdpbusd), and included by qmatmul_avx2dot.c and
 * qmatmul_vnni.c, which first define:
 *
 *   QD_ISA        suffix of the entry points ingot_qmatmul_{q8,nf4,q4}_<QD_ISA>
 *   QD_EXACT_ISA  suffix of the exact f32 kernels the rest goes to
 *   QD_STREAMS    1: a pass reads rows far apart, one from each of QD_R*
 *                 equal parts of the thread's range, each row stream
 *                 prefetched on its own; 0: QD_R* consecutive rows, one
 *                 stream prefetched linearly
 *   QD_R8, QD_R4  rows per pass: int8, 4-bit
 *   QD_Q4_GROUPED int4: 1 sums each group's products per lane and scales
 *                 the sum once, the zero points' share coming off per lane;
 *                 0 scales every chunk's products, and the zero points'
 *                 share comes off the row's sum
 *   QD_NF4_OFFSET nf4: 1 stores the code book + 128 (unsigned, the token
 *                 signed: the + 128 comes off as 128 sum xq), 1/127 applied
 *                 per chunk; 0 moves the sign of xq onto the code book
 *                 bytes (vpsignb against |xq|), 1/127 applied once at the end
 *   QD_NF4_DQ     nf4 with double quantization: 1 undoes each row's absmax
 *                 into scratch first; 0 leaves it to the f32 kernel
 *
 * Those choices fix the order of the f32 operations, so each ISA keeps its
 * own bits; the token rounding, the layouts and the loops are common.
 *
 * Why: expanding 4-bit codes into floats costs the f32 kernel more
 * instructions per byte than memory delivers bytes (a Zen 2 core decodes nf4
 * at about 5 GB/s, a Zen 4 one near 10, from cache or not).  An integer dot
 * product multiplies DB u8 x s8 pairs into VL int32 lanes in one or two
 * instructions, so the token is quantized instead, as llama.cpp's q8_0 does:
 *
 *   x is cut into blocks of 32 inputs; block b gets d_b = max|x| / 127 and
 *   xq_k = round(x_k / d_b) in -127..127 (halves away from zero);
 *   int8: y_o = s_o * sum_b d_b sum_{k in b} q_ok xq_k;
 *   int4: y_o = sum_g s_og * (sum_b d_b sum_{k in b} q_ok xq_k - z_og X_g),
 *         X_g = sum_{k in g} x_k, summed in f32 from the unquantized x;
 *   nf4:  y_o = sum_blocks absmax * sum_b d_b / 127 sum_k c_ok xq_k with the
 *         code book rounded to c = round(127 v) (a byte table, vpshufb).
 *
 * The products want one operand unsigned: int4 codes (0..15) are the
 * unsigned side; for int8 the token goes in as |xq| and its sign moves onto
 * the weight (exact: weights are in -127..127); nf4 see QD_NF4_OFFSET.
 *
 * Error against the reference: each output stays within
 * 0.5 * sum_k |w_k| d_b(k) (plus nf4's code book rounding, absmax / 254 per
 * weight); tests/test_quant.c checks that bound.  Each output depends only
 * on its row and the token: row splits over threads give the same bits.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/qkernels.h"
#include "formats/formats.h"

#define AI static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")
#define DEC_MAX_TOK 3 /* as the f32 kernels: 4 tokens and more are prefill */
#define QD_CH (2 * DB) /* inputs of a 4-bit chunk: DB bytes of codes */
/* Software prefetch, PF_DIST bytes ahead: from memory the hardware
 * prefetcher alone leaves these kernels well short of their in-cache speed. */
#ifndef PF_DIST
#define PF_DIST 8192
#endif

#define QD_CAT2(a, b) a##b
#define QD_CAT(a, b) QD_CAT2(a, b)
#define QD_NAME(fmt) QD_CAT(QD_CAT(ingot_qmatmul_, fmt), QD_CAT(_, QD_ISA))
#define QD_EXACT(fmt) QD_CAT(QD_CAT(ingot_qmatmul_, fmt), QD_CAT(_, QD_EXACT_ISA))

/* ---------------------------------------------------------------- the weight */

/* The weight's parts, read here and nowhere else. */
typedef struct qd {
    const void *data;   /* int8 qs (n_out, n_in); 4-bit qs (n_out, n_in/2) */
    const void *scales; /* int8 f32 (n_out); nf4 absmax f32 (n_out*n_in/64); int4 f16 (n_out, ng) */
    const void *zeros;  /* int4 u8 (n_out, ng) */
    const void *aux;    /* nf4: double quant when set */
    int n_in, n_out, group;
    const ingot_wmat *w; /* nf4 double quant: ingot_nf4_row_absmax */
} qd;

static qd qd_make(const ingot_wmat *w)
{
    /* the parts (formats/formats.h) under the names the loops use */
    bool nf4 = w->type == INGOT_DT_NF4;
    const void *zeros = nf4 ? w->part[INGOT_NF4_ABSMAX_OFFSET] : w->part[INGOT_Q4_ZEROS];
    const void *aux = nf4 && w->variant == INGOT_NF4_DQ ? w->part[INGOT_NF4_ABSMAX_ABSMAX] : NULL;
    return (qd){w->part[0], w->part[1], zeros, aux, w->n_in, w->n_out, w->group_size, w};
}

/* ---------------------------------------------------------------- the token */

/*
 * The quantized token.  Natural order for int8 (q, a = |q|, the sign
 * carrier sg); for the 4-bit formats, whose bytes hold inputs 2i and 2i + 1,
 * each chunk of QD_CH inputs split into its even inputs (lo) and odd ones
 * (hi), so one load of codes meets one load of each.  dvn / dvs: the d of
 * each int32 lane after the dot product, in the natural order (lane i covers
 * inputs 4i..4i+3) and the split one (lane i covers inputs 8i..8i+7).
 */
typedef struct qtok {
    int8_t *q;          // (n): xq
    uint8_t *a;         // (n): |xq|
    uint64_t *sg;       // (n/64): the layer's sign carrier, where it has one
    int8_t *lo, *hi;    // (n/2) each: xq of even / odd inputs
    uint8_t *alo, *ahi; // (n/2) each: their absolute values
    float *d;           // (n/32): block steps
    float *dvn;         // (n/4)
    float *dvs;         // (n/8)
    int32_t *xqs;       // nf4 offset: (n/8) 128 * the sum of xq over each split lane
    float *xg;          // int4: (n/QD_CH + VL) sums of x per group, 0-padded
    float *sc;          // 4-bit: (QD_R4, QD_SCS) the rows' f32 group scales / nf4 absmax
    void *mem;
} qtok;

/* floats of sc per row: int4 group scales or nf4 absmax, padded by VL */
#define QD_SCS(n) ((size_t)(n) / 64 + VL)

/* Lays the parts out from base (64-byte aligned each) or, without base,
 * only measures them.  @return the bytes. */
static size_t qtok_layout(qtok *t, char *base, int n_in)
{
    size_t n = (size_t)n_in, off = 0;
#define QT_PART(f, bytes)                                                                      \
    do {                                                                                       \
        if (base)                                                                              \
            t->f = (void *)(base + off);                                                       \
        off += ((bytes) + 63) / 64 * 64;                                                       \
    } while (0)
    QT_PART(q, n);
    QT_PART(a, n);
    QT_PART(sg, n / 64 * 8);
    QT_PART(lo, n / 2);
    QT_PART(hi, n / 2);
    QT_PART(alo, n / 2);
    QT_PART(ahi, n / 2);
    QT_PART(d, n / 32 * 4);
    QT_PART(dvn, n / 4 * 4);
    QT_PART(dvs, n / 8 * 4);
    QT_PART(xqs, n / 8 * 4);
    QT_PART(xg, (n / QD_CH + VL) * 4);
    QT_PART(sc, QD_R4 * QD_SCS(n) * 4);
#undef QT_PART
    return off;
}

static int qtok_alloc(qtok *t, int n_in)
{
    t->mem = aligned_alloc(64, qtok_layout(t, NULL, n_in));
    if (!t->mem)
        return -1;
    qtok_layout(t, t->mem, n_in);
    return 0;
}

/* round(v / d), halves away from zero; 1/d overflows for tiny d, so those
 * blocks divide */
AI vi quant8(vf v, float d)
{
    if (d >= FLT_MIN * 128.0f)
        v = v_mul(v, v_set1(1.0f / d));
    else if (d > 0.0f)
        v = v_div(v, v_set1(d));
    else
        v = v_zero();
    return d_round(v);
}

/* Block b: 32 inputs into q (natural order) and d. */
AI void qtok_block(qtok *t, const float *x, int b)
{
    vf v[32 / VL], m = v_zero();
    UNROLL
    for (int i = 0; i < 32 / VL; i++) {
        v[i] = v_load(x + 32 * b + VL * i);
        m = i ? v_max(m, v_abs(v[i])) : v_abs(v[i]);
    }
    float d = v_hmax(m) / 127.0f;
    vi q[32 / VL];
    UNROLL
    for (int i = 0; i < 32 / VL; i++)
        q[i] = quant8(v[i], d);
    d_pack32(t->q + 32 * b, q);
    t->d[b] = d;
}

/* What a format's loop reads of the token. */
enum { TOK_NAT = 1, TOK_SPLIT = 2, TOK_SPLIT_ABS = 4, TOK_XQS = 8 };

/* The whole token, the parts a format reads (natural: n_in a multiple of
 * DB; split: of QD_CH). */
static void qtok_make(qtok *t, const float *x, int n_in, int parts)
{
    for (int b = 0; b < n_in / 32; b++)
        qtok_block(t, x, b);
    if (parts & TOK_NAT) {
        for (int c = 0; c < n_in / DB; c++) {
            vi_store(t->a + DB * c, d_abs8(vi_load(t->q + DB * c)));
            v_store(t->dvn + VL * c, v_spread8(t->d + DB / 32 * c, DB / 32));
        }
        d_sgn_make(t->q, n_in, t->sg);
    }
    if (!(parts & TOK_SPLIT))
        return;
    for (int c = 0; c < n_in / QD_CH; c++) {
        d_split(t->q + QD_CH * c, t->lo + DB * c, t->hi + DB * c);
        if (parts & TOK_SPLIT_ABS) {
            vi_store(t->alo + DB * c, d_abs8(vi_load(t->lo + DB * c)));
            vi_store(t->ahi + DB * c, d_abs8(vi_load(t->hi + DB * c)));
        }
#if QD_NF4_OFFSET
        if (parts & TOK_XQS)
            vi_store(t->xqs + VL * c, d_xqs(vi_load(t->lo + DB * c), vi_load(t->hi + DB * c)));
#endif
        v_store(t->dvs + VL * c, v_spread4(t->d + QD_CH / 32 * c));
    }
}

/* ---------------------------------------------------------------- rows */

#if QD_STREAMS
/* Runs fn(nr, o, stride, ...) over [o0, o1) cut into n equal parts: rows
 * o, o + stride, ... (one per part) at once, then the remainder one by one. */
#define QD_ROWS(n, fn, ...)                                                                    \
    do {                                                                                       \
        int part_ = (o1 - o0) / (n);                                                           \
        for (int i_ = 0; i_ < part_; i_++)                                                     \
            fn(n, o0 + i_, part_, __VA_ARGS__);                                                \
        for (int o_ = o0 + part_ * (n); o_ < o1; o_++)                                         \
            fn(1, o_, 0, __VA_ARGS__);                                                         \
    } while (0)
#else
/* Runs fn(nr, o, 1, ...) over [o0, o1): n consecutive rows at once, then
 * the remainder one by one. */
#define QD_ROWS(n, fn, ...)                                                                    \
    do {                                                                                       \
        int o_ = o0;                                                                           \
        for (; o_ + (n) <= o1; o_ += (n))                                                      \
            fn(n, o_, 1, __VA_ARGS__);                                                         \
        for (; o_ < o1; o_++)                                                                  \
            fn(1, o_, 1, __VA_ARGS__);                                                         \
    } while (0)
#endif

/* Before vector c (DB bytes) of row r of a pass (row0: the pass's first row). */
AI void qd_prefetch(const void *row0, const void *row, int r, int nr, int c)
{
#if QD_STREAMS
    /* each row stream on its own, one prefetch per line */
    (void)row0, (void)r, (void)nr;
    if ((c * DB) % 64 == 0)
        _mm_prefetch((const char *)row + PF_DIST + (size_t)c * DB, _MM_HINT_T0);
#else
    /* the consecutive rows are one stream: prefetch it linearly */
    (void)row;
    _mm_prefetch((const char *)row0 + PF_DIST + ((size_t)c * (size_t)nr + (size_t)r) * DB,
                 _MM_HINT_T0);
#endif
}

/* ---------------------------------------------------------------- int8 */

/* rows o + r * stride, r < nr */
AI void dec8_rows(int nr, int o, int stride, const qd *c, const qtok *t, float *yt)
{
    const int n = c->n_in;
    const int8_t *q[QD_R8]; // (n_in) each
    vf acc[QD_R8];
    UNROLL
    for (int r = 0; r < nr; r++) {
        q[r] = (const int8_t *)c->data + (size_t)(o + r * stride) * (size_t)n;
        acc[r] = v_zero();
    }
    for (int b = 0; b < n / DB; b++) {
        vi xa = vi_load(t->a + DB * b);
        d_sgn sg = d_sgn_get(t->q, t->sg, b);
        vf d = v_load(t->dvn + VL * b);
        UNROLL
        for (int r = 0; r < nr; r++) {
            qd_prefetch(q[0], q[r], r, nr, b);
            vi s = d_dot(xa, d_neg(vi_load(q[r] + DB * b), sg));
            acc[r] = v_fma(v_cvt_i32(s), d, acc[r]);
        }
    }
    UNROLL
    for (int r = 0; r < nr; r++) {
        size_t row = (size_t)(o + r * stride);
        yt[row] = d_hsum(acc[r]) * ((const float *)c->scales)[row];
    }
}

INGOT_QMATMUL_DECL(QD_NAME(q8))
{
    qd c = qd_make(w);
    qtok t;
    if (n_tok > DEC_MAX_TOK || c.n_in % DB || o0 >= o1 || qtok_alloc(&t, c.n_in) != 0) {
        QD_EXACT(q8)(w, x, n_tok, y, o0, o1);
        return;
    }
    for (int tk = 0; tk < n_tok; tk++) {
        qtok_make(&t, x + (size_t)tk * (size_t)c.n_in, c.n_in, TOK_NAT);
        QD_ROWS(QD_R8, dec8_rows, &c, &t, y + (size_t)tk * (size_t)c.n_out);
    }
    free(t.mem);
}

/* ---------------------------------------------------------------- int4 */

/*
 * Row o's f32 group scales into sc (ng, padded) and
 * @return the lanes of sum_g s_g z_g X_g, the zero points' share: vector
 * work once per row, not per group inside the dot product.
 */
AI vf row_groups(const qd *c, int o, int ng, const float *xg, float *sc)
{
    const uint16_t *s16 = (const uint16_t *)c->scales + (size_t)o * (size_t)ng; // (ng)
    const uint8_t *zp = (const uint8_t *)c->zeros + (size_t)o * (size_t)ng;     // (ng)
    vf corr = v_zero();
    int g = 0;
    for (; g + VL <= ng; g += VL) {
        vf sv = v_load_f16(s16 + g), zv = v_load_u8(zp + g);
        v_store(sc + g, sv);
        corr = v_fma(v_mul(sv, zv), v_load(xg + g), corr);
    }
    if (g == ng)
        return corr;
#if V_MASKED
    vf sv = v_load_part_f16(s16 + g, ng - g), zv = v_load_part_u8(zp + g, ng - g);
    v_store(sc + g, sv);
    return v_fma(v_mul(sv, zv), v_load_part(xg + g, ng - g), corr);
#else
    /* the tail as one more vector where reading VL past it stays inside the
     * arrays (every row but the last few): lanes past ng are zeroed, and xg
     * is 0 there */
    if ((size_t)o * (size_t)ng + (size_t)g + VL <= (size_t)c->n_out * (size_t)ng) {
        vf sv = v_keep(v_load_f16(s16 + g), ng - g), zv = v_load_u8(zp + g);
        v_store(sc + g, sv);
        return v_fma(v_mul(sv, zv), v_load(xg + g), corr);
    }
    float cc[VL] = {0};
    for (int i = 0; g + i < ng; i++) {
        sc[g + i] = _cvtsh_ss(s16[g + i]);
        cc[i] = sc[g + i] * (float)zp[g + i] * xg[g + i];
    }
    return v_add(corr, v_load(cc));
#endif
}

/* rows o + r * stride, r < nr */
AI void dec4_rows(int nr, int o, int stride, const qd *c, const qtok *t, float *yt)
{
    const int n = c->n_in, rowbytes = n / 2, ng = n / c->group;
    const int cpg = c->group / QD_CH; // chunks per group
    const size_t scs = QD_SCS(n);
    const uint8_t *rp[QD_R4]; // (n_in/2) each
    vf acc[QD_R4];
#if QD_Q4_GROUPED
    vf corr[QD_R4]; /* taken off lane by lane */
#else
    float corr[QD_R4]; /* taken off the sum */
#endif
    UNROLL
    for (int r = 0; r < nr; r++) {
        rp[r] = (const uint8_t *)c->data + (size_t)(o + r * stride) * (size_t)rowbytes;
        acc[r] = v_zero();
        vf cv = row_groups(c, o + r * stride, ng, t->xg, t->sc + (size_t)r * scs);
#if QD_Q4_GROUPED
        corr[r] = cv;
#else
        corr[r] = d_hsum(cv);
#endif
    }
#if QD_Q4_GROUPED
    for (int g = 0, ch = 0; g < ng; g++) {
        vf ag[QD_R4];
        UNROLL
        for (int r = 0; r < nr; r++)
            ag[r] = v_zero();
        for (const int ch_end = ch + cpg; ch < ch_end; ch++) {
            vi xl = vi_load(t->lo + DB * ch), xh = vi_load(t->hi + DB * ch);
            vf dv = v_load(t->dvs + VL * ch);
            UNROLL
            for (int r = 0; r < nr; r++) {
                qd_prefetch(rp[0], rp[r], r, nr, ch);
                vi v = vi_load(rp[r] + DB * ch);
                vi s = d_dot2_small(d_lo4(v), xl, d_hi4(v), xh);
                ag[r] = v_fma(v_cvt_i32(s), dv, ag[r]);
            }
        }
        UNROLL
        for (int r = 0; r < nr; r++)
            acc[r] = v_fma(ag[r], v_set1(t->sc[(size_t)r * scs + (size_t)g]), acc[r]);
    }
#else
    for (int ch = 0, g = 0, left = cpg; ch < n / QD_CH; ch++) {
        vi xl = vi_load(t->lo + DB * ch), xh = vi_load(t->hi + DB * ch);
        vf dv = v_load(t->dvs + VL * ch);
        UNROLL
        for (int r = 0; r < nr; r++) {
            qd_prefetch(rp[0], rp[r], r, nr, ch);
            vi v = vi_load(rp[r] + DB * ch);
            vi s = d_dot2_small(d_lo4(v), xl, d_hi4(v), xh);
            acc[r] = v_fma(v_mul(v_cvt_i32(s), dv), v_set1(t->sc[(size_t)r * scs + (size_t)g]), acc[r]);
        }
        if (--left == 0) {
            g++;
            left = cpg;
        }
    }
#endif
#if QD_Q4_GROUPED
    UNROLL
    for (int r = 0; r < nr; r++)
        acc[r] = v_sub(acc[r], corr[r]);
    d_store_sums(nr, acc, yt + o, stride);
#else
    UNROLL
    for (int r = 0; r < nr; r++)
        yt[(size_t)(o + r * stride)] = d_hsum(acc[r]) - corr[r];
#endif
}

INGOT_QMATMUL_DECL(QD_NAME(q4))
{
    qd c = qd_make(w);
    qtok t;
    if (n_tok > DEC_MAX_TOK || c.group <= 0 || c.group % QD_CH || c.n_in % c.group || o0 >= o1 ||
        qtok_alloc(&t, c.n_in) != 0) {
        QD_EXACT(q4)(w, x, n_tok, y, o0, o1);
        return;
    }
    for (int tk = 0; tk < n_tok; tk++) {
        const float *xt = x + (size_t)tk * (size_t)c.n_in;
        qtok_make(&t, xt, c.n_in, TOK_SPLIT);
        d_group_sums(xt, c.n_in, c.group, t.xg);
        QD_ROWS(QD_R4, dec4_rows, &c, &t, y + (size_t)tk * (size_t)c.n_out);
    }
    free(t.mem);
}

/* ---------------------------------------------------------------- nf4 */

/*
 * Byte i of a row holds input 2i in its high nibble and 2i + 1 in its low
 * one (bitsandbytes' order); tab is the code book rounded to 127 v (+ 128
 * with QD_NF4_OFFSET) in every 128-bit lane.  With double quantization
 * each row's absmax values are undone into scratch first, exactly as the
 * reference does (ingot_nf4_row_absmax).
 */
AI void decnf4_rows(int nr, int o, int stride, const qd *c, const qtok *t, vi tab, float *yt)
{
    const int n = c->n_in, rowbytes = n / 2, nb = n / 64;
    const size_t scs = QD_SCS(n);
    vf acc[QD_R4];
    const float *am[QD_R4];   // (nb) per row: the stored f32 absmax, or undone double quant
    const uint8_t *rp[QD_R4]; // (n_in/2) each
    UNROLL
    for (int r = 0; r < nr; r++) {
        int row = o + r * stride;
        rp[r] = (const uint8_t *)c->data + (size_t)row * (size_t)rowbytes;
        acc[r] = v_zero();
        if (QD_NF4_DQ && c->aux) {
            float *a = t->sc + (size_t)r * scs;
            ingot_nf4_row_absmax(c->w, row, a);
            am[r] = a;
        } else {
            am[r] = (const float *)c->scales + (size_t)row * (size_t)nb;
        }
    }
    for (int ch = 0; ch < n / QD_CH; ch++) {
        vi xe = vi_load(t->lo + DB * ch), xo = vi_load(t->hi + DB * ch);
#if QD_NF4_OFFSET
        vf dv = v_mul(v_load(t->dvs + VL * ch), v_set1(1.0f / 127.0f));
        vi xq = vi_load(t->xqs + VL * ch);
#else
        vi ae = vi_load(t->alo + DB * ch), ao = vi_load(t->ahi + DB * ch);
        vf dv = v_load(t->dvs + VL * ch);
#endif
        UNROLL
        for (int r = 0; r < nr; r++) {
            qd_prefetch(rp[0], rp[r], r, nr, ch);
            vi v = vi_load(rp[r] + DB * ch);
            vi we = d_lut(tab, d_hi4(v)), wo = d_lut(tab, d_lo4(v));
#if QD_NF4_OFFSET
            vi s = d_sub32(d_dot2(we, xe, wo, xo), xq);
#else
            vi s = d_dot2(ae, d_neg(we, xe), ao, d_neg(wo, xo));
#endif
            vf sv = v_spread8(am[r] + QD_CH / 64 * ch, QD_CH / 64);
            acc[r] = v_fma(v_mul(v_cvt_i32(s), dv), sv, acc[r]);
        }
    }
#if !QD_NF4_OFFSET
    UNROLL
    for (int r = 0; r < nr; r++)
        acc[r] = v_mul(acc[r], v_set1(1.0f / 127.0f));
#endif
    d_store_sums(nr, acc, yt + o, stride);
}

INGOT_QMATMUL_DECL(QD_NAME(nf4))
{
    qd c = qd_make(w);
    qtok t;
    if (n_tok > DEC_MAX_TOK || c.n_in % QD_CH || (!QD_NF4_DQ && c.aux) || o0 >= o1 ||
        qtok_alloc(&t, c.n_in) != 0) {
        QD_EXACT(nf4)(w, x, n_tok, y, o0, o1);
        return;
    }
    int8_t tab[16];
    for (int i = 0; i < 16; i++)
        tab[i] = (int8_t)(uint8_t)(lrintf(127.0f * ingot_nf4_code[i]) + (QD_NF4_OFFSET ? 128 : 0));
    const vi lut = d_tab16(tab);
    for (int tk = 0; tk < n_tok; tk++) {
        qtok_make(&t, x + (size_t)tk * (size_t)c.n_in, c.n_in,
                  QD_NF4_OFFSET ? TOK_SPLIT | TOK_XQS : TOK_SPLIT | TOK_SPLIT_ABS);
        QD_ROWS(QD_R4, decnf4_rows, &c, &t, lut, y + (size_t)tk * (size_t)c.n_out);
    }
    free(t.mem);
}
