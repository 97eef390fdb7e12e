/*
 * bench_qkernels.c - decode bandwidth and prefill throughput of the quantized
 * matmul kernels on the Qwen2-0.5B shapes (n_in -> n_out):
 * 896->896, 896->4864, 4864->896, 896->151936.
 *
 *   bench_qkernels [isa [threads [shapes]]]
 *     isa: ref, avx2, avx2dot, avx512, avx512vnni (default: best); threads: 0 = OpenMP default;
 *     shapes: indices into the list above, e.g. "23" (default: all)
 *
 * decode (n_tok = 1): GB/s counts every byte of every stored part of W (the
 *   bytes a decode step must read), with enough copies of W in rotation that
 *   they cannot stay in the last-level cache; "%bw" compares with
 *   ingot_measure_read_bandwidth on the same threads.
 * prefill (n_tok = 512): GFLOP/s = 2 * n_out * n_in * n_tok / time; "%bf16"
 *   compares with the bf16 kernel of the same table on the same shape.
 * quant: ingot_quantize_ref throughput in millions of weights per second.
 * Each time is the fastest of many calls (quant: one run).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "formats/formats.h"
#include "util/util.h"

#define PREFILL_TOK 512
#define ROTATE_BYTES ((size_t)384 << 20) /* well past a 32 MiB L3 */

typedef struct fmt {
    const char *name;
    ingot_dtype type;
    int group, dq;
} fmt;

static const fmt fmts[] = {
    {"int8", INGOT_DT_Q8, 0, 0},
    {"nf4", INGOT_DT_NF4, 0, 0},
    {"nf4+dq", INGOT_DT_NF4, 0, 1},
    {"int4", INGOT_DT_Q4, 128, 0},
    {"bf16", INGOT_DT_BF16, 0, 0},
};

static const int shapes[][2] = {{896, 896}, {896, 4864}, {4864, 896}, {896, 151936}};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

/* One stored weight: its parts (or bf16 data) and the wmat over them. */
typedef struct copy {
    void *parts[INGOT_WMAT_MAX_PARTS];
    int n;
    ingot_wmat w;
} copy;

static double quant_s; /* seconds of the last ingot_quantize_ref */

static uint64_t make_copy(const fmt *f, const float *wf, int n_in, int n_out, const copy *proto,
                          copy *c)
{
    memset(c, 0, sizeof *c);
    if (f->type == INGOT_DT_BF16) {
        size_t n = (size_t)n_in * (size_t)n_out;
        uint16_t *d = malloc(n * 2);
        if (proto)
            memcpy(d, proto->parts[0], n * 2);
        else
            for (size_t i = 0; i < n; i++)
                d[i] = ingot_f32_to_bf16(wf[i]);
        c->parts[0] = d;
        c->n = 1;
        c->w = ingot_wmat_plain(INGOT_DT_BF16, n_out, n_in, d);
        return n * 2;
    }
    const ingot_format *qf = ingot_format_of(f->type);
    ingot_wlayout l;
    ingot_error err;
    if (ingot_format_layout(qf, n_out, n_in, f->group, f->dq, &l, "bench", &err))
        return 0;
    uint64_t bytes = 0;
    for (int i = 0; i < l.n; i++) {
        c->parts[i] = malloc(l.p[i].bytes);
        if (proto)
            memcpy(c->parts[i], proto->parts[i], l.p[i].bytes);
        bytes += l.p[i].bytes;
    }
    c->n = l.n;
    double t0 = ingot_now();
    if (!proto && ingot_quantize_ref(qf, wf, n_out, n_in, f->group, f->dq, c->parts, "bench",
                                     &err)) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    if (!proto)
        quant_s = ingot_now() - t0;
    ingot_wmat_bind(&c->w, qf, n_out, n_in, f->group, f->dq, (const void *const *)c->parts,
                    "bench", &err);
    return bytes;
}

static void free_copy(copy *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->parts[i]);
}

/*
 * Fastest single call, over calls made for at least min_s seconds and at
 * least min_calls times, cycling through the nc copies.  The minimum rather
 * than the mean: on a shared machine a call whose thread was descheduled
 * says nothing about the kernel.  Cycling through more copies than the last
 * level cache holds keeps every decode call reading from memory.
 */
static double time_calls(const ingot_cpu_kernels *k, copy *cs, int nc, const float *x, int n_tok,
                         float *y, int threads, double min_s, int min_calls)
{
    double best = 1e30, start = ingot_now();
    for (int calls = 0; calls < min_calls || ingot_now() - start < min_s; calls++) {
        double t0 = ingot_now();
        ingot_matmul_with(k, &cs[calls % nc].w, x, n_tok, y, threads);
        double t = ingot_now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    const ingot_cpu_kernels *k =
        argc > 1 ? ingot_cpu_kernels_named(argv[1]) : ingot_cpu_kernels_get();
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    if (!k) {
        fprintf(stderr, "bench_qkernels: ISA %s is not available here\n", argv[1]);
        return 1;
    }
    double bw = ingot_measure_read_bandwidth(threads > 0 ? threads : 0);
    printf("isa %s, threads %d, measured read bandwidth %.1f GB/s\n", k->isa,
           threads > 0 ? threads : 0, bw);
    printf("%-8s %-13s %7s %9s %9s %6s %11s %6s %8s\n", "format", "n_in->n_out", "bits/w",
           "decode_us", "GB/s", "%bw", "prefill_GF", "%bf16", "quant_Mw/s");
    const char *only = argc > 3 ? argv[3] : NULL;
    for (size_t s = 0; s < INGOT_ARRAY_LEN(shapes); s++) {
        if (only && !strchr(only, (int)('0' + s)))
            continue;
        int n_in = shapes[s][0], n_out = shapes[s][1];
        size_t n = (size_t)n_in * (size_t)n_out;
        float *wf = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            wf[i] = rnd() * 0.05f;
        float *x = malloc((size_t)PREFILL_TOK * (size_t)n_in * sizeof(float));
        float *y = malloc((size_t)PREFILL_TOK * (size_t)n_out * sizeof(float));
        for (size_t i = 0; i < (size_t)PREFILL_TOK * (size_t)n_in; i++)
            x[i] = rnd();
        double bf16_gf = 0;
        /* bf16 (the last entry) first, so the quantized rows compare with it */
        for (size_t it = 0; it < INGOT_ARRAY_LEN(fmts); it++) {
            const fmt *f = &fmts[(it + INGOT_ARRAY_LEN(fmts) - 1) % INGOT_ARRAY_LEN(fmts)];
            if (!k->matmul[f->type])
                continue;
            copy proto;
            uint64_t bytes = make_copy(f, wf, n_in, n_out, NULL, &proto);
            int nc = (int)(ROTATE_BYTES / bytes) + 1;
            copy *cs = malloc((size_t)nc * sizeof(copy));
            cs[0] = proto;
            for (int i = 1; i < nc; i++)
                make_copy(f, wf, n_in, n_out, &proto, &cs[i]);
            double td = time_calls(k, cs, nc, x, 1, y, threads, 1.0, 2 * nc);
            for (int i = 1; i < nc; i++)
                free_copy(&cs[i]);
            int reps = n_out > 100000 ? 2 : 3;
            double tp = time_calls(k, cs, 1, x, PREFILL_TOK, y, threads, 0.0, reps);
            double gf = 2.0 * (double)n * PREFILL_TOK / tp / 1e9;
            if (f->type == INGOT_DT_BF16)
                bf16_gf = gf;
            double gbs = (double)bytes / td / 1e9;
            char shape[32];
            snprintf(shape, sizeof shape, "%d->%d", n_in, n_out);
            printf("%-8s %-13s %7.3f %9.1f %9.1f %5.0f%% %11.1f %5.0f%% %8.0f\n", f->name, shape,
                   8.0 * (double)bytes / (double)n, td * 1e6, gbs, bw > 0 ? 100 * gbs / bw : 0,
                   gf, bf16_gf > 0 ? 100 * gf / bf16_gf : 0,
                   f->type == INGOT_DT_BF16 ? 0.0 : (double)n / quant_s / 1e6);
            fflush(stdout);
            free_copy(&cs[0]);
            free(cs);
        }
        free(wf);
        free(x);
        free(y);
    }
    return 0;
}
