/*
 * ops.cu - the row and element operations of the forward pass on the
 * device: rmsnorm, rope, SwiGLU, the residual add and eval's absmax.
 * Each follows its CPU reference (kernels/cpu/ops.c, runtime/rope.c)
 * operation for operation; only rmsnorm's sum runs in a different order.
 */
#include "config.h"

#include "kernels/cuda/cuda_common.cuh"

#define ROW_THREADS 256

/* One block per row: sum of squares in f32, then x * scale * w. */
__global__ static void rmsnorm_kernel(float *out, const float *x, const float *__restrict__ w, int dim, float eps)
{
    __shared__ float part[ROW_THREADS / 32];
    const float *xr = x + (size_t)blockIdx.x * dim;
    float *yr = out + (size_t)blockIdx.x * dim;
    float ss = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        ss += xr[i] * xr[i];
    ss = warp_sum(ss);
    if (threadIdx.x % 32 == 0)
        part[threadIdx.x / 32] = ss;
    __syncthreads();
    float tot = 0.f;
#pragma unroll
    for (int i = 0; i < ROW_THREADS / 32; i++)
        tot += part[i];
    float scale = 1.0f / sqrtf(tot / (float)dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        yr[i] = xr[i] * scale * w[i];
}

extern "C" void ingot_cuda_rmsnorm(ingot_cuda *g, float *out, const float *x, const float *w, int n, int dim, float eps)
{
    if (REPLAYING(g))
        return;
    rmsnorm_kernel<<<n, ROW_THREADS, 0, g->stream>>>(out, x, w, dim, eps);
    ingot_cuda_check_launch(g, "rmsnorm");
}

/* One thread per (token, head, pair i): a = v[i], b = v[i + hd/2]. */
__global__ static void rope_kernel(float *x, int n, int nh, int hd, const float *__restrict__ cos_t,
                                   const float *__restrict__ sin_t)
{
    int half = hd / 2;
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)n * nh * half)
        return;
    int p = (int)(i % half);
    size_t th = i / half; /* token * nh + head */
    int t = (int)(th / nh);
    float *v = x + th * hd;
    float c = cos_t[(size_t)t * half + p], s = sin_t[(size_t)t * half + p];
    float a = v[p], b = v[p + half];
    v[p] = a * c - b * s;
    v[p + half] = b * c + a * s;
}

extern "C" void ingot_cuda_rope(ingot_cuda *g, float *x, int n, int nh, int hd, const float *cos_t, const float *sin_t)
{
    if (REPLAYING(g))
        return;
    size_t items = (size_t)n * nh * (hd / 2);
    rope_kernel<<<ingot_cdiv(items, 256), 256, 0, g->stream>>>(x, n, nh, hd, cos_t, sin_t);
    ingot_cuda_check_launch(g, "rope");
}

__global__ static void swiglu_kernel(float *gate, const float *__restrict__ up, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) {
        float v = gate[i];
        gate[i] = v * up[i] / (1.0f + expf(-v));
    }
}

extern "C" void ingot_cuda_swiglu(ingot_cuda *g, float *gate, const float *up, size_t n)
{
    if (REPLAYING(g))
        return;
    swiglu_kernel<<<ingot_cdiv(n, 256), 256, 0, g->stream>>>(gate, up, n);
    ingot_cuda_check_launch(g, "swiglu");
}

__global__ static void add_kernel(float *x, const float *__restrict__ y, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n)
        x[i] += y[i];
}

extern "C" void ingot_cuda_add(ingot_cuda *g, float *x, const float *y, size_t n)
{
    if (REPLAYING(g))
        return;
    add_kernel<<<ingot_cdiv(n, 256), 256, 0, g->stream>>>(x, y, n);
    ingot_cuda_check_launch(g, "add");
}

/* stat[0] = max |x| over the finite values (as bits: non-negative floats order as integers), stat[1] = any non-finite */
__global__ static void absmax_kernel(const float *__restrict__ x, size_t n, unsigned *stat)
{
    float mx = 0.f;
    unsigned bad = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float a = fabsf(x[i]);
        if (!(a <= 3.4028235e38f))
            bad = 1;
        else
            mx = fmaxf(mx, a);
    }
    mx = warp_max(mx);
    bad = __any_sync(0xffffffffu, bad);
    if (threadIdx.x % 32 == 0) {
        atomicMax(stat, __float_as_uint(mx));
        if (bad)
            atomicOr(stat + 1, 1u);
    }
}

extern "C" int ingot_cuda_absmax(ingot_cuda *g, const float *x, size_t n, float *absmax, int *nonfinite,
                                 ingot_error *err)
{
    unsigned host[2];
    cudaMemsetAsync(g->stat, 0, 2 * sizeof(unsigned), g->stream);
    unsigned blocks = ingot_cdiv(n, 256);
    if (blocks > (unsigned)g->sm_count * 8)
        blocks = g->sm_count * 8;
    absmax_kernel<<<blocks ? blocks : 1, 256, 0, g->stream>>>(x, n, (unsigned *)g->stat);
    ingot_cuda_check_launch(g, "absmax");
    if (ingot_cuda_download(g, host, g->stat, sizeof host, err) != 0)
        return -1;
    float mx;
    memcpy(&mx, &host[0], sizeof mx);
    if (mx > *absmax)
        *absmax = mx;
    *nonfinite |= host[1] != 0;
    return 0;
}
