/*
 * tok_normalize.c - the normalizers of tokenizer.json: NFC, NFD, NFKC,
 * NFKD, Sequence, Prepend, Replace, Lowercase and Strip.
 */
#include "config.h"

#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum norm_kind { N_NFC, N_NFD, N_NFKC, N_NFKD, N_SEQ, N_PREPEND, N_REPLACE, N_LOWER, N_STRIP };

struct ingot_tok_norm {
    enum norm_kind kind;
    ingot_tok_norm **items; /* Sequence */
    size_t n_items;
    char *str; /* Prepend: the prefix; Replace: the content */
    size_t str_len;
    pcre2_code *re;  /* Replace */
    int left, right; /* Strip */
};

static const struct {
    const char *name;
    enum norm_kind kind;
} norm_types[] = {
    {"NFC", N_NFC},         {"NFD", N_NFD},         {"NFKC", N_NFKC},
    {"NFKD", N_NFKD},       {"Sequence", N_SEQ},    {"Prepend", N_PREPEND},
    {"Replace", N_REPLACE}, {"Lowercase", N_LOWER}, {"Strip", N_STRIP},
};

void ingot_tok_norm_free(ingot_tok_norm *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_items; i++)
        ingot_tok_norm_free(n->items[i]);
    free(n->items);
    free(n->str);
    pcre2_code_free(n->re);
    free(n);
}

static int copy_str(ingot_tok_norm *n, const char *s, size_t len)
{
    n->str = malloc(len + 1);
    if (!n->str)
        return -1;
    memcpy(n->str, s, len);
    n->str[len] = 0;
    n->str_len = len;
    return 0;
}

INGOT_TOK_SEQ_PARSER(parse_seq, ingot_tok_norm, "normalizers", ingot_tok_norm_parse)

static int parse_body(ingot_tok_norm *n, json_t *j, const char *what, const char *path,
                      ingot_error *err)
{
    const char *s;
    size_t len;
    char sub[INGOT_TOK_PATH];
    switch (n->kind) {
    case N_SEQ:
        return parse_seq(n, j, what, path, err);
    case N_PREPEND:
        if (ingot_tok_get_str(j, "prepend", 1, &s, &len, what, path, err))
            return -1;
        break;
    case N_REPLACE:
        snprintf(sub, sizeof sub, "%s.pattern", path);
        n->re = ingot_tok_pattern_parse(json_object_get(j, "pattern"), what, sub, err);
        if (!n->re || ingot_tok_get_str(j, "content", 1, &s, &len, what, path, err))
            return -1;
        break;
    case N_STRIP:
        return ingot_tok_get_bool(j, "strip_left", 1, &n->left, what, path, err) ||
                       ingot_tok_get_bool(j, "strip_right", 1, &n->right, what, path, err)
                   ? -1
                   : 0;
    default:
        return 0;
    }
    if (copy_str(n, s, len))
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
    return 0;
}

INGOT_TOK_COMPONENT_PARSER(ingot_tok_norm_parse, ingot_tok_norm, norm_types, "normalizer",
                           parse_body, ingot_tok_norm_free)

/* ------------------------------------------------------------------ apply */

/* The result is built in sc->tmp, then the two buffers trade places. */
static void swap_tmp(ingot_tok_buf *s, ingot_tok_scratch *sc)
{
    ingot_tok_buf t = *s;
    *s = sc->tmp;
    sc->tmp = t;
}

static int unicode_form(enum norm_kind kind, ingot_tok_buf *s, ingot_error *err)
{
    static const int opts[] = {
        [N_NFC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE,
        [N_NFD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE,
        [N_NFKC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT,
        [N_NFKD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT,
    };
    utf8proc_uint8_t *dst = NULL;
    if (!s->len)
        return 0;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s->p, (utf8proc_ssize_t)s->len,
                                      &dst, (utf8proc_option_t)opts[kind]);
    if (r < 0)
        return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: unicode normalization failed: %s",
                          utf8proc_errmsg(r));
    s->len = 0;
    int rc = ingot_tok_buf_put(s, dst, (size_t)r);
    free(dst);
    return rc ? ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory") : 0;
}

static int lowercase(ingot_tok_buf *s, ingot_tok_scratch *sc)
{
    size_t n;
    sc->tmp.len = 0;
    for (size_t i = 0; i < s->len; i += n) {
        uint32_t cp = ingot_tok_u8dec(s->p + i, &n);
        /* U+0130 is the one character whose full lower case is two long */
        if (cp == 0x130
                ? ingot_tok_buf_put(&sc->tmp, "i\xCC\x87", 3)
                : ingot_tok_buf_put_cp(&sc->tmp, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp)))
            return -1;
    }
    swap_tmp(s, sc);
    return 0;
}

static void strip(const ingot_tok_norm *n, ingot_tok_buf *s, int *lead_removed)
{
    size_t start = 0, end = s->len, k;
    while (n->left && start < end && ingot_tok_is_whitespace(ingot_tok_u8dec(s->p + start, &k)))
        start += k;
    while (n->right && end > start) {
        size_t b = end - 1;
        while (b > start && ((unsigned char)s->p[b] & 0xC0) == 0x80)
            b--;
        if (!ingot_tok_is_whitespace(ingot_tok_u8dec(s->p + b, &k)))
            break;
        end = b;
    }
    if (start)
        *lead_removed = 1;
    if (start) /* (never on an empty buffer, whose p may be NULL: no NULL + 0) */
        memmove(s->p, s->p + start, end - start);
    s->len = end - start;
}

static int replace(const ingot_tok_norm *n, ingot_tok_buf *s, int *lead_removed,
                   ingot_tok_scratch *sc, ingot_error *err)
{
    if (ingot_tok_regex_spans(n->re, s->p, s->len, 0, sc, err))
        return -1;
    sc->tmp.len = 0;
    for (size_t i = 0; i < sc->spans.n; i++) {
        const ingot_tok_span *sp = &sc->spans.v[i];
        int rc = sp->match                ? ingot_tok_buf_put(&sc->tmp, n->str, n->str_len)
                 : sp->end > sp->start ? ingot_tok_buf_put(&sc->tmp, s->p + sp->start, sp->end - sp->start)
                                       : 0; /* an empty span of a maybe empty (NULL) text: no NULL + 0 */
        if (rc)
            return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
    }
    if (sc->spans.n && sc->spans.v[0].match && sc->spans.v[0].end > 0 && !n->str_len)
        *lead_removed = 1;
    swap_tmp(s, sc);
    return 0;
}

int ingot_tok_norm_apply(const ingot_tok_norm *n, ingot_tok_buf *s, int *lead_removed,
                         ingot_tok_scratch *sc, ingot_error *err)
{
    switch (n->kind) {
    case N_SEQ:
        for (size_t i = 0; i < n->n_items; i++)
            if (ingot_tok_norm_apply(n->items[i], s, lead_removed, sc, err))
                return -1;
        return 0;
    case N_PREPEND:
        if (!s->len)
            return 0;
        sc->tmp.len = 0;
        if (ingot_tok_buf_put(&sc->tmp, n->str, n->str_len) ||
            ingot_tok_buf_put(&sc->tmp, s->p, s->len))
            return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
        swap_tmp(s, sc);
        return 0;
    case N_REPLACE:
        return replace(n, s, lead_removed, sc, err);
    case N_LOWER:
        return lowercase(s, sc) ? ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory") : 0;
    case N_STRIP:
        strip(n, s, lead_removed);
        return 0;
    default:
        return unicode_form(n->kind, s, err);
    }
}
