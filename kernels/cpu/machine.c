/*
 * machine.c - what this machine can do at best, the yardsticks `ingot bench`
 * compares kernels against: streaming read bandwidth and f32 FMA peak.
 * The inner loops are SIMD (compiled in the ISA files); this file only
 * allocates, times and keeps the best of many short repetitions, since other
 * work on a shared machine can only make a run slower.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kernels.h"
#include "util/threads.h"
#include "util/util.h"

#define BW_BYTES ((size_t)256 << 20) /* 8x a large L3: nothing is served from cache */
#define BW_MIN_REPS 5
#define BW_SECONDS 0.3 /* a pass takes ~10 ms: keep the best of many */
#define FMA_MIN_REPS 3
#define FMA_SECONDS 0.3
#define FMA_ITERS 4000000L /* ~15 ms per repetition on a 3 GHz core */

static float read_sum_scalar(const void *p, size_t n, int streams)
{
    const float *f = (const float *)p;
    float s = 0.0f;
    (void)streams; /* one line in 16 floats is all a scalar loop can touch in time */
    for (size_t i = 0; i < n / sizeof(float); i += 16)
        s += f[i];
    return s;
}

typedef float (*read_fn)(const void *, size_t, int);

/*
 * Streams per thread the read pass tries.  A kernel that reads several rows
 * far apart at once can beat one sequential stream by half again on some
 * cores (Zen 2), so the yardstick must try that too.
 */
static const int read_streams[] = {1, 2, 4, 6, 8};

/*
 * The read loops this CPU can run, every one tried: which load width streams
 * fastest depends on the core (256-bit beats 512-bit on AMD Zen 4).
 * @return how many were stored in fns.
 */
static int read_loops(read_fn fns[3])
{
    int n = 0;
#ifdef INGOT_HAVE_AVX2
    if (ingot_cpu_kernels_named("avx2"))
        fns[n++] = ingot_read_sum_avx2;
#endif
#ifdef INGOT_HAVE_AVX512
    if (ingot_cpu_kernels_named("avx512"))
        fns[n++] = ingot_read_sum_avx512;
#endif
    if (n == 0)
        fns[n++] = read_sum_scalar;
    return n;
}

/* GB/s of one pass of n_threads over buf with sum */
static double read_pass_with(read_fn sum, int streams, const void *buf, size_t bytes,
                             int n_threads)
{
    (void)n_threads; /* without OpenMP */
    float total = 0.0f;
    size_t done = 0;
    double t0 = ingot_now();
    /* each thread reads its contiguous slice (the one it first touched, when it did) */
#pragma omp parallel num_threads(n_threads > 0 ? n_threads : 1) reduction(+ : total, done)
    {
        size_t slice = bytes / (size_t)ingot_thread_count() & ~(size_t)255;
        total += sum((const char *)buf + slice * (size_t)ingot_thread_id(), slice, streams);
        done += slice;
    }
    double t = ingot_now() - t0;
    volatile float sink = total;
    (void)sink;
    return done ? (double)done / t / 1e9 : 0.0;
}

double ingot_read_pass_streams(const void *buf, size_t bytes, int n_threads, int streams)
{
    read_fn fns[3];
    int n = read_loops(fns);
    double best = 0.0;
    for (int i = 0; i < n; i++)
        for (size_t s = 0; s < sizeof read_streams / sizeof *read_streams; s++) {
            if (streams > 0 && read_streams[s] != streams)
                continue;
            double gbs = read_pass_with(fns[i], read_streams[s], buf, bytes, n_threads);
            best = gbs > best ? gbs : best;
        }
    return best;
}

double ingot_read_pass(const void *buf, size_t bytes, int n_threads)
{
    return ingot_read_pass_streams(buf, bytes, n_threads, 0);
}

double ingot_measure_read_bandwidth(int n_threads)
{
    n_threads = n_threads > 0 ? n_threads : 1;
    char *buf = aligned_alloc(4096, BW_BYTES);
    if (!buf)
        return 0.0;
#pragma omp parallel num_threads(n_threads)
    {
        size_t slice = BW_BYTES / (size_t)ingot_thread_count() & ~(size_t)255;
        memset(buf + slice * (size_t)ingot_thread_id(), 1, slice);
    }
    double best = 0.0, start = ingot_now();
    for (int r = 0; r < BW_MIN_REPS || ingot_now() - start < BW_SECONDS; r++) {
        double gbs = ingot_read_pass(buf, BW_BYTES, n_threads);
        best = gbs > best ? gbs : best;
    }
    free(buf);
    return best;
}

static double fma_loop_scalar(long iters, float *sink)
{
    float a = 0.0f, b = 1.0f, c = 2.0f, d = 3.0f;
    for (long i = 0; i < iters; i++) {
        a = a * 0.9999999f + 1e-7f;
        b = b * 0.9999999f + 1e-7f;
        c = c * 0.9999999f + 1e-7f;
        d = d * 0.9999999f + 1e-7f;
    }
    *sink = a + b + c + d;
    return (double)iters * 8.0;
}

static double (*best_fma_loop(void))(long, float *)
{
#ifdef INGOT_HAVE_AVX512
    if (ingot_cpu_kernels_named("avx512"))
        return ingot_fma_loop_avx512;
#endif
#ifdef INGOT_HAVE_AVX2
    if (ingot_cpu_kernels_named("avx2"))
        return ingot_fma_loop_avx2;
#endif
    return fma_loop_scalar;
}

double ingot_fma_pass(int n_threads)
{
    double (*loop)(long, float *) = best_fma_loop();
    (void)n_threads; /* without OpenMP */
    double flops = 0.0, t0 = ingot_now();
    float s = 0.0f;
#pragma omp parallel num_threads(n_threads > 0 ? n_threads : 1) reduction(+ : flops, s)
    {
        float one;
        flops += loop(FMA_ITERS, &one);
        s += one;
    }
    double t = ingot_now() - t0;
    volatile float sink = s;
    (void)sink;
    return flops / t / 1e9;
}

double ingot_measure_fma_peak(int n_threads)
{
    double best = 0.0, start = ingot_now();
    for (int r = 0; r < FMA_MIN_REPS || ingot_now() - start < FMA_SECONDS; r++) {
        double rate = ingot_fma_pass(n_threads);
        best = rate > best ? rate : best;
    }
    return best;
}
