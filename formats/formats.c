/*
 * formats.c - the table of weight formats and the generic drivers over it:
 * part layouts and shape checks, the whole-tensor reference quantizer (rows
 * in parallel, finite check), wmat binding (parts in order, or found by
 * role with their sizes checked) and reference dequantization.  Each
 * format's entry and arithmetic live in its own file: float.c,
 * quant_int8.c, quant_nf4.c and quant_int4.c.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "util/util.h"

/* In this order: the float types, then the quantized ones (messages list them so). */
static const ingot_format *const table[] = {
    &ingot_format_bf16, &ingot_format_f16,  &ingot_format_f32,
    &ingot_format_int8, &ingot_format_nf4, &ingot_format_int4, &ingot_format_int5, &ingot_format_int6,
};

const ingot_format *ingot_format_at(int i)
{
    return i >= 0 && (size_t)i < INGOT_ARRAY_LEN(table) ? table[i] : NULL;
}

const ingot_format *ingot_format_of(ingot_dtype t)
{
    for (size_t i = 0; i < INGOT_ARRAY_LEN(table); i++)
        if (table[i]->type == t)
            return table[i];
    return NULL;
}

bool ingot_format_quantized(ingot_dtype t)
{
    const ingot_format *f = ingot_format_of(t);
    return f && f->quantized;
}

const char *ingot_format_tname(const char *tensor)
{
    return tensor ? tensor : "(tensor)";
}

void ingot_wpart_set(ingot_wpart *p, ingot_dtype dt, int64_t d0, int64_t d1)
{
    p->dtype = dt;
    p->ndim = d1 > 0 ? 2 : 1;
    p->shape[0] = d0;
    p->shape[1] = d1 > 0 ? d1 : 0;
    p->bytes = (uint64_t)d0 * (uint64_t)(d1 > 0 ? d1 : 1) * ingot_dtype_size(dt);
}

/* Shape checks shared by every format: kernels index rows with int. */
static int check_dims(int64_t n_out, int64_t n_in, const char *tensor, ingot_error *err)
{
    const char *tn = ingot_format_tname(tensor);
    if (n_out <= 0 || n_in <= 0)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: shape (%lld, %lld) is empty", tn,
                          (long long)n_out, (long long)n_in);
    if (n_out > INT_MAX || n_in > INT_MAX || n_out > INT64_MAX / n_in)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: shape (%lld, %lld) is too large", tn,
                          (long long)n_out, (long long)n_in);
    return 0;
}

int ingot_format_layout(const ingot_format *f, int64_t n_out, int64_t n_in, int group_size,
                        int variant, ingot_wlayout *out, const char *tensor, ingot_error *err)
{
    memset(out, 0, sizeof *out);
    if (!f)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: not a weight format",
                          ingot_format_tname(tensor));
    if (check_dims(n_out, n_in, tensor, err))
        return -1;
    if (variant < 0 || variant >= f->n_variants)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %s has no variant %d",
                          ingot_format_tname(tensor), f->name, variant);
    const ingot_format_variant *v = &f->variants[variant];
    if (f->layout(f, n_out, n_in, f->group_size(group_size), variant, out->p, tensor, err))
        return -1;
    for (int i = 0; i < v->n_parts; i++)
        out->p[i].role = v->role[i];
    out->n = v->n_parts;
    return 0;
}

double ingot_format_bits_per_weight(const ingot_format *f, int64_t n_out, int64_t n_in,
                                    int group_size, int variant)
{
    ingot_wlayout l;
    if (ingot_format_layout(f, n_out, n_in, group_size, variant, &l, NULL, NULL))
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

int ingot_quantize_ref(const ingot_format *f, const float *w, int64_t n_out, int64_t n_in,
                       int group_size, int variant, void *const parts[], const char *tensor,
                       ingot_error *err)
{
    return ingot_quantize_ref_weighted(f, w, NULL, n_out, n_in, group_size, variant, parts, tensor, err);
}

int ingot_quantize_ref_weighted(const ingot_format *f, const float *w, const float *col_weight, int64_t n_out,
                                int64_t n_in, int group_size, int variant, void *const parts[],
                                const char *tensor, ingot_error *err)
{
    ingot_wlayout l;
    if (ingot_format_layout(f, n_out, n_in, group_size, variant, &l, tensor, err))
        return -1;
    if (!f->quantize_row)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %s is not a quantized format",
                          ingot_format_tname(tensor), f->name);
    ingot_qjob j = {&l, n_out, n_in, f->group_size(group_size), variant, parts, NULL, col_weight};
    if (f->quantize_begin && f->quantize_begin(&j, tensor, err))
        return -1;
    int64_t bad_row = INT64_MAX;
#pragma omp parallel for schedule(dynamic, 16) reduction(min : bad_row)
    for (int64_t o = 0; o < n_out; o++) {
        if (first_nonfinite(w + o * n_in, n_in) >= 0) {
            bad_row = o < bad_row ? o : bad_row;
            continue;
        }
        f->quantize_row(&j, w + o * n_in, o);
    }
    if (bad_row != INT64_MAX) {
        if (f->quantize_end)
            f->quantize_end(&j, false);
        int64_t i = first_nonfinite(w + bad_row * n_in, n_in);
        return ingot_fail(err, INGOT_ERR_NONFINITE, "%s: non-finite value %g at [%lld, %lld]",
                          ingot_format_tname(tensor), (double)w[bad_row * n_in + i],
                          (long long)bad_row, (long long)i);
    }
    if (f->quantize_end)
        f->quantize_end(&j, true);
    return 0;
}

/* ---- binding ---- */

int ingot_wmat_bind(ingot_wmat *w, const ingot_format *f, int64_t n_out, int64_t n_in,
                    int group_size, int variant, const void *const parts[], const char *tensor,
                    ingot_error *err)
{
    ingot_wlayout l;
    if (ingot_format_layout(f, n_out, n_in, group_size, variant, &l, tensor, err))
        return -1;
    memset(w, 0, sizeof *w);
    w->fmt = f;
    w->type = f->type;
    w->n_out = (int)n_out;
    w->n_in = (int)n_in;
    w->group_size = f->group_size(group_size);
    w->variant = variant;
    w->n_parts = l.n;
    for (int i = 0; i < l.n; i++)
        w->part[i] = parts[i];
    return 0;
}

/* The first role of variant v that variant 0 does not have, or NULL. */
static const char *own_role(const ingot_format *f, int v)
{
    const ingot_format_variant *a = &f->variants[0], *b = &f->variants[v];
    for (int i = 0; i < b->n_parts; i++) {
        int shared = 0;
        for (int k = 0; k < a->n_parts && !shared; k++)
            shared = strcmp(a->role[k], b->role[i]) == 0;
        if (!shared)
            return b->role[i];
    }
    return NULL;
}

int ingot_wmat_bind_found(ingot_wmat *w, const ingot_format *f, int64_t n_out, int64_t n_in,
                          int group_size, ingot_part_lookup find, void *user, const char *file,
                          const char *tensor, ingot_error *err)
{
    if (!f)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: not a weight format",
                          ingot_format_tname(tensor));
    int variant = 0;
    for (int v = f->n_variants - 1; v > 0 && !variant; v--) {
        const char *key = own_role(f, v);
        const void *data;
        uint64_t bytes;
        if (key && find(user, key, &data, &bytes))
            variant = v;
    }
    ingot_wlayout l;
    if (ingot_format_layout(f, n_out, n_in, group_size, variant, &l, tensor, err))
        return -1;
    const void *parts[INGOT_WMAT_MAX_PARTS] = {0};
    for (int i = 0; i < l.n; i++) {
        uint64_t bytes = 0;
        bool found = find(user, l.p[i].role, &parts[i], &bytes);
        if (!found || bytes != l.p[i].bytes)
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: part %s %s",
                              file ? file : "(file)", ingot_format_tname(tensor), l.p[i].role,
                              found ? "has the wrong size" : "is missing");
    }
    return ingot_wmat_bind(w, f, n_out, n_in, group_size, variant, parts, tensor, err);
}

/* ---- dequantization ---- */

void ingot_dequantize_ref_part(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    if (w->fmt)
        w->fmt->dequantize(w, o, k0, k1, out);
    else
        memset(out, 0, (size_t)(k1 - k0) * sizeof(float));
}

void ingot_dequantize_ref(const ingot_wmat *w, int o0, int o1, float *out)
{
    for (int o = o0; o < o1; o++)
        ingot_dequantize_ref_part(w, o, 0, w->n_in, out + (size_t)(o - o0) * (size_t)w->n_in);
}
