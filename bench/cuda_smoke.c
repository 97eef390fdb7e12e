/*
 * cuda_smoke.c - checks the CUDA backend on a machine with a GPU: probes the
 * device and compares the bf16 matvec kernel with a CPU computation.
 * Built and run by bench/device_check.sh (the device has no libarchive etc.,
 * so only the backend and util/error.c are compiled).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/backend.h"

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int main(void)
{
    char desc[256];
    int n = ingot_cuda_probe(desc, sizeof desc);
    printf("probe: %s\n", desc);
    if (n <= 0)
        return 1;
    int shapes[][2] = {{896, 896}, {4864, 896}, {896, 4864}, {1000, 1001}};
    int bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int no = shapes[s][0], ni = shapes[s][1];
        uint16_t *w = malloc((size_t)no * ni * 2);
        float *x = malloc((size_t)ni * 4), *y = malloc((size_t)no * 4);
        srand(1);
        for (size_t i = 0; i < (size_t)no * ni; i++)
            w[i] = to_bf16((float)rand() / RAND_MAX - 0.5f);
        for (int i = 0; i < ni; i++)
            x[i] = (float)rand() / RAND_MAX - 0.5f;
        ingot_error err;
        if (ingot_cuda_matvec_bf16(w, x, y, no, ni, &err) != 0) {
            printf("matvec %dx%d: %s\n", no, ni, err.message);
            return 1;
        }
        double maxrel = 0;
        for (int o = 0; o < no; o++) {
            double ref = 0, mag = 0;
            for (int i = 0; i < ni; i++) {
                ref += (double)from_bf16(w[(size_t)o * ni + i]) * x[i];
                mag += fabs((double)from_bf16(w[(size_t)o * ni + i]) * x[i]);
            }
            maxrel = fmax(maxrel, fabs(y[o] - ref) / (mag + 1e-30));
        }
        printf("matvec %5d x %5d: max |gpu - cpu| / sum|w x| = %.2e %s\n", no, ni, maxrel,
               maxrel < 1e-5 ? "ok" : "FAIL");
        bad += maxrel >= 1e-5;
        free(w);
        free(x);
        free(y);
    }
    return bad ? 1 : 0;
}
