/*
 * tok_text.c - UTF-8, the Unicode predicates of Rust's char, regex matching
 * and the split behaviours of HF's NormalizedString::split.
 */
#include "config.h"

#include "tokenizer/tok_internal.h"

#include <string.h>
#include <utf8proc.h>

/* ------------------------------------------------------------------ UTF-8 */

uint32_t ingot_tok_u8dec(const char *s, size_t *n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = ingot_tok_u8len(u[0]);
    uint32_t cp;
    switch (len) {
    case 1:
        cp = u[0];
        break;
    case 2:
        cp = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
        break;
    case 3:
        cp = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
        break;
    default:
        cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 |
             (uint32_t)(u[2] & 0x3F) << 6 | (u[3] & 0x3F);
    }
    *n = len;
    return cp;
}

size_t ingot_tok_u8enc(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Length of the valid sequence at u, or 0 with *bad set to the length of
 * its maximal invalid subpart: the bytes that could still have begun a
 * valid sequence (Unicode 3.9 "substitution of maximal subparts", which
 * Python and Rust both follow).
 */
static size_t u8_check(const unsigned char *u, size_t len, size_t *bad)
{
    unsigned c = u[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        unsigned b = k < len ? u[k] : 0;
        if (k >= len || b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
            *bad = k;
            return 0;
        }
    }
    return need + 1;
}

int ingot_tok_u8valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, bad;
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = u8_check(u + i, len - i, &bad);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

int ingot_tok_u8lossy(ingot_tok_buf *out, const char *s, size_t len)
{
    if (!len) /* s may be the NULL of an empty buffer: no arithmetic on it */
        return ingot_tok_buf_put(out, "", 0);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0, bad;
    while (i < len) {
        size_t n = u[i] < 0x80 ? 1 : u8_check(u + i, len - i, &bad);
        if (n) {
            i += n;
            continue;
        }
        if (ingot_tok_buf_put(out, s + run, i - run) || ingot_tok_buf_put(out, "\xEF\xBF\xBD", 3))
            return -1;
        i += bad;
        run = i;
    }
    return ingot_tok_buf_put(out, s + run, len - run);
}

/* ------------------------------------------------------------------ predicates */

int ingot_tok_is_whitespace(uint32_t cp)
{
    /* the White_Space property, which char::is_whitespace tests */
    if (cp <= 0x20)
        return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85)
        return 0;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int ingot_tok_is_numeric(uint32_t cp)
{
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

int ingot_tok_is_alnum(uint32_t cp)
{
    /* Rust's Alphabetic property is approximated by the letter categories */
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || ingot_tok_is_numeric(cp);
}

int ingot_tok_is_punct(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
               (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

/* ------------------------------------------------------------------ regexes */

pcre2_code *ingot_tok_regex_compile(const char *pat, size_t len, int literal, const char *what,
                                    const char *path, ingot_error *err)
{
    int code;
    PCRE2_SIZE off;
    /* HF compiles with Oniguruma's Ruby syntax, where ^ and $ match at every
     * \n; PCRE2_LITERAL refuses PCRE2_UCP, which a literal does not need. */
    uint32_t opts = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP | PCRE2_MULTILINE);
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) {
        ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
        return NULL;
    }
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &code, &off, cc);
    pcre2_compile_context_free(cc);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "invalid regex at offset %zu: %s",
                       (size_t)off, (const char *)msg);
        return NULL;
    }
    /* without JIT pcre2_match interprets the pattern: slower, same result */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

pcre2_code *ingot_tok_pattern_parse(json_t *j, const char *what, const char *path, ingot_error *err)
{
    char sub[INGOT_TOK_PATH];
    json_t *re = json_object_get(j, "Regex"), *str = json_object_get(j, "String");
    if (json_is_string(re)) {
        snprintf(sub, sizeof sub, "%s.Regex", path);
        return ingot_tok_regex_compile(json_string_value(re), json_string_length(re), 0, what, sub,
                                       err);
    }
    if (json_is_string(str)) {
        snprintf(sub, sizeof sub, "%s.String", path);
        return ingot_tok_regex_compile(json_string_value(str), json_string_length(str), 1, what,
                                       sub, err);
    }
    ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path,
                   "expected {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    return NULL;
}

int ingot_tok_spans_push(ingot_tok_spans *sp, size_t start, size_t end, int match)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? 2 * sp->cap : 64;
        ingot_tok_span *v = realloc(sp->v, cap * sizeof *v);
        if (!v)
            return -1;
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[sp->n++] = (ingot_tok_span){start, end, match};
    return 0;
}

static int regex_find(const pcre2_code *re, const char *s, size_t len, size_t from,
                      ingot_tok_scratch *sc, size_t *ms, size_t *me, ingot_error *err)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, from, PCRE2_NO_UTF_CHECK, sc->md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re, (PCRE2_SPTR)s, len, from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, sc->md,
                         NULL);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "tokenizer: regex match failed: %s",
                          (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
    *ms = ov[0];
    *me = ov[1] < ov[0] ? ov[0] : ov[1]; /* \K could invert them */
    return 1;
}

int ingot_tok_regex_spans(const pcre2_code *re, const char *s, size_t len, int invert,
                          ingot_tok_scratch *sc, ingot_error *err)
{
    ingot_tok_spans *sp = &sc->spans;
    size_t from = 0, prev = 0, last_match_end = 0, ms, me;
    int have_last = 0, rc = 0;
    sp->n = 0;
    if (!len) {
        if (ingot_tok_spans_push(sp, 0, 0, invert))
            return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
        return 0;
    }
    /* Oniguruma's find_iter: an empty match right where the previous match
     * ended is refused and the search resumes one character later. */
    while (from <= len && (rc = regex_find(re, s, len, from, sc, &ms, &me, err)) > 0) {
        if (ms == me && have_last && last_match_end == me) {
            from += from < len ? ingot_tok_u8len((unsigned char)s[from]) : 1;
            continue;
        }
        from = last_match_end = me;
        have_last = 1;
        if ((prev != ms && ingot_tok_spans_push(sp, prev, ms, invert)) ||
            ingot_tok_spans_push(sp, ms, me, !invert))
            return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
        prev = me;
    }
    if (from <= len && rc < 0)
        return -1;
    if (prev != len && ingot_tok_spans_push(sp, prev, len, invert))
        return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
    return 0;
}

int ingot_tok_pred_spans(int (*pred)(uint32_t), uint32_t only, const char *s, size_t len,
                         ingot_tok_spans *sp)
{
    size_t last = 0, n;
    sp->n = 0;
    for (size_t i = 0; i < len; i += n) {
        uint32_t cp = ingot_tok_u8dec(s + i, &n);
        if (pred ? !pred(cp) : cp != only)
            continue;
        if ((last < i && ingot_tok_spans_push(sp, last, i, 0)) ||
            ingot_tok_spans_push(sp, i, i + n, 1))
            return -1;
        last = i + n;
    }
    if ((last < len || !len) && ingot_tok_spans_push(sp, last, len, 0))
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ split */

int ingot_tok_split(const ingot_tok_spans *spans, int behavior, const char *s, int at_start,
                    ingot_tok_pieces *out)
{
    /* Groups the spans as HF's fold for each behaviour does, then emits the
     * non-empty groups (PreTokenizedString::split drops empty pieces). */
    const ingot_tok_span *v = spans->v;
    size_t n = spans->n;
    for (size_t i = 0; i < n; i++) {
        size_t start = v[i].start, end = v[i].end;
        switch (behavior) {
        case INGOT_TOK_REMOVED:
            if (v[i].match)
                continue;
            break;
        case INGOT_TOK_CONTIGUOUS:
            while (i + 1 < n && v[i + 1].match == v[i].match)
                end = v[++i].end;
            break;
        case INGOT_TOK_MERGED_PREV:
            if (!v[i].match && i + 1 < n && v[i + 1].match)
                end = v[++i].end;
            break;
        case INGOT_TOK_MERGED_NEXT:
            if (v[i].match && i + 1 < n && !v[i + 1].match)
                end = v[++i].end;
            break;
        default:
            break;
        }
        if (ingot_tok_pieces_push(out, s + start, end - start, at_start && start == 0))
            return -1;
    }
    return 0;
}
