/*
 * attention.c - causal attention of n new queries over an f32 KV cache,
 * with any kernel table.
 *
 * One query at a time (decode, and the fallback), a row of scores is a dot
 * product per cached key and the output an axpy per key: bound by reading
 * the cache once per query.  Prefill has many queries per key, so that way
 * leaves the FMA units idle (a 64-element dot is 4 FMAs and a horizontal
 * sum): with INGOT_ATTN_TILE or more queries, each (head, tile of queries)
 * becomes two matmuls through the kernel table's f32 GEMM, scores = Q K^T
 * over the tile's keys and out = P V, with the key and value rows of the
 * head copied into contiguous (and, for V, transposed) scratch first.
 * Both orders of summation are f32; results differ from the per-query path
 * in the last bits only.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "util/threads.h"

static int first_key(int p, int window)
{
    return window > 0 && p >= window ? p - window + 1 : 0;
}

/* out(hd) = softmax(q K^T * scale) V over keys [lo, p]; sc: (p - lo + 1) scratch. */
static void attend_one(const ingot_cpu_kernels *k, const ingot_attn_args *a, int t, int h, float *sc)
{
    int p = a->pos + t, lo = first_key(p, a->window), hd = a->hd;
    size_t kvd = a->kv_dim, off = (size_t)(h / (a->n_heads / a->n_kv_heads)) * hd;
    const float *qv = a->q + (size_t)t * a->n_heads * hd + (size_t)h * hd; // (hd)
    const float *kh = a->k + off, *vh = a->v + off;                         // (ctx, kv_dim) strided
    for (int j = lo; j <= p; j++)
        sc[j - lo] = k->dot_f32(qv, kh + (size_t)j * kvd, hd) * a->scale;
    k->softmax(sc, p - lo + 1);
    float *out = a->out + (size_t)t * a->n_heads * hd + (size_t)h * hd;
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int j = lo; j <= p; j++)
        k->axpy_f32(sc[j - lo], vh + (size_t)j * kvd, out, hd);
}

/* Per-thread scratch of the tiled path, for tiles over at most max_keys keys. */
struct tile_buf {
    float *kh; // (max_keys, hd) the head's keys, contiguous
    float *vt; // (hd, max_keys) its values, transposed
    float *qt; // (TILE, hd) the tile's queries
    float *s;  // (TILE, max_keys) scores, then probabilities
    float *o;  // (TILE, hd)
};

static bool tile_buf_alloc(struct tile_buf *b, int max_keys, int hd)
{
    size_t kx = (size_t)max_keys * hd, tq = (size_t)INGOT_ATTN_TILE;
    b->kh = malloc(kx * sizeof(float));
    b->vt = malloc(kx * sizeof(float));
    b->qt = malloc(tq * hd * sizeof(float));
    b->s = malloc(tq * max_keys * sizeof(float));
    b->o = malloc(tq * hd * sizeof(float));
    return b->kh && b->vt && b->qt && b->s && b->o;
}

static void tile_buf_free(struct tile_buf *b)
{
    free(b->kh);
    free(b->vt);
    free(b->qt);
    free(b->s);
    free(b->o);
}

/* Queries [t0, t1) of head h: keys [lo of t0, p of t1-1], masked per query. */
static void attend_tile(const ingot_cpu_kernels *k, const ingot_attn_args *a, int h, int t0, int t1,
                        struct tile_buf *b)
{
    int hd = a->hd, nq = t1 - t0, qd = a->n_heads * hd;
    int lo = first_key(a->pos + t0, a->window), hi = a->pos + t1, nk = hi - lo;
    size_t kvd = a->kv_dim, off = (size_t)(h / (a->n_heads / a->n_kv_heads)) * hd;
    for (int j = 0; j < nk; j++) {
        const float *kr = a->k + (size_t)(lo + j) * kvd + off, *vr = a->v + (size_t)(lo + j) * kvd + off;
        memcpy(b->kh + (size_t)j * hd, kr, (size_t)hd * sizeof(float));
        for (int d = 0; d < hd; d++)
            b->vt[(size_t)d * nk + j] = vr[d];
    }
    for (int i = 0; i < nq; i++)
        memcpy(b->qt + (size_t)i * hd, a->q + (size_t)(t0 + i) * qd + (size_t)h * hd, (size_t)hd * sizeof(float));
    ingot_wmat km = ingot_wmat_plain(INGOT_DT_F32, nk, hd, b->kh), vm = ingot_wmat_plain(INGOT_DT_F32, hd, nk, b->vt);
    k->matmul[INGOT_DT_F32](&km, b->qt, nq, b->s, 0, nk); // (nq, nk)
    for (int i = 0; i < nq; i++) {
        int p = a->pos + t0 + i, ql = first_key(p, a->window);
        float *row = b->s + (size_t)i * nk; // keys lo .. hi-1
        for (int j = 0; j < nk; j++)
            row[j] = lo + j < ql || lo + j > p ? 0.0f : row[j] * a->scale;
        k->softmax(row + (ql - lo), p - ql + 1);
    }
    k->matmul[INGOT_DT_F32](&vm, b->s, nq, b->o, 0, hd); // (nq, hd)
    for (int i = 0; i < nq; i++)
        memcpy(a->out + (size_t)(t0 + i) * qd + (size_t)h * hd, b->o + (size_t)i * hd,
               (size_t)hd * sizeof(float));
}

void ingot_attention_f32(const ingot_cpu_kernels *k, const ingot_attn_args *a, float *scores,
                         int n_threads)
{
    int n = a->n, nh = a->n_heads, ctx = a->n_ctx;
    if (n < INGOT_ATTN_TILE) {
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(n_threads)
        for (int t = 0; t < n; t++)
            for (int h = 0; h < nh; h++)
                attend_one(k, a, t, h, scores + (size_t)ingot_thread_id() * ctx);
        return;
    }
    int n_tiles = (n + INGOT_ATTN_TILE - 1) / INGOT_ATTN_TILE, max_keys = a->pos + n;
#pragma omp parallel num_threads(n_threads)
    {
        struct tile_buf b;
        bool ok = tile_buf_alloc(&b, max_keys, a->hd);
        float *sc = scores + (size_t)ingot_thread_id() * ctx;
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < nh * n_tiles; i++) {
            int h = i / n_tiles, t0 = i % n_tiles * INGOT_ATTN_TILE;
            int t1 = n - t0 < INGOT_ATTN_TILE ? n : t0 + INGOT_ATTN_TILE;
            if (ok)
                attend_tile(k, a, h, t0, t1, &b);
            else /* no scratch memory: the per-query path needs none */
                for (int t = t0; t < t1; t++)
                    attend_one(k, a, t, h, sc);
        }
        tile_buf_free(&b);
    }
}
