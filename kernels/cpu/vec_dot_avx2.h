/*
 * vec_dot_avx2.h - the integer-dot layer qdot_tmpl.h is written against,
 * for AVX2: u8 x s8 products on vpmaddubsw (int16 pair sums) widened by
 * vpmaddwd, on 32-byte vectors (the vi of vec_avx2.h, 8 int32 lanes).
 * Included after vec_avx2.h, only by files compiled with its flags.
 */
#ifndef INGOT_VEC_DOT_AVX2_H
#define INGOT_VEC_DOT_AVX2_H

#include "kernels/cpu/vec_avx2.h"

#define DB 32 /* bytes per integer vector */

/* round(v) to int32, halves away from zero (as roundf) */
VI vi d_round(vf v)
{
    __m256i q = _mm256_cvttps_epi32(v);
    __m256 f = _mm256_sub_ps(v, _mm256_cvtepi32_ps(q));
    __m256i up = _mm256_castps_si256(_mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
    __m256i dn = _mm256_castps_si256(_mm256_cmp_ps(f, _mm256_set1_ps(-0.5f), _CMP_LE_OQ));
    return _mm256_add_epi32(_mm256_sub_epi32(q, up), dn); /* masks are -1 */
}

/* 32 int32 in -127..127 (32 / VL vectors) as 32 bytes at p */
VI void d_pack32(int8_t *p, const vi q[32 / VL])
{
    __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
    /* packs work per 128-bit lane: dwords come out as 0 4 1 5 2 6 3 7 */
    vi_store(p, _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23),
                                            _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

/* 2 * DB bytes at q: the even ones to lo, the odd ones to hi (DB each) */
VI void d_split(const int8_t *q, int8_t *lo, int8_t *hi)
{
    /* per 128-bit lane: even bytes to the low 8, odd ones to the high 8 */
    const __m256i eo = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2,
                                        4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    for (int h = 0; h < 2; h++) {
        __m256i v = vi_load(q + 32 * h);
        v = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, eo), 0xd8); /* 0 2 1 3 */
        _mm_storeu_si128((__m128i *)(lo + 16 * h), _mm256_castsi256_si128(v));
        _mm_storeu_si128((__m128i *)(hi + 16 * h), _mm256_extracti128_si256(v, 1));
    }
}

VI vi d_abs8(vi v) { return _mm256_abs_epi8(v); }
VI vi d_lo4(vi v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0f)); }
VI vi d_hi4(vi v) { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f)); }
VI vi d_sub32(vi a, vi b) { return _mm256_sub_epi32(a, b); }
/* a 16-byte table in every 128-bit lane, looked up by the low 4 bits of each byte */
VI vi d_tab16(const int8_t *t) { return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t)); }
VI vi d_lut(vi tab, vi idx) { return _mm256_shuffle_epi8(tab, idx); }

/* Per int32 lane, the sum of its four u8 x s8 products.  vpmaddubsw
 * saturates its int16 pair sums: callers keep them within 2 * 127 * 127. */
VI vi d_pairs(vi s16) { return _mm256_madd_epi16(s16, _mm256_set1_epi16(1)); }
VI vi d_dot(vi u, vi s) { return d_pairs(_mm256_maddubs_epi16(u, s)); }
VI vi d_dot2(vi u1, vi s1, vi u2, vi s2) { return _mm256_add_epi32(d_dot(u1, s1), d_dot(u2, s2)); }
/* the same where two pair sums still fit int16 (u <= 15): one vpmaddwd */
VI vi d_dot2_small(vi u1, vi s1, vi u2, vi s2)
{
    return d_pairs(_mm256_add_epi16(_mm256_maddubs_epi16(u1, s1), _mm256_maddubs_epi16(u2, s2)));
}

/* The sign of xq moves onto the weight (vpsignb), which reads it from xq
 * itself: no separate sign carrier. */
typedef __m256i d_sgn;
VI void d_sgn_make(const int8_t *xq, int n, uint64_t *sg)
{
    (void)xq, (void)n, (void)sg;
}
VI d_sgn d_sgn_get(const int8_t *xq, const uint64_t *sg, int c)
{
    (void)sg;
    return vi_load(xq + DB * c);
}
VI vi d_neg(vi w, d_sgn s) { return _mm256_sign_epi8(w, s); }

/*
 * Lane sums in one fixed order, ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)),
 * whether a row is summed alone or four at once: a row's bits must not
 * depend on which pass of the thread's range it fell in.
 */
VI float d_hsum(vf v)
{
    __m256 t = _mm256_hadd_ps(v, v);
    t = _mm256_hadd_ps(t, t);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
}

/* y[r * stride] = d_hsum(a[r]) for nr rows; four of them with three vhaddps */
VI void d_store_sums(int nr, const vf *a, float *y, int stride)
{
    if (nr == 4) {
        float s[4];
        __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
        _mm_storeu_ps(s, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
        for (int r = 0; r < 4; r++)
            y[(size_t)r * (size_t)stride] = s[r];
        return;
    }
    for (int r = 0; r < nr; r++)
        y[(size_t)r * (size_t)stride] = d_hsum(a[r]);
}

/* xg[g]: the f32 sum of x over group g (gs inputs), one accumulator per
 * lane; VL zeros past the last group. */
static void d_group_sums(const float *x, int n_in, int gs, float *xg)
{
    int ng = n_in / gs;
    for (int g = 0; g < ng; g++) {
        __m256 s = _mm256_setzero_ps();
        for (int k = g * gs; k < (g + 1) * gs; k += 8)
            s = _mm256_add_ps(s, _mm256_loadu_ps(x + k));
        xg[g] = d_hsum(s);
    }
    for (int g = ng; g < ng + VL; g++)
        xg[g] = 0.0f;
}

#endif /* INGOT_VEC_DOT_AVX2_H */
