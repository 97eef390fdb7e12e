/*
 * cuda_common.cuh - what the kernels/cuda/*.cu files share (internal): the
 * handle, the error recording, cuBLAS entry points (opened with dlopen, so
 * that a CPU-only user of libingot needs no cuBLAS) and small helpers.
 */
#ifndef INGOT_CUDA_COMMON_CUH
#define INGOT_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_ops.h"
#include "util/util.h"

/* the cuBLAS calls we make, looked up once per handle */
typedef struct cublas_api {
    void *lib;
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*destroy)(cublasHandle_t);
    cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void *,
                              const void *, cudaDataType, int, const void *, cudaDataType, int, const void *, void *,
                              cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
} cublas_api;

/* How ops run (see ingot_cuda_step_begin in cuda_ops.h). */
enum cuda_mode {
    MODE_NORMAL = 0, /* queue each op */
    MODE_CAPTURE,    /* queue each op into a stream capture: the decode step's graph */
    MODE_REPLAY,     /* only stage host data: the graph runs the step at its end */
};

#define STAGING_BYTES (64u << 10)

struct ingot_cuda {
    int device;
    int sm_count, cc_major, cc_minor;
    char name[256];
    cudaStream_t stream;
    cublas_api blas;
    cublasHandle_t blas_h;
    ingot_cuda_gemm_t gemm;
    int gemv_rows; /* rows per warp of the 1-2 token GEMV: 1, 2, 4, or 0 for the size's choice */
    /* the first failure of a queued op */
    int failed;
    ingot_error first;
    /* scratch, grown on demand */
    void *wconv;     // a weight matrix converted to the GEMM type
    size_t wconv_bytes;
    void *xconv;     // activations converted to the GEMM type
    size_t xconv_bytes;
    int32_t *tokens; // (INGOT_CUDA_MAX_TOKENS) embed's token ids
    float *stat;     // (2) absmax's result
    float *tables;   // (INGOT_CUDA_TABLES) nf4 codes, then the dynamic map
    /* the decode step's graph */
    enum cuda_mode mode;
    int steps;                /* decode steps begun */
    int graph_off;            /* graphs failed or were turned off: steps run as queued ops */
    cudaGraphExec_t graph;
    char *staging;            /* (STAGING_BYTES) pinned host memory the step's uploads copy from */
    size_t staging_off;
    int *d_pos;               /* (1) device: the step's position */
};

/* In replay mode an op's work is already in the graph: it returns at once. */
#define REPLAYING(g) ((g)->mode == MODE_REPLAY)

#define INGOT_CUDA_MAX_TOKENS 4096

/* Records a failure of queued work (the first one sticks).  @return -1. */
int ingot_cuda_record(ingot_cuda *g, const char *what, cudaError_t e);
/* Records the launch status of the kernel just queued. */
static inline void ingot_cuda_check_launch(ingot_cuda *g, const char *what)
{
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        ingot_cuda_record(g, what, e);
}
/* Fails err with a CUDA error.  @return -1. */
int ingot_cuda_fail(ingot_error *err, const char *what, cudaError_t e);
/* Makes *buf at least `bytes` of device memory.  @return 0, or -1 with err. */
int ingot_cuda_grow(ingot_cuda *g, void **buf, size_t *cap, size_t bytes, ingot_error *err);

static inline unsigned ingot_cdiv(size_t a, size_t b)
{
    return (unsigned)((a + b - 1) / b);
}

/* Sum over the 32 lanes of a warp, every lane gets the total. */
static __device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int off = 16; off > 0; off /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

static __device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
    for (int off = 16; off > 0; off /= 2)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

#endif
