/*
 * cuda_stub.c - the CUDA layer of a build without nvcc/cuBLAS: it can only
 * say so (runtime/forward.c refuses device cuda without calling it).
 */
#include "config.h"

#include <stdio.h>

#include "kernels/cuda/cuda_ops.h"

int ingot_cuda_probe(char *desc, size_t desc_len)
{
    if (desc && desc_len)
        snprintf(desc, desc_len, "not built with CUDA");
    return 0;
}
