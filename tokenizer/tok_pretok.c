/*
 * tok_pretok.c - the pre-tokenizers of tokenizer.json: Sequence, Split,
 * ByteLevel, Digits, Metaspace, WhitespaceSplit, Whitespace, Punctuation.
 * Each one turns one piece of text into the pieces the model encodes
 * separately; empty pieces are dropped, as HF drops them.
 */
#include "config.h"

#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pt_kind {
    P_SEQ,
    P_SPLIT,
    P_BYTELEVEL,
    P_DIGITS,
    P_METASPACE,
    P_WSPLIT,
    P_WHITESPACE,
    P_PUNCT
};
enum prepend_scheme { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };

struct ingot_tok_pretok {
    enum pt_kind kind;
    ingot_tok_pretok **items; /* Sequence */
    size_t n_items;
    pcre2_code *re;        /* Split; ByteLevel with use_regex; Whitespace */
    int invert, behavior;  /* Split, Punctuation */
    int add_prefix_space;  /* ByteLevel */
    int individual_digits; /* Digits */
    uint32_t replacement;  /* Metaspace */
    int prepend_scheme, split;
};

static const struct {
    const char *name;
    enum pt_kind kind;
} pt_types[] = {
    {"Sequence", P_SEQ},          {"Split", P_SPLIT},         {"ByteLevel", P_BYTELEVEL},
    {"Digits", P_DIGITS},         {"Metaspace", P_METASPACE}, {"WhitespaceSplit", P_WSPLIT},
    {"Whitespace", P_WHITESPACE}, {"Punctuation", P_PUNCT},
};

/* GPT-2's pre-tokenization regex, which ByteLevel applies when use_regex is set. */
static const char bytelevel_re[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* Rust regex's \w+|[^\w\s]+, spelled with the classes the regex crate uses for \w and \s. */
static const char whitespace_re[] =
    "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]+"
    "|[^\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}\\p{White_Space}]+";

uint32_t ingot_tok_byte_char(unsigned char b)
{
    /* printable Latin-1 bytes stand for themselves; the other 68 bytes take
     * U+0100.. in byte order */
    if (b <= 0x20)
        return 0x100u + b;
    if (b >= 0x7F && b <= 0xA0)
        return 0x100u + 33 + (b - 0x7Fu);
    if (b == 0xAD)
        return 0x143;
    return b;
}

int ingot_tok_char_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 0x100 || cp > 0x143)
        return -1;
    cp -= 0x100;
    return cp <= 32 ? (int)cp : cp <= 66 ? (int)(0x7F + cp - 33) : 0xAD;
}

void ingot_tok_pretok_free(ingot_tok_pretok *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_items; i++)
        ingot_tok_pretok_free(p->items[i]);
    free(p->items);
    pcre2_code_free(p->re);
    free(p);
}

/* ------------------------------------------------------------------ parsing */

static int parse_behavior(json_t *j, int required, int *out, const char *what, const char *path,
                          ingot_error *err)
{
    static const char *const names[] = {
        [INGOT_TOK_REMOVED] = "Removed",
        [INGOT_TOK_ISOLATED] = "Isolated",
        [INGOT_TOK_MERGED_PREV] = "MergedWithPrevious",
        [INGOT_TOK_MERGED_NEXT] = "MergedWithNext",
        [INGOT_TOK_CONTIGUOUS] = "Contiguous",
    };
    const char *s;
    if (ingot_tok_get_str(j, "behavior", required, &s, NULL, what, path, err))
        return -1;
    *out = INGOT_TOK_ISOLATED;
    if (!s)
        return 0;
    for (size_t i = 0; i < INGOT_ARRAY_LEN(names); i++)
        if (!strcmp(s, names[i])) {
            *out = (int)i;
            return 0;
        }
    char sub[INGOT_TOK_PATH];
    snprintf(sub, sizeof sub, "%s.behavior", path);
    return ingot_tok_fail(err, INGOT_ERR_UNSUPPORTED, what, sub,
                          "unsupported split behavior \"%s\"", s);
}

INGOT_TOK_SEQ_PARSER(parse_seq, ingot_tok_pretok, "pretokenizers", ingot_tok_pretok_parse)

static int parse_split(ingot_tok_pretok *p, json_t *j, const char *what, const char *path,
                       ingot_error *err)
{
    char sub[INGOT_TOK_PATH];
    snprintf(sub, sizeof sub, "%s.pattern", path);
    p->re = ingot_tok_pattern_parse(json_object_get(j, "pattern"), what, sub, err);
    if (!p->re || parse_behavior(j, 1, &p->behavior, what, path, err))
        return -1;
    return ingot_tok_get_bool(j, "invert", 0, &p->invert, what, path, err);
}

static int parse_metaspace(ingot_tok_pretok *p, json_t *j, const char *what, const char *path,
                           ingot_error *err)
{
    const char *scheme;
    int aps;
    if (ingot_tok_get_char(j, "replacement", 0x2581, &p->replacement, what, path, err) ||
        ingot_tok_get_bool(j, "split", 1, &p->split, what, path, err) ||
        ingot_tok_get_bool(j, "add_prefix_space", 1, &aps, what, path, err) ||
        ingot_tok_get_str(j, "prepend_scheme", 0, &scheme, NULL, what, path, err))
        return -1;
    /* files older than prepend_scheme only have add_prefix_space */
    p->prepend_scheme = aps ? PREPEND_ALWAYS : PREPEND_NEVER;
    if (!scheme)
        return 0;
    if (!strcmp(scheme, "always"))
        p->prepend_scheme = PREPEND_ALWAYS;
    else if (!strcmp(scheme, "first"))
        p->prepend_scheme = PREPEND_FIRST;
    else if (!strcmp(scheme, "never"))
        p->prepend_scheme = PREPEND_NEVER;
    else
        return ingot_tok_fail(err, INGOT_ERR_UNSUPPORTED, what, path,
                              "unsupported prepend_scheme \"%s\"", scheme);
    return 0;
}

static int parse_body(ingot_tok_pretok *p, json_t *j, const char *what, const char *path,
                      ingot_error *err)
{
    int use_regex;
    switch (p->kind) {
    case P_SEQ:
        return parse_seq(p, j, what, path, err);
    case P_SPLIT:
        return parse_split(p, j, what, path, err);
    case P_BYTELEVEL:
        if (ingot_tok_get_bool(j, "add_prefix_space", 1, &p->add_prefix_space, what, path, err) ||
            ingot_tok_get_bool(j, "use_regex", 1, &use_regex, what, path, err))
            return -1;
        if (use_regex)
            p->re =
                ingot_tok_regex_compile(bytelevel_re, sizeof bytelevel_re - 1, 0, what, path, err);
        return use_regex && !p->re ? -1 : 0;
    case P_DIGITS:
        return ingot_tok_get_bool(j, "individual_digits", 0, &p->individual_digits, what, path,
                                  err);
    case P_METASPACE:
        return parse_metaspace(p, j, what, path, err);
    case P_WHITESPACE:
        p->re =
            ingot_tok_regex_compile(whitespace_re, sizeof whitespace_re - 1, 0, what, path, err);
        return p->re ? 0 : -1;
    case P_PUNCT:
        return parse_behavior(j, 0, &p->behavior, what, path, err);
    default:
        return 0;
    }
}

INGOT_TOK_COMPONENT_PARSER(ingot_tok_pretok_parse, ingot_tok_pretok, pt_types, "pre-tokenizer",
                           parse_body, ingot_tok_pretok_free)

/* ------------------------------------------------------------------ running */

static int oom(ingot_error *err)
{
    return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
}

/* Appends s with every byte replaced by its ByteLevel character. */
static int push_bytes_as_chars(ingot_tok_pieces *out, const char *s, size_t len, int at_start)
{
    if (ingot_tok_pieces_open(out, at_start) || ingot_tok_buf_reserve(&out->text, 2 * len))
        return -1;
    for (size_t i = 0; i < len; i++)
        out->text.len +=
            ingot_tok_u8enc(ingot_tok_byte_char((unsigned char)s[i]), out->text.p + out->text.len);
    ingot_tok_pieces_close(out);
    return 0;
}

static int bytelevel(const ingot_tok_pretok *p, const char *s, size_t len, int at_start,
                     ingot_tok_pieces *out, ingot_tok_scratch *sc, ingot_error *err)
{
    if (p->add_prefix_space && s[0] != ' ') {
        sc->tmp.len = 0;
        if (ingot_tok_buf_put(&sc->tmp, " ", 1) || ingot_tok_buf_put(&sc->tmp, s, len))
            return oom(err);
        s = sc->tmp.p;
        len = sc->tmp.len;
    }
    if (!p->re)
        return push_bytes_as_chars(out, s, len, at_start) ? oom(err) : 0;
    if (ingot_tok_regex_spans(p->re, s, len, 0, sc, err))
        return -1;
    for (size_t i = 0; i < sc->spans.n; i++) {
        const ingot_tok_span *sp = &sc->spans.v[i];
        if (push_bytes_as_chars(out, s + sp->start, sp->end - sp->start,
                                at_start && sp->start == 0))
            return oom(err);
    }
    return 0;
}

static int metaspace(const ingot_tok_pretok *p, const char *s, size_t len, int at_start,
                     ingot_tok_pieces *out, ingot_tok_scratch *sc, ingot_error *err)
{
    char rep[4];
    size_t rep_len = ingot_tok_u8enc(p->replacement, rep), n;
    uint32_t first = ingot_tok_u8dec(s, &n);
    int prepend =
        p->prepend_scheme == PREPEND_ALWAYS || (p->prepend_scheme == PREPEND_FIRST && at_start);
    /* spaces become the replacement first, so a leading space counts as one */
    if (first == ' ' || first == p->replacement)
        prepend = 0;
    sc->tmp.len = 0;
    if (prepend && ingot_tok_buf_put(&sc->tmp, rep, rep_len))
        return oom(err);
    for (size_t i = 0; i < len; i++)
        if (s[i] == ' ' ? ingot_tok_buf_put(&sc->tmp, rep, rep_len)
                        : ingot_tok_buf_put(&sc->tmp, s + i, 1))
            return oom(err);
    if (!p->split)
        return ingot_tok_pieces_push(out, sc->tmp.p, sc->tmp.len, at_start) ? oom(err) : 0;
    if (ingot_tok_pred_spans(NULL, p->replacement, sc->tmp.p, sc->tmp.len, &sc->spans) ||
        ingot_tok_split(&sc->spans, INGOT_TOK_MERGED_NEXT, sc->tmp.p, at_start, out))
        return oom(err);
    return 0;
}

static int pred_split(int (*pred)(uint32_t), int behavior, const char *s, size_t len, int at_start,
                      ingot_tok_pieces *out, ingot_tok_scratch *sc, ingot_error *err)
{
    if (ingot_tok_pred_spans(pred, 0, s, len, &sc->spans) ||
        ingot_tok_split(&sc->spans, behavior, s, at_start, out))
        return oom(err);
    return 0;
}

static int regex_split(const pcre2_code *re, int invert, int behavior, const char *s, size_t len,
                       int at_start, ingot_tok_pieces *out, ingot_tok_scratch *sc, ingot_error *err)
{
    if (ingot_tok_regex_spans(re, s, len, invert, sc, err))
        return -1;
    return ingot_tok_split(&sc->spans, behavior, s, at_start, out) ? oom(err) : 0;
}

static int run_seq(const ingot_tok_pretok *p, const char *s, size_t len, int at_start,
                   ingot_tok_pieces *out, ingot_tok_scratch *sc, ingot_error *err)
{
    ingot_tok_pieces a = {0}, b = {0};
    int rc = ingot_tok_pieces_push(&a, s, len, at_start) ? oom(err) : 0;
    for (size_t k = 0; k < p->n_items && !rc; k++) {
        /* the last stage writes straight into out */
        ingot_tok_pieces *dst = k + 1 == p->n_items ? out : &b;
        ingot_tok_pieces_clear(&b);
        for (size_t i = 0; i < a.n && !rc; i++)
            rc = ingot_tok_pretok_run(p->items[k], ingot_tok_piece_str(&a, i), a.v[i].len,
                                      a.v[i].at_start, dst, sc, err);
        ingot_tok_pieces t = a;
        a = b;
        b = t;
    }
    if (!rc && !p->n_items)
        rc = ingot_tok_pieces_push(out, s, len, at_start) ? oom(err) : 0;
    ingot_tok_pieces_free(&a);
    ingot_tok_pieces_free(&b);
    return rc;
}

int ingot_tok_pretok_run(const ingot_tok_pretok *p, const char *s, size_t len, int at_start,
                         ingot_tok_pieces *out, ingot_tok_scratch *sc, ingot_error *err)
{
    if (!len)
        return 0;
    switch (p->kind) {
    case P_SEQ:
        return run_seq(p, s, len, at_start, out, sc, err);
    case P_SPLIT:
        return regex_split(p->re, p->invert, p->behavior, s, len, at_start, out, sc, err);
    case P_BYTELEVEL:
        return bytelevel(p, s, len, at_start, out, sc, err);
    case P_DIGITS:
        return pred_split(ingot_tok_is_numeric,
                          p->individual_digits ? INGOT_TOK_ISOLATED : INGOT_TOK_CONTIGUOUS, s, len,
                          at_start, out, sc, err);
    case P_METASPACE:
        return metaspace(p, s, len, at_start, out, sc, err);
    case P_WSPLIT:
        return pred_split(ingot_tok_is_whitespace, INGOT_TOK_REMOVED, s, len, at_start, out, sc,
                          err);
    case P_WHITESPACE:
        return regex_split(p->re, 1, INGOT_TOK_REMOVED, s, len, at_start, out, sc, err);
    case P_PUNCT:
        return pred_split(ingot_tok_is_punct, p->behavior, s, len, at_start, out, sc, err);
    }
    return 0;
}
