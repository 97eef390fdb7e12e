/*
 * awq_pack.c - int4 parts -> AutoAWQ's GEMM layout.
 *
 * ingot's int4 (formats/quant_int4.c) stores W (n_out, n_in) row-major:
 * qs u8 (n_out, n_in/2) with the even element in the low nibble, scales f16
 * and zeros u8 (n_out, n_in/G).  AutoAWQ's WQLinear_GEMM
 * (awq/modules/linear/gemm.py, from_linear) stores the transpose, eight
 * codes per int32 in the order of AWQ_ORDER (awq/utils/packing_utils.py):
 *
 *   qweight int32 (n_in, n_out/8):   nibble i of [k][c] = q[8c + ORDER[i]][k]
 *   qzeros  int32 (n_in/G, n_out/8): nibble i of [g][c] = zero[8c + ORDER[i]][g]
 *   scales  f16   (n_in/G, n_out):   [g][o] = scale[o][g]
 *
 * AutoAWQ computes the codes from the f16 scales it stores, as ingot does
 * (docs/QUANT_FORMATS.md), so this is a permutation with no re-rounding.
 */
#include "config.h"

#include <string.h>

#include "export/export.h"

const int INGOT_AWQ_ORDER[8] = {0, 2, 4, 6, 1, 3, 5, 7};

static inline unsigned code_at(const uint8_t *qs, int64_t n_in, int64_t o, int64_t k)
{
    uint8_t b = qs[o * (n_in / 2) + k / 2];
    return (k & 1) ? b >> 4 : b & 15u;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void ingot_awq_pack_rows(const ingot_wmat *w, ingot_awq_array a, int64_t r0, int64_t r1,
                         void *out)
{
    const int64_t n_out = w->n_out, n_in = w->n_in, ng = n_in / w->group_size;
    const uint8_t *qs = w->part[INGOT_Q4_QS];
    const uint16_t *scales = w->part[INGOT_Q4_SCALES];
    const uint8_t *zeros = w->part[INGOT_Q4_ZEROS];
    uint8_t *o8 = out;
    for (int64_t r = r0; r < r1; r++) {
        switch (a) {
        case INGOT_AWQ_QWEIGHT: /* r is an input k */
            for (int64_t c = 0; c < n_out / 8; c++) {
                uint32_t v = 0;
                for (int i = 0; i < 8; i++)
                    v |= (uint32_t)code_at(qs, n_in, 8 * c + INGOT_AWQ_ORDER[i], r) << (4 * i);
                put_le32(o8 + ((r - r0) * (n_out / 8) + c) * 4, v);
            }
            break;
        case INGOT_AWQ_QZEROS: /* r is a group g */
            for (int64_t c = 0; c < n_out / 8; c++) {
                uint32_t v = 0;
                for (int i = 0; i < 8; i++)
                    v |= (uint32_t)(zeros[(8 * c + INGOT_AWQ_ORDER[i]) * ng + r] & 15u) << (4 * i);
                put_le32(o8 + ((r - r0) * (n_out / 8) + c) * 4, v);
            }
            break;
        case INGOT_AWQ_SCALES: /* r is a group g */
            for (int64_t o = 0; o < n_out; o++) {
                uint16_t s = scales[o * ng + r];
                memcpy(o8 + ((r - r0) * n_out + o) * 2, &s, 2);
            }
            break;
        }
    }
}
