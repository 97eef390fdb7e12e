/*
 * quant_int8.c - int8 (INGOT_DT_Q8, W8A16): symmetric absmax per output
 * channel.
 *
 *   scale = max|w| / 127 (f32 division), q = clamp(round_half_away(w / scale), -127, 127)
 *
 * Rounding is half away from zero (C roundf), as LLM.int8()/bitsandbytes'
 * int8 row-wise quantizers do (they round(x * 127 / absmax)); we divide by the
 * stored scale instead so that dequantization q * scale is the nearest grid
 * point of exactly the scale that is stored.  -128 is never used, so the
 * grid is symmetric.
 *
 * Parts (ingot_format_int8, one variant): qs i8 (n_out, n_in), scales f32
 * (n_out).
 */
#include "config.h"

#include <math.h>

#include "formats/formats.h"

static void q8_quantize(const float *w, int64_t n_in, int8_t *qs /* (n_in) */,
                        float *scale /* (1) */)
{
    float amax = 0.0f;
    for (int64_t i = 0; i < n_in; i++)
        amax = ingot_qmaxf(amax, fabsf(w[i]));
    float s = amax / 127.0f;
    *scale = s;
    /* An all-zero row, or one so small (< 127 * 2^-149) that its scale
     * underflows to 0, stores scale 0 and zeros: it dequantizes to 0, never
     * to NaN from 0/0. */
    if (s == 0.0f) {
        for (int64_t i = 0; i < n_in; i++)
            qs[i] = 0;
        return;
    }
    for (int64_t i = 0; i < n_in; i++) {
        /* round half away from zero = roundf, but inline: |r| is clamped to
         * 127 first (a subnormal scale can make w/s huge or Inf; integer
         * bounds commute with rounding), then |r| + 0.5 is exact in double
         * and truncation is floor */
        float r = w[i] / s;
        int m = (int)((double)ingot_qminf(fabsf(r), 127.0f) + 0.5);
        qs[i] = (int8_t)(r < 0.0f ? -m : m);
    }
}

static void q8_dequantize(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    const int8_t *qs = (const int8_t *)w->part[INGOT_Q8_QS] + (int64_t)o * w->n_in; // (n_out, n_in)
    float scale = ((const float *)w->part[INGOT_Q8_SCALES])[o];                     // (n_out)
    for (int k = k0; k < k1; k++)
        out[k - k0] = (float)qs[k] * scale;
}

static void q8_quantize_row(const ingot_qjob *j, const float *row, int64_t o)
{
    q8_quantize(row, j->n_in, (int8_t *)j->parts[INGOT_Q8_QS] + o * j->n_in,
                (float *)j->parts[INGOT_Q8_SCALES] + o);
}

static int q8_group_size(int requested)
{
    (void)requested;
    return 0;
}

static int q8_layout(const ingot_format *f, int64_t n_out, int64_t n_in, int group_size,
                     int variant, ingot_wpart *p, const char *tensor, ingot_error *err)
{
    ingot_wpart_set(&p[INGOT_Q8_QS], INGOT_DT_I8, n_out, n_in);
    ingot_wpart_set(&p[INGOT_Q8_SCALES], INGOT_DT_F32, n_out, 0);
    return 0;
}

static const ingot_format_variant q8_variants[] = {
    {"plain", 2, {"qs", "scales"}},
};

const ingot_format ingot_format_int8 = {
    .name = "int8",
    .type = INGOT_DT_Q8,
    .quantized = true,
    .n_variants = 1,
    .variants = q8_variants,
    .group_size = q8_group_size,
    .layout = q8_layout,
    .quantize_row = q8_quantize_row,
    .dequantize = q8_dequantize,
};
