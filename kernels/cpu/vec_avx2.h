/*
 * vec_avx2.h - the vector layer the SIMD templates are written against,
 * for AVX2 + FMA + F16C: 8 f32 lanes, 16 registers; the 256-bit basics
 * (loads, FMA, conversions, partial vectors) are vec_256.h's.
 * Included only by files compiled with those flags.
 */
#ifndef INGOT_VEC_AVX2_H
#define INGOT_VEC_AVX2_H

#include "kernels/cpu/vec_256.h"

#define VL HVL     /* f32 lanes */
typedef hv vf;

#define v_zero h_zero
#define v_load h_load
#define v_fma h_fma
#define v_add h_add
#define v_hsum h_hsum
#define v_load_bf16 h_load_bf16
#define v_load_f16 h_load_f16
#define v_load_part h_load_part
#define v_load_part_bf16 h_load_part_bf16
#define v_load_part_f16 h_load_part_f16

VI vf v_set1(float s) { return _mm256_set1_ps(s); }
VI void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
VI vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
VI vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
VI vf v_div(vf a, vf b) { return _mm256_div_ps(a, b); }
VI vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
VI vf v_min(vf a, vf b) { return _mm256_min_ps(a, b); }
H_FOLD(v_hmax, max)

/* Partial store (0 < n < VL): lanes >= n are not written. */
VI void v_store_part(float *p, vf v, int n)
{
    float b[VL];
    _mm256_storeu_ps(b, v);
    memcpy(p, b, (size_t)n * sizeof(float));
}

/* Pieces of exp(): round to nearest, p * 2^n for integral n, zero where x < lo. */
VI vf v_round(vf x)
{
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
VI vf v_ldexp(vf p, vf n)
{
    __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
}
VI vf v_zero_below(vf r, vf x, float lo)
{
    return _mm256_and_ps(r, _mm256_cmp_ps(x, _mm256_set1_ps(lo), _CMP_GE_OQ));
}

/* In-place transpose of a VL x VL block: t[i] lane j <-> t[j] lane i. */
VI void v_transpose(vf t[VL])
{
    __m256 a[8], b[8];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 8; i += 2) {
        a[i] = _mm256_unpacklo_ps(t[i], t[i + 1]);
        a[i + 1] = _mm256_unpackhi_ps(t[i], t[i + 1]);
    }
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 8; i += 4) {
        b[i] = _mm256_shuffle_ps(a[i], a[i + 2], 0x44);
        b[i + 1] = _mm256_shuffle_ps(a[i], a[i + 2], 0xee);
        b[i + 2] = _mm256_shuffle_ps(a[i + 1], a[i + 3], 0x44);
        b[i + 3] = _mm256_shuffle_ps(a[i + 1], a[i + 3], 0xee);
    }
    _Pragma("GCC unroll 16")
    for (int r = 0; r < 4; r++) {
        t[r] = _mm256_permute2f128_ps(b[r], b[4 + r], 0x20);
        t[4 + r] = _mm256_permute2f128_ps(b[r], b[4 + r], 0x31);
    }
}

#endif /* INGOT_VEC_AVX2_H */
