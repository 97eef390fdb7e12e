/*
 * vec_256.h - 256-bit vectors (AVX2 + FMA + F16C): 8 f32 lanes.  The decode
 * loops use them on every ISA: streaming weights with 256-bit loads reads
 * memory faster than with 512-bit ones on cores that split those (AMD Zen 4
 * reads ~15% faster), and nothing else limits decode.  vec_avx2.h builds its
 * whole layer on these.  Included only by files compiled with those flags.
 */
#ifndef INGOT_VEC_256_H
#define INGOT_VEC_256_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define HVL 8 /* f32 lanes */
typedef __m256 hv;

#define VI static inline __attribute__((always_inline))

VI hv h_zero(void) { return _mm256_setzero_ps(); }
VI hv h_load(const float *p) { return _mm256_loadu_ps(p); }
VI hv h_fma(hv a, hv b, hv c) { return _mm256_fmadd_ps(a, b, c); }
VI hv h_add(hv a, hv b) { return _mm256_add_ps(a, b); }
/* Defines float name(hv v): the 8 lanes folded with OP (add, max), halves first. */
#define H_FOLD(name, OP)                                                                  \
    VI float name(hv v)                                                                   \
    {                                                                                     \
        __m128 s = _mm_##OP##_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)); \
        s = _mm_##OP##_ps(s, _mm_movehl_ps(s, s));                                        \
        s = _mm_##OP##_ss(s, _mm_movehdup_ps(s));                                         \
        return _mm_cvtss_f32(s);                                                          \
    }
H_FOLD(h_hsum, add)

/* bf16 is the top half of an f32: widen and shift. */
VI hv h_load_bf16(const uint16_t *p)
{
    __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
VI hv h_load_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/*
 * Partial vectors (0 < n < HVL): lanes >= n read as 0.  There is no 16-bit
 * masked load in AVX2, so tails go through a zeroed copy; they run once per
 * row at most.
 */
VI hv h_load_part(const float *p, int n)
{
    float b[HVL] = {0};
    memcpy(b, p, (size_t)n * sizeof(float));
    return _mm256_loadu_ps(b);
}
VI hv h_load_part_bf16(const uint16_t *p, int n)
{
    uint16_t b[HVL] = {0};
    memcpy(b, p, (size_t)n * sizeof(uint16_t));
    return h_load_bf16(b);
}
VI hv h_load_part_f16(const uint16_t *p, int n)
{
    uint16_t b[HVL] = {0};
    memcpy(b, p, (size_t)n * sizeof(uint16_t));
    return h_load_f16(b);
}

#endif /* INGOT_VEC_256_H */
