/*
 * bnb_pack.c - the pieces of a bitsandbytes checkpoint that are not plain
 * copies of ingot's parts (export.c copies those: nf4 qs is bitsandbytes'
 * packed weight, absmax / absmax_q / absmax_absmax its absmax and
 * nested_absmax, int8 qs its int8 weight):
 *
 *   the quant_state entry   QuantState.as_dict(packed=True)
 *                           (bitsandbytes/functional.py) packs the
 *                           non-tensor items as json.dumps(...) in UTF-8
 *                           bytes, a uint8 tensor named
 *                           "weight.quant_state.bitsandbytes__nf4";
 *   SCB                     Linear8bitLt saves the absmax of each row, and
 *                           dequantizes q * SCB / 127; ingot stores the
 *                           scale absmax / 127, so SCB is the f32 whose
 *                           division by 127 gives that scale back exactly
 *                           (convert/st_quant_bnb.c divides, so the round
 *                           trip is byte for byte).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"

/* Python's repr of a float: the shortest text that reads back as the same double. */
static void py_float(char *buf, size_t len, double v)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".en")) /* repr(1.0) is "1.0"; "inf"/"nan" cannot occur here */
        strncat(buf, ".0", len - strlen(buf) - 1);
}

char *ingot_bnb_nf4_state(int64_t n_out, int64_t n_in, const char *dtype, bool nested,
                          float offset)
{
    char off[40], *s = malloc(512);
    if (!s)
        return NULL;
    /* json.dumps' default separators, keys in as_dict's order */
    int k = snprintf(s, 512,
                     "{\"quant_type\": \"nf4\", \"blocksize\": %d, \"dtype\": \"%s\", "
                     "\"shape\": [%lld, %lld]",
                     INGOT_NF4_BLOCK, dtype, (long long)n_out, (long long)n_in);
    if (nested) {
        py_float(off, sizeof off, (double)offset);
        k += snprintf(s + k, 512 - (size_t)k,
                      ", \"nested_blocksize\": %d, \"nested_dtype\": \"float32\", "
                      "\"nested_offset\": %s",
                      INGOT_NF4_DQ_BLOCK, off);
    }
    snprintf(s + k, 512 - (size_t)k, "}");
    return s;
}

/* The f32 a with a / 127 == s (f32 division), nearest to s * 127; -1 when none is. */
static int scb_of(float s, float *out)
{
    float a = s * 127.0f;
    if (a / 127.0f == s) {
        *out = a;
        return 0;
    }
    /* s came from some absmax / 127, which lies within a few ulps of s * 127 */
    float up = a, down = a;
    for (int i = 0; i < 8; i++) {
        up = nextafterf(up, INFINITY);
        down = nextafterf(down, -INFINITY);
        if (up / 127.0f == s) {
            *out = up;
            return 0;
        }
        if (down / 127.0f == s) {
            *out = down;
            return 0;
        }
    }
    return -1;
}

int ingot_bnb_scb(const ingot_wmat *w, float *scb /* (n_out) */, int *bad_row)
{
    const float *scales = w->part[INGOT_Q8_SCALES]; // (n_out)
    for (int o = 0; o < w->n_out; o++)
        if (!(scales[o] >= 0.0f) || !isfinite(scales[o]) || scb_of(scales[o], &scb[o]) != 0) {
            *bad_row = o;
            return -1;
        }
    return 0;
}
