/* jinja_lex.c - template source to tokens.
 *
 * Whitespace control is applied here, mirroring Jinja's lexer with the
 * settings transformers uses (trim_blocks=True, lstrip_blocks=True,
 * keep_trailing_newline=False):
 *   - "{%-", "{{-", "{#-" strip all whitespace before the tag;
 *   - "-%}", "-}}", "-#}" strip all whitespace after it;
 *   - trim_blocks: one newline right after "%}" or "#}" is dropped ("+%}" keeps it);
 *   - lstrip_blocks: spaces and tabs between the start of a line and "{%" or "{#"
 *     are dropped ("{%+" keeps them);
 *   - the source's newlines are normalized to "\n" and one trailing newline dropped.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"
#include "util/util.h"

typedef struct lexer {
    char *src; /* normalized copy */
    size_t pos, n;
    int line;
    int line_starting; /* the text before the next tag starts a line (Jinja's line_starting) */
    ingot_jtok *toks;
    int ntoks, cap;
    ingot_error *err;
} lexer;

static int lex_fail(lexer *L, ingot_status code, const char *what)
{
    return ingot_fail(L->err, code, "chat template: line %d: %s", L->line, what);
}

static int count_lines(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == '\n';
    return k;
}

static ingot_jtok *push(lexer *L, ingot_jtok_kind kind, int line)
{
    if (L->ntoks == L->cap) {
        int cap = L->cap ? L->cap * 2 : 256;
        ingot_jtok *t = realloc(L->toks, (size_t)cap * sizeof *t);
        if (!t) {
            lex_fail(L, INGOT_ERR_NOMEM, "out of memory");
            return NULL;
        }
        L->toks = t;
        L->cap = cap;
    }
    ingot_jtok *t = &L->toks[L->ntoks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->line = line;
    return t;
}

static int push_text(lexer *L, ingot_jtok_kind kind, int line, const char *s, size_t n)
{
    ingot_jtok *t = push(L, kind, line);
    if (!t)
        return -1;
    t->s = malloc(n + 1);
    if (!t->s)
        return lex_fail(L, INGOT_ERR_NOMEM, "out of memory");
    memcpy(t->s, s, n);
    t->s[n] = 0;
    t->len = n;
    return 0;
}

/* \r\n and \r become \n; one trailing newline goes (keep_trailing_newline=False). */
static char *normalize(const char *src, size_t *n)
{
    size_t len = strlen(src);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            out[k++] = '\n';
            if (src[i + 1] == '\n')
                i++;
        } else {
            out[k++] = src[i];
        }
    }
    if (k && out[k - 1] == '\n')
        k--;
    out[k] = 0;
    *n = k;
    return out;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Consumes whitespace after a "-" end tag; remembers whether it ended a line. */
static void skip_space_after(lexer *L)
{
    while (L->pos < L->n && is_space(L->src[L->pos])) {
        L->line_starting = L->src[L->pos] == '\n';
        L->line += L->src[L->pos] == '\n';
        L->pos++;
    }
}

/* Ends a "%}" or "#}" tag whose marker starts at L->pos, of the given modifier. */
static void end_block_tag(lexer *L, char mod, size_t marker_len)
{
    L->pos += marker_len;
    L->line_starting = 0;
    if (mod == '-') {
        skip_space_after(L);
    } else if (mod != '+' && L->pos < L->n && L->src[L->pos] == '\n') { /* trim_blocks */
        L->pos++;
        L->line++;
        L->line_starting = 1;
    }
}

/* Emits the text before a tag, stripped as the tag's modifier asks. */
static int emit_text(lexer *L, size_t start, size_t end, char kind, char mod)
{
    const char *t = L->src + start;
    size_t n = end - start;
    int line = L->line;
    if (mod == '-') {
        while (n && is_space(t[n - 1]))
            n--;
    } else if (mod != '+' && (kind == '%' || kind == '#')) { /* lstrip_blocks: blocks and comments only */
        size_t l = n;
        while (l && t[l - 1] != '\n')
            l--;
        if (l > 0 || L->line_starting) {
            size_t j = l;
            while (j < n && (t[j] == ' ' || t[j] == '\t'))
                j++;
            if (j == n)
                n = l;
        }
    }
    L->line += count_lines(L->src + start, end - start);
    if (n == 0)
        return 0;
    return push_text(L, JT_TEXT, line, t, n);
}

static int lex_comment(lexer *L)
{
    const char *e = strstr(L->src + L->pos, "#}");
    if (!e)
        return lex_fail(L, INGOT_ERR_FORMAT, "unclosed comment '{#' (missing '#}')");
    size_t at = (size_t)(e - L->src);
    char mod = at > L->pos && (e[-1] == '-' || e[-1] == '+') ? e[-1] : 0;
    L->line += count_lines(L->src + L->pos, at - L->pos);
    L->pos = at;
    end_block_tag(L, mod, 2);
    return 0;
}

/* ---- expression tokens ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void put_utf8(char *out, size_t *k, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*k)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*k)++] = (char)(0xc0 | (cp >> 6));
        out[(*k)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*k)++] = (char)(0xe0 | (cp >> 12));
        out[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*k)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*k)++] = (char)(0xf0 | (cp >> 18));
        out[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*k)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* Reads \x, \u and \U escapes: ndig hex digits at s.  @return -1 when malformed. */
static long read_hex(const char *s, int ndig)
{
    long v = 0;
    for (int i = 0; i < ndig; i++) {
        int h = hexval((unsigned char)s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v > 0x10ffff ? -1 : v;
}

static const char *simple_escape(char c)
{
    switch (c) {
    case 'n': return "\n";
    case 't': return "\t";
    case 'r': return "\r";
    case '\\': return "\\";
    case '\'': return "'";
    case '"': return "\"";
    case 'a': return "\a";
    case 'b': return "\b";
    case 'f': return "\f";
    case 'v': return "\v";
    case '\n': return ""; /* a backslash-newline continues the line */
    default: return NULL;
    }
}

/* Unescapes a string literal body the way Jinja does (Python's unicode-escape;
 * unknown escapes such as "\d" stay as they are). */
static int unescape(lexer *L, const char *s, size_t n, ingot_jtok *t)
{
    char *out = malloc(n + 1);
    if (!out)
        return lex_fail(L, INGOT_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            out[k++] = s[i];
            continue;
        }
        char c = s[++i];
        const char *simple = simple_escape(c);
        int ndig = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
        if (simple) {
            size_t m = strlen(simple);
            memcpy(out + k, simple, m);
            k += m;
        } else if (ndig) {
            long cp = i + (size_t)ndig < n ? read_hex(s + i + 1, ndig) : -1;
            if (cp < 0) {
                free(out);
                return lex_fail(L, INGOT_ERR_FORMAT, "malformed \\x, \\u or \\U escape in a string");
            }
            put_utf8(out, &k, (unsigned long)cp); /* never longer than the escape */
            i += (size_t)ndig;
        } else if (c >= '0' && c <= '7') {
            unsigned long cp = 0;
            int d = 0;
            for (; d < 3 && i < n && s[i] >= '0' && s[i] <= '7'; d++, i++)
                cp = cp * 8 + (unsigned long)(s[i] - '0');
            i--;
            put_utf8(out, &k, cp);
        } else {
            out[k++] = '\\';
            out[k++] = c;
        }
    }
    out[k] = 0;
    t->s = out;
    t->len = k;
    return 0;
}

static int lex_string(lexer *L)
{
    char q = L->src[L->pos];
    size_t i = L->pos + 1;
    while (i < L->n && L->src[i] != q)
        i += L->src[i] == '\\' && i + 1 < L->n ? 2 : 1;
    if (i >= L->n)
        return lex_fail(L, INGOT_ERR_FORMAT, "unterminated string literal");
    ingot_jtok *t = push(L, JT_STRING, L->line);
    if (!t || unescape(L, L->src + L->pos + 1, i - L->pos - 1, t) < 0)
        return -1;
    L->line += count_lines(L->src + L->pos, i - L->pos);
    L->pos = i + 1;
    return 0;
}

/* Copies a number literal's characters (without "_" separators) into buf. */
static size_t scan_number(const char *s, char *buf, size_t cap, size_t *len, int *is_float)
{
    size_t i = 0, k = 0;
    *is_float = 0;
    while (k + 3 < cap) {
        char c = s[i];
        /* s is NUL-terminated: past its end nothing may be read */
        int next_digit = c != 0 && isdigit((unsigned char)s[i + 1]);
        if (isdigit((unsigned char)c)) {
            buf[k++] = s[i++];
        } else if (c == '_' && next_digit) {
            i++; /* 1_000 */
        } else if (c == '.' && !*is_float && next_digit) {
            *is_float = 1;
            buf[k++] = s[i++];
        } else if ((c == 'e' || c == 'E') &&
                   (next_digit || ((s[i + 1] == '+' || s[i + 1] == '-') && isdigit((unsigned char)s[i + 2])))) {
            *is_float = 1;
            buf[k++] = s[i++];
            buf[k++] = s[i++];
        } else {
            break;
        }
    }
    buf[k] = 0;
    *len = k;
    return i;
}

static int lex_number(lexer *L)
{
    char buf[128];
    size_t k;
    int is_float;
    size_t used = scan_number(L->src + L->pos, buf, sizeof buf, &k, &is_float);
    if (k + 3 >= sizeof buf)
        return lex_fail(L, INGOT_ERR_FORMAT, "number literal too long");
    ingot_jtok *t = push(L, is_float ? JT_FLOAT : JT_INT, L->line);
    if (!t)
        return -1;
    if (is_float) {
        t->f = strtod(buf, NULL);
    } else {
        unsigned long long v = strtoull(buf, NULL, 10);
        if (k > 19 || v > INT64_MAX)
            return lex_fail(L, INGOT_ERR_UNSUPPORTED, "integer literal too large");
        t->i = (int64_t)v;
    }
    L->pos += used;
    return 0;
}

static int lex_name(lexer *L)
{
    size_t i = L->pos;
    while (i < L->n && (isalnum((unsigned char)L->src[i]) || L->src[i] == '_'))
        i++;
    if (push_text(L, JT_NAME, L->line, L->src + L->pos, i - L->pos) < 0)
        return -1;
    L->pos = i;
    return 0;
}

/* Open brackets of the current tag: end markers only count outside them, and
 * a closing bracket must match (as in Jinja's lexer). */
typedef struct brackets {
    char want[64];
    int depth;
} brackets;

static int track_bracket(lexer *L, brackets *b, char c)
{
    char what[64];
    const char *open = strchr("([{", c);
    if (open) {
        if (b->depth == (int)sizeof b->want)
            return lex_fail(L, INGOT_ERR_UNSUPPORTED, "brackets nest deeper than the limit of 64");
        b->want[b->depth++] = ")]}"[open - "([{"];
        return 0;
    }
    if (!strchr(")]}", c))
        return 0;
    if (b->depth == 0) {
        snprintf(what, sizeof what, "unexpected '%c'", c);
        return lex_fail(L, INGOT_ERR_FORMAT, what);
    }
    if (b->want[b->depth - 1] != c) {
        snprintf(what, sizeof what, "unexpected '%c', expected '%c'", c, b->want[b->depth - 1]);
        return lex_fail(L, INGOT_ERR_FORMAT, what);
    }
    b->depth--;
    return 0;
}

static int lex_operator(lexer *L, brackets *br)
{
    static const char *const two[] = {"//", "**", "==", "!=", ">=", "<="};
    const char *s = L->src + L->pos;
    size_t n = 0;
    for (size_t i = 0; i < INGOT_ARRAY_LEN(two); i++)
        if (s[0] == two[i][0] && s[1] == two[i][1])
            n = 2;
    if (!n && s[0] && strchr("+-*/%~[](){}<>=.:|,", s[0]))
        n = 1;
    if (!n) {
        char what[64];
        snprintf(what, sizeof what, "unexpected character '%c' in a tag", s[0]);
        return lex_fail(L, INGOT_ERR_FORMAT, what);
    }
    if (n == 1 && track_bracket(L, br, s[0]) < 0)
        return -1;
    if (push_text(L, JT_OP, L->line, s, n) < 0)
        return -1;
    L->pos += n;
    return 0;
}

/* Is the tag's end marker ("}}" or "%}", maybe after "-" or "+") at L->pos? */
static size_t end_marker(const lexer *L, char close, char *mod)
{
    const char *s = L->src + L->pos;
    *mod = 0;
    if ((s[0] == '-' || (s[0] == '+' && close == '%')) && s[1] == close && s[2] == '}') {
        *mod = s[0];
        return 3;
    }
    return s[0] == close && s[1] == '}' ? 2 : 0;
}

/* Tokenizes the inside of "{{ ... }}" or "{% ... %}" and its end. */
static int lex_tag(lexer *L, int is_block)
{
    int open_line = L->line;
    brackets br = {.depth = 0};
    char close = is_block ? '%' : '}';
    for (;;) {
        while (L->pos < L->n && is_space(L->src[L->pos]))
            L->line += L->src[L->pos++] == '\n';
        if (L->pos >= L->n) {
            L->line = open_line;
            return lex_fail(L, INGOT_ERR_FORMAT,
                            is_block ? "unclosed tag '{%' (missing '%}')" : "unclosed tag '{{' (missing '}}')");
        }
        char mod;
        size_t m = br.depth == 0 ? end_marker(L, close, &mod) : 0; /* as Jinja: only when balanced */
        if (m) {
            if (!push(L, is_block ? JT_BLOCK_END : JT_VAR_END, L->line))
                return -1;
            if (is_block) {
                end_block_tag(L, mod, m);
            } else {
                L->pos += m;
                L->line_starting = 0;
                if (mod == '-')
                    skip_space_after(L);
            }
            return 0;
        }
        char c = L->src[L->pos];
        int rc;
        if (c == '\'' || c == '"')
            rc = lex_string(L);
        else if (isdigit((unsigned char)c))
            rc = lex_number(L);
        else if (isalpha((unsigned char)c) || c == '_')
            rc = lex_name(L);
        else
            rc = lex_operator(L, &br);
        if (rc < 0)
            return -1;
    }
}

/* Finds the next "{{", "{%" or "{#" at or after from; returns n when none. */
static size_t next_tag(const lexer *L, size_t from)
{
    for (const char *p = L->src + from; (p = strchr(p, '{')) != NULL; p++)
        if (p[1] == '{' || p[1] == '%' || p[1] == '#')
            return (size_t)(p - L->src);
    return L->n;
}

static int lex_all(lexer *L)
{
    while (L->pos < L->n) {
        size_t at = next_tag(L, L->pos);
        if (at >= L->n)
            return emit_text(L, L->pos, L->n, 0, 0);
        char kind = L->src[at + 1];
        char mod = L->src[at + 2] == '-' || L->src[at + 2] == '+' ? L->src[at + 2] : 0;
        if (emit_text(L, L->pos, at, kind, mod) < 0)
            return -1;
        L->pos = at + 2 + (mod != 0);
        int rc;
        if (kind == '#') {
            rc = lex_comment(L);
        } else {
            rc = push(L, kind == '%' ? JT_BLOCK_BEGIN : JT_VAR_BEGIN, L->line) ? 0 : -1;
            if (rc == 0)
                rc = lex_tag(L, kind == '%');
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int ingot_jinja_lex(const char *src, ingot_jtok **toks, int *ntoks, ingot_error *err)
{
    lexer L = {.line = 1, .line_starting = 1, .err = err};
    L.src = normalize(src, &L.n);
    if (!L.src)
        return ingot_fail(err, INGOT_ERR_NOMEM, "chat template: out of memory");
    int rc = lex_all(&L);
    if (rc == 0 && !push(&L, JT_EOF, L.line))
        rc = -1;
    free(L.src);
    if (rc < 0) {
        ingot_jinja_toks_free(L.toks, L.ntoks);
        return -1;
    }
    *toks = L.toks;
    *ntoks = L.ntoks;
    return 0;
}

void ingot_jinja_toks_free(ingot_jtok *toks, int ntoks)
{
    for (int i = 0; i < ntoks; i++)
        free(toks[i].s);
    free(toks);
}
