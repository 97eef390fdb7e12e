/*
 * quant_search.c - the least-squared-error search of one group's f16 scale
 * and integer zero point (`quantize --mse-scales`), shared by int4, int5
 * and int6, whose codes all dequantize as w' = (q - z) * s, q in 0..L.
 *
 * Candidates: the min/max pair (what the plain quantizer stores), then
 * scales f0, f0 + df, ..., f0 + n df times the min/max one (f16-rounded),
 * each with three zero points (the min's, the max's and the centred one).
 * The pair of least error is kept; then the least-squares scale of its codes
 * (zero fixed) is tried, once.  Ties keep the earlier, so the search is never
 * worse than the min/max pair.
 *
 * The error is sum (w - w')^2, or, given importance weights c (one per
 * input, >= 0), sum c (w - w')^2: with c = E[x^2] of the input the matrix
 * multiplies (calibration activations), this is the squared error of the
 * matmul's output when the inputs are uncorrelated -- what --target-bpw
 * passes, as llama.cpp's importance matrix does.
 */
#include "config.h"

#include "formats/formats.h"
#include "util/util.h"

float ingot_qgroup_err(const float *w, const float *c, int g, float L, float s, float z)
{
    float e = 0;
    if (!c) {
        for (int i = 0; i < g; i++) {
            float d = w[i] - (ingot_qclamp(ingot_qround_even(w[i] / s) + z, L) - z) * s;
            e += d * d;
        }
        return e;
    }
    for (int i = 0; i < g; i++) {
        float d = w[i] - (ingot_qclamp(ingot_qround_even(w[i] / s) + z, L) - z) * s;
        e += c[i] * d * d;
    }
    return e;
}

void ingot_qgroup_search(const float *w, const float *c, int g, float L, const ingot_qgrid *grid,
                         uint16_t *scale, float *zero)
{
    float mn = w[0], mx = w[0];
    for (int i = 1; i < g; i++) {
        mx = ingot_qmaxf(mx, w[i]);
        mn = ingot_qminf(mn, w[i]);
    }
    float range = ingot_qmaxf(mx - mn, 1e-5f);
    uint16_t bh = ingot_q4_scale_f16(range / L);
    /* min/s may overflow to -Inf for huge inputs: round_even clamps it */
    float bz = ingot_qclamp(-ingot_qround_even(mn / ingot_f16_to_f32(bh)), L);
    float best = ingot_qgroup_err(w, c, g, L, ingot_f16_to_f32(bh), bz);
    for (int k = 0; k <= grid->n; k++) {
        uint16_t h = ingot_q4_scale_f16(range * (grid->f0 + grid->df * (float)k) / L);
        float s = ingot_f16_to_f32(h);
        float zc[3] = {ingot_qclamp(-ingot_qround_even(mn / s), L),
                       ingot_qclamp(L - ingot_qround_even(mx / s), L),
                       ingot_qclamp(ingot_qround_even(L / 2 - (mx + mn) / (2.0f * s)), L)};
        for (int z = 0; z < 3; z++) {
            float e = ingot_qgroup_err(w, c, g, L, s, zc[z]);
            if (e < best) {
                best = e;
                bh = h;
                bz = zc[z];
            }
        }
    }
    float s = ingot_f16_to_f32(bh), num = 0, den = 0;
    for (int i = 0; i < g; i++) { /* (weighted) least squares over the chosen codes */
        float q = ingot_qclamp(ingot_qround_even(w[i] / s) + bz, L) - bz, ci = c ? c[i] : 1.0f;
        num += ci * w[i] * q;
        den += ci * q * q;
    }
    if (den > 0 && num > 0) {
        uint16_t h = ingot_q4_scale_f16(num / den);
        if (ingot_qgroup_err(w, c, g, L, ingot_f16_to_f32(h), bz) < best)
            bh = h;
    }
    *scale = bh;
    *zero = bz;
}
