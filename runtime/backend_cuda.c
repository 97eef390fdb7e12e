/*
 * backend_cuda.c - the CUDA backend: the ops of runtime/backend.h on one
 * NVIDIA GPU, with kernels/cuda/.
 *
 * Each backend (one per context) opens its own handle: a stream, a cuBLAS
 * handle and scratch.  An ingot_buf is f32 device memory.  Weights are
 * uploaded once per (model, device) in their stored layout, into one
 * allocation, and shared by every context of that model on that device
 * (a reference count under a lock); the norms and biases go with them.
 * The view handed out is host structs (ingot_wmat, ingot_layer) holding
 * device addresses.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/cuda/cuda_ops.h"
#include "runtime/backend.h"
#include "util/util.h"

typedef struct cuda_backend {
    ingot_backend be; /* first: the ops */
    ingot_cuda *g;
    char desc[320];
    float *logits;    // device (rows, vocab) for the logits op, grown on demand
    size_t logits_cap;
} cuda_backend;

static cuda_backend *cb(ingot_backend *be)
{
    return (cuda_backend *)be;
}

static float *F(ingot_buf *b)
{
    return (float *)(void *)b;
}

static const float *CF(const ingot_buf *b)
{
    return (const float *)(const void *)b;
}

/* ---- memory ---- */

static void cuda_free_be(ingot_backend *be)
{
    ingot_cuda_free(cb(be)->g, cb(be)->logits);
    ingot_cuda_close(cb(be)->g);
    free(cb(be));
}

static ingot_buf *cuda_buf_alloc(ingot_backend *be, size_t n, ingot_error *err)
{
    return (ingot_buf *)ingot_cuda_malloc(cb(be)->g, n * sizeof(float), err);
}

static void cuda_buf_free(ingot_backend *be, ingot_buf *b)
{
    ingot_cuda_free(cb(be)->g, b);
}

static int cuda_upload(ingot_backend *be, ingot_buf *dst, const float *src, size_t n, ingot_error *err)
{
    return ingot_cuda_upload(cb(be)->g, dst, src, n * sizeof(float), err);
}

static int cuda_download(ingot_backend *be, float *dst, const ingot_buf *src, size_t n, ingot_error *err)
{
    return ingot_cuda_download(cb(be)->g, dst, src, n * sizeof(float), err);
}

static int cuda_sync(ingot_backend *be, ingot_error *err)
{
    return ingot_cuda_sync(cb(be)->g, err);
}

/* ---- weights: one upload per (model, device), shared ---- */

typedef struct cuda_weights {
    ingot_weights view;  /* first: what weights_acquire hands out */
    const ingot_model *m;
    int device, refs;
    void *mem;           /* every part, norm and bias */
    size_t bytes;
    ingot_wmat embed, output;
    ingot_layer *layers; // (n_layers)
    struct cuda_weights *next;
} cuda_weights;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static cuda_weights *reg;

#define ALIGN 256

/* Places parts in the allocation: counts bytes when base is NULL, else copies. */
typedef struct placer {
    ingot_cuda *g;
    char *base;
    size_t off;
    int failed;
    ingot_error *err;
} placer;

static const void *place(placer *p, const void *host, size_t bytes)
{
    size_t at = p->off;
    p->off += (bytes + ALIGN - 1) / ALIGN * ALIGN;
    if (!p->base || p->failed)
        return NULL;
    if (ingot_cuda_upload(p->g, p->base + at, host, bytes, p->err) != 0)
        p->failed = 1;
    return p->base + at;
}

static int place_wmat(placer *p, const ingot_wmat *host, ingot_wmat *dev)
{
    ingot_wlayout lay;
    if (ingot_format_layout(host->fmt, host->n_out, host->n_in, host->group_size, host->variant, &lay, "weight",
                            p->err) != 0)
        return -1;
    *dev = *host;
    for (int i = 0; i < host->n_parts; i++)
        dev->part[i] = place(p, host->part[i], (size_t)lay.p[i].bytes);
    return 0;
}

static const float *dev_vec(const ingot_model *m, const float *dpool, const float *host)
{
    return host && dpool ? dpool + (host - m->pool) : NULL; /* no device address yet while counting */
}

static int place_all(placer *p, const ingot_model *m, cuda_weights *cw)
{
    const ingot_config *cfg = &m->cfg;
    const float *dpool = place(p, m->pool, m->pool_used * sizeof(float));
    if (place_wmat(p, &m->embed, &cw->embed) != 0)
        return -1;
    if (m->output.part[0] == m->embed.part[0])
        cw->output = cw->embed; /* tied */
    else if (place_wmat(p, &m->output, &cw->output) != 0)
        return -1;
    cw->view.out_norm = dev_vec(m, dpool, m->out_norm);
    for (int l = 0; l < cfg->n_layers; l++) {
        const ingot_layer *H = &m->layers[l];
        ingot_layer *D = &cw->layers[l];
        *D = *H;
        const ingot_wmat *hw[] = {&H->wq, &H->wk, &H->wv, &H->wo, &H->w_gate, &H->w_up, &H->w_down};
        ingot_wmat *dw[] = {&D->wq, &D->wk, &D->wv, &D->wo, &D->w_gate, &D->w_up, &D->w_down};
        for (size_t i = 0; i < INGOT_ARRAY_LEN(hw); i++)
            if (place_wmat(p, hw[i], dw[i]) != 0)
                return -1;
        const float *const hv[] = {H->attn_norm, H->ffn_norm, H->bq, H->bk, H->bv, H->bo,
                                   H->b_gate,    H->b_up,     H->b_down};
        const float **dv[] = {&D->attn_norm, &D->ffn_norm, &D->bq,     &D->bk,    &D->bv,
                              &D->bo,        &D->b_gate,   &D->b_up,   &D->b_down};
        for (size_t i = 0; i < INGOT_ARRAY_LEN(hv); i++)
            *dv[i] = dev_vec(m, dpool, hv[i]);
    }
    return p->failed ? -1 : 0;
}

static int check_types(const ingot_model *m, ingot_error *err)
{
    if (m->cfg.head_dim > 256)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "head dimension %d: the CUDA backend handles up to 256",
                          m->cfg.head_dim);
    const ingot_wmat *ws[] = {&m->embed, &m->output};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(ws); i++)
        if (!ingot_cuda_supports(ws[i]->type))
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CUDA kernel for weight type %s",
                              ingot_dtype_name(ws[i]->type));
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const ingot_layer *L = &m->layers[l];
        const ingot_wmat *lw[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < INGOT_ARRAY_LEN(lw); i++)
            if (!ingot_cuda_supports(lw[i]->type))
                return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CUDA kernel for weight type %s",
                                  ingot_dtype_name(lw[i]->type));
    }
    return 0;
}

static cuda_weights *upload(ingot_cuda *g, const ingot_model *m, ingot_error *err)
{
    if (check_types(m, err) != 0)
        return NULL;
    cuda_weights *cw = calloc(1, sizeof *cw);
    if (!cw || !(cw->layers = calloc((size_t)m->cfg.n_layers, sizeof *cw->layers))) {
        free(cw);
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    placer p = {g, NULL, 0, 0, err};
    size_t fr = 0, tot = 0;
    if (place_all(&p, m, cw) != 0 || ingot_cuda_mem_info(g, &fr, &tot, err) != 0)
        goto fail;
    cw->bytes = p.off;
    if (cw->bytes > fr) {
        ingot_fail(err, INGOT_ERR_NOMEM,
                   "the model's weights need %.2f GiB of device memory; %.2f GiB of %.2f are free on %s",
                   (double)cw->bytes / (1 << 30), (double)fr / (1 << 30), (double)tot / (1 << 30), ingot_cuda_name(g));
        goto fail;
    }
    if (!(cw->mem = ingot_cuda_malloc(g, cw->bytes, err)))
        goto fail;
    p = (placer){g, cw->mem, 0, 0, err};
    if (place_all(&p, m, cw) != 0 || ingot_cuda_sync(g, err) != 0)
        goto fail;
    cw->view.embed = &cw->embed;
    cw->view.output = &cw->output;
    cw->view.layers = cw->layers;
    cw->m = m;
    cw->device = ingot_cuda_device(g);
    cw->refs = 1;
    return cw;
fail:
    ingot_cuda_free(g, cw->mem);
    free(cw->layers);
    free(cw);
    return NULL;
}

static const ingot_weights *cuda_weights_acquire(ingot_backend *be, const ingot_model *m, ingot_error *err)
{
    ingot_cuda *g = cb(be)->g;
    pthread_mutex_lock(&reg_lock);
    cuda_weights *cw = reg;
    while (cw && !(cw->m == m && cw->device == ingot_cuda_device(g)))
        cw = cw->next;
    if (cw)
        cw->refs++;
    else if ((cw = upload(g, m, err)) != NULL) {
        cw->next = reg;
        reg = cw;
    }
    pthread_mutex_unlock(&reg_lock);
    return cw ? &cw->view : NULL;
}

static void cuda_weights_release(ingot_backend *be, const ingot_weights *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&reg_lock);
    for (cuda_weights **pp = &reg; *pp; pp = &(*pp)->next) {
        cuda_weights *cw = *pp;
        if (&cw->view != w)
            continue;
        if (--cw->refs == 0) {
            *pp = cw->next;
            ingot_cuda_free(cb(be)->g, cw->mem);
            free(cw->layers);
            free(cw);
        }
        break;
    }
    pthread_mutex_unlock(&reg_lock);
}

/* ---- the forward graph ---- */

static int cuda_embed(ingot_backend *be, const ingot_wmat *emb, const int32_t *tokens, int n, ingot_buf *x,
                      ingot_error *err)
{
    return ingot_cuda_embed(cb(be)->g, emb, tokens, n, F(x), err);
}

static int cuda_matmul(ingot_backend *be, const ingot_wmat *w, const float *bias, const ingot_buf *x, int n,
                       ingot_buf *y, ingot_error *err)
{
    return ingot_cuda_matmul(cb(be)->g, w, bias, CF(x), n, F(y), err);
}

static void cuda_rmsnorm(ingot_backend *be, ingot_buf *out, const ingot_buf *x, const float *w, int n, int dim,
                         float eps)
{
    ingot_cuda_rmsnorm(cb(be)->g, F(out), CF(x), w, n, dim, eps);
}

static void cuda_rope(ingot_backend *be, ingot_buf *x, int n, int n_heads, int hd, const ingot_buf *cos,
                      const ingot_buf *sin)
{
    ingot_cuda_rope(cb(be)->g, F(x), n, n_heads, hd, CF(cos), CF(sin));
}

static ingot_kv *cuda_kv_alloc(ingot_backend *be, int n_layers, int n_ctx, int kv_dim, ingot_dtype type,
                               ingot_error *err)
{
    ingot_cuda_kv *kv = calloc(1, sizeof *kv);
    if (!kv) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *kv = (ingot_cuda_kv){.type = type, .n_layers = n_layers, .n_ctx = n_ctx, .kv_dim = kv_dim};
    if (ingot_cuda_kv_alloc(cb(be)->g, kv, kv_dim < 256 ? kv_dim : 256, err) != 0) {
        free(kv);
        return NULL;
    }
    return (ingot_kv *)(void *)kv;
}

static void cuda_kv_free(ingot_backend *be, ingot_kv *kv)
{
    if (!kv)
        return;
    ingot_cuda_kv_free(cb(be)->g, (ingot_cuda_kv *)(void *)kv);
    free(kv);
}

static void cuda_kv_store(ingot_backend *be, ingot_kv *kv, int layer, int pos, int n, const ingot_buf *k,
                          const ingot_buf *v)
{
    ingot_cuda_kv_store(cb(be)->g, (ingot_cuda_kv *)(void *)kv, layer, pos, n, CF(k), CF(v));
}

static void cuda_attention(ingot_backend *be, ingot_kv *kv, int layer, int pos, int n, const ingot_buf *q,
                           ingot_buf *out, int nh, int nkv, int hd, int window)
{
    ingot_cuda_attention(cb(be)->g, (ingot_cuda_kv *)(void *)kv, layer, pos, n, CF(q), F(out), nh, nkv, hd, window);
}

static void cuda_swiglu(ingot_backend *be, ingot_buf *gate, const ingot_buf *up, size_t n)
{
    ingot_cuda_swiglu(cb(be)->g, F(gate), CF(up), n);
}

static void cuda_add(ingot_backend *be, ingot_buf *x, const ingot_buf *y, size_t n)
{
    ingot_cuda_add(cb(be)->g, F(x), CF(y), n);
}

static int cuda_logits(ingot_backend *be, const ingot_wmat *output, const ingot_buf *x, int n, float *logits,
                       ingot_error *err)
{
    cuda_backend *c = cb(be);
    size_t need = (size_t)n * output->n_out;
    if (need > c->logits_cap) {
        ingot_cuda_free(c->g, c->logits);
        c->logits_cap = 0;
        if (!(c->logits = ingot_cuda_malloc(c->g, need * sizeof(float), err)))
            return -1;
        c->logits_cap = need;
    }
    if (ingot_cuda_matmul(c->g, output, NULL, CF(x), n, c->logits, err) != 0)
        return -1;
    int r = ingot_cuda_step_end(c->g, err);
    if (r != 0)
        return r;
    return ingot_cuda_download(c->g, logits, c->logits, need * sizeof(float), err);
}

static void cuda_step_begin(ingot_backend *be, int pos)
{
    ingot_cuda_step_begin(cb(be)->g, pos);
}

static void cuda_absmax(ingot_backend *be, const ingot_buf *x, size_t n, float *absmax, int *nonfinite)
{
    /* a failure is recorded in the handle and reported by the next sync */
    ingot_cuda_absmax(cb(be)->g, CF(x), n, absmax, nonfinite, NULL);
}

static int cuda_peaks(ingot_backend *be, double *read_gbs, double *gemm_tflops, double *mem_used_mb,
                      ingot_error *err)
{
    ingot_cuda *g = cb(be)->g;
    size_t fr = 0, tot = 0;
    if (ingot_cuda_mem_info(g, &fr, &tot, err) != 0)
        return -1;
    *mem_used_mb = (double)(tot - fr) / (1 << 20);
    /* 1 GiB: twenty times an H100's L2, or a quarter of what is free */
    size_t bytes = (size_t)1 << 30;
    if (bytes > fr / 4)
        bytes = fr / 4;
    if ((*read_gbs = ingot_cuda_read_bandwidth(g, bytes, 10, err)) < 0)
        return -1;
    int m = fr > ((size_t)1 << 30) ? 8192 : 4096;
    if ((*gemm_tflops = ingot_cuda_gemm_peak(g, m, 5, err)) < 0)
        return -1;
    return 0;
}

static const ingot_backend cuda_ops = {
    .name = "cuda",
    /* 512: a quantized weight is dequantized once per batch, so prefill pays
       for it half as often as with 256 */
    .batch = 512,
    .free = cuda_free_be,
    .buf_alloc = cuda_buf_alloc,
    .buf_free = cuda_buf_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .sync = cuda_sync,
    .weights_acquire = cuda_weights_acquire,
    .weights_release = cuda_weights_release,
    .embed = cuda_embed,
    .matmul = cuda_matmul,
    .rmsnorm = cuda_rmsnorm,
    .rope = cuda_rope,
    .kv_alloc = cuda_kv_alloc,
    .kv_free = cuda_kv_free,
    .kv_store = cuda_kv_store,
    .attention = cuda_attention,
    .swiglu = cuda_swiglu,
    .add = cuda_add,
    .logits = cuda_logits,
    .step_begin = cuda_step_begin,
    .absmax = cuda_absmax,
    .peaks = cuda_peaks,
};

ingot_backend *ingot_backend_cuda_create(int device, ingot_error *err)
{
    cuda_backend *c = calloc(1, sizeof *c);
    if (!c) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (!(c->g = ingot_cuda_open(device, err))) {
        free(c);
        return NULL;
    }
    c->be = cuda_ops;
    snprintf(c->desc, sizeof c->desc, "cuda:%d (%s, prefill GEMM %s)", device, ingot_cuda_name(c->g),
             ingot_cuda_gemm_name(ingot_cuda_gemm_type(c->g)));
    c->be.desc = c->desc;
    return &c->be;
}
