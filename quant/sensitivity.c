/*
 * sensitivity.c - the cost of quantizing one weight matrix, as the KL
 * divergence it causes in the model's next-token distributions on
 * calibration text.
 *
 * ingot_sens_create runs the model once on the calibration sequences with
 * its weights as stored and keeps:
 *   - X[l], the hidden states entering layer l (X[0] the embeddings, X[N]
 *     the last layer's output), for every token;
 *   - the reference log-probabilities at the scored positions (every
 *     stride-th token, the stride chosen so that they fit in
 *     INGOT_SENS_REF_BYTES).
 * ingot_sens_kld then replaces one tensor and runs only what follows it:
 * a linear of layer l restarts from X[l], the head from X[N], the embedding
 * from the tokens.  Each measurement perturbs one tensor alone; the
 * allocator (quant/bitalloc.c) adds them up, which holds for the small
 * perturbations quantization makes (docs/QUALITY.md checks it).
 *
 * Layers run one at a time over all sequences, as AWQ does (quant/awq.c):
 * a sequence's batches in order, so that the layer's KV cache holds the
 * sequence so far.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/sensitivity.h"
#include "runtime/forward.h"
#include "util/util.h"

#define B INGOT_MAX_BATCH
#define HEAD_ROWS 64 /* scored positions per head matmul */

struct ingot_sens {
    ingot_model *m;
    const ingot_calib *calib;
    ingot_context *ctx;
    int threads;
    int dim, vocab, n_layers;
    size_t n_tok;        /* calib->n * calib->len */
    int stride, n_sc;    /* every stride-th token is scored; n_sc of them */
    float *X;            // (n_layers + 1, n_tok, dim)
    float *ref;          // (n_sc, vocab): log-probabilities with the stored weights
    float *x;            // (n_tok, dim): the hidden states of a rerun
    float *h, *o;        // (B, dim) scratch
    float *hs;           // (HEAD_ROWS, dim) normed scored rows
    float *logits;       // (HEAD_ROWS, vocab)
    float *inner;        // (B, max(nh*hd, ffn)): o_proj's or down_proj's input
    /* mean x^2 of every input channel of every linear, over all tokens (the
     * weights of ingot_sens_weighted_err): per layer q/k/v, o, gate/up,
     * down; then the head's input; and how often each token id occurs */
    double *h2;          // (n_layers, 2 * dim + nh*hd + ffn), then (dim)
    double *tok_count;   // (vocab)
    int h2_stride;
};

static const char *const lin_suffix[] = {"attn_q.weight", "attn_k.weight", "attn_v.weight",
                                         "attn_output.weight", "ffn_gate.weight", "ffn_up.weight",
                                         "ffn_down.weight"};

static ingot_wmat *layer_w(ingot_layer *L, int i)
{
    ingot_wmat *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    return w[i];
}

static float *layer_x(const ingot_sens *s, int l)
{
    return s->X + (size_t)l * s->n_tok * (size_t)s->dim;
}

static void embed(const ingot_sens *s, const ingot_wmat *e, float *x)
{
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < s->n_tok; t++)
        ingot_dequantize_ref(e, s->calib->tokens[t], s->calib->tokens[t] + 1, x + t * (size_t)s->dim);
}

static void add_to(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* Adds the squares of rows x (n, d) to acc (d). */
static void acc_sq(double *acc, const float *x, int n, int d)
{
    for (int t = 0; t < n; t++)
        for (int k = 0; k < d; k++)
            acc[k] += (double)x[(size_t)t * d + k] * x[(size_t)t * d + k];
}

/* Layer l with weights L over every sequence: x (n_tok, dim) in place.
 * h2: NULL, or layer l's input moments to accumulate (the reference pass). */
static int run_layer_h2(ingot_sens *s, const ingot_layer *L, int l, float *x, double *h2, ingot_error *err)
{
    const ingot_config *c = &s->m->cfg;
    const int qd = c->n_heads * c->head_dim;
    const int len = s->calib->len;
    for (int q = 0; q < s->calib->n; q++)
        for (int p0 = 0; p0 < len; p0 += B) {
            int k = len - p0 < B ? len - p0 : B;
            float *xs = x + ((size_t)q * len + (size_t)p0) * (size_t)s->dim;
            size_t n = (size_t)k * (size_t)s->dim;
            ingot_rmsnorm_rows(s->ctx, s->h, xs, L->attn_norm, k);
            if (ingot_attn_forward(s->ctx, L, l, s->h, k, p0, s->o, h2 ? s->inner : NULL, err) != 0)
                return -1;
            if (h2) {
                acc_sq(h2, s->h, k, s->dim);
                acc_sq(h2 + s->dim, s->inner, k, qd);
            }
            add_to(xs, s->o, n);
            ingot_rmsnorm_rows(s->ctx, s->h, xs, L->ffn_norm, k);
            if (ingot_mlp_forward(s->ctx, L, l, s->h, k, s->o, h2 ? s->inner : NULL, err) != 0)
                return -1;
            if (h2) {
                acc_sq(h2 + s->dim + qd, s->h, k, s->dim);
                acc_sq(h2 + 2 * s->dim + qd, s->inner, k, c->ffn_size);
            }
            add_to(xs, s->o, n);
        }
    return 0;
}

static int run_layer(ingot_sens *s, const ingot_layer *L, int l, float *x, ingot_error *err)
{
    return run_layer_h2(s, L, l, x, NULL, err);
}

/* log-softmax of each of n rows of z (n, v), in place. */
static void log_softmax_rows(float *z, int n, int v)
{
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++) {
        float *row = z + (size_t)r * (size_t)v;
        float mx = row[0];
        for (int i = 1; i < v; i++)
            mx = row[i] > mx ? row[i] : mx;
        double sum = 0;
        for (int i = 0; i < v; i++)
            sum += exp((double)row[i] - mx);
        float lse = mx + (float)log(sum);
        for (int i = 0; i < v; i++)
            row[i] -= lse;
    }
}

/* Log-probabilities of scored rows [r0, r0+n) of the final hidden states x, through head. */
static int head_rows(ingot_sens *s, const float *x, const ingot_wmat *head, int r0, int n,
                     ingot_error *err)
{
    for (int r = 0; r < n; r++)
        memcpy(s->hs + (size_t)r * s->dim, x + (size_t)(r0 + r) * s->stride * s->dim,
               (size_t)s->dim * sizeof(float));
    ingot_rmsnorm_rows(s->ctx, s->hs, s->hs, s->m->out_norm, n);
    if (ingot_matmul_with(ingot_cpu_kernels_get(), head, s->hs, n, s->logits, s->threads) != 0)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "no CPU kernel for %s", ingot_dtype_name(head->type));
    log_softmax_rows(s->logits, n, s->vocab);
    return 0;
}

/* Mean KL(ref || head(x)) over the scored positions. */
static int divergence(ingot_sens *s, const float *x, const ingot_wmat *head, double *kld, ingot_error *err)
{
    double total = 0;
    for (int r0 = 0; r0 < s->n_sc; r0 += HEAD_ROWS) {
        int n = s->n_sc - r0 < HEAD_ROWS ? s->n_sc - r0 : HEAD_ROWS;
        if (head_rows(s, x, head, r0, n, err) != 0)
            return -1;
        double d[HEAD_ROWS];
#pragma omp parallel for schedule(static)
        for (int r = 0; r < n; r++) {
            const float *p = s->ref + (size_t)(r0 + r) * s->vocab, *q = s->logits + (size_t)r * s->vocab;
            double acc = 0;
            for (int i = 0; i < s->vocab; i++)
                acc += exp((double)p[i]) * ((double)p[i] - (double)q[i]);
            d[r] = acc;
        }
        for (int r = 0; r < n; r++) /* in order: the same sum whatever the threads */
            total += d[r];
    }
    *kld = total / s->n_sc;
    if (!isfinite(*kld))
        return ingot_fail(err, INGOT_ERR_NONFINITE, "sensitivity: the divergence is not finite");
    return 0;
}

/* The threads that keep every divergence, so every choice, independent of
 * the thread count (ingot_matmul_deterministic_threads). */
static int deterministic_threads(const ingot_config *c, int want)
{
    int rows[] = {c->n_heads * c->head_dim, c->n_kv_heads * c->head_dim, c->hidden_size, c->ffn_size,
                  c->vocab_size};
    return ingot_matmul_deterministic_threads(rows, (int)INGOT_ARRAY_LEN(rows), want);
}

static bool alloc_all(ingot_sens *s)
{
    size_t xd = s->n_tok * (size_t)s->dim;
    s->X = malloc((size_t)(s->n_layers + 1) * xd * sizeof(float));
    s->ref = malloc((size_t)s->n_sc * s->vocab * sizeof(float));
    s->x = malloc(xd * sizeof(float));
    s->h = malloc((size_t)B * s->dim * sizeof(float));
    s->o = malloc((size_t)B * s->dim * sizeof(float));
    s->hs = malloc((size_t)HEAD_ROWS * s->dim * sizeof(float));
    s->logits = malloc((size_t)HEAD_ROWS * s->vocab * sizeof(float));
    const ingot_config *c = &s->m->cfg;
    int qd = c->n_heads * c->head_dim, wide = qd > c->ffn_size ? qd : c->ffn_size;
    s->h2_stride = 2 * s->dim + qd + c->ffn_size;
    s->inner = malloc((size_t)B * wide * sizeof(float));
    s->h2 = calloc((size_t)s->n_layers * s->h2_stride + s->dim, sizeof(double));
    s->tok_count = calloc((size_t)s->vocab, sizeof(double));
    return s->X && s->ref && s->x && s->h && s->o && s->hs && s->logits && s->inner && s->h2 && s->tok_count;
}

/* The reference pass: X[0..N] and the reference log-probabilities. */
static int reference(ingot_sens *s, ingot_error *err)
{
    embed(s, &s->m->embed, layer_x(s, 0));
    for (size_t t = 0; t < s->n_tok; t++) /* calib tokens are ids of the vocabulary */
        s->tok_count[s->calib->tokens[t]] += 1;
    for (int l = 0; l < s->n_layers; l++) {
        memcpy(layer_x(s, l + 1), layer_x(s, l), s->n_tok * (size_t)s->dim * sizeof(float));
        if (run_layer_h2(s, &s->m->layers[l], l, layer_x(s, l + 1), s->h2 + (size_t)l * s->h2_stride,
                         err) != 0)
            return -1;
    }
    double *hh = s->h2 + (size_t)s->n_layers * s->h2_stride; /* the head's input: the normed output */
    for (size_t t0 = 0; t0 < s->n_tok; t0 += B) {
        int k = s->n_tok - t0 < B ? (int)(s->n_tok - t0) : B;
        ingot_rmsnorm_rows(s->ctx, s->h, layer_x(s, s->n_layers) + t0 * s->dim, s->m->out_norm, k);
        acc_sq(hh, s->h, k, s->dim);
    }
    size_t nh = (size_t)s->n_layers * s->h2_stride + s->dim;
    for (size_t i = 0; i < nh; i++)
        s->h2[i] /= (double)s->n_tok;
    for (int r0 = 0; r0 < s->n_sc; r0 += HEAD_ROWS) {
        int n = s->n_sc - r0 < HEAD_ROWS ? s->n_sc - r0 : HEAD_ROWS;
        if (head_rows(s, layer_x(s, s->n_layers), &s->m->output, r0, n, err) != 0)
            return -1;
        memcpy(s->ref + (size_t)r0 * s->vocab, s->logits, (size_t)n * s->vocab * sizeof(float));
    }
    return 0;
}

ingot_sens *ingot_sens_create(ingot_model *m, const ingot_calib *calib, int n_threads, ingot_error *err)
{
    ingot_sens *s = calloc(1, sizeof *s);
    if (!s) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->m = m;
    s->calib = calib;
    s->dim = m->cfg.hidden_size;
    s->vocab = m->cfg.vocab_size;
    s->n_layers = m->cfg.n_layers;
    s->n_tok = (size_t)calib->n * (size_t)calib->len;
    size_t row = (size_t)s->vocab * sizeof(float), fit = INGOT_SENS_REF_BYTES / row;
    fit = fit < 1 ? 1 : fit;
    s->stride = (int)((s->n_tok + fit - 1) / fit);
    s->n_sc = (int)((s->n_tok + (size_t)s->stride - 1) / (size_t)s->stride);
    s->threads = deterministic_threads(&m->cfg, n_threads);
    if (!alloc_all(s)) {
        ingot_fail(err, INGOT_ERR_NOMEM, "sensitivity: out of memory for %d x %d calibration tokens",
                   calib->n, calib->len);
        ingot_sens_free(s);
        return NULL;
    }
    s->ctx = ingot_context_create(m, calib->len, n_threads, err);
    if (!s->ctx || reference(s, err) != 0) {
        ingot_sens_free(s);
        return NULL;
    }
    return s;
}

void ingot_sens_free(ingot_sens *s)
{
    if (!s)
        return;
    ingot_context_free(s->ctx);
    free(s->X);
    free(s->ref);
    free(s->x);
    free(s->h);
    free(s->o);
    free(s->hs);
    free(s->logits);
    free(s->inner);
    free(s->h2);
    free(s->tok_count);
    free(s);
}

int ingot_sens_scored(const ingot_sens *s)
{
    return s->n_sc;
}

/* Layers l0.. from X[l0], layer l0's linear i (-1: none) replaced by w. */
static int rerun(ingot_sens *s, int l0, int i, const ingot_wmat *w, ingot_error *err)
{
    memcpy(s->x, layer_x(s, l0), s->n_tok * (size_t)s->dim * sizeof(float));
    for (int l = l0; l < s->n_layers; l++) {
        ingot_layer L = s->m->layers[l];
        if (l == l0 && i >= 0)
            *layer_w(&L, i) = *w;
        if (run_layer(s, &L, l, s->x, err) != 0)
            return -1;
    }
    return 0;
}

/* Layer and linear index of "blk.L.<linear>": @return 0, or -1 for any other name. */
static int linear_of(const ingot_sens *s, const char *name, int *layer, int *lin)
{
    int l, at = 0;
    if (sscanf(name, "blk.%d.%n", &l, &at) != 1 || at == 0 || l < 0 || l >= s->n_layers)
        return -1;
    for (int i = 0; i < (int)INGOT_ARRAY_LEN(lin_suffix); i++)
        if (!strcmp(name + at, lin_suffix[i])) {
            *layer = l;
            *lin = i;
            return 0;
        }
    return -1;
}

/* Which input moments weigh tensor name's errors: *h (its n_in) and the kind; -1 if none. */
static int weights_of(const ingot_sens *s, const char *name, const double **h)
{
    const ingot_config *c = &s->m->cfg;
    const int qd = c->n_heads * c->head_dim;
    if (!strcmp(name, "output.weight")) {
        *h = s->h2 + (size_t)s->n_layers * s->h2_stride;
        return 0;
    }
    if (!strcmp(name, "token_embd.weight")) {
        *h = NULL; /* rows weighed by how often each token occurs */
        return 0;
    }
    int l, i;
    if (linear_of(s, name, &l, &i) != 0)
        return -1;
    const size_t off[] = {0, 0, 0, (size_t)s->dim, (size_t)(s->dim + qd), (size_t)(s->dim + qd),
                          (size_t)(2 * s->dim + qd)};
    *h = s->h2 + (size_t)l * s->h2_stride + off[i];
    return 0;
}

int ingot_sens_weighted_err(const ingot_sens *s, const char *name, const float *w, const ingot_wmat *q,
                            double *e, ingot_error *err)
{
    const double *h;
    if (weights_of(s, name, &h) != 0)
        return ingot_fail(err, INGOT_ERR_ARG, "sensitivity: %s is not a weight matrix of the model", name);
    const int n_out = q->n_out, n_in = q->n_in;
    double *row_e = calloc((size_t)n_out, sizeof *row_e);
    if (!row_e)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", name);
    bool ok = true;
#pragma omp parallel
    {
        float *row = malloc((size_t)n_in * sizeof *row);
        if (!row) {
#pragma omp atomic write
            ok = false;
        }
#pragma omp for schedule(static)
        for (int o = 0; o < n_out; o++) {
            if (!row || (!h && s->tok_count[o] == 0))
                continue;
            ingot_dequantize_ref(q, o, o + 1, row);
            double acc = 0;
            for (int k = 0; k < n_in; k++) {
                double d = (double)row[k] - w[(size_t)o * n_in + k];
                acc += d * d * (h ? h[k] : 1.0);
            }
            row_e[o] = h ? acc : acc * s->tok_count[o] / (double)s->n_tok;
        }
        free(row);
    }
    double sum = 0;
    for (int o = 0; o < n_out; o++) /* in order: independent of the threads */
        sum += row_e[o];
    free(row_e);
    *e = sum;
    return ok ? 0 : ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", name);
}

int ingot_sens_col_weights(const ingot_sens *s, const char *name, int n_in, float *c, ingot_error *err)
{
    const double *h;
    if (weights_of(s, name, &h) != 0)
        return ingot_fail(err, INGOT_ERR_ARG, "sensitivity: %s is not a weight matrix of the model", name);
    if (!h && s->m->cfg.tied_embeddings) /* the embedding is also the head: weigh as the head */
        h = s->h2 + (size_t)s->n_layers * s->h2_stride;
    if (!h)
        return 0;
    double mean = 0;
    for (int k = 0; k < n_in; k++)
        mean += h[k];
    mean /= n_in;
    for (int k = 0; k < n_in; k++) /* scaled to mean 1: the search's sums stay in float's range */
        c[k] = mean > 0 ? (float)(h[k] / mean) : 1.0f;
    return 1;
}

int ingot_sens_kld(ingot_sens *s, const char *name, const ingot_wmat *w, double *kld, ingot_error *err)
{
    const ingot_model *m = s->m;
    if (!strcmp(name, "output.weight"))
        return divergence(s, layer_x(s, s->n_layers), w, kld, err);
    if (!strcmp(name, "token_embd.weight")) {
        embed(s, w, s->x);
        for (int l = 0; l < s->n_layers; l++)
            if (run_layer(s, &s->m->layers[l], l, s->x, err) != 0)
                return -1;
        return divergence(s, s->x, m->cfg.tied_embeddings ? w : &m->output, kld, err);
    }
    int l, i;
    if (linear_of(s, name, &l, &i) == 0) {
        if (rerun(s, l, i, w, err) != 0)
            return -1;
        return divergence(s, s->x, &m->output, kld, err);
    }
    return ingot_fail(err, INGOT_ERR_ARG, "sensitivity: %s is not a weight matrix of the model", name);
}
