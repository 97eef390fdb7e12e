/*
 * matmul_avx2.c - every kernel compiled with the AVX2 flags (AVX2,
 * FMA, F16C): the matmul and row-op templates instantiated for 8 lanes and
 * 16 registers.  Only reached after dispatch.c has checked the CPU.
 */
#include "config.h"

#include "kernels/cpu/vec_avx2.h"

/* decode: T * MV_RL(T) accumulators + T x vectors + 1 W vector <= 16 registers */
#define MV_TMAX 2
#define MV_SHORT 1536
#define MV_UMAX 4
#define MV_RMAX 6
#define MV_RL(t) 4
#define MV_STREAMS 6
/* prefill 6 x 16 micro-tile: 12 accumulators + 2 W vectors + 1 broadcast */
#define MM_MR 6
#define MM_NV 2
#define MM_KC 128
#define MM_NC 256
#define MM_MIN_TOK 6

#include "kernels/cpu/matmul_tmpl.h"
#include "kernels/cpu/ops_tmpl.h"
#define ISA avx2 /* names the entry points isa_tmpl.h defines */
#include "kernels/cpu/isa_tmpl.h"
