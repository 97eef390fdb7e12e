/*
 * attention.cu - the KV cache and causal attention on the device.
 *
 * The cache holds keys and values (n_layers, n_ctx, kv_dim) in f32, f16 or
 * bf16; attention reads them in that type and computes in f32.
 *
 * One block of ATT_WARPS warps per (query token, head, split): the warps
 * take the cache positions of the split in turn, each lane holding hd/32 of
 * the head's dimensions, and keep an online softmax (running max m, sum l
 * and weighted values), as flash attention does; the warps then merge their
 * states.  Decode has one query token, so with a long context and few heads
 * the positions are split across blocks (flash-decoding) and a second
 * kernel merges the splits' states: the device fills up either way.
 *
 *   out = Σ_j exp(s_j - m) v_j / Σ_j exp(s_j - m),  s_j = q·k_j / sqrt(hd)
 */
#include "config.h"

#include <math.h>

#include "kernels/cuda/cuda_common.cuh"

#define ATT_WARPS 4
#define ATT_MAX_HD 256
#define ATT_PL (ATT_MAX_HD / 32) /* dimensions per lane */
#define ATT_MIN_CHUNK 64         /* fewest positions a split is given */
#define ATT_MAX_SPLITS 64

static __device__ __forceinline__ float kv_ld(const float *p)
{
    return *p;
}
static __device__ __forceinline__ float kv_ld(const __half *p)
{
    return __half2float(*p);
}
static __device__ __forceinline__ float kv_ld(const __nv_bfloat16 *p)
{
    return __bfloat162float(*p);
}
static __device__ __forceinline__ void kv_st(float *p, float v)
{
    *p = v;
}
static __device__ __forceinline__ void kv_st(__half *p, float v)
{
    *p = __float2half_rn(v);
}
static __device__ __forceinline__ void kv_st(__nv_bfloat16 *p, float v)
{
    *p = __float2bfloat16_rn(v);
}

static size_t kv_elem_size(ingot_dtype t)
{
    return t == INGOT_DT_F32 ? 4 : 2;
}

/* rows of split partials for a device: splits are only used while pairs < 2 * SMs */
static int work_rows(const ingot_cuda *g)
{
    return 4 * g->sm_count;
}

extern "C" int ingot_cuda_kv_alloc(ingot_cuda *g, ingot_cuda_kv *kv, int max_head_dim, ingot_error *err)
{
    if (kv->type != INGOT_DT_F32 && kv->type != INGOT_DT_F16 && kv->type != INGOT_DT_BF16)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "KV cache type %s: the CUDA backend stores f32, f16 or bf16",
                          ingot_dtype_name(kv->type) ? ingot_dtype_name(kv->type) : "?");
    if (max_head_dim > ATT_MAX_HD)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "head dimension %d: the CUDA attention handles up to %d",
                          max_head_dim, ATT_MAX_HD);
    uint64_t elems = 0, bytes = 0;
    if (!ingot_mul_u64((uint64_t)kv->n_layers * (uint64_t)kv->kv_dim, (uint64_t)kv->n_ctx, &elems) ||
        !ingot_mul_u64(elems, kv_elem_size(kv->type), &bytes) || bytes > SIZE_MAX / 2)
        return ingot_fail(err, INGOT_ERR_NOMEM, "KV cache for %d positions: size overflows", kv->n_ctx);
    size_t fr = 0, tot = 0;
    if (ingot_cuda_mem_info(g, &fr, &tot, err) != 0)
        return -1;
    if (2 * bytes > fr)
        return ingot_fail(err, INGOT_ERR_NOMEM,
                          "KV cache for %d positions needs %.1f GiB of device memory, %.1f GiB are free; "
                          "use a smaller context or --kv-type f16",
                          kv->n_ctx, 2.0 * bytes / (1 << 30), (double)fr / (1 << 30));
    kv->work_rows = work_rows(g);
    if (!(kv->k = ingot_cuda_malloc(g, bytes, err)) || !(kv->v = ingot_cuda_malloc(g, bytes, err)) ||
        !(kv->work = (float *)ingot_cuda_malloc(g, (size_t)kv->work_rows * (max_head_dim + 2) * sizeof(float), err))) {
        ingot_cuda_kv_free(g, kv);
        return -1;
    }
    return 0;
}

extern "C" void ingot_cuda_kv_free(ingot_cuda *g, ingot_cuda_kv *kv)
{
    ingot_cuda_free(g, kv->k);
    ingot_cuda_free(g, kv->v);
    ingot_cuda_free(g, kv->work);
    kv->k = kv->v = NULL;
    kv->work = NULL;
}

/* slots from pos (pos_dev: read on the device, in a decode step's graph) of kc/vc (n_ctx, kvd) */
template <typename KT>
__global__ static void kv_store_kernel(KT *__restrict__ kc, KT *__restrict__ vc, const float *__restrict__ k,
                                       const float *__restrict__ v, size_t n, int pos, const int *pos_dev, int kvd)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n) {
        size_t at = (size_t)(pos_dev ? *pos_dev : pos) * kvd + i;
        kv_st(kc + at, k[i]);
        kv_st(vc + at, v[i]);
    }
}

extern "C" void ingot_cuda_kv_store(ingot_cuda *g, ingot_cuda_kv *kv, int layer, int pos, int n, const float *k,
                                    const float *v)
{
    if (REPLAYING(g))
        return;
    size_t off = (size_t)layer * kv->n_ctx * kv->kv_dim, cnt = (size_t)n * kv->kv_dim;
    const int *pd = g->mode == MODE_CAPTURE ? g->d_pos : NULL;
    unsigned blocks = ingot_cdiv(cnt, 256);
    int kvd = kv->kv_dim;
    switch (kv->type) {
    case INGOT_DT_F16:
        kv_store_kernel<<<blocks, 256, 0, g->stream>>>((__half *)kv->k + off, (__half *)kv->v + off, k, v, cnt, pos,
                                                       pd, kvd);
        break;
    case INGOT_DT_BF16:
        kv_store_kernel<<<blocks, 256, 0, g->stream>>>((__nv_bfloat16 *)kv->k + off, (__nv_bfloat16 *)kv->v + off, k,
                                                       v, cnt, pos, pd, kvd);
        break;
    default:
        kv_store_kernel<<<blocks, 256, 0, g->stream>>>((float *)kv->k + off, (float *)kv->v + off, k, v, cnt, pos, pd,
                                                       kvd);
        break;
    }
    ingot_cuda_check_launch(g, "kv store");
}

struct att_args {
    int kvd, nh, group, hd, pos, window, splits;
    const int *pos_dev; /* when not NULL, the position is read here (a decode step's graph) */
    float scale;
};

template <typename KT>
__global__ static void __launch_bounds__(ATT_WARPS * 32)
    attn_kernel(const KT *__restrict__ kc, const KT *__restrict__ vc, const float *__restrict__ q,
                float *__restrict__ out, float *__restrict__ work, att_args a)
{
    __shared__ float s_m[ATT_WARPS], s_l[ATT_WARPS];
    __shared__ float s_acc[ATT_WARPS][ATT_MAX_HD];
    int h = blockIdx.x, t = blockIdx.y, s = blockIdx.z;
    int lane = threadIdx.x % 32, wid = threadIdx.x / 32;
    int pos = a.pos_dev ? *a.pos_dev : a.pos, chunk = (pos + (int)gridDim.y + a.splits - 1) / a.splits;
    int p = pos + t, lo = (a.window > 0 && p >= a.window) ? p - a.window + 1 : 0;
    int j0 = max(lo, s * chunk), j1 = min(p + 1, (s + 1) * chunk);
    const float *qv = q + ((size_t)t * a.nh + h) * a.hd;
    const KT *kh = kc + (size_t)(h / a.group) * a.hd, *vh = vc + (size_t)(h / a.group) * a.hd;
    float qr[ATT_PL], acc[ATT_PL];
#pragma unroll
    for (int i = 0; i < ATT_PL; i++) {
        int e = lane + 32 * i;
        qr[i] = e < a.hd ? qv[e] : 0.f;
        acc[i] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    for (int j = j0 + wid; j < j1; j += ATT_WARPS) {
        const KT *kr = kh + (size_t)j * a.kvd, *vr = vh + (size_t)j * a.kvd;
        float d = 0.f;
#pragma unroll
        for (int i = 0; i < ATT_PL; i++) {
            int e = lane + 32 * i;
            if (e < a.hd)
                d += qr[i] * kv_ld(kr + e);
        }
        d = warp_sum(d) * a.scale;
        float mn = fmaxf(m, d), corr = expf(m - mn), pj = expf(d - mn);
        l = l * corr + pj;
#pragma unroll
        for (int i = 0; i < ATT_PL; i++) {
            int e = lane + 32 * i;
            if (e < a.hd)
                acc[i] = acc[i] * corr + pj * kv_ld(vr + e);
        }
        m = mn;
    }
    if (lane == 0) {
        s_m[wid] = m;
        s_l[wid] = l;
    }
#pragma unroll
    for (int i = 0; i < ATT_PL; i++) {
        int e = lane + 32 * i;
        if (e < a.hd)
            s_acc[wid][e] = acc[i];
    }
    __syncthreads();
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < ATT_WARPS; w++)
        M = fmaxf(M, s_m[w]);
    float L = 0.f, f[ATT_WARPS];
#pragma unroll
    for (int w = 0; w < ATT_WARPS; w++) {
        f[w] = s_m[w] == -INFINITY ? 0.f : expf(s_m[w] - M);
        L += s_l[w] * f[w];
    }
    size_t row = ((size_t)t * a.nh + h);
    float *dst = a.splits == 1 ? out + row * a.hd : work + (row * a.splits + s) * (a.hd + 2) + 2;
    for (int e = threadIdx.x; e < a.hd; e += blockDim.x) {
        float v = 0.f;
#pragma unroll
        for (int w = 0; w < ATT_WARPS; w++)
            v += s_acc[w][e] * f[w];
        dst[e] = a.splits == 1 ? (L > 0.f ? v / L : 0.f) : v;
    }
    if (a.splits > 1 && threadIdx.x == 0) {
        dst[-2] = M;
        dst[-1] = L;
    }
}

/* Merges the splits' (m, l, acc) of one (token, head) into out. */
__global__ static void attn_merge_kernel(const float *__restrict__ work, float *__restrict__ out, att_args a)
{
    size_t row = (size_t)blockIdx.y * a.nh + blockIdx.x;
    const float *w = work + row * a.splits * (a.hd + 2);
    float M = -INFINITY;
    for (int s = 0; s < a.splits; s++)
        M = fmaxf(M, w[s * (a.hd + 2)]);
    float L = 0.f;
    for (int s = 0; s < a.splits; s++) {
        float m = w[s * (a.hd + 2)];
        if (m != -INFINITY)
            L += w[s * (a.hd + 2) + 1] * expf(m - M);
    }
    for (int e = threadIdx.x; e < a.hd; e += blockDim.x) {
        float v = 0.f;
        for (int s = 0; s < a.splits; s++) {
            float m = w[s * (a.hd + 2)];
            if (m != -INFINITY)
                v += w[s * (a.hd + 2) + 2 + e] * expf(m - M);
        }
        out[row * a.hd + e] = L > 0.f ? v / L : 0.f;
    }
}

template <typename KT>
static void attn_launch(ingot_cuda *g, ingot_cuda_kv *kv, int layer, int n, const float *q, float *out, att_args a)
{
    size_t off = (size_t)layer * kv->n_ctx * kv->kv_dim;
    dim3 grid(a.nh, n, a.splits);
    attn_kernel<KT><<<grid, ATT_WARPS * 32, 0, g->stream>>>((const KT *)kv->k + off, (const KT *)kv->v + off, q, out,
                                                            kv->work, a);
    if (a.splits > 1)
        attn_merge_kernel<<<dim3(a.nh, n), 128, 0, g->stream>>>(kv->work, out, a);
}

extern "C" void ingot_cuda_attention(ingot_cuda *g, ingot_cuda_kv *kv, int layer, int pos, int n, const float *q,
                                     float *out, int nh, int nkv, int hd, int window)
{
    if (REPLAYING(g))
        return;
    att_args a = {kv->kv_dim, nh, nh / nkv, hd, pos, window, 1, NULL, 1.0f / sqrtf((float)hd)};
    /* in a graph the position changes at every replay: split for the longest sequence */
    if (g->mode == MODE_CAPTURE)
        a.pos_dev = g->d_pos;
    int len = a.pos_dev ? kv->n_ctx : pos + n, pairs = nh * n, target = 2 * g->sm_count;
    if (pairs < target && len >= 2 * ATT_MIN_CHUNK) {
        int want = (target + pairs - 1) / pairs, most = len / ATT_MIN_CHUNK;
        a.splits = want < most ? want : most;
        if (a.splits > ATT_MAX_SPLITS)
            a.splits = ATT_MAX_SPLITS;
        if ((size_t)pairs * a.splits > (size_t)kv->work_rows)
            a.splits = kv->work_rows / pairs;
        if (a.splits < 1)
            a.splits = 1;
    }
    switch (kv->type) {
    case INGOT_DT_F16: attn_launch<__half>(g, kv, layer, n, q, out, a); break;
    case INGOT_DT_BF16: attn_launch<__nv_bfloat16>(g, kv, layer, n, q, out, a); break;
    default: attn_launch<float>(g, kv, layer, n, q, out, a); break;
    }
    ingot_cuda_check_launch(g, "attention");
}
