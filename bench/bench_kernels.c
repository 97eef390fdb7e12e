/*
 * bench_kernels.c - CPU matmul kernels against the machine's own limits.
 *
 * Decode (1 token) reads each weight once, so it is rated against the read
 * bandwidth; prefill (512 tokens) against the f32 FMA peak.  On a shared
 * host both limits drift, so each is the best of the measurement at start
 * and of passes interleaved with the kernel's own (plain reads of the very
 * weights, FMA loops): the larger, stricter, of the two is the yardstick.
 * The decode weights rotate through copies totalling several times the L3
 * so that, as in a real forward pass, they come from DRAM.
 *
 * usage: bench_kernels [-t threads] [-i isa[,isa...]] [-T type[,type...]] [-n tokens]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/cpu/kernels.h"
#include "util/util.h"

#define ROTATE_BYTES ((size_t)384 << 20) /* weight copies for decode: >> any L3 */
#define MIN_SECONDS 0.5
#define MIN_PASSES 4
#define REF_MAX_FLOPS 4e9 /* the reference is too slow for larger prefills */

static const struct {
    const char *name;
    int n_in, n_out;
} shapes[] = {
    {"attn 896->896", 896, 896},
    {"up 896->4864", 896, 4864},
    {"down 4864->896", 4864, 896},
    {"lm_head 896->151936", 896, 151936},
};

static void fill_weights(void *p, size_t bytes, ingot_dtype type)
{
    uint32_t s = 12345u;
    size_t es = ingot_dtype_size(type), n = bytes / es;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float f = ((float)(s >> 9) / 8388608.0f - 1.0f) * 0.05f;
        if (type == INGOT_DT_BF16)
            ((uint16_t *)p)[i] = ingot_f32_to_bf16(f);
        else if (type == INGOT_DT_F16)
            ((uint16_t *)p)[i] = ingot_f32_to_f16(f);
        else
            ((float *)p)[i] = f;
    }
}

static float *rand_x(size_t n)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n && x; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return x;
}

/*
 * 1-token matmuls over every copy of the weights, alternating with plain
 * read passes over the same copies.  *read_gbs receives the best read pass.
 * @return the best decode GB/s.
 */
static double bench_decode(const ingot_cpu_kernels *k, ingot_dtype type, int n_in, int n_out,
                           int threads, double *read_gbs)
{
    size_t bytes = (size_t)n_in * (size_t)n_out * ingot_dtype_size(type);
    size_t copies = ROTATE_BYTES / bytes + 1;
    copies = copies < 2 && bytes < ROTATE_BYTES * 2 ? 2 : copies;
    char *w = malloc(bytes * copies);
    float *x = rand_x((size_t)n_in), *y = malloc((size_t)n_out * sizeof(float));
    *read_gbs = 0.0;
    if (!w || !x || !y) {
        free(w), free(x), free(y);
        return 0.0;
    }
    fill_weights(w, bytes, type);
    for (size_t c = 1; c < copies; c++)
        memcpy(w + c * bytes, w, bytes);
    double best = 1e30, start = ingot_now();
    for (int pass = 0; pass < MIN_PASSES || ingot_now() - start < MIN_SECONDS; pass++) {
        double gbs = ingot_read_pass(w, bytes * copies, threads);
        *read_gbs = gbs > *read_gbs ? gbs : *read_gbs;
        double t0 = ingot_now();
        for (size_t c = 0; c < copies; c++) {
            ingot_wmat m = ingot_wmat_plain(type, n_out, n_in, w + c * bytes);
            ingot_matmul_with(k, &m, x, 1, y, threads);
        }
        double t = (ingot_now() - t0) / (double)copies;
        best = t < best ? t : best;
    }
    free(w), free(x), free(y);
    return (double)bytes / best / 1e9;
}

/*
 * n_tok-token matmuls alternating with FMA-peak passes, for the same reason.
 * *peak_gflops receives the best peak pass.  @return the best GFLOP/s.
 */
static double bench_prefill(const ingot_cpu_kernels *k, ingot_dtype type, int n_in, int n_out,
                            int n_tok, int threads, double *peak_gflops)
{
    size_t bytes = (size_t)n_in * (size_t)n_out * ingot_dtype_size(type);
    void *w = malloc(bytes);
    float *x = rand_x((size_t)n_in * (size_t)n_tok);
    float *y = malloc((size_t)n_out * (size_t)n_tok * sizeof(float));
    *peak_gflops = 0.0;
    if (!w || !x || !y) {
        free(w), free(x), free(y);
        return 0.0;
    }
    fill_weights(w, bytes, type);
    ingot_wmat m = ingot_wmat_plain(type, n_out, n_in, w);
    double best = 1e30, start = ingot_now();
    for (int rep = 0; rep < MIN_PASSES || ingot_now() - start < MIN_SECONDS; rep++) {
        double gf = ingot_fma_pass(threads);
        *peak_gflops = gf > *peak_gflops ? gf : *peak_gflops;
        double t0 = ingot_now();
        ingot_matmul_with(k, &m, x, n_tok, y, threads);
        double t = ingot_now() - t0;
        best = t < best ? t : best;
    }
    free(w), free(x), free(y);
    return 2.0 * n_tok * (double)n_in * (double)n_out / best / 1e9;
}

static int listed(const char *list, const char *name)
{
    if (!list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

/* One table: every shape's decode and prefill for one ISA and weight type. */
static void bench_table(const char *isa, ingot_dtype type, int threads, int n_tok, double bw,
                        double peak)
{
    const ingot_cpu_kernels *k = ingot_cpu_kernels_named(isa);
    printf("\n%-6s %-4s  %-20s %10s %10s %6s   %14s %14s %6s\n", isa, ingot_dtype_name(type),
           "shape", "decode", "bw", "%bw", "prefill", "peak", "%peak");
    for (size_t s = 0; s < INGOT_ARRAY_LEN(shapes); s++) {
        int n_in = shapes[s].n_in, n_out = shapes[s].n_out;
        double rd, gbs = bench_decode(k, type, n_in, n_out, threads, &rd);
        rd = rd > bw ? rd : bw;
        printf("             %-20s %5.1f GB/s %5.1f GB/s %5.1f%%", shapes[s].name, gbs, rd,
               100.0 * gbs / rd);
        fflush(stdout);
        if (strcmp(isa, "ref") == 0 && 2.0 * n_tok * (double)n_in * n_out > REF_MAX_FLOPS) {
            printf("   %14s\n", "(skipped)");
            continue;
        }
        double pk, gf = bench_prefill(k, type, n_in, n_out, n_tok, threads, &pk);
        pk = pk > peak ? pk : peak;
        printf("   %6.1f GFLOP/s %6.1f GFLOP/s %5.1f%%\n", gf, pk, 100.0 * gf / pk);
    }
}

/*
 * The read pass with each number of streams per thread on its own (best of
 * 5): how much a kernel gains by reading several rows far apart at once.
 */
static void read_streams_report(int threads)
{
    size_t bytes = (size_t)256 << 20;
    char *buf = malloc(bytes);
    if (!buf)
        return;
    memset(buf, 1, bytes);
    printf("read pass, GB/s by streams per thread:");
    for (int streams = 1; streams <= 8; streams++) { /* 0 GB/s: a count the pass does not try */
        double best = 0.0;
        for (int r = 0; r < 5 && (r == 0 || best > 0.0); r++) {
            double g = ingot_read_pass_streams(buf, bytes, threads, streams);
            best = g > best ? g : best;
        }
        if (best > 0.0)
            printf(" %d: %.1f", streams, best);
    }
    printf("\n");
    free(buf);
}

int main(int argc, char **argv)
{
    int threads = 2, n_tok = 512, c;
    const char *isa_list = NULL, *type_list = "bf16,f16,f32";
    while ((c = getopt(argc, argv, "t:i:T:n:")) != -1) {
        switch (c) {
        case 't': threads = atoi(optarg); break;
        case 'i': isa_list = optarg; break;
        case 'T': type_list = optarg; break;
        case 'n': n_tok = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-t threads] [-i isa,...] [-T type,...] [-n tokens]\n",
                    argv[0]);
            return 2;
        }
    }
    read_streams_report(threads);
    double bw = ingot_measure_read_bandwidth(threads);
    double peak = ingot_measure_fma_peak(threads);
    printf("threads %d, prefill %d tokens; at start: read bandwidth %.1f GB/s, "
           "f32 FMA peak %.1f GFLOP/s\n", threads, n_tok, bw, peak);
    static const char *const isas[] = {"ref", "avx2", "avx512"};
    static const ingot_dtype types[] = {INGOT_DT_BF16, INGOT_DT_F16, INGOT_DT_F32};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(isas); i++) {
        if (!ingot_cpu_kernels_named(isas[i]) || !listed(isa_list, isas[i]))
            continue;
        for (size_t t = 0; t < INGOT_ARRAY_LEN(types); t++)
            if (listed(type_list, ingot_dtype_name(types[t])))
                bench_table(isas[i], types[t], threads, n_tok, bw, peak);
    }
    return 0;
}
