/*
 * float.c - the plain float weight types bf16, f16 and f32: one part "data"
 * (n_out, n_in) of the type itself.  They have no quantizer (converting to
 * them is quant/'s business); their dequantization is the exact conversion
 * to f32.
 */
#include "config.h"

#include <string.h>

#include "formats/formats.h"
#include "util/util.h"

static int float_group_size(int requested)
{
    (void)requested;
    return 0;
}

static int float_layout(const ingot_format *f, int64_t n_out, int64_t n_in, int group_size,
                        int variant, ingot_wpart *p, const char *tensor, ingot_error *err)
{
    ingot_wpart_set(&p[INGOT_F_DATA], f->type, n_out, n_in);
    return 0;
}

static void f32_dequantize(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    const float *d = (const float *)w->part[INGOT_F_DATA] + (size_t)o * (size_t)w->n_in;
    memcpy(out, d + k0, (size_t)(k1 - k0) * sizeof(float));
}

static void f16_dequantize(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    const uint16_t *d = (const uint16_t *)w->part[INGOT_F_DATA] + (size_t)o * (size_t)w->n_in;
    for (int k = k0; k < k1; k++)
        out[k - k0] = ingot_f16_to_f32(d[k]);
}

static void bf16_dequantize(const ingot_wmat *w, int o, int k0, int k1, float *out)
{
    const uint16_t *d = (const uint16_t *)w->part[INGOT_F_DATA] + (size_t)o * (size_t)w->n_in;
    for (int k = k0; k < k1; k++)
        out[k - k0] = ingot_bf16_to_f32(d[k]);
}

static const ingot_format_variant float_variants[] = {
    {"plain", 1, {"data"}},
};

#define FLOAT_FORMAT(NAME, TYPE, DEQ)                                                          \
    {                                                                                          \
        .name = NAME, .type = TYPE, .quantized = false, .n_variants = 1,                       \
        .variants = float_variants, .group_size = float_group_size, .layout = float_layout,    \
        .dequantize = DEQ,                                                                     \
    }

const ingot_format ingot_format_bf16 = FLOAT_FORMAT("bf16", INGOT_DT_BF16, bf16_dequantize);
const ingot_format ingot_format_f16 = FLOAT_FORMAT("f16", INGOT_DT_F16, f16_dequantize);
const ingot_format ingot_format_f32 = FLOAT_FORMAT("f32", INGOT_DT_F32, f32_dequantize);
