/*
 * backend.h - the seam between the runtime and the CUDA backend (internal).
 *
 * When configure finds nvcc and cuBLAS, cuda_backend.cu implements these;
 * otherwise cuda_stub.c reports that no CUDA backend was built.  The runtime
 * asks ingot_cuda_probe() before choosing a backend, so a CPU-only build and a
 * CUDA build on a machine without a GPU behave the same.
 */
#ifndef INGOT_CUDA_BACKEND_H
#define INGOT_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Describes the CUDA devices visible to this process into desc.
 * @return the number of usable devices (0 when none or no CUDA backend was built).
 */
int ingot_cuda_probe(char *desc, size_t desc_len);

/**
 * y(n_out) = W(n_out, n_in) · x(n_in) on device 0, with bf16 weights and f32
 * activations: a self-check of the backend used by `ingot inspect --cuda` and
 * the device test script.  All pointers are host memory.
 * @return 0, or -1 with err filled (no device, allocation or launch failure).
 */
int ingot_cuda_matvec_bf16(const uint16_t *w, const float *x, float *y, int n_out, int n_in,
                           ingot_error *err);

#ifdef __cplusplus
}
#endif
#endif
