/*
 * qmatmul_avx2.c - int8 / nf4 / int4 matmul in exact f32 with AVX2 + FMA +
 * F16C: qmatmul_tmpl.h at 8 lanes and 16 registers (read its header).
 *
 *   - a chunk of 4-bit codes is 32 bytes (8 dwords = 64 codes);
 *   - the 16-entry NF4 look-up is two vpermps on the low 3 bits blended on
 *     bit 3, so int4 codes are converted instead (& 15, cvtdq2ps) and their
 *     zero point comes off as z * sum x per lane;
 *   - decode sums each row in two chains (even and odd nibbles);
 *   - prefill panels are 16 rows (two vectors) x 256, micro-tile 6 tokens.
 * Only reached after dispatch.c has checked the CPU.
 */
#include "config.h"

#include "kernels/cpu/vec_avx2.h"

#define QM_ISA avx2
#define QM_MR 6
#define QM_MR_MID 2
#define QM_CHAINS 2
#define QM_Q4_LUT 0
#define QM_PF8_STEPS 4 /* 16 bytes a row per step: R lines every 4 steps */
#define QM_ROW_SCALES 0 /* partial vectors are copies: scales per chunk */

#include "kernels/cpu/qmatmul_tmpl.h"
