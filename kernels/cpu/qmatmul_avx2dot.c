/*
 * qmatmul_avx2dot.c - int8, nf4 and int4 decode with AVX2 integer dot
 * products (vpmaddubsw + vpmaddwd) over the token rounded to int8: the
 * scheme of qmatmul_vnni.c for CPUs without AVX-512 (Zen 2 and 3, Intel
 * client cores), qdot_tmpl.h over vec_dot_avx2.h (read its header).  Prefill
 * and the shapes these loops do not cover go to qmatmul_avx2.c.
 *
 *   - rows stream from several parts of the thread's range at once: one
 *     sequential stream per core leaves bandwidth unused on cores whose
 *     prefetchers run only so far ahead of a stream (Zen 2 reads 15 GB/s
 *     with one, 25 with six), and each token load serves every row.  4-bit:
 *     as many as the registers hold; int8's lighter loop takes six;
 *   - int4 sums a group's products before scaling them (one scale per group);
 *   - vpmaddubsw saturates its int16 pair sums: int4 codes (0..15) are the
 *     unsigned side (|pair| <= 2 * 15 * 127, two of them still fit int16);
 *     for int8 and nf4 the token goes in as |xq| and its sign moves onto the
 *     weight (vpsignb, exact; pair sums <= 2 * 127 * 127), so nf4's code
 *     book stays signed, round(127 v).
 * Only reached after dispatch.c has checked the CPU.
 */
#include "config.h"

#include "kernels/cpu/vec_dot_avx2.h"

#define QD_ISA avx2dot
#define QD_EXACT_ISA avx2
#define QD_STREAMS 1
#define QD_R8 6
#define QD_R4 4
#define QD_Q4_GROUPED 1
#define QD_NF4_OFFSET 0
#define QD_NF4_DQ 1

#include "kernels/cpu/qdot_tmpl.h"
