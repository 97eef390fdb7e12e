/*
 * forward.c - the decoder forward pass and the inference context (KV cache +
 * scratch buffers), device-independent: every step is an op of the
 * context's backend (runtime/backend.h) on buffers the backend owns.
 *
 * For a batch of n tokens at positions pos .. pos+n-1, every linear layer is
 * one matrix-matrix product over the whole batch (prefill), and a single
 * token is the same code with n = 1 (decode).  Activations are f32.
 *
 *   x = embed(tokens)                                   (n, dim)
 *   for each layer:
 *     h = rmsnorm(x) ; q,k,v = h·Wq,Wk,Wv (+bias) ; rope(q,k)
 *     k,v -> cache ; a = softmax(q·Kᵀ/√hd + causal mask)·V
 *     x += a·Wo
 *     h = rmsnorm(x) ; x += (silu(h·Wgate) * h·Wup)·Wdown
 *   logits = rmsnorm(x)·Woutput
 *
 * The host keeps only what is small and cheap: the rope tables (computed
 * here for every rope type, then uploaded) and the caller's logits.
 */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_ops.h"
#include "runtime/backend.h"
#include "runtime/forward.h"
#include "runtime/model.h"
#include "runtime/rope.h"
#include "util/util.h"

#define MAX_BATCH INGOT_MAX_BATCH

struct ingot_context {
    ingot_model *m;
    ingot_backend *be;
    const ingot_weights *w; // the backend's view of m's weights
    int n_ctx;
    int batch;              // tokens per forward batch: the backend's (>= MAX_BATCH)
    ingot_kv *kv;           // (n_layers, n_ctx, nkv*hd) keys and values
    /* backend memory */
    ingot_buf *x;           // (batch, dim) residual stream
    ingot_buf *xb;          // (batch, dim) normed input
    ingot_buf *xb2;         // (batch, dim) block output before the residual add
    ingot_buf *q;           // (batch, nh*hd)
    ingot_buf *kv_k;        // (batch, nkv*hd)
    ingot_buf *kv_v;        // (batch, nkv*hd)
    ingot_buf *att;         // (batch, nh*hd)
    ingot_buf *hb;          // (batch, ffn)
    ingot_buf *hb2;         // (batch, ffn)
    ingot_buf *cos_b;       // (batch, hd/2) the rope tables, uploaded
    ingot_buf *sin_b;       // (batch, hd/2)
    /* host memory */
    float *inv_freq;        // (hd/2)
    float *cos_t;           // (batch, hd/2)
    float *sin_t;           // (batch, hd/2)
    int rope_seq_len;       // sequence length inv_freq was computed for (dynamic NTK)
    int rope_pos, rope_n;   // positions the cos/sin tables hold
    float rope_scale;
    ingot_layer_stats *stats;
};

/* ---- context parameters ---- */

void ingot_context_params_init_sized(ingot_context_params *p, size_t size)
{
    ingot_context_params d;
    memset(&d, 0, sizeof d); /* padding too: read_params checks the bytes after the fields */
    d.size = size;
    d.n_ctx = 0;
    d.n_threads = 0;
    d.device = INGOT_DEVICE_AUTO;
    d.device_index = 0;
    d.kv_type = INGOT_DT_F32;
    memset(p, 0, size);
    memcpy(p, &d, size < sizeof d ? size : sizeof d);
}

/* The end of the fields this library knows. */
#define PARAMS_END (offsetof(ingot_context_params, kv_type) + sizeof(ingot_dtype))
/* Larger than any version of the struct will be: a bound on reading the caller's bytes. */
#define PARAMS_MAX 4096
#define COVERS(p, field) ((p)->size >= offsetof(ingot_context_params, field) + sizeof (p)->field)

/* *out = the defaults, overwritten by the fields of *p that p->size covers. */
static int read_params(const ingot_context_params *p, ingot_context_params *out, ingot_error *err)
{
    ingot_context_params_init(out);
    if (!p)
        return 0;
    /* a size out of these bounds is garbage: the struct was not set up */
    if (!COVERS(p, n_ctx) || p->size > PARAMS_MAX)
        return ingot_fail(err, INGOT_ERR_ARG,
                          "context parameters of %zu bytes: set them up with ingot_context_params_init",
                          p->size);
    if (p->size > PARAMS_END) {
        const unsigned char *extra = (const unsigned char *)p + PARAMS_END;
        for (size_t i = 0; i < p->size - PARAMS_END; i++)
            if (extra[i])
                return ingot_fail(err, INGOT_ERR_ARG,
                                  "context parameters: fields this ingot %s does not know are set "
                                  "(built against a newer ingot.h?)",
                                  ingot_version());
    }
    out->n_ctx = p->n_ctx;
    if (COVERS(p, n_threads))
        out->n_threads = p->n_threads;
    if (COVERS(p, device))
        out->device = p->device;
    if (COVERS(p, device_index))
        out->device_index = p->device_index;
    if (COVERS(p, kv_type))
        out->kv_type = p->kv_type;
    return 0;
}

static int check_params(const ingot_config *cfg, const ingot_context_params *p, ingot_error *err)
{
    if (p->n_ctx < 0 || p->n_ctx > cfg->max_pos)
        return ingot_fail(err, INGOT_ERR_ARG, "context of %d positions: the model supports 1..%d", p->n_ctx,
                          cfg->max_pos);
    if (p->n_threads < 0)
        return ingot_fail(err, INGOT_ERR_ARG, "%d threads: 0 (the default) or more", p->n_threads);
    if (p->device != INGOT_DEVICE_AUTO && p->device != INGOT_DEVICE_CPU && p->device != INGOT_DEVICE_CUDA)
        return ingot_fail(err, INGOT_ERR_ARG, "device %d: not auto, cpu or cuda", (int)p->device);
    if (p->device_index < 0)
        return ingot_fail(err, INGOT_ERR_ARG, "device index %d: 0 or more", p->device_index);
    if (p->kv_type != INGOT_DT_F32 && p->kv_type != INGOT_DT_F16 && p->kv_type != INGOT_DT_BF16) {
        const char *name = ingot_dtype_name(p->kv_type);
        return ingot_fail(err, INGOT_ERR_ARG, "KV cache type %s: not f32, f16 or bf16",
                          name ? name : "(invalid)");
    }
    return 0;
}

/*
 * The backend of p->device: cuda:N when asked for (an error when the build
 * or machine has none).  auto is the CPU for now: the CUDA backend has not
 * yet passed its checks on a GPU (tests/test_cuda.c, bench/device_check.sh),
 * and until it has, a machine with a GPU must not get it without asking.
 * Once it has, auto takes CUDA device 0 when the build has CUDA and a GPU
 * opens.
 */
static ingot_backend *open_backend(const ingot_context_params *p, ingot_error *err)
{
    switch (p->device) {
    case INGOT_DEVICE_CUDA:
#ifdef INGOT_HAVE_CUDA
        return ingot_backend_cuda_create(p->device_index, err);
#else
        ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                   "device cuda:%d: not built with CUDA (configure found no nvcc/cuBLAS)", p->device_index);
        return NULL;
#endif
    case INGOT_DEVICE_AUTO:
    case INGOT_DEVICE_CPU:
    default:
        return ingot_backend_cpu_create(p->n_threads, err);
    }
}

/* ---- the context ---- */

static void *xcalloc(size_t n, size_t size, bool *ok)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        *ok = false;
    return p;
}

static ingot_buf *xbuf(ingot_context *c, size_t n, bool *ok)
{
    ingot_buf *b = c->be->buf_alloc(c->be, n, NULL);
    if (!b)
        *ok = false;
    return b;
}

ingot_context *ingot_context_create_with(ingot_model *m, const ingot_context_params *params, ingot_error *err)
{
    const ingot_config *cfg = &m->cfg;
    ingot_context_params p;
    if (read_params(params, &p, err) != 0 || check_params(cfg, &p, err) != 0)
        return NULL;
    ingot_context *c = calloc(1, sizeof *c);
    if (!c) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->m = m;
    c->n_ctx = p.n_ctx ? p.n_ctx : cfg->max_pos;
    size_t dim = (size_t)cfg->hidden_size, hd = (size_t)cfg->head_dim;
    size_t qd = (size_t)cfg->n_heads * hd, kvd = (size_t)cfg->n_kv_heads * hd;
    if (!(c->be = open_backend(&p, err)) || !(c->w = c->be->weights_acquire(c->be, m, err)) ||
        !(c->kv = c->be->kv_alloc(c->be, cfg->n_layers, c->n_ctx, (int)kvd, p.kv_type, err))) {
        ingot_context_free(c);
        return NULL;
    }
    c->batch = c->be->batch > MAX_BATCH ? c->be->batch : MAX_BATCH;
    size_t B = (size_t)c->batch;
    bool ok = true;
    c->x = xbuf(c, B * dim, &ok);
    c->xb = xbuf(c, B * dim, &ok);
    c->xb2 = xbuf(c, B * dim, &ok);
    c->q = xbuf(c, B * qd, &ok);
    c->kv_k = xbuf(c, B * kvd, &ok);
    c->kv_v = xbuf(c, B * kvd, &ok);
    c->att = xbuf(c, B * qd, &ok);
    c->hb = xbuf(c, B * (size_t)cfg->ffn_size, &ok);
    c->hb2 = xbuf(c, B * (size_t)cfg->ffn_size, &ok);
    c->cos_b = xbuf(c, B * hd / 2, &ok);
    c->sin_b = xbuf(c, B * hd / 2, &ok);
    c->inv_freq = xcalloc(hd / 2, 4, &ok);
    c->cos_t = xcalloc(B * hd / 2, 4, &ok);
    c->sin_t = xcalloc(B * hd / 2, 4, &ok);
    if (!ok) {
        ingot_fail(err, INGOT_ERR_NOMEM, "inference buffers cannot be allocated");
        ingot_context_free(c);
        return NULL;
    }
    c->rope_scale = ingot_rope_freqs(&cfg->rope, cfg->head_dim, cfg->max_pos, 0, c->inv_freq);
    return c;
}

ingot_context *ingot_context_create(ingot_model *m, int n_ctx, int n_threads, ingot_error *err)
{
    ingot_context_params p;
    ingot_context_params_init(&p);
    p.n_ctx = n_ctx;
    p.n_threads = n_threads > 0 ? n_threads : 0;
    p.device = INGOT_DEVICE_CPU;
    return ingot_context_create_with(m, &p, err);
}

void ingot_context_free(ingot_context *c)
{
    if (!c)
        return;
    ingot_backend *be = c->be;
    if (be) {
        ingot_buf *bufs[] = {c->x,  c->xb,  c->xb2, c->q,     c->kv_k, c->kv_v,
                             c->att, c->hb, c->hb2, c->cos_b, c->sin_b};
        for (size_t i = 0; i < INGOT_ARRAY_LEN(bufs); i++)
            be->buf_free(be, bufs[i]);
        be->kv_free(be, c->kv);
        be->weights_release(be, c->w);
        be->free(be);
    }
    free(c->inv_freq);
    free(c->cos_t);
    free(c->sin_t);
    free(c);
}

int ingot_context_n_ctx(const ingot_context *c)
{
    return c->n_ctx;
}

int ingot_context_device_peaks(ingot_context *c, double *read_gbs, double *gemm_tflops, double *mem_used_mb,
                               ingot_error *err)
{
    if (!c->be->peaks)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: no device measurements (CPU context)", c->be->desc);
    return c->be->peaks(c->be, read_gbs, gemm_tflops, mem_used_mb, err);
}

const char *ingot_context_device(const ingot_context *c)
{
    return c->be->desc;
}

void ingot_context_set_stats(ingot_context *c, ingot_layer_stats *stats)
{
    c->stats = stats;
}

/* ---- activation statistics ---- */

#define STAT(c, layer, field, buf, count)                                                         \
    do {                                                                                          \
        if ((c)->stats)                                                                           \
            (c)->be->absmax((c)->be, (buf), (count), &(c)->stats[layer].field,                   \
                            &(c)->stats[layer].nonfinite);                                        \
    } while (0)

/* ---- building blocks ---- */

void ingot_rmsnorm_rows(const ingot_context *c, float *out, const float *x, const float *w, int n)
{
    ingot_host_rmsnorm_rows(out, x, w, n, c->m->cfg.hidden_size, (float)c->m->cfg.rms_eps);
}

/* Fills the cos/sin tables of positions pos..pos+n-1 on the host and uploads them. */
static int rope_tables(ingot_context *c, int pos, int n, ingot_error *err)
{
    const ingot_config *cfg = &c->m->cfg;
    int half = cfg->head_dim / 2;
    if (cfg->rope.type == INGOT_ROPE_DYNAMIC && pos + n > c->rope_seq_len) {
        c->rope_seq_len = pos + n;
        c->rope_scale = ingot_rope_freqs(&cfg->rope, cfg->head_dim, cfg->max_pos, pos + n, c->inv_freq);
        c->rope_n = 0;
    }
    if (c->rope_pos == pos && c->rope_n >= n)
        return 0; /* the previous layer of this batch computed them */
    for (int t = 0; t < n; t++)
        for (int i = 0; i < half; i++) {
            float a = (float)(pos + t) * c->inv_freq[i];
            c->cos_t[(size_t)t * half + i] = cosf(a) * c->rope_scale;
            c->sin_t[(size_t)t * half + i] = sinf(a) * c->rope_scale;
        }
    size_t len = (size_t)n * half;
    if (c->be->upload(c->be, c->cos_b, c->cos_t, len, err) != 0 ||
        c->be->upload(c->be, c->sin_b, c->sin_t, len, err) != 0) {
        c->rope_n = 0;
        return -1;
    }
    c->rope_pos = pos;
    c->rope_n = n;
    return 0;
}

/*
 * Self-attention of `layer` with the weights L on h(n, dim) at positions
 * pos..pos+n-1 into out(n, dim); c->att keeps the input of o_proj.
 */
static int attention(ingot_context *c, const ingot_layer *L, int layer, const ingot_buf *h, int n, int pos,
                     ingot_buf *out, ingot_error *err)
{
    ingot_backend *be = c->be;
    const ingot_config *cfg = &c->m->cfg;
    int dim = cfg->hidden_size, hd = cfg->head_dim;
    size_t kvd = (size_t)cfg->n_kv_heads * hd, qd = (size_t)cfg->n_heads * hd;
    if (be->matmul(be, &L->wq, L->bq, h, n, c->q, err) || be->matmul(be, &L->wk, L->bk, h, n, c->kv_k, err) ||
        be->matmul(be, &L->wv, L->bv, h, n, c->kv_v, err))
        return -1;
    STAT(c, layer, attn_max, c->q, n * qd);
    STAT(c, layer, attn_max, c->kv_k, n * kvd);
    STAT(c, layer, attn_max, c->kv_v, n * kvd);
    if (rope_tables(c, pos, n, err) != 0)
        return -1;
    be->rope(be, c->q, n, cfg->n_heads, hd, c->cos_b, c->sin_b);
    be->rope(be, c->kv_k, n, cfg->n_kv_heads, hd, c->cos_b, c->sin_b);
    be->kv_store(be, c->kv, layer, pos, n, c->kv_k, c->kv_v);
    be->attention(be, c->kv, layer, pos, n, c->q, c->att, cfg->n_heads, cfg->n_kv_heads, hd,
                  cfg->sliding_window);
    STAT(c, layer, attn_max, c->att, n * qd);
    if (be->matmul(be, &L->wo, L->bo, c->att, n, out, err))
        return -1;
    STAT(c, layer, attn_max, out, (size_t)n * dim);
    return 0;
}

/* SwiGLU MLP of `layer` with the weights L on h(n, dim) into out(n, dim); c->hb keeps the input of down_proj. */
static int mlp(ingot_context *c, const ingot_layer *L, int layer, const ingot_buf *h, int n, ingot_buf *out,
               ingot_error *err)
{
    ingot_backend *be = c->be;
    const ingot_config *cfg = &c->m->cfg;
    size_t dim = (size_t)cfg->hidden_size, ffn = (size_t)cfg->ffn_size;
    if (be->matmul(be, &L->w_gate, L->b_gate, h, n, c->hb, err) ||
        be->matmul(be, &L->w_up, L->b_up, h, n, c->hb2, err))
        return -1;
    STAT(c, layer, mlp_max, c->hb, n * ffn);
    STAT(c, layer, mlp_max, c->hb2, n * ffn);
    be->swiglu(be, c->hb, c->hb2, n * ffn);
    STAT(c, layer, mlp_max, c->hb, n * ffn);
    if (be->matmul(be, &L->w_down, L->b_down, c->hb, n, out, err))
        return -1;
    STAT(c, layer, mlp_max, out, n * dim);
    return 0;
}

/* The calibration entry points: host memory in and out, through the context's scratch. */

int ingot_attn_forward(ingot_context *c, const ingot_layer *L, int layer, const float *h, int n,
                       int pos, float *out, float *inner, ingot_error *err)
{
    ingot_backend *be = c->be;
    const ingot_config *cfg = &c->m->cfg;
    size_t dim = (size_t)cfg->hidden_size, qd = (size_t)cfg->n_heads * cfg->head_dim;
    if (n > c->batch || pos + n > c->n_ctx)
        return ingot_fail(err, INGOT_ERR_ARG, "attention: %d tokens at %d exceed the batch or context", n, pos);
    if (be->upload(be, c->xb, h, (size_t)n * dim, err) || attention(c, L, layer, c->xb, n, pos, c->xb2, err) ||
        (inner && be->download(be, inner, c->att, (size_t)n * qd, err)) ||
        be->download(be, out, c->xb2, (size_t)n * dim, err))
        return -1;
    return 0;
}

int ingot_mlp_forward(ingot_context *c, const ingot_layer *L, int layer, const float *h, int n,
                      float *out, float *inner, ingot_error *err)
{
    ingot_backend *be = c->be;
    const ingot_config *cfg = &c->m->cfg;
    size_t dim = (size_t)cfg->hidden_size, ffn = (size_t)cfg->ffn_size;
    if (n > c->batch)
        return ingot_fail(err, INGOT_ERR_ARG, "mlp: %d tokens exceed the batch of %d", n, c->batch);
    if (be->upload(be, c->xb, h, (size_t)n * dim, err) || mlp(c, L, layer, c->xb, n, c->xb2, err) ||
        (inner && be->download(be, inner, c->hb, (size_t)n * ffn, err)) ||
        be->download(be, out, c->xb2, (size_t)n * dim, err))
        return -1;
    return 0;
}

/* ---- the graph ---- */

/* One batch of at most c->batch tokens. */
static int eval_ops(ingot_context *c, const int32_t *tokens, int n, int pos, float *logits, int all_logits,
                    ingot_error *err)
{
    ingot_backend *be = c->be;
    const ingot_weights *w = c->w;
    const ingot_config *cfg = &c->m->cfg;
    size_t dim = (size_t)cfg->hidden_size;
    float eps = (float)cfg->rms_eps;
    if (be->embed(be, w->embed, tokens, n, c->x, err))
        return -1;
    for (int l = 0; l < cfg->n_layers; l++) {
        const ingot_layer *L = &w->layers[l];
        be->rmsnorm(be, c->xb, c->x, L->attn_norm, n, (int)dim, eps);
        if (attention(c, L, l, c->xb, n, pos, c->xb2, err))
            return -1;
        be->add(be, c->x, c->xb2, n * dim);
        be->rmsnorm(be, c->xb, c->x, L->ffn_norm, n, (int)dim, eps);
        if (mlp(c, L, l, c->xb, n, c->xb2, err))
            return -1;
        be->add(be, c->x, c->xb2, n * dim);
        STAT(c, l, resid_max, c->x, n * dim);
    }
    if (!logits)
        return be->sync(be, err);
    int first = all_logits ? 0 : n - 1, rows = n - first;
    be->rmsnorm(be, c->xb, ingot_buf_at(c->x, (size_t)first * dim), w->out_norm, rows, (int)dim, eps);
    STAT(c, cfg->n_layers, resid_max, c->xb, rows * dim);
    int r = be->logits(be, w->output, c->xb, rows, logits, err);
    if (r != 0)
        return r;
    if (c->stats)
        ingot_host_absmax(logits, (size_t)rows * cfg->vocab_size, &c->stats[cfg->n_layers].mlp_max,
                          &c->stats[cfg->n_layers].nonfinite);
    return 0;
}

/*
 * A decode step (one token, logits wanted, no statistics) is announced to a
 * backend that can record it (step_begin); if its recording fails the
 * backend says so from the logits op and the step runs once more as
 * plain ops.
 */
static int eval_batch(ingot_context *c, const int32_t *tokens, int n, int pos, float *logits, int all_logits,
                      ingot_error *err)
{
    bool step = n == 1 && logits && !c->stats && c->be->step_begin;
    for (int tries = 0; tries < 2; tries++) {
        if (step) {
            c->be->step_begin(c->be, pos);
            c->rope_n = 0; /* every step uploads its rope tables: the recording has the upload */
        }
        int r = eval_ops(c, tokens, n, pos, logits, all_logits, err);
        if (r != 1)
            return r;
    }
    return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: a decode step could not run", c->be->desc);
}

int ingot_context_eval(ingot_context *c, const int32_t *tokens, int n, int pos, float *logits,
                       int all_logits, ingot_error *err)
{
    const ingot_config *cfg = &c->m->cfg;
    if (n <= 0 || pos < 0)
        return ingot_fail(err, INGOT_ERR_ARG, "eval: %d tokens at position %d", n, pos);
    if (pos > c->n_ctx - n)
        return ingot_fail(err, INGOT_ERR_ARG,
                          "eval: positions %d..%d do not fit the context of %d positions", pos,
                          pos + n - 1, c->n_ctx);
    for (int t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= cfg->vocab_size)
            return ingot_fail(err, INGOT_ERR_ARG, "eval: token id %d outside the vocabulary (0..%d)",
                              (int)tokens[t], cfg->vocab_size - 1);
    for (int done = 0; done < n; done += c->batch) {
        int k = n - done < c->batch ? n - done : c->batch;
        bool last = done + k == n;
        float *out = NULL;
        if (logits && all_logits)
            out = logits + (size_t)done * cfg->vocab_size;
        else if (logits && last)
            out = logits;
        if (eval_batch(c, tokens + done, k, pos + done, out, all_logits, err) != 0)
            return -1;
    }
    return 0;
}
