/*
 * matmul_ref.c - portable reference kernels: the specification the SIMD
 * versions are tested against.  Plain loops, one f32 accumulator per output,
 * inputs taken in order; speed does not matter here.
 */
#include "config.h"

#include "kernels/cpu/kernels.h"
#include "util/util.h"

static float w_elem(ingot_dtype type, const void *data, size_t i)
{
    switch (type) {
    case INGOT_DT_F16:
        return ingot_f16_to_f32(((const uint16_t *)data)[i]);
    case INGOT_DT_BF16:
        return ingot_bf16_to_f32(((const uint16_t *)data)[i]);
    default:
        return ((const float *)data)[i];
    }
}

/* y(n_tok, n_out) = x(n_tok, n_in) . W^T for rows [o0, o1); W (n_out, n_in) */
static void matmul_plain_ref(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0,
                             int o1)
{
    size_t n_in = (size_t)w->n_in, n_out = (size_t)w->n_out;
    for (int t = 0; t < n_tok; t++) {
        const float *xt = x + (size_t)t * n_in;
        for (int o = o0; o < o1; o++) {
            float acc = 0.0f;
            for (size_t i = 0; i < n_in; i++)
                acc += xt[i] * w_elem(w->type, w->part[INGOT_F_DATA], (size_t)o * n_in + i);
            y[(size_t)t * n_out + (size_t)o] = acc;
        }
    }
}

static float dot_f32_ref(const float *a, const float *b, int n)
{
    float acc = 0.0f;
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

static void axpy_f32_ref(float a, const float *x, float *y, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

void ingot_kernels_fill_ref(ingot_cpu_kernels *k)
{
    k->isa = "ref";
    k->matmul[INGOT_DT_F32] = matmul_plain_ref;
    k->matmul[INGOT_DT_F16] = matmul_plain_ref;
    k->matmul[INGOT_DT_BF16] = matmul_plain_ref;
    k->dot_f32 = dot_f32_ref;
    k->axpy_f32 = axpy_f32_ref;
    k->rmsnorm = ingot_rmsnorm_ref;
    k->softmax = ingot_softmax_ref;
    k->swiglu = ingot_swiglu_ref;
}
