/*
 * ops.c - row operations of the forward pass: the portable references (the
 * specification of the SIMD versions in ops_tmpl.h) and the entry points
 * that go through the CPU's kernel table.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu/kernels.h"

void ingot_rmsnorm_ref(float *out, const float *x, const float *w, int n, float eps)
{
    float ss = 0.0f;
    for (int i = 0; i < n; i++)
        ss += x[i] * x[i];
    float scale = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++)
        out[i] = x[i] * scale * w[i];
}

void ingot_softmax_ref(float *x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (n <= 0)
        return;
    if (mx == -INFINITY) {
        /* every score masked: attend to nothing rather than produce NaN */
        memset(x, 0, (size_t)n * sizeof(float));
        return;
    }
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

void ingot_swiglu_ref(float *gate, const float *up, int n)
{
    for (int i = 0; i < n; i++)
        gate[i] = gate[i] * up[i] / (1.0f + expf(-gate[i]));
}

void ingot_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    ingot_cpu_kernels_get()->rmsnorm(out, x, w, n, eps);
}

void ingot_softmax(float *x, int n)
{
    ingot_cpu_kernels_get()->softmax(x, n);
}

void ingot_swiglu(float *gate, const float *up, int n)
{
    ingot_cpu_kernels_get()->swiglu(gate, up, n);
}
