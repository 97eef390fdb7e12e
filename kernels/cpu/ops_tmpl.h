/*
 * ops_tmpl.h - row operations and machine probes written against the vector
 * layer (vec_avx2.h / vec_avx512.h); included by each ISA file.
 */

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernels/cpu/kernels.h"

/*
 * exp(x), Cephes polynomial on x - n*ln2 (|r| <= ln2/2): within 2 ulp of
 * expf.  Inputs above EXP_HI saturate near FLT_MAX instead of Inf (callers
 * divide by 1 + exp, softmax never exceeds 0); below EXP_LO gives 0, as
 * expf does for the -inf of masked scores.  NaN gives 0: callers keep NaN
 * visible through their other operands (swiglu's g * up).
 */
#define EXP_HI 88.3f
#define EXP_LO -87.0f

VI vf v_exp(vf x)
{
    vf xc = v_max(v_min(x, v_set1(EXP_HI)), v_set1(EXP_LO));
    vf n = v_round(v_mul(xc, v_set1(1.44269504088896341f)));
    vf r = v_fma(n, v_set1(-0.693359375f), xc);
    r = v_fma(n, v_set1(2.12194440e-4f), r);
    vf p = v_set1(1.9875691500e-4f);
    p = v_fma(p, r, v_set1(1.3981999507e-3f));
    p = v_fma(p, r, v_set1(8.3334519073e-3f));
    p = v_fma(p, r, v_set1(4.1665795894e-2f));
    p = v_fma(p, r, v_set1(1.6666665459e-1f));
    p = v_fma(p, r, v_set1(5.0000001201e-1f));
    p = v_fma(p, v_mul(r, r), v_add(r, v_set1(1.0f)));
    return v_zero_below(v_ldexp(p, n), x, EXP_LO);
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    vf s0 = v_zero(), s1 = v_zero();
    int i = 0;
    for (; i + 2 * VL <= n; i += 2 * VL) {
        vf a = v_load(x + i), b = v_load(x + i + VL);
        s0 = v_fma(a, a, s0);
        s1 = v_fma(b, b, s1);
    }
    for (; i + VL <= n; i += VL) {
        vf a = v_load(x + i);
        s0 = v_fma(a, a, s0);
    }
    if (i < n) {
        vf a = v_load_part(x + i, n - i);
        s1 = v_fma(a, a, s1);
    }
    float ss = v_hsum(v_add(s0, s1));
    vf scale = v_set1(1.0f / sqrtf(ss / (float)n + eps));
    for (i = 0; i + VL <= n; i += VL)
        v_store(out + i, v_mul(v_mul(v_load(x + i), scale), v_load(w + i)));
    if (i < n)
        v_store_part(out + i, v_mul(v_mul(v_load_part(x + i, n - i), scale),
                                    v_load_part(w + i, n - i)), n - i);
}

static void softmax(float *x, int n)
{
    if (n <= 0)
        return;
    vf m = v_set1(-INFINITY);
    int i = 0;
    for (; i + VL <= n; i += VL)
        m = v_max(m, v_load(x + i));
    float mx = v_hmax(m);
    for (; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) {
        memset(x, 0, (size_t)n * sizeof(float));
        return;
    }
    vf vmx = v_set1(mx), s = v_zero();
    for (i = 0; i + VL <= n; i += VL) {
        vf e = v_exp(v_sub(v_load(x + i), vmx));
        v_store(x + i, e);
        s = v_add(s, e);
    }
    float sum = v_hsum(s);
    if (i < n) {
        v_store_part(x + i, v_exp(v_sub(v_load_part(x + i, n - i), vmx)), n - i);
        sum += v_hsum(v_load_part(x + i, n - i)); /* reloaded: padding lanes are 0 */
    }
    vf inv = v_set1(1.0f / sum);
    for (i = 0; i + VL <= n; i += VL)
        v_store(x + i, v_mul(v_load(x + i), inv));
    if (i < n)
        v_store_part(x + i, v_mul(v_load_part(x + i, n - i), inv), n - i);
}

static void swiglu(float *gate, const float *up, int n)
{
    vf one = v_set1(1.0f);
    int i = 0;
    for (; i + VL <= n; i += VL) {
        vf g = v_load(gate + i);
        vf e = v_exp(v_sub(v_zero(), g));
        v_store(gate + i, v_div(v_mul(g, v_load(up + i)), v_add(one, e)));
    }
    if (i < n) {
        vf g = v_load_part(gate + i, n - i);
        vf e = v_exp(v_sub(v_zero(), g));
        v_store_part(gate + i, v_div(v_mul(g, v_load_part(up + i, n - i)), v_add(one, e)),
                     n - i);
    }
}

/* ---- machine probes ---- */

/*
 * p: n bytes, 64-byte aligned, n a multiple of 256, read as `streams`
 * interleaved sequential streams (one per equal part of p): one stream per
 * core leaves bandwidth unused on cores whose prefetchers follow each stream
 * only so far ahead (Zen 2: 15 GB/s with one, 25 GB/s with six).
 */
static float read_sum(const void *p, size_t n, int streams)
{
    const char *b = (const char *)p;
    size_t part = n / (size_t)streams & ~(size_t)255;
    vf a0 = v_zero(), a1 = v_zero(), a2 = v_zero(), a3 = v_zero();
    for (size_t i = 0; i < part; i += 4 * VL * sizeof(float))
        for (int s = 0; s < streams; s++) {
            const float *f = (const float *)(b + (size_t)s * part + i);
            a0 = v_add(a0, v_load(f));
            a1 = v_add(a1, v_load(f + VL));
            a2 = v_add(a2, v_load(f + 2 * VL));
            a3 = v_add(a3, v_load(f + 3 * VL));
        }
    for (size_t i = part * (size_t)streams; i < n; i += VL * sizeof(float)) /* what the parts left */
        a0 = v_add(a0, v_load((const float *)(b + i)));
    return v_hsum(v_add(v_add(a0, a1), v_add(a2, a3)));
}

/* Enough independent chains to cover FMA latency x throughput on current cores. */
#define FMA_CHAINS 12

static double fma_loop(long iters, float *sink)
{
    vf acc[FMA_CHAINS];
    vf m = v_set1(0.9999999f), a = v_set1(1e-7f);
    for (int c = 0; c < FMA_CHAINS; c++)
        acc[c] = v_set1((float)c);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int c = 0; c < FMA_CHAINS; c++)
            acc[c] = v_fma(acc[c], m, a);
    }
    vf s = acc[0];
    for (int c = 1; c < FMA_CHAINS; c++)
        s = v_add(s, acc[c]);
    *sink = v_hsum(s);
    return (double)iters * FMA_CHAINS * VL * 2.0;
}
