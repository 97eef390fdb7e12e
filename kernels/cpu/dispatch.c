/*
 * dispatch.c - picks the kernel table for this CPU once, and splits a matmul
 * over OpenMP threads.
 *
 * INGOT_ISA=ref|avx2|avx2dot|avx512|avx512vnni forces a table (tests, benchmarks); a name this
 * build or CPU cannot run falls back to the best that it can.
 */
#include "config.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/kernels.h"
#include "util/threads.h"

static ingot_cpu_kernels tab_ref;
#ifdef INGOT_HAVE_AVX2
static ingot_cpu_kernels tab_avx2;
static ingot_cpu_kernels tab_avx2dot; /* AVX2 + integer-dot decode of int8/nf4/int4 */
#endif
#ifdef INGOT_HAVE_AVX512
static ingot_cpu_kernels tab_avx512;
#endif
#ifdef INGOT_HAVE_VNNI
static ingot_cpu_kernels tab_vnni; /* AVX-512 + VNNI decode of int4 */
#endif
static const ingot_cpu_kernels *tab_avx2_ok, *tab_avx2dot_ok, *tab_avx512_ok, *tab_vnni_ok, *tab_best;
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

#if defined(INGOT_HAVE_AVX2) || defined(INGOT_HAVE_AVX512)
/* F16C through CPUID: clang before 16 has no "f16c" for __builtin_cpu_supports */
static int cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static int cpu_has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
}
#endif

#ifdef INGOT_HAVE_AVX512
static int cpu_has_avx512(void)
{
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}
#endif

static const ingot_cpu_kernels *table_named(const char *isa)
{
    if (!isa)
        return NULL;
    if (strcmp(isa, "ref") == 0)
        return &tab_ref;
    if (strcmp(isa, "avx2") == 0)
        return tab_avx2_ok;
    if (strcmp(isa, "avx2dot") == 0)
        return tab_avx2dot_ok;
    if (strcmp(isa, "avx512") == 0)
        return tab_avx512_ok;
    if (strcmp(isa, "avx512vnni") == 0)
        return tab_vnni_ok;
    return NULL;
}

static void tables_init(void)
{
    __builtin_cpu_init();
    ingot_kernels_fill_ref(&tab_ref);
    ingot_quant_kernels_fill(&tab_ref, "ref");
    tab_best = &tab_ref;
#ifdef INGOT_HAVE_AVX2
    if (cpu_has_avx2()) {
        ingot_kernels_fill_avx2(&tab_avx2);
        ingot_quant_kernels_fill(&tab_avx2, "avx2");
        tab_avx2_ok = &tab_avx2;
        /* decode of the quantized formats on integer dot products: the f32
         * expansion of 4-bit codes is slower than memory on AVX2 cores */
        tab_avx2dot = tab_avx2;
        tab_avx2dot.isa = "avx2dot";
        ingot_quant_kernels_fill(&tab_avx2dot, "avx2dot");
        tab_best = tab_avx2dot_ok = &tab_avx2dot;
    }
#endif
#ifdef INGOT_HAVE_AVX512
    if (cpu_has_avx512()) {
        ingot_kernels_fill_avx512(&tab_avx512);
        ingot_quant_kernels_fill(&tab_avx512, "avx512");
        tab_best = tab_avx512_ok = &tab_avx512;
    }
#endif
#ifdef INGOT_HAVE_VNNI
    if (cpu_has_avx512() && __builtin_cpu_supports("avx512vnni")) {
        tab_vnni = tab_avx512;
        tab_vnni.isa = "avx512vnni";
        ingot_quant_kernels_fill(&tab_vnni, "avx512vnni");
        tab_best = tab_vnni_ok = &tab_vnni;
    }
#endif
    const char *want = getenv("INGOT_ISA");
    const ingot_cpu_kernels *forced = table_named(want);
    if (forced)
        tab_best = forced;
}

const ingot_cpu_kernels *ingot_cpu_kernels_named(const char *isa)
{
    pthread_once(&tab_once, tables_init);
    return table_named(isa);
}

const ingot_cpu_kernels *ingot_cpu_kernels_get(void)
{
    pthread_once(&tab_once, tables_init);
    return tab_best;
}

const ingot_cpu_kernels *ingot_cpu_kernels_ref(void)
{
    pthread_once(&tab_once, tables_init);
    return &tab_ref;
}

/* ---- threaded matmul ---- */

/* Below this many multiply-adds a parallel region costs more than it saves. */
#define MATMUL_PAR_MIN ((size_t)1 << 16)

static int matmul_threads(const ingot_wmat *w, int n_tok, int n_threads)
{
#ifdef _OPENMP
    if (n_threads <= 0)
        n_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    n_threads = 1;
#endif
    size_t work = (size_t)w->n_out * (size_t)w->n_in * (size_t)n_tok;
    return work < MATMUL_PAR_MIN ? 1 : n_threads;
}

/* [*a, *b): part i of n of [0, len), cut at multiples of align */
static void split(int len, int align, int i, int n, int *a, int *b)
{
    int blocks = (len + align - 1) / align;
    int b0 = (int)((long long)blocks * i / n), b1 = (int)((long long)blocks * (i + 1) / n);
    *a = b0 * align < len ? b0 * align : len;
    *b = b1 * align < len ? b1 * align : len;
}

/*
 * Thread tid of nth computes a rectangle of y: rows are split first (every
 * thread streams its own part of W, no overlap); only when there are fewer
 * row blocks than threads are the tokens split too.
 */
static void matmul_part(ingot_matmul_fn fn, const ingot_wmat *w, const float *x, int n_tok,
                        float *y, int tid, int nth)
{
    int row_blocks = (w->n_out + INGOT_MATMUL_ROW_ALIGN - 1) / INGOT_MATMUL_ROW_ALIGN;
    int nr = row_blocks < nth ? row_blocks : nth;
    nr = nr > 0 ? nr : 1;
    int nt = nth / nr;
    if (tid >= nr * nt)
        return;
    int o0, o1, t0, t1;
    split(w->n_out, INGOT_MATMUL_ROW_ALIGN, tid % nr, nr, &o0, &o1);
    split(n_tok, 1, tid / nr, nt, &t0, &t1);
    if (o0 < o1 && t0 < t1)
        fn(w, x + (size_t)t0 * (size_t)w->n_in, t1 - t0, y + (size_t)t0 * (size_t)w->n_out, o0,
           o1);
}

int ingot_matmul_with(const ingot_cpu_kernels *k, const ingot_wmat *w, const float *x,
                      int n_tok, float *y, int n_threads)
{
    if ((unsigned)w->type >= INGOT_DT_COUNT || !k->matmul[w->type])
        return -1;
    ingot_matmul_fn fn = k->matmul[w->type];
    if (n_tok <= 0 || w->n_out <= 0)
        return 0;
    int nth = matmul_threads(w, n_tok, n_threads);
    if (nth == 1) {
        fn(w, x, n_tok, y, 0, w->n_out);
        return 0;
    }
#pragma omp parallel num_threads(nth)
    matmul_part(fn, w, x, n_tok, y, ingot_thread_id(), ingot_thread_count());
    return 0;
}

int ingot_matmul(const ingot_wmat *w, const float *x, int n_tok, float *y)
{
    return ingot_matmul_with(ingot_cpu_kernels_get(), w, x, n_tok, y, 0);
}

int ingot_matmul_deterministic_threads(const int *rows, int n, int want)
{
    int min_rows = n > 0 ? rows[0] : INGOT_MATMUL_ROW_ALIGN;
    for (int i = 1; i < n; i++)
        min_rows = rows[i] < min_rows ? rows[i] : min_rows;
    int cap = min_rows / INGOT_MATMUL_ROW_ALIGN;
    cap = cap < 1 ? 1 : cap;
    want = want < 1 ? 1 : want;
    return want < cap ? want : cap;
}
