/*
 * st_quant.c - pre-quantized linear weights: which reader handles a
 * method, and the checks the readers share (st_quant.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "convert/st_quant.h"
#include "util/util.h"

const char *ingot_qsrc_file(const ingot_st_set *st, const ingot_st_tensor *t)
{
    const char *f = ingot_st_set_file(st, t->file_index);
    return f ? f : "(checkpoint)";
}

const ingot_st_tensor *ingot_qsrc_lookup(const ingot_st_set *st, const char *prefix,
                                         const char *suffix)
{
    char name[256];
    if ((size_t)snprintf(name, sizeof name, "%s%s", prefix, suffix) >= sizeof name)
        return NULL;
    return ingot_st_set_find(st, name);
}

static void shape_text(char *buf, size_t len, const char *dt, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, len, "%s [", dt);
    for (int d = 0; d < ndim && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
}

int ingot_qsrc_expect(const ingot_st_set *st, const ingot_st_tensor *t, ingot_dtype dt,
                      int64_t d0, int64_t d1, ingot_error *err)
{
    int ndim = d1 < 0 ? 1 : 2;
    int64_t want[2] = {d0, d1};
    bool ok = t->dtype == dt && t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = t->shape[d] == want[d];
    /* st_reader checked size == product(shape) * element size; check it again here,
     * overflow-safe, since everything below indexes by it */
    uint64_t bytes = ingot_dtype_size(dt);
    for (int d = 0; ok && d < ndim; d++)
        ok = want[d] >= 0 && ingot_mul_u64(bytes, (uint64_t)want[d], &bytes);
    if (ok && t->size == bytes)
        return 0;
    char w[96], f[96];
    shape_text(w, sizeof w, ingot_dtype_name(dt), ndim, want);
    shape_text(f, sizeof f, ingot_dtype_name(t->dtype), t->ndim, t->shape);
    return ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s: expected %s, found %s",
                      ingot_qsrc_file(st, t), t->name, w, f);
}

bool ingot_qsrc_uses(const ingot_qsrc *q, const ingot_st_tensor *t)
{
    for (int i = 0; i < INGOT_QSRC_MAX; i++)
        if (q->t[i] == t)
            return true;
    return false;
}

int ingot_qsrc_find(const ingot_hf_quant *hq, const ingot_st_set *st, const char *hf_name,
                    int64_t n_out, int64_t n_in, ingot_qsrc *q, ingot_error *err)
{
    memset(q, 0, sizeof *q);
    q->method = hq->method;
    q->n_out = n_out;
    q->n_in = n_in;
    size_t n = strlen(hf_name), k = strlen(".weight");
    if (n <= k || strcmp(hf_name + n - k, ".weight"))
        return 0;
    int rc;
    switch (hq->method) {
    case INGOT_HFQ_AWQ:
    case INGOT_HFQ_GPTQ: {
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(n - k), hf_name);
        rc = ingot_qsrc_find_int4(hq, st, base, q, err);
        break;
    }
    case INGOT_HFQ_BNB4:
    case INGOT_HFQ_BNB8: rc = ingot_qsrc_find_bnb(hq, st, hf_name, q, err); break;
    default: return 0;
    }
    if (rc <= 0)
        return rc;
    const char *name = q->t[0]->name;
    if (ingot_format_layout(q->fmt, n_out, n_in, q->group_size, q->variant, &q->layout, name,
                            err) != 0) {
        ingot_error_prefix(err, ingot_qsrc_file(st, q->t[0]));
        return -1;
    }
    for (int i = 0; i < INGOT_QSRC_MAX; i++)
        if (q->t[i])
            q->src_bytes += q->t[i]->size;
    return 1;
}

int ingot_qsrc_unpack(const ingot_qsrc *q, const ingot_st_set *st, void *const parts[],
                      ingot_error *err)
{
    switch (q->method) {
    case INGOT_HFQ_AWQ:
    case INGOT_HFQ_GPTQ: return ingot_qsrc_unpack_int4(q, st, parts, err);
    case INGOT_HFQ_BNB4:
    case INGOT_HFQ_BNB8: return ingot_qsrc_unpack_bnb(q, st, parts, err);
    default: return ingot_fail(err, INGOT_ERR_ARG, "unpack: not a quantized tensor");
    }
}

/* Whether every element of a float tensor is +-0. */
static bool all_zero(const ingot_st_tensor *t)
{
    size_t es = ingot_dtype_size(t->dtype);
    for (uint64_t i = 0; i < t->size; i += es) {
        uint32_t v = 0;
        for (size_t b = 0; b < es; b++)
            v |= (uint32_t)t->data[i + b] << (8 * b);
        if (v & ~(1u << (8 * es - 1))) /* anything but the sign bit */
            return false;
    }
    return true;
}

bool ingot_qsrc_spare_bias(const ingot_hf_quant *hq, const ingot_st_set *st,
                           const ingot_st_tensor *t)
{
    if (hq->method != INGOT_HFQ_GPTQ && hq->method != INGOT_HFQ_AWQ)
        return false;
    size_t n = strlen(t->name), k = strlen(".bias");
    if (n <= k || strcmp(t->name + n - k, ".bias") || t->ndim != 1 ||
        (t->dtype != INGOT_DT_F16 && t->dtype != INGOT_DT_BF16 && t->dtype != INGOT_DT_F32))
        return false;
    char base[256];
    snprintf(base, sizeof base, "%.*s", (int)(n - k), t->name);
    return ingot_qsrc_lookup(st, base, ".qweight") && all_zero(t);
}
