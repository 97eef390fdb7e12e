/*
 * forward.c - the decoder forward pass on the CPU, and the inference context
 * (KV cache + scratch buffers).
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
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "runtime/forward.h"
#include "runtime/model.h"
#include "runtime/rope.h"
#include "util/util.h"

#define MAX_BATCH INGOT_MAX_BATCH

struct ingot_context {
    ingot_model *m;
    const ingot_cpu_kernels *k;
    int n_ctx;
    int n_threads;
    float *k_cache;   // (n_layers, n_ctx, nkv*hd)
    float *v_cache;   // (n_layers, n_ctx, nkv*hd)
    float *x;         // (MAX_BATCH, dim) residual stream
    float *xb;        // (MAX_BATCH, dim) normed input
    float *xb2;       // (MAX_BATCH, dim) block output before the residual add
    float *q;         // (MAX_BATCH, nh*hd)
    float *kv_k;      // (MAX_BATCH, nkv*hd)
    float *kv_v;      // (MAX_BATCH, nkv*hd)
    float *att;       // (MAX_BATCH, nh*hd)
    float *hb;        // (MAX_BATCH, ffn)
    float *hb2;       // (MAX_BATCH, ffn)
    float *scores;    // (n_threads, n_ctx)
    float *inv_freq;  // (hd/2)
    float *cos_t;     // (MAX_BATCH, hd/2)
    float *sin_t;     // (MAX_BATCH, hd/2)
    int rope_seq_len; // sequence length inv_freq was computed for (dynamic NTK)
    int rope_pos, rope_n; // positions the cos/sin tables hold
    float rope_scale;
    ingot_layer_stats *stats;
};

static void *xcalloc(size_t n, size_t size, bool *ok)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        *ok = false;
    return p;
}

static int alloc_cache(ingot_context *c, ingot_error *err)
{
    const ingot_config *cfg = &c->m->cfg;
    uint64_t per = 0, bytes = 0;
    if (!ingot_mul_u64((uint64_t)cfg->n_layers * (uint64_t)cfg->n_kv_heads * (uint64_t)cfg->head_dim,
                       (uint64_t)c->n_ctx, &per) ||
        !ingot_mul_u64(per, 2 * sizeof(float), &bytes))
        return ingot_fail(err, INGOT_ERR_NOMEM, "KV cache for %d positions: size overflows", c->n_ctx);
    uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    if (bytes > phys)
        return ingot_fail(err, INGOT_ERR_NOMEM,
                          "KV cache for %d positions needs %.1f GiB, more than this machine's %.1f GiB; "
                          "use a smaller context",
                          c->n_ctx, (double)bytes / (1 << 30), (double)phys / (1 << 30));
    c->k_cache = malloc(bytes / 2);
    c->v_cache = malloc(bytes / 2);
    if (!c->k_cache || !c->v_cache)
        return ingot_fail(err, INGOT_ERR_NOMEM, "KV cache for %d positions (%.1f MiB) cannot be allocated",
                          c->n_ctx, (double)bytes / (1 << 20));
    return 0;
}

ingot_context *ingot_context_create(ingot_model *m, int n_ctx, int n_threads, ingot_error *err)
{
    const ingot_config *cfg = &m->cfg;
    if (n_ctx < 0 || n_ctx > cfg->max_pos) {
        ingot_fail(err, INGOT_ERR_ARG, "context of %d positions: the model supports 1..%d", n_ctx,
                   cfg->max_pos);
        return NULL;
    }
    ingot_context *c = calloc(1, sizeof *c);
    if (!c) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->m = m;
    c->k = ingot_cpu_kernels_get();
    c->n_ctx = n_ctx ? n_ctx : cfg->max_pos;
    /* the context's own count, passed to each parallel region: the
       process-wide OpenMP setting belongs to the application */
#ifdef _OPENMP
    c->n_threads = n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    c->n_threads = 1;
    (void)n_threads;
#endif
    if (alloc_cache(c, err) != 0) {
        ingot_context_free(c);
        return NULL;
    }
    size_t B = MAX_BATCH, dim = (size_t)cfg->hidden_size, hd = (size_t)cfg->head_dim;
    size_t qd = (size_t)cfg->n_heads * hd, kvd = (size_t)cfg->n_kv_heads * hd;
    bool ok = true;
    c->x = xcalloc(B * dim, 4, &ok);
    c->xb = xcalloc(B * dim, 4, &ok);
    c->xb2 = xcalloc(B * dim, 4, &ok);
    c->q = xcalloc(B * qd, 4, &ok);
    c->kv_k = xcalloc(B * kvd, 4, &ok);
    c->kv_v = xcalloc(B * kvd, 4, &ok);
    c->att = xcalloc(B * qd, 4, &ok);
    c->hb = xcalloc(B * (size_t)cfg->ffn_size, 4, &ok);
    c->hb2 = xcalloc(B * (size_t)cfg->ffn_size, 4, &ok);
    c->scores = xcalloc((size_t)c->n_threads * (size_t)c->n_ctx, 4, &ok);
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

void ingot_context_free(ingot_context *c)
{
    if (!c)
        return;
    float *bufs[] = {c->k_cache, c->v_cache, c->x,      c->xb,   c->xb2,    c->q,     c->kv_k,
                     c->kv_v,    c->att,     c->hb,     c->hb2,      c->scores, c->inv_freq,
                     c->cos_t,   c->sin_t};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(bufs); i++)
        free(bufs[i]);
    free(c);
}

int ingot_context_n_ctx(const ingot_context *c)
{
    return c->n_ctx;
}

void ingot_context_set_stats(ingot_context *c, ingot_layer_stats *stats)
{
    c->stats = stats;
}

/* ---- activation statistics ---- */

static void track(float *slot, int *nonfinite, const float *x, size_t n)
{
    float mx = *slot;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (!(a <= 3.4028235e38f))
            bad = 1;
        else if (a > mx)
            mx = a;
    }
    *slot = mx;
    *nonfinite |= bad;
}

#define STAT(c, layer, field, ptr, count)                                                     \
    do {                                                                                      \
        if ((c)->stats)                                                                       \
            track(&(c)->stats[layer].field, &(c)->stats[layer].nonfinite, (ptr), (count));    \
    } while (0)

/* ---- building blocks ---- */

void ingot_rmsnorm_rows(const ingot_context *c, float *out, const float *x, const float *w, int n)
{
    int dim = c->m->cfg.hidden_size;
    float eps = (float)c->m->cfg.rms_eps;
    for (int t = 0; t < n; t++)
        ingot_rmsnorm(out + (size_t)t * dim, x + (size_t)t * dim, w, dim, eps);
}

static void add_bias(float *y, const float *b, int n, int d)
{
    if (!b)
        return;
    for (int t = 0; t < n; t++)
        for (int i = 0; i < d; i++)
            y[(size_t)t * d + i] += b[i];
}

static int linear(ingot_context *c, const ingot_wmat *w, const float *bias, const float *x, int n,
                  float *y, ingot_error *err)
{
    if (ingot_matmul_with(c->k, w, x, n, y, c->n_threads) != 0)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CPU kernel for weight type %s",
                          ingot_dtype_name(w->type));
    add_bias(y, bias, n, w->n_out);
    return 0;
}

static void rope_tables(ingot_context *c, int pos, int n)
{
    const ingot_config *cfg = &c->m->cfg;
    int half = cfg->head_dim / 2;
    if (cfg->rope.type == INGOT_ROPE_DYNAMIC && pos + n > c->rope_seq_len) {
        c->rope_seq_len = pos + n;
        c->rope_scale = ingot_rope_freqs(&cfg->rope, cfg->head_dim, cfg->max_pos, pos + n, c->inv_freq);
        c->rope_n = 0;
    }
    if (c->rope_pos == pos && c->rope_n >= n)
        return; /* the previous layer of this batch computed them */
    c->rope_pos = pos;
    c->rope_n = n;
    for (int t = 0; t < n; t++)
        for (int i = 0; i < half; i++) {
            float a = (float)(pos + t) * c->inv_freq[i];
            c->cos_t[(size_t)t * half + i] = cosf(a) * c->rope_scale;
            c->sin_t[(size_t)t * half + i] = sinf(a) * c->rope_scale;
        }
}

/* Causal attention of n new queries over cache positions [lo, pos+t]. */
static void attention(ingot_context *c, int layer, int pos, int n)
{
    const ingot_config *cfg = &c->m->cfg;
    int hd = cfg->head_dim, nh = cfg->n_heads, nkv = cfg->n_kv_heads, group = nh / nkv;
    size_t kvd = (size_t)nkv * hd, qd = (size_t)nh * hd;
    const float *kc = c->k_cache + (size_t)layer * c->n_ctx * kvd;
    const float *vc = c->v_cache + (size_t)layer * c->n_ctx * kvd;
    float scale = 1.0f / sqrtf((float)hd);
    int window = cfg->sliding_window;
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(c->n_threads)
    for (int t = 0; t < n; t++)
        for (int h = 0; h < nh; h++) {
#ifdef _OPENMP
            float *sc = c->scores + (size_t)omp_get_thread_num() * c->n_ctx;
#else
            float *sc = c->scores;
#endif
            int p = pos + t, lo = window > 0 && p >= window ? p - window + 1 : 0;
            const float *qv = c->q + (size_t)t * qd + (size_t)h * hd;
            const float *kh = kc + (size_t)(h / group) * hd;
            const float *vh = vc + (size_t)(h / group) * hd;
            for (int j = lo; j <= p; j++)
                sc[j - lo] = c->k->dot_f32(qv, kh + (size_t)j * kvd, hd) * scale;
            ingot_softmax(sc, p - lo + 1);
            float *out = c->att + (size_t)t * qd + (size_t)h * hd;
            memset(out, 0, (size_t)hd * sizeof *out);
            for (int j = lo; j <= p; j++)
                c->k->axpy_f32(sc[j - lo], vh + (size_t)j * kvd, out, hd);
        }
}

int ingot_attn_forward(ingot_context *c, const ingot_layer *L, int layer, const float *h, int n,
                       int pos, float *out, float *inner, ingot_error *err)
{
    const ingot_config *cfg = &c->m->cfg;
    int dim = cfg->hidden_size, hd = cfg->head_dim;
    size_t kvd = (size_t)cfg->n_kv_heads * hd, qd = (size_t)cfg->n_heads * hd;
    if (n > MAX_BATCH || pos + n > c->n_ctx)
        return ingot_fail(err, INGOT_ERR_ARG, "attention: %d tokens at %d exceed the batch or context", n, pos);
    if (linear(c, &L->wq, L->bq, h, n, c->q, err) || linear(c, &L->wk, L->bk, h, n, c->kv_k, err) ||
        linear(c, &L->wv, L->bv, h, n, c->kv_v, err))
        return -1;
    STAT(c, layer, attn_max, c->q, n * qd);
    STAT(c, layer, attn_max, c->kv_k, n * kvd);
    STAT(c, layer, attn_max, c->kv_v, n * kvd);
    rope_tables(c, pos, n);
    int half = hd / 2;
    for (int t = 0; t < n; t++) {
        ingot_rope_apply(c->q + t * qd, cfg->n_heads, hd, c->cos_t + (size_t)t * half, c->sin_t + (size_t)t * half);
        ingot_rope_apply(c->kv_k + t * kvd, cfg->n_kv_heads, hd, c->cos_t + (size_t)t * half,
                         c->sin_t + (size_t)t * half);
    }
    size_t base = (size_t)layer * c->n_ctx * kvd + (size_t)pos * kvd;
    memcpy(c->k_cache + base, c->kv_k, (size_t)n * kvd * sizeof(float));
    memcpy(c->v_cache + base, c->kv_v, (size_t)n * kvd * sizeof(float));
    attention(c, layer, pos, n);
    STAT(c, layer, attn_max, c->att, n * qd);
    if (inner)
        memcpy(inner, c->att, (size_t)n * qd * sizeof(float));
    if (linear(c, &L->wo, L->bo, c->att, n, out, err))
        return -1;
    STAT(c, layer, attn_max, out, (size_t)n * dim);
    return 0;
}

static int attention_block(ingot_context *c, const ingot_layer *L, int layer, int pos, int n,
                           ingot_error *err)
{
    size_t dim = (size_t)c->m->cfg.hidden_size;
    ingot_rmsnorm_rows(c, c->xb, c->x, L->attn_norm, n);
    if (ingot_attn_forward(c, L, layer, c->xb, n, pos, c->xb2, NULL, err))
        return -1;
    for (size_t i = 0; i < (size_t)n * dim; i++)
        c->x[i] += c->xb2[i];
    return 0;
}

int ingot_mlp_forward(ingot_context *c, const ingot_layer *L, int layer, const float *h, int n,
                      float *out, float *inner, ingot_error *err)
{
    const ingot_config *cfg = &c->m->cfg;
    size_t dim = (size_t)cfg->hidden_size, ffn = (size_t)cfg->ffn_size;
    if (n > MAX_BATCH)
        return ingot_fail(err, INGOT_ERR_ARG, "mlp: %d tokens exceed the batch of %d", n, MAX_BATCH);
    if (linear(c, &L->w_gate, L->b_gate, h, n, c->hb, err) || linear(c, &L->w_up, L->b_up, h, n, c->hb2, err))
        return -1;
    STAT(c, layer, mlp_max, c->hb, n * ffn);
    STAT(c, layer, mlp_max, c->hb2, n * ffn);
    ingot_swiglu(c->hb, c->hb2, (int)(n * ffn));
    STAT(c, layer, mlp_max, c->hb, n * ffn);
    if (inner)
        memcpy(inner, c->hb, n * ffn * sizeof(float));
    if (linear(c, &L->w_down, L->b_down, c->hb, n, out, err))
        return -1;
    STAT(c, layer, mlp_max, out, n * dim);
    return 0;
}

static int mlp_block(ingot_context *c, const ingot_layer *L, int layer, int n, ingot_error *err)
{
    size_t dim = (size_t)c->m->cfg.hidden_size;
    ingot_rmsnorm_rows(c, c->xb, c->x, L->ffn_norm, n);
    if (ingot_mlp_forward(c, L, layer, c->xb, n, c->xb2, NULL, err))
        return -1;
    for (size_t i = 0; i < (size_t)n * dim; i++)
        c->x[i] += c->xb2[i];
    return 0;
}

/* One batch of at most MAX_BATCH tokens. */
static int eval_batch(ingot_context *c, const int32_t *tokens, int n, int pos, float *logits,
                      int all_logits, ingot_error *err)
{
    const ingot_model *m = c->m;
    const ingot_config *cfg = &m->cfg;
    size_t dim = (size_t)cfg->hidden_size;
    for (int t = 0; t < n; t++)
        ingot_wmat_row(&m->embed, tokens[t], c->x + t * dim);
    for (int l = 0; l < cfg->n_layers; l++) {
        if (attention_block(c, &m->layers[l], l, pos, n, err) || mlp_block(c, &m->layers[l], l, n, err))
            return -1;
        STAT(c, l, resid_max, c->x, n * dim);
    }
    if (!logits)
        return 0;
    int first = all_logits ? 0 : n - 1, rows = n - first;
    ingot_rmsnorm_rows(c, c->xb, c->x + (size_t)first * dim, m->out_norm, rows);
    STAT(c, cfg->n_layers, resid_max, c->xb, rows * dim);
    if (linear(c, &m->output, NULL, c->xb, rows, logits, err))
        return -1;
    STAT(c, cfg->n_layers, mlp_max, logits, (size_t)rows * cfg->vocab_size);
    return 0;
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
    for (int done = 0; done < n; done += MAX_BATCH) {
        int k = n - done < MAX_BATCH ? n - done : MAX_BATCH;
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
