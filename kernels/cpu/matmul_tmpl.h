/*
 * matmul_tmpl.h - the SIMD matmul, written once against the vector layer
 * (vec_avx2.h / vec_avx512.h) and included by each ISA file, which first
 * defines the blocking parameters:
 *
 *   MV_TMAX decode: tokens per pass over W
 *   MV_STREAMS decode of one token: rows read at once, one from each of
 *           MV_STREAMS equal parts of the row range
 *   MV_SHORT decode of 2-3 tokens: longest row (elements) still read one
 *           row at a time
 *   MV_UMAX decode of 2-3 tokens: k-unroll (accumulators per token) for
 *           short rows
 *   MV_RL(T) decode of T = 2-3 tokens: rows read at once for long rows
 *   MV_RMAX the largest MV_RL and MV_STREAMS
 *   MM_MR   prefill micro-tile: tokens (broadcast operand)
 *   MM_NV   prefill micro-tile: vectors of outputs (NR = MM_NV * VL rows of W)
 *   MM_KC   prefill: depth of a block (a token tile, MM_MR * MM_KC floats,
 *           stays in L1)
 *   MM_NC   prefill: at most this many rows of W per packed block (a multiple
 *           of NR; fewer when the block would pass WP_BYTES)
 *   MM_MIN_TOK  fewest tokens that take the prefill path
 *
 * Decode (few tokens) is bound by reading W: stream its rows with 256-bit
 * loads on every ISA (vec_256.h), convert in registers, accumulate per
 * (token, row) along the row, reduce at its end.
 * Prefill is bound by FMAs: W is converted once into f32 panels of NR rows,
 * transposed so one vector load gives VL outputs; a register-blocked
 * MM_MR x NR micro-kernel runs each tile of MM_MR tokens (in L1) against
 * every panel of a block, MM_KC deep at a time (in L2): the BLIS loop nest.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"

#define NR (MM_NV * VL)
/* Register blocks live in arrays indexed by small constant loops: unroll them all. */
#define UNROLL _Pragma("GCC unroll 16")
#define MV_T(t) ((t) < MV_TMAX ? (t) : MV_TMAX)

/* ---- weight element access, folded to one type when type is a constant ---- */

/*
 * name(type, w, i) loads a vector of type T from element i of w, and
 * name_part(type, w, i, n) its first n lanes, with the loads of layer L
 * (v: the ISA's width, h: vec_256.h's).
 */
#define W_LOADERS(T, L, name)                                                  \
    VI T name(int type, const void *w, size_t i)                               \
    {                                                                          \
        if (type == INGOT_DT_BF16)                                             \
            return L##_load_bf16((const uint16_t *)w + i);                     \
        if (type == INGOT_DT_F16)                                              \
            return L##_load_f16((const uint16_t *)w + i);                      \
        return L##_load((const float *)w + i);                                 \
    }                                                                          \
    VI T name##_part(int type, const void *w, size_t i, int n)                 \
    {                                                                          \
        if (type == INGOT_DT_BF16)                                             \
            return L##_load_part_bf16((const uint16_t *)w + i, n);             \
        if (type == INGOT_DT_F16)                                              \
            return L##_load_part_f16((const uint16_t *)w + i, n);              \
        return L##_load_part((const float *)w + i, n);                         \
    }

W_LOADERS(vf, v, w_load)
/* The same at decode width (vec_256.h: 256-bit loads stream fastest). */
W_LOADERS(hv, h, hw_load)

VI float w_scalar(int type, const void *w, size_t i)
{
    if (type == INGOT_DT_BF16) {
        uint32_t u = (uint32_t)((const uint16_t *)w)[i] << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    if (type == INGOT_DT_F16)
        return _cvtsh_ss(((const uint16_t *)w)[i]);
    return ((const float *)w)[i];
}

/* ---- decode: T tokens x R rows starting at row o ---- */

/*
 * Rows of W are contiguous, so one row at a time is one long sequential
 * stream the hardware prefetcher follows across rows.  That is best while x
 * stays in L1 beside the stream (rows up to MV_SHORT elements).  Longer rows
 * push x out of L1 and each x reload competes with the W stream: then take
 * R rows at once, so each x load feeds R FMAs; R rows mean R streams, which
 * only pays when each is long.  Short rows unroll along k (U accumulators)
 * to cover the FMA latency; with R rows the R accumulators do.  Each row's
 * sum runs in the same order whatever R, so no row split changes a bit.
 *
 * That is for 2 and more tokens.  One token (decode proper) reads
 * MV_STREAMS rows far apart at once instead (stride: rows between them),
 * one from each part of the range: one sequential stream per core leaves
 * bandwidth unused where the prefetchers run only so far ahead of a stream
 * (Zen 2 reads 15 GB/s with one, 25 with six).  Every row, in a part or in
 * the remainder, is summed with one accumulator.
 */

/* w: (n_out, n_in); x: (T, n_in); y: (T, n_out); rows o + r * stride, r < R */
VI void mv_block(int type, int T, int R, int U, const void *w, size_t n_in, const float *x,
                 float *y, size_t n_out, int o, int stride)
{
    hv acc[MV_TMAX][MV_RMAX][MV_UMAX];
    const size_t row0 = (size_t)o * n_in, rstep = (size_t)stride * n_in;
    UNROLL
    for (int t = 0; t < T; t++)
        UNROLL
        for (int r = 0; r < R; r++)
            UNROLL
            for (int u = 0; u < U; u++)
                acc[t][r][u] = h_zero();
    size_t k = 0;
    for (; k + (size_t)(U * HVL) <= n_in; k += (size_t)(U * HVL)) {
        UNROLL
        for (int u = 0; u < U; u++) {
            hv xv[MV_TMAX];
            UNROLL
            for (int t = 0; t < T; t++)
                xv[t] = h_load(x + (size_t)t * n_in + k + (size_t)(u * HVL));
            UNROLL
            for (int r = 0; r < R; r++) {
                hv wv = hw_load(type, w, row0 + (size_t)r * rstep + k + (size_t)(u * HVL));
                UNROLL
                for (int t = 0; t < T; t++)
                    acc[t][r][u] = h_fma(xv[t], wv, acc[t][r][u]);
            }
        }
    }
    for (; k < n_in; k += HVL) {
        int n = n_in - k < HVL ? (int)(n_in - k) : HVL;
        UNROLL
        for (int r = 0; r < R; r++) {
            hv wv = hw_load_part(type, w, row0 + (size_t)r * rstep + k, n);
            UNROLL
            for (int t = 0; t < T; t++)
                acc[t][r][0] = h_fma(h_load_part(x + (size_t)t * n_in + k, n), wv, acc[t][r][0]);
        }
    }
    UNROLL
    for (int t = 0; t < T; t++)
        UNROLL
        for (int r = 0; r < R; r++) {
            UNROLL
            for (int u = 1; u < U; u++)
                acc[t][r][0] = h_add(acc[t][r][0], acc[t][r][u]);
            y[(size_t)t * n_out + (size_t)o + (size_t)r * (size_t)stride] = h_hsum(acc[t][r][0]);
        }
}

VI void mv_rows(int type, int T, const ingot_wmat *w, const float *x, float *y, int o0, int o1)
{
    size_t n_in = (size_t)w->n_in, n_out = (size_t)w->n_out;
    int o = o0;
    if (T == 1) { /* MV_STREAMS rows far apart at once */
        int part = (o1 - o0) / MV_STREAMS;
        for (int i = 0; i < part; i++)
            mv_block(type, 1, MV_STREAMS, 1, w->part[INGOT_F_DATA], n_in, x, y, n_out, o0 + i,
                     part);
        for (o = o0 + part * MV_STREAMS; o < o1; o++)
            mv_block(type, 1, 1, 1, w->part[INGOT_F_DATA], n_in, x, y, n_out, o, 1);
        return;
    }
    if (n_in <= MV_SHORT) {
        for (; o < o1; o++)
            mv_block(type, T, 1, MV_UMAX, w->part[INGOT_F_DATA], n_in, x, y, n_out, o, 1);
        return;
    }
    for (; o + MV_RL(T) <= o1; o += MV_RL(T))
        mv_block(type, T, MV_RL(T), 1, w->part[INGOT_F_DATA], n_in, x, y, n_out, o, 1);
    for (; o < o1; o++)
        mv_block(type, T, 1, 1, w->part[INGOT_F_DATA], n_in, x, y, n_out, o, 1);
}

/* ---- prefill: packed operands and the register-blocked micro-kernel ---- */

/*
 * wp[k][r] (kc, NR) = W[o + r][k0 + k] as f32, rows past nr zero so the
 * micro-kernel never branches on them.  Whole VL x VL blocks go through
 * registers and a transpose, so each store fills a line; the ragged edges
 * go element by element.  w: (n_out, n_in)
 */
VI void pack_panel(int type, const void *w, size_t n_in, int o, int nr, size_t k0, int kc,
                   float *wp)
{
    int kv = kc / VL * VL, rv = nr / VL * VL;
    for (int g = 0; g < rv; g += VL) {
        const size_t src = (size_t)(o + g) * n_in + k0;
        for (int k = 0; k < kv; k += VL) {
            vf t[VL];
            UNROLL
            for (int r = 0; r < VL; r++)
                t[r] = w_load(type, w, src + (size_t)r * n_in + (size_t)k);
            v_transpose(t);
            UNROLL
            for (int j = 0; j < VL; j++)
                v_store(wp + (size_t)(k + j) * NR + g, t[j]);
        }
        for (int r = 0; r < VL; r++)
            for (int k = kv; k < kc; k++)
                wp[(size_t)k * NR + g + r] = w_scalar(type, w, src + (size_t)r * n_in + (size_t)k);
    }
    for (int r = rv; r < nr; r++) {
        size_t src = (size_t)(o + r) * n_in + k0;
        for (int k = 0; k < kc; k++)
            wp[(size_t)k * NR + r] = w_scalar(type, w, src + (size_t)k);
    }
    for (int r = nr; r < NR; r++)
        for (int k = 0; k < kc; k++)
            wp[(size_t)k * NR + r] = 0.0f;
}

/*
 * y(mr, nr) (+)= xt(mr, kc) . wp(kc, NR): xt rows MM_KC apart (a copied
 * tile, so every broadcast is one pointer plus a constant), y rows ldy
 * apart, only its first mr rows and nr columns touched; first: overwrite
 * instead of add.
 */
VI void ukernel(int mr, int kc, const float *xt, const float *wp, float *y, size_t ldy, int nr,
                int first)
{
    vf c[MM_MR][MM_NV];
    UNROLL
    for (int i = 0; i < mr; i++)
        UNROLL
        for (int j = 0; j < MM_NV; j++) {
            int n = nr - j * VL;
            float *yp = y + (size_t)i * ldy + j * VL;
            c[i][j] = first || n <= 0 ? v_zero() : n >= VL ? v_load(yp) : v_load_part(yp, n);
        }
    for (int k = 0; k < kc; k++) {
        vf b[MM_NV];
        UNROLL
        for (int j = 0; j < MM_NV; j++)
            b[j] = v_load(wp + (size_t)k * NR + j * VL);
        UNROLL
        for (int i = 0; i < mr; i++) {
            vf a = v_set1(xt[i * MM_KC + k]);
            UNROLL
            for (int j = 0; j < MM_NV; j++)
                c[i][j] = v_fma(a, b[j], c[i][j]);
        }
    }
    UNROLL
    for (int i = 0; i < mr; i++)
        UNROLL
        for (int j = 0; j < MM_NV; j++) {
            int n = nr - j * VL;
            float *yp = y + (size_t)i * ldy + j * VL;
            if (n >= VL)
                v_store(yp, c[i][j]);
            else if (n > 0)
                v_store_part(yp, c[i][j], n);
        }
}

/* Cases past MM_MR - 1 are dead code, folded away. */
#define UK_CASE(m)                                                                       \
    case m:                                                                              \
        if ((m) < MM_MR)                                                                 \
            ukernel((m) < MM_MR ? (m) : 1, kc, xt, wp, y, ldy, nr, first);               \
        break;

/* The token tail of a block: one instantiation per remainder (MM_MR <= 16). */
static void ukernel_tail(int mr, int kc, const float *xt, const float *wp, float *y, size_t ldy,
                         int nr, int first)
{
    switch (mr) {
        UK_CASE(1) UK_CASE(2) UK_CASE(3) UK_CASE(4) UK_CASE(5) UK_CASE(6) UK_CASE(7)
        UK_CASE(8) UK_CASE(9) UK_CASE(10) UK_CASE(11) UK_CASE(12) UK_CASE(13) UK_CASE(14)
        UK_CASE(15)
    default:
        break;
    }
}

/*
 * Packing reads W one panel of NR rows at a time, all of its depth: those
 * rows are contiguous, so one memcpy streams them into a staging copy at
 * full read bandwidth, and the transposes then read from cache.  Packing
 * depth block by depth block instead would read W as NR short runs per
 * block, which DRAM serves at a fraction of its bandwidth.
 * A row block is as many panels as fit WP_BYTES (mostly L3): the more rows
 * a block has, the fewer times the token tiles are copied.
 */
#define WP_BYTES ((size_t)4 << 20)
#define XT_FLOATS ((size_t)MM_MR * MM_KC)

typedef void (*pack_fn)(const void *w, size_t n_in, int o, int nr, void *stage, float *wp);

static int block_rows(size_t n_in)
{
    size_t r = WP_BYTES / (n_in * sizeof(float)) / NR * NR;
    return r < NR ? NR : r > MM_NC ? MM_NC : (int)r;
}

/*
 * One depth block of a row block: panels of (kc, NR) floats, panel_stride
 * apart from wp on, against every token tile; each tile is copied once (L1)
 * and run against all panels.  x: (n_tok, n_in); y: (n_tok, n_out).
 */
static void gemm_block(const float *x, size_t n_in, int n_tok, size_t k0, int kc, const float *wp,
                       size_t panel_stride, int ob, int oe, float *xt, float *y, size_t n_out)
{
    for (int t = 0; t < n_tok; t += MM_MR) {
        int mr = n_tok - t < MM_MR ? n_tok - t : MM_MR;
        for (int i = 0; i < mr; i++)
            memcpy(xt + i * MM_KC, x + (size_t)(t + i) * n_in + k0, (size_t)kc * sizeof(float));
        for (int o = ob; o < oe; o += NR) {
            const float *wpp = wp + (size_t)((o - ob) / NR) * panel_stride;
            int nr = oe - o < NR ? oe - o : NR;
            float *yt = y + (size_t)t * n_out + (size_t)o;
            if (mr == MM_MR)
                ukernel(MM_MR, kc, xt, wpp, yt, n_out, nr, k0 == 0);
            else
                ukernel_tail(mr, kc, xt, wpp, yt, n_out, nr, k0 == 0);
        }
    }
}

/*
 * x: (n_tok, n_in); y: (n_tok, n_out), rows [o0, o1).  The BLIS loop nest:
 * row blocks (W converted and packed once per element, at full depth), depth
 * blocks of MM_KC, token tiles, panels.  scratch: gemm_scratch_floats().
 */
static void gemm(pack_fn pack, const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                 int o1, float *scratch)
{
    size_t n_in = (size_t)w->n_in, n_out = (size_t)w->n_out, panel = n_in * NR;
    int nc = block_rows(n_in);
    float *wp = scratch, *xt = wp + (size_t)nc * n_in, *stage = xt + XT_FLOATS;
    for (int ob = o0; ob < o1; ob += nc) {
        int oe = o1 - ob < nc ? o1 : ob + nc;
        for (int o = ob; o < oe; o += NR)
            pack(w->part[INGOT_F_DATA], n_in, o, oe - o < NR ? oe - o : NR, stage,
                 wp + (size_t)((o - ob) / NR) * panel);
        for (size_t k0 = 0; k0 < n_in; k0 += MM_KC) {
            int kc = n_in - k0 < MM_KC ? (int)(n_in - k0) : MM_KC;
            gemm_block(x, n_in, n_tok, k0, kc, wp + k0 * NR, panel, ob, oe, xt, y, n_out);
        }
    }
}

/* packed block + token tile + staging (NR rows of W, f32 at most) */
static size_t gemm_scratch_floats(size_t n_in)
{
    return (size_t)block_rows(n_in) * n_in + XT_FLOATS + NR * n_in;
}

/*
 * The scratch is kept per thread, grown on demand and freed when the thread
 * ends: a fresh block per call would be mmap'ed and faulted in each time.
 */
struct scratch {
    size_t floats;
    float *p;
};

static pthread_key_t scratch_key;
static int scratch_key_ok;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v)
{
    struct scratch *s = v;
    free(s->p);
    free(s);
}

static void scratch_key_make(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

static float *gemm_scratch(size_t floats)
{
    pthread_once(&scratch_once, scratch_key_make);
    if (!scratch_key_ok)
        return NULL;
    struct scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->floats < floats) {
        free(s->p);
        size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
        s->p = aligned_alloc(64, bytes);
        s->floats = s->p ? floats : 0;
    }
    return s->p;
}

/* ---- entry points, one per weight type ---- */

VI void matmul_any(int type, pack_fn pack, const ingot_wmat *w, const float *x, int n_tok,
                   float *y, int o0, int o1)
{
    size_t n_in = (size_t)w->n_in, n_out = (size_t)w->n_out;
    if (n_in == 0) {
        for (int t = 0; t < n_tok; t++)
            memset(y + (size_t)t * n_out + o0, 0, (size_t)(o1 - o0) * sizeof(float));
        return;
    }
    if (n_tok >= MM_MIN_TOK) {
        float *scratch = gemm_scratch(gemm_scratch_floats(n_in));
        if (scratch) {
            gemm(pack, w, x, n_tok, y, o0, o1, scratch);
            return;
        }
        /* without scratch memory, fall back on the (slower) decode loop */
    }
    for (int t = 0; t < n_tok; t += MV_TMAX) {
        const float *xt = x + (size_t)t * n_in;
        float *yt = y + (size_t)t * n_out;
        switch (MV_T(n_tok - t)) {
        case 1: mv_rows(type, 1, w, xt, yt, o0, o1); break;
        case 2: mv_rows(type, MV_T(2), w, xt, yt, o0, o1); break;
        case 3: mv_rows(type, MV_T(3), w, xt, yt, o0, o1); break;
        default: mv_rows(type, MV_T(4), w, xt, yt, o0, o1); break;
        }
    }
}

#define MATMUL_TYPE(name, type, es)                                                      \
    static void pack_##name(const void *w, size_t n_in, int o, int nr, void *stage,        \
                            float *wp)                                                   \
    {                                                                                    \
        memcpy(stage, (const char *)w + (size_t)o * n_in * (es), (size_t)nr * n_in * (es)); \
        pack_panel(type, stage, n_in, 0, nr, 0, (int)n_in, wp);                          \
    }                                                                                    \
    static void matmul_##name(const ingot_wmat *w, const float *x, int n_tok, float *y,  \
                              int o0, int o1)                                            \
    {                                                                                    \
        matmul_any(type, pack_##name, w, x, n_tok, y, o0, o1);                           \
    }

MATMUL_TYPE(f32, INGOT_DT_F32, 4)
MATMUL_TYPE(f16, INGOT_DT_F16, 2)
MATMUL_TYPE(bf16, INGOT_DT_BF16, 2)

/* ---- f32 vector helpers ---- */

static float dot_f32(const float *a, const float *b, int n)
{
    vf s0 = v_zero(), s1 = v_zero();
    int i = 0;
    for (; i + 2 * VL <= n; i += 2 * VL) {
        s0 = v_fma(v_load(a + i), v_load(b + i), s0);
        s1 = v_fma(v_load(a + i + VL), v_load(b + i + VL), s1);
    }
    for (; i + VL <= n; i += VL)
        s0 = v_fma(v_load(a + i), v_load(b + i), s0);
    if (i < n)
        s1 = v_fma(v_load_part(a + i, n - i), v_load_part(b + i, n - i), s1);
    return v_hsum(v_add(s0, s1));
}

static void axpy_f32(float a, const float *x, float *y, int n)
{
    vf av = v_set1(a);
    int i = 0;
    for (; i + VL <= n; i += VL)
        v_store(y + i, v_fma(av, v_load(x + i), v_load(y + i)));
    if (i < n)
        v_store_part(y + i, v_fma(av, v_load_part(x + i, n - i), v_load_part(y + i, n - i)),
                     n - i);
}
