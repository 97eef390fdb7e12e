/*
 * cuda_formats.cuh - the weight formats on the device (internal): how a
 * kernel turns stored bytes into f32 weights, format by format.
 *
 * The arithmetic is the reference dequantizer's (formats/quant_*.c), so a
 * dequantized weight is bit-identical to ingot_dequantize_ref:
 *   int8  q * scale[row]
 *   nf4   code[nibble] * absmax[block], the first element of a byte in the
 *         high nibble; double quant's absmax = dyn[q] * absmax_absmax, then
 *         + offset, each rounded (no fused multiply-add);
 *   int4  (q - zero) * scale (f16), the first element in the LOW nibble;
 *   int5, int6  likewise, each code's high bits from the qh plane.
 * Only the order of the sums in a dot product differs from the CPU.
 *
 * Kernels read rows in 16-byte chunks: fmt<T>::EPC elements per chunk,
 * fmt<T>::decode() turns one into floats.  A chunk never straddles a row
 * or a quantization group (groups are whole chunks: nf4 64 = 2 chunks,
 * int4 G = a multiple of 32).  Shapes whose rows are not whole chunks go
 * through fmt<T>::elem(), one element at a time.
 *
 * Tables: nf4's 16 codes are staged into shared memory by each block that
 * decodes nf4 (divergent indices would serialize constant memory); the
 * 256-entry dynamic map of double quant is read through the cache.
 */
#ifndef INGOT_CUDA_FORMATS_CUH
#define INGOT_CUDA_FORMATS_CUH

#include "kernels/cuda/cuda_common.cuh"

/* device tables: nf4 (16) then the dynamic map (256), uploaded once per handle */
#define INGOT_CUDA_TABLES 272
struct ftab {
    const float *nf4; /* (16), shared memory */
    const float *dyn; /* (256), global */
};

static __device__ __forceinline__ float bf16f(uint16_t h)
{
    return __uint_as_float((uint32_t)h << 16);
}

static __device__ __forceinline__ float f16f(uint16_t h)
{
    return __half2float(__ushort_as_half(h));
}

/* 16-bit float rows (bf16, f16): row o of the data part, and element (o, k) */
static __device__ __forceinline__ const uint4 *row16(const ingot_wmat &w, int o)
{
    return reinterpret_cast<const uint4 *>((const uint16_t *)w.part[INGOT_F_DATA] + (size_t)o * w.n_in);
}

static __device__ __forceinline__ uint16_t elem16(const ingot_wmat &w, int o, int k)
{
    return ((const uint16_t *)w.part[INGOT_F_DATA])[(size_t)o * w.n_in + k];
}

template <int T> struct fmt;

template <> struct fmt<INGOT_DT_BF16> {
    static constexpr int EPC = 8;
    static __device__ __forceinline__ const uint4 *row(const ingot_wmat &w, int o)
    {
        return row16(w, o);
    }
    static __device__ __forceinline__ void decode(const ingot_wmat &w, int o, int c, uint4 r, ftab t, float *v)
    {
        const uint32_t u[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            v[2 * i] = __uint_as_float(u[i] << 16);
            v[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
        }
    }
    static __device__ __forceinline__ float elem(const ingot_wmat &w, int o, int k, ftab t)
    {
        return bf16f(elem16(w, o, k));
    }
};

template <> struct fmt<INGOT_DT_F16> {
    static constexpr int EPC = 8;
    static __device__ __forceinline__ const uint4 *row(const ingot_wmat &w, int o)
    {
        return row16(w, o);
    }
    static __device__ __forceinline__ void decode(const ingot_wmat &w, int o, int c, uint4 r, ftab t, float *v)
    {
        const uint32_t u[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float2 f = __half22float2(*reinterpret_cast<const __half2 *>(&u[i]));
            v[2 * i] = f.x;
            v[2 * i + 1] = f.y;
        }
    }
    static __device__ __forceinline__ float elem(const ingot_wmat &w, int o, int k, ftab t)
    {
        return f16f(elem16(w, o, k));
    }
};

template <> struct fmt<INGOT_DT_F32> {
    static constexpr int EPC = 4;
    static __device__ __forceinline__ const uint4 *row(const ingot_wmat &w, int o)
    {
        return reinterpret_cast<const uint4 *>((const float *)w.part[INGOT_F_DATA] + (size_t)o * w.n_in);
    }
    static __device__ __forceinline__ void decode(const ingot_wmat &w, int o, int c, uint4 r, ftab t, float *v)
    {
        v[0] = __uint_as_float(r.x);
        v[1] = __uint_as_float(r.y);
        v[2] = __uint_as_float(r.z);
        v[3] = __uint_as_float(r.w);
    }
    static __device__ __forceinline__ float elem(const ingot_wmat &w, int o, int k, ftab t)
    {
        return ((const float *)w.part[INGOT_F_DATA])[(size_t)o * w.n_in + k];
    }
};

template <> struct fmt<INGOT_DT_Q8> {
    static constexpr int EPC = 16;
    static __device__ __forceinline__ const uint4 *row(const ingot_wmat &w, int o)
    {
        return reinterpret_cast<const uint4 *>((const int8_t *)w.part[INGOT_Q8_QS] + (size_t)o * w.n_in);
    }
    static __device__ __forceinline__ void decode(const ingot_wmat &w, int o, int c, uint4 r, ftab t, float *v)
    {
        float s = __ldg((const float *)w.part[INGOT_Q8_SCALES] + o);
        const uint32_t u[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int i = 0; i < 16; i++)
            v[i] = __fmul_rn((float)(int8_t)(u[i / 4] >> (8 * (i % 4))), s);
    }
    static __device__ __forceinline__ float elem(const ingot_wmat &w, int o, int k, ftab t)
    {
        float s = ((const float *)w.part[INGOT_Q8_SCALES])[o];
        return __fmul_rn((float)((const int8_t *)w.part[INGOT_Q8_QS])[(size_t)o * w.n_in + k], s);
    }
};

/* absmax of nf4 block b, undoing double quant as ingot_nf4_absmax does */
static __device__ __forceinline__ float nf4_absmax(const ingot_wmat &w, size_t b, ftab t)
{
    if (!w.variant)
        return __ldg((const float *)w.part[INGOT_NF4_ABSMAX] + b);
    uint8_t q = __ldg((const uint8_t *)w.part[INGOT_NF4_ABSMAX_Q] + b);
    float aa = __ldg((const float *)w.part[INGOT_NF4_ABSMAX_ABSMAX] + b / INGOT_NF4_DQ_BLOCK);
    float off = __ldg((const float *)w.part[INGOT_NF4_ABSMAX_OFFSET]);
    return __fadd_rn(__fmul_rn(__ldg(t.dyn + q), aa), off);
}

template <> struct fmt<INGOT_DT_NF4> {
    static constexpr int EPC = 32;
    static __device__ __forceinline__ const uint4 *row(const ingot_wmat &w, int o)
    {
        return reinterpret_cast<const uint4 *>((const uint8_t *)w.part[INGOT_NF4_QS] + (size_t)o * (w.n_in / 2));
    }
    static __device__ __forceinline__ void decode(const ingot_wmat &w, int o, int c, uint4 r, ftab t, float *v)
    {
        size_t b = ((size_t)o * w.n_in + (size_t)c * 32) / INGOT_NF4_BLOCK;
        float amax = nf4_absmax(w, b, t);
        const uint32_t u[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int i = 0; i < 16; i++) {
            uint32_t byte = (u[i / 4] >> (8 * (i % 4))) & 0xffu;
            v[2 * i] = __fmul_rn(t.nf4[byte >> 4], amax);
            v[2 * i + 1] = __fmul_rn(t.nf4[byte & 15u], amax);
        }
    }
    static __device__ __forceinline__ float elem(const ingot_wmat &w, int o, int k, ftab t)
    {
        size_t i = (size_t)o * w.n_in + k;
        uint8_t byte = ((const uint8_t *)w.part[INGOT_NF4_QS])[i / 2];
        float amax = nf4_absmax(w, i / INGOT_NF4_BLOCK, t);
        return __fmul_rn(t.nf4[(i & 1) ? (byte & 15) : (byte >> 4)], amax);
    }
};

template <> struct fmt<INGOT_DT_Q4> {
    static constexpr int EPC = 32;
    static __device__ __forceinline__ const uint4 *row(const ingot_wmat &w, int o)
    {
        return reinterpret_cast<const uint4 *>((const uint8_t *)w.part[INGOT_Q4_QS] + (size_t)o * (w.n_in / 2));
    }
    static __device__ __forceinline__ void decode(const ingot_wmat &w, int o, int c, uint4 r, ftab t, float *v)
    {
        size_t g = (size_t)o * (w.n_in / w.group_size) + (size_t)c * 32 / w.group_size;
        float s = f16f(__ldg((const uint16_t *)w.part[INGOT_Q4_SCALES] + g));
        int z = __ldg((const uint8_t *)w.part[INGOT_Q4_ZEROS] + g);
        const uint32_t u[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int i = 0; i < 16; i++) {
            int byte = (int)((u[i / 4] >> (8 * (i % 4))) & 0xffu);
            v[2 * i] = __fmul_rn((float)((byte & 15) - z), s);
            v[2 * i + 1] = __fmul_rn((float)((byte >> 4) - z), s);
        }
    }
    static __device__ __forceinline__ float elem(const ingot_wmat &w, int o, int k, ftab t)
    {
        size_t g = (size_t)o * (w.n_in / w.group_size) + k / w.group_size;
        int byte = ((const uint8_t *)w.part[INGOT_Q4_QS])[(size_t)o * (w.n_in / 2) + k / 2];
        float s = f16f(((const uint16_t *)w.part[INGOT_Q4_SCALES])[g]);
        int z = ((const uint8_t *)w.part[INGOT_Q4_ZEROS])[g];
        return __fmul_rn((float)(((k & 1) ? byte >> 4 : byte & 15) - z), s);
    }
};

/* int5 (HB = 1), int6 (HB = 2): int4's nibbles plus HB high bits per code
 * from the qh plane, where codes 8b..8b+7 share HB bytes (quant_intb.c). */
template <int HB> struct fmt_qb {
    static constexpr int EPC = 32;
    static __device__ __forceinline__ const uint4 *row(const ingot_wmat &w, int o)
    {
        return reinterpret_cast<const uint4 *>((const uint8_t *)w.part[INGOT_QB_QS] + (size_t)o * (w.n_in / 2));
    }
    /* the high bits of codes 8b..8b+7 of row o, as one word */
    static __device__ __forceinline__ uint32_t hi_word(const ingot_wmat &w, int o, size_t b)
    {
        const uint8_t *h = (const uint8_t *)w.part[INGOT_QB_QH] + (size_t)o * (w.n_in / 8 * HB) + b * HB;
        return HB == 1 ? __ldg(h) : (uint32_t)__ldg(h) | (uint32_t)__ldg(h + 1) << 8;
    }
    static __device__ __forceinline__ void decode(const ingot_wmat &w, int o, int c, uint4 r, ftab t, float *v)
    {
        size_t g = (size_t)o * (w.n_in / w.group_size) + (size_t)c * 32 / w.group_size;
        float s = f16f(__ldg((const uint16_t *)w.part[INGOT_QB_SCALES] + g));
        int z = __ldg((const uint8_t *)w.part[INGOT_QB_ZEROS] + g);
        const uint32_t u[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int q = 0; q < 4; q++) { /* 8 codes: 4 bytes of nibbles, one high-bit word */
            uint32_t hw = hi_word(w, o, (size_t)c * 4 + q);
#pragma unroll
            for (int m = 0; m < 8; m++) {
                int lo = (int)((u[q] >> (4 * m)) & 15u), hi = (int)((hw >> (HB * m)) & ((1u << HB) - 1));
                v[8 * q + m] = __fmul_rn((float)((lo | hi << 4) - z), s);
            }
        }
    }
    static __device__ __forceinline__ float elem(const ingot_wmat &w, int o, int k, ftab t)
    {
        size_t g = (size_t)o * (w.n_in / w.group_size) + k / w.group_size;
        int byte = ((const uint8_t *)w.part[INGOT_QB_QS])[(size_t)o * (w.n_in / 2) + k / 2];
        int lo = (k & 1) ? byte >> 4 : byte & 15;
        int hi = (int)((hi_word(w, o, (size_t)k / 8) >> (HB * (k & 7))) & ((1u << HB) - 1));
        float s = f16f(((const uint16_t *)w.part[INGOT_QB_SCALES])[g]);
        int z = ((const uint8_t *)w.part[INGOT_QB_ZEROS])[g];
        return __fmul_rn((float)((lo | hi << 4) - z), s);
    }
};
template <> struct fmt<INGOT_DT_Q5> : fmt_qb<1> {};
template <> struct fmt<INGOT_DT_Q6> : fmt_qb<2> {};

/* Stages nf4's codes into shared memory s (16); every thread of the block must call it. */
static __device__ __forceinline__ ftab ftab_stage(const float *tables, float *s)
{
    if (threadIdx.x < 16)
        s[threadIdx.x] = tables[threadIdx.x];
    __syncthreads();
    return ftab{s, tables + 16};
}

/* Calls f.template operator()<T>() for a weight type with device kernels; @return false otherwise. */
template <typename F> static bool ingot_cuda_dispatch(ingot_dtype type, F &&f)
{
    switch (type) {
    case INGOT_DT_BF16: f.template operator()<INGOT_DT_BF16>(); return true;
    case INGOT_DT_F16: f.template operator()<INGOT_DT_F16>(); return true;
    case INGOT_DT_F32: f.template operator()<INGOT_DT_F32>(); return true;
    case INGOT_DT_Q8: f.template operator()<INGOT_DT_Q8>(); return true;
    case INGOT_DT_NF4: f.template operator()<INGOT_DT_NF4>(); return true;
    case INGOT_DT_Q4: f.template operator()<INGOT_DT_Q4>(); return true;
    case INGOT_DT_Q5: f.template operator()<INGOT_DT_Q5>(); return true;
    case INGOT_DT_Q6: f.template operator()<INGOT_DT_Q6>(); return true;
    default: return false;
    }
}

#endif
