/*
 * vec_avx512.h - the vector layer the SIMD templates are written against,
 * for AVX-512 (F, BW, VL) + FMA + F16C: 16 f32 lanes, 32 registers (the
 * decode loops use vec_256.h's 256-bit vectors instead).
 * Included only by files compiled with those flags.
 */
#ifndef INGOT_VEC_AVX512_H
#define INGOT_VEC_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "kernels/cpu/vec_256.h"

#define VL 16      /* f32 lanes */
typedef __m512 vf;

VI vf v_zero(void) { return _mm512_setzero_ps(); }
VI vf v_set1(float s) { return _mm512_set1_ps(s); }
VI vf v_load(const float *p) { return _mm512_loadu_ps(p); }
VI void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
VI vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
VI vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
VI vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
VI vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
VI vf v_div(vf a, vf b) { return _mm512_div_ps(a, b); }
VI vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
VI vf v_min(vf a, vf b) { return _mm512_min_ps(a, b); }
VI float v_hsum(vf v) { return _mm512_reduce_add_ps(v); }
VI float v_hmax(vf v) { return _mm512_reduce_max_ps(v); }

/* bf16 is the top half of an f32: widen and shift. */
VI vf v_load_bf16(const uint16_t *p)
{
    __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
VI vf v_load_f16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* Partial vectors (0 < n < VL): lanes >= n read as 0 and are never touched. */
VI __mmask16 v_mask(int n) { return (__mmask16)((1u << n) - 1u); }
VI vf v_load_part(const float *p, int n) { return _mm512_maskz_loadu_ps(v_mask(n), p); }
VI void v_store_part(float *p, vf v, int n) { _mm512_mask_storeu_ps(p, v_mask(n), v); }
VI vf v_load_part_bf16(const uint16_t *p, int n)
{
    __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(v_mask(n), p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
VI vf v_load_part_f16(const uint16_t *p, int n)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(v_mask(n), p));
}

/* Pieces of exp(): round to nearest, p * 2^n for integral n, zero where x < lo. */
VI vf v_round(vf x)
{
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
VI vf v_ldexp(vf p, vf n)
{
    __m512i e = _mm512_slli_epi32(_mm512_cvtps_epi32(n), 23);
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), e));
}
VI vf v_zero_below(vf r, vf x, float lo)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_GE_OQ), r);
}

/* In-place transpose of a VL x VL block: t[i] lane j <-> t[j] lane i. */
VI void v_transpose(vf t[VL])
{
    __m512 a[16], b[16];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i += 2) {
        a[i] = _mm512_unpacklo_ps(t[i], t[i + 1]);
        a[i + 1] = _mm512_unpackhi_ps(t[i], t[i + 1]);
    }
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i += 4) {
        b[i] = _mm512_shuffle_ps(a[i], a[i + 2], 0x44);
        b[i + 1] = _mm512_shuffle_ps(a[i], a[i + 2], 0xee);
        b[i + 2] = _mm512_shuffle_ps(a[i + 1], a[i + 3], 0x44);
        b[i + 3] = _mm512_shuffle_ps(a[i + 1], a[i + 3], 0xee);
    }
    /* b[4q + r] holds, per 128-bit lane l, column 4l + r of rows 4q..4q+3 */
    _Pragma("GCC unroll 16")
    for (int r = 0; r < 4; r++) {
        __m512 c0 = _mm512_shuffle_f32x4(b[r], b[4 + r], 0x88);
        __m512 c1 = _mm512_shuffle_f32x4(b[r], b[4 + r], 0xdd);
        __m512 c2 = _mm512_shuffle_f32x4(b[8 + r], b[12 + r], 0x88);
        __m512 c3 = _mm512_shuffle_f32x4(b[8 + r], b[12 + r], 0xdd);
        t[r] = _mm512_shuffle_f32x4(c0, c2, 0x88);
        t[4 + r] = _mm512_shuffle_f32x4(c1, c3, 0x88);
        t[8 + r] = _mm512_shuffle_f32x4(c0, c2, 0xdd);
        t[12 + r] = _mm512_shuffle_f32x4(c1, c3, 0xdd);
    }
}

#endif /* INGOT_VEC_AVX512_H */
