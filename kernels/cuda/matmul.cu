/*
 * matmul.cu - y = x · Wᵀ for every stored weight format, and the embedding
 * lookup, on the device.
 *
 * Decode (n <= 8 tokens) is bound by reading the weights: one warp per
 * output row streams the row in 16-byte chunks (each weight byte read once,
 * coalesced across the warp), decodes each chunk in registers
 * (cuda_formats.cuh) and accumulates all n tokens in f32, so the weights
 * are read once whatever n is.
 *
 * Prefill (n > 8) is bound by arithmetic: a cuBLAS GEMM on the tensor cores
 * in the handle's GEMM type (bf16 or f16 inputs with f32 accumulation, or
 * plain f32).  Weights already of that type are used in place; others are
 * dequantized into a scratch matrix first, a slab of rows at a time, small
 * enough to stay in L2 between the dequantize kernel that writes it and the
 * GEMM that reads it, so quantized weights cost their own bytes from HBM,
 * not a bf16 copy's.
 */
#include "config.h"

#include "kernels/cuda/cuda_formats.cuh"

#define GEMV_WARPS 4
#define GEMV_MAX_N 8
/* rows of a dequantized slab: slab_rows * n_in elements of at most this many bytes */
#define SLAB_BYTES (8u << 20)

/* ---- decode: the fused dequantize-GEMV ---- */

template <int T, int N, int R>
__global__ static void __launch_bounds__(GEMV_WARPS * 32)
    gemv_kernel(ingot_wmat w, const float *__restrict__ x, const float *__restrict__ bias, float *__restrict__ y,
                const float *__restrict__ tables)
{
    __shared__ float s_nf4[16];
    ftab t = ftab_stage(tables, s_nf4);
    constexpr int E = fmt<T>::EPC;
    int o0 = (blockIdx.x * GEMV_WARPS + threadIdx.x / 32) * R, lane = threadIdx.x % 32;
    if (o0 >= w.n_out)
        return;
    int o[R]; /* a warp's rows; those past the end read the last row again and are not written */
    const uint4 *r[R];
#pragma unroll
    for (int k = 0; k < R; k++)
        o[k] = min(o0 + k, w.n_out - 1), r[k] = fmt<T>::row(w, o[k]);
    int nc = w.n_in / E;
    float acc[R][N];
#pragma unroll
    for (int k = 0; k < R; k++)
#pragma unroll
        for (int i = 0; i < N; i++)
            acc[k][i] = 0.f;
#pragma unroll 2
    for (int c = lane; c < nc; c += 32) {
        uint4 raw[R]; /* every row's chunk in flight before any is decoded */
#pragma unroll
        for (int k = 0; k < R; k++)
            raw[k] = __ldcs(r[k] + c); /* streamed: read once, keep L1 for x */
#pragma unroll
        for (int k = 0; k < R; k++) {
            float v[E];
            fmt<T>::decode(w, o[k], c, raw[k], t, v);
#pragma unroll
            for (int i = 0; i < N; i++) {
                const float4 *xp = reinterpret_cast<const float4 *>(x + (size_t)i * w.n_in + (size_t)c * E);
#pragma unroll
                for (int e = 0; e < E / 4; e++) {
                    float4 xx = __ldg(xp + e);
                    acc[k][i] += v[4 * e] * xx.x + v[4 * e + 1] * xx.y + v[4 * e + 2] * xx.z + v[4 * e + 3] * xx.w;
                }
            }
        }
    }
#pragma unroll
    for (int k = 0; k < R; k++)
#pragma unroll
        for (int i = 0; i < N; i++) {
            float sum = warp_sum(acc[k][i]);
            if (lane == 0 && o0 + k < w.n_out)
                y[(size_t)i * w.n_out + o0 + k] = sum + (bias ? bias[o0 + k] : 0.f);
        }
}

/* Rows that are not whole 16-byte chunks: one element at a time. */
template <int T>
__global__ static void gemv_scalar_kernel(ingot_wmat w, const float *__restrict__ x, int n,
                                          const float *__restrict__ bias, float *__restrict__ y,
                                          const float *__restrict__ tables)
{
    __shared__ float s_nf4[16];
    ftab t = ftab_stage(tables, s_nf4);
    int o = blockIdx.x * GEMV_WARPS + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (o >= w.n_out)
        return;
    float acc[GEMV_MAX_N] = {};
    for (int k = lane; k < w.n_in; k += 32) {
        float v = fmt<T>::elem(w, o, k, t);
        for (int i = 0; i < n; i++)
            acc[i] += v * x[(size_t)i * w.n_in + k];
    }
    for (int i = 0; i < n; i++) {
        float s = warp_sum(acc[i]);
        if (lane == 0)
            y[(size_t)i * w.n_out + o] = s + (bias ? bias[o] : 0.f);
    }
}

/* whether the rows of w and x can be read in whole 16-byte chunks */
template <int T> static bool chunked(const ingot_wmat *w, const float *x)
{
    if (w->n_in % fmt<T>::EPC || (uintptr_t)x % 16)
        return false;
    for (int i = 0; i < w->n_parts; i++)
        if ((uintptr_t)w->part[i] % 16)
            return false;
    return true;
}

/*
 * Rows per warp of the one- and two-token GEMV.  One row per warp leaves a
 * short row (a 4-bit row of 1536 weights is 48 chunks, 1.5 per lane) with
 * one or two loads in flight per lane, so small matrices wait on memory
 * latency; R rows per warp put R chunks in flight and read x once per chunk
 * for R rows.  Auto takes R = 4 or 2 for rows under 4 chunks per lane while
 * that still leaves a block for every multiprocessor, else 1.
 */
static int gemv_rows(const ingot_cuda *g, const ingot_wmat *w, int epc, int n)
{
    if (n > 2)
        return 1;
    if (g->gemv_rows)
        return g->gemv_rows;
    if (w->n_in / epc >= 4 * 32)
        return 1;
    for (int r = 4; r > 1; r /= 2)
        if (ingot_cdiv((size_t)w->n_out, (size_t)GEMV_WARPS * r) >= (size_t)g->sm_count)
            return r;
    return 1;
}

struct gemv_launch {
    ingot_cuda *g;
    const ingot_wmat *w;
    const float *bias, *x;
    int n;
    float *y;

    template <int T, int N, int R> void go()
    {
        unsigned blocks = ingot_cdiv((size_t)w->n_out, (size_t)GEMV_WARPS * R);
        gemv_kernel<T, N, R><<<blocks, GEMV_WARPS * 32, 0, g->stream>>>(*w, x, bias, y, g->tables);
    }
    template <int T, int N> void rows()
    {
        switch (gemv_rows(g, w, fmt<T>::EPC, n)) {
        case 4: go<T, N, 4>(); break;
        case 2: go<T, N, 2>(); break;
        default: go<T, N, 1>(); break;
        }
    }
    template <int T> void operator()()
    {
        if (!chunked<T>(w, x)) {
            unsigned blocks = ingot_cdiv((size_t)w->n_out, GEMV_WARPS);
            gemv_scalar_kernel<T><<<blocks, GEMV_WARPS * 32, 0, g->stream>>>(*w, x, n, bias, y, g->tables);
            return;
        }
        switch (n) {
        case 1: rows<T, 1>(); break;
        case 2: rows<T, 2>(); break;
        case 3: go<T, 3, 1>(); break;
        case 4: go<T, 4, 1>(); break;
        case 5: go<T, 5, 1>(); break;
        case 6: go<T, 6, 1>(); break;
        case 7: go<T, 7, 1>(); break;
        default: go<T, 8, 1>(); break;
        }
    }
};

extern "C" int ingot_cuda_supports(ingot_dtype t)
{
    return t == INGOT_DT_BF16 || t == INGOT_DT_F16 || t == INGOT_DT_F32 || t == INGOT_DT_Q8 || t == INGOT_DT_NF4 ||
           t == INGOT_DT_Q4 || t == INGOT_DT_Q5 || t == INGOT_DT_Q6;
}

static int unsupported(const ingot_wmat *w, ingot_error *err)
{
    const char *name = ingot_dtype_name(w->type);
    return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CUDA kernel for weight type %s", name ? name : "?");
}

extern "C" int ingot_cuda_gemv(ingot_cuda *g, const ingot_wmat *w, const float *bias, const float *x, int n, float *y,
                               ingot_error *err)
{
    if (REPLAYING(g))
        return 0;
    if (n < 1 || n > GEMV_MAX_N)
        return ingot_fail(err, INGOT_ERR_ARG, "cuda gemv: %d tokens (1..%d)", n, GEMV_MAX_N);
    gemv_launch l = {g, w, bias, x, n, y};
    if (!ingot_cuda_dispatch(w->type, l))
        return unsupported(w, err);
    ingot_cuda_check_launch(g, "gemv");
    return 0;
}

/* ---- prefill: dequantize (a slab at a time) + cuBLAS ---- */

template <typename OT> static __device__ __forceinline__ OT to_out(float v);
template <> __device__ __forceinline__ float to_out<float>(float v)
{
    return v;
}
template <> __device__ __forceinline__ __nv_bfloat16 to_out<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}
template <> __device__ __forceinline__ __half to_out<__half>(float v)
{
    return __float2half_rn(v);
}

/* out(rows, n_in) = rows r0.. of W as OT */
template <int T, typename OT>
__global__ static void dequant_kernel(ingot_wmat w, int r0, int rows, OT *__restrict__ out, bool whole,
                                      const float *__restrict__ tables)
{
    __shared__ float s_nf4[16];
    ftab t = ftab_stage(tables, s_nf4);
    constexpr int E = fmt<T>::EPC;
    if (whole) {
        size_t cpr = (size_t)w.n_in / E, i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
        if (i >= cpr * rows)
            return;
        int o = (int)(i / cpr), c = (int)(i % cpr);
        float v[E];
        fmt<T>::decode(w, r0 + o, c, __ldcs(fmt<T>::row(w, r0 + o) + c), t, v);
        OT *dst = out + (size_t)o * w.n_in + (size_t)c * E;
#pragma unroll
        for (int e = 0; e < E; e++)
            dst[e] = to_out<OT>(v[e]);
    } else {
        size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
        if (i >= (size_t)rows * w.n_in)
            return;
        int o = (int)(i / w.n_in), k = (int)(i % w.n_in);
        out[i] = to_out<OT>(fmt<T>::elem(w, r0 + o, k, t));
    }
}

template <typename OT> __global__ static void convert_kernel(const float *__restrict__ x, OT *__restrict__ out, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = to_out<OT>(x[i]);
}

__global__ static void bias_kernel(float *__restrict__ y, const float *__restrict__ bias, int n, int d)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < (size_t)n * d)
        y[i] += bias[i % d];
}

static ingot_dtype gemm_dtype(ingot_cuda_gemm_t t)
{
    return t == INGOT_CUDA_GEMM_BF16 ? INGOT_DT_BF16 : t == INGOT_CUDA_GEMM_F16 ? INGOT_DT_F16 : INGOT_DT_F32;
}

static cudaDataType gemm_cuda_type(ingot_cuda_gemm_t t)
{
    return t == INGOT_CUDA_GEMM_BF16 ? CUDA_R_16BF : t == INGOT_CUDA_GEMM_F16 ? CUDA_R_16F : CUDA_R_32F;
}

struct dequant_launch {
    ingot_cuda *g;
    const ingot_wmat *w;
    int r0, rows;
    void *out;

    template <int T, typename OT> void go()
    {
        bool whole = w->n_in % fmt<T>::EPC == 0;
        for (int i = 0; i < w->n_parts; i++)
            whole = whole && (uintptr_t)w->part[i] % 16 == 0;
        size_t items = whole ? (size_t)rows * (w->n_in / fmt<T>::EPC) : (size_t)rows * w->n_in;
        dequant_kernel<T, OT><<<ingot_cdiv(items, 256), 256, 0, g->stream>>>(*w, r0, rows, (OT *)out, whole,
                                                                           g->tables);
    }
    template <int T> void operator()()
    {
        switch (g->gemm) {
        case INGOT_CUDA_GEMM_BF16: go<T, __nv_bfloat16>(); break;
        case INGOT_CUDA_GEMM_F16: go<T, __half>(); break;
        default: go<T, float>(); break;
        }
    }
};

/* C(n, rows) (ldc n_out) = X(n, n_in) · A(rows, n_in)ᵀ, column-major in cuBLAS's terms */
static void gemm_call(ingot_cuda *g, const void *a, int rows, int n_in, const void *xb, int n, float *c, int ldc)
{
    float one = 1, zero = 0;
    cudaDataType t = gemm_cuda_type(g->gemm);
    cublasStatus_t s = g->blas.gemm_ex(g->blas_h, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, n_in, &one, a, t, n_in, xb, t,
                                       n_in, &zero, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS && !g->failed) {
        g->failed = 1;
        ingot_fail(&g->first, INGOT_ERR_UNSUPPORTED, "cuda: cuBLAS GEMM (%d x %d x %d) failed with status %d", rows,
                   n, n_in, (int)s);
    }
}

extern "C" int ingot_cuda_gemm(ingot_cuda *g, const ingot_wmat *w, const float *bias, const float *x, int n, float *y,
                               ingot_error *err)
{
    if (REPLAYING(g))
        return 0;
    if (!ingot_cuda_supports(w->type))
        return unsupported(w, err);
    size_t es = g->gemm == INGOT_CUDA_GEMM_F32 ? 4 : 2, n_in = (size_t)w->n_in;
    const void *xb = x;
    if (g->gemm != INGOT_CUDA_GEMM_F32) {
        if (ingot_cuda_grow(g, &g->xconv, &g->xconv_bytes, (size_t)n * n_in * es, err) != 0)
            return -1;
        unsigned blocks = ingot_cdiv((size_t)n * n_in, 256);
        if (g->gemm == INGOT_CUDA_GEMM_BF16)
            convert_kernel<<<blocks, 256, 0, g->stream>>>(x, (__nv_bfloat16 *)g->xconv, (size_t)n * n_in);
        else
            convert_kernel<<<blocks, 256, 0, g->stream>>>(x, (__half *)g->xconv, (size_t)n * n_in);
        xb = g->xconv;
    }
    if (w->type == gemm_dtype(g->gemm) && (uintptr_t)w->part[0] % 16 == 0) {
        gemm_call(g, w->part[0], w->n_out, w->n_in, xb, n, y, w->n_out);
    } else {
        int slab = (int)(SLAB_BYTES / (n_in * es));
        slab = slab < 64 ? 64 : slab > w->n_out ? w->n_out : slab;
        if (ingot_cuda_grow(g, &g->wconv, &g->wconv_bytes, 2 * (size_t)slab * n_in * es, err) != 0)
            return -1;
        for (int r0 = 0, k = 0; r0 < w->n_out; r0 += slab, k ^= 1) {
            int rows = w->n_out - r0 < slab ? w->n_out - r0 : slab;
            /* two slabs in turn, so a slab is rewritten only after the GEMM that read it */
            void *buf = (char *)g->wconv + (size_t)k * slab * n_in * es;
            dequant_launch d = {g, w, r0, rows, buf};
            ingot_cuda_dispatch(w->type, d);
            gemm_call(g, buf, rows, w->n_in, xb, n, y + r0, w->n_out);
        }
    }
    if (bias)
        bias_kernel<<<ingot_cdiv((size_t)n * w->n_out, 256), 256, 0, g->stream>>>(y, bias, n, w->n_out);
    ingot_cuda_check_launch(g, "gemm");
    return 0;
}

extern "C" int ingot_cuda_matmul(ingot_cuda *g, const ingot_wmat *w, const float *bias, const float *x, int n, float *y,
                                 ingot_error *err)
{
    return n <= GEMV_MAX_N ? ingot_cuda_gemv(g, w, bias, x, n, y, err) : ingot_cuda_gemm(g, w, bias, x, n, y, err);
}

/* ---- embedding rows ---- */

template <int T>
__global__ static void embed_kernel(ingot_wmat w, const int32_t *__restrict__ tokens, float *__restrict__ x,
                                    const float *__restrict__ tables)
{
    __shared__ float s_nf4[16];
    ftab t = ftab_stage(tables, s_nf4);
    int row = tokens[blockIdx.x];
    float *out = x + (size_t)blockIdx.x * w.n_in;
    for (int k = threadIdx.x; k < w.n_in; k += blockDim.x)
        out[k] = fmt<T>::elem(w, row, k, t);
}

struct embed_launch {
    ingot_cuda *g;
    const ingot_wmat *w;
    int n;
    float *x;
    template <int T> void operator()()
    {
        embed_kernel<T><<<n, 256, 0, g->stream>>>(*w, g->tokens, x, g->tables);
    }
};

extern "C" int ingot_cuda_embed(ingot_cuda *g, const ingot_wmat *emb, const int32_t *tokens, int n, float *x,
                                ingot_error *err)
{
    if (n < 1 || n > INGOT_CUDA_MAX_TOKENS)
        return ingot_fail(err, INGOT_ERR_ARG, "cuda embed: %d tokens (1..%d)", n, INGOT_CUDA_MAX_TOKENS);
    if (ingot_cuda_upload(g, g->tokens, tokens, (size_t)n * sizeof *tokens, err) != 0)
        return -1;
    if (REPLAYING(g))
        return 0;
    embed_launch l = {g, emb, n, x};
    if (!ingot_cuda_dispatch(emb->type, l))
        return unsupported(emb, err);
    ingot_cuda_check_launch(g, "embed");
    return 0;
}
