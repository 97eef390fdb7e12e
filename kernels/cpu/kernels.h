/*
 * kernels.h - CPU compute kernels (internal).
 *
 * Every kernel has a portable C reference (*_ref) that is its specification;
 * SIMD versions (AVX2+FMA+F16C, AVX-512) live in their own files compiled with
 * their own ISA flags and are tested against the reference.
 * ingot_cpu_kernels_get() picks the best set once, by CPUID, into a table:
 * "ref", "avx2", "avx2dot" (AVX2 with the quantized formats decoded on
 * integer dot products), "avx512" or "avx512vnni" (AVX-512 with VNNI decode
 * of the quantized formats).
 */
#ifndef INGOT_KERNELS_H
#define INGOT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"
#include "formats/formats.h"


/**
 * y(n_tok, n_out) = x(n_tok, n_in) · W^T, f32 accumulation, computing only
 * output rows [o0, o1).  Callers parallelize over rows.
 */
typedef void (*ingot_matmul_fn)(const ingot_wmat *w, const float *x, int n_tok, float *y,
                                int o0, int o1);

typedef struct ingot_cpu_kernels {
    const char *isa;                          /* "ref", "avx2", "avx2dot", "avx512", "avx512vnni" */
    ingot_matmul_fn matmul[INGOT_DT_COUNT];   /* indexed by weight type; NULL = unsupported */
    float (*dot_f32)(const float *a, const float *b, int n);
    void (*axpy_f32)(float a, const float *x, float *y, int n); /* y += a*x */
    /* out = x / sqrt(mean(x^2) + eps) * w; out may alias x */
    void (*rmsnorm)(float *out, const float *x, const float *w, int n, float eps);
    /* in place; a row of all -inf becomes all 0 */
    void (*softmax)(float *x, int n);
    /* gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)) */
    void (*swiglu)(float *gate, const float *up, int n);
} ingot_cpu_kernels;

/** @return the kernel table for this CPU (chosen once; thread-safe). */
const ingot_cpu_kernels *ingot_cpu_kernels_get(void);
/** @return the portable reference table. */
const ingot_cpu_kernels *ingot_cpu_kernels_ref(void);
/**
 * @return the table of a named ISA ("ref", "avx2", "avx2dot", "avx512", "avx512vnni");
 *         NULL if not built or not usable.
 */
const ingot_cpu_kernels *ingot_cpu_kernels_named(const char *isa);

/**
 * Whole matmul y = x · W^T over all rows, parallelized with OpenMP.
 * @return 0, or -1 when no kernel exists for w->type.
 */
int ingot_matmul(const ingot_wmat *w, const float *x, int n_tok, float *y);

/**
 * ingot_matmul with an explicit table (benchmarks, tests) and thread count
 * (n_threads <= 0: the OpenMP default, 1 inside a parallel region).  Rows
 * are split in blocks of INGOT_MATMUL_ROW_ALIGN; with fewer row blocks than
 * threads the tokens are split instead.  A row's result does not depend on
 * the row split; a token split may move a part under the prefill threshold,
 * which sums in another order.
 * @return 0, or -1 when k has no kernel for w->type.
 */
int ingot_matmul_with(const ingot_cpu_kernels *k, const ingot_wmat *w, const float *x,
                      int n_tok, float *y, int n_threads);
#define INGOT_MATMUL_ROW_ALIGN 32

/**
 * The most threads, at most want (< 1: 1), with which ingot_matmul_with
 * splits only rows, never tokens, for matrices of each of the n row counts
 * rows[]: then every result is independent of the thread count, which AWQ
 * and --target-bpw need for their choices.  @return that count (>= 1).
 */
int ingot_matmul_deterministic_threads(const int *rows, int n, int want);

/* Quantized-format kernels register themselves into a table (quant kernels file). */
void ingot_quant_kernels_fill(ingot_cpu_kernels *k, const char *isa);

/* ---- attention over an f32 KV cache (attention.c) ---- */

/* Queries at or above this count take the tiled (GEMM) path, in tiles of this many. */
#define INGOT_ATTN_TILE 64

typedef struct ingot_attn_args {
    const float *q;      // (n, n_heads * hd) the new queries, roped
    const float *k, *v;  // (n_ctx, kv_dim) one layer of the cache, positions 0 .. pos+n-1 filled
    float *out;          // (n, n_heads * hd)
    int n, pos;          // queries, and the position of the first
    int n_heads, n_kv_heads, hd, n_ctx;
    size_t kv_dim;       // n_kv_heads * hd
    int window;          // sliding window in positions, 0 = none
    float scale;         // 1 / sqrt(hd)
} ingot_attn_args;

/**
 * Causal softmax attention: query t (position pos + t) attends to keys
 * [max(0, pos+t-window+1), pos+t]; head h reads kv head h / (n_heads /
 * n_kv_heads).  scores: (n_threads, n_ctx) scratch.  Runs on n_threads.
 */
void ingot_attention_f32(const ingot_cpu_kernels *k, const ingot_attn_args *a, float *scores,
                         int n_threads);

/* ---- element-wise and row operations, through ingot_cpu_kernels_get() ---- */

void ingot_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
void ingot_softmax(float *x, int n);
void ingot_swiglu(float *gate, const float *up, int n);

/* ---- machine measurements (ingot bench); these take a fraction of a second ---- */

/**
 * @return the best read bandwidth in GB/s (1e9 B/s) of n_threads streaming
 * a 256 MiB buffer; 0 on allocation failure.
 */
double ingot_measure_read_bandwidth(int n_threads);
/**
 * One pass of n_threads reading bytes at buf with each read-bandwidth loop
 * and each number of streams per thread (thread i reads slice i), for
 * comparing a kernel against a read of the very same memory.
 * @return the best GB/s.
 */
double ingot_read_pass(const void *buf, size_t bytes, int n_threads);
/** ingot_read_pass with `streams` streams per thread only (1, 2, 4, 6 or 8; 0: all);
 * @return GB/s, 0 for a count it does not try. */
double ingot_read_pass_streams(const void *buf, size_t bytes, int n_threads, int streams);
/** @return the f32 FMA peak in GFLOP/s of n_threads with the best ISA (an FMA is 2 flops). */
double ingot_measure_fma_peak(int n_threads);
/** One ~15 ms repetition of ingot_measure_fma_peak, to interleave with a kernel.  @return GFLOP/s. */
double ingot_fma_pass(int n_threads);

/* ---- per-ISA table fillers and probes (internal to kernels/cpu; the SIMD ones
 * are defined by isa_tmpl.h in matmul_avx2.c and matmul_avx512.c) ---- */

void ingot_kernels_fill_ref(ingot_cpu_kernels *k);
void ingot_rmsnorm_ref(float *out, const float *x, const float *w, int n, float eps);
void ingot_softmax_ref(float *x, int n);
void ingot_swiglu_ref(float *gate, const float *up, int n);
void ingot_kernels_fill_avx2(ingot_cpu_kernels *k);
void ingot_kernels_fill_avx512(ingot_cpu_kernels *k);
/* Sum of the n bytes at p read as floats in `streams` interleaved parts (n a multiple of 256). */
float ingot_read_sum_avx2(const void *p, size_t n, int streams);
float ingot_read_sum_avx512(const void *p, size_t n, int streams);
/* Runs iters rounds of independent FMA chains into *sink; returns the flops done. */
double ingot_fma_loop_avx2(long iters, float *sink);
double ingot_fma_loop_avx512(long iters, float *sink);

#endif /* INGOT_KERNELS_H */
