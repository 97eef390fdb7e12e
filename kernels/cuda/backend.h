/*
 * backend.h - the CUDA code's entry points (internal).
 *
 * When configure finds nvcc and cuBLAS, cuda_backend.cu implements these;
 * otherwise cuda_stub.c reports that no CUDA backend was built.  There is no
 * CUDA forward pass yet: the runtime's backend interface is
 * runtime/backend.h, with the CPU as its only implementation.  Today the
 * runtime calls ingot_cuda_probe() only when a context asks for device cuda
 * (INGOT_DEVICE_CUDA), to say why it cannot have it (no device, or the CUDA
 * backend is not available yet); a CPU-only build refuses without probing.
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
 * activations: a self-check of the CUDA build, run on a GPU machine by
 * bench/device_check.sh (bench/cuda_smoke.c).  All pointers are host memory.
 * @return 0, or -1 with err filled (no device, allocation or launch failure).
 */
int ingot_cuda_matvec_bf16(const uint16_t *w, const float *x, float *y, int n_out, int n_in,
                           ingot_error *err);

#ifdef __cplusplus
}
#endif
#endif
