/*
 * awq.c - AWQ (Lin et al., 2023) as AutoAWQ's AwqQuantizer implements it,
 * on the CPU runtime, one decoder layer at a time.
 *
 * For layer l, with X the hidden states of all calibration sequences
 * entering it:
 *
 *  1. Statistics pass: run the layer on X with its own weights, recording
 *     the mean |x| of every input channel of each group of linears that
 *     share an input (AutoAWQ's x_mean), the inputs and outputs of the
 *     sequences the loss is scored on, and a strided subsample of inputs for
 *     clipping.  X becomes the layer's output: the next layer's input.
 *     (AutoAWQ also takes the layer's output before applying the scales;
 *     the scaled layer computes the same function, up to f32 rounding.)
 *
 *  2. Scale search, per group (AutoAWQ's get_layers_for_scaling):
 *       attn_norm -> q, k, v      scored on the attention block's output
 *       attn_v    -> o            only when v and o have the same shape
 *       ffn_norm  -> gate, up     scored on the MLP block's output
 *       ffn_up    -> down         scored on down_proj's output
 *     For alpha in {0, 1/20, ..., 19/20}: s = x_mean^alpha clamped at 1e-4,
 *     divided by sqrt(max(s) min(s)); each linear becomes Q(W diag(s))
 *     diag(1/s) (int4 quantize-dequantize, exactly as stored); the loss is
 *     the MSE of the scored output against the unquantized layer's.  The
 *     alpha of least loss wins (the first on ties).  All groups are searched
 *     on the original weights, then all scales are applied: W diag(s) for
 *     the group, 1/s folded into the producer (norm weight, or the rows and
 *     bias of the producing linear).  Biases of the group's own linears add
 *     after the matmul and are not scaled.  This is AutoAWQ with
 *     duo_scaling=False.
 *
 *  3. Clip search, per linear except q and k (AutoAWQ's _search_best_clip):
 *     for each output channel and group of G inputs, max|w| is shrunk by
 *     0, 5, ..., 45 % and the one minimizing the MSE of the group's partial
 *     dot products over <= 512 evenly strided tokens (inputs divided by the
 *     scales) is applied as a clamp.
 *
 * The search's loss is computed on a deterministic subsample of the
 * calibration sequences (every n/S-th, ingot_awq_params.loss_samples), the
 * statistics on all tokens.  Every reduction runs in a fixed order and the
 * matmul threads are capped so that no kernel splits tokens across
 * threads: results do not depend on the number of threads.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "quant/awq.h"
#include "formats/formats.h"
#include "runtime/forward.h"
#include "util/util.h"

#define B INGOT_MAX_BATCH

enum { LQ, LK, LV, LO, LGATE, LUP, LDOWN, N_LIN };
enum { V_ATTN_NORM, V_FFN_NORM, V_BQ, V_BK, V_BV, V_BO, V_BGATE, V_BUP, V_BDOWN, N_VEC };
enum { G_QKV, G_O, G_MLP, G_DOWN, N_GRP };

static const char *const lin_name[N_LIN] = {
    "attn_q.weight", "attn_k.weight", "attn_v.weight",  "attn_output.weight",
    "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight",
};
static const char *const vec_name[N_VEC] = {
    "attn_norm.weight", "ffn_norm.weight", "attn_q.bias",  "attn_k.bias", "attn_v.bias",
    "attn_output.bias", "ffn_gate.bias",   "ffn_up.bias", "ffn_down.bias",
};

/* A group of linears that share an input, and what produces that input. */
static const struct group_def {
    int lin[3], n_lin;
    int prev_vec;  /* norm weight producing the input, or -1 */
    int prev_lin;  /* linear producing the input (its rows take 1/s), or -1 */
    int prev_bias; /* that linear's bias */
} groups[N_GRP] = {
    [G_QKV] = {{LQ, LK, LV}, 3, V_ATTN_NORM, -1, -1},
    [G_O] = {{LO}, 1, -1, LV, V_BV},
    [G_MLP] = {{LGATE, LUP}, 2, V_FFN_NORM, -1, -1},
    [G_DOWN] = {{LDOWN}, 1, -1, LUP, V_BUP},
};

struct ingot_awq {
    ingot_model *m;
    const ingot_config *cfg;
    ingot_context *ctx;
    ingot_awq_params p;
    const int32_t *tokens;        // (n, len)
    int n, len;                   // calibration sequences, tokens each
    int S;                        // sequences the loss is scored on
    int clip_step, n_clip;        // every clip_step-th token is a clip token
    int dim, qd, kvd, ffn;
    int threads; /* matmul threads, capped by deterministic_threads() */
    int layer;                    // the last layer run, -1 before
    float *x;                     // (n*len, dim) hidden states entering the layer
    float *w[N_LIN];              // (rows, cols) working copies of the layer's linears
    int rows[N_LIN], cols[N_LIN];
    float *v[N_VEC];              // norm weights and biases, NULL when absent
    bool lin_changed[N_LIN], vec_changed[N_VEC];
    ingot_layer L;                // bound to w and v
    int width[N_GRP];             // input width of each group
    double *xsum[N_GRP];          // (width) sum of |input| over all tokens
    float *loss_in[N_GRP];        // (S*len, width) inputs of the scored sequences
    float *ref_attn, *ref_mlp;    // (S*len, dim) their block outputs
    float *clip_in[N_GRP];        // (n_clip, width)
    float *scales[N_GRP];         // (width) chosen scales
    float *pq[N_LIN];             // (rows, cols) pseudo-quantized copies
    uint8_t *qparts;              // (max rows*cols) bytes: int4 parts of one matrix, a row per cols bytes
    float *b_h1, *b_attn, *b_inner, *b_h2, *b_mlp, *b_inner2; /* (B, .) batch buffers */
    json_t *report;
    uint64_t cost[N_GRP + 1];     // MACs per token of each group's scored module; [N_GRP]: layer
    uint64_t work_total, work_done;
    double secs[INGOT_AWQ_N_PHASES]; // wall time of each phase, all layers so far
    char stage[32];                  // the progress stage: "layer L/N"
};

/* ------------------------------------------------------------ helpers */

static bool cancelled(const ingot_awq *a)
{
    return a->p.cancel && *a->p.cancel;
}

static void advance(ingot_awq *a, uint64_t units)
{
    a->work_done += units;
    if (a->p.progress)
        a->p.progress(a->p.progress_user, a->stage, a->work_done, a->work_total);
}

/* (n_out, n_in) f32 weights as a wmat */
static ingot_wmat f32_view(const float *w, int n_out, int n_in)
{
    return ingot_wmat_plain(INGOT_DT_F32, n_out, n_in, w);
}

static ingot_wmat *layer_w(ingot_layer *L, int i)
{
    ingot_wmat *w[N_LIN] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    return w[i];
}

static const float **layer_v(ingot_layer *L, int i)
{
    const float **v[N_VEC] = {&L->attn_norm, &L->ffn_norm, &L->bq,     &L->bk,    &L->bv,
                              &L->bo,        &L->b_gate,   &L->b_up, &L->b_down};
    return v[i];
}

static void full_name(char *buf, size_t len, int layer, const char *suffix)
{
    snprintf(buf, len, "blk.%d.%s", layer, suffix);
}

static bool kept(const ingot_awq *a, int layer, const char *suffix)
{
    char name[128];
    full_name(name, sizeof name, layer, suffix);
    return ingot_quantize_kept(a->p.keep, name);
}

static void *xmalloc(size_t n, bool *ok)
{
    void *p = malloc(n ? n : 1);
    *ok &= p != NULL;
    return p;
}

/* y(n, w->n_out) = x W^T + bias */
static int linear(const ingot_awq *a, const ingot_wmat *w, const float *bias, const float *x, int n,
                  float *y, ingot_error *err)
{
    if (ingot_matmul_with(ingot_cpu_kernels_get(), w, x, n, y, a->threads) != 0)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CPU kernel for %s", ingot_dtype_name(w->type));
    for (int t = 0; bias && t < n; t++)
        for (int i = 0; i < w->n_out; i++)
            y[(size_t)t * w->n_out + i] += bias[i];
    return 0;
}

static double sq_err(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return s;
}

/* ------------------------------------------------------------ setup */

static void set_shapes(ingot_awq *a)
{
    const ingot_config *c = a->cfg;
    a->dim = c->hidden_size;
    a->qd = c->n_heads * c->head_dim;
    a->kvd = c->n_kv_heads * c->head_dim;
    a->ffn = c->ffn_size;
    int r[N_LIN] = {a->qd, a->kvd, a->kvd, a->dim, a->ffn, a->ffn, a->dim};
    int k[N_LIN] = {a->dim, a->dim, a->dim, a->qd, a->dim, a->dim, a->ffn};
    memcpy(a->rows, r, sizeof r);
    memcpy(a->cols, k, sizeof k);
    int wd[N_GRP] = {a->dim, a->qd, a->dim, a->ffn};
    memcpy(a->width, wd, sizeof wd);
}

static int vec_len(const ingot_awq *a, int i)
{
    const ingot_config *c = a->cfg;
    switch (i) {
    case V_ATTN_NORM: case V_FFN_NORM: return a->dim;
    case V_BQ: return c->qkv_bias ? a->qd : 0;
    case V_BK: case V_BV: return c->qkv_bias ? a->kvd : 0;
    case V_BO: return c->o_bias ? a->dim : 0;
    case V_BGATE: case V_BUP: return c->mlp_bias ? a->ffn : 0;
    default: return c->mlp_bias ? a->dim : 0;
    }
}

/* Estimated multiply-adds per token, for the progress bar's ETA. */
static void set_costs(ingot_awq *a)
{
    uint64_t dim = (uint64_t)a->dim, attn_ctx = (uint64_t)a->len / 2 * 2 * (uint64_t)a->qd;
    uint64_t attn = dim * (uint64_t)(a->qd + 2 * a->kvd) + (uint64_t)a->qd * dim + attn_ctx;
    uint64_t mlp = 3 * dim * (uint64_t)a->ffn;
    a->cost[G_QKV] = attn;
    a->cost[G_O] = (uint64_t)a->qd * dim;
    a->cost[G_MLP] = mlp;
    a->cost[G_DOWN] = (uint64_t)a->ffn * dim;
    a->cost[N_GRP] = attn + mlp;
    uint64_t per_layer = a->cost[N_GRP] * (uint64_t)a->n * (uint64_t)a->len;
    for (int g = 0; g < N_GRP; g++)
        per_layer += INGOT_AWQ_GRID * a->cost[g] * (uint64_t)a->S * (uint64_t)a->len;
    a->work_total = per_layer * (uint64_t)a->cfg->n_layers;
}

static bool alloc_buffers(ingot_awq *a)
{
    bool ok = true;
    size_t nt = (size_t)a->n * a->len, st = (size_t)a->S * a->len, max_w = 0;
    a->x = xmalloc(nt * a->dim * sizeof(float), &ok);
    for (int i = 0; i < N_LIN; i++) {
        size_t sz = (size_t)a->rows[i] * a->cols[i];
        max_w = sz > max_w ? sz : max_w;
        a->w[i] = xmalloc(sz * sizeof(float), &ok);
        a->pq[i] = xmalloc(sz * sizeof(float), &ok);
    }
    for (int i = 0; i < N_VEC; i++)
        a->v[i] = vec_len(a, i) ? xmalloc((size_t)vec_len(a, i) * sizeof(float), &ok) : NULL;
    for (int g = 0; g < N_GRP; g++) {
        a->xsum[g] = xmalloc((size_t)a->width[g] * sizeof(double), &ok);
        a->loss_in[g] = xmalloc(st * a->width[g] * sizeof(float), &ok);
        a->clip_in[g] = xmalloc((size_t)a->n_clip * a->width[g] * sizeof(float), &ok);
        a->scales[g] = xmalloc((size_t)a->width[g] * sizeof(float), &ok);
    }
    a->ref_attn = xmalloc(st * a->dim * sizeof(float), &ok);
    a->ref_mlp = xmalloc(st * a->dim * sizeof(float), &ok);
    a->qparts = xmalloc(max_w, &ok); /* int4: n/2 codes + n/G (2 + 1) bytes of scales and zeros */
    a->b_h1 = xmalloc((size_t)B * a->dim * sizeof(float), &ok);
    a->b_attn = xmalloc((size_t)B * a->dim * sizeof(float), &ok);
    a->b_inner = xmalloc((size_t)B * a->qd * sizeof(float), &ok);
    a->b_h2 = xmalloc((size_t)B * a->dim * sizeof(float), &ok);
    a->b_mlp = xmalloc((size_t)B * a->dim * sizeof(float), &ok);
    a->b_inner2 = xmalloc((size_t)B * a->ffn * sizeof(float), &ok);
    return ok;
}

/* The threads that keep every result independent of the thread count
 * (ingot_matmul_deterministic_threads over the layer's linears). */
static int deterministic_threads(const ingot_awq *a)
{
    int have = 1;
#ifdef _OPENMP
    have = omp_get_max_threads();
#endif
    return ingot_matmul_deterministic_threads(a->rows, N_LIN, have);
}

static void embed_tokens(ingot_awq *a)
{
    size_t nt = (size_t)a->n * a->len;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < nt; t++)
        ingot_dequantize_ref(&a->m->embed, a->tokens[t], a->tokens[t] + 1, a->x + t * a->dim);
}

ingot_awq *ingot_awq_create(ingot_model *m, const ingot_calib *calib, const ingot_awq_params *p,
                            ingot_error *err)
{
    if (calib->len > m->cfg.max_pos) {
        ingot_fail(err, INGOT_ERR_ARG, "calibration sequences of %d tokens: the model supports %d",
                   calib->len, m->cfg.max_pos);
        return NULL;
    }
    ingot_awq *a = calloc(1, sizeof *a);
    if (!a) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    a->m = m;
    a->cfg = &m->cfg;
    a->p = *p;
    a->tokens = calib->tokens;
    a->n = calib->n;
    a->len = calib->len;
    a->S = p->loss_samples < 1 ? 1 : p->loss_samples > a->n ? a->n : p->loss_samples;
    a->layer = -1;
    snprintf(a->stage, sizeof a->stage, "calibrating");
    size_t nt = (size_t)a->n * a->len;
    a->clip_step = nt / INGOT_AWQ_CLIP_TOKENS > 1 ? (int)(nt / INGOT_AWQ_CLIP_TOKENS) : 1;
    a->n_clip = (int)((nt + (size_t)a->clip_step - 1) / (size_t)a->clip_step);
    set_shapes(a);
    set_costs(a);
    a->report = json_array();
    if (!a->report || !alloc_buffers(a)) {
        ingot_fail(err, INGOT_ERR_NOMEM, "AWQ: out of memory for %d x %d calibration tokens", a->n, a->len);
        ingot_awq_free(a);
        return NULL;
    }
    a->threads = deterministic_threads(a);
    a->ctx = ingot_context_create(m, a->len, a->threads, err);
    if (!a->ctx) {
        ingot_awq_free(a);
        return NULL;
    }
    embed_tokens(a);
    return a;
}

void ingot_awq_free(ingot_awq *a)
{
    if (!a)
        return;
    ingot_context_free(a->ctx);
    free(a->x);
    for (int i = 0; i < N_LIN; i++) {
        free(a->w[i]);
        free(a->pq[i]);
    }
    for (int i = 0; i < N_VEC; i++)
        free(a->v[i]);
    for (int g = 0; g < N_GRP; g++) {
        free(a->xsum[g]);
        free(a->loss_in[g]);
        free(a->clip_in[g]);
        free(a->scales[g]);
    }
    float *bufs[] = {a->ref_attn, a->ref_mlp, a->b_h1, a->b_attn,
                     a->b_inner,  a->b_h2,    a->b_mlp, a->b_inner2};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(bufs); i++)
        free(bufs[i]);
    free(a->qparts);
    json_decref(a->report);
    free(a);
}

/* ------------------------------------------------------------ loading a layer */

static void load_layer(ingot_awq *a, int l)
{
    ingot_layer *src = &a->m->layers[l];
    a->L = *src;
    for (int i = 0; i < N_LIN; i++) {
        const ingot_wmat *sw = layer_w(src, i);
        float *w = a->w[i];
        int cols = a->cols[i];
#pragma omp parallel for schedule(static)
        for (int r = 0; r < a->rows[i]; r++)
            ingot_dequantize_ref(sw, r, r + 1, w + (size_t)r * cols);
        *layer_w(&a->L, i) = f32_view(w, a->rows[i], cols);
        a->lin_changed[i] = false;
    }
    for (int i = 0; i < N_VEC; i++) {
        const float *sv = *layer_v(src, i);
        if (a->v[i] && sv)
            memcpy(a->v[i], sv, (size_t)vec_len(a, i) * sizeof(float));
        *layer_v(&a->L, i) = a->v[i];
        a->vec_changed[i] = false;
    }
}

/* ------------------------------------------------------------ 1. statistics */

static void acc_abs(double *sum, const float *x, int n, int d)
{
    for (int t = 0; t < n; t++)
        for (int i = 0; i < d; i++)
            sum[i] += fabsf(x[(size_t)t * d + i]);
}

static void add_to(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* Keeps the batch's rows that are clip tokens (global token index t0 + j). */
static void keep_clip_rows(ingot_awq *a, const float *const in[N_GRP], size_t t0, int k)
{
    for (int j = 0; j < k; j++) {
        size_t t = t0 + (size_t)j;
        if (t % (size_t)a->clip_step)
            continue;
        for (int g = 0; g < N_GRP; g++)
            memcpy(a->clip_in[g] + t / a->clip_step * a->width[g], in[g] + (size_t)j * a->width[g],
                   (size_t)a->width[g] * sizeof(float));
    }
}

static void keep_loss_rows(ingot_awq *a, const float *const in[N_GRP], size_t r, int k)
{
    for (int g = 0; g < N_GRP; g++)
        memcpy(a->loss_in[g] + r * a->width[g], in[g], (size_t)k * a->width[g] * sizeof(float));
    memcpy(a->ref_attn + r * a->dim, a->b_attn, (size_t)k * a->dim * sizeof(float));
    memcpy(a->ref_mlp + r * a->dim, a->b_mlp, (size_t)k * a->dim * sizeof(float));
}

/*
 * Runs tokens [p0, p0+k) of sequence s through layer l, in place in X.
 * li: the sequence's slot among the scored ones, or -1.
 */
static int stats_batch(ingot_awq *a, int l, int s, int p0, int k, int li, ingot_error *err)
{
    size_t t0 = (size_t)s * a->len + (size_t)p0;
    float *x = a->x + t0 * a->dim;
    ingot_rmsnorm_rows(a->ctx, a->b_h1, x, a->L.attn_norm, k);
    if (ingot_attn_forward(a->ctx, &a->L, l, a->b_h1, k, p0, a->b_attn, a->b_inner, err) != 0)
        return -1;
    add_to(x, a->b_attn, (size_t)k * a->dim);
    ingot_rmsnorm_rows(a->ctx, a->b_h2, x, a->L.ffn_norm, k);
    if (ingot_mlp_forward(a->ctx, &a->L, l, a->b_h2, k, a->b_mlp, a->b_inner2, err) != 0)
        return -1;
    add_to(x, a->b_mlp, (size_t)k * a->dim);
    const float *const in[N_GRP] = {a->b_h1, a->b_inner, a->b_h2, a->b_inner2};
    for (int g = 0; g < N_GRP; g++)
        acc_abs(a->xsum[g], in[g], k, a->width[g]);
    if (li >= 0)
        keep_loss_rows(a, in, (size_t)li * a->len + (size_t)p0, k);
    keep_clip_rows(a, in, t0, k);
    return 0;
}

/* The scored sequences are every (n/S)-th: sequence s is slot i when s = i*n/S. */
static int loss_slot(const ingot_awq *a, int s)
{
    int i = (int)(((int64_t)s * a->S + a->n - 1) / a->n);
    return i < a->S && (int64_t)i * a->n / a->S == s ? i : -1;
}

static int stats_pass(ingot_awq *a, int l, ingot_error *err)
{
    for (int g = 0; g < N_GRP; g++)
        memset(a->xsum[g], 0, (size_t)a->width[g] * sizeof(double));
    for (int s = 0; s < a->n; s++) {
        if (cancelled(a))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        for (int p0 = 0; p0 < a->len; p0 += B)
            if (stats_batch(a, l, s, p0, a->len - p0 < B ? a->len - p0 : B, loss_slot(a, s), err))
                return -1;
        advance(a, a->cost[N_GRP] * (uint64_t)a->len);
    }
    size_t nt = (size_t)a->n * a->len * a->dim;
    for (size_t i = 0; i < nt; i++)
        if (!isfinite(a->x[i]))
            return ingot_fail(err, INGOT_ERR_NONFINITE,
                              "blk.%d: calibration activations overflow (NaN or Inf)", l);
    return 0;
}

/* ------------------------------------------------------------ pseudo-quantization */

/*
 * out = Q(W diag(s)) diag(1/s) for linear i of layer l, where Q is int4
 * quantize-dequantize exactly as stored (ingot_q4_quantize_row, then its
 * dequantizer), one row at a time so that the row stays in cache.
 */
static int fake_q4_scaled(ingot_awq *a, int l, int i, const float *s, float *out, ingot_error *err)
{
    int rows = a->rows[i], cols = a->cols[i], G = a->p.group_size, bad = 0;
    const float *w = a->w[i]; // (rows, cols)
#pragma omp parallel for schedule(static) reduction(| : bad)
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * cols;          // (cols)
        uint8_t *qs = a->qparts + (size_t)r * cols; // (cols/2 codes, cols/G scales and zeros)
        uint16_t *scales = (uint16_t *)(void *)(qs + cols / 2);
        uint8_t *zeros = (uint8_t *)(scales + cols / G);
        for (int c = 0; c < cols; c++) {
            o[c] = w[(size_t)r * cols + c] * s[c];
            bad |= !isfinite(o[c]);
        }
        (a->p.mse_scales ? ingot_q4_quantize_row_mse : ingot_q4_quantize_row)(o, cols, G, qs, scales, zeros);
        ingot_wmat q = ingot_q4_row_view(qs, scales, zeros, cols, G);
        ingot_q4_dequantize_row(&q, 0, 0, cols, o);
        for (int c = 0; c < cols; c++)
            o[c] /= s[c];
    }
    if (bad)
        return ingot_fail(err, INGOT_ERR_NONFINITE, "blk.%d.%s: AWQ scaling overflows", l, lin_name[i]);
    return 0;
}

/* ------------------------------------------------------------ 2. scale search */

/* AutoAWQ: s = x_mean^alpha clamped at 1e-4, over sqrt(max * min); Inf/NaN -> 1. */
static void make_scales(const ingot_awq *a, int g, double alpha, float *s)
{
    int d = a->width[g];
    double ntok = (double)a->n * a->len;
    float mx = 0, mn = INFINITY;
    for (int i = 0; i < d; i++) {
        float xm = (float)(a->xsum[g][i] / ntok);
        s[i] = fmaxf(powf(xm, (float)alpha), 1e-4f);
        mx = fmaxf(mx, s[i]);
        mn = fminf(mn, s[i]);
    }
    float norm = sqrtf(mx * mn);
    for (int i = 0; i < d; i++) {
        s[i] /= norm;
        if (!isfinite(s[i]) || s[i] <= 0)
            s[i] = 1;
    }
}

/* Output of group g's scored module on batch rows [r, r+k) of the loss inputs. */
static int scored_output(ingot_awq *a, const ingot_layer *T, int l, int g, size_t r, int p0, int k,
                         float *out, ingot_error *err)
{
    const float *in = a->loss_in[g] + r * a->width[g];
    switch (g) {
    case G_QKV: return ingot_attn_forward(a->ctx, T, l, in, k, p0, out, NULL, err);
    case G_O: return linear(a, &T->wo, T->bo, in, k, out, err);
    case G_MLP: return ingot_mlp_forward(a->ctx, T, l, in, k, out, NULL, err);
    default: return linear(a, &T->w_down, T->b_down, in, k, out, err);
    }
}

/* MSE of group g's scored output with the weights in T against the reference. */
static int group_loss(ingot_awq *a, const ingot_layer *T, int l, int g, double *loss, ingot_error *err)
{
    const float *ref = g == G_QKV || g == G_O ? a->ref_attn : a->ref_mlp;
    double sum = 0;
    for (int i = 0; i < a->S; i++) {
        if (cancelled(a))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        for (int p0 = 0; p0 < a->len; p0 += B) {
            int k = a->len - p0 < B ? a->len - p0 : B;
            size_t r = (size_t)i * a->len + (size_t)p0;
            if (scored_output(a, T, l, g, r, p0, k, a->b_attn, err) != 0)
                return -1;
            sum += sq_err(a->b_attn, ref + r * a->dim, (size_t)k * a->dim);
        }
        advance(a, a->cost[g] * (uint64_t)a->len);
    }
    *loss = sum / ((double)a->S * a->len * a->dim);
    return 0;
}

static json_t *group_json(int l, int g)
{
    const struct group_def *gd = &groups[g];
    char name[128];
    json_t *lins = json_array();
    for (int j = 0; j < gd->n_lin; j++) {
        full_name(name, sizeof name, l, lin_name[gd->lin[j]]);
        json_array_append_new(lins, json_string(name));
    }
    full_name(name, sizeof name, l, gd->prev_vec >= 0 ? vec_name[gd->prev_vec] : lin_name[gd->prev_lin]);
    return json_pack("{s:s,s:o}", "prev", name, "linears", lins);
}

/* @return a reason to leave group g of layer l unscaled, or NULL. */
static const char *skip_reason(const ingot_awq *a, int l, int g)
{
    const struct group_def *gd = &groups[g];
    if (g == G_O && (a->rows[LV] != a->rows[LO] || a->cols[LV] != a->cols[LO]))
        return "v and o shapes differ (grouped-query attention)";
    if (gd->prev_vec >= 0 && kept(a, l, vec_name[gd->prev_vec]))
        return "kept";
    if (gd->prev_lin >= 0 && (kept(a, l, lin_name[gd->prev_lin]) ||
                              (a->v[gd->prev_bias] && kept(a, l, vec_name[gd->prev_bias]))))
        return "kept";
    for (int j = 0; j < gd->n_lin; j++)
        if (kept(a, l, lin_name[gd->lin[j]]))
            return "kept";
    return NULL;
}

/* Searches group g's alpha; leaves the best scales in a->scales[g]. */
static int search_group(ingot_awq *a, int l, int g, json_t *rec, ingot_error *err)
{
    const struct group_def *gd = &groups[g];
    float *s = a->scales[g], *cand = malloc((size_t)a->width[g] * sizeof(float));
    if (!cand)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    ingot_layer T = a->L;
    double best = INFINITY, rtn = NAN;
    int best_i = -1;
    for (int i = 0; i < INGOT_AWQ_GRID; i++) {
        make_scales(a, g, (double)i / INGOT_AWQ_GRID, cand);
        double loss = 0;
        int rc = 0;
        for (int j = 0; rc == 0 && j < gd->n_lin; j++) {
            int li = gd->lin[j];
            rc = fake_q4_scaled(a, l, li, cand, a->pq[li], err);
            *layer_w(&T, li) = f32_view(a->pq[li], a->rows[li], a->cols[li]);
        }
        if (rc == 0)
            rc = group_loss(a, &T, l, g, &loss, err);
        if (rc != 0) {
            free(cand);
            return -1;
        }
        rtn = i == 0 ? loss : rtn;
        if (loss < best) {
            best = loss;
            best_i = i;
            memcpy(s, cand, (size_t)a->width[g] * sizeof(float));
        }
    }
    free(cand);
    if (best_i < 0)
        return ingot_fail(err, INGOT_ERR_NONFINITE, "blk.%d: AWQ scale search: no finite loss", l);
    json_object_set_new(rec, "alpha", json_real((double)best_i / INGOT_AWQ_GRID));
    json_object_set_new(rec, "mse", json_real(best));
    json_object_set_new(rec, "mse_alpha0", json_real(rtn));
    return 0;
}

/* Folds scales s of group g: W diag(s) for its linears, 1/s into the producer. */
static void apply_scales(ingot_awq *a, int g, const float *s)
{
    const struct group_def *gd = &groups[g];
    int d = a->width[g];
    if (gd->prev_vec >= 0) {
        for (int i = 0; i < d; i++)
            a->v[gd->prev_vec][i] /= s[i];
        a->vec_changed[gd->prev_vec] = true;
    } else {
        float *w = a->w[gd->prev_lin]; // (d, cols): its output rows feed the group
        int cols = a->cols[gd->prev_lin];
        for (int r = 0; r < d; r++)
            for (int c = 0; c < cols; c++)
                w[(size_t)r * cols + c] /= s[r];
        a->lin_changed[gd->prev_lin] = true;
        if (a->v[gd->prev_bias]) {
            for (int r = 0; r < d; r++)
                a->v[gd->prev_bias][r] /= s[r];
            a->vec_changed[gd->prev_bias] = true;
        }
    }
    for (int j = 0; j < gd->n_lin; j++) {
        int li = gd->lin[j], cols = a->cols[li];
        for (int r = 0; r < a->rows[li]; r++)
            for (int c = 0; c < cols; c++)
                a->w[li][(size_t)r * cols + c] *= s[c];
        a->lin_changed[li] = true;
    }
    for (int t = 0; t < a->n_clip; t++) /* the clip search sees the scaled inputs */
        for (int c = 0; c < d; c++)
            a->clip_in[g][(size_t)t * d + c] /= s[c];
}

static int scale_layer(ingot_awq *a, int l, json_t *layer_rec, ingot_error *err)
{
    json_t *arr = json_array();
    json_object_set_new(layer_rec, "scales", arr);
    bool searched[N_GRP] = {false};
    for (int g = 0; g < N_GRP; g++) {
        json_t *rec = group_json(l, g);
        json_array_append_new(arr, rec);
        const char *why = skip_reason(a, l, g);
        if (why) {
            json_object_set_new(rec, "alpha", json_null());
            json_object_set_new(rec, "skipped", json_string(why));
            advance(a, INGOT_AWQ_GRID * a->cost[g] * (uint64_t)a->S * (uint64_t)a->len);
            continue;
        }
        if (search_group(a, l, g, rec, err) != 0)
            return -1;
        searched[g] = true;
    }
    for (int g = 0; g < N_GRP; g++) /* all searched on the original weights, then applied */
        if (searched[g])
            apply_scales(a, g, a->scales[g]);
    return 0;
}

/* ------------------------------------------------------------ 3. clip search */

/* dst(rows, n) = columns [c0, c0+n) of src(rows, cols) */
static void copy_cols(const float *src, int rows, int cols, int c0, int n, float *dst)
{
    for (int r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * n, src + (size_t)r * cols + c0, (size_t)n * sizeof(float));
}

/* w(G) clamped to [-mx, mx], then int4 quantize-dequantized as one group into out(G). */
static void clamp_fake_q4(const float *w, int G, float mx, bool mse, float *out, uint8_t *qs)
{
    for (int k = 0; k < G; k++)
        out[k] = fminf(fmaxf(w[k], -mx), mx);
    uint16_t scale;
    uint8_t zero;
    (mse ? ingot_q4_quantize_row_mse : ingot_q4_quantize_row)(out, G, G, qs, &scale, &zero);
    ingot_wmat q = ingot_q4_row_view(qs, &scale, &zero, G, G);
    ingot_q4_dequantize_row(&q, 0, 0, G, out);
}

struct clip_buf {
    float *xg;    // (n_clip, G)
    float *wg;    // (rows, G)
    float *qg;    // (rows, G)
    float *org;   // (n_clip, rows)
    float *out;   // (n_clip, rows)
    float *amax;  // (rows)
    double *best; // (rows)
    int *step;    // (rows)
    uint8_t *qs;  // (rows, G/2) int4 codes
};

static float shrink(float amax, int step)
{
    return amax * (1.0f - (float)step / INGOT_AWQ_GRID);
}

/* One group of G input columns of linear i: the best shrink step of each row. */
static int clip_group(ingot_awq *a, int i, int g, int j, struct clip_buf *cb, ingot_error *err)
{
    int rows = a->rows[i], cols = a->cols[i], G = a->p.group_size, nc = a->n_clip;
    copy_cols(a->clip_in[g], nc, cols, j * G, G, cb->xg);
    copy_cols(a->w[i], rows, cols, j * G, G, cb->wg);
    ingot_wmat wm = f32_view(cb->wg, rows, G), qm = f32_view(cb->qg, rows, G);
    if (linear(a, &wm, NULL, cb->xg, nc, cb->org, err) != 0)
        return -1;
    for (int r = 0; r < rows; r++) {
        float m = 0;
        for (int k = 0; k < G; k++)
            m = fmaxf(m, fabsf(cb->wg[(size_t)r * G + k]));
        cb->amax[r] = m;
        cb->best[r] = INFINITY;
        cb->step[r] = 0;
    }
    for (int st = 0; st < INGOT_AWQ_CLIP_STEPS; st++) {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++)
            clamp_fake_q4(cb->wg + (size_t)r * G, G, shrink(cb->amax[r], st), a->p.mse_scales, cb->qg + (size_t)r * G,
                          cb->qs + (size_t)r * (G / 2));
        if (linear(a, &qm, NULL, cb->xg, nc, cb->out, err) != 0)
            return -1;
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            double e = 0;
            for (int t = 0; t < nc; t++) {
                double d = (double)cb->out[(size_t)t * rows + r] - cb->org[(size_t)t * rows + r];
                e += d * d;
            }
            e /= nc;
            if (e < cb->best[r]) {
                cb->best[r] = e;
                cb->step[r] = st;
            }
        }
    }
    return 0;
}

static bool clip_buf_alloc(struct clip_buf *cb, int rows, int G, int nc)
{
    bool ok = true;
    cb->xg = xmalloc((size_t)nc * G * sizeof(float), &ok);
    cb->wg = xmalloc((size_t)rows * G * sizeof(float), &ok);
    cb->qg = xmalloc((size_t)rows * G * sizeof(float), &ok);
    cb->org = xmalloc((size_t)nc * rows * sizeof(float), &ok);
    cb->out = xmalloc((size_t)nc * rows * sizeof(float), &ok);
    cb->amax = xmalloc((size_t)rows * sizeof(float), &ok);
    cb->best = xmalloc((size_t)rows * sizeof(double), &ok);
    cb->step = xmalloc((size_t)rows * sizeof(int), &ok);
    cb->qs = xmalloc((size_t)rows * (G / 2), &ok);
    return ok;
}

static void clip_buf_free(struct clip_buf *cb)
{
    void *p[] = {cb->xg, cb->wg, cb->qg, cb->org, cb->out, cb->amax, cb->best, cb->step, cb->qs};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(p); i++)
        free(p[i]);
}

/* Clips linear i (input group g) in place; records how many pairs took each step. */
static int clip_linear(ingot_awq *a, int l, int i, int g, json_t *rec, ingot_error *err)
{
    int rows = a->rows[i], cols = a->cols[i], G = a->p.group_size;
    struct clip_buf cb;
    int rc = clip_buf_alloc(&cb, rows, G, a->n_clip) ? 0 : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    json_int_t counts[INGOT_AWQ_CLIP_STEPS] = {0};
    for (int j = 0; rc == 0 && j < cols / G; j++) {
        rc = clip_group(a, i, g, j, &cb, err);
        for (int r = 0; rc == 0 && r < rows; r++) {
            float mx = shrink(cb.amax[r], cb.step[r]);
            float *w = a->w[i] + (size_t)r * cols + (size_t)j * G; // (G): row r, group j
            for (int k = 0; k < G; k++)
                w[k] = fminf(fmaxf(w[k], -mx), mx);
            counts[cb.step[r]]++;
        }
    }
    clip_buf_free(&cb);
    if (rc != 0)
        return -1;
    a->lin_changed[i] = true;
    json_t *arr = json_array();
    for (int st = 0; st < INGOT_AWQ_CLIP_STEPS; st++)
        json_array_append_new(arr, json_integer(counts[st]));
    char name[128];
    full_name(name, sizeof name, l, lin_name[i]);
    json_object_set_new(rec, name, arr);
    return 0;
}

/* AutoAWQ avoids q and k: their products go through q k^T, not a plain sum. */
static int clip_layer(ingot_awq *a, int l, json_t *layer_rec, ingot_error *err)
{
    static const int lin_group[N_LIN] = {G_QKV, G_QKV, G_QKV, G_O, G_MLP, G_MLP, G_DOWN};
    json_t *rec = json_object();
    json_object_set_new(layer_rec, "clip", rec);
    for (int i = LV; i < N_LIN; i++) {
        if (cancelled(a))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        if (!kept(a, l, lin_name[i]) && clip_linear(a, l, i, lin_group[i], rec, err) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ driver */

int ingot_awq_layer(ingot_awq *a, int l, ingot_error *err)
{
    if (l != a->layer + 1 || l >= a->cfg->n_layers)
        return ingot_fail(err, INGOT_ERR_ARG, "AWQ: layer %d out of order", l);
    a->layer = l;
    snprintf(a->stage, sizeof a->stage, "layer %d/%d", l + 1, a->cfg->n_layers);
    load_layer(a, l);
    json_t *rec = json_pack("{s:i}", "layer", l);
    json_array_append_new(a->report, rec);
    double t[INGOT_AWQ_N_PHASES + 1]; /* the phases' times stay out of the report: artifacts are reproducible */
    t[0] = ingot_now();
    if (stats_pass(a, l, err) != 0)
        return -1;
    t[1] = ingot_now();
    if (scale_layer(a, l, rec, err) != 0)
        return -1;
    t[2] = ingot_now();
    if (clip_layer(a, l, rec, err) != 0)
        return -1;
    t[3] = ingot_now();
    for (int i = 0; i < INGOT_AWQ_N_PHASES; i++)
        a->secs[i] += t[i + 1] - t[i];
    for (int i = 0; i < N_LIN; i++) /* scales are finite, but the product might not be */
        for (size_t k = 0; a->lin_changed[i] && k < (size_t)a->rows[i] * a->cols[i]; k++)
            if (!isfinite(a->w[i][k]))
                return ingot_fail(err, INGOT_ERR_NONFINITE, "blk.%d.%s: AWQ scaling overflows", l,
                                  lin_name[i]);
    return 0;
}

const float *ingot_awq_tensor(const ingot_awq *a, const char *name)
{
    int l = -1, off = 0;
    if (a->layer < 0 || sscanf(name, "blk.%d.%n", &l, &off) != 1 || off == 0 || l != a->layer)
        return NULL;
    const char *suffix = name + off;
    for (int i = 0; i < N_LIN; i++)
        if (!strcmp(suffix, lin_name[i]))
            return a->lin_changed[i] ? a->w[i] : NULL;
    for (int i = 0; i < N_VEC; i++)
        if (!strcmp(suffix, vec_name[i]))
            return a->vec_changed[i] ? a->v[i] : NULL;
    return NULL;
}

const json_t *ingot_awq_report(const ingot_awq *a)
{
    return a->report;
}

uint64_t ingot_awq_work(const ingot_awq *a)
{
    return a->work_total;
}

const char *const ingot_awq_phase_name[INGOT_AWQ_N_PHASES] = {"statistics", "scale_search", "clip_search"};

double ingot_awq_seconds(const ingot_awq *a, int phase)
{
    return phase >= 0 && phase < INGOT_AWQ_N_PHASES ? a->secs[phase] : 0;
}

int ingot_awq_loss_samples(const ingot_awq *a)
{
    return a->S;
}
