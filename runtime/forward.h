/*
 * forward.h - the decoder's blocks, for code that runs a layer with other
 * weights than the model's (AWQ calibration).  Internal.
 *
 * These take and return host memory.  The layer weights L are read by the
 * context's backend, so they must be in that backend's weights view
 * (runtime/backend.h): with the CPU backend, the only one today, host
 * ingot_wmats (f32 working copies included) are that view.  So calibration
 * runs on CPU contexts only for now (ingot_context_create makes one).
 */
#ifndef INGOT_FORWARD_H
#define INGOT_FORWARD_H

#include "ingot.h"
#include "runtime/model.h"

/* Batches longer than this are split: bounds scratch memory, keeps tiles in cache. */
#define INGOT_MAX_BATCH 256

/**
 * out(n, dim) = rmsnorm of each row of x(n, dim) with weight w(dim), all
 * host memory, computed on the host with the CPU backend's arithmetic
 * whatever c's backend; out may be x.
 */
void ingot_rmsnorm_rows(const ingot_context *c, float *out, const float *x, const float *w, int n);

/**
 * Self-attention of `layer` with the weights in L on normed input h(n, dim)
 * at positions pos..pos+n-1 (writes that layer's KV cache slots; earlier
 * slots must hold the sequence so far).  n <= INGOT_MAX_BATCH.
 * @param out   (n, dim): o_proj output, before the residual add.
 * @param inner NULL, or (n, nh*hd): receives the input of o_proj.
 * @return 0, or -1 with err filled.
 */
int ingot_attn_forward(ingot_context *c, const ingot_layer *L, int layer, const float *h, int n,
                       int pos, float *out, float *inner, ingot_error *err);

/**
 * SwiGLU MLP with the weights in L on normed input h(n, dim).
 * n <= INGOT_MAX_BATCH.
 * @param out   (n, dim): down_proj output, before the residual add.
 * @param inner NULL, or (n, ffn): receives the input of down_proj.
 * @return 0, or -1 with err filled.
 */
int ingot_mlp_forward(ingot_context *c, const ingot_layer *L, int layer, const float *h, int n,
                      float *out, float *inner, ingot_error *err);

#endif
