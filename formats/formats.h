/*
 * quant.h - quantized weight formats (internal API).
 *
 * The reference quantizers here are the specification of the formats
 * (docs/QUANT_FORMATS.md); the SIMD matmul kernels in kernels/cpu/qmatmul_*.c
 * are tested against ingot_dequantize_ref.
 *
 * A weight W has shape (n_out, n_in), row-major, and is quantized along n_in.
 * Every format is stored as up to four "parts" (plain arrays) in this order:
 *
 *   int8 (INGOT_DT_Q8): qs     i8  (n_out, n_in)      scales f32 (n_out)
 *   nf4  (INGOT_DT_NF4): qs    u8  (n_out*n_in/2)     absmax f32 (n_out*n_in/64)
 *        with double quant:    qs, absmax_q u8 (nb), absmax_absmax f32 (ceil(nb/256)),
 *                              absmax_offset f32 (1)     where nb = n_out*n_in/64
 *   int4 (INGOT_DT_Q4): qs     u8  (n_out, n_in/2)    scales f16 (n_out, n_in/G)
 *                       zeros  u8  (n_out, n_in/G)
 *
 * How the parts sit in an ingot_wmat (kernels/cpu/kernels.h):
 *   int8: data = qs, scales = scales (f32).
 *   nf4:  data = qs, scales = absmax (f32), aux = NULL;
 *         double quant: data = qs, scales = absmax_q (u8), aux = absmax_absmax (f32),
 *         zeros = absmax_offset (f32[1]); aux != NULL marks double quant.
 *   int4: data = qs, scales = scales (f16), zeros = zeros (u8), group_size = G.
 * ingot_quant_wmat() does this binding; nobody else needs to know it.
 */
#ifndef INGOT_QUANT_H
#define INGOT_QUANT_H

#include <stdint.h>
#include <string.h>

#include "ingot.h"

/**
 * A weight matrix W of shape (n_out, n_in), row-major: row o holds the n_in
 * input weights of output o.  Plain types use data only; quantized types use
 * the parts described in docs/FORMAT.md (qs / scales / zeros / absmax).
 */
typedef struct ingot_wmat {
    ingot_dtype type;
    int n_out, n_in;
    int group_size;        /* quantized formats */
    const void *data;      /* plain: (n_out, n_in) elements; quantized: packed codes "qs" */
    const void *scales;    /* quantized: per-group or per-row scales */
    const void *zeros;     /* int4: per-group zero points */
    const void *aux;       /* format-specific extra array (e.g. NF4 double-quant) */
} ingot_wmat;

#define INGOT_NF4_BLOCK 64       /* bitsandbytes blocksize for 4-bit weights */
#define INGOT_NF4_DQ_BLOCK 256   /* bitsandbytes blocksize for the absmax statistics */
#define INGOT_Q4_DEFAULT_GROUP 128
#define INGOT_Q4_GROUP_ALIGN 32  /* int4 groups are whole 32-weight (16-byte) chunks */

/** One stored array of a quantized weight. */
typedef struct ingot_qpart {
    const char *role;   /* "qs", "scales", "zeros", "absmax", "absmax_q", ... (static) */
    ingot_dtype dtype;  /* I8, U8, F16 or F32 */
    int ndim;           /* 1 or 2 */
    int64_t shape[2];
    uint64_t bytes;
} ingot_qpart;

typedef struct ingot_qparts {
    int n;
    ingot_qpart p[4];
} ingot_qparts;

/**
 * Describes the parts of a (type, n_out, n_in) weight.  group_size is used by
 * int4 only (<= 0 picks INGOT_Q4_DEFAULT_GROUP); double_quant by nf4 only.
 * @return 0, or -1 with err "<tensor>: <why>" (INGOT_ERR_SHAPE for a shape the
 *         format cannot hold, INGOT_ERR_ARG for a bad type or group size).
 */
int ingot_quant_layout(ingot_dtype type, int64_t n_out, int64_t n_in, int group_size,
                       int double_quant, ingot_qparts *out, const char *tensor,
                       ingot_error *err);

/**
 * Reference quantization of w (n_out, n_in) f32 into caller-allocated parts,
 * sized and ordered as ingot_quant_layout says.  Deterministic: the result does
 * not depend on the number of OpenMP threads.
 * @return 0, or -1 with err: INGOT_ERR_NONFINITE naming the tensor and the
 *         first NaN/Inf element, or a layout error.
 */
int ingot_quantize_ref(ingot_dtype type, const float *w, int64_t n_out, int64_t n_in,
                       int group_size, int double_quant, void *const parts[],
                       const char *tensor, ingot_error *err);

/**
 * Binds parts (as laid out by ingot_quant_layout) to a weight matrix for the
 * kernels.  The parts must outlive w.  @return 0, or -1 with err.
 */
int ingot_quant_wmat(ingot_wmat *w, ingot_dtype type, int64_t n_out, int64_t n_in,
                     int group_size, int double_quant, const void *const parts[],
                     const char *tensor, ingot_error *err);

/** Reference dequantization of rows [o0, o1) into out ((o1-o0), n_in) f32. */
void ingot_dequantize_ref(const ingot_wmat *w, int o0, int o1, float *out);

/** Elements [k0, k1) of row o into out (k1-k0); k0 and k1 even (or k1 == n_in). */
void ingot_dequantize_ref_part(const ingot_wmat *w, int o, int k0, int k1, float *out);

/** @return the stored bits per weight (all parts counted), or 0 on a bad shape. */
double ingot_quant_bits_per_weight(ingot_dtype type, int64_t n_out, int64_t n_in,
                                   int group_size, int double_quant);

/* ---- helpers for the quantizers ---- */

/* min/max for values that are never NaN (the quantizers check the input is
 * finite first; Inf from an overflowing ratio is fine).  Unlike fminf/fmaxf,
 * which GCC calls in libm without -ffast-math, these compile to minss/maxss
 * and vectorize. */
static inline float ingot_qminf(float a, float b)
{
    return a < b ? a : b;
}

static inline float ingot_qmaxf(float a, float b)
{
    return a > b ? a : b;
}

/* ---- format details shared by the reference and the kernels ---- */

/** The 16 NF4 values (bitsandbytes' nf4 code book), code 0 = -1.0, code 15 = 1.0. */
extern const float ingot_nf4_code[16];

/** bitsandbytes dQuantizeNF4: code of a value normalized to [-1, 1] (NaN -> 0). */
uint8_t ingot_nf4_quantize(float x);

/**
 * bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7,
 * total_bits=8): 256 sorted f32 values in [-0.99296874, 1.0].
 */
const float *ingot_dynamic_map(void);

/** bitsandbytes dQuantize<0> (non-stochastic): index in code of x. */
uint8_t ingot_dynamic_quantize(const float *code, float x);

/* per-format internals (quant_int8.c, quant_nf4.c, quant_int4.c) */
void ingot_q8_quantize_row(const float *w, int64_t n_in, int8_t *qs, float *scale);
void ingot_q8_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out);
void ingot_nf4_quantize_row(const float *w, int64_t n_in, uint8_t *qs, float *absmax);
void ingot_nf4_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out);
void ingot_nf4_double_quant(const float *absmax, int64_t nb, uint8_t *absmax_q,
                            float *absmax_absmax, float *offset);
void ingot_q4_quantize_row(const float *w, int64_t n_in, int group_size, uint8_t *qs,
                           uint16_t *scales, uint8_t *zeros);
void ingot_q4_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out);
/* f32 scale -> the f16 AutoAWQ would store, clamped into [2^-14, 65504]. */
uint16_t ingot_q4_scale_f16(float s);

/**
 * absmax of NF4 block b (b = o * n_in/64 + k/64), undoing double quant the
 * way bitsandbytes does: code[q] * absmax_absmax, rounded, then + offset,
 * rounded (two f32 operations, never fused: quant files build with
 * -ffp-contract=off).
 */
static inline float ingot_nf4_absmax(const ingot_wmat *w, int64_t b)
{
    if (!w->aux)
        return ((const float *)w->scales)[b];
    const uint8_t *q = (const uint8_t *)w->scales; // (nb)
    const float *aa = (const float *)w->aux;       // (ceil(nb/256))
    float off = *(const float *)w->zeros;          // (1)
    float v = ingot_dynamic_map()[q[b]] * aa[b / INGOT_NF4_DQ_BLOCK];
    return v + off;
}

/** Fills out[0 .. n_in/64) with the absmax of each block of row o. */
static inline void ingot_nf4_row_absmax(const ingot_wmat *w, int o, float *out)
{
    int64_t nb = w->n_in / INGOT_NF4_BLOCK, b0 = (int64_t)o * nb;
    if (!w->aux) {
        memcpy(out, (const float *)w->scales + b0, (size_t)nb * sizeof(float));
        return;
    }
    const float *code = ingot_dynamic_map();
    const uint8_t *q = (const uint8_t *)w->scales; // (nb)
    const float *aa = (const float *)w->aux;       // (ceil(nb/256))
    float off = *(const float *)w->zeros;          // (1)
    for (int64_t j = 0; j < nb; j++) {
        float v = code[q[b0 + j]] * aa[(b0 + j) / INGOT_NF4_DQ_BLOCK];
        out[j] = v + off;
    }
}

#endif /* INGOT_QUANT_H */
