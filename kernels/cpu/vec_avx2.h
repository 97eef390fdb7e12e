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

/* ---- for the quantized formats (qmatmul_tmpl.h, qdot_tmpl.h) ---- */

/* No masked loads: a tail takes scalar code or a zeroed copy. */
#define V_MASKED 0

typedef __m256i vi; /* VL int32 lanes: 4 * VL bytes */

VI vf v_fnmadd(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); } /* c - a * b */
VI vf v_abs(vf v) { return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
VI vf v_cvt_i32(vi v) { return _mm256_cvtepi32_ps(v); }
VI vi vi_load(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
VI void vi_store(void *p, vi v) { _mm256_storeu_si256((__m256i *)p, v); }
VI vi vi_srl32(vi v, int s) { return _mm256_srli_epi32(v, s); }

/* The first n dwords at p, the rest 0 (n = VL, or VL / 2 where an int4 row
 * ends on 32 codes). */
VI vi vi_load_dwords(const void *p, int n)
{
    if (n >= VL)
        return vi_load(p);
    if (n == VL / 2)
        return _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p));
    uint32_t b[VL] = {0};
    memcpy(b, p, (size_t)n * 4);
    return vi_load(b);
}

/* VL bytes as f32 */
VI vf v_load_i8(const int8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}
VI vf v_load_u8(const uint8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}
VI vf v_load_part_u8(const uint8_t *p, int n)
{
    uint8_t b[VL] = {0};
    memcpy(b, p, (size_t)n);
    return v_load_u8(b);
}

/* A 16-entry f32 table, looked up by the low 4 bits of each dword: two
 * vpermps on the low 3 bits, blended on bit 3. */
typedef struct vlut {
    __m256 lo, hi;
} vlut;

VI vlut v_lut_load(const float *t) { return (vlut){_mm256_loadu_ps(t), _mm256_loadu_ps(t + 8)}; }
VI vlut v_lut_sub(vlut t, vf z) { return (vlut){_mm256_sub_ps(t.lo, z), _mm256_sub_ps(t.hi, z)}; }
VI vf v_lut(vlut t, vi idx)
{
    __m256 lo = _mm256_permutevar8x32_ps(t.lo, idx), hi = _mm256_permutevar8x32_ps(t.hi, idx);
    return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}
/* the low 4 bits of each dword as f32 */
VI vf v_cvt_low4(vi v) { return _mm256_cvtepi32_ps(_mm256_and_si256(v, _mm256_set1_epi32(15))); }
/* int5/int6 high bits: the first n (VL, or VL / 2 at a row's end) hb-byte
 * words at p, zero-extended to dwords (lanes past n are 0) */
VI vi vi_load_hi(const uint8_t *p, int hb, int n)
{
    uint8_t b[2 * VL] = {0};
    memcpy(b, p, (size_t)(n * hb));
    __m128i v = _mm_loadu_si128((const __m128i *)b);
    return hb == 1 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepu16_epi32(v);
}
/* code m of each dword: nibble m of v, with bits hb*m.. of h (hb bits) above it, as f32 */
VI vf v_cvt_code_hi(vi v, vi h, int m, int hb)
{
    __m256i lo = _mm256_and_si256(_mm256_srli_epi32(v, 4 * m), _mm256_set1_epi32(15));
    __m256i hi = _mm256_and_si256(_mm256_srli_epi32(h, hb * m), _mm256_set1_epi32((1 << hb) - 1));
    return _mm256_cvtepi32_ps(_mm256_or_si256(lo, _mm256_slli_epi32(hi, 4)));
}

/* Scale vectors: lane j = a[j / 8] (the first n of VL / 8 entries, the rest
 * 0; here always the one), lane j = a[j / 4] (VL / 4 entries). */
VI vf v_spread8(const float *a, int n)
{
    (void)n;
    return _mm256_set1_ps(a[0]);
}
VI vf v_spread4(const float *a)
{
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(a[0])), _mm_set1_ps(a[1]), 1);
}
/* lanes >= n set to 0 */
VI vf v_keep(vf v, int n)
{
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_ps(v, _mm256_castsi256_ps(m));
}

#endif /* INGOT_VEC_AVX2_H */
