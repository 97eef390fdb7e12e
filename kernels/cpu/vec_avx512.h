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

/* ---- for the quantized formats (qmatmul_tmpl.h, qdot_tmpl.h) ---- */

/* Masked loads: a tail is one more vector with its lanes past the end 0. */
#define V_MASKED 1

typedef __m512i vi; /* VL int32 lanes: 4 * VL bytes */

VI vf v_fnmadd(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); } /* c - a * b */
VI vf v_abs(vf v)
{
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}
VI vf v_cvt_i32(vi v) { return _mm512_cvtepi32_ps(v); }
VI vi vi_load(const void *p) { return _mm512_loadu_si512(p); }
VI void vi_store(void *p, vi v) { _mm512_storeu_si512(p, v); }
VI vi vi_srl32(vi v, int s) { return _mm512_srli_epi32(v, s); }

/* The first n dwords at p, the rest 0. */
VI vi vi_load_dwords(const void *p, int n) { return _mm512_maskz_loadu_epi32(v_mask(n), p); }

/* VL bytes as f32; the first n (0 <= n <= VL), the rest 0 */
VI vf v_load_i8(const int8_t *p)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}
VI vf v_load_part_i8(const int8_t *p, int n)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(v_mask(n), p)));
}
VI vf v_load_u8(const uint8_t *p)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
}
VI vf v_load_part_u8(const uint8_t *p, int n)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(v_mask(n), p)));
}

/* A 16-entry f32 table, looked up by the low 4 bits of each dword: one vpermps. */
typedef __m512 vlut;

VI vlut v_lut_load(const float *t) { return _mm512_loadu_ps(t); }
VI vlut v_lut_sub(vlut t, vf z) { return _mm512_sub_ps(t, z); }
VI vf v_lut(vlut t, vi idx) { return _mm512_permutexvar_ps(idx, t); }
/* the low 4 bits of each dword as f32 */
VI vf v_cvt_low4(vi v) { return _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15))); }
/* int5/int6 high bits: the first n hb-byte words at p, zero-extended to dwords (the rest 0) */
VI vi vi_load_hi(const uint8_t *p, int hb, int n)
{
    if (hb == 1)
        return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(v_mask(n), p));
    return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(v_mask(n), p));
}
/* code m of each dword: nibble m of v, with bits hb*m.. of h (hb bits) above it, as f32 */
VI vf v_cvt_code_hi(vi v, vi h, int m, int hb)
{
    __m512i lo = _mm512_and_si512(_mm512_srli_epi32(v, 4 * m), _mm512_set1_epi32(15));
    __m512i hi = _mm512_and_si512(_mm512_srli_epi32(h, hb * m), _mm512_set1_epi32((1 << hb) - 1));
    return _mm512_cvtepi32_ps(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4)));
}

/* Scale vectors: lane j = a[j / 8] (the first n of VL / 8 entries, the rest
 * 0), lane j = a[j / 4] (VL / 4 entries). */
VI vf v_spread8(const float *a, int n)
{
    const __m512i half = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    __m128 pair = n >= 2 ? _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)a)) : _mm_load_ss(a);
    return _mm512_permutexvar_ps(half, _mm512_castps128_ps512(pair));
}
VI vf v_spread4(const float *a)
{
    const __m512i quarter = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return _mm512_permutexvar_ps(quarter, _mm512_castps128_ps512(_mm_loadu_ps(a)));
}
/* lanes >= first from b, the others from a */
VI vf v_blend_from(vf a, vf b, int first)
{
    return _mm512_mask_blend_ps((__mmask16)(0xffffu << first), a, b);
}

/* map[q] for the first n (<= VL) bytes q at p: a 256-entry table, as 8
 * two-table permutes and a blend tree on index bits 5, 6 and 7 (AVX-512
 * gathers are slower on Zen 4). */
VI vf v_map256(const float *map, const uint8_t *p, int n)
{
    __m512i qi = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(v_mask(n), p));
    __m512 t[8];
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i++)
        t[i] = _mm512_permutex2var_ps(_mm512_loadu_ps(map + 32 * i), qi,
                                      _mm512_loadu_ps(map + 32 * i + 16));
    _Pragma("GCC unroll 3")
    for (int bit = 32, k = 8; bit <= 128; bit *= 2, k /= 2) {
        __mmask16 sel = _mm512_test_epi32_mask(qi, _mm512_set1_epi32(bit));
        _Pragma("GCC unroll 4")
        for (int i = 0; i < k / 2; i++)
            t[i] = _mm512_mask_blend_ps(sel, t[2 * i], t[2 * i + 1]);
    }
    return t[0];
}

#endif /* INGOT_VEC_AVX512_H */
