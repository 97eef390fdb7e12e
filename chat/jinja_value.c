/* jinja_value.c - values of the chat-template engine and their Python-like
 * printing (str, repr, json.dumps). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "chat/jinja.h"

/* One flag per thread instead of an error path at every allocation: the
 * renderer checks it at each statement and before returning. */
static _Thread_local int g_oom;

/* The limits of the render running on this thread (see jinja.h). */
typedef struct budget {
    int active, paused, hit;
    int max_depth;
    size_t used, max;
    size_t work, max_work;
} budget;
static _Thread_local budget g_budget;

int ingot_jv_oom(void) { return g_oom || g_budget.hit; }
void ingot_jv_oom_set(void) { g_oom = 1; }
void ingot_jv_oom_clear(void)
{
    g_oom = 0;
    g_budget.hit = JV_LIMIT_NONE;
}

void ingot_jv_limits_begin(size_t max_memory, int max_depth, uint64_t max_work)
{
    g_budget = (budget){.active = 1, .max = max_memory, .max_depth = max_depth, .max_work = (size_t)max_work};
}

void ingot_jv_limits_end(void) { g_budget = (budget){0}; }

int ingot_jv_limit_hit(void) { return g_budget.hit; }

/* Adds n to *used unless that passes max: then records the limit hit. */
static int spend(size_t *used, size_t max, size_t n, int limit)
{
    budget *b = &g_budget;
    if (b->hit || n > max - *used) {
        if (!b->hit)
            b->hit = limit;
        return -1;
    }
    *used += n;
    return 0;
}

int ingot_jv_charge(size_t n)
{
    budget *b = &g_budget;
    return b->active && !b->paused ? spend(&b->used, b->max, n, JV_LIMIT_MEMORY) : 0;
}

int ingot_jv_work(size_t n)
{
    budget *b = &g_budget;
    return b->active ? spend(&b->work, b->max_work, n, JV_LIMIT_WORK) : 0;
}

void ingot_jv_charge_pause(int pause) { g_budget.paused += pause ? 1 : -1; }

int ingot_jv_depth(ingot_jv v)
{
    switch (v.kind) {
    case JV_LIST: return v.u.l->depth;
    case JV_DICT:
    case JV_NS: return v.u.d->depth;
    default: return 0;
    }
}

int ingot_jv_has_ns(ingot_jv v)
{
    switch (v.kind) {
    case JV_LIST: return v.u.l->has_ns;
    case JV_DICT: return v.u.d->has_ns;
    case JV_NS: return 1;
    default: return 0;
    }
}

/* Records that container depth *depth / *has_ns now holds v.  @return -1
 * when that makes it nest deeper than the render's limit (the flag is set). */
static int note_item(int *depth, int *has_ns, ingot_jv v)
{
    if (v.kind < JV_LIST || v.kind > JV_NS)
        return 0; /* scalars: the common case, kept cheap */
    int d = ingot_jv_depth(v) + 1;
    *has_ns |= ingot_jv_has_ns(v);
    if (d <= *depth)
        return 0;
    *depth = d;
    if (g_budget.active && d > g_budget.max_depth) {
        if (!g_budget.hit)
            g_budget.hit = JV_LIMIT_DEPTH;
        return -1;
    }
    return 0;
}

/* ---- buffers ---- */

static int buf_reserve(ingot_jbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    if (ingot_jv_charge(cap - b->cap) < 0)
        return -1;
    char *p = realloc(b->p, cap);
    if (!p)
        goto fail;
    b->p = p;
    b->cap = cap;
    return 0;
fail:
    g_oom = 1;
    return -1;
}

int ingot_jbuf_reserve(ingot_jbuf *b, size_t extra) { return extra > SIZE_MAX / 2 ? -1 : buf_reserve(b, extra); }

void ingot_jbuf_put(ingot_jbuf *b, const char *s, size_t n)
{
    if (n == 0 || buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void ingot_jbuf_puts(ingot_jbuf *b, const char *s) { ingot_jbuf_put(b, s, strlen(s)); }
void ingot_jbuf_putc(ingot_jbuf *b, char c) { ingot_jbuf_put(b, &c, 1); }

void ingot_jbuf_printf(ingot_jbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        ingot_jbuf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

char *ingot_jbuf_take(ingot_jbuf *b, size_t *len)
{
    if (!b->p && buf_reserve(b, 0) < 0)
        return NULL;
    b->p[b->len] = 0;
    char *p = b->p;
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void ingot_jbuf_free(ingot_jbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- constructors ---- */

/* Handed out when an allocation fails, so that callers need no NULL checks. */
static ingot_jstr g_empty_str = {-1, 0, ""};

ingot_jv ingot_jv_undef(const char *name) { return (ingot_jv){.kind = JV_UNDEF, .u.name = name}; }
ingot_jv ingot_jv_none(void) { return (ingot_jv){.kind = JV_NONE}; }
ingot_jv ingot_jv_bool(int b) { return (ingot_jv){.kind = JV_BOOL, .u.b = !!b}; }
ingot_jv ingot_jv_int(int64_t i) { return (ingot_jv){.kind = JV_INT, .u.i = i}; }
ingot_jv ingot_jv_float(double f) { return (ingot_jv){.kind = JV_FLOAT, .u.f = f}; }

ingot_jv ingot_jv_str(const char *s, size_t n)
{
    ingot_jstr *h = n < SIZE_MAX - sizeof *h - 1 && ingot_jv_charge(sizeof *h + n + 1) == 0
                        ? malloc(sizeof *h + n + 1)
                        : NULL;
    if (!h) {
        if (!g_budget.hit)
            g_oom = 1;
        return (ingot_jv){.kind = JV_STR, .u.s = &g_empty_str};
    }
    h->refs = 1;
    h->len = n;
    h->s = (char *)(h + 1);
    if (n)
        memcpy(h->s, s, n);
    h->s[n] = 0;
    return (ingot_jv){.kind = JV_STR, .u.s = h};
}

ingot_jv ingot_jv_cstr(const char *s) { return ingot_jv_str(s, strlen(s)); }

ingot_jv ingot_jv_str_buf(ingot_jbuf *b)
{
    ingot_jv v = ingot_jv_str(b->p ? b->p : "", b->len);
    ingot_jbuf_free(b);
    return v;
}

ingot_jv ingot_jv_list_new(void)
{
    ingot_jlist *l = ingot_jv_charge(sizeof *l) == 0 ? calloc(1, sizeof *l) : NULL;
    if (!l) {
        if (!g_budget.hit)
            g_oom = 1;
        return ingot_jv_none();
    }
    l->refs = 1;
    l->depth = 1;
    return (ingot_jv){.kind = JV_LIST, .u.l = l};
}

void ingot_jv_list_mark_tuple(ingot_jv l)
{
    if (l.kind == JV_LIST)
        l.u.l->tuple = 1;
}

void ingot_jv_list_mark_gen(ingot_jv l)
{
    if (l.kind == JV_LIST)
        l.u.l->gen = 1;
}

int ingot_jv_is_gen(ingot_jv v) { return v.kind == JV_LIST && v.u.l->gen; }

void ingot_jv_list_push(ingot_jv lv, ingot_jv v)
{
    (void)ingot_jv_work(1);
    if (lv.kind != JV_LIST) { /* the list could not be made */
        ingot_jv_unref(v);
        return;
    }
    ingot_jlist *l = lv.u.l;
    if (note_item(&l->depth, &l->has_ns, v) < 0) {
        ingot_jv_unref(v);
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        ingot_jv *p = ingot_jv_charge((cap - l->cap) * sizeof *p) == 0 ? realloc(l->v, cap * sizeof *p) : NULL;
        if (!p) {
            if (!g_budget.hit)
                g_oom = 1;
            ingot_jv_unref(v);
            return;
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = v;
}

ingot_jv ingot_jv_dict_new(ingot_jv_kind kind)
{
    ingot_jdict *d = ingot_jv_charge(sizeof *d) == 0 ? calloc(1, sizeof *d) : NULL;
    if (!d) {
        if (!g_budget.hit)
            g_oom = 1;
        return ingot_jv_none();
    }
    d->refs = 1;
    d->depth = 1;
    return (ingot_jv){.kind = kind, .u.d = d};
}

ingot_jv *ingot_jv_dict_find(ingot_jv dv, const char *key, size_t n)
{
    if (dv.kind != JV_DICT && dv.kind != JV_NS)
        return NULL;
    ingot_jdict *d = dv.u.d;
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i]->len == n && memcmp(d->k[i]->s, key, n) == 0)
            return &d->v[i];
    return NULL;
}

static void dict_append(ingot_jdict *d, ingot_jv key, ingot_jv v);

void ingot_jv_dict_set(ingot_jv dv, ingot_jv key, ingot_jv v)
{
    if ((dv.kind != JV_DICT && dv.kind != JV_NS) || key.kind != JV_STR) {
        ingot_jv_unref(v);
        return;
    }
    if (note_item(&dv.u.d->depth, &dv.u.d->has_ns, v) < 0) {
        ingot_jv_unref(v);
        return;
    }
    ingot_jv *slot = ingot_jv_dict_find(dv, key.u.s->s, key.u.s->len);
    if (slot) {
        ingot_jv_unref(*slot);
        *slot = v;
        return;
    }
    dict_append(dv.u.d, key, v);
}

void ingot_jv_dict_add_new(ingot_jv dv, ingot_jv key, ingot_jv v)
{
    if ((dv.kind != JV_DICT && dv.kind != JV_NS) || key.kind != JV_STR ||
        note_item(&dv.u.d->depth, &dv.u.d->has_ns, v) < 0) {
        ingot_jv_unref(v);
        return;
    }
    dict_append(dv.u.d, key, v);
}

static void dict_append(ingot_jdict *d, ingot_jv key, ingot_jv v)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        if (ingot_jv_charge((cap - d->cap) * (sizeof *d->k + sizeof *d->v)) < 0) {
            ingot_jv_unref(v);
            return;
        }
        ingot_jstr **k = realloc(d->k, cap * sizeof *k);
        if (k)
            d->k = k;
        ingot_jv *vv = k ? realloc(d->v, cap * sizeof *vv) : NULL;
        if (!vv) {
            g_oom = 1;
            ingot_jv_unref(v);
            return;
        }
        d->v = vv;
        d->cap = cap;
    }
    d->k[d->n] = ingot_jv_ref(key).u.s;
    d->v[d->n++] = v;
}

void ingot_jv_dict_setc(ingot_jv d, const char *key, ingot_jv v)
{
    ingot_jv k = ingot_jv_cstr(key);
    ingot_jv_dict_set(d, k, v);
    ingot_jv_unref(k);
}

/* ---- reference counting ---- */

static int *refs_of(ingot_jv v)
{
    switch (v.kind) {
    case JV_STR: return &v.u.s->refs;
    case JV_LIST: return &v.u.l->refs;
    case JV_DICT:
    case JV_NS: return &v.u.d->refs;
    default: return NULL;
    }
}

ingot_jv ingot_jv_ref(ingot_jv v)
{
    int *r = refs_of(v);
    if (r && *r > 0)
        (*r)++;
    return v;
}

static void free_heap(ingot_jv v)
{
    if (v.kind == JV_LIST) {
        for (size_t i = 0; i < v.u.l->n; i++)
            ingot_jv_unref(v.u.l->v[i]);
        free(v.u.l->v);
    } else if (v.kind == JV_DICT || v.kind == JV_NS) {
        for (size_t i = 0; i < v.u.d->n; i++) {
            ingot_jv_unref((ingot_jv){.kind = JV_STR, .u.s = v.u.d->k[i]});
            ingot_jv_unref(v.u.d->v[i]);
        }
        free(v.u.d->k);
        free(v.u.d->v);
    }
    free(refs_of(v)); /* the count is the first member of every heap part */
}

void ingot_jv_unref(ingot_jv v)
{
    int *r = refs_of(v);
    if (r && *r > 0 && --*r == 0)
        free_heap(v);
}

void ingot_jv_make_immortal(ingot_jv v)
{
    int *r = refs_of(v);
    if (v.kind == JV_STR && r && *r > 0)
        *r = -1;
}

void ingot_jv_free_immortal(ingot_jv v)
{
    if (v.kind == JV_STR && v.u.s != &g_empty_str && v.u.s->refs < 0)
        free(v.u.s);
    else
        ingot_jv_unref(v);
}

/* ---- Python semantics ---- */

int ingot_jv_is_number(ingot_jv v) { return v.kind == JV_BOOL || v.kind == JV_INT || v.kind == JV_FLOAT; }

double ingot_jv_number(ingot_jv v)
{
    switch (v.kind) {
    case JV_BOOL: return v.u.b;
    case JV_INT: return (double)v.u.i;
    case JV_FLOAT: return v.u.f;
    default: return 0;
    }
}

int ingot_jv_truthy(ingot_jv v)
{
    switch (v.kind) {
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0;
    case JV_STR: return v.u.s->len != 0;
    case JV_LIST: return v.u.l->gen || v.u.l->n != 0; /* a generator object is true */
    case JV_DICT: return v.u.d->n != 0;
    case JV_NS:
    case JV_FUNC:
    case JV_MACRO: return 1;
    default: return 0;
    }
}

static int dict_equal(const ingot_jdict *a, ingot_jv bv)
{
    if (a->n != bv.u.d->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        ingot_jv *o = ingot_jv_dict_find(bv, a->k[i]->s, a->k[i]->len);
        if (!o || !ingot_jv_equal(a->v[i], *o))
            return 0;
    }
    return 1;
}

int ingot_jv_equal(ingot_jv a, ingot_jv b)
{
    (void)ingot_jv_work(1 + (a.kind == JV_STR && b.kind == JV_STR ? a.u.s->len / 32 : 0));
    if (ingot_jv_is_number(a) && ingot_jv_is_number(b)) {
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT) /* exact for big ints */
            return (a.kind == JV_INT ? a.u.i : a.u.b) == (b.kind == JV_INT ? b.u.i : b.u.b);
        return ingot_jv_number(a) == ingot_jv_number(b);
    }
    if (a.kind != b.kind)
        return 0;
    switch (a.kind) {
    case JV_UNDEF:
    case JV_NONE: return 1;
    case JV_STR: return a.u.s->len == b.u.s->len && memcmp(a.u.s->s, b.u.s->s, a.u.s->len) == 0;
    case JV_LIST:
        if (a.u.l->gen || b.u.l->gen)
            return a.u.l == b.u.l; /* generators compare by identity */
        if (a.u.l->n != b.u.l->n || a.u.l->tuple != b.u.l->tuple) /* [1] != (1,) */
            return 0;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!ingot_jv_equal(a.u.l->v[i], b.u.l->v[i]))
                return 0;
        return 1;
    case JV_DICT: return dict_equal(a.u.d, b);
    case JV_NS: return a.u.d == b.u.d;
    case JV_FUNC: return a.u.fn == b.u.fn;
    case JV_MACRO: return a.u.m == b.u.m;
    default: return 0;
    }
}

const char *ingot_jv_type_name(ingot_jv v)
{
    static const char *const names[] = {
        "Undefined", "NoneType", "bool", "int", "float", "str", "list", "dict",
        "Namespace", "function", "Macro",
    };
    if (ingot_jv_is_gen(v))
        return "generator";
    return (unsigned)v.kind < sizeof names / sizeof names[0] ? names[v.kind] : "?";
}

/* ---- printing ---- */

/* Python's float repr: the shortest digits that read back to the same double,
 * positional for exponents in [-4, 16), scientific otherwise. */
void ingot_jv_write_float(ingot_jbuf *b, double f)
{
    if (isnan(f)) {
        ingot_jbuf_puts(b, "nan");
        return;
    }
    if (isinf(f)) {
        ingot_jbuf_puts(b, f < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
    /* tmp is [-]d[.ddd]e[+-]XX: split into digits and exponent */
    char digits[24];
    int nd = 0, neg = tmp[0] == '-';
    const char *p = tmp + neg;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (neg)
        ingot_jbuf_putc(b, '-');
    if (exp >= 16 || exp < -4) {
        ingot_jbuf_putc(b, digits[0]);
        if (nd > 1) {
            ingot_jbuf_putc(b, '.');
            ingot_jbuf_put(b, digits + 1, (size_t)nd - 1);
        }
        ingot_jbuf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        ingot_jbuf_puts(b, "0.");
        for (int i = -1; i > exp; i--)
            ingot_jbuf_putc(b, '0');
        ingot_jbuf_put(b, digits, (size_t)nd);
    } else {
        for (int i = 0; i <= exp; i++)
            ingot_jbuf_putc(b, i < nd ? digits[i] : '0');
        ingot_jbuf_putc(b, '.');
        if (nd > exp + 1)
            ingot_jbuf_put(b, digits + exp + 1, (size_t)(nd - exp - 1));
        else
            ingot_jbuf_putc(b, '0');
    }
}

/* Python's str.isprintable() for one non-ASCII code point: not a separator
 * (Zs, Zl, Zp) and not "other" (Cc, Cf, Cs, Co, Cn). */
static int printable(uint32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: return 0;
    default: return 1;
    }
}

static void write_escaped_cp(ingot_jbuf *b, uint32_t cp)
{
    if (cp < 0x100)
        ingot_jbuf_printf(b, "\\x%02x", cp);
    else if (cp < 0x10000)
        ingot_jbuf_printf(b, "\\u%04x", cp);
    else
        ingot_jbuf_printf(b, "\\U%08x", cp);
}

/* Python's repr of a string. */
static void write_str_repr(ingot_jbuf *b, const ingot_jstr *s)
{
    /* Python prefers single quotes, and double ones for text holding only ' */
    char q = memchr(s->s, '\'', s->len) && !memchr(s->s, '"', s->len) ? '"' : '\'';
    ingot_jbuf_putc(b, q);
    for (size_t i = 0; i < s->len;) {
        size_t at = i;
        uint32_t c = ingot_jinja_utf8_next(s->s, s->len, &i);
        if (c == '\\' || c == (unsigned char)q) {
            ingot_jbuf_putc(b, '\\');
            ingot_jbuf_putc(b, (char)c);
        } else if (c == '\n') {
            ingot_jbuf_puts(b, "\\n");
        } else if (c == '\r') {
            ingot_jbuf_puts(b, "\\r");
        } else if (c == '\t') {
            ingot_jbuf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && i - at > 1 && !printable(c))) {
            write_escaped_cp(b, c);
        } else {
            ingot_jbuf_put(b, s->s + at, i - at); /* stray bytes pass as they are */
        }
    }
    ingot_jbuf_putc(b, q);
}

static void write_dict_repr(ingot_jbuf *b, const ingot_jdict *d)
{
    ingot_jbuf_putc(b, '{');
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            ingot_jbuf_puts(b, ", ");
        write_str_repr(b, d->k[i]);
        ingot_jbuf_puts(b, ": ");
        ingot_jv_write_repr(b, d->v[i]);
    }
    ingot_jbuf_putc(b, '}');
}

void ingot_jv_write_repr(ingot_jbuf *b, ingot_jv v)
{
    switch (v.kind) {
    case JV_STR: write_str_repr(b, v.u.s); break;
    case JV_LIST:
        if (v.u.l->gen) {
            ingot_jbuf_puts(b, "<generator object>");
            break;
        }
        ingot_jbuf_putc(b, v.u.l->tuple ? '(' : '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i)
                ingot_jbuf_puts(b, ", ");
            ingot_jv_write_repr(b, v.u.l->v[i]);
        }
        if (v.u.l->tuple && v.u.l->n == 1)
            ingot_jbuf_putc(b, ',');
        ingot_jbuf_putc(b, v.u.l->tuple ? ')' : ']');
        break;
    case JV_DICT: write_dict_repr(b, v.u.d); break;
    case JV_NS:
        ingot_jbuf_puts(b, "<Namespace ");
        write_dict_repr(b, v.u.d);
        ingot_jbuf_putc(b, '>');
        break;
    case JV_UNDEF: ingot_jbuf_puts(b, "Undefined"); break; /* {{ [x] }} with x undefined */
    default: ingot_jv_write_str(b, v); break;
    }
}

void ingot_jv_write_str(ingot_jbuf *b, ingot_jv v)
{
    switch (v.kind) {
    case JV_UNDEF: break;
    case JV_NONE: ingot_jbuf_puts(b, "None"); break;
    case JV_BOOL: ingot_jbuf_puts(b, v.u.b ? "True" : "False"); break;
    case JV_INT: ingot_jbuf_printf(b, "%lld", (long long)v.u.i); break;
    case JV_FLOAT: ingot_jv_write_float(b, v.u.f); break;
    case JV_STR: ingot_jbuf_put(b, v.u.s->s, v.u.s->len); break;
    case JV_FUNC: ingot_jbuf_printf(b, "<function %s>", ingot_jinja_func_name(v.u.fn)); break;
    case JV_MACRO: ingot_jbuf_puts(b, "<Macro>"); break;
    default: ingot_jv_write_repr(b, v); break;
    }
}

/* ---- json.dumps ---- */

static void json_string(ingot_jbuf *b, const char *s, size_t n)
{
    ingot_jbuf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': ingot_jbuf_puts(b, "\\\""); break;
        case '\\': ingot_jbuf_puts(b, "\\\\"); break;
        case '\n': ingot_jbuf_puts(b, "\\n"); break;
        case '\r': ingot_jbuf_puts(b, "\\r"); break;
        case '\t': ingot_jbuf_puts(b, "\\t"); break;
        case '\b': ingot_jbuf_puts(b, "\\b"); break;
        case '\f': ingot_jbuf_puts(b, "\\f"); break;
        default:
            if (c < 0x20)
                ingot_jbuf_printf(b, "\\u%04x", c);
            else
                ingot_jbuf_putc(b, (char)c); /* ensure_ascii=False: UTF-8 as is */
        }
    }
    ingot_jbuf_putc(b, '"');
}

static void json_newline(ingot_jbuf *b, int indent, int level)
{
    ingot_jbuf_putc(b, '\n');
    for (int i = 0; i < indent * level; i++)
        ingot_jbuf_putc(b, ' ');
}

static int json_value(ingot_jbuf *b, ingot_jv v, int indent, int sort, int level, const char **why);

static int cmp_keys(const void *x, const void *y)
{
    const ingot_jstr *a = *(ingot_jstr *const *)x, *c = *(ingot_jstr *const *)y;
    int r = memcmp(a->s, c->s, a->len < c->len ? a->len : c->len);
    return r ? r : (a->len > c->len) - (a->len < c->len);
}

static int json_object(ingot_jbuf *b, ingot_jv v, int indent, int sort, int level, const char **why)
{
    const ingot_jdict *d = v.u.d;
    if (d->n == 0) {
        ingot_jbuf_puts(b, "{}");
        return 0;
    }
    ingot_jstr **keys = malloc(d->n * sizeof *keys);
    if (!keys) {
        ingot_jv_oom_set();
        return 0;
    }
    memcpy(keys, d->k, d->n * sizeof *keys);
    if (sort)
        qsort(keys, d->n, sizeof *keys, cmp_keys);
    int rc = 0;
    ingot_jbuf_putc(b, '{');
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        if (i)
            ingot_jbuf_puts(b, indent >= 0 ? "," : ", ");
        if (indent >= 0)
            json_newline(b, indent, level + 1);
        json_string(b, keys[i]->s, keys[i]->len);
        ingot_jbuf_puts(b, ": ");
        rc = json_value(b, *ingot_jv_dict_find(v, keys[i]->s, keys[i]->len), indent, sort, level + 1,
                        why);
    }
    free(keys);
    if (indent >= 0)
        json_newline(b, indent, level);
    ingot_jbuf_putc(b, '}');
    return rc;
}

static int json_array(ingot_jbuf *b, const ingot_jlist *l, int indent, int sort, int level,
                      const char **why)
{
    if (l->n == 0) {
        ingot_jbuf_puts(b, "[]");
        return 0;
    }
    ingot_jbuf_putc(b, '[');
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            ingot_jbuf_puts(b, indent >= 0 ? "," : ", ");
        if (indent >= 0)
            json_newline(b, indent, level + 1);
        if (json_value(b, l->v[i], indent, sort, level + 1, why) < 0)
            return -1;
    }
    if (indent >= 0)
        json_newline(b, indent, level);
    ingot_jbuf_putc(b, ']');
    return 0;
}

static int json_value(ingot_jbuf *b, ingot_jv v, int indent, int sort, int level, const char **why)
{
    if (level > 256) {
        *why = "nesting too deep";
        return -1;
    }
    switch (v.kind) {
    case JV_NONE: ingot_jbuf_puts(b, "null"); return 0;
    case JV_BOOL: ingot_jbuf_puts(b, v.u.b ? "true" : "false"); return 0;
    case JV_INT: ingot_jbuf_printf(b, "%lld", (long long)v.u.i); return 0;
    case JV_FLOAT:
        if (isnan(v.u.f))
            ingot_jbuf_puts(b, "NaN");
        else if (isinf(v.u.f))
            ingot_jbuf_puts(b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else
            ingot_jv_write_float(b, v.u.f);
        return 0;
    case JV_STR: json_string(b, v.u.s->s, v.u.s->len); return 0;
    case JV_LIST:
        if (v.u.l->gen) {
            *why = "generator";
            return -1;
        }
        return json_array(b, v.u.l, indent, sort, level, why);
    case JV_DICT: return json_object(b, v, indent, sort, level, why);
    default: *why = ingot_jv_type_name(v); return -1;
    }
}

int ingot_jv_write_json(ingot_jbuf *b, ingot_jv v, int indent, int sort, const char **why)
{
    return json_value(b, v, indent, sort, 0, why);
}
