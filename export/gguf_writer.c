/*
 * gguf_writer.c - the GGUF v3 container (layout in gguf.h): metadata and
 * tensor infos serialized into growing buffers, then written in one go
 * before the tensor data.  GGUF is little-endian; values are copied as they
 * are in memory, as the rest of ingot does for safetensors and its own
 * artifact (little-endian hosts only).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/gguf.h"
#include "util/util.h"

static const uint32_t GGUF_MAGIC = 0x46554747; /* "GGUF" little-endian */

const char *ingot_ggml_type_name(ingot_ggml_type t)
{
    switch (t) {
    case INGOT_GGML_F32: return "f32";
    case INGOT_GGML_F16: return "f16";
    case INGOT_GGML_Q4_1: return "q4_1";
    case INGOT_GGML_Q5_1: return "q5_1";
    case INGOT_GGML_Q8_0: return "q8_0";
    case INGOT_GGML_BF16: return "bf16";
    }
    return "?";
}

uint64_t ingot_ggml_row_bytes(ingot_ggml_type t, int64_t n)
{
    switch (t) {
    case INGOT_GGML_F32: return 4 * (uint64_t)n;
    case INGOT_GGML_F16:
    case INGOT_GGML_BF16: return 2 * (uint64_t)n;
    case INGOT_GGML_Q4_1: return (uint64_t)(n / INGOT_GGML_QK) * INGOT_GGML_Q4_1_BYTES;
    case INGOT_GGML_Q5_1: return (uint64_t)(n / INGOT_GGML_QK) * INGOT_GGML_Q5_1_BYTES;
    case INGOT_GGML_Q8_0: return (uint64_t)(n / INGOT_GGML_QK) * INGOT_GGML_Q8_0_BYTES;
    }
    return 0;
}

static bool blocked(ingot_ggml_type t)
{
    return t == INGOT_GGML_Q4_1 || t == INGOT_GGML_Q5_1 || t == INGOT_GGML_Q8_0;
}

static uint64_t align_up(uint64_t n)
{
    return (n + INGOT_GGUF_ALIGN - 1) / INGOT_GGUF_ALIGN * INGOT_GGUF_ALIGN;
}

void ingot_gguf_init(ingot_gguf *g)
{
    memset(g, 0, sizeof *g);
}

void ingot_gguf_free(ingot_gguf *g)
{
    free(g->kv);
    free(g->ti);
    memset(g, 0, sizeof *g);
}

/* Appends len bytes to the buffer *buf (*len used, *cap allocated). */
static void put(ingot_gguf *g, uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (g->nomem)
        return;
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        uint8_t *b = realloc(*buf, c);
        if (!b) {
            g->nomem = true;
            return;
        }
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

static void kv_put(ingot_gguf *g, const void *p, size_t n)
{
    put(g, &g->kv, &g->kv_len, &g->kv_cap, p, n);
}

static void kv_string(ingot_gguf *g, const char *s, size_t len)
{
    uint64_t n = len;
    kv_put(g, &n, 8);
    kv_put(g, s, len);
}

static void kv_key(ingot_gguf *g, const char *key, ingot_gguf_vtype t)
{
    uint32_t type = (uint32_t)t;
    kv_string(g, key, strlen(key));
    kv_put(g, &type, 4);
    g->n_kv++;
}

void ingot_gguf_kv_u32(ingot_gguf *g, const char *key, uint32_t v)
{
    kv_key(g, key, INGOT_GGUF_U32);
    kv_put(g, &v, 4);
}

void ingot_gguf_kv_f32(ingot_gguf *g, const char *key, float v)
{
    kv_key(g, key, INGOT_GGUF_F32);
    kv_put(g, &v, 4);
}

void ingot_gguf_kv_bool(ingot_gguf *g, const char *key, bool v)
{
    uint8_t b = v ? 1 : 0;
    kv_key(g, key, INGOT_GGUF_BOOL);
    kv_put(g, &b, 1);
}

void ingot_gguf_kv_strn(ingot_gguf *g, const char *key, const char *s, size_t len)
{
    kv_key(g, key, INGOT_GGUF_STRING);
    kv_string(g, s, len);
}

void ingot_gguf_kv_str(ingot_gguf *g, const char *key, const char *s)
{
    ingot_gguf_kv_strn(g, key, s, strlen(s));
}

void ingot_gguf_kv_array(ingot_gguf *g, const char *key, ingot_gguf_vtype t, uint64_t n)
{
    uint32_t type = (uint32_t)t;
    kv_key(g, key, INGOT_GGUF_ARRAY);
    kv_put(g, &type, 4);
    kv_put(g, &n, 8);
}

void ingot_gguf_push_str(ingot_gguf *g, const char *s, size_t len)
{
    kv_string(g, s, len);
}

void ingot_gguf_push_i32(ingot_gguf *g, int32_t v)
{
    kv_put(g, &v, 4);
}

uint64_t ingot_gguf_tensor(ingot_gguf *g, const char *name, int ndim, const int64_t ne[2],
                           ingot_ggml_type type, ingot_error *err)
{
    if (blocked(type) && ne[0] % INGOT_GGML_QK) {
        ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                   "%s: rows of %lld weights are not whole %s blocks of %d", name,
                   (long long)ne[0], ingot_ggml_type_name(type), INGOT_GGML_QK);
        return 0;
    }
    uint64_t bytes = ingot_ggml_row_bytes(type, ne[0]) * (ndim > 1 ? (uint64_t)ne[1] : 1);
    uint64_t n = strlen(name), dims[2] = {(uint64_t)ne[0], ndim > 1 ? (uint64_t)ne[1] : 0};
    uint32_t nd = (uint32_t)ndim, t = (uint32_t)type;
    put(g, &g->ti, &g->ti_len, &g->ti_cap, &n, 8);
    put(g, &g->ti, &g->ti_len, &g->ti_cap, name, n);
    put(g, &g->ti, &g->ti_len, &g->ti_cap, &nd, 4);
    put(g, &g->ti, &g->ti_len, &g->ti_cap, dims, 8 * (size_t)ndim);
    put(g, &g->ti, &g->ti_len, &g->ti_cap, &t, 4);
    put(g, &g->ti, &g->ti_len, &g->ti_cap, &g->data_size, 8);
    g->data_size += align_up(bytes);
    g->n_tensors++;
    return bytes;
}

uint64_t ingot_gguf_header_bytes(const ingot_gguf *g)
{
    return align_up(4 + 4 + 8 + 8 + g->kv_len + g->ti_len);
}

static int write_or_fail(int fd, const void *p, uint64_t n, const char *what, ingot_error *err)
{
    if (ingot_write_all(fd, p, n) != 0)
        return ingot_fail(err, INGOT_ERR_IO, "%s: write: %s", what, strerror(errno));
    return 0;
}

int ingot_gguf_write_header(const ingot_gguf *g, int fd, const char *what, ingot_error *err)
{
    if (g->nomem)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
    uint32_t head[2] = {GGUF_MAGIC, INGOT_GGUF_VERSION};
    uint64_t counts[2] = {g->n_tensors, g->n_kv};
    if (write_or_fail(fd, head, sizeof head, what, err) != 0 ||
        write_or_fail(fd, counts, sizeof counts, what, err) != 0 ||
        write_or_fail(fd, g->kv, g->kv_len, what, err) != 0 ||
        write_or_fail(fd, g->ti, g->ti_len, what, err) != 0)
        return -1;
    uint64_t used = 4 + 4 + 8 + 8 + g->kv_len + g->ti_len;
    if (ingot_gguf_write_pad(fd, used) != 0)
        return ingot_fail(err, INGOT_ERR_IO, "%s: write: %s", what, strerror(errno));
    return 0;
}

int ingot_gguf_write_pad(int fd, uint64_t bytes)
{
    static const uint8_t zeros[INGOT_GGUF_ALIGN];
    uint64_t pad = align_up(bytes) - bytes;
    return pad ? ingot_write_all(fd, zeros, pad) : 0;
}
