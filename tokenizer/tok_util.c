/*
 * tok_util.c - containers and JSON helpers for the tokenizer: error
 * messages that name the JSON field, growable buffers, piece lists and the
 * string hash map used for the vocabulary and the BPE cache.
 */
#include "config.h"

#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ buffers */

int ingot_tok_buf_reserve(ingot_tok_buf *b, size_t extra)
{
    if (b->cap - b->len > extra)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int ingot_tok_buf_put(ingot_tok_buf *b, const void *s, size_t n)
{
    /* reserve keeps one spare byte so that callers can NUL-terminate */
    if (ingot_tok_buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

int ingot_tok_buf_put_cp(ingot_tok_buf *b, uint32_t cp)
{
    char u[4];
    return ingot_tok_buf_put(b, u, ingot_tok_u8enc(cp, u));
}

void ingot_tok_buf_free(ingot_tok_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ pieces */

int ingot_tok_pieces_open(ingot_tok_pieces *l, int at_start)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        ingot_tok_piece *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = (ingot_tok_piece){.off = l->text.len, .len = 0, .at_start = at_start};
    return 0;
}

void ingot_tok_pieces_close(ingot_tok_pieces *l)
{
    ingot_tok_piece *p = &l->v[l->n];
    p->len = l->text.len - p->off;
    if (p->len || l->keep_empty)
        l->n++;
}

int ingot_tok_pieces_push(ingot_tok_pieces *l, const char *s, size_t len, int at_start)
{
    if (!len && !l->keep_empty)
        return 0;
    if (ingot_tok_pieces_open(l, at_start) || ingot_tok_buf_put(&l->text, s, len))
        return -1;
    ingot_tok_pieces_close(l);
    return 0;
}

void ingot_tok_pieces_clear(ingot_tok_pieces *l)
{
    l->n = 0;
    l->text.len = 0;
}

void ingot_tok_pieces_free(ingot_tok_pieces *l)
{
    ingot_tok_buf_free(&l->text);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

int ingot_tok_ids_push(ingot_tok_ids *a, int32_t id)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        int32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

/* ------------------------------------------------------------------ hash map */

static uint64_t tok_hash(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h ? h : 1;
}

static ingot_tok_slot *map_find(const ingot_tok_map *m, const char *k, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        ingot_tok_slot *s = &m->slots[i];
        if (!s->hash)
            return s;
        if (s->hash == h && s->len == len && !memcmp(m->keys.p + s->off, k, len))
            return s;
    }
}

static int map_grow(ingot_tok_map *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1024;
    ingot_tok_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        m->slots = old;
        return -1;
    }
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].hash)
            continue;
        size_t j = old[i].hash & (cap - 1);
        while (m->slots[j].hash)
            j = (j + 1) & (cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
    return 0;
}

int ingot_tok_map_put(ingot_tok_map *m, const char *k, size_t len, int32_t a, int32_t b)
{
    if ((m->n + 1) * 4 >= m->cap * 3 && map_grow(m))
        return -1;
    uint64_t h = tok_hash(k, len);
    ingot_tok_slot *s = map_find(m, k, len, h);
    if (!s->hash) {
        if (len > UINT32_MAX || m->keys.len + len > UINT32_MAX)
            return -1;
        uint32_t off = (uint32_t)m->keys.len;
        if (ingot_tok_buf_put(&m->keys, k, len))
            return -1;
        *s = (ingot_tok_slot){.hash = h, .off = off, .len = (uint32_t)len};
        m->n++;
    }
    s->a = a;
    s->b = b;
    return 0;
}

const ingot_tok_slot *ingot_tok_map_get(const ingot_tok_map *m, const char *k, size_t len)
{
    if (!m->n)
        return NULL;
    const ingot_tok_slot *s = map_find(m, k, len, tok_hash(k, len));
    return s->hash ? s : NULL;
}

void ingot_tok_map_clear(ingot_tok_map *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
    m->keys.len = 0;
}

void ingot_tok_map_free(ingot_tok_map *m)
{
    free(m->slots);
    ingot_tok_buf_free(&m->keys);
    m->slots = NULL;
    m->cap = m->n = 0;
}

/* ------------------------------------------------------------------ JSON */

int ingot_tok_get_bool(json_t *o, const char *key, int def, int *out, const char *what,
                       const char *path, ingot_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "\"%s\" must be a boolean", key);
    *out = json_is_true(v);
    return 0;
}

int ingot_tok_get_str(json_t *o, const char *key, int required, const char **out, size_t *len,
                      const char *what, const char *path, ingot_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (len)
        *len = 0;
    if (!v || json_is_null(v)) {
        if (required)
            return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "missing \"%s\"", key);
        return 0;
    }
    if (!json_is_string(v))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return 0;
}

int ingot_tok_get_int(json_t *o, const char *key, long long def, long long *out, const char *what,
                      const char *path, ingot_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "\"%s\" must be an integer", key);
    *out = json_integer_value(v);
    return 0;
}

int ingot_tok_get_char(json_t *o, const char *key, uint32_t def, uint32_t *out, const char *what,
                       const char *path, ingot_error *err)
{
    const char *s;
    size_t len, n;
    if (ingot_tok_get_str(o, key, 0, &s, &len, what, path, err))
        return -1;
    if (!s) {
        *out = def;
        return 0;
    }
    if (!len || !ingot_tok_u8valid(s, len) || (*out = ingot_tok_u8dec(s, &n), n != len))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path,
                              "\"%s\" must be a single character", key);
    return 0;
}

const char *ingot_tok_type(json_t *o, const char *what, const char *path, ingot_error *err)
{
    char sub[INGOT_TOK_PATH];
    if (!json_is_object(o)) {
        ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "must be an object");
        return NULL;
    }
    json_t *v = json_object_get(o, "type");
    if (!json_is_string(v)) {
        snprintf(sub, sizeof sub, "%s.type", path);
        ingot_tok_fail(err, INGOT_ERR_FORMAT, what, sub, "missing or not a string");
        return NULL;
    }
    return json_string_value(v);
}

int ingot_tok_bad_type(ingot_error *err, const char *what, const char *path, const char *kind,
                       const char *type)
{
    char sub[INGOT_TOK_PATH];
    snprintf(sub, sizeof sub, "%s.type", path);
    return ingot_tok_fail(err, INGOT_ERR_UNSUPPORTED, what, sub, "unsupported %s type \"%s\"", kind,
                          type);
}
