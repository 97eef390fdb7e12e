/*
 * backend_cpu.c - the CPU backend: the ops of runtime/backend.h on host
 * memory with kernels/cpu/ and OpenMP.
 *
 * An ingot_buf is a float array from calloc, a weights view is the model's
 * own structs, a KV cache two f32 arrays (layer, position, kv_dim).  The
 * matmuls and attention run on the context's n_threads; the row operations
 * (rmsnorm, rope, SwiGLU, residual add) run on the calling thread.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "runtime/backend.h"
#include "runtime/rope.h"
#include "util/threads.h"
#include "util/util.h"

typedef struct cpu_backend {
    ingot_backend be; /* first: the ops */
    const ingot_cpu_kernels *k;
    int n_threads;
    ingot_weights w;  /* the view weights_acquire hands out */
} cpu_backend;

typedef struct cpu_kv {
    float *k, *v;   // (n_layers, n_ctx, kv_dim)
    float *scores;  // (n_threads, n_ctx): one row of attention weights per thread
    int n_ctx;
    size_t kv_dim;
} cpu_kv;

static cpu_backend *cpu(ingot_backend *be)
{
    return (cpu_backend *)be;
}

static float *F(ingot_buf *b)
{
    return (float *)(void *)b;
}

static const float *CF(const ingot_buf *b)
{
    return (const float *)(const void *)b;
}

/* ---- host helpers ---- */

void ingot_host_absmax(const float *x, size_t n, float *absmax, int *nonfinite)
{
    float mx = *absmax;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (!(a <= 3.4028235e38f))
            bad = 1;
        else if (a > mx)
            mx = a;
    }
    *absmax = mx;
    *nonfinite |= bad;
}

void ingot_host_rmsnorm_rows(float *out, const float *x, const float *w, int n, int dim, float eps)
{
    for (int t = 0; t < n; t++)
        ingot_rmsnorm(out + (size_t)t * dim, x + (size_t)t * dim, w, dim, eps);
}

/* ---- memory ---- */

static void cpu_free(ingot_backend *be)
{
    free(cpu(be));
}

static ingot_buf *cpu_buf_alloc(ingot_backend *be, size_t n, ingot_error *err)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p)
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory for %zu floats", n);
    return (ingot_buf *)(void *)p;
}

static void cpu_buf_free(ingot_backend *be, ingot_buf *b)
{
    free(b);
}

static int cpu_upload(ingot_backend *be, ingot_buf *dst, const float *src, size_t n, ingot_error *err)
{
    memcpy(F(dst), src, n * sizeof(float));
    return 0;
}

static int cpu_download(ingot_backend *be, float *dst, const ingot_buf *src, size_t n, ingot_error *err)
{
    memcpy(dst, CF(src), n * sizeof(float));
    return 0;
}

static int cpu_sync(ingot_backend *be, ingot_error *err)
{
    return 0;
}

/* ---- weights: the model's own, zero copy ---- */

static const ingot_weights *cpu_weights_acquire(ingot_backend *be, const ingot_model *m, ingot_error *err)
{
    ingot_weights *w = &cpu(be)->w;
    w->embed = &m->embed;
    w->output = &m->output;
    w->out_norm = m->out_norm;
    w->layers = m->layers;
    return w;
}

static void cpu_weights_release(ingot_backend *be, const ingot_weights *w)
{
}

/* ---- the forward graph ---- */

static int cpu_embed(ingot_backend *be, const ingot_wmat *emb, const int32_t *tokens, int n, ingot_buf *x,
                     ingot_error *err)
{
    for (int t = 0; t < n; t++)
        ingot_dequantize_ref(emb, tokens[t], tokens[t] + 1, F(x) + (size_t)t * emb->n_in);
    return 0;
}

static int cpu_matmul(ingot_backend *be, const ingot_wmat *w, const float *bias, const ingot_buf *x, int n,
                      ingot_buf *y, ingot_error *err)
{
    if (ingot_matmul_with(cpu(be)->k, w, CF(x), n, F(y), cpu(be)->n_threads) != 0)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CPU kernel for weight type %s",
                          ingot_dtype_name(w->type));
    if (bias) {
        float *o = F(y);
        int d = w->n_out;
        for (int t = 0; t < n; t++)
            for (int i = 0; i < d; i++)
                o[(size_t)t * d + i] += bias[i];
    }
    return 0;
}

static void cpu_rmsnorm(ingot_backend *be, ingot_buf *out, const ingot_buf *x, const float *w, int n, int dim,
                        float eps)
{
    ingot_host_rmsnorm_rows(F(out), CF(x), w, n, dim, eps);
}

static void cpu_rope(ingot_backend *be, ingot_buf *x, int n, int n_heads, int hd, const ingot_buf *cos,
                     const ingot_buf *sin)
{
    size_t half = (size_t)hd / 2, row = (size_t)n_heads * hd;
    for (int t = 0; t < n; t++)
        ingot_rope_apply(F(x) + t * row, n_heads, hd, CF(cos) + t * half, CF(sin) + t * half);
}

static void cpu_kv_free(ingot_backend *be, ingot_kv *kv_)
{
    cpu_kv *kv = (cpu_kv *)(void *)kv_;
    if (!kv)
        return;
    free(kv->k);
    free(kv->v);
    free(kv->scores);
    free(kv);
}

static ingot_kv *cpu_kv_alloc(ingot_backend *be, int n_layers, int n_ctx, int kv_dim, ingot_dtype type,
                              ingot_error *err)
{
    if (type != INGOT_DT_F32) {
        ingot_fail(err, INGOT_ERR_UNSUPPORTED, "KV cache type %s: the CPU backend stores the KV cache in f32 only",
                   ingot_dtype_name(type) ? ingot_dtype_name(type) : "?");
        return NULL;
    }
    uint64_t per = 0, bytes = 0;
    if (!ingot_mul_u64((uint64_t)n_layers * (uint64_t)kv_dim, (uint64_t)n_ctx, &per) ||
        !ingot_mul_u64(per, 2 * sizeof(float), &bytes)) {
        ingot_fail(err, INGOT_ERR_NOMEM, "KV cache for %d positions: size overflows", n_ctx);
        return NULL;
    }
    uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    if (bytes > phys) {
        ingot_fail(err, INGOT_ERR_NOMEM,
                   "KV cache for %d positions needs %.1f GiB, more than this machine's %.1f GiB; "
                   "use a smaller context",
                   n_ctx, (double)bytes / (1 << 30), (double)phys / (1 << 30));
        return NULL;
    }
    cpu_kv *kv = calloc(1, sizeof *kv);
    if (!kv) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    kv->n_ctx = n_ctx;
    kv->kv_dim = (size_t)kv_dim;
    kv->k = malloc(bytes / 2);
    kv->v = malloc(bytes / 2);
    if (!kv->k || !kv->v) {
        ingot_fail(err, INGOT_ERR_NOMEM, "KV cache for %d positions (%.1f MiB) cannot be allocated", n_ctx,
                   (double)bytes / (1 << 20));
        cpu_kv_free(be, (ingot_kv *)(void *)kv);
        return NULL;
    }
    kv->scores = calloc((size_t)cpu(be)->n_threads * (size_t)n_ctx, sizeof(float));
    if (!kv->scores) {
        ingot_fail(err, INGOT_ERR_NOMEM, "inference buffers cannot be allocated");
        cpu_kv_free(be, (ingot_kv *)(void *)kv);
        return NULL;
    }
    return (ingot_kv *)(void *)kv;
}

static void cpu_kv_store(ingot_backend *be, ingot_kv *kv_, int layer, int pos, int n, const ingot_buf *k,
                         const ingot_buf *v)
{
    cpu_kv *kv = (cpu_kv *)(void *)kv_;
    size_t base = (size_t)layer * kv->n_ctx * kv->kv_dim + (size_t)pos * kv->kv_dim;
    memcpy(kv->k + base, CF(k), (size_t)n * kv->kv_dim * sizeof(float));
    memcpy(kv->v + base, CF(v), (size_t)n * kv->kv_dim * sizeof(float));
}

static void cpu_attention(ingot_backend *be, ingot_kv *kv_, int layer, int pos, int n, const ingot_buf *q_,
                          ingot_buf *out_, int nh, int nkv, int hd, int window)
{
    const cpu_kv *kv = (const cpu_kv *)(void *)kv_;
    size_t plane = (size_t)kv->n_ctx * kv->kv_dim;
    ingot_attn_args a = {
        .q = CF(q_), .k = kv->k + (size_t)layer * plane, .v = kv->v + (size_t)layer * plane,
        .out = F(out_), .n = n, .pos = pos, .n_heads = nh, .n_kv_heads = nkv, .hd = hd,
        .n_ctx = kv->n_ctx, .kv_dim = kv->kv_dim, .window = window, .scale = 1.0f / sqrtf((float)hd),
    };
    ingot_attention_f32(cpu(be)->k, &a, kv->scores, cpu(be)->n_threads);
}

static void cpu_swiglu(ingot_backend *be, ingot_buf *gate, const ingot_buf *up, size_t n)
{
    ingot_swiglu(F(gate), CF(up), (int)n);
}

static void cpu_add(ingot_backend *be, ingot_buf *x_, const ingot_buf *y_, size_t n)
{
    float *x = F(x_);
    const float *y = CF(y_);
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

static int cpu_logits(ingot_backend *be, const ingot_wmat *output, const ingot_buf *x, int n, float *logits,
                      ingot_error *err)
{
    if (ingot_matmul_with(cpu(be)->k, output, CF(x), n, logits, cpu(be)->n_threads) != 0)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CPU kernel for weight type %s",
                          ingot_dtype_name(output->type));
    return 0;
}

static void cpu_absmax(ingot_backend *be, const ingot_buf *x, size_t n, float *absmax, int *nonfinite)
{
    ingot_host_absmax(CF(x), n, absmax, nonfinite);
}

static const ingot_backend cpu_ops = {
    .name = "cpu",
    .desc = "cpu",
    .free = cpu_free,
    .buf_alloc = cpu_buf_alloc,
    .buf_free = cpu_buf_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .sync = cpu_sync,
    .weights_acquire = cpu_weights_acquire,
    .weights_release = cpu_weights_release,
    .embed = cpu_embed,
    .matmul = cpu_matmul,
    .rmsnorm = cpu_rmsnorm,
    .rope = cpu_rope,
    .kv_alloc = cpu_kv_alloc,
    .kv_free = cpu_kv_free,
    .kv_store = cpu_kv_store,
    .attention = cpu_attention,
    .swiglu = cpu_swiglu,
    .add = cpu_add,
    .logits = cpu_logits,
    .absmax = cpu_absmax,
};

ingot_backend *ingot_backend_cpu_create(int n_threads, ingot_error *err)
{
    cpu_backend *c = calloc(1, sizeof *c);
    if (!c) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->be = cpu_ops;
    c->k = ingot_cpu_kernels_get();
    /* the context's own count, passed to each parallel region: the
       process-wide OpenMP setting belongs to the application */
#ifdef _OPENMP
    c->n_threads = n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    c->n_threads = 1;
    (void)n_threads;
#endif
    return &c->be;
}
