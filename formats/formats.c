/*
 * quant.c - the format switch: part layouts, shape checks, the whole-tensor
 * reference quantizer (rows in parallel, finite check), wmat binding and
 * reference dequantization.  The per-format arithmetic lives in
 * quant_int8.c, quant_nf4.c and quant_int4.c.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "util/util.h"

static const char *tname(const char *tensor)
{
    return tensor ? tensor : "(tensor)";
}

static void set_part(ingot_qpart *p, const char *role, ingot_dtype dt, int64_t d0, int64_t d1)
{
    p->role = role;
    p->dtype = dt;
    p->ndim = d1 > 0 ? 2 : 1;
    p->shape[0] = d0;
    p->shape[1] = d1 > 0 ? d1 : 0;
    p->bytes = (uint64_t)d0 * (uint64_t)(d1 > 0 ? d1 : 1) * ingot_dtype_size(dt);
}

static int q4_group(int group_size)
{
    return group_size > 0 ? group_size : INGOT_Q4_DEFAULT_GROUP;
}

/* Shape checks shared by every format: kernels index rows with int. */
static int check_dims(int64_t n_out, int64_t n_in, const char *tensor, ingot_error *err)
{
    if (n_out <= 0 || n_in <= 0)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: shape (%lld, %lld) is empty", tname(tensor),
                          (long long)n_out, (long long)n_in);
    if (n_out > INT_MAX || n_in > INT_MAX || n_out > INT64_MAX / n_in)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: shape (%lld, %lld) is too large",
                          tname(tensor), (long long)n_out, (long long)n_in);
    return 0;
}

static int layout_nf4(int64_t n_out, int64_t n_in, int dq, ingot_qparts *o, const char *tensor,
                      ingot_error *err)
{
    /* bitsandbytes blocks run over the flattened tensor; requiring whole
     * blocks per row keeps every block inside one row for the kernels. */
    if (n_in % INGOT_NF4_BLOCK)
        return ingot_fail(err, INGOT_ERR_SHAPE,
                          "%s: nf4 needs the input dimension (%lld) to be a multiple of %d",
                          tname(tensor), (long long)n_in, INGOT_NF4_BLOCK);
    int64_t n = n_out * n_in, nb = n / INGOT_NF4_BLOCK;
    set_part(&o->p[0], "qs", INGOT_DT_U8, n / 2, 0);
    if (!dq) {
        set_part(&o->p[1], "absmax", INGOT_DT_F32, nb, 0);
        o->n = 2;
        return 0;
    }
    set_part(&o->p[1], "absmax_q", INGOT_DT_U8, nb, 0);
    set_part(&o->p[2], "absmax_absmax", INGOT_DT_F32,
             (nb + INGOT_NF4_DQ_BLOCK - 1) / INGOT_NF4_DQ_BLOCK, 0);
    set_part(&o->p[3], "absmax_offset", INGOT_DT_F32, 1, 0);
    o->n = 4;
    return 0;
}

static int layout_q4(int64_t n_out, int64_t n_in, int group_size, ingot_qparts *o,
                     const char *tensor, ingot_error *err)
{
    int g = q4_group(group_size);
    if (g % INGOT_Q4_GROUP_ALIGN)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: int4 group size %d is not a multiple of %d",
                          tname(tensor), g, INGOT_Q4_GROUP_ALIGN);
    if (n_in % g)
        return ingot_fail(err, INGOT_ERR_SHAPE,
                          "%s: int4 needs the input dimension (%lld) to be a multiple of the "
                          "group size %d",
                          tname(tensor), (long long)n_in, g);
    set_part(&o->p[0], "qs", INGOT_DT_U8, n_out, n_in / 2);
    set_part(&o->p[1], "scales", INGOT_DT_F16, n_out, n_in / g);
    set_part(&o->p[2], "zeros", INGOT_DT_U8, n_out, n_in / g);
    o->n = 3;
    return 0;
}

int ingot_quant_layout(ingot_dtype type, int64_t n_out, int64_t n_in, int group_size,
                       int double_quant, ingot_qparts *out, const char *tensor, ingot_error *err)
{
    memset(out, 0, sizeof *out);
    if (check_dims(n_out, n_in, tensor, err))
        return -1;
    switch (type) {
    case INGOT_DT_Q8:
        set_part(&out->p[0], "qs", INGOT_DT_I8, n_out, n_in);
        set_part(&out->p[1], "scales", INGOT_DT_F32, n_out, 0);
        out->n = 2;
        return 0;
    case INGOT_DT_NF4:
        return layout_nf4(n_out, n_in, double_quant, out, tensor, err);
    case INGOT_DT_Q4:
        return layout_q4(n_out, n_in, group_size, out, tensor, err);
    default:
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %s is not a quantized format", tname(tensor),
                          ingot_dtype_name(type) ? ingot_dtype_name(type) : "?");
    }
}

double ingot_quant_bits_per_weight(ingot_dtype type, int64_t n_out, int64_t n_in,
                                   int group_size, int double_quant)
{
    ingot_qparts l;
    if (ingot_quant_layout(type, n_out, n_in, group_size, double_quant, &l, NULL, NULL))
        return 0;
    uint64_t bytes = 0;
    for (int i = 0; i < l.n; i++)
        bytes += l.p[i].bytes;
    return 8.0 * (double)bytes / ((double)n_out * (double)n_in);
}

/* ---- finite check ---- */

/* @return the index of the first NaN/Inf in w[0..n), or -1. */
static int64_t first_nonfinite(const float *w, int64_t n)
{
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &w[i], 4);
        bad |= (u & 0x7f800000u) == 0x7f800000u; /* branch-free, vectorizes */
    }
    if (!bad)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &w[i], 4);
        if ((u & 0x7f800000u) == 0x7f800000u)
            return i;
    }
    return -1;
}

/* ---- quantize ---- */

/* Quantizes row o; every part pointer is advanced to row o here. */
static void quantize_row(ingot_dtype type, const float *w, int64_t o, int64_t n_in, int g,
                         void *const parts[], float *nf4_absmax)
{
    const float *row = w + o * n_in;
    switch (type) {
    case INGOT_DT_Q8:
        ingot_q8_quantize_row(row, n_in, (int8_t *)parts[0] + o * n_in, (float *)parts[1] + o);
        break;
    case INGOT_DT_NF4:
        ingot_nf4_quantize_row(row, n_in, (uint8_t *)parts[0] + o * (n_in / 2),
                               nf4_absmax + o * (n_in / INGOT_NF4_BLOCK));
        break;
    case INGOT_DT_Q4:
        ingot_q4_quantize_row(row, n_in, g, (uint8_t *)parts[0] + o * (n_in / 2),
                              (uint16_t *)parts[1] + o * (n_in / g),
                              (uint8_t *)parts[2] + o * (n_in / g));
        break;
    default:
        break;
    }
}

int ingot_quantize_ref(ingot_dtype type, const float *w, int64_t n_out, int64_t n_in,
                       int group_size, int double_quant, void *const parts[],
                       const char *tensor, ingot_error *err)
{
    ingot_qparts l;
    if (ingot_quant_layout(type, n_out, n_in, group_size, double_quant, &l, tensor, err))
        return -1;
    int g = q4_group(group_size);
    int dq = type == INGOT_DT_NF4 && double_quant;
    /* nf4 absmax goes straight to its part, or to a scratch array that the
     * double quantization then compresses. */
    float *absmax = NULL;
    if (type == INGOT_DT_NF4) {
        absmax = dq ? malloc(l.p[1].bytes * sizeof(float)) : (float *)parts[1];
        if (!absmax)
            return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", tname(tensor));
    }
    int64_t bad_row = INT64_MAX;
#pragma omp parallel for schedule(dynamic, 16) reduction(min : bad_row)
    for (int64_t o = 0; o < n_out; o++) {
        if (first_nonfinite(w + o * n_in, n_in) >= 0) {
            bad_row = o < bad_row ? o : bad_row;
            continue;
        }
        quantize_row(type, w, o, n_in, g, parts, absmax);
    }
    if (bad_row != INT64_MAX) {
        if (dq)
            free(absmax);
        int64_t i = first_nonfinite(w + bad_row * n_in, n_in);
        return ingot_fail(err, INGOT_ERR_NONFINITE, "%s: non-finite value %g at [%lld, %lld]",
                          tname(tensor), (double)w[bad_row * n_in + i], (long long)bad_row,
                          (long long)i);
    }
    if (dq) {
        ingot_nf4_double_quant(absmax, n_out * n_in / INGOT_NF4_BLOCK, parts[1], parts[2],
                               parts[3]);
        free(absmax);
    }
    return 0;
}

/* ---- binding and dequantization ---- */

int ingot_quant_wmat(ingot_wmat *w, ingot_dtype type, int64_t n_out, int64_t n_in,
                     int group_size, int double_quant, const void *const parts[],
                     const char *tensor, ingot_error *err)
{
    ingot_qparts l;
    if (ingot_quant_layout(type, n_out, n_in, group_size, double_quant, &l, tensor, err))
        return -1;
    memset(w, 0, sizeof *w);
    w->type = type;
    w->n_out = (int)n_out;
    w->n_in = (int)n_in;
    w->data = parts[0];
    w->scales = parts[1];
    switch (type) {
    case INGOT_DT_Q8:
        w->group_size = 0;
        break;
    case INGOT_DT_NF4:
        w->group_size = INGOT_NF4_BLOCK;
        if (double_quant) {
            w->aux = parts[2];
            w->zeros = parts[3];
        }
        break;
    default: /* INGOT_DT_Q4: layout accepted the type */
        w->group_size = q4_group(group_size);
        w->zeros = parts[2];
        break;
    }
    return 0;
}

void ingot_dequantize_ref_part(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    switch (w->type) {
    case INGOT_DT_Q8:
        ingot_q8_dequantize_row(w, o, k0, k1, out);
        break;
    case INGOT_DT_NF4:
        ingot_nf4_dequantize_row(w, o, k0, k1, out);
        break;
    case INGOT_DT_Q4:
        ingot_q4_dequantize_row(w, o, k0, k1, out);
        break;
    default:
        memset(out, 0, (size_t)(k1 - k0) * sizeof(float));
        break;
    }
}

void ingot_dequantize_ref(const ingot_wmat *w, int o0, int o1, float *out)
{
    for (int o = o0; o < o1; o++)
        ingot_dequantize_ref_part(w, o, 0, w->n_in, out + (size_t)(o - o0) * (size_t)w->n_in);
}
