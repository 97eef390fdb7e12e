/*
 * qkernels.h - the quantized-format matmul entry points (internal), one
 * ingot_matmul_fn per format and ISA; qkernels_fill.c registers them into
 * the kernel tables.  Each computes rows [o0, o1) of y = x · W^T.
 */
#ifndef INGOT_QKERNELS_H
#define INGOT_QKERNELS_H

#include "kernels/cpu/kernels.h"

#define INGOT_QMATMUL_DECL(name)                                                               \
    void name(const ingot_wmat *w, const float *x, int n_tok, float *y, int o0, int o1)

/* portable reference (qmatmul_ref.c): the specification */
INGOT_QMATMUL_DECL(ingot_qmatmul_ref);
/* AVX2 + FMA + F16C, exact f32 (qmatmul_avx2.c) */
INGOT_QMATMUL_DECL(ingot_qmatmul_q8_avx2);
INGOT_QMATMUL_DECL(ingot_qmatmul_nf4_avx2);
INGOT_QMATMUL_DECL(ingot_qmatmul_q4_avx2);
INGOT_QMATMUL_DECL(ingot_qmatmul_q5_avx2);
INGOT_QMATMUL_DECL(ingot_qmatmul_q6_avx2);
/* AVX2, decode on integer dot products over the rounded token (qmatmul_avx2dot.c) */
INGOT_QMATMUL_DECL(ingot_qmatmul_q8_avx2dot);
INGOT_QMATMUL_DECL(ingot_qmatmul_nf4_avx2dot);
INGOT_QMATMUL_DECL(ingot_qmatmul_q4_avx2dot);
/* AVX-512 F/BW/VL, exact f32 (qmatmul_avx512.c) */
INGOT_QMATMUL_DECL(ingot_qmatmul_q8_avx512);
INGOT_QMATMUL_DECL(ingot_qmatmul_nf4_avx512);
INGOT_QMATMUL_DECL(ingot_qmatmul_q4_avx512);
INGOT_QMATMUL_DECL(ingot_qmatmul_q5_avx512);
INGOT_QMATMUL_DECL(ingot_qmatmul_q6_avx512);
/* AVX-512 VNNI decode over the rounded token (qmatmul_vnni.c) */
INGOT_QMATMUL_DECL(ingot_qmatmul_q8_vnni);
INGOT_QMATMUL_DECL(ingot_qmatmul_nf4_vnni);
INGOT_QMATMUL_DECL(ingot_qmatmul_q4_vnni);

#endif /* INGOT_QKERNELS_H */
