/*
 * gguf_quant.c - ingot's quantized rows as ggml blocks (ggml-common.h:
 * block_q4_1, block_q8_0; ggml-quants.c: dequantize_row_q4_1/_q8_0).
 *
 *   Q4_1: 32 weights, f16 d, f16 m, 16 bytes; byte j holds weight j (low
 *         nibble) and weight j + 16 (high nibble); w = q * d + m.
 *         ingot int4: w = (q - zero) * scale per group of G (a multiple of
 *         32, so a block lies in one group).  d = scale (already f16, exact),
 *         m = -zero * scale rounded to f16: the codes stay, and the only
 *         change is m's rounding, at most half an f16 ulp of 15 * scale
 *         (15 * 2^-11 = 0.73 % of a quantization step at most).
 *   Q5_1: 32 weights, f16 d, f16 m, 4 bytes qh, 16 bytes qs; weight j's
 *         code is its nibble (qs[j] low for j < 16, qs[j-16] high after)
 *         plus bit j of the little-endian qh word times 16; w = q * d + m.
 *         ingot int5 as int4 above: d = scale, m = -zero * scale in f16.
 *   Q8_0: 32 weights, f16 d, 32 int8; w = q * d.  ingot int8: w = q * scale
 *         per row (f32).  d = scale rounded to f16, the codes stay: the
 *         change is |q| * |d - scale| <= 127 * 2^-11 * scale (6 % of a step
 *         at most, for the largest codes).
 * Every converted weight is compared with ingot's own dequantization (the
 * arithmetic of formats/quant_int4.c and quant_int8.c) to report the
 * largest change.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "export/gguf.h"
#include "util/util.h"

/* Records one weight's change |got - want| in a group of scale `step`. */
static void note(ingot_gguf_rounding *r, float got, float want, float step, const char *tensor)
{
    double d = fabs((double)got - (double)want);
    if (d > r->max_abs)
        r->max_abs = d;
    if (step > 0 && d / step > r->max_steps) {
        r->max_steps = d / step;
        snprintf(r->tensor, sizeof r->tensor, "%s", tensor);
    }
}

static void put_f16(uint8_t *p, uint16_t h)
{
    memcpy(p, &h, 2);
}

/* The d and m of a Q4_1/Q5_1 block from an int4/int5 group's scale (f16) and
 * zero: d = scale as stored, m = -zero * scale in f16, written at blk.
 * @return 0, or -1 when m overflows f16. */
static int put_dm(uint8_t *blk, uint16_t scale, int zero, float *m, int o, const char *tensor,
                  ingot_error *err)
{
    const float s = ingot_f16_to_f32(scale);
    const uint16_t m16 = ingot_f32_to_f16(-(float)zero * s);
    *m = ingot_f16_to_f32(m16);
    if (!isfinite(*m))
        return ingot_fail(err, INGOT_ERR_NONFINITE, "%s: row %d: -zero * scale = %g does not fit in f16",
                          tensor, o, -(double)zero * s);
    put_f16(blk, scale);
    put_f16(blk + 2, m16);
    return 0;
}

int ingot_gguf_q4_1_row(const ingot_wmat *w, int o, uint8_t *out, ingot_gguf_rounding *r,
                        const char *tensor, ingot_error *err)
{
    const int64_t n_in = w->n_in, g = w->group_size, ng = n_in / g;
    const uint8_t *q = (const uint8_t *)w->part[INGOT_Q4_QS] + (int64_t)o * (n_in / 2);
    const uint16_t *sc = (const uint16_t *)w->part[INGOT_Q4_SCALES] + (int64_t)o * ng;
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS] + (int64_t)o * ng;
    for (int64_t b = 0; b < n_in / INGOT_GGML_QK; b++) {
        const int64_t k0 = b * INGOT_GGML_QK, grp = k0 / g;
        const float s = ingot_f16_to_f32(sc[grp]);
        const int z = zp[grp];
        uint8_t *blk = out + b * INGOT_GGML_Q4_1_BYTES;
        float m;
        if (put_dm(blk, sc[grp], z, &m, o, tensor, err) != 0)
            return -1;
        for (int j = 0; j < INGOT_GGML_QK / 2; j++) {
            /* ingot: byte k/2 holds weight k (low) and k+1 (high) */
            int lo = (q[(k0 + j) / 2] >> (4 * ((k0 + j) & 1))) & 15;
            int hi = (q[(k0 + j + 16) / 2] >> (4 * ((k0 + j + 16) & 1))) & 15;
            blk[4 + j] = (uint8_t)(lo | hi << 4);
            note(r, (float)lo * s + m, (float)(lo - z) * s, s, tensor);
            note(r, (float)hi * s + m, (float)(hi - z) * s, s, tensor);
        }
    }
    r->n_weights += (uint64_t)n_in;
    return 0;
}

/* Code k of an int5 row: its nibble and its high bit (formats/quant_intb.c). */
static int q5_code(const uint8_t *qs, const uint8_t *qh, int64_t k)
{
    return ((qs[k / 2] >> (4 * (k & 1))) & 15) | ((qh[k / 8] >> (k & 7)) & 1) << 4;
}

int ingot_gguf_q5_1_row(const ingot_wmat *w, int o, uint8_t *out, ingot_gguf_rounding *r,
                        const char *tensor, ingot_error *err)
{
    const int64_t n_in = w->n_in, g = w->group_size, ng = n_in / g;
    const uint8_t *qs = (const uint8_t *)w->part[INGOT_QB_QS] + (int64_t)o * (n_in / 2); // (n_out, n_in/2)
    const uint8_t *qh = (const uint8_t *)w->part[INGOT_QB_QH] + (int64_t)o * (n_in / 8); // (n_out, n_in/8)
    const uint16_t *sc = (const uint16_t *)w->part[INGOT_QB_SCALES] + (int64_t)o * ng;    // (n_out, n_in/G)
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_QB_ZEROS] + (int64_t)o * ng;      // (n_out, n_in/G)
    for (int64_t b = 0; b < n_in / INGOT_GGML_QK; b++) {
        const int64_t k0 = b * INGOT_GGML_QK, grp = k0 / g;
        const float s = ingot_f16_to_f32(sc[grp]);
        const int z = zp[grp];
        uint8_t *blk = out + b * INGOT_GGML_Q5_1_BYTES;
        float m;
        if (put_dm(blk, sc[grp], z, &m, o, tensor, err) != 0)
            return -1;
        uint32_t high = 0;
        for (int j = 0; j < INGOT_GGML_QK / 2; j++) {
            int lo = q5_code(qs, qh, k0 + j), hi = q5_code(qs, qh, k0 + j + 16);
            blk[8 + j] = (uint8_t)((lo & 15) | (hi & 15) << 4);
            high |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
            note(r, (float)lo * s + m, (float)(lo - z) * s, s, tensor);
            note(r, (float)hi * s + m, (float)(hi - z) * s, s, tensor);
        }
        for (int i = 0; i < 4; i++)
            blk[4 + i] = (uint8_t)(high >> (8 * i));
    }
    r->n_weights += (uint64_t)n_in;
    return 0;
}

int ingot_gguf_q8_0_row(const ingot_wmat *w, int o, uint8_t *out, ingot_gguf_rounding *r,
                        const char *tensor, ingot_error *err)
{
    const int64_t n_in = w->n_in;
    const int8_t *q = (const int8_t *)w->part[INGOT_Q8_QS] + (int64_t)o * n_in;
    const float s = ((const float *)w->part[INGOT_Q8_SCALES])[o];
    const uint16_t d16 = ingot_f32_to_f16(s);
    const float d = ingot_f16_to_f32(d16);
    if (!isfinite(d))
        return ingot_fail(err, INGOT_ERR_NONFINITE, "%s: row %d: scale %g does not fit in f16",
                          tensor, o, (double)s);
    for (int64_t b = 0; b < n_in / INGOT_GGML_QK; b++) {
        uint8_t *blk = out + b * INGOT_GGML_Q8_0_BYTES;
        put_f16(blk, d16);
        memcpy(blk + 2, q + b * INGOT_GGML_QK, INGOT_GGML_QK);
        for (int j = 0; j < INGOT_GGML_QK; j++) {
            int v = q[b * INGOT_GGML_QK + j];
            note(r, (float)v * d, (float)v * s, s, tensor);
        }
    }
    r->n_weights += (uint64_t)n_in;
    return 0;
}
