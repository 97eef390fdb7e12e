/*
 * quant_intb.c - int5 and int6 (INGOT_DT_Q5, INGOT_DT_Q6): int4's
 * asymmetric group quantization with B = 5 or 6 bits per code, for the
 * sizes between int4 and int8 that --target-bpw fills (a bit more per
 * weight cuts the squared error about fourfold).
 *
 *   L     = 2^B - 1                                      (31 or 63)
 *   scale = clamp(max - min, min=1e-5) / L, then f16 as int4's
 *   zero  = clamp(-round(min / scale), 0, L)             round = half to even
 *   q     = clamp(round(w / scale) + zero, 0, L)
 *   w'    = (q - zero) * scale
 *
 * or, quantized with --mse-scales, the pair of least (optionally
 * importance-weighted) squared error among scales 0.80, 0.81, ..., 1.10
 * times that one, each with three zero points, then the least-squares scale
 * of its codes (quant_search.c; more bits leave less to gain from shrinking
 * the range than int4's search allows for).
 *
 * Storage splits each code: its low 4 bits exactly as int4 stores them (so
 * the 4-bit kernels' nibble loop reads them unchanged), its high B-4 bits
 * in a second plane where every 8 consecutive codes share B-4 bytes:
 *
 *   qs     u8  (n_out, n_in/2)       low nibble = even element
 *   qh     u8  (n_out, n_in*(B-4)/8) for codes 8b..8b+7 of a row, the
 *                                    little-endian (B-4)-byte word at
 *                                    b*(B-4) holds code 8b+m's high bits
 *                                    at bits (B-4)m .. (B-4)m+B-5
 *   scales f16 (n_out, n_in/G)
 *   zeros  u8  (n_out, n_in/G)
 *
 * Groups are multiples of 32 inputs, as int4's.  int5 with G = 32 holds the
 * numbers of GGUF's Q5_1 (d = scale, m = -zero * scale).
 */
#include "config.h"

#include <math.h>

#include "formats/formats.h"
#include "util/util.h"

/* The search's scales (quant_search.c): 0.80, 0.81, ..., 1.10 times the min/max one */
static const ingot_qgrid qb_grid = {0.8f, 0.01f, 30};

/* The f16 scale and the zero point of a group (min/max, or the search, weighted by c or not). */
static void group_params(const float *w, const float *c, int g, float L, bool mse, uint16_t *scale, float *zero)
{
    if (mse) {
        ingot_qgroup_search(w, c, g, L, &qb_grid, scale, zero);
        return;
    }
    float mn = w[0], mx = w[0];
    for (int i = 1; i < g; i++) {
        mx = ingot_qmaxf(mx, w[i]);
        mn = ingot_qminf(mn, w[i]);
    }
    *scale = ingot_q4_scale_f16(ingot_qmaxf(mx - mn, 1e-5f) / L);
    /* min/s may overflow to -Inf for huge inputs: round_even clamps it */
    *zero = ingot_qclamp(-ingot_qround_even(mn / ingot_f16_to_f32(*scale)), L);
}

/* Quantizes and packs one group (g codes from element k of the row; k and g multiples of 8). */
static void store_group(const float *w, int64_t k, int g, int hb, float L, uint16_t h, float z,
                        uint8_t *qs, uint8_t *qh)
{
    float s = ingot_f16_to_f32(h);
    for (int64_t b = k / 8; b < (k + g) / 8; b++) {
        uint32_t word = 0;
        for (int m = 0; m < 8; m += 2) {
            uint8_t q0 = (uint8_t)ingot_qclamp(ingot_qround_even(w[8 * b + m] / s) + z, L);
            uint8_t q1 = (uint8_t)ingot_qclamp(ingot_qround_even(w[8 * b + m + 1] / s) + z, L);
            qs[4 * b + m / 2] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
            word |= (uint32_t)(q0 >> 4) << (hb * m) | (uint32_t)(q1 >> 4) << (hb * (m + 1));
        }
        for (int i = 0; i < hb; i++)
            qh[b * hb + i] = (uint8_t)(word >> (8 * i));
    }
}

/* Quantizes row w (n_in) into its parts: qs (n_in/2), qh (n_in*hb/8), scales and zeros (n_in/g). */
void ingot_qb_quantize_row(const float *w, const float *c, int64_t n_in, int g, int hb, bool mse, uint8_t *qs,
                           uint8_t *qh, uint16_t *scales, uint8_t *zeros)
{
    float L = (float)((16 << hb) - 1);
    for (int64_t j = 0; j < n_in / g; j++) {
        float z;
        group_params(w + j * g, c ? c + j * g : NULL, g, L, mse, &scales[j], &z);
        zeros[j] = (uint8_t)z;
        store_group(w, j * g, g, hb, L, scales[j], z, qs, qh);
    }
}

/* Code k of a row: its low nibble and its high bits. */
static inline int code_at(const uint8_t *qs, const uint8_t *qh, int hb, int64_t k)
{
    int lo = (qs[k / 2] >> (4 * (k & 1))) & 15;
    const uint8_t *wb = qh + (k / 8) * hb;
    uint32_t word = wb[0] | (hb > 1 ? (uint32_t)wb[1] << 8 : 0);
    return lo | (int)((word >> (hb * (k & 7))) & ((1u << hb) - 1)) << 4;
}

void ingot_qb_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    int hb = w->type == INGOT_DT_Q5 ? 1 : 2;
    int64_t n_in = w->n_in, g = w->group_size, ng = n_in / g;
    const uint8_t *qs = (const uint8_t *)w->part[INGOT_QB_QS] + (int64_t)o * (n_in / 2);       // (n_out, n_in/2)
    const uint8_t *qh = (const uint8_t *)w->part[INGOT_QB_QH] + (int64_t)o * (n_in * hb / 8);  // (n_out, n_in*hb/8)
    const uint16_t *sc = (const uint16_t *)w->part[INGOT_QB_SCALES] + (int64_t)o * ng;         // (n_out, n_in/G)
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_QB_ZEROS] + (int64_t)o * ng;            // (n_out, n_in/G)
    for (int64_t k = k0; k < k1; k++)
        out[k - k0] = (float)(code_at(qs, qh, hb, k) - zp[k / g]) * ingot_f16_to_f32(sc[k / g]);
}

/* ---- the table entries ---- */

static int hbits(const ingot_format *f)
{
    return f->type == INGOT_DT_Q5 ? 1 : 2;
}

static int qb_group_size(int requested)
{
    return requested > 0 ? requested : INGOT_Q4_DEFAULT_GROUP;
}

static int qb_layout(const ingot_format *f, int64_t n_out, int64_t n_in, int g, int variant,
                     ingot_wpart *p, const char *tensor, ingot_error *err)
{
    (void)variant;
    if (g % INGOT_Q4_GROUP_ALIGN)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %s group size %d is not a multiple of %d",
                          ingot_format_tname(tensor), f->name, g, INGOT_Q4_GROUP_ALIGN);
    if (n_in % g)
        return ingot_fail(err, INGOT_ERR_SHAPE,
                          "%s: %s needs the input dimension (%lld) to be a multiple of the group size %d",
                          ingot_format_tname(tensor), f->name, (long long)n_in, g);
    ingot_wpart_set(&p[INGOT_QB_QS], INGOT_DT_U8, n_out, n_in / 2);
    ingot_wpart_set(&p[INGOT_QB_QH], INGOT_DT_U8, n_out, n_in * hbits(f) / 8);
    ingot_wpart_set(&p[INGOT_QB_SCALES], INGOT_DT_F16, n_out, n_in / g);
    ingot_wpart_set(&p[INGOT_QB_ZEROS], INGOT_DT_U8, n_out, n_in / g);
    return 0;
}

static void qb_row(const ingot_qjob *j, const float *row, int64_t o, bool mse)
{
    int hb = j->layout->p[INGOT_QB_QH].shape[1] * 8 / j->n_in; /* 1 or 2 */
    int64_t n_in = j->n_in;
    int g = j->group_size;
    ingot_qb_quantize_row(row, j->col_weight, n_in, g, hb, mse, (uint8_t *)j->parts[INGOT_QB_QS] + o * (n_in / 2),
                          (uint8_t *)j->parts[INGOT_QB_QH] + o * (n_in * hb / 8),
                          (uint16_t *)j->parts[INGOT_QB_SCALES] + o * (n_in / g),
                          (uint8_t *)j->parts[INGOT_QB_ZEROS] + o * (n_in / g));
}

static void qb_row_rtn(const ingot_qjob *j, const float *row, int64_t o)
{
    qb_row(j, row, o, false);
}

static void qb_row_mse(const ingot_qjob *j, const float *row, int64_t o)
{
    qb_row(j, row, o, true);
}

static const ingot_format_variant qb_variants[] = {
    {"plain", 4, {"qs", "qh", "scales", "zeros"}},
};

#define QB_FORMAT(nm, dt, row_fn)                                                                  \
    {                                                                                              \
        .name = nm, .type = dt, .quantized = true, .group_param = true, .n_variants = 1,           \
        .variants = qb_variants, .group_size = qb_group_size, .layout = qb_layout,                 \
        .quantize_row = row_fn, .dequantize = ingot_qb_dequantize_row,                             \
    }

const ingot_format ingot_format_int5 = QB_FORMAT("int5", INGOT_DT_Q5, qb_row_rtn);
const ingot_format ingot_format_int6 = QB_FORMAT("int6", INGOT_DT_Q6, qb_row_rtn);
/* The same storage, quantized by the least-squared-error search. */
const ingot_format ingot_format_int5_mse = QB_FORMAT("int5", INGOT_DT_Q5, qb_row_mse);
const ingot_format ingot_format_int6_mse = QB_FORMAT("int6", INGOT_DT_Q6, qb_row_mse);
