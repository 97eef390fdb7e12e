/*
 * tok_decode.c - the decoders of tokenizer.json: ByteLevel, Metaspace,
 * ByteFallback, Fuse, Strip, Replace and Sequence.  Each maps a list of
 * token strings to another (HF's decode_chain); the caller joins the result.
 */
#include "config.h"

#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum dec_kind { D_SEQ, D_BYTELEVEL, D_METASPACE, D_BYTEFALLBACK, D_FUSE, D_STRIP, D_REPLACE };

struct ingot_tok_dec {
    enum dec_kind kind;
    ingot_tok_dec **items; /* Sequence */
    size_t n_items;
    pcre2_code *re; /* Replace */
    char *content;  /* Replace */
    size_t content_len;
    uint32_t ch;           /* Metaspace replacement, Strip content */
    int strip_first;       /* Metaspace: prepend_scheme is not "never" */
    long long start, stop; /* Strip */
};

static const struct {
    const char *name;
    enum dec_kind kind;
} dec_types[] = {
    {"Sequence", D_SEQ},        {"ByteLevel", D_BYTELEVEL},
    {"Metaspace", D_METASPACE}, {"ByteFallback", D_BYTEFALLBACK},
    {"Fuse", D_FUSE},           {"Strip", D_STRIP},
    {"Replace", D_REPLACE},
};

void ingot_tok_dec_free(ingot_tok_dec *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_items; i++)
        ingot_tok_dec_free(d->items[i]);
    free(d->items);
    pcre2_code_free(d->re);
    free(d->content);
    free(d);
}

/* ------------------------------------------------------------------ parsing */

INGOT_TOK_SEQ_PARSER(parse_seq, ingot_tok_dec, "decoders", ingot_tok_dec_parse)

static int parse_metaspace(ingot_tok_dec *d, json_t *j, const char *what, const char *path,
                           ingot_error *err)
{
    const char *scheme;
    int aps;
    if (ingot_tok_get_char(j, "replacement", 0x2581, &d->ch, what, path, err) ||
        ingot_tok_get_bool(j, "add_prefix_space", 1, &aps, what, path, err) ||
        ingot_tok_get_str(j, "prepend_scheme", 0, &scheme, NULL, what, path, err))
        return -1;
    d->strip_first = scheme ? strcmp(scheme, "never") != 0 : aps;
    if (scheme && strcmp(scheme, "always") && strcmp(scheme, "first") && strcmp(scheme, "never"))
        return ingot_tok_fail(err, INGOT_ERR_UNSUPPORTED, what, path,
                              "unsupported prepend_scheme \"%s\"", scheme);
    return 0;
}

static int parse_replace(ingot_tok_dec *d, json_t *j, const char *what, const char *path,
                         ingot_error *err)
{
    char sub[INGOT_TOK_PATH];
    const char *s;
    size_t len;
    snprintf(sub, sizeof sub, "%s.pattern", path);
    d->re = ingot_tok_pattern_parse(json_object_get(j, "pattern"), what, sub, err);
    if (!d->re || ingot_tok_get_str(j, "content", 1, &s, &len, what, path, err))
        return -1;
    if (!(d->content = malloc(len + 1)))
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
    memcpy(d->content, s, len);
    d->content_len = len;
    return 0;
}

static int parse_strip(ingot_tok_dec *d, json_t *j, const char *what, const char *path,
                       ingot_error *err)
{
    if (ingot_tok_get_char(j, "content", ' ', &d->ch, what, path, err) ||
        ingot_tok_get_int(j, "start", 0, &d->start, what, path, err) ||
        ingot_tok_get_int(j, "stop", 0, &d->stop, what, path, err))
        return -1;
    if (d->start < 0 || d->stop < 0)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "start and stop must be >= 0");
    return 0;
}

static int parse_body(ingot_tok_dec *d, json_t *j, const char *what, const char *path,
                      ingot_error *err)
{
    switch (d->kind) {
    case D_SEQ:
        return parse_seq(d, j, what, path, err);
    case D_METASPACE:
        return parse_metaspace(d, j, what, path, err);
    case D_REPLACE:
        return parse_replace(d, j, what, path, err);
    case D_STRIP:
        return parse_strip(d, j, what, path, err);
    default:
        return 0;
    }
}

INGOT_TOK_COMPONENT_PARSER(ingot_tok_dec_parse, ingot_tok_dec, dec_types, "decoder",
                           parse_body, ingot_tok_dec_free)

/* ------------------------------------------------------------------ running */

/* Bytes of a ByteLevel token; a token with any other character (an added
 * token such as "<|im_end|>" spelled outside the table) keeps its own bytes. */
static int bytelevel_token(const char *s, size_t len, ingot_tok_buf *out)
{
    size_t n, start = out->len;
    for (size_t i = 0; i < len; i += n) {
        int b = ingot_tok_char_byte(ingot_tok_u8dec(s + i, &n));
        if (b < 0) {
            out->len = start;
            return ingot_tok_buf_put(out, s, len);
        }
        char c = (char)b;
        if (ingot_tok_buf_put(out, &c, 1))
            return -1;
    }
    return 0;
}

static int bytelevel(const ingot_tok_pieces *in, ingot_tok_pieces *out, ingot_tok_scratch *sc)
{
    sc->tmp.len = 0;
    for (size_t i = 0; i < in->n; i++)
        if (bytelevel_token(ingot_tok_piece_str(in, i), in->v[i].len, &sc->tmp))
            return -1;
    if (ingot_tok_pieces_open(out, 0) || ingot_tok_u8lossy(&out->text, sc->tmp.p, sc->tmp.len))
        return -1;
    ingot_tok_pieces_close(out);
    return 0;
}

static int metaspace(const ingot_tok_dec *d, const ingot_tok_pieces *in, ingot_tok_pieces *out)
{
    size_t n;
    for (size_t i = 0; i < in->n; i++) {
        const char *s = ingot_tok_piece_str(in, i);
        if (ingot_tok_pieces_open(out, 0))
            return -1;
        for (size_t k = 0; k < in->v[i].len; k += n) {
            uint32_t cp = ingot_tok_u8dec(s + k, &n);
            int rc = cp != d->ch                ? ingot_tok_buf_put(&out->text, s + k, n)
                     : i == 0 && d->strip_first ? 0
                                                : ingot_tok_buf_put(&out->text, " ", 1);
            if (rc)
                return -1;
        }
        ingot_tok_pieces_close(out);
    }
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The byte of a "<0xXX>" token, or -1 (u8::from_str_radix also takes "+X"). */
static int byte_token(const char *s, size_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
        return -1;
    if (s[3] == '+')
        return hexval(s[4]);
    int hi = hexval(s[3]), lo = hexval(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* Pending bytes become one token when they are valid UTF-8, else one U+FFFD each. */
static int flush_bytes(ingot_tok_buf *bytes, ingot_tok_pieces *out)
{
    int rc = 0;
    if (ingot_tok_u8valid(bytes->p, bytes->len))
        rc = bytes->len ? ingot_tok_pieces_push(out, bytes->p, bytes->len, 0) : 0;
    else
        for (size_t i = 0; !rc && i < bytes->len; i++)
            rc = ingot_tok_pieces_push(out, "\xEF\xBF\xBD", 3, 0);
    bytes->len = 0;
    return rc;
}

static int bytefallback(const ingot_tok_pieces *in, ingot_tok_pieces *out, ingot_tok_scratch *sc)
{
    sc->tmp.len = 0;
    for (size_t i = 0; i < in->n; i++) {
        const char *s = ingot_tok_piece_str(in, i);
        int b = byte_token(s, in->v[i].len);
        char c = (char)b;
        if (b >= 0 ? ingot_tok_buf_put(&sc->tmp, &c, 1)
                   : flush_bytes(&sc->tmp, out) || ingot_tok_pieces_push(out, s, in->v[i].len, 0))
            return -1;
    }
    return flush_bytes(&sc->tmp, out);
}

static int fuse(const ingot_tok_pieces *in, ingot_tok_pieces *out)
{
    if (ingot_tok_pieces_open(out, 0))
        return -1;
    for (size_t i = 0; i < in->n; i++)
        if (ingot_tok_buf_put(&out->text, ingot_tok_piece_str(in, i), in->v[i].len))
            return -1;
    ingot_tok_pieces_close(out);
    return 0;
}

/* Removes up to start leading and stop trailing copies of the character. */
static int strip(const ingot_tok_dec *d, const ingot_tok_pieces *in, ingot_tok_pieces *out)
{
    size_t n;
    for (size_t i = 0; i < in->n; i++) {
        const char *s = ingot_tok_piece_str(in, i);
        size_t a = 0, z = in->v[i].len;
        for (long long k = 0; k < d->start && a < z && ingot_tok_u8dec(s + a, &n) == d->ch; k++)
            a += n;
        for (long long k = 0; k < d->stop && z > a; k++) {
            size_t b = z - 1;
            while (b > a && ((unsigned char)s[b] & 0xC0) == 0x80)
                b--;
            if (ingot_tok_u8dec(s + b, &n) != d->ch)
                break;
            z = b;
        }
        if (ingot_tok_pieces_push(out, s + a, z - a, 0))
            return -1;
    }
    return 0;
}

static int replace(const ingot_tok_dec *d, const ingot_tok_pieces *in, ingot_tok_pieces *out,
                   ingot_tok_scratch *sc, ingot_error *err)
{
    for (size_t i = 0; i < in->n; i++) {
        const char *s = ingot_tok_piece_str(in, i);
        if (ingot_tok_regex_spans(d->re, s, in->v[i].len, 0, sc, err))
            return -1;
        if (ingot_tok_pieces_open(out, 0))
            return 1;
        for (size_t k = 0; k < sc->spans.n; k++) {
            const ingot_tok_span *sp = &sc->spans.v[k];
            if (sp->match ? ingot_tok_buf_put(&out->text, d->content, d->content_len)
                          : ingot_tok_buf_put(&out->text, s + sp->start, sp->end - sp->start))
                return 1;
        }
        ingot_tok_pieces_close(out);
    }
    return 0;
}

/* One step; returns -1 with err set, or 1 when out of memory. */
static int run_one(const ingot_tok_dec *d, const ingot_tok_pieces *in, ingot_tok_pieces *out,
                   ingot_tok_scratch *sc, ingot_error *err)
{
    switch (d->kind) {
    case D_BYTELEVEL:
        return bytelevel(in, out, sc) ? 1 : 0;
    case D_METASPACE:
        return metaspace(d, in, out) ? 1 : 0;
    case D_BYTEFALLBACK:
        return bytefallback(in, out, sc) ? 1 : 0;
    case D_FUSE:
        return fuse(in, out) ? 1 : 0;
    case D_STRIP:
        return strip(d, in, out) ? 1 : 0;
    case D_REPLACE:
        return replace(d, in, out, sc, err);
    default:
        return 0;
    }
}

int ingot_tok_dec_run(const ingot_tok_dec *d, ingot_tok_pieces *toks, ingot_tok_scratch *sc,
                      ingot_error *err)
{
    if (d->kind == D_SEQ) {
        for (size_t i = 0; i < d->n_items; i++)
            if (ingot_tok_dec_run(d->items[i], toks, sc, err))
                return -1;
        return 0;
    }
    ingot_tok_pieces out = {.keep_empty = 1};
    int rc = run_one(d, toks, &out, sc, err);
    if (rc) {
        ingot_tok_pieces_free(&out);
        return rc < 0 ? -1 : ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
    }
    ingot_tok_pieces_free(toks);
    *toks = out;
    return 0;
}
