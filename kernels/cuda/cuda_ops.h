/*
 * cuda_ops.h - the CUDA device layer (internal): a device handle, device
 * memory and the forward pass's operations as C calls on device pointers.
 *
 * runtime/backend_cuda.c builds the backend of runtime/backend.h on these,
 * as runtime/backend_cpu.c builds the CPU one on kernels/cpu/.  When
 * configure finds no nvcc/cuBLAS only ingot_cuda_probe exists (cuda_stub.c),
 * and it reports that no CUDA backend was built.
 *
 * Streams and errors.  Every op is queued on the handle's one stream and
 * returns at once.  A failure of a queued op (a launch error, a cuBLAS
 * status) is recorded in the handle: the first one sticks and is reported
 * by the next ingot_cuda_download or ingot_cuda_sync, which fail from then
 * on.  Allocation and upload errors are returned directly.
 *
 * Weights on the device are ingot_wmat views (formats/formats.h) whose
 * part[] pointers are device memory, in the stored layout of the format:
 * the kernels read the bytes the artifact holds, no repacking.  Every part
 * must be 16-byte aligned (ingot_cuda_malloc gives 256).
 *
 * Shapes are (rows, columns) in elements, row-major.  Activations are f32.
 */
#ifndef INGOT_CUDA_OPS_H
#define INGOT_CUDA_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"
#include "ingot.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Describes the CUDA devices visible to this process into desc.
 * @return the number of usable devices (0 when none or no CUDA backend was built).
 */
int ingot_cuda_probe(char *desc, size_t desc_len);

typedef struct ingot_cuda ingot_cuda;

/** How prefill's matrix products run on the tensor cores (see ingot_cuda_open). */
typedef enum ingot_cuda_gemm_t {
    INGOT_CUDA_GEMM_BF16 = 0, /* bf16 inputs, f32 accumulate (sm_80 and up) */
    INGOT_CUDA_GEMM_F16,      /* f16 inputs, f32 accumulate */
    INGOT_CUDA_GEMM_F32,      /* f32 (no tensor cores, no TF32): the exact fallback */
} ingot_cuda_gemm_t;

/**
 * Opens CUDA device `device` with its own stream and cuBLAS handle.  The
 * prefill GEMM type is bf16 on sm_80 and up and f32 below, unless the
 * environment variable INGOT_CUDA_GEMM (bf16, f16, f32) forces one.
 * @return a handle owned by the caller (ingot_cuda_close), or NULL with err
 *         (no such device, the CUDA runtime or cuBLAS cannot be used).
 */
ingot_cuda *ingot_cuda_open(int device, ingot_error *err);
/** Waits for the queued work and frees the handle; NULL is a no-op. */
void ingot_cuda_close(ingot_cuda *g);

/** @return "NVIDIA H100 80GB HBM3, sm_90" style text (owned by g). */
const char *ingot_cuda_name(const ingot_cuda *g);
/** @return the device index g was opened on. */
int ingot_cuda_device(const ingot_cuda *g);
/** @return the number of multiprocessors. */
int ingot_cuda_sm_count(const ingot_cuda *g);
/** @return the prefill GEMM type in use. */
ingot_cuda_gemm_t ingot_cuda_gemm_type(const ingot_cuda *g);
/** @return the GEMM type's name ("bf16", "f16", "f32"). */
const char *ingot_cuda_gemm_name(ingot_cuda_gemm_t t);
/** Sets the prefill GEMM type (tests force each path this way). */
void ingot_cuda_set_gemm_type(ingot_cuda *g, ingot_cuda_gemm_t t);
/**
 * Sets the rows per warp of the one- and two-token GEMV: 1, 2 or 4, or 0
 * (anything else) for the choice by matrix size.  The environment variable
 * INGOT_CUDA_GEMV_ROWS (1, 2, 4, auto) sets it at ingot_cuda_open.
 */
void ingot_cuda_set_gemv_rows(ingot_cuda *g, int rows);
/** Fills the device's free and total memory in bytes.  @return 0, or -1. */
int ingot_cuda_mem_info(ingot_cuda *g, size_t *free_bytes, size_t *total_bytes, ingot_error *err);

/* ---- memory ---- */

/** @return zero-filled device memory of `bytes` (256-byte aligned) owned by the caller, or NULL. */
void *ingot_cuda_malloc(ingot_cuda *g, size_t bytes, ingot_error *err);
/** Frees device memory from ingot_cuda_malloc (after the queued work); NULL is a no-op. */
void ingot_cuda_free(ingot_cuda *g, void *p);
/** Device dst = host src (bytes), ordered after the queued ops; src may be reused on return.  @return 0, or -1. */
int ingot_cuda_upload(ingot_cuda *g, void *dst, const void *src, size_t bytes, ingot_error *err);
/** Host dst = device src (bytes) after every queued op.  @return 0, or -1 (also a queued op's failure). */
int ingot_cuda_download(ingot_cuda *g, void *dst, const void *src, size_t bytes, ingot_error *err);
/** Waits for the queued ops.  @return 0, or -1 with the first failure among them. */
int ingot_cuda_sync(ingot_cuda *g, ingot_error *err);

/* ---- decode steps as CUDA graphs ---- */

/**
 * Begins one decode step (one token at position pos).  A small model's
 * decode is bound by kernel launches, not by the GPU, so the handle records
 * the ops of a step into a CUDA graph once (on the second step, after the
 * first has allocated what it needs) and from then on replays it: the ops
 * between ingot_cuda_step_begin and ingot_cuda_step_end then only stage
 * their host data (uploads, token ids) into pinned memory the graph copies
 * from, and pos is read from device memory by the kernels that need it.
 * The caller must issue the same ops on the same buffers at every step,
 * with n == 1.  INGOT_CUDA_GRAPHS=0 in the environment turns graphs off.
 */
void ingot_cuda_step_begin(ingot_cuda *g, int pos);
/**
 * Ends the step: ends the capture and launches the graph, or launches the
 * recorded graph.  A capture that fails turns graphs off for the handle and
 * the step is run again as queued ops by the caller (@return 1).
 * @return 0, 1 (rerun the step), or -1 with err.
 */
int ingot_cuda_step_end(ingot_cuda *g, ingot_error *err);

/* ---- the forward pass's ops (device pointers; queued) ---- */

/** @return whether the matmul kernels run weights of this type. */
int ingot_cuda_supports(ingot_dtype t);

/**
 * y(n, n_out) = x(n, n_in) · Wᵀ (+ bias(n_out) on every row when not NULL).
 * n <= 8 runs a fused dequantize-GEMV reading each weight byte once; larger
 * n a cuBLAS GEMM of the handle's GEMM type (quantized and other-typed
 * weights are dequantized into a scratch matrix of that type first).
 * @return 0, or -1 (INGOT_ERR_UNSUPPORTED for a weight type without a kernel,
 *         INGOT_ERR_NOMEM for scratch).
 */
int ingot_cuda_matmul(ingot_cuda *g, const ingot_wmat *w, const float *bias, const float *x, int n, float *y,
                      ingot_error *err);
/** The decode kernel alone, whatever n (1..8): for tests.  @return 0, or -1. */
int ingot_cuda_gemv(ingot_cuda *g, const ingot_wmat *w, const float *bias, const float *x, int n, float *y,
                    ingot_error *err);
/** The prefill path alone, whatever n: for tests.  @return 0, or -1. */
int ingot_cuda_gemm(ingot_cuda *g, const ingot_wmat *w, const float *bias, const float *x, int n, float *y,
                    ingot_error *err);

/** x(n, n_in) = rows tokens[0..n) of emb (any stored type); tokens is host memory.  @return 0, or -1. */
int ingot_cuda_embed(ingot_cuda *g, const ingot_wmat *emb, const int32_t *tokens, int n, float *x,
                     ingot_error *err);
/** out(n, dim) = x / sqrt(mean(x²) + eps) * w(dim), row by row; out may be x. */
void ingot_cuda_rmsnorm(ingot_cuda *g, float *out, const float *x, const float *w, int n, int dim, float eps);
/** Rotates x(n, nh*hd) in place with cos/sin(n, hd/2) (pairs i, i + hd/2). */
void ingot_cuda_rope(ingot_cuda *g, float *x, int n, int nh, int hd, const float *cos_t, const float *sin_t);
/** gate(n) = silu(gate) * up(n). */
void ingot_cuda_swiglu(ingot_cuda *g, float *gate, const float *up, size_t n);
/** x(n) += y(n). */
void ingot_cuda_add(ingot_cuda *g, float *x, const float *y, size_t n);
/**
 * Folds max |x| of x(n) into host *absmax and sets *nonfinite when x holds
 * a NaN or an Inf (waits for the queued ops).  @return 0, or -1.
 */
int ingot_cuda_absmax(ingot_cuda *g, const float *x, size_t n, float *absmax, int *nonfinite, ingot_error *err);

/** A KV cache of one element type: keys and values (n_layers, n_ctx, kv_dim) each. */
typedef struct ingot_cuda_kv {
    ingot_dtype type;   /* INGOT_DT_F32, INGOT_DT_F16 or INGOT_DT_BF16 */
    int n_layers, n_ctx, kv_dim;
    void *k, *v;        // (n_layers, n_ctx, kv_dim) of type
    float *work;        // split-sequence partials: (work_rows, kv_dim/nkv + 2)
    int work_rows;
} ingot_cuda_kv;

/** Allocates kv's arrays for the fields set (type, sizes).  @return 0, or -1. */
int ingot_cuda_kv_alloc(ingot_cuda *g, ingot_cuda_kv *kv, int max_head_dim, ingot_error *err);
/** Frees kv's arrays. */
void ingot_cuda_kv_free(ingot_cuda *g, ingot_cuda_kv *kv);
/** Slots [pos, pos+n) of layer = k(n, kv_dim), v(n, kv_dim), converted to kv->type. */
void ingot_cuda_kv_store(ingot_cuda *g, ingot_cuda_kv *kv, int layer, int pos, int n, const float *k,
                         const float *v);
/**
 * out(n, nh*hd) = causal attention of q(n, nh*hd) at positions pos..pos+n-1
 * over layer's cache (as runtime/backend.h's attention op), split along the
 * sequence when there are few (token, head) pairs to fill the device.
 */
void ingot_cuda_attention(ingot_cuda *g, ingot_cuda_kv *kv, int layer, int pos, int n, const float *q,
                          float *out, int nh, int nkv, int hd, int window);

/**
 * Streams through `bytes` of device memory (a buffer larger than L2) and
 * @return the read bandwidth in GB/s (best of `reps`), or a negative value.
 */
double ingot_cuda_read_bandwidth(ingot_cuda *g, size_t bytes, int reps, ingot_error *err);
/** @return the rate of a (m, m, m) GEMM of the handle's GEMM type in TFLOP/s (best of reps), or negative. */
double ingot_cuda_gemm_peak(ingot_cuda *g, int m, int reps, ingot_error *err);

#ifdef __cplusplus
}
#endif
#endif
