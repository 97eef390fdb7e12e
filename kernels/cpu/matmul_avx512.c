/*
 * matmul_avx512.c - every kernel compiled with the AVX-512 flags (F, BW, VL,
 * FMA, F16C): the matmul and row-op templates instantiated for 16 lanes and
 * 32 registers.  Only reached after dispatch.c has checked the CPU.
 */
#include "config.h"

#include "kernels/cpu/vec_avx512.h"

/* decode: T * MV_RL(T) accumulators + T x vectors + 1 W vector <= 32 registers */
#define MV_TMAX 4
#define MV_SHORT 1536
#define MV_UMAX 4
#define MV_RMAX 8
#define MV_RL(t) ((t) <= 2 ? 8 : 4)
#define MV_STREAMS 6 /* as AVX2: not yet measured on an AVX-512 machine */
/* prefill 12 x 32 micro-tile: 24 accumulators + 2 W vectors + 1 broadcast */
#define MM_MR 12
#define MM_NV 2
#define MM_KC 256
#define MM_NC 256
#define MM_MIN_TOK 12

#include "kernels/cpu/matmul_tmpl.h"
#include "kernels/cpu/ops_tmpl.h"

void ingot_kernels_fill_avx512(ingot_cpu_kernels *k)
{
    k->isa = "avx512";
    k->matmul[INGOT_DT_F32] = matmul_f32;
    k->matmul[INGOT_DT_F16] = matmul_f16;
    k->matmul[INGOT_DT_BF16] = matmul_bf16;
    k->dot_f32 = dot_f32;
    k->axpy_f32 = axpy_f32;
    k->rmsnorm = rmsnorm;
    k->softmax = softmax;
    k->swiglu = swiglu;
}

float ingot_read_sum_avx512(const void *p, size_t n, int streams)
{
    return read_sum(p, n, streams);
}

double ingot_fma_loop_avx512(long iters, float *sink)
{
    return fma_loop(iters, sink);
}
