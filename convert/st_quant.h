/*
 * st_quant.h - linear weights another tool stored quantized (internal):
 *
 *   st_quant_int4.c  AutoAWQ GEMM and GPTQ (desc_act false) -> int4
 *   st_quant_bnb.c   bitsandbytes nf4 (plain, double quant) -> nf4,
 *                    LLM.int8 (weight + SCB) -> int8
 *   st_quant.c       the dispatch and the checks they share
 *
 * plan.c recognises the method from config.json's quantization_config
 * (hf_config.c) and asks, for every linear weight, which checkpoint tensors
 * hold it.  Everything is checked before conversion starts: every tensor's
 * presence, dtype and exact shape (so its size, which st_reader checked
 * against the shape with overflow-checked arithmetic), and the bitsandbytes
 * quant_state.  Unpacking (during conversion) then only rearranges bits; the
 * few values ingot cannot hold (a GPTQ v1 zero point of 16, a non-finite
 * scale) are errors naming the file and tensor.
 */
#ifndef INGOT_ST_QUANT_H
#define INGOT_ST_QUANT_H

#include <stdint.h>

#include "convert/hf_config.h"
#include "convert/st_set.h"
#include "formats/formats.h"

#define INGOT_QSRC_MAX 6

/* The checkpoint tensors of one weight, by role (index into ingot_qsrc.t). */
enum { QS_AWQ_QWEIGHT = 0, QS_AWQ_QZEROS, QS_AWQ_SCALES, QS_GPTQ_GIDX };
enum {
    QS_BNB_WEIGHT = 0,
    QS_BNB_ABSMAX,
    QS_BNB_QUANT_MAP,
    QS_BNB_STATE,        /* weight.quant_state.bitsandbytes__nf4: JSON bytes */
    QS_BNB_NESTED_ABSMAX,
    QS_BNB_NESTED_MAP,
};
enum { QS_BNB8_WEIGHT = 0, QS_BNB8_SCB, QS_BNB8_FORMAT };

/** One quantized linear weight of a checkpoint and the ingot parts it becomes. */
typedef struct ingot_qsrc {
    ingot_hfq_method method;
    const ingot_format *fmt;                  /* int4, nf4 or int8 */
    int group_size, variant;                  /* as the wmat / manifest take them */
    int64_t n_out, n_in;
    ingot_wlayout layout;                     /* ingot's parts, in wmat order */
    const ingot_st_tensor *t[INGOT_QSRC_MAX]; /* by the roles above; NULL when absent */
    bool gptq_v2;                             /* gptq: zeros stored as is */
    float dq_offset;                          /* bnb double quant: nested_offset */
    uint64_t src_bytes;                       /* bytes of all of t[] */
} ingot_qsrc;

/**
 * Finds the tensors of linear weight hf_name ("....q_proj.weight", shape
 * (n_out, n_in)) for quantization hq.
 * @return 1 with *q filled when the checkpoint stores it quantized, 0 when
 *         it stores it as a plain float tensor under hf_name (layers the
 *         quantizer skipped), -1 with err "<file>: <tensor>: <why>".
 */
int ingot_qsrc_find(const ingot_hf_quant *hq, const ingot_st_set *st, const char *hf_name,
                    int64_t n_out, int64_t n_in, ingot_qsrc *q, ingot_error *err);

/**
 * Unpacks q into parts (allocated by the caller, sized and ordered as
 * q->layout).  @return 0, or -1 with err naming the file and tensor of a
 * value ingot's format cannot hold.
 */
int ingot_qsrc_unpack(const ingot_qsrc *q, const ingot_st_set *st, void *const parts[],
                      ingot_error *err);

/** @return whether t is one of q's tensors. */
bool ingot_qsrc_uses(const ingot_qsrc *q, const ingot_st_tensor *t);

/**
 * Whether t is a bias the checkpoint carries although the model has none:
 * GPTQ-for-LLaMa and some AutoGPTQ versions save an all-zero "P.bias" next
 * to every "P.qweight".  Such a tensor adds nothing and is skipped; a
 * nonzero one stays an unexpected tensor.
 */
bool ingot_qsrc_spare_bias(const ingot_hf_quant *hq, const ingot_st_set *st,
                           const ingot_st_tensor *t);

/* ---- for the readers ---- */

int ingot_qsrc_find_int4(const ingot_hf_quant *hq, const ingot_st_set *st, const char *base,
                         ingot_qsrc *q, ingot_error *err);
int ingot_qsrc_unpack_int4(const ingot_qsrc *q, const ingot_st_set *st, void *const parts[],
                           ingot_error *err);
int ingot_qsrc_find_bnb(const ingot_hf_quant *hq, const ingot_st_set *st, const char *hf_name,
                        ingot_qsrc *q, ingot_error *err);
int ingot_qsrc_unpack_bnb(const ingot_qsrc *q, const ingot_st_set *st, void *const parts[],
                          ingot_error *err);

/** The file holding t, for messages. */
const char *ingot_qsrc_file(const ingot_st_set *st, const ingot_st_tensor *t);

/**
 * Checks that t has dtype dt and shape (d0) (d1 < 0) or (d0, d1).
 * @return 0, or -1 with err "<file>: <tensor>: expected I32 [a, b], found F16 [c]".
 */
int ingot_qsrc_expect(const ingot_st_set *st, const ingot_st_tensor *t, ingot_dtype dt,
                      int64_t d0, int64_t d1, ingot_error *err);

/** The tensor "<prefix><suffix>", or NULL (also when the name is too long). */
const ingot_st_tensor *ingot_qsrc_lookup(const ingot_st_set *st, const char *prefix,
                                         const char *suffix);

/** Little-endian 32-bit word i of p. */
static inline uint32_t ingot_qsrc_le32(const uint8_t *p, int64_t i)
{
    p += 4 * i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif /* INGOT_ST_QUANT_H */
