/*
 * cuda_device.cu - the CUDA handle: device choice, stream, cuBLAS (opened
 * with dlopen on first use, so that libingot itself does not link it),
 * device memory, transfers, error recording and the two calibration
 * measurements ingot bench reports against (read bandwidth, GEMM peak).
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_formats.cuh"

#define STR2(x) #x
#define STR(x) STR2(x)

int ingot_cuda_fail(ingot_error *err, const char *what, cudaError_t e)
{
    return ingot_fail(err, e == cudaErrorMemoryAllocation ? INGOT_ERR_NOMEM : INGOT_ERR_UNSUPPORTED,
                      "cuda: %s: %s", what, cudaGetErrorString(e));
}

int ingot_cuda_record(ingot_cuda *g, const char *what, cudaError_t e)
{
    if (!g->failed) {
        g->failed = 1;
        ingot_cuda_fail(&g->first, what, e);
    }
    return -1;
}

static int report_failure(ingot_cuda *g, ingot_error *err)
{
    if (err)
        *err = g->first;
    return -1;
}

/* ---- cuBLAS ---- */

static int blas_load(cublas_api *b, ingot_error *err)
{
    b->lib = dlopen("libcublas.so." STR(CUBLAS_VER_MAJOR), RTLD_NOW | RTLD_LOCAL);
    if (!b->lib)
        b->lib = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
    if (!b->lib)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "cuda: cuBLAS (libcublas.so.%d) cannot be loaded: %s",
                          CUBLAS_VER_MAJOR, dlerror());
    *(void **)&b->create = dlsym(b->lib, "cublasCreate_v2");
    *(void **)&b->destroy = dlsym(b->lib, "cublasDestroy_v2");
    *(void **)&b->set_stream = dlsym(b->lib, "cublasSetStream_v2");
    *(void **)&b->gemm_ex = dlsym(b->lib, "cublasGemmEx");
    if (!b->create || !b->destroy || !b->set_stream || !b->gemm_ex)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "cuda: cuBLAS lacks cublasGemmEx or cublasCreate_v2");
    return 0;
}

extern "C" int ingot_cuda_probe(char *desc, size_t desc_len)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0) {
        if (desc && desc_len)
            snprintf(desc, desc_len, "no CUDA device: %s", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return 0;
    }
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    if (desc && desc_len)
        snprintf(desc, desc_len, "%d device(s); 0: %s, sm_%d%d, %.1f GiB", n, p.name, p.major, p.minor,
                 (double)p.totalGlobalMem / (1 << 30));
    return n;
}

/* ---- the handle ---- */

extern "C" const char *ingot_cuda_gemm_name(ingot_cuda_gemm_t t)
{
    return t == INGOT_CUDA_GEMM_BF16 ? "bf16" : t == INGOT_CUDA_GEMM_F16 ? "f16" : "f32";
}

static int gemm_from_env(ingot_cuda *g, ingot_error *err)
{
    const char *s = getenv("INGOT_CUDA_GEMM");
    if (!s || !*s)
        return 0;
    if (!strcmp(s, "bf16"))
        g->gemm = INGOT_CUDA_GEMM_BF16;
    else if (!strcmp(s, "f16"))
        g->gemm = INGOT_CUDA_GEMM_F16;
    else if (!strcmp(s, "f32"))
        g->gemm = INGOT_CUDA_GEMM_F32;
    else
        return ingot_fail(err, INGOT_ERR_ARG, "INGOT_CUDA_GEMM=%s: not bf16, f16 or f32", s);
    return 0;
}

static int gemv_rows_from_env(ingot_cuda *g, ingot_error *err)
{
    const char *s = getenv("INGOT_CUDA_GEMV_ROWS");
    if (!s || !*s || !strcmp(s, "auto"))
        return 0;
    if (strcmp(s, "1") && strcmp(s, "2") && strcmp(s, "4"))
        return ingot_fail(err, INGOT_ERR_ARG, "INGOT_CUDA_GEMV_ROWS=%s: not 1, 2, 4 or auto", s);
    g->gemv_rows = atoi(s);
    return 0;
}

static int open_device(ingot_cuda *g, int device, ingot_error *err)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "device cuda:%d: no CUDA device (%s)", device,
                          e != cudaSuccess ? cudaGetErrorString(e) : "none found");
    if (device >= n)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "device cuda:%d: no such device (this machine has %d)",
                          device, n);
    cudaDeviceProp p;
    if ((e = cudaSetDevice(device)) != cudaSuccess || (e = cudaGetDeviceProperties(&p, device)) != cudaSuccess)
        return ingot_cuda_fail(err, "device setup", e);
    g->device = device;
    g->sm_count = p.multiProcessorCount;
    g->cc_major = p.major;
    g->cc_minor = p.minor;
    snprintf(g->name, sizeof g->name, "%s, sm_%d%d", p.name, p.major, p.minor);
    g->gemm = p.major >= 8 ? INGOT_CUDA_GEMM_BF16 : INGOT_CUDA_GEMM_F32;
    if (p.major < 7 || (p.major == 7 && p.minor < 5))
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "device cuda:%d: %s is older than sm_75", device, g->name);
    return 0;
}

static int upload_tables(ingot_cuda *g, ingot_error *err)
{
    float t[INGOT_CUDA_TABLES];
    memcpy(t, ingot_nf4_code, 16 * sizeof(float));
    memcpy(t + 16, ingot_dynamic_map(), 256 * sizeof(float));
    if (!(g->tables = (float *)ingot_cuda_malloc(g, sizeof t, err)))
        return -1;
    return ingot_cuda_upload(g, g->tables, t, sizeof t, err);
}

static int graphs_disabled(void)
{
    const char *s = getenv("INGOT_CUDA_GRAPHS");
    return s && !strcmp(s, "0");
}

extern "C" ingot_cuda *ingot_cuda_open(int device, ingot_error *err)
{
    ingot_cuda *g = (ingot_cuda *)calloc(1, sizeof *g);
    if (!g) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    cudaError_t e;
    if (open_device(g, device, err) != 0 || gemm_from_env(g, err) != 0 || gemv_rows_from_env(g, err) != 0)
        goto fail;
    if ((e = cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking)) != cudaSuccess) {
        ingot_cuda_fail(err, "stream", e);
        goto fail;
    }
    if (blas_load(&g->blas, err) != 0)
        goto fail;
    if (g->blas.create(&g->blas_h) != CUBLAS_STATUS_SUCCESS) {
        g->blas_h = NULL;
        ingot_fail(err, INGOT_ERR_UNSUPPORTED, "cuda: cuBLAS cannot create a handle on device %d", device);
        goto fail;
    }
    g->blas.set_stream(g->blas_h, g->stream);
    if (upload_tables(g, err) != 0 || !(g->tokens = (int32_t *)ingot_cuda_malloc(g, INGOT_CUDA_MAX_TOKENS * 4, err)) ||
        !(g->stat = (float *)ingot_cuda_malloc(g, 2 * sizeof(float), err)) ||
        !(g->d_pos = (int *)ingot_cuda_malloc(g, sizeof(int), err)))
        goto fail;
    if ((e = cudaHostAlloc((void **)&g->staging, STAGING_BYTES, cudaHostAllocDefault)) != cudaSuccess) {
        g->staging = NULL;
        ingot_cuda_fail(err, "pinned staging memory", e);
        goto fail;
    }
    g->graph_off = graphs_disabled();
    return g;
fail:
    ingot_cuda_close(g);
    return NULL;
}

extern "C" void ingot_cuda_close(ingot_cuda *g)
{
    if (!g)
        return;
    if (g->stream)
        cudaStreamSynchronize(g->stream);
    cudaFree(g->wconv);
    cudaFree(g->xconv);
    cudaFree(g->tokens);
    cudaFree(g->stat);
    cudaFree(g->tables);
    cudaFree(g->d_pos);
    if (g->staging)
        cudaFreeHost(g->staging);
    if (g->graph)
        cudaGraphExecDestroy(g->graph);
    if (g->blas_h)
        g->blas.destroy(g->blas_h);
    if (g->stream)
        cudaStreamDestroy(g->stream);
    /* the cuBLAS library stays loaded: other handles may use it */
    free(g);
}

extern "C" const char *ingot_cuda_name(const ingot_cuda *g)
{
    return g->name;
}

extern "C" int ingot_cuda_device(const ingot_cuda *g)
{
    return g->device;
}

extern "C" int ingot_cuda_sm_count(const ingot_cuda *g)
{
    return g->sm_count;
}

extern "C" ingot_cuda_gemm_t ingot_cuda_gemm_type(const ingot_cuda *g)
{
    return g->gemm;
}

extern "C" void ingot_cuda_set_gemm_type(ingot_cuda *g, ingot_cuda_gemm_t t)
{
    g->gemm = t;
}

extern "C" void ingot_cuda_set_gemv_rows(ingot_cuda *g, int rows)
{
    g->gemv_rows = rows == 1 || rows == 2 || rows == 4 ? rows : 0;
}

extern "C" int ingot_cuda_mem_info(ingot_cuda *g, size_t *free_bytes, size_t *total_bytes, ingot_error *err)
{
    cudaSetDevice(g->device);
    cudaError_t e = cudaMemGetInfo(free_bytes, total_bytes);
    return e == cudaSuccess ? 0 : ingot_cuda_fail(err, "memory info", e);
}

/* ---- memory ---- */

extern "C" void *ingot_cuda_malloc(ingot_cuda *g, size_t bytes, ingot_error *err)
{
    void *p = NULL;
    cudaSetDevice(g->device);
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError(); /* an allocation failure is not sticky: clear it */
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        ingot_fail(err, INGOT_ERR_NOMEM, "cuda: %zu MiB of device memory cannot be allocated (%zu MiB free of %zu)",
                   bytes >> 20, fr >> 20, tot >> 20);
        return NULL;
    }
    if ((e = cudaMemsetAsync(p, 0, bytes, g->stream)) != cudaSuccess) {
        cudaFree(p);
        ingot_cuda_fail(err, "memset", e);
        return NULL;
    }
    return p;
}

extern "C" void ingot_cuda_free(ingot_cuda *g, void *p)
{
    if (!p)
        return;
    cudaStreamSynchronize(g->stream);
    cudaFree(p);
}

int ingot_cuda_grow(ingot_cuda *g, void **buf, size_t *cap, size_t bytes, ingot_error *err)
{
    if (*cap >= bytes)
        return 0;
    ingot_cuda_free(g, *buf);
    *buf = NULL;
    *cap = 0;
    if (!(*buf = ingot_cuda_malloc(g, bytes, err)))
        return -1;
    *cap = bytes;
    return 0;
}

extern "C" int ingot_cuda_upload(ingot_cuda *g, void *dst, const void *src, size_t bytes, ingot_error *err)
{
    if (g->mode != MODE_NORMAL) {
        /* in a step: through the pinned staging area, at the same offset every step */
        size_t at = g->staging_off;
        if (bytes > STAGING_BYTES - at)
            return ingot_fail(err, INGOT_ERR_NOMEM, "cuda: a decode step uploads more than %u bytes",
                              STAGING_BYTES);
        g->staging_off += (bytes + 15) & ~(size_t)15;
        memcpy(g->staging + at, src, bytes);
        if (REPLAYING(g))
            return 0;
        src = g->staging + at;
    }
    /* from pageable memory the copy is staged before the call returns, so src may be reused */
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g->stream);
    return e == cudaSuccess ? 0 : ingot_cuda_fail(err, "upload", e);
}

extern "C" void ingot_cuda_step_begin(ingot_cuda *g, int pos)
{
    g->staging_off = 0;
    g->mode = g->graph ? MODE_REPLAY : MODE_NORMAL;
    if (!g->graph && !g->graph_off && g->steps > 0 && !g->failed) {
        if (cudaStreamBeginCapture(g->stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess)
            g->mode = MODE_CAPTURE;
        else
            g->graph_off = 1;
    }
    g->steps++;
    /* the kernels that need the position read it from here (staged like every upload of a step) */
    if (ingot_cuda_upload(g, g->d_pos, &pos, sizeof pos, NULL) != 0)
        ingot_cuda_record(g, "position upload", cudaErrorInvalidValue);
}

extern "C" int ingot_cuda_step_end(ingot_cuda *g, ingot_error *err)
{
    enum cuda_mode mode = g->mode;
    g->mode = MODE_NORMAL;
    if (mode == MODE_CAPTURE) {
        cudaGraph_t graph = NULL;
        cudaError_t e = cudaStreamEndCapture(g->stream, &graph);
        if (e == cudaSuccess && !g->failed)
            e = cudaGraphInstantiate(&g->graph, graph, 0);
        if (graph)
            cudaGraphDestroy(graph);
        if (e != cudaSuccess || g->failed) {
            /* no graph for this handle: clear the error, run the step again as plain ops */
            cudaGetLastError();
            g->graph = NULL;
            g->graph_off = 1;
            g->failed = 0;
            return 1;
        }
    }
    if (mode != MODE_NORMAL) {
        cudaError_t e = cudaGraphLaunch(g->graph, g->stream);
        if (e != cudaSuccess)
            return ingot_cuda_record(g, "graph launch", e) ? ingot_cuda_sync(g, err) : -1;
    }
    return 0;
}

extern "C" int ingot_cuda_sync(ingot_cuda *g, ingot_error *err)
{
    cudaError_t e = cudaStreamSynchronize(g->stream);
    if (e != cudaSuccess)
        ingot_cuda_record(g, "queued work", e);
    return g->failed ? report_failure(g, err) : 0;
}

extern "C" int ingot_cuda_download(ingot_cuda *g, void *dst, const void *src, size_t bytes, ingot_error *err)
{
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g->stream);
    if (e != cudaSuccess)
        ingot_cuda_record(g, "download", e);
    return ingot_cuda_sync(g, err);
}

/* ---- calibration measurements ---- */

/* Sums the buffer with 16-byte loads (the sum is written so the loads cannot be dropped). */
__global__ static void read_kernel(const uint4 *__restrict__ p, size_t n, unsigned *out)
{
    unsigned acc = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint4 v = __ldg(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x9e3779b9u)
        *out = acc;
}

static double time_reps(ingot_cuda *g, int reps, void (*body)(ingot_cuda *, void *), void *arg, ingot_error *err)
{
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    double best = -1;
    body(g, arg); /* warm-up */
    for (int r = 0; r < reps; r++) {
        cudaEventRecord(a, g->stream);
        body(g, arg);
        cudaEventRecord(b, g->stream);
        cudaEventSynchronize(b);
        float ms = 0;
        cudaEventElapsedTime(&ms, a, b);
        if (best < 0 || ms < best)
            best = ms;
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    if (ingot_cuda_sync(g, err) != 0)
        return -1;
    return best;
}

struct read_arg {
    const uint4 *p;
    size_t n;
    unsigned *out;
};

static void read_body(ingot_cuda *g, void *arg)
{
    read_arg *r = (read_arg *)arg;
    read_kernel<<<g->sm_count * 8, 512, 0, g->stream>>>(r->p, r->n, r->out);
    ingot_cuda_check_launch(g, "read bandwidth");
}

extern "C" double ingot_cuda_read_bandwidth(ingot_cuda *g, size_t bytes, int reps, ingot_error *err)
{
    bytes &= ~(size_t)15;
    void *buf = ingot_cuda_malloc(g, bytes + 64, err);
    if (!buf)
        return -1;
    read_arg r = {(const uint4 *)buf, bytes / 16, (unsigned *)((char *)buf + bytes)};
    double ms = time_reps(g, reps, read_body, &r, err);
    ingot_cuda_free(g, buf);
    return ms > 0 ? (double)bytes / (ms * 1e-3) / 1e9 : -1;
}

struct gemm_arg {
    int m;
    void *a, *c;
};

static void gemm_body(ingot_cuda *g, void *arg)
{
    gemm_arg *q = (gemm_arg *)arg;
    float one = 1, zero = 0;
    cudaDataType t = g->gemm == INGOT_CUDA_GEMM_BF16 ? CUDA_R_16BF : g->gemm == INGOT_CUDA_GEMM_F16 ? CUDA_R_16F : CUDA_R_32F;
    cublasStatus_t s = g->blas.gemm_ex(g->blas_h, CUBLAS_OP_T, CUBLAS_OP_N, q->m, q->m, q->m, &one, q->a, t, q->m, q->a,
                                       t, q->m, &zero, q->c, CUDA_R_32F, q->m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS)
        ingot_cuda_record(g, "cuBLAS GEMM", cudaErrorUnknown);
}

/* Random values in [0.5, 1) with random signs, of the GEMM type (zeros would run faster than real data). */
__global__ static void fill_kernel(void *p, size_t n, int es)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        if (es == 4)
            ((uint32_t *)p)[i] = 0x3f000000u | (h & 0x807fffffu);
        else if (es == 2)
            ((uint16_t *)p)[i] = (uint16_t)(0x3f00u | (h & 0x807fu));
        else
            ((uint16_t *)p)[i] = (uint16_t)(0x3800u | (h & 0x83ffu));
    }
}

extern "C" double ingot_cuda_gemm_peak(ingot_cuda *g, int m, int reps, ingot_error *err)
{
    size_t es = g->gemm == INGOT_CUDA_GEMM_F32 ? 4 : 2;
    gemm_arg q = {m, NULL, NULL};
    q.a = ingot_cuda_malloc(g, (size_t)m * m * es, err);
    q.c = q.a ? ingot_cuda_malloc(g, (size_t)m * m * 4, err) : NULL;
    if (q.c) {
        fill_kernel<<<g->sm_count * 4, 256, 0, g->stream>>>(q.a, (size_t)m * m,
                                                            g->gemm == INGOT_CUDA_GEMM_F16 ? 3 : (int)es);
        ingot_cuda_check_launch(g, "fill");
    }
    double ms = q.c ? time_reps(g, reps, gemm_body, &q, err) : -1;
    ingot_cuda_free(g, q.a);
    ingot_cuda_free(g, q.c);
    return ms > 0 ? 2.0 * m * m * (double)m / (ms * 1e-3) / 1e12 : -1;
}
