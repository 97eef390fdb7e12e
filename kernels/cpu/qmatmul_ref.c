/*
 * qmatmul_ref.c - portable matmul for the quantized formats:
 * y(n_tok, n_out) = x(n_tok, n_in) · W^T, rows [o0, o1).
 *
 * The specification the SIMD kernels are tested against: each row is
 * dequantized by the reference dequantizer (one row at a time, never the
 * whole matrix) and dotted with every token in double precision.
 */
#include "config.h"

#include <stdlib.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/qkernels.h"
#include "formats/formats.h"

#define CHUNK 1024 /* even, so 4-bit chunks start on a byte */

/* Without memory for a row: re-dequantize it in stack chunks for each token. */
static void row_chunked(const ingot_wmat *w, int o, const float *x, int n_tok, float *y)
{
    float buf[CHUNK];
    for (int t = 0; t < n_tok; t++) {
        const float *xt = x + (size_t)t * (size_t)w->n_in;
        double acc = 0.0;
        for (int k0 = 0; k0 < w->n_in; k0 += CHUNK) {
            int k1 = w->n_in - k0 < CHUNK ? w->n_in : k0 + CHUNK;
            ingot_dequantize_ref_part(w, o, k0, k1, buf);
            for (int k = k0; k < k1; k++)
                acc += (double)buf[k - k0] * (double)xt[k];
        }
        y[(size_t)t * (size_t)w->n_out + (size_t)o] = (float)acc;
    }
}

void ingot_qmatmul_ref(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0, int o1)
{
    float *row = malloc((size_t)w->n_in * sizeof(float)); // (n_in)
    for (int o = o0; o < o1; o++) {
        if (!row) {
            row_chunked(w, o, x, n_tok, y);
            continue;
        }
        ingot_dequantize_ref(w, o, o + 1, row);
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * (size_t)w->n_in;
            double acc = 0.0;
            for (int k = 0; k < w->n_in; k++)
                acc += (double)row[k] * (double)xt[k];
            y[(size_t)t * (size_t)w->n_out + (size_t)o] = (float)acc;
        }
    }
    free(row);
}
