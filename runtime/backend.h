/*
 * backend.h - the operations the forward graph runs on (internal).
 *
 * forward.c is the graph: which operation runs on which buffer, in which
 * order.  A backend is the memory and the arithmetic: backend_cpu.c runs on
 * kernels/cpu/ in host memory with OpenMP; a CUDA backend will run the same
 * graph in device memory.  One backend instance serves one context; its ops
 * are called from one thread at a time.
 *
 * Memory.  Activations, the rope tables and the KV cache live in memory the
 * backend allocates and owns.  An ingot_buf is an f32 array of that memory
 * (host memory on the CPU, device memory on a GPU).  The type is incomplete
 * on purpose: only the backend reads or writes through it.  The graph moves
 * data in and out with upload/download, and addresses a row with
 * ingot_buf_at().
 *
 * Weights.  The ops read weights through a weights view (ingot_weights):
 * the model's own structs (ingot_wmat, ingot_layer), whose pointers are
 * addresses the backend's ops can read.  weights_acquire makes that view
 * from the model's host weights (in the mmap of the artifact):
 *   - the CPU backend returns the host view itself, zero copy;
 *   - a GPU backend uploads the weights once per (model, device) and shares
 *     that copy among all the contexts on the device, counting references.
 * A view must be released (weights_release) before the model is freed.
 * Every ingot_wmat and `const float *` weight an op takes comes from a view
 * of this backend, except where a function says otherwise.
 *
 * Shapes are `(rows, columns)` in floats, row-major: dim = hidden size,
 * hd = head dim, nh / nkv = query / key-value heads, kv_dim = nkv*hd.
 *
 * Errors.  Allocation, transfer, matmul, embedding and logits ops return
 * 0 / a pointer, or -1 / NULL with *err filled.  The other compute ops
 * cannot fail on the CPU; a backend that queues work (CUDA) records the
 * first failure of an op and reports it from the next download, logits or
 * sync.
 */
#ifndef INGOT_BACKEND_H
#define INGOT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"
#include "runtime/model.h"

/** An f32 array in backend memory (incomplete type: never dereferenced outside the backend). */
typedef struct ingot_buf ingot_buf;
/** A KV cache in backend memory. */
typedef struct ingot_kv ingot_kv;

/** @return the address i floats into b (row r of a (rows, d) buffer: ingot_buf_at(b, r * d)). */
static inline ingot_buf *ingot_buf_at(ingot_buf *b, size_t i)
{
    return (ingot_buf *)(void *)((float *)(void *)b + i);
}

/** A model's weights as one backend sees them (see "Weights" above). */
typedef struct ingot_weights {
    const ingot_wmat *embed;     // (vocab, dim)
    const ingot_wmat *output;    // (vocab, dim); the same as embed when tied
    const float *out_norm;       // (dim)
    const ingot_layer *layers;   // (n_layers)
} ingot_weights;

typedef struct ingot_backend ingot_backend;

struct ingot_backend {
    const char *name; /* "cpu", "cuda" */
    const char *desc; /* the device in words: "cpu", "cuda:0 (NVIDIA H100 80GB HBM3, sm_90, ...)" */
    int batch;        /* tokens per forward batch it prefers (at least INGOT_MAX_BATCH; 0: that) */

    /** Frees the backend; its buffers, caches and views must be freed (released) first. */
    void (*free)(ingot_backend *be);

    /* ---- memory ---- */

    /** @return a zero-filled buffer of n floats owned by the caller (buf_free), or NULL. */
    ingot_buf *(*buf_alloc)(ingot_backend *be, size_t n, ingot_error *err);
    /** Frees b; NULL is a no-op. */
    void (*buf_free)(ingot_backend *be, ingot_buf *b);
    /** dst(n) = host src(n).  @return 0, or -1. */
    int (*upload)(ingot_backend *be, ingot_buf *dst, const float *src, size_t n, ingot_error *err);
    /** host dst(n) = src(n), after every op queued before.  @return 0, or -1 (also a queued op's failure). */
    int (*download)(ingot_backend *be, float *dst, const ingot_buf *src, size_t n, ingot_error *err);
    /** Waits for the queued ops.  @return 0, or -1 with the first failure among them. */
    int (*sync)(ingot_backend *be, ingot_error *err);

    /* ---- weights ---- */

    /**
     * The backend's view of m's weights (see "Weights" above).
     * @return a view owned by the backend until weights_release, or NULL
     *         (out of memory, a weight type this backend cannot run).
     */
    const ingot_weights *(*weights_acquire)(ingot_backend *be, const ingot_model *m, ingot_error *err);
    /** Gives back a view from weights_acquire; NULL is a no-op. */
    void (*weights_release)(ingot_backend *be, const ingot_weights *w);

    /* ---- the forward graph ---- */

    /**
     * x(n, dim) = rows tokens[0..n) of the embedding emb (any stored type:
     * f32, f16, bf16 or quantized); tokens is host memory, checked by the
     * caller to lie in 0..vocab-1.  @return 0, or -1.
     */
    int (*embed)(ingot_backend *be, const ingot_wmat *emb, const int32_t *tokens, int n, ingot_buf *x,
                 ingot_error *err);
    /**
     * y(n, n_out) = x(n, n_in) · Wᵀ (+ bias(n_out) on every row when bias is
     * not NULL), for any stored weight type.  y must not overlap x.
     * @return 0, or -1 (INGOT_ERR_UNSUPPORTED: no kernel for w->type).
     */
    int (*matmul)(ingot_backend *be, const ingot_wmat *w, const float *bias, const ingot_buf *x, int n,
                  ingot_buf *y, ingot_error *err);
    /** out(n, dim) = x / sqrt(mean(x²) + eps) * w(dim), row by row; out may be x. */
    void (*rmsnorm)(ingot_backend *be, ingot_buf *out, const ingot_buf *x, const float *w, int n, int dim,
                    float eps);
    /**
     * Rotates x(n, n_heads*hd) in place, token t by the tables cos(n, hd/2)
     * and sin(n, hd/2) (already scaled; the pairs are i and i + hd/2, as
     * HuggingFace's rotate_half).  Every rope type is in the tables, which
     * forward.c computes on the host and uploads.
     */
    void (*rope)(ingot_backend *be, ingot_buf *x, int n, int n_heads, int hd, const ingot_buf *cos,
                 const ingot_buf *sin);

    /**
     * A KV cache of element type `type` for (n_layers, n_ctx, kv_dim) keys
     * and as many values, with whatever workspace attention needs.
     * @return a cache owned by the caller (kv_free), or NULL
     *         (INGOT_ERR_NOMEM; INGOT_ERR_UNSUPPORTED for a type the backend does not store).
     */
    ingot_kv *(*kv_alloc)(ingot_backend *be, int n_layers, int n_ctx, int kv_dim, ingot_dtype type,
                          ingot_error *err);
    /** Frees kv; NULL is a no-op. */
    void (*kv_free)(ingot_backend *be, ingot_kv *kv);
    /** Cache slots [pos, pos+n) of layer = k(n, kv_dim) and v(n, kv_dim). */
    void (*kv_store)(ingot_backend *be, ingot_kv *kv, int layer, int pos, int n, const ingot_buf *k,
                     const ingot_buf *v);
    /**
     * out(n, nh*hd) = causal attention of the queries q(n, nh*hd) at
     * positions pos..pos+n-1 over the cache of layer: query t, head h reads
     * cache positions [lo, pos+t] of kv head h / (nh/nkv) (GQA), where
     * lo = pos+t-window+1 with a sliding window (window > 0), else 0:
     *   out = softmax(q·Kᵀ / sqrt(hd)) · V
     */
    void (*attention)(ingot_backend *be, ingot_kv *kv, int layer, int pos, int n, const ingot_buf *q,
                      ingot_buf *out, int nh, int nkv, int hd, int window);

    /** gate(n) = silu(gate) * up(n), silu(g) = g / (1 + exp(-g)). */
    void (*swiglu)(ingot_backend *be, ingot_buf *gate, const ingot_buf *up, size_t n);
    /** x(n) += y(n) (the residual add). */
    void (*add)(ingot_backend *be, ingot_buf *x, const ingot_buf *y, size_t n);
    /**
     * host logits(n, vocab) = x(n, dim) · outputᵀ (output: the view's
     * output matrix, the embedding when tied).  Waits for the queued ops.
     * @return 0, 1 (a decode step to run again: see step_begin), or -1 (no
     *         kernel for the type, a queued op's failure).
     */
    int (*logits)(ingot_backend *be, const ingot_wmat *output, const ingot_buf *x, int n, float *logits,
                  ingot_error *err);

    /**
     * Optional (NULL: not offered).  Begins a decode step: one token at pos,
     * with logits, no statistics.  The ops that follow, up to the logits op
     * that ends the step, are the same at every step, so a backend may
     * record them once and replay them (CUDA graphs).  The logits op then
     * returns 1 when the step must be run again (the recording failed and
     * the backend stopped recording).
     */
    void (*step_begin)(ingot_backend *be, int pos);

    /* ---- activation statistics (ingot eval) ---- */

    /**
     * Folds max |x| of x(n) into host *absmax and sets host *nonfinite to 1
     * when x holds a NaN or an Inf (those do not count in the maximum).
     */
    void (*absmax)(ingot_backend *be, const ingot_buf *x, size_t n, float *absmax, int *nonfinite);

    /* ---- measurements (ingot bench; NULL where the backend has none) ---- */

    /** Device read GB/s, GEMM TFLOP/s and device memory in use (MiB).  @return 0, or -1. */
    int (*peaks)(ingot_backend *be, double *read_gbs, double *gemm_tflops, double *mem_used_mb, ingot_error *err);
};

/**
 * The CPU backend (backend_cpu.c): host memory, kernels/cpu/, OpenMP with
 * n_threads threads in every parallel region (0: OpenMP's default; the
 * process-wide setting is left alone).
 * @return a backend owned by the caller (be->free), or NULL.
 */
ingot_backend *ingot_backend_cpu_create(int n_threads, ingot_error *err);

/**
 * The CUDA backend (backend_cuda.c, only in builds with CUDA): device
 * memory and kernels/cuda/ on CUDA device `device`.
 * @return a backend owned by the caller (be->free), or NULL (no such
 *         device, CUDA or cuBLAS unusable).
 */
ingot_backend *ingot_backend_cuda_create(int device, ingot_error *err);

/* ---- host helpers: the CPU backend's arithmetic, on host memory ---- */

/** The absmax op on host memory x(n). */
void ingot_host_absmax(const float *x, size_t n, float *absmax, int *nonfinite);
/** The rmsnorm op on host memory: out(n, dim) = rmsnorm of x(n, dim) with w(dim); out may be x. */
void ingot_host_rmsnorm_rows(float *out, const float *x, const float *w, int n, int dim, float eps);

#endif
