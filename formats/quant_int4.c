/*
 * quant_int4.c - int4 (INGOT_DT_Q4; also the storage of awq4): asymmetric
 * 4-bit with a zero point per group of G inputs, as AutoAWQ's
 * pseudo_quantize_tensor(zero_point=True, w_bit=4):
 *
 *   scale = clamp(max - min, min=1e-5) / 15             (f32)
 *   scale -> f16 (round to nearest even), clamped into [2^-14, 65504]
 *   zero  = clamp(-round(min / scale), 0, 15)           round = half to even
 *   q     = clamp(round(w / scale) + zero, 0, 15)
 *   w'    = (q - zero) * scale
 *
 * AutoAWQ stores the scales as f16 and recomputes the codes from them when it
 * packs; we do the same in one step: zero and q are computed with the
 * f16-rounded scale, so dequantization uses exactly the stored numbers.
 * Deviation: AutoAWQ could store a subnormal f16 scale (a group whose range is
 * below 15 * 2^-14 ~ 9.2e-4); we clamp to the smallest normal 2^-14, which
 * costs at most 2^-15 of absolute error in such a group and keeps the scales
 * friendly to every f16 path.  Overflowing groups (range > 15 * 65504) clamp
 * to 65504 and saturate: finite, but lossy (AutoAWQ would produce Inf).
 *
 * The search quantizer (ingot_format_int4_mse, `quantize --mse-scales`)
 * stores the same parts, read by the same dequantizer: per group it tries
 * scales of 0.60, 0.625, ..., 1.10 times the min/max one (f16-rounded), each
 * with three zero points, keeps the pair of least (optionally
 * importance-weighted) squared error, then tries the least-squares scale of
 * the chosen codes (quant_search.c).  The min/max pair above is among the
 * candidates, so its error is never larger.
 *
 * Parts (ingot_format_int4, one variant; the group size G is a parameter of
 * the tensor): qs u8 (n_out, n_in/2), scales f16 (n_out, n_in/G), zeros u8
 * (n_out, n_in/G).
 */
#include "config.h"

#include <math.h>

#include "formats/formats.h"
#include "util/util.h"

#define F16_MIN_NORMAL 6.103515625e-05f /* 2^-14 */
#define F16_MAX 65504.0f

uint16_t ingot_q4_scale_f16(float s)
{
    if (!(s >= F16_MIN_NORMAL)) /* also NaN, which cannot happen here */
        s = F16_MIN_NORMAL;
    if (s > F16_MAX) /* also +Inf from an overflowing max - min */
        s = F16_MAX;
    return ingot_f32_to_f16(s);
}

static float clamp15(float v)
{
    return ingot_qclamp(v, 15.0f);
}

/* The codes of a group for f16 scale h and zero z, with both. */
static void store_group(const float *w, int g, uint16_t h, float z, uint8_t *qs /* (g/2) */, uint16_t *scale,
                        uint8_t *zero)
{
    float s = ingot_f16_to_f32(h);
    *scale = h;
    *zero = (uint8_t)z;
    for (int i = 0; i < g; i += 2) {
        uint8_t lo = (uint8_t)clamp15(ingot_qround_even(w[i] / s) + z);
        uint8_t hi = (uint8_t)clamp15(ingot_qround_even(w[i + 1] / s) + z);
        qs[i / 2] = (uint8_t)(lo | hi << 4); /* low nibble = even element */
    }
}

static void quantize_group(const float *w, int g, uint8_t *qs /* (g/2) */, uint16_t *scale,
                           uint8_t *zero)
{
    float mx = w[0], mn = w[0];
    for (int i = 1; i < g; i++) {
        mx = ingot_qmaxf(mx, w[i]);
        mn = ingot_qminf(mn, w[i]);
    }
    float s32 = ingot_qmaxf(mx - mn, 1e-5f) / 15.0f;
    uint16_t h = ingot_q4_scale_f16(s32);
    float s = ingot_f16_to_f32(h);
    /* min/s may overflow to -Inf for huge inputs: round_even clamps it */
    store_group(w, g, h, clamp15(-ingot_qround_even(mn / s)), qs, scale, zero);
}

/* int4's search (quant_search.c): 0.60, 0.625, ..., 1.10 times the min/max scale */
static const ingot_qgrid q4_grid = {0.6f, 0.025f, 20};

void ingot_q4_quantize_row_wmse(const float *w, const float *c, int64_t n_in, int group_size, uint8_t *qs,
                                uint16_t *scales, uint8_t *zeros)
{
    for (int64_t j = 0; j < n_in / group_size; j++) {
        uint16_t h;
        float z;
        ingot_qgroup_search(w + j * group_size, c ? c + j * group_size : NULL, group_size, 15.0f, &q4_grid, &h,
                            &z);
        store_group(w + j * group_size, group_size, h, z, qs + j * (group_size / 2), &scales[j], &zeros[j]);
    }
}

void ingot_q4_quantize_row_mse(const float *w, int64_t n_in, int group_size, uint8_t *qs, uint16_t *scales,
                               uint8_t *zeros)
{
    ingot_q4_quantize_row_wmse(w, NULL, n_in, group_size, qs, scales, zeros);
}

void ingot_q4_quantize_row(const float *w, int64_t n_in, int group_size,
                           uint8_t *qs /* (n_in/2) */, uint16_t *scales /* (n_in/G) */,
                           uint8_t *zeros /* (n_in/G) */)
{
    for (int64_t j = 0; j < n_in / group_size; j++)
        quantize_group(w + j * group_size, group_size, qs + j * (group_size / 2), &scales[j],
                       &zeros[j]);
}

ingot_wmat ingot_q4_row_view(const uint8_t *qs, const uint16_t *scales, const uint8_t *zeros, int n_in, int g)
{
    ingot_wmat w = {.fmt = &ingot_format_int4, .type = INGOT_DT_Q4, .n_out = 1, .n_in = n_in,
                    .group_size = g, .n_parts = 3};
    w.part[INGOT_Q4_QS] = qs;
    w.part[INGOT_Q4_SCALES] = scales;
    w.part[INGOT_Q4_ZEROS] = zeros;
    return w;
}

void ingot_q4_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    int64_t n_in = w->n_in, g = w->group_size, ng = n_in / g;
    // (n_out, n_in/2)
    const uint8_t *q = (const uint8_t *)w->part[INGOT_Q4_QS] + (int64_t)o * (n_in / 2);
    /* (n_out, n_in/G) each */
    const uint16_t *sc = (const uint16_t *)w->part[INGOT_Q4_SCALES] + (int64_t)o * ng;
    const uint8_t *zp = (const uint8_t *)w->part[INGOT_Q4_ZEROS] + (int64_t)o * ng;
    for (int64_t k = k0; k < k1; k += 2) {
        float s = ingot_f16_to_f32(sc[k / g]);
        int z = zp[k / g];
        out[k - k0] = (float)((q[k / 2] & 15) - z) * s; /* low nibble = even element */
        out[k - k0 + 1] = (float)((q[k / 2] >> 4) - z) * s;
    }
}

/* ---- the table entry ---- */

static int q4_group_size(int requested)
{
    return requested > 0 ? requested : INGOT_Q4_DEFAULT_GROUP;
}

static int q4_layout(const ingot_format *f, int64_t n_out, int64_t n_in, int g, int variant,
                     ingot_wpart *p, const char *tensor, ingot_error *err)
{
    if (g % INGOT_Q4_GROUP_ALIGN)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: int4 group size %d is not a multiple of %d",
                          ingot_format_tname(tensor), g, INGOT_Q4_GROUP_ALIGN);
    if (n_in % g)
        return ingot_fail(err, INGOT_ERR_SHAPE,
                          "%s: int4 needs the input dimension (%lld) to be a multiple of the "
                          "group size %d",
                          ingot_format_tname(tensor), (long long)n_in, g);
    ingot_wpart_set(&p[INGOT_Q4_QS], INGOT_DT_U8, n_out, n_in / 2);
    ingot_wpart_set(&p[INGOT_Q4_SCALES], INGOT_DT_F16, n_out, n_in / g);
    ingot_wpart_set(&p[INGOT_Q4_ZEROS], INGOT_DT_U8, n_out, n_in / g);
    return 0;
}

static void q4_quantize_row(const ingot_qjob *j, const float *row, int64_t o)
{
    int64_t n_in = j->n_in;
    int g = j->group_size;
    ingot_q4_quantize_row(row, n_in, g, (uint8_t *)j->parts[INGOT_Q4_QS] + o * (n_in / 2),
                          (uint16_t *)j->parts[INGOT_Q4_SCALES] + o * (n_in / g),
                          (uint8_t *)j->parts[INGOT_Q4_ZEROS] + o * (n_in / g));
}

static void q4_quantize_row_mse(const ingot_qjob *j, const float *row, int64_t o)
{
    int64_t n_in = j->n_in;
    int g = j->group_size;
    ingot_q4_quantize_row_wmse(row, j->col_weight, n_in, g, (uint8_t *)j->parts[INGOT_Q4_QS] + o * (n_in / 2),
                              (uint16_t *)j->parts[INGOT_Q4_SCALES] + o * (n_in / g),
                              (uint8_t *)j->parts[INGOT_Q4_ZEROS] + o * (n_in / g));
}

static const ingot_format_variant q4_variants[] = {
    {"plain", 3, {"qs", "scales", "zeros"}},
};

#define Q4_FORMAT(row_fn)                                                                          \
    {                                                                                              \
        .name = "int4", .type = INGOT_DT_Q4, .quantized = true, .group_param = true,               \
        .n_variants = 1, .variants = q4_variants, .group_size = q4_group_size, .layout = q4_layout, \
        .quantize_row = row_fn, .dequantize = ingot_q4_dequantize_row,                             \
    }

const ingot_format ingot_format_int4 = Q4_FORMAT(q4_quantize_row);
/* The same storage, quantized by the least-squared-error search. */
const ingot_format ingot_format_int4_mse = Q4_FORMAT(q4_quantize_row_mse);
