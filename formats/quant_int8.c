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
 */
#include "config.h"

#include <math.h>

#include "formats/formats.h"

void ingot_q8_quantize_row(const float *w, int64_t n_in, int8_t *qs /* (n_in) */,
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

void ingot_q8_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    const int8_t *qs = (const int8_t *)w->data + (int64_t)o * w->n_in; // (n_out, n_in)
    float scale = ((const float *)w->scales)[o];                       // (n_out)
    for (int k = k0; k < k1; k++)
        out[k - k0] = (float)qs[k] * scale;
}
