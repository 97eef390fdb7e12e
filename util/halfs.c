/*
 * halfs.c - 16- and 8-bit float formats.
 *
 * Conversions to narrower formats round to nearest, ties to even (as torch
 * and numpy do), so a round trip through f32 is exact and a conversion from
 * f32 is the correctly rounded value.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "util/util.h"

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float ingot_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t ingot_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40); /* quiet NaN, sign kept */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float ingot_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        float v = ldexpf((float)mant, -24); /* zero or subnormal */
        return sign ? -v : v;
    }
    if (exp == 31)
        return bits_f32(sign | 0x7f800000u | (mant << 13));
    return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t ingot_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00u | (uint16_t)((a >> 13) & 0x3ffu); /* NaN stays NaN */
    if (a >= 0x477ff000u)
        return sign | 0x7c00u; /* >= 65520 rounds to Inf */
    if (a < 0x38800000u) {
        /* f16 subnormal: count units of 2^-24, rounding to nearest even */
        float t = bits_f32(a) * 16777216.0f;
        return sign | (uint16_t)nearbyintf(t);
    }
    a += 0xc8000fffu + ((a >> 13) & 1u); /* rebias exponent, round to nearest even */
    return sign | (uint16_t)(a >> 13);
}

float ingot_f8e4m3_to_f32(uint8_t b)
{
    /* float8_e4m3fn: bias 7, no infinities, S.1111.111 is NaN */
    int sign = b & 0x80;
    int exp = (b >> 3) & 0xf;
    int mant = b & 0x7;
    float v;
    if (exp == 0xf && mant == 0x7)
        v = NAN;
    else if (exp == 0)
        v = ldexpf((float)mant, -9);
    else
        v = ldexpf((float)(8 + mant), exp - 10);
    return sign ? -v : v;
}

float ingot_f8e5m2_to_f32(uint8_t b)
{
    /* float8_e5m2 is the top byte of an IEEE half */
    return ingot_f16_to_f32((uint16_t)((uint16_t)b << 8));
}
