/*
 * cuda_backend.cu - the CUDA backend.  Today: device probing, cuBLAS handle
 * creation and a bf16 matvec kernel that reads each weight row with 16-byte
 * loads (the layout every ingot format keeps: rows contiguous along the input
 * dimension).  The full forward pass on the GPU builds on this seam.
 */
#include "config.h"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdio.h>

#include "kernels/cuda/backend.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define CUBLAS_SONAME_MAJOR STR(CUBLAS_VER_MAJOR)
#include "util/util.h"

/* cuBLAS is opened on first use (see configure.ac): a handle proves it loads. */
static bool cublas_works(void)
{
    void *lib = dlopen("libcublas.so." CUBLAS_SONAME_MAJOR, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        lib = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return false;
    typedef cublasStatus_t (*create_fn)(cublasHandle_t *);
    typedef cublasStatus_t (*destroy_fn)(cublasHandle_t);
    create_fn create = (create_fn)dlsym(lib, "cublasCreate_v2");
    destroy_fn destroy = (destroy_fn)dlsym(lib, "cublasDestroy_v2");
    cublasHandle_t h;
    bool ok = create && destroy && create(&h) == CUBLAS_STATUS_SUCCESS;
    if (ok)
        destroy(h);
    return ok;
}

extern "C" int ingot_cuda_probe(char *desc, size_t desc_len)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0) {
        if (desc && desc_len)
            snprintf(desc, desc_len, "no CUDA device: %s",
                     e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return 0;
    }
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    bool blas = cublas_works();
    if (desc && desc_len)
        snprintf(desc, desc_len, "%d device(s); 0: %s, sm_%d%d, %.1f GiB, cuBLAS %s", n, p.name,
                 p.major, p.minor, (double)p.totalGlobalMem / (1 << 30),
                 blas ? "ok" : "unavailable");
    return n;
}

/* One warp per output row; each lane loads 8 bf16 (16 bytes) at a time. */
__global__ static void matvec_bf16(const __nv_bfloat16 *__restrict__ w, // (n_out, n_in)
                                   const float *__restrict__ x,         // (n_in)
                                   float *__restrict__ y, int n_out, int n_in)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= n_out)
        return;
    const __nv_bfloat16 *wr = w + (size_t)row * n_in;
    float acc = 0.f;
    int vec_end = (n_in % 8 == 0) ? n_in : 0;
    for (int i = lane * 8; i < vec_end; i += 32 * 8) {
        uint4 v = *reinterpret_cast<const uint4 *>(wr + i);
        const __nv_bfloat16 *b = reinterpret_cast<const __nv_bfloat16 *>(&v);
#pragma unroll
        for (int k = 0; k < 8; k++)
            acc += __bfloat162float(b[k]) * x[i + k];
    }
    for (int i = vec_end + lane; i < n_in; i += 32)
        acc += __bfloat162float(wr[i]) * x[i];
    for (int off = 16; off > 0; off /= 2)
        acc += __shfl_down_sync(0xffffffffu, acc, off);
    if (lane == 0)
        y[row] = acc;
}

static int cuda_fail(ingot_error *err, const char *what, cudaError_t e)
{
    return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "cuda: %s: %s", what, cudaGetErrorString(e));
}

extern "C" int ingot_cuda_matvec_bf16(const uint16_t *w, const float *x, float *y, int n_out,
                                      int n_in, ingot_error *err)
{
    size_t wbytes = (size_t)n_out * n_in * 2;
    void *dw = NULL, *dx = NULL, *dy = NULL;
    cudaError_t e = cudaMalloc(&dw, wbytes);
    if (e == cudaSuccess) e = cudaMalloc(&dx, (size_t)n_in * 4);
    if (e == cudaSuccess) e = cudaMalloc(&dy, (size_t)n_out * 4);
    if (e == cudaSuccess) e = cudaMemcpy(dw, w, wbytes, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(dx, x, (size_t)n_in * 4, cudaMemcpyHostToDevice);
    if (e == cudaSuccess) {
        int rows_per_block = 8;
        matvec_bf16<<<(n_out + rows_per_block - 1) / rows_per_block, 32 * rows_per_block>>>(
            (const __nv_bfloat16 *)dw, (const float *)dx, (float *)dy, n_out, n_in);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpy(y, dy, (size_t)n_out * 4, cudaMemcpyDeviceToHost);
    cudaFree(dw);
    cudaFree(dx);
    cudaFree(dy);
    return e == cudaSuccess ? 0 : cuda_fail(err, "matvec_bf16", e);
}
