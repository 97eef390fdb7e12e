/*
 * st_quant_bnb.c - bitsandbytes checkpoints, as transformers saves them
 * (Linear4bit / Linear8bitLt _save_to_state_dict in bitsandbytes/nn/modules.py,
 * QuantState.as_dict(packed=True) in bitsandbytes/functional.py):
 *
 * nf4, for linear weight W (n_out, n_in), nb = n_out*n_in/64 blocks:
 *   W                                  u8  (n_out*n_in/2, 1)  codes, first element high nibble
 *   W.absmax                           f32 (nb), or u8 (nb) with double quant
 *   W.quant_map                        f32 (16)   the NF4 code book
 *   W.nested_absmax                    f32 (ceil(nb/256))     double quant only
 *   W.nested_quant_map                 f32 (256)  the dynamic map  double quant only
 *   W.quant_state.bitsandbytes__nf4    u8  (len)  JSON: quant_type, blocksize, dtype,
 *                                      shape, and nested_blocksize, nested_dtype,
 *                                      nested_offset with double quant
 * -> ingot nf4 (formats/quant_nf4.c), byte for byte: qs = W, absmax (plain)
 *    or absmax_q, absmax_absmax, absmax_offset (double quant).  ingot's nf4
 *    IS bitsandbytes' (blocks of 64, same code book, same nibble order), so
 *    only a checkpoint with another block size or code book is refused.
 *
 * LLM.int8, for W (n_out, n_in) (prefix P = W without ".weight"):
 *   W               i8  (n_out, n_in)  codes, row-wise absmax: w = q * SCB / 127
 *   P.SCB           f32 (n_out)        the absmax of each row
 *   P.weight_format u8  ()             0 = "row", optional
 * -> ingot int8: qs = W, scales = SCB / 127 (f32, as ingot's quantizer computes it).
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convert/st_quant.h"
#include "util/util.h"

#define STATE_MAX_BYTES 4096 /* the quant_state JSON is ~200 bytes */

static bool is_float(ingot_dtype t)
{
    return t == INGOT_DT_F32 || t == INGOT_DT_F16 || t == INGOT_DT_BF16;
}

static int bad(const ingot_st_set *st, const ingot_st_tensor *t, const char *why, ingot_error *err)
{
    return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: %s", ingot_qsrc_file(st, t), t->name, why);
}

static const ingot_st_tensor *need(const ingot_st_set *st, const ingot_st_tensor *w,
                                   const char *prefix, const char *suffix, ingot_error *err)
{
    const ingot_st_tensor *t = ingot_qsrc_lookup(st, prefix, suffix);
    if (!t)
        ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s%s: missing (bitsandbytes stores it with %s)",
                   ingot_qsrc_file(st, w), prefix, suffix, w->name);
    return t;
}

/* ---- nf4: the quant_state JSON ---- */

static bool str_is(const json_t *v, const char *want)
{
    return json_is_string(v) && !strcmp(json_string_value(v), want);
}

static int state_int(const json_t *j, const char *key, long long want)
{
    const json_t *v = json_object_get(j, key);
    return json_is_integer(v) && json_integer_value(v) == want ? 0 : -1;
}

/* Checks the quant_state entry and reads nested_offset (double quant). */
static int check_state(const ingot_st_set *st, ingot_qsrc *q, bool nested, ingot_error *err)
{
    const ingot_st_tensor *t = q->t[QS_BNB_STATE];
    if (t->dtype != INGOT_DT_U8 || t->ndim != 1 || t->size > STATE_MAX_BYTES)
        return bad(st, t, "expected a u8 vector of JSON (at most 4096 bytes)", err);
    json_error_t je;
    json_t *j = json_loadb((const char *)t->data, t->size, JSON_REJECT_DUPLICATES, &je);
    const char *why = NULL;
    const json_t *shape = json_object_get(j, "shape");
    const json_t *off = json_object_get(j, "nested_offset");
    if (!json_is_object(j))
        why = "not a JSON object";
    else if (!str_is(json_object_get(j, "quant_type"), "nf4"))
        why = "quant_type is not \"nf4\"";
    else if (state_int(j, "blocksize", INGOT_NF4_BLOCK))
        why = "blocksize is not 64 (the only nf4 block size ingot stores)";
    else if (!json_is_array(shape) || json_array_size(shape) != 2 ||
             !json_is_integer(json_array_get(shape, 0)) ||
             !json_is_integer(json_array_get(shape, 1)) ||
             json_integer_value(json_array_get(shape, 0)) != q->n_out ||
             json_integer_value(json_array_get(shape, 1)) != q->n_in)
        why = "shape differs from the weight's [out, in]";
    else if (nested && state_int(j, "nested_blocksize", INGOT_NF4_DQ_BLOCK))
        why = "nested_blocksize is not 256";
    else if (nested && (!json_is_number(off) || !isfinite(json_number_value(off))))
        why = "nested_offset is not a finite number";
    else if (nested && json_object_get(j, "nested_dtype") &&
             !str_is(json_object_get(j, "nested_dtype"), "float32"))
        why = "nested_dtype is not \"float32\"";
    if (!why && nested)
        q->dq_offset = (float)json_number_value(off); /* bitsandbytes wrote offset.item() of an f32 */
    json_decref(j);
    return why ? bad(st, t, why, err) : 0;
}

/* A code book stored beside the weight must be exactly ingot's. */
static int check_map(const ingot_st_set *st, const ingot_st_tensor *t, const float *want, int n,
                     const char *what, ingot_error *err)
{
    if (ingot_qsrc_expect(st, t, INGOT_DT_F32, n, -1, err) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        float f;
        memcpy(&f, t->data + 4 * i, 4);
        if (memcmp(&f, &want[i], 4) != 0)
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                              "%s: %s: entry %d is %.9g, not %.9g of %s", ingot_qsrc_file(st, t),
                              t->name, i, (double)f, (double)want[i], what);
    }
    return 0;
}

static int find_nf4(const ingot_st_set *st, const ingot_st_tensor *w, ingot_qsrc *q,
                    ingot_error *err)
{
    const char *n = w->name;
    const ingot_st_tensor *state = ingot_qsrc_lookup(st, n, ".quant_state.bitsandbytes__nf4");
    if (!state && ingot_qsrc_lookup(st, n, ".quant_state.bitsandbytes__fp4"))
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: %s: bitsandbytes fp4 weights are not supported (only nf4)",
                          ingot_qsrc_file(st, w), n);
    if (q->n_in % INGOT_NF4_BLOCK)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: %s: %lld inputs, not a multiple of %d as ingot's nf4 needs",
                          ingot_qsrc_file(st, w), n, (long long)q->n_in, INGOT_NF4_BLOCK);
    q->t[QS_BNB_WEIGHT] = w;
    if (!(q->t[QS_BNB_STATE] = state ? state : need(st, w, n, ".quant_state.bitsandbytes__nf4", err)) ||
        !(q->t[QS_BNB_ABSMAX] = need(st, w, n, ".absmax", err)) ||
        !(q->t[QS_BNB_QUANT_MAP] = need(st, w, n, ".quant_map", err)))
        return -1;
    q->t[QS_BNB_NESTED_ABSMAX] = ingot_qsrc_lookup(st, n, ".nested_absmax");
    bool nested = q->t[QS_BNB_NESTED_ABSMAX] != NULL;
    if (nested && !(q->t[QS_BNB_NESTED_MAP] = need(st, w, n, ".nested_quant_map", err)))
        return -1;
    const int64_t half = q->n_out * (q->n_in / 2), nb = half / (INGOT_NF4_BLOCK / 2);
    q->fmt = &ingot_format_nf4;
    q->group_size = INGOT_NF4_BLOCK;
    q->variant = nested ? INGOT_NF4_DQ : INGOT_NF4_PLAIN;
    /* transformers keeps Params4bit's (n/2, 1); a flat (n/2) is the same bytes */
    bool flat = w->ndim == 1;
    if (ingot_qsrc_expect(st, w, INGOT_DT_U8, half, flat ? -1 : 1, err) != 0 ||
        ingot_qsrc_expect(st, q->t[QS_BNB_ABSMAX], nested ? INGOT_DT_U8 : INGOT_DT_F32, nb, -1,
                          err) != 0 ||
        check_state(st, q, nested, err) != 0 ||
        check_map(st, q->t[QS_BNB_QUANT_MAP], ingot_nf4_code, 16, "the NF4 code book", err) != 0)
        return -1;
    if (nested &&
        (ingot_qsrc_expect(st, q->t[QS_BNB_NESTED_ABSMAX], INGOT_DT_F32,
                           (nb + INGOT_NF4_DQ_BLOCK - 1) / INGOT_NF4_DQ_BLOCK, -1, err) != 0 ||
         check_map(st, q->t[QS_BNB_NESTED_MAP], ingot_dynamic_map(), 256,
                   "bitsandbytes' signed dynamic map", err) != 0))
        return -1;
    return 1;
}

/* ---- int8 ---- */

static int find_int8(const ingot_st_set *st, const ingot_st_tensor *w, ingot_qsrc *q,
                     ingot_error *err)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(strlen(w->name) - strlen(".weight")), w->name);
    q->t[QS_BNB8_WEIGHT] = w;
    if (!(q->t[QS_BNB8_SCB] = need(st, w, prefix, ".SCB", err)))
        return -1;
    q->fmt = &ingot_format_int8;
    if (ingot_qsrc_expect(st, w, INGOT_DT_I8, q->n_out, q->n_in, err) != 0 ||
        ingot_qsrc_expect(st, q->t[QS_BNB8_SCB], INGOT_DT_F32, q->n_out, -1, err) != 0)
        return -1;
    const ingot_st_tensor *f = ingot_qsrc_lookup(st, prefix, ".weight_format");
    q->t[QS_BNB8_FORMAT] = f;
    if (f && (f->dtype != INGOT_DT_U8 || f->ndim != 0 || f->size != 1 || f->data[0] != 0))
        return bad(st, f, "expected a u8 scalar 0 (the row-major format; others are not supported)",
                   err);
    return 1;
}

int ingot_qsrc_find_bnb(const ingot_hf_quant *hq, const ingot_st_set *st, const char *hf_name,
                        ingot_qsrc *q, ingot_error *err)
{
    const ingot_st_tensor *w = ingot_st_set_find(st, hf_name);
    if (w && is_float(w->dtype) && hq->method == INGOT_HFQ_BNB4 &&
        (ingot_qsrc_lookup(st, hf_name, ".quant_state.bitsandbytes__nf4") ||
         ingot_qsrc_lookup(st, hf_name, ".quant_state.bitsandbytes__fp4")))
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: %s: 4-bit codes packed in %s (bnb_4bit_quant_storage other than "
                          "uint8) are not supported",
                          ingot_qsrc_file(st, w), w->name, ingot_dtype_name(w->dtype));
    if (!w || is_float(w->dtype))
        return 0; /* a skipped module (lm_head, llm_int8_skip_modules), or missing */
    return hq->method == INGOT_HFQ_BNB4 ? find_nf4(st, w, q, err) : find_int8(st, w, q, err);
}

/* ---- unpacking ---- */

/* Copies n f32 from t, refusing NaN / Inf (and negative when nonneg). */
static int copy_f32(const ingot_st_set *st, const ingot_st_tensor *t, float *out, int64_t n,
                    bool nonneg, float div, ingot_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        float f;
        memcpy(&f, t->data + 4 * i, 4);
        if (!isfinite(f) || (nonneg && f < 0))
            return ingot_fail(err, INGOT_ERR_NONFINITE, "%s: %s: %g at element %lld",
                              ingot_qsrc_file(st, t), t->name, (double)f, (long long)i);
        out[i] = f / div;
    }
    return 0;
}

int ingot_qsrc_unpack_bnb(const ingot_qsrc *q, const ingot_st_set *st, void *const parts[],
                          ingot_error *err)
{
    const ingot_wlayout *l = &q->layout;
    if (q->method == INGOT_HFQ_BNB8) {
        memcpy(parts[INGOT_Q8_QS], q->t[QS_BNB8_WEIGHT]->data, l->p[INGOT_Q8_QS].bytes);
        /* ingot's int8 scale is absmax / 127 in f32, exactly what its quantizer stores */
        return copy_f32(st, q->t[QS_BNB8_SCB], parts[INGOT_Q8_SCALES], q->n_out, true, 127.0f, err);
    }
    memcpy(parts[INGOT_NF4_QS], q->t[QS_BNB_WEIGHT]->data, l->p[INGOT_NF4_QS].bytes);
    if (q->variant == INGOT_NF4_PLAIN)
        return copy_f32(st, q->t[QS_BNB_ABSMAX], parts[INGOT_NF4_ABSMAX],
                        l->p[INGOT_NF4_ABSMAX].shape[0], true, 1.0f, err);
    memcpy(parts[INGOT_NF4_ABSMAX_Q], q->t[QS_BNB_ABSMAX]->data, l->p[INGOT_NF4_ABSMAX_Q].bytes);
    *(float *)parts[INGOT_NF4_ABSMAX_OFFSET] = q->dq_offset;
    return copy_f32(st, q->t[QS_BNB_NESTED_ABSMAX], parts[INGOT_NF4_ABSMAX_ABSMAX],
                    l->p[INGOT_NF4_ABSMAX_ABSMAX].shape[0], true, 1.0f, err);
}
