/*
 * qmatmul_vnni.c - int8, nf4 and int4 decode with AVX-512 VNNI integer dot
 * products (vpdpbusd) over the token rounded to int8: qdot_tmpl.h over
 * vec_dot_vnni.h (read its header).  Everything else (prefill,
 * double-quantized nf4, odd shapes) goes to qmatmul_avx512.c.
 *
 *   - 4 consecutive rows at a time, prefetched as one linear stream;
 *   - int4 scales every chunk of 128 products;
 *   - nf4's code book is stored as round(127 v) + 128, unsigned, the token
 *     signed: vpdpbusd wants its first operand unsigned, and the + 128 comes
 *     off as 128 sum xq per lane;
 *   - the int8 sign mask is kept per 64 inputs (vpmovb2m) for a masked
 *     negation of the weight (AVX-512 has no vpsignb).
 * From cache, one Zen 4 core: int4 22-36 GB/s (f32 kernel 10-12), nf4 20-22
 * (10-12), int8 43-49 GB/s (26-30).
 * Only reached after dispatch.c has checked the CPU.
 */
#include "config.h"

#include "kernels/cpu/vec_dot_vnni.h"

#define QD_ISA vnni
#define QD_EXACT_ISA avx512
#define QD_STREAMS 0
#define QD_R8 4
#define QD_R4 4
#define QD_Q4_GROUPED 0
#define QD_NF4_OFFSET 1
#define QD_NF4_DQ 0

#include "kernels/cpu/qdot_tmpl.h"
