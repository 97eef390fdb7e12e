/*
 * qkernels_bits.c - prints a hash of the output of every quantized matmul
 * kernel of the named ISAs over a fixed set of shapes, formats, token counts
 * and row ranges, so that two builds can be compared bit for bit
 * (bench/qkernels_bits.sh builds it against each tree and diffs the lists).
 *
 *   qkernels_bits [isa...]     (default: ref avx2 avx2dot avx512 avx512vnni)
 *
 * Only the public entry points are used (ingot_cpu_kernels_named,
 * ingot_quant_layout, ingot_quantize_ref, ingot_quant_wmat), so the program
 * compiles against the headers of either tree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "ingot.h"
#if __has_include("formats/formats.h")
#include "formats/formats.h"
#else
#include "quant/quant.h"
#endif
#include "kernels/cpu/kernels.h"

typedef struct kcase {
    ingot_dtype type;
    int n_out, n_in, group, dq;
} kcase;

static const kcase cases[] = {
    {INGOT_DT_Q8, 96, 256, 0, 0},     {INGOT_DT_Q8, 37, 100, 0, 0},
    {INGOT_DT_Q8, 40, 4864, 0, 0},    {INGOT_DT_Q8, 20, 896, 0, 0},
    {INGOT_DT_Q8, 45, 72, 0, 0},      {INGOT_DT_Q8, 130, 896, 0, 0},
    {INGOT_DT_NF4, 96, 256, 0, 0},    {INGOT_DT_NF4, 33, 320, 0, 0},
    {INGOT_DT_NF4, 40, 4864, 0, 0},   {INGOT_DT_NF4, 130, 896, 0, 0},
    {INGOT_DT_NF4, 70, 192, 0, 1},    {INGOT_DT_NF4, 64, 896, 0, 1},
    {INGOT_DT_NF4, 40, 4864, 0, 1},   {INGOT_DT_NF4, 300, 448, 0, 1},
    {INGOT_DT_Q4, 96, 256, 128, 0},   {INGOT_DT_Q4, 33, 320, 32, 0},
    {INGOT_DT_Q4, 70, 192, 64, 0},    {INGOT_DT_Q4, 40, 4864, 128, 0},
    {INGOT_DT_Q4, 17, 288, 96, 0},    {INGOT_DT_Q4, 24, 512, 256, 0},
    {INGOT_DT_Q4, 130, 896, 128, 0},  {INGOT_DT_Q4, 41, 4864, 64, 0},
    {INGOT_DT_Q4, 19, 1216, 32, 0},   {INGOT_DT_Q4, 23, 640, 128, 0},
    {INGOT_DT_Q4, 21, 4864, 256, 0},  {INGOT_DT_Q4, 29, 1152, 384, 0},
};
static const int toks[] = {1, 2, 3, 4, 8, 13, 512};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

/* Quantizes case c into malloc'ed parts and binds them: through the format
 * table (formats/formats.h) or, in trees before it, quant/quant.h. */
static int quantize_case(const kcase *c, const float *w, void *parts[4], int *n_parts, ingot_wmat *wm,
                         ingot_error *err)
{
#ifdef INGOT_WMAT_MAX_PARTS
    const ingot_format *f = ingot_format_of(c->type);
    ingot_wlayout l;
    if (ingot_format_layout(f, c->n_out, c->n_in, c->group, c->dq, &l, "bits", err))
        return -1;
#else
    ingot_qparts l;
    if (ingot_quant_layout(c->type, c->n_out, c->n_in, c->group, c->dq, &l, "bits", err))
        return -1;
#endif
    *n_parts = l.n;
    for (int i = 0; i < l.n; i++)
        parts[i] = malloc(l.p[i].bytes);
#ifdef INGOT_WMAT_MAX_PARTS
    return ingot_quantize_ref(f, w, c->n_out, c->n_in, c->group, c->dq, parts, "bits", err) ||
           ingot_wmat_bind(wm, f, c->n_out, c->n_in, c->group, c->dq, (const void *const *)parts, "bits", err);
#else
    return ingot_quantize_ref(c->type, w, c->n_out, c->n_in, c->group, c->dq, parts, "bits", err) ||
           ingot_quant_wmat(wm, c->type, c->n_out, c->n_in, c->group, c->dq, (const void *const *)parts,
                            "bits", err);
#endif
}

/* x of n_tok tokens; edge: zero blocks, tiny and huge values mixed in */
static void fill_x(float *x, size_t n, int edge)
{
    for (size_t i = 0; i < n; i++) {
        float v = rnd();
        if (edge) {
            size_t blk = i / 32 % 5;
            v = blk == 0 ? 0.0f : blk == 1 ? v * 1e-41f : blk == 2 ? v * 1e-36f : blk == 3 ? v * 1e30f : v;
        }
        x[i] = v;
    }
}

int main(int argc, char **argv)
{
    static const char *const all[] = {"ref", "avx2", "avx2dot", "avx512", "avx512vnni"};
    const char *const *isas = argc > 1 ? (const char *const *)argv + 1 : all;
    int n_isa = argc > 1 ? argc - 1 : (int)(sizeof all / sizeof all[0]);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const kcase *c = &cases[ci];
        size_t n = (size_t)c->n_out * (size_t)c->n_in;
        float *w = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            w[i] = rnd() * 0.05f;
        for (int i = 0; i < c->n_in; i++) /* a zero row and a zero block */
            w[i] = 0.0f;
        for (int i = 0; i < 64 && i < c->n_in; i++)
            w[(size_t)c->n_in + (size_t)i] = 0.0f;
        void *parts[4] = {0};
        int n_parts = 0;
        ingot_wmat wm;
        ingot_error err;
        if (quantize_case(c, w, parts, &n_parts, &wm, &err)) {
            fprintf(stderr, "case %zu: %s\n", ci, err.message);
            return 1;
        }
        int max_tok = toks[sizeof toks / sizeof toks[0] - 1];
        float *x = malloc((size_t)max_tok * (size_t)c->n_in * sizeof(float));
        float *y = malloc((size_t)max_tok * (size_t)c->n_out * sizeof(float));
        for (int edge = 0; edge < 2; edge++) {
            fill_x(x, (size_t)max_tok * (size_t)c->n_in, edge);
            for (size_t ti = 0; ti < sizeof toks / sizeof toks[0]; ti++) {
                int nt = toks[ti];
                if (edge && nt > 8)
                    continue;
                for (int i = 0; i < n_isa; i++) {
                    const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isas[i]);
                    if (!k) {
                        if (ci == 0 && edge == 0 && ti == 0)
                            printf("# %s: not available\n", isas[i]);
                        continue;
                    }
                    if (strcmp(isas[i], "ref") == 0 && nt > 8 && n > 100000)
                        continue; /* slow and never changes */
                    /* all rows, then rows from an odd place to an odd place */
                    int r0[2] = {0, c->n_out / 3 + 1}, r1[2] = {c->n_out, c->n_out - 3};
                    for (int s = 0; s < 2; s++) {
                        size_t ny = (size_t)nt * (size_t)c->n_out;
                        for (size_t j = 0; j < ny; j++)
                            y[j] = -7.0f;
                        k->matmul[c->type](&wm, x, nt, y, r0[s], r1[s]);
                        uint64_t h = XXH3_64bits(y, ny * sizeof(float));
                        printf("%-10s %-4s %4dx%-4d g%-3d dq%d edge%d tok%-3d rows[%d,%d) %016llx\n",
                               isas[i], ingot_dtype_name(c->type), c->n_out, c->n_in, c->group,
                               c->dq, edge, nt, r0[s], r1[s], (unsigned long long)h);
                    }
                }
            }
        }
        for (int i = 0; i < n_parts; i++)
            free(parts[i]);
        free(w);
        free(x);
        free(y);
    }
    return 0;
}
