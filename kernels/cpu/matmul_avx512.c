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
#define ISA avx512 /* names the entry points isa_tmpl.h defines */
#include "kernels/cpu/isa_tmpl.h"
