/*
 * qmatmul_avx512.c - int8 / nf4 / int4 matmul in exact f32 with AVX-512
 * (F, BW, VL) + F16C: qmatmul_tmpl.h at 16 lanes and 32 registers (read its
 * header).
 *
 *   - a chunk of 4-bit codes is 64 bytes (16 dwords = 128 codes);
 *   - one vpermps looks up the 16-entry table, so int4 goes through it too,
 *     with the zero point folded in (i - z) where groups are whole chunks;
 *   - decode sums each row in one chain: DEC_R chains already hide the FMA
 *     latency, and a second would cost an add per chunk;
 *   - tails are masked vectors;
 *   - prefill panels are 32 rows (two vectors) x 256, micro-tile 12 tokens.
 * Only reached after dispatch.c has checked the CPU.
 */
#include "config.h"

#include "kernels/cpu/vec_avx512.h"

#define QM_ISA avx512
#define QM_MR 12
#define QM_MR_MID 4
#define QM_CHAINS 1
#define QM_Q4_LUT 1
#define QM_PF8_STEPS 1 /* 32 bytes a row per step: R / 2 lines */
#define QM_ROW_SCALES 1

#include "kernels/cpu/qmatmul_tmpl.h"
