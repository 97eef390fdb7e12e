/* cuda_stub.c - the CUDA backend of a build without CUDA: nothing is usable. */
#include "config.h"

#include <stdio.h>

#include "kernels/cuda/backend.h"
#include "util/util.h"

int ingot_cuda_probe(char *desc, size_t desc_len)
{
    if (desc && desc_len)
        snprintf(desc, desc_len, "CUDA backend not built (configure found no nvcc/cuBLAS)");
    return 0;
}

int ingot_cuda_matvec_bf16(const uint16_t *w, const float *x, float *y, int n_out, int n_in,
                           ingot_error *err)
{
    (void)w; (void)x; (void)y; (void)n_out; (void)n_in;
    return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "cuda: this ingot was built without CUDA");
}
