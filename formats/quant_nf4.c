/*
 * quant_nf4.c - nf4 (INGOT_DT_NF4): bitsandbytes 4-bit NormalFloat, exactly
 * as bitsandbytes' CUDA kernel kQuantizeBlockwise<..., NF4> computes it:
 *
 *   - blocks of 64 consecutive values of the flattened tensor (our rows hold
 *     whole blocks: n_in % 64 == 0), absmax = max|w| per block (f32);
 *   - each value is normalized by MULTIPLYING by 1.0f/absmax (not dividing:
 *     bitsandbytes stores the reciprocal in shared memory), then mapped to a
 *     code by dQuantizeNF4's decision tree (thresholds are the midpoints of
 *     the code book rounded to f32; a value equal to a threshold takes the
 *     lower code because every test is "x > t");
 *   - two codes per byte, the FIRST element in the HIGH nibble.
 *
 * So our qs/absmax are byte-for-byte what bitsandbytes.functional.
 * quantize_4bit(w, blocksize=64, quant_type="nf4") returns for a CUDA
 * tensor.  Corner cases follow from that arithmetic: an all-zero block has
 * absmax 0, 1/0 = Inf, 0*Inf = NaN, and every comparison with NaN is false,
 * so its codes are 0 (value -1.0) and it dequantizes to -1.0 * 0 = -0.0.
 *
 * Double quantization (compress_statistics=True): offset = mean(absmax),
 * then absmax - offset is quantized blockwise (256) with the signed dynamic
 * 8-bit map and dQuantize's binary search, again multiplying by 1/absmax2.
 *
 * Parts (ingot_format_nf4), nb = n_out*n_in/64 blocks:
 *   variant "plain":        qs u8 (n_out*n_in/2), absmax f32 (nb)
 *   variant "double-quant": qs, absmax_q u8 (nb), absmax_absmax f32 (ceil(nb/256)),
 *                           absmax_offset f32 (1)
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "formats/formats.h"
#include "util/util.h"

const float ingot_nf4_code[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

/* bitsandbytes csrc/kernels.cu dQuantizeNF4, same constants, same order. */
uint8_t ingot_nf4_quantize(float x)
{
    if (x > 0.03979014977812767f) {
        if (x > 0.3893125355243683f) {
            if (x > 0.6427869200706482f)
                return x > 0.8614784181118011f ? 15 : 14;
            return x > 0.5016634166240692f ? 13 : 12;
        }
        if (x > 0.2035212516784668f)
            return x > 0.2920137718319893f ? 11 : 10;
        return x > 0.1202552504837513f ? 9 : 8;
    }
    if (x > -0.33967943489551544f) {
        if (x > -0.13791173323988914f)
            return x > -0.045525018125772476f ? 7 : 6;
        return x > -0.23460740596055984f ? 5 : 4;
    }
    if (x > -0.6106329262256622f)
        return x > -0.4599952697753906f ? 3 : 2;
    return x > -0.8480964004993439f ? 1 : 0;
}

/* The decision tree's thresholds in increasing order.  For sorted
 * thresholds and "x > t" tests, the tree's code is the number of thresholds
 * below x (NaN: none), which compiles to branch-free SIMD; the tree itself
 * mispredicts on every other value.  tests/test_quant.c checks both agree. */
static const float nf4_thr[15] = {
    -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
    -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
    0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
    0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f,
};

/* Codes of one block: x[i] = v[i] * inv, code = #thresholds below x[i].
 * Thresholds outer, elements inner, so the compares vectorize. */
static void nf4_block_codes(const float *v, float inv, uint8_t *q /* (32) */)
{
    float x[INGOT_NF4_BLOCK];
    int32_t c[INGOT_NF4_BLOCK];
    for (int i = 0; i < INGOT_NF4_BLOCK; i++) {
        x[i] = v[i] * inv;
        c[i] = 0;
    }
    for (int t = 0; t < 15; t++)
        for (int i = 0; i < INGOT_NF4_BLOCK; i++)
            c[i] += x[i] > nf4_thr[t];
    for (int i = 0; i < INGOT_NF4_BLOCK / 2; i++)
        q[i] = (uint8_t)(c[2 * i] << 4 | c[2 * i + 1]); /* first element: high nibble */
}

static void nf4_quantize(const float *w, int64_t n_in, uint8_t *qs /* (n_in/2) */,
                         float *absmax /* (n_in/64) */)
{
    for (int64_t b = 0; b < n_in / INGOT_NF4_BLOCK; b++) {
        const float *v = w + b * INGOT_NF4_BLOCK;
        float amax = 0.0f;
        for (int i = 0; i < INGOT_NF4_BLOCK; i++)
            amax = ingot_qmaxf(amax, fabsf(v[i]));
        absmax[b] = amax;
        /* as bitsandbytes: multiply by the reciprocal (Inf for a zero block) */
        nf4_block_codes(v, 1.0f / amax, qs + b * (INGOT_NF4_BLOCK / 2));
    }
}

static void nf4_dequantize(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    int64_t n_in = w->n_in, b0 = (int64_t)o * (n_in / INGOT_NF4_BLOCK);
    // (n_out*n_in/2)
    const uint8_t *q = (const uint8_t *)w->part[INGOT_NF4_QS] + (int64_t)o * (n_in / 2);
    float amax = 0.0f;
    for (int k = k0; k < k1; k += 2) {
        if (k == k0 || k % INGOT_NF4_BLOCK == 0)
            amax = ingot_nf4_absmax(w, b0 + k / INGOT_NF4_BLOCK);
        uint8_t byte = q[k / 2];
        out[k - k0] = ingot_nf4_code[byte >> 4] * amax; /* first element: high nibble */
        out[k - k0 + 1] = ingot_nf4_code[byte & 15] * amax;
    }
}

/* ---- the dynamic 8-bit map and double quantization ---- */

static float dyn_map[256];
static pthread_once_t dyn_once = PTHREAD_ONCE_INIT;

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/*
 * torch.linspace(0.1, 1, n) in f32 as torch >= 1.8 computes it on x86-64:
 * step = (1.0f - 0.1f) / (n - 1); the first half counts up from start, the
 * second half down from end, and the compiler fuses step*i + start into one
 * FMA in ATen's AVX2/AVX-512 builds (that fusion changes 42 of the 256 map
 * entries by one ulp; the fused values are the ones in circulation, e.g. the
 * tables that ports of bitsandbytes hard-code).
 */
static void linspace_f32(float *b, int n)
{
    const float start = 0.1f, end = 1.0f, step = (end - start) / (float)(n - 1);
    for (int k = 0; k < n; k++)
        b[k] = k < n / 2 ? fmaf(step, (float)k, start) : fmaf(-step, (float)(n - k - 1), end);
}

/*
 * bitsandbytes.functional.create_dynamic_map(signed=True, max_exponent_bits=7,
 * total_bits=8): for i in 0..6, the means of adjacent points of
 * linspace(0.1, 1, 2^i + 1) (f32: (a + b) / 2), times the Python float
 * 10^(i-6) (which torch first rounds to f32), with both signs; then 0 and 1.0;
 * sorted.  127 + 127 + 2 = 256 values.
 */
static void dyn_map_init(void)
{
    static const double pow10[7] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
    int c = 0;
    for (int i = 0; i < 7; i++) {
        int n = (1 << i) + 1;
        float b[65];
        linspace_f32(b, n);
        float s = (float)pow10[i];
        for (int k = 0; k < n - 1; k++) {
            float mean = (b[k] + b[k + 1]) / 2.0f;
            dyn_map[c++] = s * mean;
            dyn_map[c++] = -s * mean;
        }
    }
    dyn_map[c++] = 0.0f;
    dyn_map[c++] = 1.0f;
    qsort(dyn_map, 256, sizeof(float), cmp_float);
}

const float *ingot_dynamic_map(void)
{
    pthread_once(&dyn_once, dyn_map_init);
    return dyn_map;
}

/* bitsandbytes csrc/kernels.cu dQuantize<STOCHASTIC=0>: a 7-step binary
 * search from pivot 127, then the nearer neighbour by f32 midpoints
 * (exact ties go to the search pivot).  NaN walks down to code 0. */
uint8_t ingot_dynamic_quantize(const float *code, float x)
{
    int pivot = 127, upper_pivot = 255, lower_pivot = 0;
    float lower = -1.0f, upper = 1.0f, val = code[pivot];
    for (int i = 64; i > 0; i >>= 1) {
        if (x > val) {
            lower_pivot = pivot;
            lower = val;
            pivot += i;
        } else {
            upper_pivot = pivot;
            upper = val;
            pivot -= i;
        }
        val = code[pivot];
    }
    if (upper_pivot == 255)
        upper = code[upper_pivot];
    if (lower_pivot == 0)
        lower = code[lower_pivot];
    if (x > val) {
        float midpoint = (upper + val) * 0.5f;
        return (uint8_t)(x > midpoint ? upper_pivot : pivot);
    }
    float midpoint = (lower + val) * 0.5f;
    return (uint8_t)(x < midpoint ? lower_pivot : pivot);
}

static void nf4_double_quant(const float *absmax /* (nb) */, int64_t nb,
                             uint8_t *absmax_q /* (nb) */,
                             float *absmax_absmax /* (ceil(nb/256)) */, float *offset /* (1) */)
{
    const float *code = ingot_dynamic_map();
    /* torch's absmax.mean() is an f32 reduction whose summation order we
     * cannot reproduce; the sum in double rounded once is within an ulp of it
     * (the offset is stored, so dequantization is exact either way). */
    double sum = 0.0;
    for (int64_t i = 0; i < nb; i++)
        sum += absmax[i];
    float off = (float)(sum / (double)nb);
    *offset = off;
    for (int64_t b0 = 0; b0 < nb; b0 += INGOT_NF4_DQ_BLOCK) {
        int64_t n = nb - b0 < INGOT_NF4_DQ_BLOCK ? nb - b0 : INGOT_NF4_DQ_BLOCK;
        float amax = 0.0f;
        for (int64_t i = 0; i < n; i++)
            amax = ingot_qmaxf(amax, fabsf(absmax[b0 + i] - off));
        absmax_absmax[b0 / INGOT_NF4_DQ_BLOCK] = amax;
        float inv = 1.0f / amax;
        for (int64_t i = 0; i < n; i++)
            absmax_q[b0 + i] = ingot_dynamic_quantize(code, (absmax[b0 + i] - off) * inv);
    }
}

/* ---- the table entry ---- */

static int nf4_group_size(int requested)
{
    (void)requested;
    return INGOT_NF4_BLOCK;
}

static int nf4_layout(const ingot_format *f, int64_t n_out, int64_t n_in, int group_size,
                      int variant, ingot_wpart *p, const char *tensor, ingot_error *err)
{
    /* bitsandbytes blocks run over the flattened tensor; requiring whole
     * blocks per row keeps every block inside one row for the kernels. */
    if (n_in % INGOT_NF4_BLOCK)
        return ingot_fail(err, INGOT_ERR_SHAPE,
                          "%s: nf4 needs the input dimension (%lld) to be a multiple of %d",
                          ingot_format_tname(tensor), (long long)n_in, INGOT_NF4_BLOCK);
    int64_t n = n_out * n_in, nb = n / INGOT_NF4_BLOCK;
    ingot_wpart_set(&p[INGOT_NF4_QS], INGOT_DT_U8, n / 2, 0);
    if (variant != INGOT_NF4_DQ) {
        ingot_wpart_set(&p[INGOT_NF4_ABSMAX], INGOT_DT_F32, nb, 0);
        return 0;
    }
    ingot_wpart_set(&p[INGOT_NF4_ABSMAX_Q], INGOT_DT_U8, nb, 0);
    ingot_wpart_set(&p[INGOT_NF4_ABSMAX_ABSMAX], INGOT_DT_F32,
                    (nb + INGOT_NF4_DQ_BLOCK - 1) / INGOT_NF4_DQ_BLOCK, 0);
    ingot_wpart_set(&p[INGOT_NF4_ABSMAX_OFFSET], INGOT_DT_F32, 1, 0);
    return 0;
}

/* absmax goes straight to its part, or to a scratch array that the double
 * quantization then compresses. */
static int nf4_quantize_begin(ingot_qjob *j, const char *tensor, ingot_error *err)
{
    if (j->variant != INGOT_NF4_DQ) {
        j->scratch = j->parts[INGOT_NF4_ABSMAX];
        return 0;
    }
    j->scratch = malloc(j->layout->p[INGOT_NF4_ABSMAX_Q].bytes * sizeof(float));
    if (!j->scratch)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", ingot_format_tname(tensor));
    return 0;
}

static void nf4_quantize_row(const ingot_qjob *j, const float *row, int64_t o)
{
    int64_t n_in = j->n_in;
    nf4_quantize(row, n_in, (uint8_t *)j->parts[INGOT_NF4_QS] + o * (n_in / 2),
                 (float *)j->scratch + o * (n_in / INGOT_NF4_BLOCK));
}

static void nf4_quantize_end(ingot_qjob *j, bool ok)
{
    if (j->variant != INGOT_NF4_DQ)
        return;
    if (ok)
        nf4_double_quant(j->scratch, j->n_out * j->n_in / INGOT_NF4_BLOCK,
                         j->parts[INGOT_NF4_ABSMAX_Q], j->parts[INGOT_NF4_ABSMAX_ABSMAX],
                         j->parts[INGOT_NF4_ABSMAX_OFFSET]);
    free(j->scratch);
}

static const ingot_format_variant nf4_variants[] = {
    [INGOT_NF4_PLAIN] = {"plain", 2, {"qs", "absmax"}},
    [INGOT_NF4_DQ] = {"double-quant", 4, {"qs", "absmax_q", "absmax_absmax", "absmax_offset"}},
};

const ingot_format ingot_format_nf4 = {
    .name = "nf4",
    .type = INGOT_DT_NF4,
    .quantized = true,
    .n_variants = 2,
    .variants = nf4_variants,
    .group_size = nf4_group_size,
    .layout = nf4_layout,
    .quantize_begin = nf4_quantize_begin,
    .quantize_row = nf4_quantize_row,
    .quantize_end = nf4_quantize_end,
    .dequantize = nf4_dequantize,
};
