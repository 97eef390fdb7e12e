/*
 * st_quant_int4.c - AutoAWQ GEMM and GPTQ linear weights -> ingot int4.
 *
 * ingot's int4 (formats/quant_int4.c) stores W (n_out, n_in) row-major:
 * qs u8 (n_out, n_in/2), even element in the low nibble; scales f16 and
 * zeros u8 (n_out, n_in/G); w = (q - zero) * scale.  Both peers dequantize
 * with the same formula from the same f16 scales, so reading them is a
 * permutation of nibbles (no re-rounding):
 *
 * AutoAWQ WQLinear_GEMM (awq/modules/linear/gemm.py from_linear,
 * awq/utils/packing_utils.py AWQ_ORDER; export/awq_pack.c writes it):
 *   qweight int32 (n_in, n_out/8):   nibble i of [k][c] = q[8c + ORDER[i]][k]
 *   qzeros  int32 (n_in/G, n_out/8): nibble i of [g][c] = zero[8c + ORDER[i]][g]
 *   scales  f16   (n_in/G, n_out)
 *
 * GPTQ (AutoGPTQ auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py, pack and
 * forward): packed along the INPUT dimension, in order:
 *   qweight int32 (n_in/8, n_out):   nibble j of [r][o] = q[o][8r + j]
 *   qzeros  int32 (n_in/G, n_out/8): nibble j of [g][c] = zero[8c + j][g] - 1
 *   scales  f16   (n_in/G, n_out);   g_idx int32 (n_in), optional, = k / G
 * The "- 1" is the v1 checkpoint format (checkpoint_format "gptq", AutoGPTQ
 * packs zeros - 1 and adds 1 back when it unpacks); GPTQModel's gptq_v2
 * stores the zero itself.  A v1 zero of 0 was stored as -1 (nibble 15) and
 * reads back as 16, which int4 cannot hold: an error.  desc_act (act-order)
 * checkpoints permute the groups through g_idx; hf_config.c refuses them
 * and a g_idx other than k / G is refused here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/st_quant.h"
#include "util/util.h"

/* AutoAWQ's AWQ_ORDER: nibble i of a packed word holds column 8c + AWQ_ORDER[i] */
static const int AWQ_ORDER[8] = {0, 2, 4, 6, 1, 3, 5, 7};

static const char *method_name(ingot_hfq_method m)
{
    return m == INGOT_HFQ_AWQ ? "AWQ" : "GPTQ";
}

/* A tensor that must come with qweight. */
static const ingot_st_tensor *companion(const ingot_st_set *st, const ingot_qsrc *q,
                                        const char *base, const char *suffix, ingot_error *err)
{
    const ingot_st_tensor *t = ingot_qsrc_lookup(st, base, suffix);
    if (!t)
        ingot_fail(err, INGOT_ERR_SHAPE, "%s: %s%s: missing (a %s checkpoint stores it with %s)",
                   ingot_qsrc_file(st, q->t[QS_AWQ_QWEIGHT]), base, suffix,
                   method_name(q->method), q->t[QS_AWQ_QWEIGHT]->name);
    return t;
}

/* g_idx must be the trivial k / G: anything else reorders the groups (act-order). */
static int check_gidx(const ingot_st_set *st, const ingot_qsrc *q, ingot_error *err)
{
    const ingot_st_tensor *t = q->t[QS_GPTQ_GIDX];
    if (ingot_qsrc_expect(st, t, INGOT_DT_I32, q->n_in, -1, err) != 0)
        return -1;
    for (int64_t k = 0; k < q->n_in; k++) {
        uint32_t v = ingot_qsrc_le32(t->data, k);
        if ((int64_t)(int32_t)v != k / q->group_size)
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                              "%s: %s: g_idx[%lld] is %d, not %lld: reordered groups "
                              "(act-order) are not supported",
                              ingot_qsrc_file(st, t), t->name, (long long)k, (int)(int32_t)v,
                              (long long)(k / q->group_size));
    }
    return 0;
}

int ingot_qsrc_find_int4(const ingot_hf_quant *hq, const ingot_st_set *st, const char *base,
                         ingot_qsrc *q, ingot_error *err)
{
    const ingot_st_tensor *qw = ingot_qsrc_lookup(st, base, ".qweight");
    if (!qw)
        return 0; /* a layer left in floats (or missing: plan.c says so) */
    q->t[QS_AWQ_QWEIGHT] = qw;
    if (!(q->t[QS_AWQ_QZEROS] = companion(st, q, base, ".qzeros", err)) ||
        !(q->t[QS_AWQ_SCALES] = companion(st, q, base, ".scales", err)))
        return -1;
    const int64_t n_out = q->n_out, n_in = q->n_in;
    const int64_t g = hq->group_size > 0 ? hq->group_size : n_in;
    if (n_in % g || n_out % 8)
        return ingot_fail(err, INGOT_ERR_SHAPE,
                          "%s: %s: a (%lld, %lld) weight does not split into groups of %lld "
                          "inputs and packs of 8 outputs",
                          ingot_qsrc_file(st, qw), qw->name, (long long)n_out, (long long)n_in,
                          (long long)g);
    const int64_t ng = n_in / g;
    q->fmt = &ingot_format_int4;
    q->group_size = (int)g;
    q->gptq_v2 = hq->gptq_v2;
    bool awq = hq->method == INGOT_HFQ_AWQ;
    if (ingot_qsrc_expect(st, qw, INGOT_DT_I32, awq ? n_in : n_in / 8, awq ? n_out / 8 : n_out,
                          err) != 0 ||
        ingot_qsrc_expect(st, q->t[QS_AWQ_QZEROS], INGOT_DT_I32, ng, n_out / 8, err) != 0 ||
        ingot_qsrc_expect(st, q->t[QS_AWQ_SCALES], INGOT_DT_F16, ng, n_out, err) != 0)
        return -1;
    if (!awq && (q->t[QS_GPTQ_GIDX] = ingot_qsrc_lookup(st, base, ".g_idx")) &&
        check_gidx(st, q, err) != 0)
        return -1;
    return 1;
}

/* ---- unpacking ---- */

static void put_code(uint8_t *qs /* (n_out, n_in/2) */, int64_t n_in, int64_t o, int64_t k,
                     unsigned code)
{
    qs[o * (n_in / 2) + k / 2] |= (uint8_t)(code << (4 * (k & 1))); /* even k: low nibble */
}

static void unpack_awq_codes(const ingot_qsrc *q, uint8_t *qs)
{
    const int64_t n_out = q->n_out, n_in = q->n_in;
    const uint8_t *w = q->t[QS_AWQ_QWEIGHT]->data; // (n_in, n_out/8)
    for (int64_t k = 0; k < n_in; k++)
        for (int64_t c = 0; c < n_out / 8; c++) {
            uint32_t v = ingot_qsrc_le32(w, k * (n_out / 8) + c);
            for (int i = 0; i < 8; i++)
                put_code(qs, n_in, 8 * c + AWQ_ORDER[i], k, (v >> (4 * i)) & 15u);
        }
}

static void unpack_gptq_codes(const ingot_qsrc *q, uint8_t *qs)
{
    const int64_t n_out = q->n_out, n_in = q->n_in;
    const uint8_t *w = q->t[QS_AWQ_QWEIGHT]->data; // (n_in/8, n_out)
    for (int64_t r = 0; r < n_in / 8; r++)
        for (int64_t o = 0; o < n_out; o++) {
            uint32_t v = ingot_qsrc_le32(w, r * n_out + o);
            for (int j = 0; j < 8; j++)
                put_code(qs, n_in, o, 8 * r + j, (v >> (4 * j)) & 15u);
        }
}

/* zeros (n_out, ng) from qzeros (ng, n_out/8); GPTQ v1 adds its 1 back. */
static int unpack_zeros(const ingot_qsrc *q, const ingot_st_set *st, uint8_t *zeros,
                        ingot_error *err)
{
    const ingot_st_tensor *t = q->t[QS_AWQ_QZEROS];
    const int64_t n_out = q->n_out, ng = q->n_in / q->group_size;
    const bool awq = q->method == INGOT_HFQ_AWQ;
    const unsigned add = awq || q->gptq_v2 ? 0 : 1;
    for (int64_t g = 0; g < ng; g++)
        for (int64_t c = 0; c < n_out / 8; c++) {
            uint32_t v = ingot_qsrc_le32(t->data, g * (n_out / 8) + c);
            for (int i = 0; i < 8; i++) {
                int64_t o = 8 * c + (awq ? AWQ_ORDER[i] : i);
                unsigned z = ((v >> (4 * i)) & 15u) + add;
                if (z > 15)
                    return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                                      "%s: %s: zero point 16 at group %lld, output %lld (a "
                                      "checkpoint_format gptq file stores zero 0 as -1), which "
                                      "int4 cannot hold",
                                      ingot_qsrc_file(st, t), t->name, (long long)g, (long long)o);
                zeros[o * ng + g] = (uint8_t)z;
            }
        }
    return 0;
}

/* scales (n_out, ng) from (ng, n_out); a NaN or Inf scale would poison every output. */
static int unpack_scales(const ingot_qsrc *q, const ingot_st_set *st, uint16_t *scales,
                         ingot_error *err)
{
    const ingot_st_tensor *t = q->t[QS_AWQ_SCALES];
    const int64_t n_out = q->n_out, ng = q->n_in / q->group_size;
    for (int64_t g = 0; g < ng; g++)
        for (int64_t o = 0; o < n_out; o++) {
            uint16_t h;
            memcpy(&h, t->data + 2 * (g * n_out + o), 2);
            if ((h & 0x7c00) == 0x7c00)
                return ingot_fail(err, INGOT_ERR_NONFINITE, "%s: %s: %s at group %lld, output %lld",
                                  ingot_qsrc_file(st, t), t->name, h & 0x3ff ? "NaN" : "Inf",
                                  (long long)g, (long long)o);
            scales[o * ng + g] = h;
        }
    return 0;
}

int ingot_qsrc_unpack_int4(const ingot_qsrc *q, const ingot_st_set *st, void *const parts[],
                           ingot_error *err)
{
    uint8_t *qs = parts[INGOT_Q4_QS];
    memset(qs, 0, q->layout.p[INGOT_Q4_QS].bytes);
    if (q->method == INGOT_HFQ_AWQ)
        unpack_awq_codes(q, qs);
    else
        unpack_gptq_codes(q, qs);
    if (unpack_zeros(q, st, parts[INGOT_Q4_ZEROS], err) != 0)
        return -1;
    return unpack_scales(q, st, parts[INGOT_Q4_SCALES], err);
}
