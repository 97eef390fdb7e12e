/*
 * qkernels_fill.c - registers the quantized-format matmuls (int8, nf4, int4)
 * into a kernel table for an ISA.  The SIMD versions are referenced only
 * when configure built them; an ISA that was not built falls back to the
 * best lower one, down to the portable reference.  "avx512vnni" is the
 * AVX-512 set with int8, nf4 and int4 decode on VNNI dot products over the token rounded
 * to int8 (qmatmul_vnni.c); the dispatcher takes it when the CPU has
 * AVX512_VNNI.  "avx2dot" is the AVX2 set with the same decode on
 * vpmaddubsw (qmatmul_avx2dot.c), taken on AVX2 CPUs without AVX-512.
 */
#include "config.h"

#include <string.h>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/qkernels.h"

static void set3(ingot_cpu_kernels *k, ingot_matmul_fn q8, ingot_matmul_fn nf4, ingot_matmul_fn q4)
{
    k->matmul[INGOT_DT_Q8] = q8;
    k->matmul[INGOT_DT_NF4] = nf4;
    k->matmul[INGOT_DT_Q4] = q4;
}

/* int5 and int6 have exact f32 kernels only (no integer-dot decode yet). */
static void set_qb(ingot_cpu_kernels *k, ingot_matmul_fn q5, ingot_matmul_fn q6)
{
    k->matmul[INGOT_DT_Q5] = q5;
    k->matmul[INGOT_DT_Q6] = q6;
}

void ingot_quant_kernels_fill(ingot_cpu_kernels *k, const char *isa)
{
#ifdef INGOT_HAVE_AVX2
    if (isa && strcmp(isa, "avx2dot") == 0) {
        set3(k, ingot_qmatmul_q8_avx2dot, ingot_qmatmul_nf4_avx2dot, ingot_qmatmul_q4_avx2dot);
        set_qb(k, ingot_qmatmul_q5_avx2, ingot_qmatmul_q6_avx2);
        return;
    }
#endif
    int want = !isa ? 0
               : strcmp(isa, "avx512vnni") == 0 ? 3
               : strcmp(isa, "avx2dot") == 0    ? 1
               : strcmp(isa, "avx512") == 0     ? 2
               : strcmp(isa, "avx2") == 0       ? 1
                                                : 0;
#ifdef INGOT_HAVE_VNNI
    if (want >= 3) {
        set3(k, ingot_qmatmul_q8_vnni, ingot_qmatmul_nf4_vnni, ingot_qmatmul_q4_vnni);
        set_qb(k, ingot_qmatmul_q5_avx512, ingot_qmatmul_q6_avx512);
        return;
    }
#endif
#ifdef INGOT_HAVE_AVX512
    if (want >= 2) {
        set3(k, ingot_qmatmul_q8_avx512, ingot_qmatmul_nf4_avx512, ingot_qmatmul_q4_avx512);
        set_qb(k, ingot_qmatmul_q5_avx512, ingot_qmatmul_q6_avx512);
        return;
    }
#endif
#ifdef INGOT_HAVE_AVX2
    if (want >= 1) {
        set3(k, ingot_qmatmul_q8_avx2, ingot_qmatmul_nf4_avx2, ingot_qmatmul_q4_avx2);
        set_qb(k, ingot_qmatmul_q5_avx2, ingot_qmatmul_q6_avx2);
        return;
    }
#endif
    (void)want;
    set3(k, ingot_qmatmul_ref, ingot_qmatmul_ref, ingot_qmatmul_ref);
    set_qb(k, ingot_qmatmul_ref, ingot_qmatmul_ref);
}
