/*
 * vec_dot_vnni.h - the integer-dot layer qdot_tmpl.h is written against,
 * for AVX-512 VNNI: u8 x s8 products summed into int32 lanes by vpdpbusd,
 * on 64-byte vectors (the vi of vec_avx512.h, 16 int32 lanes).
 * Included after vec_avx512.h, only by files compiled with its flags and
 * -mavx512vnni.
 */
#ifndef INGOT_VEC_DOT_VNNI_H
#define INGOT_VEC_DOT_VNNI_H

#include "kernels/cpu/vec_avx512.h"

#define DB 64 /* bytes per integer vector */

/* round(v) to int32, halves away from zero (as roundf) */
VI vi d_round(vf v)
{
    __m512i q = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(v, _mm512_cvtepi32_ps(q));
    const __m512i one = _mm512_set1_epi32(1);
    q = _mm512_mask_add_epi32(q, _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ), q, one);
    return _mm512_mask_sub_epi32(q, _mm512_cmp_ps_mask(f, _mm512_set1_ps(-0.5f), _CMP_LE_OQ), q, one);
}

/* 32 int32 in -127..127 (32 / VL vectors) as 32 bytes at p */
VI void d_pack32(int8_t *p, const vi q[32 / VL])
{
    _mm_storeu_si128((__m128i *)p, _mm512_cvtsepi32_epi8(q[0]));
    _mm_storeu_si128((__m128i *)(p + 16), _mm512_cvtsepi32_epi8(q[1]));
}

/* 2 * DB bytes at q: the even ones to lo, the odd ones to hi (DB each) */
VI void d_split(const int8_t *q, int8_t *lo, int8_t *hi)
{
    /* per 128-bit lane: even bytes to the low qword, odd ones to the high one */
    const __m512i eo = _mm512_broadcast_i32x4(
        _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
    __m512i a = _mm512_shuffle_epi8(vi_load(q), eo), b = _mm512_shuffle_epi8(vi_load(q + 64), eo);
    vi_store(lo, _mm512_permutex2var_epi64(a, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), b));
    vi_store(hi, _mm512_permutex2var_epi64(a, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), b));
}

/* |v| of bytes in -127..127; -128 (xq of a NaN or infinite x, saturated)
 * gives 0, as the int8 token always had it */
VI vi d_abs8(vi v) { return _mm512_and_si512(_mm512_abs_epi8(v), _mm512_set1_epi8(0x7f)); }
VI vi d_lo4(vi v) { return _mm512_and_si512(v, _mm512_set1_epi8(0x0f)); }
VI vi d_hi4(vi v) { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f)); }
VI vi d_sub32(vi a, vi b) { return _mm512_sub_epi32(a, b); }
/* a 16-byte table in every 128-bit lane, looked up by the low 4 bits of each byte */
VI vi d_tab16(const int8_t *t) { return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t)); }
VI vi d_lut(vi tab, vi idx) { return _mm512_shuffle_epi8(tab, idx); }

/* Per int32 lane, the sum of its four u8 x s8 products (exact). */
VI vi d_dot(vi u, vi s) { return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s); }
VI vi d_dot2(vi u1, vi s1, vi u2, vi s2) { return _mm512_dpbusd_epi32(d_dot(u1, s1), u2, s2); }
#define d_dot2_small d_dot2
/* 128 * the sum of xq over each lane of a split chunk (lo, hi) */
VI vi d_xqs(vi lo, vi hi)
{
    const __m512i ones = _mm512_set1_epi8(1);
    return _mm512_slli_epi32(d_dot2(ones, lo, ones, hi), 7);
}

/* The sign of xq moves onto the weight by a masked negation: the sign
 * carrier is a bit mask per 64 inputs. */
typedef __mmask64 d_sgn;
VI void d_sgn_make(const int8_t *xq, int n, uint64_t *sg)
{
    for (int c = 0; c < n / 64; c++)
        sg[c] = _mm512_movepi8_mask(vi_load(xq + 64 * c));
}
VI d_sgn d_sgn_get(const int8_t *xq, const uint64_t *sg, int c)
{
    (void)xq;
    return sg[c];
}
VI vi d_neg(vi w, d_sgn s) { return _mm512_mask_sub_epi8(w, s, _mm512_setzero_si512(), w); }

VI float d_hsum(vf v) { return _mm512_reduce_add_ps(v); }

/* y[r * stride] = d_hsum(a[r]) for nr rows */
VI void d_store_sums(int nr, const vf *a, float *y, int stride)
{
    for (int r = 0; r < nr; r++)
        y[(size_t)r * (size_t)stride] = d_hsum(a[r]);
}

/* xg[g]: the f32 sum of x over group g (gs inputs, a multiple of 128):
 * per 128 inputs the lanes of its 32-blocks' halves, reduced, then added up
 * over the group; VL zeros past the last group. */
static void d_group_sums(const float *x, int n_in, int gs, float *xg)
{
    int ng = n_in / gs;
    for (int g = 0; g < ng; g++) {
        float xs = 0.0f;
        for (int c = g * (gs / 128); c < (g + 1) * (gs / 128); c++) {
            __m512 sum = _mm512_setzero_ps();
            for (int b = 0; b < 4; b++) {
                const float *xb = x + c * 128 + b * 32;
                sum = _mm512_add_ps(sum, _mm512_add_ps(_mm512_loadu_ps(xb), _mm512_loadu_ps(xb + 16)));
            }
            xs += _mm512_reduce_add_ps(sum);
        }
        xg[g] = xs;
    }
    for (int g = ng; g < ng + VL; g++)
        xg[g] = 0.0f;
}

#endif /* INGOT_VEC_DOT_VNNI_H */
