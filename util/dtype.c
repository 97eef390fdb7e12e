/* dtype.c - names and sizes of tensor element types. */
#include "config.h"

#include <string.h>

#include "util/util.h"

static const struct {
    const char *name;    /* ingot name */
    const char *st_name; /* safetensors name, NULL for ingot-only formats */
    size_t size;         /* bytes per element, 0 for block formats */
} dtypes[INGOT_DT_COUNT] = {
    [INGOT_DT_F32] = {"f32", "F32", 4},
    [INGOT_DT_F16] = {"f16", "F16", 2},
    [INGOT_DT_BF16] = {"bf16", "BF16", 2},
    [INGOT_DT_F64] = {"f64", "F64", 8},
    [INGOT_DT_I64] = {"i64", "I64", 8},
    [INGOT_DT_I32] = {"i32", "I32", 4},
    [INGOT_DT_I16] = {"i16", "I16", 2},
    [INGOT_DT_I8] = {"i8", "I8", 1},
    [INGOT_DT_U8] = {"u8", "U8", 1},
    [INGOT_DT_BOOL] = {"bool", "BOOL", 1},
    [INGOT_DT_F8_E4M3] = {"f8_e4m3", "F8_E4M3", 1},
    [INGOT_DT_F8_E5M2] = {"f8_e5m2", "F8_E5M2", 1},
    [INGOT_DT_Q8] = {"int8", NULL, 0},
    [INGOT_DT_NF4] = {"nf4", NULL, 0},
    [INGOT_DT_Q4] = {"int4", NULL, 0},
    [INGOT_DT_Q5] = {"int5", NULL, 0},
    [INGOT_DT_Q6] = {"int6", NULL, 0},
};

const char *ingot_dtype_name(ingot_dtype t)
{
    return (unsigned)t < INGOT_DT_COUNT ? dtypes[t].name : NULL;
}

int ingot_dtype_from_name(const char *s)
{
    for (int i = 0; i < INGOT_DT_COUNT; i++)
        if (s && strcmp(s, dtypes[i].name) == 0)
            return i;
    return -1;
}

size_t ingot_dtype_size(ingot_dtype t)
{
    return (unsigned)t < INGOT_DT_COUNT ? dtypes[t].size : 0;
}

const char *ingot_dtype_st_name(ingot_dtype t)
{
    return (unsigned)t < INGOT_DT_COUNT ? dtypes[t].st_name : NULL;
}

int ingot_dtype_from_st_name(const char *s)
{
    for (int i = 0; i < INGOT_DT_COUNT; i++)
        if (s && dtypes[i].st_name && strcmp(s, dtypes[i].st_name) == 0)
            return i;
    return -1;
}
