/* jinja_ops.c - the expression operators with Python's semantics (what
 * Jinja delegates to), and item / attribute / slice access. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"
#include "util/util.h"

static int type_error(ingot_jctx *c, const char *op, ingot_jv a, ingot_jv b)
{
    return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT,
                            "unsupported operand types for %s: '%s' and '%s'", op, ingot_jv_type_name(a),
                            ingot_jv_type_name(b));
}

/* ---- UTF-8 ---- */

uint32_t ingot_jinja_utf8_next(const char *s, size_t n, size_t *i)
{
    (void)ingot_jv_work(1); /* a character visited (a string's length, iteration, filters) */
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[*i];
    int extra = c >= 0xf8 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (extra == 0 || *i + (size_t)extra >= n) { /* ASCII, or a stray byte taken as is */
        (*i)++;
        return c;
    }
    uint32_t cp = c & (0x3fu >> extra);
    for (int k = 1; k <= extra; k++) {
        if ((u[*i + (size_t)k] & 0xc0) != 0x80) {
            (*i)++;
            return c;
        }
        cp = cp << 6 | (u[*i + (size_t)k] & 0x3fu);
    }
    *i += (size_t)extra + 1;
    return cp;
}

size_t ingot_jinja_utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; k++)
        ingot_jinja_utf8_next(s, n, &i);
    return k;
}

size_t ingot_jinja_utf8_offset(const char *s, size_t n, size_t idx)
{
    size_t i = 0;
    for (size_t k = 0; k < idx && i < n; k++)
        ingot_jinja_utf8_next(s, n, &i);
    return i;
}

/* ---- arithmetic ---- */

static int64_t as_int(ingot_jv v) { return v.kind == JV_BOOL ? v.u.b : v.u.i; }

static int int_arith(ingot_jctx *c, int op, int64_t a, int64_t b, ingot_jv *out)
{
    int64_t r = 0;
    int ovf = 0;
    switch (op) {
    case JOP_ADD: ovf = __builtin_add_overflow(a, b, &r); break;
    case JOP_SUB: ovf = __builtin_sub_overflow(a, b, &r); break;
    case JOP_MUL: ovf = __builtin_mul_overflow(a, b, &r); break;
    case JOP_FLOORDIV:
    case JOP_MOD:
        if (b == 0)
            return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT, "division by zero");
        if (a == INT64_MIN && b == -1) {
            ovf = op == JOP_FLOORDIV;
            break;
        }
        r = op == JOP_FLOORDIV ? a / b : a % b;
        if (a % b != 0 && ((a < 0) != (b < 0))) /* Python floors toward -infinity */
            r = op == JOP_FLOORDIV ? r - 1 : r + b;
        break;
    case JOP_POW:
        if (b < 0) {
            *out = ingot_jv_float(pow((double)a, (double)b));
            return 0;
        }
        r = 1;
        for (int64_t k = 0; k < b && !ovf; k++)
            ovf = __builtin_mul_overflow(r, a, &r);
        break;
    default: return -1;
    }
    if (ovf)
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_UNSUPPORTED,
                                "integer overflow (numbers beyond 64 bits are not supported)");
    *out = ingot_jv_int(r);
    return 0;
}

static int float_arith(ingot_jctx *c, int op, double a, double b, ingot_jv *out)
{
    double r;
    if ((op == JOP_DIV || op == JOP_FLOORDIV || op == JOP_MOD) && b == 0)
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT, "division by zero");
    switch (op) {
    case JOP_ADD: r = a + b; break;
    case JOP_SUB: r = a - b; break;
    case JOP_MUL: r = a * b; break;
    case JOP_DIV: r = a / b; break;
    case JOP_FLOORDIV: r = floor(a / b); break;
    case JOP_MOD:
        r = fmod(a, b);
        if (r != 0 && ((r < 0) != (b < 0)))
            r += b;
        break;
    case JOP_POW: r = pow(a, b); break;
    default: return -1;
    }
    *out = ingot_jv_float(r);
    return 0;
}

static const char *op_name(int op)
{
    static const char *const names[] = {"+", "-", "*", "/", "//", "%", "**", "~",
                                        "==", "!=", "<", "<=", ">", ">=", "in", "not in"};
    return names[op];
}

/* Larger results of str * int or list * int are refused: no prompt needs them. */
#define MAX_REPEAT ((uint64_t)1 << 26)

/* str * int and list * int */
static int repeat(ingot_jctx *c, ingot_jv seq, int64_t k, ingot_jv *out)
{
    uint64_t n = seq.kind == JV_STR ? seq.u.s->len : seq.u.l->n, total;
    if (k > 0 && !ingot_mul_u64(n, (uint64_t)k, &total))
        total = UINT64_MAX;
    if (seq.kind == JV_STR) {
        /* The memory limit refuses the buffer before anything is copied. */
        ingot_jbuf b = {0};
        if (k > 0 && n > 0 && total <= SIZE_MAX / 2 && ingot_jbuf_reserve(&b, (size_t)total) == 0) {
            memcpy(b.p, seq.u.s->s, n);
            for (b.len = n; b.len < total;) { /* doubling: a few large copies */
                size_t m = b.len < total - b.len ? b.len : (size_t)(total - b.len);
                memcpy(b.p + b.len, b.p, m);
                b.len += m;
            }
            b.p[b.len] = 0;
        } else if (k > 0 && n > 0 && !ingot_jv_oom() && ingot_jv_charge(SIZE_MAX) == 0) {
            ingot_jv_oom_set(); /* too large for a size_t (charging refuses it while rendering) */
        }
        *out = ingot_jv_str_buf(&b);
        return 0;
    }
    if (k > 0 && total > MAX_REPEAT)
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_UNSUPPORTED,
                                "repetition result exceeds the limit of %llu items", (unsigned long long)MAX_REPEAT);
    *out = ingot_jv_list_new();
    if (seq.u.l->tuple)
        ingot_jv_list_mark_tuple(*out);
    for (int64_t i = 0; i < k && !ingot_jv_oom(); i++)
        for (size_t j = 0; j < seq.u.l->n; j++)
            ingot_jv_list_push(*out, ingot_jv_ref(seq.u.l->v[j]));
    return 0;
}

static int concat_seq(ingot_jv a, ingot_jv b, ingot_jv *out)
{
    if (ingot_jv_is_gen(a) || ingot_jv_is_gen(b))
        return -1;
    if (a.kind == JV_STR) {
        ingot_jbuf buf = {0};
        ingot_jbuf_put(&buf, a.u.s->s, a.u.s->len);
        ingot_jbuf_put(&buf, b.u.s->s, b.u.s->len);
        *out = ingot_jv_str_buf(&buf);
        return 0;
    }
    if (a.u.l->tuple != b.u.l->tuple)
        return -1; /* list + tuple: the caller reports the types */
    *out = ingot_jv_list_new();
    if (a.u.l->tuple)
        ingot_jv_list_mark_tuple(*out);
    for (size_t i = 0; i < a.u.l->n; i++)
        ingot_jv_list_push(*out, ingot_jv_ref(a.u.l->v[i]));
    for (size_t i = 0; i < b.u.l->n; i++)
        ingot_jv_list_push(*out, ingot_jv_ref(b.u.l->v[i]));
    return 0;
}

static int arith(ingot_jctx *c, int op, ingot_jv a, ingot_jv b, ingot_jv *out)
{
    if (a.kind == JV_UNDEF || b.kind == JV_UNDEF)
        return ingot_jinja_undefined_error(c, a.kind == JV_UNDEF ? a : b);
    if (ingot_jv_is_number(a) && ingot_jv_is_number(b)) {
        if (a.kind == JV_FLOAT || b.kind == JV_FLOAT || op == JOP_DIV)
            return float_arith(c, op, ingot_jv_number(a), ingot_jv_number(b), out);
        return int_arith(c, op, as_int(a), as_int(b), out);
    }
    if (op == JOP_ADD && a.kind == b.kind && (a.kind == JV_STR || a.kind == JV_LIST) &&
        concat_seq(a, b, out) == 0)
        return 0;
    int seq_a = a.kind == JV_STR || (a.kind == JV_LIST && !a.u.l->gen);
    int seq_b = b.kind == JV_STR || (b.kind == JV_LIST && !b.u.l->gen);
    if (op == JOP_MUL && seq_a && (b.kind == JV_INT || b.kind == JV_BOOL))
        return repeat(c, a, as_int(b), out);
    if (op == JOP_MUL && seq_b && (a.kind == JV_INT || a.kind == JV_BOOL))
        return repeat(c, b, as_int(a), out);
    if (op == JOP_MOD && a.kind == JV_STR)
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_UNSUPPORTED,
                                "unsupported printf-style string formatting ('...' %% value)");
    return type_error(c, op_name(op), a, b);
}

/* ---- comparison and membership ---- */

int ingot_jinja_compare(ingot_jctx *c, ingot_jv a, ingot_jv b, int *res)
{
    (void)ingot_jv_work(1 + (a.kind == JV_STR && b.kind == JV_STR ? a.u.s->len / 32 : 0));
    if (ingot_jv_is_number(a) && ingot_jv_is_number(b)) {
        double x = ingot_jv_number(a), y = ingot_jv_number(b);
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT)
            *res = (as_int(a) > as_int(b)) - (as_int(a) < as_int(b));
        else
            *res = (x > y) - (x < y);
        return 0;
    }
    if (a.kind == JV_STR && b.kind == JV_STR) { /* bytewise = code point order in UTF-8 */
        size_t n = a.u.s->len < b.u.s->len ? a.u.s->len : b.u.s->len;
        int r = memcmp(a.u.s->s, b.u.s->s, n);
        *res = r ? (r > 0) - (r < 0) : (a.u.s->len > b.u.s->len) - (a.u.s->len < b.u.s->len);
        return 0;
    }
    if (a.kind == JV_LIST && b.kind == JV_LIST && !a.u.l->gen && !b.u.l->gen && a.u.l->tuple == b.u.l->tuple) {
        for (size_t i = 0; i < a.u.l->n && i < b.u.l->n; i++) {
            if (ingot_jv_equal(a.u.l->v[i], b.u.l->v[i]))
                continue;
            return ingot_jinja_compare(c, a.u.l->v[i], b.u.l->v[i], res);
        }
        *res = (a.u.l->n > b.u.l->n) - (a.u.l->n < b.u.l->n);
        return 0;
    }
    if (a.kind == JV_UNDEF || b.kind == JV_UNDEF)
        return ingot_jinja_undefined_error(c, a.kind == JV_UNDEF ? a : b);
    return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT,
                            "'<' not supported between '%s' and '%s'", ingot_jv_type_name(a),
                            ingot_jv_type_name(b));
}

static int contains(ingot_jctx *c, ingot_jv item, ingot_jv box, int *res)
{
    *res = 0;
    switch (box.kind) {
    case JV_UNDEF: return 0; /* Undefined iterates as empty */
    case JV_STR:
        if (item.kind != JV_STR)
            return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT,
                                    "'in <string>' requires a string on the left, not '%s'",
                                    ingot_jv_type_name(item));
        (void)ingot_jv_work(1 + box.u.s->len / 32);
        *res = item.u.s->len == 0 || memmem(box.u.s->s, box.u.s->len, item.u.s->s, item.u.s->len) != NULL;
        return 0;
    case JV_LIST:
        for (size_t i = 0; i < box.u.l->n && !*res; i++)
            *res = ingot_jv_equal(item, box.u.l->v[i]);
        return 0;
    case JV_DICT:
    case JV_NS:
        *res = item.kind == JV_STR && ingot_jv_dict_find(box, item.u.s->s, item.u.s->len) != NULL;
        return 0;
    default:
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT,
                                "argument of type '%s' is not iterable", ingot_jv_type_name(box));
    }
}

int ingot_jinja_binop(ingot_jctx *c, int op, ingot_jv a, ingot_jv b, ingot_jv *out)
{
    int r;
    switch (op) {
    case JOP_CONCAT: {
        ingot_jbuf buf = {0};
        ingot_jv_write_str(&buf, a);
        ingot_jv_write_str(&buf, b);
        *out = ingot_jv_str_buf(&buf);
        return 0;
    }
    case JOP_EQ: *out = ingot_jv_bool(ingot_jv_equal(a, b)); return 0;
    case JOP_NE: *out = ingot_jv_bool(!ingot_jv_equal(a, b)); return 0;
    case JOP_LT:
    case JOP_LE:
    case JOP_GT:
    case JOP_GE:
        if (ingot_jinja_compare(c, a, b, &r) < 0)
            return -1;
        *out = ingot_jv_bool(op == JOP_LT ? r < 0 : op == JOP_LE ? r <= 0 : op == JOP_GT ? r > 0 : r >= 0);
        return 0;
    case JOP_IN:
    case JOP_NOTIN:
        if (contains(c, a, b, &r) < 0)
            return -1;
        *out = ingot_jv_bool(op == JOP_IN ? r : !r);
        return 0;
    default: return arith(c, op, a, b, out);
    }
}

/* ---- access ---- */

static ingot_jv str_slice_cp(ingot_jv s, size_t from, size_t to)
{
    size_t a = ingot_jinja_utf8_offset(s.u.s->s, s.u.s->len, from);
    size_t b = ingot_jinja_utf8_offset(s.u.s->s, s.u.s->len, to);
    return ingot_jv_str(s.u.s->s + a, b - a);
}

int ingot_jinja_getitem(ingot_jctx *c, ingot_jv obj, ingot_jv key, ingot_jv *out)
{
    if (obj.kind == JV_UNDEF)
        return ingot_jinja_undefined_error(c, obj);
    if (obj.kind == JV_DICT || obj.kind == JV_NS) {
        ingot_jv *v = key.kind == JV_STR ? ingot_jv_dict_find(obj, key.u.s->s, key.u.s->len) : NULL;
        *out = v ? ingot_jv_ref(*v) : ingot_jv_undef(NULL); /* the caller may name it */
        return 0;
    }
    if (((obj.kind == JV_LIST && !obj.u.l->gen) || obj.kind == JV_STR) && (key.kind == JV_INT || key.kind == JV_BOOL)) {
        int64_t i = as_int(key);
        size_t n = obj.kind == JV_LIST ? obj.u.l->n : ingot_jinja_utf8_len(obj.u.s->s, obj.u.s->len);
        if (i < 0)
            i += (int64_t)n;
        if (i < 0 || (uint64_t)i >= n) { /* Jinja turns IndexError into Undefined */
            *out = ingot_jv_undef(NULL);
            return 0;
        }
        *out = obj.kind == JV_LIST ? ingot_jv_ref(obj.u.l->v[i]) : str_slice_cp(obj, (size_t)i, (size_t)i + 1);
        return 0;
    }
    *out = ingot_jv_undef(NULL); /* no name: the key string may not outlive the value */
    return 0;
}

int ingot_jinja_getattr(ingot_jctx *c, ingot_jv obj, const char *name, ingot_jv *out)
{
    if (obj.kind == JV_UNDEF)
        return ingot_jinja_undefined_error(c, obj);
    ingot_jv *v = ingot_jv_dict_find(obj, name, strlen(name));
    *out = v ? ingot_jv_ref(*v) : ingot_jv_undef(name);
    return 0;
}

/* Python's slice.indices(): clamps the bounds to a sequence of length n. */
static int slice_bounds(ingot_jctx *c, const ingot_jv *start, const ingot_jv *stop, const ingot_jv *step,
                        int64_t n, int64_t *lo, int64_t *hi, int64_t *st)
{
    const ingot_jv *b[3] = {start, stop, step};
    for (int i = 0; i < 3; i++)
        if (b[i] && b[i]->kind != JV_NONE && b[i]->kind != JV_INT && b[i]->kind != JV_BOOL)
            return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT,
                                    "slice indices must be integers, not '%s'", ingot_jv_type_name(*b[i]));
    *st = step && step->kind != JV_NONE ? as_int(*step) : 1;
    if (*st == 0)
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT, "slice step cannot be zero");
    int64_t lower = *st < 0 ? -1 : 0, upper = *st < 0 ? n - 1 : n;
    for (int i = 0; i < 2; i++) {
        int64_t *dst = i == 0 ? lo : hi;
        const ingot_jv *v = i == 0 ? start : stop;
        if (!v || v->kind == JV_NONE) {
            *dst = (i == 0) == (*st > 0) ? lower : upper;
            continue;
        }
        int64_t x = as_int(*v);
        if (x < 0)
            x = x + n < lower ? lower : x + n;
        else if (x > upper)
            x = upper;
        *dst = x;
    }
    return 0;
}

int ingot_jinja_slice(ingot_jctx *c, ingot_jv obj, const ingot_jv *start, const ingot_jv *stop,
                      const ingot_jv *step, ingot_jv *out)
{
    if (obj.kind == JV_UNDEF)
        return ingot_jinja_undefined_error(c, obj);
    if (ingot_jv_is_gen(obj))
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT,
                                "'generator' object is not subscriptable (add '| list')");
    if (obj.kind != JV_LIST && obj.kind != JV_STR)
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT, "'%s' object is not subscriptable",
                                ingot_jv_type_name(obj));
    ingot_jv chars = {0};
    if (obj.kind == JV_STR && ingot_jinja_iterate(c, obj, &chars) < 0)
        return -1;
    const ingot_jlist *l = obj.kind == JV_LIST ? obj.u.l : chars.u.l;
    int64_t lo = 0, hi = 0, st = 1;
    if (slice_bounds(c, start, stop, step, (int64_t)l->n, &lo, &hi, &st) < 0) {
        ingot_jv_unref(chars);
        return -1;
    }
    ingot_jv res = ingot_jv_list_new();
    if (obj.kind == JV_LIST && l->tuple)
        ingot_jv_list_mark_tuple(res);
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st)
        ingot_jv_list_push(res, ingot_jv_ref(l->v[i]));
    if (obj.kind == JV_STR) { /* join the characters back */
        ingot_jbuf b = {0};
        for (size_t i = 0; res.kind == JV_LIST && i < res.u.l->n; i++)
            ingot_jv_write_str(&b, res.u.l->v[i]);
        ingot_jv_unref(res);
        res = ingot_jv_str_buf(&b);
    }
    ingot_jv_unref(chars);
    *out = res;
    return 0;
}

int ingot_jinja_iterate(ingot_jctx *c, ingot_jv v, ingot_jv *list)
{
    switch (v.kind) {
    case JV_LIST: /* the caller visits every item: the work is charged here */
        (void)ingot_jv_work(v.u.l->n);
        *list = ingot_jv_ref(v);
        return 0;
    case JV_UNDEF: *list = ingot_jv_list_new(); break;
    case JV_DICT:
        *list = ingot_jv_list_new();
        for (size_t i = 0; i < v.u.d->n; i++)
            ingot_jv_list_push(*list, ingot_jv_ref((ingot_jv){.kind = JV_STR, .u.s = v.u.d->k[i]}));
        break;
    case JV_STR:
        *list = ingot_jv_list_new();
        for (size_t i = 0; i < v.u.s->len;) {
            size_t at = i;
            ingot_jinja_utf8_next(v.u.s->s, v.u.s->len, &i);
            ingot_jv_list_push(*list, ingot_jv_str(v.u.s->s + at, i - at));
        }
        break;
    default:
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_FORMAT, "'%s' object is not iterable",
                                ingot_jv_type_name(v));
    }
    if (list->kind != JV_LIST) /* not made: a limit was hit (its message wins), or out of memory */
        return ingot_jinja_fail(c, ingot_jinja_line(c), INGOT_ERR_NOMEM, "out of memory");
    return 0;
}
