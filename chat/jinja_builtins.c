/* jinja_builtins.c - the filters, tests, methods and global functions that
 * chat templates use.  Each follows its Jinja / Python counterpart; anything
 * not listed here is refused by name (the parser checks filter and test names,
 * the evaluator method names), never guessed at.
 *
 * Case mappings use utf8proc's simple (one to one) mappings: Python's full
 * mappings differ only for a few characters ('ß'.upper() is 'SS' there). */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "chat/jinja.h"
#include "util/util.h"

/* The sandbox's limit on range() (jinja2.sandbox.MAX_RANGE). */
#define MAX_RANGE 100000

static int bfail(ingot_jctx *c, ingot_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bfail(ingot_jctx *c, ingot_status code, const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ingot_jinja_fail(c, ingot_jinja_line(c), code, "%s", msg);
}

/* ---- arguments ---- */

/* Checks a call against its parameter names (NULL-terminated). */
static int check_args(ingot_jctx *c, const char *what, const char *fn, const ingot_jargs *a,
                      const char *const *params)
{
    int np = 0;
    while (params[np])
        np++;
    if (a->npos > np)
        return bfail(c, INGOT_ERR_FORMAT, "%s '%s' takes at most %d arguments, %d given", what, fn, np, a->npos);
    for (int k = 0; k < a->nkw; k++) {
        int i = 0;
        while (params[i] && strcmp(params[i], a->kwn[k]) != 0)
            i++;
        if (!params[i])
            return bfail(c, INGOT_ERR_UNSUPPORTED, "%s '%s' has no argument '%s'", what, fn, a->kwn[k]);
        if (i < a->npos)
            return bfail(c, INGOT_ERR_FORMAT, "%s '%s' got argument '%s' twice", what, fn, a->kwn[k]);
    }
    return 0;
}

/* Argument i (named params[i]) or NULL when not given. */
static const ingot_jv *arg(const ingot_jargs *a, const char *const *params, int i)
{
    if (i < a->npos)
        return &a->pos[i];
    for (int k = 0; k < a->nkw; k++)
        if (strcmp(a->kwn[k], params[i]) == 0)
            return &a->kwv[k];
    return NULL;
}

static int arg_true(const ingot_jargs *a, const char *const *params, int i)
{
    const ingot_jv *v = arg(a, params, i);
    return v && ingot_jv_truthy(*v);
}

static int want_str(ingot_jctx *c, const ingot_jv *v, const char *what)
{
    if (v && v->kind == JV_STR)
        return 0;
    return bfail(c, INGOT_ERR_FORMAT, "%s must be a string, not '%s'", what, v ? ingot_jv_type_name(*v) : "nothing");
}

static int want_int(ingot_jctx *c, const ingot_jv *v, const char *what, int64_t *out)
{
    if (v && (v->kind == JV_INT || v->kind == JV_BOOL)) {
        *out = v->kind == JV_INT ? v->u.i : v->u.b;
        return 0;
    }
    return bfail(c, INGOT_ERR_FORMAT, "%s must be an integer, not '%s'", what,
                 v ? ingot_jv_type_name(*v) : "nothing");
}

/* str(v) as a new string value. */
static ingot_jv to_str(ingot_jv v)
{
    if (v.kind == JV_STR)
        return ingot_jv_ref(v);
    ingot_jbuf b = {0};
    ingot_jv_write_str(&b, v);
    return ingot_jv_str_buf(&b);
}

/* ---- strings ---- */

static int is_py_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static int cp_in(uint32_t cp, const ingot_jstr *set)
{
    for (size_t i = 0; i < set->len;)
        if (ingot_jinja_utf8_next(set->s, set->len, &i) == cp)
            return 1;
    return 0;
}

/* Python's strip family: which = 1 left, 2 right, 3 both; chars NULL = whitespace. */
static ingot_jv strip(ingot_jv s, const ingot_jstr *chars, int which)
{
    const char *p = s.u.s->s;
    size_t n = s.u.s->len, lo = 0, hi = n;
    while ((which & 1) && lo < hi) {
        size_t i = lo;
        uint32_t cp = ingot_jinja_utf8_next(p, n, &i);
        if (!(chars ? cp_in(cp, chars) : is_py_space(cp)))
            break;
        lo = i;
    }
    while ((which & 2) && hi > lo) {
        size_t start = hi - 1;
        while (start > lo && ((unsigned char)p[start] & 0xc0) == 0x80)
            start--;
        size_t i = start;
        uint32_t cp = ingot_jinja_utf8_next(p, n, &i);
        if (!(chars ? cp_in(cp, chars) : is_py_space(cp)))
            break;
        hi = start;
    }
    return ingot_jv_str(p + lo, hi - lo);
}

/* Python's "cased" characters: upper, lower and title case letters. */
static int is_cased(uint32_t cp)
{
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)cp);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

enum { CASE_UPPER, CASE_LOWER, CASE_CAPITALIZE, CASE_TITLE, CASE_JINJA_TITLE };

/* The one-to-many mappings of Python's str.upper() / .title() (Unicode
 * SpecialCasing) that matter for Latin text: ß and the ligatures ﬀ-ﬆ.
 * @return the replacement, or NULL when the simple mapping applies. */
static const char *special_case(uint32_t cp, int title)
{
    static const char *const upper[] = {"FF", "FI", "FL", "FFI", "FFL", "ST", "ST"};
    static const char *const titles[] = {"Ff", "Fi", "Fl", "Ffi", "Ffl", "St", "St"};
    if (cp == 0xdf)
        return title ? "Ss" : "SS";
    if (cp >= 0xfb00 && cp <= 0xfb06)
        return (title ? titles : upper)[cp - 0xfb00];
    return NULL;
}

/* Case mappings of str(v), per code point (utf8proc's simple mappings plus
 * special_case).  CASE_TITLE is str.title (a cased letter after an uncased
 * character starts a word, and gets title case), CASE_JINJA_TITLE the title
 * filter (words start after "-", whitespace or one of "([{<", and their first
 * character is upper-cased). */
static ingot_jv recase(ingot_jv v, int mode)
{
    ingot_jv s = to_str(v);
    ingot_jbuf b = {0};
    int start = 1;
    for (size_t i = 0; i < s.u.s->len;) {
        size_t at = i;
        utf8proc_int32_t cp = (utf8proc_int32_t)ingot_jinja_utf8_next(s.u.s->s, s.u.s->len, &i);
        int upper = mode == CASE_UPPER || (mode == CASE_JINJA_TITLE && start);
        int title = (mode == CASE_TITLE && start) || (mode == CASE_CAPITALIZE && at == 0);
        utf8proc_int32_t o = upper ? utf8proc_toupper(cp) : title ? utf8proc_totitle(cp) : utf8proc_tolower(cp);
        if (mode == CASE_TITLE)
            start = !is_cased((uint32_t)cp);
        else if (mode == CASE_JINJA_TITLE)
            start = is_py_space((uint32_t)cp) || (cp < 0x80 && cp && strchr("-({[<", (int)cp));
        const char *special = upper || title ? special_case((uint32_t)cp, title) : NULL;
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t n = special || (i - at == 1 && cp >= 0x80) ? 0 : utf8proc_encode_char(o, enc);
        if (special)
            ingot_jbuf_puts(&b, special);
        else if (n > 0)
            ingot_jbuf_put(&b, (const char *)enc, (size_t)n);
        else /* a stray byte: kept as it was */
            ingot_jbuf_put(&b, s.u.s->s + at, i - at);
    }
    ingot_jv_unref(s);
    return ingot_jv_str_buf(&b);
}

static ingot_jv str_replace(const ingot_jstr *s, const ingot_jstr *old, const ingot_jstr *new_, int64_t count)
{
    ingot_jbuf b = {0};
    size_t i = 0;
    int64_t done = 0;
    if (old->len == 0) { /* Python inserts between every character */
        while (count < 0 || done < count) {
            ingot_jbuf_put(&b, new_->s, new_->len);
            done++;
            if (i >= s->len)
                break;
            size_t at = i;
            ingot_jinja_utf8_next(s->s, s->len, &i);
            ingot_jbuf_put(&b, s->s + at, i - at);
        }
        ingot_jbuf_put(&b, s->s + i, s->len - i);
        return ingot_jv_str_buf(&b);
    }
    while (i < s->len && (count < 0 || done < count)) {
        (void)ingot_jv_work(1 + (s->len - i) / 32);
        const char *hit = memmem(s->s + i, s->len - i, old->s, old->len);
        if (!hit)
            break;
        size_t at = (size_t)(hit - s->s);
        ingot_jbuf_put(&b, s->s + i, at - i);
        ingot_jbuf_put(&b, new_->s, new_->len);
        i = at + old->len;
        done++;
    }
    ingot_jbuf_put(&b, s->s + i, s->len - i);
    return ingot_jv_str_buf(&b);
}

/* Finds the next piece at or after *pos: [*a, *e).  sep NULL: a run of
 * non-whitespace.  @return 0 when there is none. */
static int next_piece(const ingot_jstr *s, const ingot_jstr *sep, size_t *pos, size_t *a, size_t *e)
{
    if (*pos > s->len)
        return 0;
    if (sep) {
        (void)ingot_jv_work(1 + (s->len - *pos) / 32);
        const char *hit = memmem(s->s + *pos, s->len - *pos, sep->s, sep->len);
        *a = *pos;
        *e = hit ? (size_t)(hit - s->s) : s->len;
        *pos = hit ? *e + sep->len : s->len + 1;
        return 1;
    }
    size_t i = *pos, k;
    for (k = i; i < s->len && is_py_space(ingot_jinja_utf8_next(s->s, s->len, &k)); k = i)
        i = k; /* skip whitespace */
    if (i >= s->len)
        return 0;
    *a = i;
    for (k = i; i < s->len && !is_py_space(ingot_jinja_utf8_next(s->s, s->len, &k)); k = i)
        i = k;
    *e = *pos = i;
    return 1;
}

/* All pieces of s as [start, end) pairs (malloc'ed). */
static int split_pieces(ingot_jctx *c, const ingot_jstr *s, const ingot_jstr *sep, size_t **pieces, size_t *np)
{
    size_t cap = 0, pos = 0, a, e;
    *pieces = NULL;
    *np = 0;
    while (next_piece(s, sep, &pos, &a, &e)) {
        if (*np == cap) {
            cap = cap ? cap * 2 : 16;
            size_t *q = realloc(*pieces, cap * 2 * sizeof *q);
            if (!q) {
                free(*pieces);
                ingot_jv_oom_set();
                return bfail(c, INGOT_ERR_NOMEM, "out of memory");
            }
            *pieces = q;
        }
        (*pieces)[2 * *np] = a;
        (*pieces)[2 * *np + 1] = e;
        (*np)++;
    }
    return 0;
}

/* str.split / str.rsplit; sep NULL (or none) splits on runs of whitespace.
 * With maxsplit, the unsplit rest runs to the end (split) or from the start
 * (rsplit) of the string, whitespace included, as in Python. */
static int str_split(ingot_jctx *c, const ingot_jstr *s, const ingot_jv *sepv, int64_t maxsplit, int right,
                     ingot_jv *out)
{
    const ingot_jstr *sep = sepv && sepv->kind != JV_NONE ? sepv->u.s : NULL;
    if (sepv && sepv->kind != JV_NONE && want_str(c, sepv, "the separator") < 0)
        return -1;
    if (sep && sep->len == 0)
        return bfail(c, INGOT_ERR_FORMAT, "split(): empty separator");
    size_t *pc, np;
    if (split_pieces(c, s, sep, &pc, &np) < 0)
        return -1;
    *out = ingot_jv_list_new();
    int limited = maxsplit >= 0 && (uint64_t)maxsplit < np;
    size_t keep = limited ? (size_t)maxsplit + 1 : np;
    for (size_t k = 0; k < keep; k++) {
        size_t first = right ? np - keep + k : k, a = pc[2 * first], e = pc[2 * first + 1];
        if (limited && !right && k == keep - 1)
            e = s->len;
        if (limited && right && k == 0)
            a = 0;
        ingot_jv_list_push(*out, ingot_jv_str(s->s + a, e - a));
    }
    free(pc);
    return 0;
}

/* ---- collection helpers ---- */

/* Follows a dotted attribute path ("function.name", "0") through dicts and lists. */
static int attr_path(ingot_jctx *c, ingot_jv item, const ingot_jstr *path, ingot_jv *out)
{
    *out = ingot_jv_ref(item);
    const char *p = path->s;
    while (out->kind != JV_UNDEF) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        ingot_jv key, next;
        if (n > 0 && strspn(p, "0123456789") >= n)
            key = ingot_jv_int(strtoll(p, NULL, 10));
        else
            key = ingot_jv_str(p, n);
        int rc = ingot_jinja_getitem(c, *out, key, &next);
        ingot_jv_unref(key);
        ingot_jv_unref(*out);
        *out = ingot_jv_undef(NULL);
        if (rc < 0)
            return -1;
        *out = next;
        if (!dot)
            break;
        p = dot + 1;
    }
    return 0;
}

/* Runs the test named by args[first] (with the arguments after it) on v. */
static int run_named_test(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int first, int *res)
{
    if (first >= a->npos) {
        *res = ingot_jv_truthy(v);
        return 0;
    }
    if (want_str(c, &a->pos[first], "the test name") < 0)
        return -1;
    int id = ingot_jinja_test_id(a->pos[first].u.s->s);
    if (id < 0)
        return bfail(c, INGOT_ERR_UNSUPPORTED, "unsupported test '%s'", a->pos[first].u.s->s);
    ingot_jargs rest = {a->pos + first + 1, a->npos - first - 1, NULL, NULL, 0};
    return ingot_jinja_test(c, id, v, &rest, res);
}

/* select / reject (attr NULL) and selectattr / rejectattr. */
static int filter_select(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, int want, int by_attr, ingot_jv *out)
{
    if (a->nkw)
        return bfail(c, INGOT_ERR_UNSUPPORTED, "keyword arguments to select/reject filters");
    if (by_attr && (a->npos < 1 || want_str(c, &a->pos[0], "the attribute") < 0))
        return a->npos < 1 ? bfail(c, INGOT_ERR_FORMAT, "missing attribute name") : -1;
    ingot_jv items;
    if (ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    *out = ingot_jv_list_new();
    int rc = 0;
    for (size_t i = 0; items.kind == JV_LIST && i < items.u.l->n && rc == 0; i++) {
        ingot_jv v = ingot_jv_ref(items.u.l->v[i]);
        int res = 0;
        if (by_attr) {
            ingot_jv item = v;
            rc = attr_path(c, item, a->pos[0].u.s, &v);
            ingot_jv_unref(item);
        }
        if (rc == 0)
            rc = run_named_test(c, v, a, by_attr, &res);
        ingot_jv_unref(v);
        if (rc == 0 && res == want)
            ingot_jv_list_push(*out, ingot_jv_ref(items.u.l->v[i]));
    }
    ingot_jv_unref(items);
    if (rc < 0)
        ingot_jv_unref(*out);
    else
        ingot_jv_list_mark_gen(*out);
    return rc;
}

/* Orders items by keys (parallel list), stably; comparison errors propagate. */
static int sort_by(ingot_jctx *c, ingot_jv *items, ingot_jv *keys, size_t n, int reverse)
{
    for (size_t i = 1; i < n; i++) { /* insertion sort: stable, and template lists are short */
        for (size_t j = i; j > 0; j--) {
            int r;
            if (ingot_jinja_compare(c, keys[j - 1], keys[j], &r) < 0)
                return -1;
            if (reverse ? r >= 0 : r <= 0)
                break;
            ingot_jv t = items[j];
            items[j] = items[j - 1];
            items[j - 1] = t;
            t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    }
    return 0;
}

/* The sort key of an item: its attribute, lower-cased when not case sensitive. */
static int sort_key(ingot_jctx *c, ingot_jv item, const ingot_jv *attr, int case_sensitive, ingot_jv *key)
{
    if (attr) {
        if (want_str(c, attr, "the attribute") < 0 || attr_path(c, item, attr->u.s, key) < 0)
            return -1;
    } else {
        *key = ingot_jv_ref(item);
    }
    if (!case_sensitive && key->kind == JV_STR) {
        ingot_jv l = recase(*key, CASE_LOWER);
        ingot_jv_unref(*key);
        *key = l;
    }
    return 0;
}

/* Sorts a list of items (taken over) into *out. */
static int sorted_list(ingot_jctx *c, ingot_jv items, const ingot_jv *attr, int case_sensitive, int reverse,
                       ingot_jv *out)
{
    size_t n = items.kind == JV_LIST ? items.u.l->n : 0;
    ingot_jv *v = calloc(n + 1, sizeof *v), *k = calloc(n + 1, sizeof *k);
    int rc = v && k ? 0 : -1;
    if (rc < 0) {
        ingot_jv_oom_set();
        bfail(c, INGOT_ERR_NOMEM, "out of memory");
    }
    size_t made = 0;
    for (; rc == 0 && made < n; made++) {
        v[made] = ingot_jv_ref(items.u.l->v[made]);
        if ((rc = sort_key(c, v[made], attr, case_sensitive, &k[made])) < 0)
            ingot_jv_unref(v[made]);
    }
    if (rc == 0)
        rc = sort_by(c, v, k, n, reverse);
    *out = ingot_jv_list_new();
    for (size_t i = 0; i < made; i++) {
        if (rc == 0)
            ingot_jv_list_push(*out, ingot_jv_ref(v[i]));
        ingot_jv_unref(v[i]);
        ingot_jv_unref(k[i]);
    }
    free(v);
    free(k);
    ingot_jv_unref(items);
    if (rc < 0)
        ingot_jv_unref(*out);
    return rc;
}

/* ---- filters ---- */

/* Defines a filter that needs neither the context nor arguments: *out = expr (of in). */
#define PLAIN_FILTER(name, expr)                                                        \
    static int name(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)   \
    {                                                                                   \
        (void)c, (void)a;                                                               \
        *out = (expr);                                                                  \
        return 0;                                                                       \
    }

/* Likewise a test: *res = expr (of v). */
#define PLAIN_TEST(name, expr)                                                          \
    static int name(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res)          \
    {                                                                                   \
        (void)c, (void)a;                                                               \
        *res = (expr);                                                                  \
        return 0;                                                                       \
    }

typedef int (*filter_fn)(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out);

#define PARAMS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOPARAMS ((const char *const[]){NULL})

static int f_abs(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)a;
    if (in.kind == JV_FLOAT)
        *out = ingot_jv_float(fabs(in.u.f));
    else if ((in.kind == JV_INT && in.u.i != INT64_MIN) || in.kind == JV_BOOL)
        *out = ingot_jv_int(in.kind == JV_INT ? (in.u.i < 0 ? -in.u.i : in.u.i) : in.u.b);
    else
        return bfail(c, INGOT_ERR_FORMAT, "bad operand type for abs(): '%s'", ingot_jv_type_name(in));
    return 0;
}

static int f_attr(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const ingot_jv *name = arg(a, PARAMS("name"), 0);
    if (want_str(c, name, "the attribute name") < 0 || ingot_jinja_getattr(c, in, name->u.s->s, out) < 0)
        return -1;
    if (out->kind == JV_UNDEF)
        out->u.name = NULL; /* the argument's text goes away after the call */
    return 0;
}

PLAIN_FILTER(f_capitalize, recase(in, CASE_CAPITALIZE))

static int f_default(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)c;
    const char *const *p = PARAMS("default_value", "boolean");
    const ingot_jv *d = arg(a, p, 0);
    int use = in.kind == JV_UNDEF || (arg_true(a, p, 1) && !ingot_jv_truthy(in));
    *out = !use ? ingot_jv_ref(in) : d ? ingot_jv_ref(*d) : ingot_jv_str("", 0);
    return 0;
}

static int f_dictsort(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("case_sensitive", "by", "reverse");
    const ingot_jv *by = arg(a, p, 1);
    if (in.kind != JV_DICT)
        return bfail(c, INGOT_ERR_FORMAT, "dictsort needs a mapping, not '%s'", ingot_jv_type_name(in));
    int by_value = by && by->kind == JV_STR && strcmp(by->u.s->s, "value") == 0;
    ingot_jv pairs = ingot_jv_list_new(), key = ingot_jv_cstr(by_value ? "1" : "0");
    for (size_t i = 0; i < in.u.d->n; i++) {
        ingot_jv pair = ingot_jv_list_new();
        ingot_jv_list_mark_tuple(pair);
        ingot_jv_list_push(pair, ingot_jv_ref((ingot_jv){.kind = JV_STR, .u.s = in.u.d->k[i]}));
        ingot_jv_list_push(pair, ingot_jv_ref(in.u.d->v[i]));
        ingot_jv_list_push(pairs, pair);
    }
    int rc = sorted_list(c, pairs, &key, arg_true(a, p, 0), arg_true(a, p, 2), out);
    ingot_jv_unref(key);
    return rc;
}

static int f_first_last(ingot_jctx *c, ingot_jv in, int last, ingot_jv *out)
{
    ingot_jv items;
    if (in.kind == JV_UNDEF) {
        *out = ingot_jv_undef(NULL);
        return 0;
    }
    if (last && ingot_jv_is_gen(in))
        return bfail(c, INGOT_ERR_FORMAT, "'generator' object is not reversible (add '| list')");
    if (ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    size_t n = items.kind == JV_LIST ? items.u.l->n : 0;
    *out = n ? ingot_jv_ref(items.u.l->v[last ? n - 1 : 0]) : ingot_jv_undef(NULL);
    ingot_jv_unref(items);
    return 0;
}

static int f_first(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)a;
    return f_first_last(c, in, 0, out);
}

static int f_last(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)a;
    return f_first_last(c, in, 1, out);
}

/* Python's float(str): optional whitespace around a complete number. */
static int parse_float(const char *s, double *d)
{
    char *end;
    *d = strtod(s, &end);
    if (end == s)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    return *end ? -1 : 0;
}

static int f_float(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)c;
    const ingot_jv *d = arg(a, PARAMS("default"), 0);
    double v;
    if (in.kind == JV_UNDEF) /* float(Undefined) raises in Jinja */
        return ingot_jinja_undefined_error(c, in);
    if (ingot_jv_is_number(in))
        *out = ingot_jv_float(ingot_jv_number(in));
    else if (in.kind == JV_STR && parse_float(in.u.s->s, &v) == 0)
        *out = ingot_jv_float(v);
    else
        *out = d ? ingot_jv_ref(*d) : ingot_jv_float(0);
    return 0;
}

static int f_int(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("default", "base");
    const ingot_jv *d = arg(a, p, 0), *basev = arg(a, p, 1);
    int64_t base = 10;
    if (basev && want_int(c, basev, "base", &base) < 0)
        return -1;
    double v;
    char *end;
    if (in.kind == JV_UNDEF) /* int(Undefined) raises in Jinja */
        return ingot_jinja_undefined_error(c, in);
    if (in.kind == JV_INT || in.kind == JV_BOOL) {
        *out = ingot_jv_int(in.kind == JV_INT ? in.u.i : in.u.b);
        return 0;
    }
    if (in.kind == JV_FLOAT && fabs(in.u.f) < 9.2e18) {
        *out = ingot_jv_int((int64_t)in.u.f);
        return 0;
    }
    if (in.kind == JV_STR && base >= 2 && base <= 36) {
        long long i = strtoll(in.u.s->s, &end, (int)base);
        while (*end == ' ' || *end == '\n' || *end == '\t')
            end++;
        if (end != in.u.s->s && !*end) {
            *out = ingot_jv_int(i);
            return 0;
        }
        if (parse_float(in.u.s->s, &v) == 0 && fabs(v) < 9.2e18) { /* Jinja retries int(float(s)) */
            *out = ingot_jv_int((int64_t)v);
            return 0;
        }
    }
    *out = d ? ingot_jv_ref(*d) : ingot_jv_int(0);
    return 0;
}

static int f_items(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)a;
    *out = ingot_jv_list_new();
    ingot_jv_list_mark_gen(*out); /* do_items is a generator */
    if (in.kind == JV_UNDEF)
        return 0;
    if (in.kind != JV_DICT) {
        ingot_jv_unref(*out);
        return bfail(c, INGOT_ERR_FORMAT, "can only get item pairs from a mapping, not '%s'",
                     ingot_jv_type_name(in));
    }
    for (size_t i = 0; i < in.u.d->n; i++) {
        ingot_jv pair = ingot_jv_list_new();
        ingot_jv_list_mark_tuple(pair);
        ingot_jv_list_push(pair, ingot_jv_ref((ingot_jv){.kind = JV_STR, .u.s = in.u.d->k[i]}));
        ingot_jv_list_push(pair, ingot_jv_ref(in.u.d->v[i]));
        ingot_jv_list_push(*out, pair);
    }
    return 0;
}

static int f_join(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("d", "attribute");
    const ingot_jv *sep = arg(a, p, 0), *attr = arg(a, p, 1);
    ingot_jv items;
    if ((attr && want_str(c, attr, "the attribute") < 0) || ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    ingot_jbuf b = {0};
    int rc = 0;
    for (size_t i = 0; items.kind == JV_LIST && i < items.u.l->n && rc == 0; i++) {
        if (i && sep)
            ingot_jv_write_str(&b, *sep);
        ingot_jv v = ingot_jv_ref(items.u.l->v[i]);
        if (attr) {
            ingot_jv item = v;
            rc = attr_path(c, item, attr->u.s, &v);
            ingot_jv_unref(item);
        }
        ingot_jv_write_str(&b, v);
        ingot_jv_unref(v);
    }
    ingot_jv_unref(items);
    if (rc < 0) {
        ingot_jbuf_free(&b);
        return -1;
    }
    *out = ingot_jv_str_buf(&b);
    return 0;
}

static int f_length(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)a;
    switch (in.kind) {
    case JV_STR: *out = ingot_jv_int((int64_t)ingot_jinja_utf8_len(in.u.s->s, in.u.s->len)); return 0;
    case JV_LIST:
        if (in.u.l->gen)
            return bfail(c, INGOT_ERR_FORMAT, "object of type 'generator' has no len() (add '| list')");
        *out = ingot_jv_int((int64_t)in.u.l->n);
        return 0;
    case JV_DICT:
    case JV_NS: *out = ingot_jv_int((int64_t)in.u.d->n); return 0;
    case JV_UNDEF: *out = ingot_jv_int(0); return 0;
    default: return bfail(c, INGOT_ERR_FORMAT, "object of type '%s' has no length", ingot_jv_type_name(in));
    }
}

static int f_list(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)a;
    ingot_jv items;
    if (ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    if (items.kind != JV_LIST || (!items.u.l->tuple && !items.u.l->gen)) {
        *out = items;
        return 0;
    }
    *out = ingot_jv_list_new(); /* list(tuple) and list(generator) are lists */
    for (size_t i = 0; i < items.u.l->n; i++)
        ingot_jv_list_push(*out, ingot_jv_ref(items.u.l->v[i]));
    ingot_jv_unref(items);
    return 0;
}

PLAIN_FILTER(f_lower, recase(in, CASE_LOWER))

PLAIN_FILTER(f_upper, recase(in, CASE_UPPER))

PLAIN_FILTER(f_title, recase(in, CASE_JINJA_TITLE))

/* map(attribute='x', default=d) or map('filter', args...). */
static int f_map(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const ingot_jv *attr = NULL, *dflt = NULL;
    for (int k = 0; k < a->nkw; k++) {
        if (strcmp(a->kwn[k], "attribute") == 0)
            attr = &a->kwv[k];
        else if (strcmp(a->kwn[k], "default") == 0)
            dflt = &a->kwv[k];
        else
            return bfail(c, INGOT_ERR_UNSUPPORTED, "filter 'map' has no argument '%s'", a->kwn[k]);
    }
    int id = -1;
    if (attr ? want_str(c, attr, "the attribute") < 0 : want_str(c, a->npos ? &a->pos[0] : NULL, "map's filter name") < 0)
        return -1;
    if (!attr && (id = ingot_jinja_filter_id(a->pos[0].u.s->s)) < 0)
        return bfail(c, INGOT_ERR_UNSUPPORTED, "unsupported filter '%s'", a->pos[0].u.s->s);
    ingot_jv items;
    if (ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    ingot_jargs rest = {a->pos + 1, a->npos - 1, NULL, NULL, 0};
    *out = ingot_jv_list_new();
    int rc = 0;
    for (size_t i = 0; items.kind == JV_LIST && i < items.u.l->n && rc == 0; i++) {
        ingot_jv v;
        if (attr) {
            rc = attr_path(c, items.u.l->v[i], attr->u.s, &v);
            if (rc == 0 && v.kind == JV_UNDEF && dflt)
                v = ingot_jv_ref(*dflt);
        } else {
            rc = ingot_jinja_filter(c, id, items.u.l->v[i], &rest, &v);
        }
        if (rc == 0)
            ingot_jv_list_push(*out, v);
    }
    ingot_jv_unref(items);
    if (rc < 0)
        ingot_jv_unref(*out);
    else
        ingot_jv_list_mark_gen(*out);
    return rc;
}

static int f_minmax(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, int want_max, ingot_jv *out)
{
    const char *const *p = PARAMS("case_sensitive", "attribute");
    ingot_jv items, sorted;
    if (ingot_jinja_iterate(c, in, &items) < 0 ||
        sorted_list(c, items, arg(a, p, 1), arg_true(a, p, 0), 0, &sorted) < 0)
        return -1;
    size_t n = sorted.kind == JV_LIST ? sorted.u.l->n : 0;
    *out = n ? ingot_jv_ref(sorted.u.l->v[want_max ? n - 1 : 0]) : ingot_jv_undef(NULL);
    ingot_jv_unref(sorted);
    return 0;
}

static int f_max(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out) { return f_minmax(c, in, a, 1, out); }
static int f_min(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out) { return f_minmax(c, in, a, 0, out); }

static int f_select(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out) { return filter_select(c, in, a, 1, 0, out); }
static int f_reject(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out) { return filter_select(c, in, a, 0, 0, out); }
static int f_selectattr(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out) { return filter_select(c, in, a, 1, 1, out); }
static int f_rejectattr(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out) { return filter_select(c, in, a, 0, 1, out); }

static int f_replace(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("old", "new", "count");
    const ingot_jv *old = arg(a, p, 0), *new_ = arg(a, p, 1), *cnt = arg(a, p, 2);
    int64_t count = -1;
    if (want_str(c, old, "replace's old text") < 0 || want_str(c, new_, "replace's new text") < 0 ||
        (cnt && cnt->kind != JV_NONE && want_int(c, cnt, "count", &count) < 0))
        return -1;
    ingot_jv s = to_str(in);
    *out = str_replace(s.u.s, old->u.s, new_->u.s, count);
    ingot_jv_unref(s);
    return 0;
}

static int f_reverse(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    (void)a;
    ingot_jv items;
    if (ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    ingot_jv r = ingot_jv_list_new();
    for (size_t i = items.kind == JV_LIST ? items.u.l->n : 0; i-- > 0;)
        ingot_jv_list_push(r, ingot_jv_ref(items.u.l->v[i]));
    ingot_jv_unref(items);
    if (in.kind != JV_STR) {
        if (!ingot_jv_is_gen(in)) /* reversed(list) is an iterator; a generator becomes a list */
            ingot_jv_list_mark_gen(r);
        *out = r;
        return 0;
    }
    ingot_jbuf b = {0};
    for (size_t i = 0; r.kind == JV_LIST && i < r.u.l->n; i++)
        ingot_jv_write_str(&b, r.u.l->v[i]);
    ingot_jv_unref(r);
    *out = ingot_jv_str_buf(&b);
    return 0;
}

static int f_round(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("precision", "method");
    const ingot_jv *prec = arg(a, p, 0), *method = arg(a, p, 1);
    int64_t digits = 0;
    if ((prec && want_int(c, prec, "precision", &digits) < 0) || (method && want_str(c, method, "method") < 0))
        return -1;
    if (!ingot_jv_is_number(in))
        return bfail(c, INGOT_ERR_FORMAT, "round needs a number, not '%s'", ingot_jv_type_name(in));
    const char *m = method ? method->u.s->s : "common";
    if (strcmp(m, "common") == 0 && in.kind != JV_FLOAT && digits >= 0) { /* round(int) is that int */
        *out = ingot_jv_int(in.kind == JV_INT ? in.u.i : in.u.b);
        return 0;
    }
    double scale = pow(10, (double)digits), x = ingot_jv_number(in) * scale;
    if (strcmp(m, "common") == 0)
        x = nearbyint(x); /* Python's round: ties to even */
    else if (strcmp(m, "ceil") == 0)
        x = ceil(x);
    else if (strcmp(m, "floor") == 0)
        x = floor(x);
    else
        return bfail(c, INGOT_ERR_FORMAT, "round method must be common, ceil or floor");
    *out = ingot_jv_float(x / scale);
    return 0;
}

/* Markup(value): a string, as Jinja makes it */
PLAIN_FILTER(f_safe, to_str(in))

static int f_sort(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("reverse", "case_sensitive", "attribute");
    ingot_jv items;
    if (ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    return sorted_list(c, items, arg(a, p, 2), arg_true(a, p, 1), arg_true(a, p, 0), out);
}

PLAIN_FILTER(f_string, to_str(in))

static int f_sum(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("attribute", "start");
    const ingot_jv *attr = arg(a, p, 0), *start = arg(a, p, 1);
    ingot_jv items;
    if ((attr && want_str(c, attr, "the attribute") < 0) || ingot_jinja_iterate(c, in, &items) < 0)
        return -1;
    ingot_jv acc = start ? ingot_jv_ref(*start) : ingot_jv_int(0);
    int rc = 0;
    for (size_t i = 0; items.kind == JV_LIST && i < items.u.l->n && rc == 0; i++) {
        ingot_jv v = ingot_jv_undef(NULL), r;
        if (attr)
            rc = attr_path(c, items.u.l->v[i], attr->u.s, &v);
        else
            v = ingot_jv_ref(items.u.l->v[i]);
        if (rc == 0 && (rc = ingot_jinja_binop(c, JOP_ADD, acc, v, &r)) == 0) {
            ingot_jv_unref(acc);
            acc = r;
        }
        ingot_jv_unref(v);
    }
    ingot_jv_unref(items);
    if (rc < 0) {
        ingot_jv_unref(acc);
        return -1;
    }
    *out = acc;
    return 0;
}

/* transformers' tojson: json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=...). */
static int f_tojson(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("indent", "ensure_ascii", "separators", "sort_keys");
    const ingot_jv *indent = arg(a, p, 0), *ascii = arg(a, p, 1), *seps = arg(a, p, 2);
    int64_t n = -1;
    if (indent && indent->kind != JV_NONE && want_int(c, indent, "indent", &n) < 0)
        return -1;
    if ((ascii && ingot_jv_truthy(*ascii)) || (seps && seps->kind != JV_NONE))
        return bfail(c, INGOT_ERR_UNSUPPORTED, "unsupported tojson option (ensure_ascii or separators)");
    ingot_jbuf b = {0};
    const char *why = NULL;
    if (ingot_jv_write_json(&b, in, n < 0 ? -1 : (int)(n > 64 ? 64 : n), arg_true(a, p, 3), &why) < 0) {
        ingot_jbuf_free(&b);
        if (in.kind == JV_UNDEF)
            return ingot_jinja_undefined_error(c, in);
        return bfail(c, INGOT_ERR_FORMAT, "tojson: object of type '%s' is not JSON serializable", why);
    }
    *out = ingot_jv_str_buf(&b);
    return 0;
}

static int f_trim(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const ingot_jv *chars = arg(a, PARAMS("chars"), 0);
    if (chars && chars->kind != JV_NONE && want_str(c, chars, "trim's characters") < 0)
        return -1;
    ingot_jv s = to_str(in);
    *out = strip(s, chars && chars->kind == JV_STR ? chars->u.s : NULL, 3);
    ingot_jv_unref(s);
    return 0;
}

static int f_unique(ingot_jctx *c, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    const char *const *p = PARAMS("case_sensitive", "attribute");
    ingot_jv items, seen = ingot_jv_list_new();
    if (ingot_jinja_iterate(c, in, &items) < 0) {
        ingot_jv_unref(seen);
        return -1;
    }
    *out = ingot_jv_list_new();
    int rc = 0;
    for (size_t i = 0; items.kind == JV_LIST && i < items.u.l->n && rc == 0; i++) {
        ingot_jv key;
        if ((rc = sort_key(c, items.u.l->v[i], arg(a, p, 1), arg_true(a, p, 0), &key)) < 0)
            break;
        int dup = 0;
        for (size_t j = 0; seen.kind == JV_LIST && j < seen.u.l->n && !dup; j++)
            dup = ingot_jv_equal(seen.u.l->v[j], key);
        if (dup) {
            ingot_jv_unref(key);
            continue;
        }
        ingot_jv_list_push(seen, key);
        ingot_jv_list_push(*out, ingot_jv_ref(items.u.l->v[i]));
    }
    ingot_jv_unref(seen);
    ingot_jv_unref(items);
    if (rc < 0)
        ingot_jv_unref(*out);
    else
        ingot_jv_list_mark_gen(*out);
    return rc;
}

static const struct {
    const char *name;
    filter_fn fn;
    const char *const *params; /* NULL: the filter checks its own arguments */
} g_filters[] = {
    {"abs", f_abs, NOPARAMS},
    {"attr", f_attr, PARAMS("name")},
    {"capitalize", f_capitalize, NOPARAMS},
    {"count", f_length, NOPARAMS},
    {"d", f_default, PARAMS("default_value", "boolean")},
    {"default", f_default, PARAMS("default_value", "boolean")},
    {"dictsort", f_dictsort, PARAMS("case_sensitive", "by", "reverse")},
    {"first", f_first, NOPARAMS},
    {"float", f_float, PARAMS("default")},
    {"int", f_int, PARAMS("default", "base")},
    {"items", f_items, NOPARAMS},
    {"join", f_join, PARAMS("d", "attribute")},
    {"last", f_last, NOPARAMS},
    {"length", f_length, NOPARAMS},
    {"list", f_list, NOPARAMS},
    {"lower", f_lower, NOPARAMS},
    {"map", f_map, NULL},
    {"max", f_max, PARAMS("case_sensitive", "attribute")},
    {"min", f_min, PARAMS("case_sensitive", "attribute")},
    {"reject", f_reject, NULL},
    {"rejectattr", f_rejectattr, NULL},
    {"replace", f_replace, PARAMS("old", "new", "count")},
    {"reverse", f_reverse, NOPARAMS},
    {"round", f_round, PARAMS("precision", "method")},
    {"safe", f_safe, NOPARAMS},
    {"select", f_select, NULL},
    {"selectattr", f_selectattr, NULL},
    {"sort", f_sort, PARAMS("reverse", "case_sensitive", "attribute")},
    {"string", f_string, NOPARAMS},
    {"sum", f_sum, PARAMS("attribute", "start")},
    {"title", f_title, NOPARAMS},
    {"tojson", f_tojson, PARAMS("indent", "ensure_ascii", "separators", "sort_keys")},
    {"trim", f_trim, PARAMS("chars")},
    {"unique", f_unique, PARAMS("case_sensitive", "attribute")},
    {"upper", f_upper, NOPARAMS},
};

/*
 * @return the index of name in a table of n entries, stride bytes apart,
 * that each begin with their name (const char *); -1 when none has it.
 */
static int index_of_name(const void *table, size_t n, size_t stride, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(*(const char *const *)((const char *)table + i * stride), name) == 0)
            return (int)i;
    return -1;
}
#define INDEX_OF_NAME(table, name) \
    index_of_name(table, INGOT_ARRAY_LEN(table), sizeof(table)[0], name)

int ingot_jinja_filter_id(const char *name)
{
    return INDEX_OF_NAME(g_filters, name);
}

int ingot_jinja_filter(ingot_jctx *c, int id, ingot_jv in, const ingot_jargs *a, ingot_jv *out)
{
    *out = ingot_jv_undef(NULL);
    if (g_filters[id].params && check_args(c, "filter", g_filters[id].name, a, g_filters[id].params) < 0)
        return -1;
    return g_filters[id].fn(c, in, a, out);
}

/* ---- tests ---- */

typedef int (*test_fn)(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res);

static int t_kind(ingot_jv v, const char *name)
{
    switch (name[0]) {
    case 'd': return v.kind != JV_UNDEF;                                 /* defined */
    case 'u': return v.kind == JV_UNDEF;                                 /* undefined */
    case 'n': return v.kind == JV_NONE;                                  /* none */
    case 's': return v.kind == JV_STR;                                   /* string */
    case 'm': return v.kind == JV_DICT;                                  /* mapping */
    case 'b': return v.kind == JV_BOOL;                                  /* boolean */
    case 'f': return v.kind == JV_FLOAT;                                 /* float */
    case 'i': return v.kind == JV_INT;                                   /* integer */
    case 'c': return v.kind == JV_FUNC || v.kind == JV_MACRO || v.kind == JV_UNDEF; /* callable */
    default: return 0;
    }
}

static int t_simple(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res);

PLAIN_TEST(t_number, ingot_jv_is_number(v)) /* bool is a Number in Python */

PLAIN_TEST(t_iterable, v.kind == JV_STR || v.kind == JV_LIST || v.kind == JV_DICT || v.kind == JV_UNDEF)

static int t_truefalse(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res, int want)
{
    (void)c, (void)a;
    *res = v.kind == JV_BOOL && v.u.b == want;
    return 0;
}
static int t_true(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_truefalse(c, v, a, res, 1); }
static int t_false(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_truefalse(c, v, a, res, 0); }

static int one_arg(ingot_jctx *c, const char *name, const ingot_jargs *a)
{
    if (a->npos != 1 || a->nkw)
        return bfail(c, INGOT_ERR_FORMAT, "test '%s' takes one argument", name);
    return 0;
}

static int t_compare(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res, int op)
{
    ingot_jv r;
    if (one_arg(c, "comparison", a) < 0 || ingot_jinja_binop(c, op, v, a->pos[0], &r) < 0)
        return -1;
    *res = r.u.b;
    return 0;
}
static int t_eq(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_compare(c, v, a, res, JOP_EQ); }
static int t_ne(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_compare(c, v, a, res, JOP_NE); }
static int t_lt(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_compare(c, v, a, res, JOP_LT); }
static int t_le(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_compare(c, v, a, res, JOP_LE); }
static int t_gt(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_compare(c, v, a, res, JOP_GT); }
static int t_ge(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_compare(c, v, a, res, JOP_GE); }
static int t_in(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_compare(c, v, a, res, JOP_IN); }

static int t_sameas(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res)
{
    if (one_arg(c, "sameas", a) < 0)
        return -1;
    ingot_jv o = a->pos[0];
    if (v.kind != o.kind)
        *res = 0;
    else if (v.kind == JV_STR || v.kind == JV_LIST || v.kind == JV_DICT || v.kind == JV_NS)
        *res = v.u.l == o.u.l; /* identity of the shared heap part */
    else
        *res = ingot_jv_equal(v, o);
    return 0;
}

/* value % div == rem, with Python's % (so floats work too). */
static int t_parity(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res, int64_t div, int64_t rem)
{
    ingot_jv m, eq;
    if (ingot_jinja_binop(c, JOP_MOD, v, a->npos == 1 ? a->pos[0] : ingot_jv_int(div), &m) < 0)
        return -1;
    int rc = ingot_jinja_binop(c, JOP_EQ, m, ingot_jv_int(rem), &eq);
    ingot_jv_unref(m);
    *res = rc == 0 && eq.u.b;
    return rc;
}
static int t_odd(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_parity(c, v, a, res, 2, 1); }
static int t_even(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_parity(c, v, a, res, 2, 0); }
static int t_divisibleby(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res)
{
    return one_arg(c, "divisibleby", a) < 0 ? -1 : t_parity(c, v, a, res, 1, 0);
}

static int m_is(ingot_jv s, const char *name, ingot_jv *out);

/* str(v).islower() / .isupper() */
static int t_case(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res, int upper)
{
    (void)a, (void)c;
    ingot_jv s = to_str(v), r;
    m_is(s, upper ? "isupper" : "islower", &r);
    *res = r.u.b;
    ingot_jv_unref(s);
    return 0;
}
static int t_lower(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_case(c, v, a, res, 0); }
static int t_upper(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_case(c, v, a, res, 1); }

PLAIN_TEST(t_sequence,
           v.kind == JV_STR || (v.kind == JV_LIST && !v.u.l->gen) || v.kind == JV_DICT || v.kind == JV_UNDEF)

static int t_escaped(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res)
{
    (void)c, (void)v, (void)a;
    *res = 0;
    return 0;
}

static int t_filter_test(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res, int filters)
{
    (void)a, (void)c;
    *res = v.kind == JV_STR && (filters ? ingot_jinja_filter_id(v.u.s->s) : ingot_jinja_test_id(v.u.s->s)) >= 0;
    return 0;
}
static int t_filter(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_filter_test(c, v, a, res, 1); }
static int t_test(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res) { return t_filter_test(c, v, a, res, 0); }

static const struct {
    const char *name;
    test_fn fn;
} g_tests[] = {
    {"defined", t_simple}, {"undefined", t_simple}, {"none", t_simple}, {"string", t_simple},
    {"mapping", t_simple}, {"boolean", t_simple}, {"float", t_simple}, {"integer", t_simple},
    {"callable", t_simple}, {"number", t_number}, {"iterable", t_iterable}, {"sequence", t_sequence},
    {"true", t_true}, {"false", t_false}, {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq}, {"ne", t_ne},
    {"!=", t_ne}, {"lt", t_lt}, {"lessthan", t_lt}, {"<", t_lt}, {"le", t_le}, {"<=", t_le}, {"gt", t_gt},
    {"greaterthan", t_gt}, {">", t_gt}, {"ge", t_ge}, {">=", t_ge}, {"in", t_in}, {"sameas", t_sameas},
    {"odd", t_odd}, {"even", t_even}, {"divisibleby", t_divisibleby}, {"lower", t_lower},
    {"upper", t_upper}, {"escaped", t_escaped}, {"filter", t_filter}, {"test", t_test},
};

/* The type tests: ingot_jinja_test runs them through t_kind by name. */
static int t_simple(ingot_jctx *c, ingot_jv v, const ingot_jargs *a, int *res)
{
    (void)c, (void)v, (void)a;
    *res = 0;
    return 0;
}

int ingot_jinja_test_id(const char *name)
{
    return INDEX_OF_NAME(g_tests, name);
}

int ingot_jinja_test(ingot_jctx *c, int id, ingot_jv in, const ingot_jargs *a, int *res)
{
    *res = 0;
    if (g_tests[id].fn == t_simple) {
        if (a->npos || a->nkw)
            return bfail(c, INGOT_ERR_FORMAT, "test '%s' takes no arguments", g_tests[id].name);
        *res = t_kind(in, g_tests[id].name);
        return 0;
    }
    return g_tests[id].fn(c, in, a, res);
}

/* ---- methods ---- */

static int m_strip(ingot_jctx *c, ingot_jv s, const ingot_jargs *a, int which, ingot_jv *out)
{
    const ingot_jv *chars = arg(a, PARAMS("chars"), 0);
    if (check_args(c, "method", "strip", a, PARAMS("chars")) < 0 ||
        (chars && chars->kind != JV_NONE && want_str(c, chars, "the characters") < 0))
        return -1;
    *out = strip(s, chars && chars->kind == JV_STR ? chars->u.s : NULL, which);
    return 1;
}

/* startswith / endswith: a prefix or a tuple (list) of them. */
static int m_affix(ingot_jctx *c, ingot_jv s, const ingot_jargs *a, int end, ingot_jv *out)
{
    if (a->npos != 1 || a->nkw)
        return bfail(c, INGOT_ERR_UNSUPPORTED, "startswith/endswith take exactly one argument here");
    ingot_jv p = a->pos[0];
    size_t n = p.kind == JV_LIST ? p.u.l->n : 1;
    int hit = 0;
    for (size_t i = 0; i < n && !hit; i++) {
        const ingot_jv *x = p.kind == JV_LIST ? &p.u.l->v[i] : &p;
        if (want_str(c, x, "the prefix / suffix") < 0)
            return -1;
        size_t k = x->u.s->len;
        hit = k <= s.u.s->len && memcmp(s.u.s->s + (end ? s.u.s->len - k : 0), x->u.s->s, k) == 0;
    }
    *out = ingot_jv_bool(hit);
    return 1;
}

static int m_find_count(ingot_jctx *c, ingot_jv s, const ingot_jargs *a, int mode, ingot_jv *out)
{
    if (a->npos != 1 || a->nkw || want_str(c, &a->pos[0], "the substring") < 0)
        return a->npos != 1 || a->nkw ? bfail(c, INGOT_ERR_UNSUPPORTED, "find/rfind/count take one argument here") : -1;
    const ingot_jstr *h = s.u.s, *nd = a->pos[0].u.s;
    int64_t found = -1, count = 0;
    for (size_t i = 0; i + nd->len <= h->len;) {
        (void)ingot_jv_work(1 + (h->len - i) / 32);
        const char *hit = memmem(h->s + i, h->len - i, nd->s, nd->len);
        if (!hit)
            break;
        size_t at = (size_t)(hit - h->s);
        if (found < 0 || mode == 1)
            found = (int64_t)ingot_jinja_utf8_len(h->s, at);
        count++;
        if (mode == 0)
            break;
        i = at + (nd->len ? nd->len : 1);
        if (nd->len == 0 && at >= h->len)
            break;
    }
    if (mode == 2 && nd->len == 0)
        count = (int64_t)ingot_jinja_utf8_len(h->s, h->len) + 1;
    *out = ingot_jv_int(mode == 2 ? count : found);
    return 1;
}

static int m_join(ingot_jctx *c, ingot_jv s, const ingot_jargs *a, ingot_jv *out)
{
    ingot_jv items;
    if (a->npos != 1 || a->nkw)
        return bfail(c, INGOT_ERR_FORMAT, "join takes one argument");
    if (ingot_jinja_iterate(c, a->pos[0], &items) < 0)
        return -1;
    ingot_jbuf b = {0};
    int rc = 1;
    for (size_t i = 0; items.kind == JV_LIST && i < items.u.l->n && rc == 1; i++) {
        if (items.u.l->v[i].kind != JV_STR)
            rc = bfail(c, INGOT_ERR_FORMAT, "join: item %zu is a '%s', not a string", i,
                       ingot_jv_type_name(items.u.l->v[i]));
        if (i)
            ingot_jbuf_put(&b, s.u.s->s, s.u.s->len);
        ingot_jv_write_str(&b, items.u.l->v[i]);
    }
    ingot_jv_unref(items);
    if (rc < 0) {
        ingot_jbuf_free(&b);
        return -1;
    }
    *out = ingot_jv_str_buf(&b);
    return 1;
}

static int m_splitlines(ingot_jv s, ingot_jv *out)
{
    *out = ingot_jv_list_new();
    const char *p = s.u.s->s;
    size_t n = s.u.s->len, start = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strchr("\n\r\v\f\x1c\x1d\x1e", p[i]) || !p[i])
            continue;
        ingot_jv_list_push(*out, ingot_jv_str(p + start, i - start));
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    if (start < n)
        ingot_jv_list_push(*out, ingot_jv_str(p + start, n - start));
    return 1;
}

/* str.isdigit() and friends, by Unicode category (isdigit: decimal digits). */
static int m_is(ingot_jv s, const char *name, ingot_jv *out)
{
    const ingot_jstr *t = s.u.s;
    int ok = t->len > 0, cased = 0, want_lower = strcmp(name, "islower") == 0;
    for (size_t i = 0; i < t->len && ok;) {
        uint32_t cp = ingot_jinja_utf8_next(t->s, t->len, &i);
        utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)cp);
        int digit = k == UTF8PROC_CATEGORY_ND;
        int alpha = k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
        cased |= is_cased(cp);
        if (strcmp(name, "isdigit") == 0)
            ok = digit;
        else if (strcmp(name, "isalpha") == 0)
            ok = alpha;
        else if (strcmp(name, "isalnum") == 0)
            ok = alpha || digit;
        else if (strcmp(name, "isspace") == 0)
            ok = is_py_space(cp);
        else /* islower / isupper: no cased character of the other case */
            ok = !is_cased(cp) || (want_lower ? k == UTF8PROC_CATEGORY_LL : k == UTF8PROC_CATEGORY_LU);
    }
    if (strcmp(name, "islower") == 0 || strcmp(name, "isupper") == 0)
        ok = ok && cased;
    *out = ingot_jv_bool(ok);
    return 1;
}

static int str_method(ingot_jctx *c, ingot_jv s, const char *name, const ingot_jargs *a, ingot_jv *out)
{
    static const char *const split_params[] = {"sep", "maxsplit", NULL};
    static const char *const is_names[] = {"isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper"};
    if (strcmp(name, "strip") == 0)
        return m_strip(c, s, a, 3, out);
    if (strcmp(name, "lstrip") == 0)
        return m_strip(c, s, a, 1, out);
    if (strcmp(name, "rstrip") == 0)
        return m_strip(c, s, a, 2, out);
    if (strcmp(name, "split") == 0 || strcmp(name, "rsplit") == 0) {
        const ingot_jv *ms = arg(a, split_params, 1);
        int64_t maxsplit = -1;
        if (check_args(c, "method", name, a, split_params) < 0 || (ms && want_int(c, ms, "maxsplit", &maxsplit) < 0))
            return -1;
        return str_split(c, s.u.s, arg(a, split_params, 0), maxsplit, name[0] == 'r', out) < 0 ? -1 : 1;
    }
    if (strcmp(name, "startswith") == 0 || strcmp(name, "endswith") == 0)
        return m_affix(c, s, a, name[0] == 'e', out);
    if (strcmp(name, "find") == 0 || strcmp(name, "rfind") == 0 || strcmp(name, "count") == 0)
        return m_find_count(c, s, a, name[0] == 'f' ? 0 : name[0] == 'r' ? 1 : 2, out);
    if (strcmp(name, "replace") == 0) {
        static const char *const p[] = {"old", "new", "count", NULL};
        if (check_args(c, "method", name, a, p) < 0)
            return -1;
        return f_replace(c, s, a, out) < 0 ? -1 : 1;
    }
    if (strcmp(name, "join") == 0)
        return m_join(c, s, a, out);
    static const struct { const char *name; int mode; } cases[] = {
        {"upper", CASE_UPPER}, {"lower", CASE_LOWER}, {"capitalize", CASE_CAPITALIZE}, {"title", CASE_TITLE}};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(cases); i++)
        if (strcmp(name, cases[i].name) == 0) {
            if (a->npos || a->nkw)
                return bfail(c, INGOT_ERR_FORMAT, "%s() takes no arguments", name);
            *out = recase(s, cases[i].mode);
            return 1;
        }
    for (size_t i = 0; i < INGOT_ARRAY_LEN(is_names); i++)
        if (strcmp(name, is_names[i]) == 0)
            return m_is(s, name, out);
    if (strcmp(name, "splitlines") == 0)
        return m_splitlines(s, out);
    return 0;
}

static int dict_method(ingot_jctx *c, ingot_jv d, const char *name, const ingot_jargs *a, ingot_jv *out)
{
    if (strcmp(name, "get") == 0) {
        static const char *const p[] = {"key", "default", NULL};
        const ingot_jv *k = arg(a, p, 0), *dflt = arg(a, p, 1);
        if (check_args(c, "method", name, a, p) < 0 || !k)
            return k ? -1 : bfail(c, INGOT_ERR_FORMAT, "get() needs a key");
        ingot_jv *v = k->kind == JV_STR ? ingot_jv_dict_find(d, k->u.s->s, k->u.s->len) : NULL;
        *out = v ? ingot_jv_ref(*v) : dflt ? ingot_jv_ref(*dflt) : ingot_jv_none();
        return 1;
    }
    int which = strcmp(name, "items") == 0 ? 0 : strcmp(name, "keys") == 0 ? 1 : strcmp(name, "values") == 0 ? 2 : -1;
    if (which < 0)
        return 0;
    if (a->npos || a->nkw)
        return bfail(c, INGOT_ERR_FORMAT, "%s() takes no arguments", name);
    if (which == 0) { /* a view, not a generator: len() works */
        if (f_items(c, d, a, out) < 0)
            return -1;
        out->u.l->gen = 0;
        return 1;
    }
    *out = ingot_jv_list_new();
    for (size_t i = 0; i < d.u.d->n; i++)
        ingot_jv_list_push(*out, ingot_jv_ref(which == 1 ? (ingot_jv){.kind = JV_STR, .u.s = d.u.d->k[i]}
                                                        : d.u.d->v[i]));
    return 1;
}

/* list.count(x) and list.index(x) (tuples too). */
static int list_method(ingot_jctx *c, ingot_jv l, const char *name, const ingot_jargs *a, ingot_jv *out)
{
    int count = strcmp(name, "count") == 0;
    if ((!count && strcmp(name, "index") != 0) || l.u.l->gen)
        return 0;
    if (a->npos != 1 || a->nkw)
        return bfail(c, INGOT_ERR_FORMAT, "%s() takes one argument", name);
    int64_t k = 0;
    for (size_t i = 0; i < l.u.l->n; i++) {
        if (!ingot_jv_equal(l.u.l->v[i], a->pos[0]))
            continue;
        if (!count) {
            *out = ingot_jv_int((int64_t)i);
            return 1;
        }
        k++;
    }
    if (!count)
        return bfail(c, INGOT_ERR_FORMAT, "index(): the value is not in the list");
    *out = ingot_jv_int(k);
    return 1;
}

int ingot_jinja_call_method(ingot_jctx *c, ingot_jv obj, const char *name, const ingot_jargs *a, ingot_jv *out)
{
    *out = ingot_jv_undef(NULL);
    if (obj.kind == JV_STR)
        return str_method(c, obj, name, a, out);
    if (obj.kind == JV_DICT)
        return dict_method(c, obj, name, a, out);
    if (obj.kind == JV_LIST)
        return list_method(c, obj, name, a, out);
    return 0;
}

/* ---- global functions ---- */

static int fn_range(ingot_jctx *c, const ingot_jargs *a, ingot_jv *out)
{
    int64_t v[3] = {0, 0, 1};
    if (a->nkw || a->npos < 1 || a->npos > 3)
        return bfail(c, INGOT_ERR_FORMAT, "range() takes 1 to 3 integer arguments");
    for (int i = 0; i < a->npos; i++)
        if (want_int(c, &a->pos[i], "range's argument", &v[a->npos == 1 ? 1 : i]) < 0)
            return -1;
    if (v[2] == 0)
        return bfail(c, INGOT_ERR_FORMAT, "range() step must not be zero");
    double count = ceil(((double)v[1] - (double)v[0]) / (double)v[2]);
    if (count > MAX_RANGE)
        return bfail(c, INGOT_ERR_UNSUPPORTED, "range too big (the sandbox allows %d items)", MAX_RANGE);
    *out = ingot_jv_list_new();
    for (int64_t i = 0; i < (int64_t)count; i++)
        ingot_jv_list_push(*out, ingot_jv_int(v[0] + i * v[2]));
    return 0;
}

/* namespace(...) and dict(...): an optional mapping, then keyword arguments. */
static int fn_mapping(ingot_jctx *c, const ingot_jargs *a, ingot_jv_kind kind, ingot_jv *out)
{
    if (a->npos > 1 || (a->npos == 1 && a->pos[0].kind != JV_DICT))
        return bfail(c, INGOT_ERR_FORMAT, "%s() takes one mapping and keyword arguments",
                     kind == JV_NS ? "namespace" : "dict");
    *out = ingot_jv_dict_new(kind);
    for (size_t i = 0; a->npos && i < a->pos[0].u.d->n; i++)
        ingot_jv_dict_set(*out, (ingot_jv){.kind = JV_STR, .u.s = a->pos[0].u.d->k[i]},
                          ingot_jv_ref(a->pos[0].u.d->v[i]));
    for (int k = 0; k < a->nkw; k++)
        ingot_jv_dict_setc(*out, a->kwn[k], ingot_jv_ref(a->kwv[k]));
    return 0;
}

static int fn_raise(ingot_jctx *c, const ingot_jargs *a)
{
    ingot_jbuf b = {0};
    if (a->npos >= 1)
        ingot_jv_write_str(&b, a->pos[0]);
    char *msg = ingot_jbuf_take(&b, NULL);
    /* The template refuses this conversation: its own words are the message. */
    bfail(c, INGOT_ERR_UNSUPPORTED, "raise_exception: %s", msg ? msg : "");
    free(msg);
    return -1;
}

/* datetime.now().strftime(fmt), in the C locale as Python's default. */
static int fn_strftime(ingot_jctx *c, const ingot_jargs *a, ingot_jv *out)
{
    if (a->npos != 1 || a->nkw || want_str(c, &a->pos[0], "strftime_now's format") < 0)
        return a->npos != 1 || a->nkw ? bfail(c, INGOT_ERR_FORMAT, "strftime_now() takes one format string") : -1;
    time_t now = time(NULL);
    struct tm tm;
    char buf[512];
    size_t n = 0;
    locale_t cl = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (localtime_r(&now, &tm) && cl)
        n = strftime_l(buf, sizeof buf, a->pos[0].u.s->s, &tm, cl);
    if (cl)
        freelocale(cl);
    *out = ingot_jv_str(buf, n);
    return 0;
}

static const char *const g_funcs[INGOT_JFN_COUNT] = {"range", "namespace", "raise_exception", "strftime_now",
                                                     "dict"};

const char *ingot_jinja_func_name(int fn)
{
    return fn >= 0 && fn < INGOT_JFN_COUNT ? g_funcs[fn] : "?";
}

int ingot_jinja_call_func(ingot_jctx *c, int fn, const ingot_jargs *a, ingot_jv *out)
{
    *out = ingot_jv_undef(NULL);
    switch (fn) {
    case INGOT_JFN_RANGE: return fn_range(c, a, out);
    case INGOT_JFN_NAMESPACE: return fn_mapping(c, a, JV_NS, out);
    case INGOT_JFN_DICT: return fn_mapping(c, a, JV_DICT, out);
    case INGOT_JFN_RAISE: return fn_raise(c, a);
    case INGOT_JFN_STRFTIME: return fn_strftime(c, a, out);
    default: return bfail(c, INGOT_ERR_FORMAT, "internal error: bad function");
    }
}
