/*
 * st_reader.c - parsing and validating one .safetensors file.
 *
 * Layout: u64 LE header length N, N bytes of UTF-8 JSON (padded with spaces),
 * then the data buffer.  The header maps tensor names to {dtype, shape,
 * data_offsets [begin, end]} relative to the data buffer, plus an optional
 * "__metadata__" object of strings.
 *
 * The checks are those of SafeTensors::read_metadata in the reference
 * implementation, so that ingot accepts the files the reference accepts,
 * apart from these extra limits: no duplicate JSON keys (the reference keeps
 * the last one silently), ndim <= 8, integers that fit in int64, no "\u0000"
 * in strings, and the dtypes ingot knows.  Like the reference, JSON
 * whitespace may precede the object and unknown fields of an entry are
 * ignored.  In order:
 *   1. file >= 8 bytes; N <= 100,000,000; 8 + N <= file size;
 *   2. header is UTF-8, then a JSON object;
 *   3. per tensor: known dtype, shape of non-negative integers, begin <= end,
 *      end - begin == product(shape) x dtype size without overflow;
 *   4. tensors sorted by (begin, end) tile the data buffer exactly: first
 *      begin 0, each begin == previous end, last end == buffer size.
 * JSON key order does not matter (writers order keys by name but data by
 * dtype alignment), which is why step 4 sorts first.
 */
#include "config.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/st_reader.h"
#include "util/util.h"

struct ingot_st_file {
    char *path;
    ingot_map map;
    int n;
    ingot_st_tensor *t; /* sorted by name */
    char *names;        /* arena holding every t[i].name */
    json_t *metadata;   /* the __metadata__ object, or NULL */
};

/* What a tensor entry says before placement: offsets relative to the buffer. */
typedef struct span {
    uint64_t begin, end;
    int index; /* into f->t */
} span;

/* Context for one parse: keeps error calls short. */
typedef struct parse_ctx {
    ingot_st_file *f;
    ingot_error *err;
    uint64_t header_len;
    uint64_t buf_size; /* bytes after the header */
    span *spans;
} parse_ctx;

/* dtypes of the reference implementation that ingot does not handle: a file
 * using them is valid, so it gets "unsupported" rather than "format". */
static const char *const st_unsupported_dtypes[] = {
    "U16", "U32", "U64", "C64", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "I4", "U4",
};

/* ------------------------------------------------------------------ small helpers */

static uint64_t read_u64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* @return the offset of the first byte that is not valid UTF-8 (as Rust's
 * str::from_utf8 defines it: no overlongs, surrogates or code points above
 * U+10FFFF), or n when all is valid. */
static size_t utf8_bad_at(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

/* Writes "[a, b, c]" into buf (truncated if long). */
static const char *fmt_shape(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
    return buf;
}

/* Error naming the file and a field or tensor. */
#define FAIL(ctx, code, what, fmt, ...) \
    ingot_fail((ctx)->err, (code), "%s: %s: " fmt, (ctx)->f->path, (what), ##__VA_ARGS__)

/* ------------------------------------------------------------------ header */

/* Step 1: the length prefix.  Sets *hdr and ctx->header_len / buf_size. */
static int read_prefix(parse_ctx *c, const char **hdr)
{
    const ingot_map *m = &c->f->map;
    if (m->size < 8)
        return FAIL(c, INGOT_ERR_FORMAT, "header length",
                    "file is %zu bytes, too short for the 8-byte header length", m->size);
    uint64_t n = read_u64_le(m->data);
    if (n > INGOT_ST_MAX_HEADER)
        return FAIL(c, INGOT_ERR_FORMAT, "header length",
                    "%" PRIu64 " bytes exceeds the limit of %llu", n, INGOT_ST_MAX_HEADER);
    if (8 + n > m->size)
        return FAIL(c, INGOT_ERR_FORMAT, "header length",
                    "%" PRIu64 " bytes runs past the end of the file (%zu bytes)", n, m->size);
    c->header_len = n;
    c->buf_size = m->size - 8 - n;
    *hdr = (const char *)m->data + 8;
    return 0;
}

/* Step 2: UTF-8 and JSON.  @return the parsed object or NULL. */
static json_t *parse_json(parse_ctx *c, const char *hdr)
{
    size_t bad = utf8_bad_at((const uint8_t *)hdr, c->header_len);
    if (bad < c->header_len) {
        FAIL(c, INGOT_ERR_FORMAT, "header", "invalid UTF-8 at byte %zu", bad);
        return NULL;
    }
    /* Duplicate keys would let two readers see different tensors. */
    json_error_t je;
    json_t *root = json_loadb(hdr, c->header_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        FAIL(c, INGOT_ERR_FORMAT, "header", "invalid JSON at byte %d: %s", je.position,
             je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        FAIL(c, INGOT_ERR_FORMAT, "header", "not a JSON object");
        return NULL;
    }
    return root;
}

static int parse_metadata(parse_ctx *c, json_t *meta)
{
    if (json_is_null(meta)) /* the reference reads it as an Option */
        return 0;
    if (!json_is_object(meta))
        return FAIL(c, INGOT_ERR_FORMAT, "__metadata__", "not an object of strings");
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (!json_is_string(v))
            return FAIL(c, INGOT_ERR_FORMAT, "__metadata__", "value of \"%s\" is not a string",
                        k);
    }
    c->f->metadata = json_incref(meta);
    return 0;
}

/* ------------------------------------------------------------------ one tensor */

static int parse_dtype(parse_ctx *c, const char *name, json_t *e, ingot_st_tensor *t)
{
    json_t *d = json_object_get(e, "dtype");
    if (!json_is_string(d))
        return FAIL(c, INGOT_ERR_FORMAT, name, "dtype: %s", d ? "not a string" : "missing");
    const char *s = json_string_value(d);
    int dt = ingot_dtype_from_st_name(s);
    if (dt >= 0) {
        t->dtype = (ingot_dtype)dt;
        return 0;
    }
    for (size_t i = 0; i < INGOT_ARRAY_LEN(st_unsupported_dtypes); i++)
        if (strcmp(s, st_unsupported_dtypes[i]) == 0)
            return FAIL(c, INGOT_ERR_UNSUPPORTED, name, "dtype %s is not supported by ingot", s);
    return FAIL(c, INGOT_ERR_FORMAT, name, "unknown dtype \"%s\"", s);
}

/* @return 0 with *out set when v is an integer >= 0. */
static int get_uint(json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int parse_shape(parse_ctx *c, const char *name, json_t *e, ingot_st_tensor *t)
{
    json_t *s = json_object_get(e, "shape");
    if (!json_is_array(s))
        return FAIL(c, INGOT_ERR_FORMAT, name, "shape: %s", s ? "not an array" : "missing");
    size_t nd = json_array_size(s);
    if (nd > INGOT_ST_MAX_NDIM)
        return FAIL(c, INGOT_ERR_UNSUPPORTED, name, "shape has %zu dimensions, at most %d supported",
                    nd, INGOT_ST_MAX_NDIM);
    t->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        if (get_uint(json_array_get(s, i), &d) != 0)
            return FAIL(c, INGOT_ERR_FORMAT, name, "shape[%zu]: not a non-negative integer", i);
        t->shape[i] = (int64_t)d;
    }
    return 0;
}

static int parse_offsets(parse_ctx *c, const char *name, json_t *e, span *sp)
{
    json_t *o = json_object_get(e, "data_offsets");
    if (!o)
        return FAIL(c, INGOT_ERR_FORMAT, name, "data_offsets: missing");
    if (!json_is_array(o) || json_array_size(o) != 2 ||
        get_uint(json_array_get(o, 0), &sp->begin) != 0 ||
        get_uint(json_array_get(o, 1), &sp->end) != 0)
        return FAIL(c, INGOT_ERR_FORMAT, name,
                    "data_offsets: not a pair [begin, end] of non-negative integers");
    if (sp->begin > sp->end)
        return FAIL(c, INGOT_ERR_FORMAT, name,
                    "data_offsets [%" PRIu64 ", %" PRIu64 "]: begin is after end", sp->begin,
                    sp->end);
    return 0;
}

/* end - begin must be exactly the bytes the shape needs.  The product is
 * folded left to right with overflow checks, like the reference, so a file
 * the reference calls overflowing is refused here too. */
static int check_size(parse_ctx *c, const char *name, const ingot_st_tensor *t, const span *sp)
{
    char sh[256];
    const char *dn = ingot_dtype_st_name(t->dtype);
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        if (!ingot_mul_u64(n, (uint64_t)t->shape[i], &n))
            return FAIL(c, INGOT_ERR_FORMAT, name, "shape %s overflows 64 bits",
                        fmt_shape(t->shape, t->ndim, sh, sizeof sh));
    uint64_t bytes;
    if (!ingot_mul_u64(n, ingot_dtype_size(t->dtype), &bytes))
        return FAIL(c, INGOT_ERR_FORMAT, name, "shape %s of %s overflows a 64-bit byte count",
                    fmt_shape(t->shape, t->ndim, sh, sizeof sh), dn);
    if (sp->end - sp->begin != bytes)
        return FAIL(c, INGOT_ERR_FORMAT, name,
                    "data_offsets [%" PRIu64 ", %" PRIu64 "] but shape %s of %s needs %" PRIu64
                    " bytes",
                    sp->begin, sp->end, fmt_shape(t->shape, t->ndim, sh, sizeof sh), dn, bytes);
    return 0;
}

/* Step 3 for one entry; name is already copied into t->name. */
static int parse_tensor(parse_ctx *c, json_t *e, ingot_st_tensor *t, span *sp)
{
    const char *name = t->name;
    if (!json_is_object(e))
        return FAIL(c, INGOT_ERR_FORMAT, name, "not an object {dtype, shape, data_offsets}");
    if (parse_dtype(c, name, e, t) != 0 || parse_shape(c, name, e, t) != 0 ||
        parse_offsets(c, name, e, sp) != 0 || check_size(c, name, t, sp) != 0)
        return -1;
    t->size = sp->end - sp->begin;
    return 0;
}

/* ------------------------------------------------------------------ layout */

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->index - y->index; /* stable for equal spans: deterministic messages */
}

/* Step 4: the spans, sorted, must tile [0, buf_size) with no gap or overlap. */
static int check_layout(parse_ctx *c)
{
    ingot_st_file *f = c->f;
    qsort(c->spans, (size_t)f->n, sizeof *c->spans, cmp_span);
    uint64_t at = 0;
    const span *prev = NULL;
    for (int i = 0; i < f->n; i++) {
        const span *s = &c->spans[i];
        const char *name = f->t[s->index].name;
        if (s->begin > at && prev)
            return FAIL(c, INGOT_ERR_FORMAT, name,
                        "data_offsets [%" PRIu64 ", %" PRIu64 "] leave a gap of %" PRIu64
                        " bytes after %s (ends at %" PRIu64 ")",
                        s->begin, s->end, s->begin - at, f->t[prev->index].name, at);
        if (s->begin > at)
            return FAIL(c, INGOT_ERR_FORMAT, name,
                        "data_offsets [%" PRIu64 ", %" PRIu64 "] leave a gap of %" PRIu64
                        " bytes at the start of the data",
                        s->begin, s->end, s->begin);
        if (s->begin < at)
            return FAIL(c, INGOT_ERR_FORMAT, name,
                        "data_offsets [%" PRIu64 ", %" PRIu64 "] overlap %s [%" PRIu64
                        ", %" PRIu64 "]",
                        s->begin, s->end, f->t[prev->index].name, prev->begin, prev->end);
        if (s->end > c->buf_size)
            return FAIL(c, INGOT_ERR_FORMAT, name,
                        "data_offsets [%" PRIu64 ", %" PRIu64 "] run past the end of the file "
                        "(data is %" PRIu64 " bytes): truncated file?",
                        s->begin, s->end, c->buf_size);
        at = s->end;
        prev = s;
    }
    if (at != c->buf_size)
        return FAIL(c, INGOT_ERR_FORMAT, "data",
                    "tensors cover %" PRIu64 " bytes but the file holds %" PRIu64
                    " bytes of data after the header",
                    at, c->buf_size);
    return 0;
}

/* Once the layout is known good, point every tensor into the mapping. */
static void place_tensors(parse_ctx *c)
{
    ingot_st_file *f = c->f;
    for (int i = 0; i < f->n; i++) {
        const span *s = &c->spans[i];
        ingot_st_tensor *t = &f->t[s->index];
        t->file_offset = 8 + c->header_len + s->begin;
        t->data = t->size ? f->map.data + t->file_offset : NULL;
    }
}

/* ------------------------------------------------------------------ whole file */

/* Allocates f->t, f->names and the spans for every entry but __metadata__. */
static int alloc_tensors(parse_ctx *c, json_t *root)
{
    ingot_st_file *f = c->f;
    size_t n = json_object_size(root), chars = 0;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        (void)v;
        chars += strlen(k) + 1;
    }
    if (json_object_get(root, "__metadata__"))
        n--;
    f->t = calloc(n ? n : 1, sizeof *f->t);
    c->spans = calloc(n ? n : 1, sizeof *c->spans);
    f->names = malloc(chars ? chars : 1);
    if (!f->t || !c->spans || !f->names)
        return ingot_fail(c->err, INGOT_ERR_NOMEM, "%s: out of memory", f->path);
    return 0;
}

static int parse_entries(parse_ctx *c, json_t *root)
{
    ingot_st_file *f = c->f;
    char *arena = f->names;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "__metadata__") == 0) {
            if (parse_metadata(c, v) != 0)
                return -1;
            continue;
        }
        ingot_st_tensor *t = &f->t[f->n];
        size_t len = strlen(k) + 1;
        memcpy(arena, k, len);
        t->name = arena;
        arena += len;
        c->spans[f->n].index = f->n;
        if (parse_tensor(c, v, t, &c->spans[f->n]) != 0)
            return -1;
        f->n++;
    }
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const ingot_st_tensor *)a)->name, ((const ingot_st_tensor *)b)->name);
}

static int parse_file(parse_ctx *c)
{
    const char *hdr = NULL;
    if (read_prefix(c, &hdr) != 0)
        return -1;
    json_t *root = parse_json(c, hdr);
    if (!root)
        return -1;
    int rc = alloc_tensors(c, root);
    if (rc == 0)
        rc = parse_entries(c, root);
    json_decref(root);
    if (rc == 0)
        rc = check_layout(c);
    if (rc == 0) {
        place_tensors(c);
        /* Sorted by name only now: spans refer to tensors by index. */
        qsort(c->f->t, (size_t)c->f->n, sizeof *c->f->t, cmp_tensor_name);
    }
    return rc;
}

ingot_st_file *ingot_st_open(const char *path, ingot_error *err)
{
    ingot_st_file *f = calloc(1, sizeof *f);
    if (f)
        f->path = strdup(path);
    if (!f || !f->path) {
        free(f);
        ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (ingot_map_file(path, &f->map, err) != 0) {
        ingot_st_close(f);
        return NULL;
    }
    parse_ctx c = {.f = f, .err = err};
    int rc = parse_file(&c);
    free(c.spans);
    if (rc != 0) {
        ingot_st_close(f);
        return NULL;
    }
    return f;
}

void ingot_st_close(ingot_st_file *f)
{
    if (!f)
        return;
    ingot_unmap(&f->map);
    json_decref(f->metadata);
    free(f->t);
    free(f->names);
    free(f->path);
    free(f);
}

/* ------------------------------------------------------------------ accessors */

const char *ingot_st_file_path(const ingot_st_file *f)
{
    return f->path;
}

int ingot_st_file_count(const ingot_st_file *f)
{
    return f->n;
}

const ingot_st_tensor *ingot_st_file_at(const ingot_st_file *f, int i)
{
    return i >= 0 && i < f->n ? &f->t[i] : NULL;
}

const ingot_st_tensor *ingot_st_file_find(const ingot_st_file *f, const char *name)
{
    ingot_st_tensor key = {.name = name};
    return bsearch(&key, f->t, (size_t)f->n, sizeof *f->t, cmp_tensor_name);
}

const char *ingot_st_file_metadata(const ingot_st_file *f, const char *key)
{
    return f->metadata ? json_string_value(json_object_get(f->metadata, key)) : NULL;
}

void ingot_st_file_release(const ingot_st_file *f, const ingot_st_tensor *t)
{
    if (t->size)
        ingot_map_release(&f->map, (size_t)t->file_offset, (size_t)t->size);
}
