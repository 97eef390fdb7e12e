/*
 * vec_avx2.h - the vector layer the SIMD templates are written against,
 * for AVX2 + FMA + F16C: 8 f32 lanes, 16 registers.
 * Included only by files compiled with those flags.
 */
#ifndef INGOT_VEC_AVX2_H
#define INGOT_VEC_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define VL 8       /* f32 lanes */
#define VREGS 16   /* architectural vector registers */
typedef __m256 vf;

#define VI static inline __attribute__((always_inline))

VI vf v_zero(void) { return _mm256_setzero_ps(); }
VI vf v_set1(float s) { return _mm256_set1_ps(s); }
VI vf v_load(const float *p) { return _mm256_loadu_ps(p); }
VI void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
VI vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
VI vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
VI vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
VI vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
VI vf v_div(vf a, vf b) { return _mm256_div_ps(a, b); }
VI vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
VI vf v_min(vf a, vf b) { return _mm256_min_ps(a, b); }
VI float v_hsum(vf v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
VI float v_hmax(vf v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* bf16 is the top half of an f32: widen and shift. */
VI vf v_load_bf16(const uint16_t *p)
{
    __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
/* 2 * VL bf16 at p: *even gets elements 0, 2, ..., *odd elements 1, 3, ... */
VI void v_load_bf16_pairs(const uint16_t *p, vf *even, vf *odd)
{
    __m256i u = _mm256_loadu_si256((const __m256i *)p);
    *even = _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
    *odd = _mm256_castsi256_ps(_mm256_and_si256(u, _mm256_set1_epi32((int)0xffff0000u)));
}
/* The matching split of 2 * VL floats at p into even[] and odd[]. */
VI void v_deinterleave(const float *p, float *even, float *odd)
{
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    /* per 128-bit lane: a0 a2 b0 b2 | ... then fix the lane order */
    __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xdd);
    _mm256_storeu_ps(even, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8)));
    _mm256_storeu_ps(odd, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8)));
}
VI vf v_load_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/*
 * Partial vectors (0 < n < VL): lanes >= n read as 0 and are never touched.
 * AVX2 has no 16-bit masked load, so tails go through a zeroed copy; they
 * run once per row at most.
 */
VI vf v_load_part(const float *p, int n)
{
    float b[VL] = {0};
    memcpy(b, p, (size_t)n * sizeof(float));
    return _mm256_loadu_ps(b);
}
VI void v_store_part(float *p, vf v, int n)
{
    float b[VL];
    _mm256_storeu_ps(b, v);
    memcpy(p, b, (size_t)n * sizeof(float));
}
VI vf v_load_part_bf16(const uint16_t *p, int n)
{
    uint16_t b[VL] = {0};
    memcpy(b, p, (size_t)n * sizeof(uint16_t));
    return v_load_bf16(b);
}
VI vf v_load_part_f16(const uint16_t *p, int n)
{
    uint16_t b[VL] = {0};
    memcpy(b, p, (size_t)n * sizeof(uint16_t));
    return v_load_f16(b);
}

/* Pieces of exp(): round to nearest, p * 2^n for integral n, zero where x < lo. */
VI vf v_round(vf x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
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
