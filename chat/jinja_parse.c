/* jinja_parse.c - tokens to the template tree (recursive descent, with
 * Jinja's operator precedence: filters and tests bind tighter than any
 * binary operator, so `a + b | trim` is `a + (b | trim)`). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"
#include "util/util.h"

typedef struct parser {
    const ingot_jtok *t;
    int n, pos;
    int depth, max_depth; /* deeper nesting is refused rather than risking the C stack */
    int loops; /* enclosing for loops, to place break / continue */
    ingot_error *err;
} parser;

static const ingot_jtok *cur(const parser *P) { return &P->t[P->pos]; }
static const ingot_jtok *peek(const parser *P, int k)
{
    return P->pos + k < P->n ? &P->t[P->pos + k] : &P->t[P->n - 1];
}
static void advance(parser *P)
{
    if (P->t[P->pos].kind != JT_EOF)
        P->pos++;
}

static int is_op(const ingot_jtok *t, const char *op) { return t->kind == JT_OP && strcmp(t->s, op) == 0; }
static int is_name(const ingot_jtok *t, const char *name)
{
    return t->kind == JT_NAME && strcmp(t->s, name) == 0;
}

static const char *describe(const ingot_jtok *t)
{
    switch (t->kind) {
    case JT_TEXT: return "template text";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_VAR_END: return "'}}'";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_BLOCK_END: return "'%}'";
    case JT_STRING: return "a string";
    case JT_INT:
    case JT_FLOAT: return "a number";
    case JT_EOF: return "the end of the template";
    default: return t->s;
    }
}

static int perr(parser *P, ingot_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *P, ingot_status code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ingot_fail(P->err, code, "chat template: line %d: %s", cur(P)->line, msg);
}

static int too_deep(parser *P)
{
    return perr(P, INGOT_ERR_UNSUPPORTED, "blocks and expressions nest deeper than the limit of %d",
                P->max_depth);
}

static int unexpected(parser *P, const char *wanted)
{
    return perr(P, INGOT_ERR_FORMAT, "expected %s, found %s", wanted, describe(cur(P)));
}

static int expect_op(parser *P, const char *op)
{
    if (!is_op(cur(P), op)) {
        char w[16];
        snprintf(w, sizeof w, "'%s'", op);
        return unexpected(P, w);
    }
    advance(P);
    return 0;
}

static int expect_kind(parser *P, ingot_jtok_kind kind, const char *what)
{
    if (cur(P)->kind != kind)
        return unexpected(P, what);
    advance(P);
    return 0;
}

/* Consumes the operator op when it is at the cursor.  @return whether it was. */
static int accept_op(parser *P, const char *op)
{
    if (!is_op(cur(P), op))
        return 0;
    advance(P);
    return 1;
}

static char *dup_name(parser *P)
{
    char *s = strdup(cur(P)->s);
    if (!s)
        perr(P, INGOT_ERR_NOMEM, "out of memory");
    return s;
}

/* ---- tree building ---- */

static void expr_free(ingot_jexpr *e);

static ingot_jexpr *new_expr(parser *P, ingot_jexpr_kind kind, int line)
{
    ingot_jexpr *e = calloc(1, sizeof *e);
    if (!e) {
        perr(P, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    e->kind = kind;
    e->line = line;
    e->depth = 1;
    return e;
}

static int too_deep(parser *P);

/* Makes child an operand of e, unless that makes the tree deeper than the
 * limit: evaluating and freeing it recurse.  A flat `1 + 1 + ... + 1` makes a
 * deep tree too, and is refused here.  @return 0, or -1 with child freed. */
static int adopt(parser *P, ingot_jexpr *e, ingot_jexpr *child)
{
    if (child && child->depth + 1 > e->depth)
        e->depth = child->depth + 1;
    if (e->depth > P->max_depth) {
        expr_free(child);
        return too_deep(P);
    }
    return 0;
}

/* Appends child (NULL allowed: an absent slice bound or else branch). */
static int add_arg(parser *P, ingot_jexpr *e, ingot_jexpr *child)
{
    if (adopt(P, e, child) < 0)
        return -1;
    ingot_jexpr **a = realloc(e->a, (size_t)(e->na + 1) * sizeof *a);
    if (!a) {
        expr_free(child);
        return perr(P, INGOT_ERR_NOMEM, "out of memory");
    }
    e->a = a;
    e->a[e->na++] = child;
    return 0;
}

static int add_kw(parser *P, ingot_jexpr *e, char *name, ingot_jexpr *v)
{
    if (adopt(P, e, v) < 0) {
        free(name);
        return -1;
    }
    char **n = realloc(e->kwn, (size_t)(e->nkw + 1) * sizeof *n);
    if (n)
        e->kwn = n;
    ingot_jexpr **vv = n ? realloc(e->kwv, (size_t)(e->nkw + 1) * sizeof *vv) : NULL;
    if (!vv) {
        free(name);
        expr_free(v);
        return perr(P, INGOT_ERR_NOMEM, "out of memory");
    }
    e->kwv = vv;
    e->kwn[e->nkw] = name;
    e->kwv[e->nkw++] = v;
    return 0;
}

static void expr_free(ingot_jexpr *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->na; i++)
        expr_free(e->a[i]);
    for (int i = 0; i < e->nkw; i++) {
        free(e->kwn[i]);
        expr_free(e->kwv[i]);
    }
    free(e->a);
    free(e->kwn);
    free(e->kwv);
    free(e->name);
    ingot_jv_free_immortal(e->cst);
    free(e);
}

/* Node with operands: returns NULL (freeing the operands) on failure. */
static ingot_jexpr *make2(parser *P, ingot_jexpr_kind kind, int op, ingot_jexpr *l, ingot_jexpr *r, int line)
{
    ingot_jexpr *e = l && r ? new_expr(P, kind, line) : NULL;
    if (!e || add_arg(P, e, l) < 0 || add_arg(P, e, r) < 0) {
        /* add_arg frees the child it fails on; e owns those it took */
        if (!e)
            expr_free(l);
        if (!e || e->na == 0)
            expr_free(r);
        expr_free(e);
        return NULL;
    }
    e->op = op;
    return e;
}

/* ---- expressions ---- */

static ingot_jexpr *parse_expr(parser *P);
static ingot_jexpr *parse_or(parser *P);
static ingot_jexpr *parse_unary(parser *P, int with_filter);

static ingot_jexpr *const_expr(parser *P, ingot_jv v, int line)
{
    ingot_jexpr *e = new_expr(P, JE_CONST, line);
    if (!e) {
        ingot_jv_unref(v);
        return NULL;
    }
    ingot_jv_make_immortal(v);
    e->cst = v;
    return e;
}

static ingot_jexpr *parse_name_primary(parser *P)
{
    const ingot_jtok *t = cur(P);
    int line = t->line;
    static const char *const consts[] = {"true", "True", "false", "False", "none", "None"};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(consts); i++)
        if (strcmp(t->s, consts[i]) == 0) {
            advance(P);
            return const_expr(P, i < 2 ? ingot_jv_bool(1) : i < 4 ? ingot_jv_bool(0) : ingot_jv_none(), line);
        }
    ingot_jexpr *e = new_expr(P, JE_NAME, line);
    if (e && !(e->name = dup_name(P))) {
        expr_free(e);
        return NULL;
    }
    advance(P);
    return e;
}

/* Adjacent string literals concatenate, as in Python. */
static ingot_jexpr *parse_string(parser *P)
{
    int line = cur(P)->line;
    ingot_jbuf b = {0};
    while (cur(P)->kind == JT_STRING) {
        ingot_jbuf_put(&b, cur(P)->s, cur(P)->len);
        advance(P);
    }
    if (ingot_jv_oom()) {
        ingot_jbuf_free(&b);
        perr(P, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return const_expr(P, ingot_jv_str_buf(&b), line);
}

/* Parses an expression into e's next operand.  @return 0 or -1. */
static int add_expr(parser *P, ingot_jexpr *e)
{
    ingot_jexpr *v = parse_expr(P);
    return !v || add_arg(P, e, v) < 0 ? -1 : 0;
}

/* Parses "a, b, c" up to close (trailing comma allowed) into e's operands. */
static int parse_items(parser *P, ingot_jexpr *e, const char *close, int dict)
{
    while (!is_op(cur(P), close)) {
        if (add_expr(P, e) < 0)
            return -1;
        if (dict && (expect_op(P, ":") < 0 || add_expr(P, e) < 0))
            return -1;
        if (!accept_op(P, ","))
            break;
    }
    return expect_op(P, close);
}

static ingot_jexpr *parse_paren(parser *P)
{
    int line = cur(P)->line;
    advance(P);
    if (is_op(cur(P), ")")) { /* () is an empty tuple */
        advance(P);
        ingot_jexpr *t = new_expr(P, JE_LIST, line);
        if (t)
            t->op = 1;
        return t;
    }
    ingot_jexpr *e = parse_expr(P);
    if (!e)
        return NULL;
    if (is_op(cur(P), ",")) { /* a tuple */
        ingot_jexpr *t = new_expr(P, JE_LIST, line);
        if (!t || add_arg(P, t, e) < 0) {
            if (!t)
                expr_free(e);
            expr_free(t);
            return NULL;
        }
        t->op = 1;
        advance(P);
        if (parse_items(P, t, ")", 0) < 0) {
            expr_free(t);
            return NULL;
        }
        return t;
    }
    if (expect_op(P, ")") < 0) {
        expr_free(e);
        return NULL;
    }
    return e;
}

static ingot_jexpr *parse_primary(parser *P)
{
    const ingot_jtok *t = cur(P);
    switch (t->kind) {
    case JT_NAME: return parse_name_primary(P);
    case JT_STRING: return parse_string(P);
    case JT_INT: advance(P); return const_expr(P, ingot_jv_int(t->i), t->line);
    case JT_FLOAT: advance(P); return const_expr(P, ingot_jv_float(t->f), t->line);
    default: break;
    }
    if (is_op(t, "("))
        return parse_paren(P);
    if (is_op(t, "[") || is_op(t, "{")) {
        int dict = is_op(t, "{");
        ingot_jexpr *e = new_expr(P, dict ? JE_DICT : JE_LIST, t->line);
        advance(P);
        if (e && parse_items(P, e, dict ? "}" : "]", dict) < 0) {
            expr_free(e);
            return NULL;
        }
        return e;
    }
    unexpected(P, "an expression");
    return NULL;
}

/* One slice bound, or NULL when absent ("x[:2]"); *ok says whether parsing worked. */
static ingot_jexpr *parse_bound(parser *P, int *ok)
{
    *ok = 1;
    if (is_op(cur(P), ":") || is_op(cur(P), "]"))
        return NULL;
    ingot_jexpr *e = parse_expr(P);
    *ok = e != NULL;
    return e;
}

static ingot_jexpr *parse_subscript(parser *P, ingot_jexpr *obj)
{
    int line = cur(P)->line, ok;
    advance(P); /* [ */
    ingot_jexpr *e = new_expr(P, JE_ITEM, line);
    if (!e || add_arg(P, e, obj) < 0) {
        if (!e)
            expr_free(obj);
        expr_free(e);
        return NULL;
    }
    ingot_jexpr *first = parse_bound(P, &ok);
    if (!ok || add_arg(P, e, first) < 0)
        goto fail;
    if (is_op(cur(P), ":")) {
        e->kind = JE_SLICE;
        for (int i = 0; i < 2; i++) {
            if (!is_op(cur(P), ":")) {
                if (add_arg(P, e, NULL) < 0)
                    goto fail;
                continue;
            }
            advance(P);
            ingot_jexpr *b = parse_bound(P, &ok);
            if (!ok || add_arg(P, e, b) < 0)
                goto fail;
        }
    } else if (!first) {
        unexpected(P, "an index");
        goto fail;
    }
    if (expect_op(P, "]") == 0)
        return e;
fail:
    expr_free(e);
    return NULL;
}

/* (args, name=value): appended to e after its existing operands. */
static int parse_call_args(parser *P, ingot_jexpr *e)
{
    advance(P); /* ( */
    while (!is_op(cur(P), ")")) {
        if (is_op(cur(P), "*") || is_op(cur(P), "**"))
            return perr(P, INGOT_ERR_UNSUPPORTED, "unsupported '*args' or '**kwargs' in a call");
        if (cur(P)->kind == JT_NAME && is_op(peek(P, 1), "=")) {
            char *name = dup_name(P);
            if (!name)
                return -1;
            P->pos += 2;
            ingot_jexpr *v = parse_expr(P);
            if (!v) {
                free(name);
                return -1;
            }
            if (add_kw(P, e, name, v) < 0)
                return -1;
        } else {
            if (e->nkw)
                return perr(P, INGOT_ERR_FORMAT, "positional argument after a keyword argument");
            if (add_expr(P, e) < 0)
                return -1;
        }
        if (!accept_op(P, ","))
            break;
    }
    return expect_op(P, ")");
}

/* Wraps obj into a node of kind whose first operand it becomes. */
static ingot_jexpr *wrap(parser *P, ingot_jexpr_kind kind, ingot_jexpr *obj, int line)
{
    if (!obj)
        return NULL;
    ingot_jexpr *e = new_expr(P, kind, line);
    if (!e || add_arg(P, e, obj) < 0) {
        if (!e)
            expr_free(obj);
        expr_free(e);
        return NULL;
    }
    return e;
}

/* e(args...): e wrapped in a call of the arguments at the cursor.  @return it, or NULL (e freed). */
static ingot_jexpr *wrap_call(parser *P, ingot_jexpr *e, int line)
{
    e = wrap(P, JE_CALL, e, line);
    if (e && parse_call_args(P, e) < 0) {
        expr_free(e);
        return NULL;
    }
    return e;
}

static ingot_jexpr *parse_postfix(parser *P, ingot_jexpr *e)
{
    while (e) {
        const ingot_jtok *t = cur(P);
        if (is_op(t, "[")) {
            e = parse_subscript(P, e);
        } else if (is_op(t, ".")) {
            advance(P);
            if (cur(P)->kind == JT_INT) { /* x.0 is x[0] */
                ingot_jexpr *k = const_expr(P, ingot_jv_int(cur(P)->i), t->line);
                advance(P);
                e = make2(P, JE_ITEM, 0, e, k, t->line);
                continue;
            }
            if (cur(P)->kind != JT_NAME) {
                unexpected(P, "an attribute name");
                expr_free(e);
                return NULL;
            }
            e = wrap(P, JE_ATTR, e, t->line);
            if (e && !(e->name = dup_name(P))) {
                expr_free(e);
                return NULL;
            }
            advance(P);
        } else if (is_op(t, "(")) {
            e = wrap_call(P, e, t->line);
        } else {
            break;
        }
    }
    return e;
}

/* `is [not] name`, `is name(args)` or `is name arg`. */
/*
 * The name after "is" or "|" (kind JE_TEST or JE_FILTER): e wrapped in a
 * node for that test or filter, its id in op, the name consumed.
 * @return the node, or NULL with e freed.
 */
static ingot_jexpr *wrap_named(parser *P, ingot_jexpr_kind kind, ingot_jexpr *e, int line)
{
    const char *what = kind == JE_TEST ? "test" : "filter";
    if (cur(P)->kind != JT_NAME) {
        unexpected(P, kind == JE_TEST ? "a test name" : "a filter name");
        expr_free(e);
        return NULL;
    }
    int id = kind == JE_TEST ? ingot_jinja_test_id(cur(P)->s) : ingot_jinja_filter_id(cur(P)->s);
    if (id < 0) {
        perr(P, INGOT_ERR_UNSUPPORTED, "unsupported %s '%s'", what, cur(P)->s);
        expr_free(e);
        return NULL;
    }
    e = wrap(P, kind, e, line);
    if (!e || !(e->name = dup_name(P))) {
        expr_free(e);
        return NULL;
    }
    e->op = id;
    advance(P);
    return e;
}

static ingot_jexpr *parse_test(parser *P, ingot_jexpr *e)
{
    int line = cur(P)->line;
    advance(P); /* is */
    int neg = 0;
    if (is_name(cur(P), "not")) {
        neg = 1;
        advance(P);
    }
    e = wrap_named(P, JE_TEST, e, line);
    if (!e)
        return NULL;
    e->neg = neg;
    const ingot_jtok *t = cur(P);
    if (is_op(t, "(")) {
        if (parse_call_args(P, e) < 0)
            goto fail;
    } else if ((t->kind == JT_NAME || t->kind == JT_STRING || t->kind == JT_INT || t->kind == JT_FLOAT ||
                is_op(t, "[") || is_op(t, "{")) &&
               !is_name(t, "else") && !is_name(t, "or") && !is_name(t, "and")) {
        /* as Jinja: a single argument without parentheses ("is sameas false") */
        ingot_jexpr *arg = parse_postfix(P, parse_primary(P));
        if (!arg || add_arg(P, e, arg) < 0)
            goto fail;
    }
    return e;
fail:
    expr_free(e);
    return NULL;
}

static ingot_jexpr *parse_filter_expr(parser *P, ingot_jexpr *e)
{
    while (e) {
        if (is_op(cur(P), "|")) {
            int line = cur(P)->line;
            advance(P);
            e = wrap_named(P, JE_FILTER, e, line);
            if (!e)
                return NULL;
            if (is_op(cur(P), "(") && parse_call_args(P, e) < 0) {
                expr_free(e);
                return NULL;
            }
        } else if (is_name(cur(P), "is")) {
            e = parse_test(P, e);
        } else if (is_op(cur(P), "(")) {
            e = wrap_call(P, e, cur(P)->line);
        } else {
            break;
        }
    }
    return e;
}

static ingot_jexpr *parse_unary(parser *P, int with_filter)
{
    if (++P->depth > P->max_depth) {
        too_deep(P);
        return NULL;
    }
    const ingot_jtok *t = cur(P);
    ingot_jexpr *e;
    if (is_op(t, "-") || is_op(t, "+")) {
        advance(P);
        e = wrap(P, is_op(t, "-") ? JE_NEG : JE_POS, parse_unary(P, 0), t->line);
    } else {
        e = parse_primary(P);
    }
    e = parse_postfix(P, e);
    if (with_filter)
        e = parse_filter_expr(P, e);
    P->depth--;
    return e;
}

/* One operator of a left-associative binary level. */
typedef struct binop {
    const char *tok;
    bool word; /* a name ("and") rather than an operator ("+") */
    ingot_jexpr_kind kind;
    int op;
} binop;

/* next (op next)*, left to right, op one of the n in ops, tried in order. */
static ingot_jexpr *parse_binary(parser *P, ingot_jexpr *(*next)(parser *), const binop *ops,
                                 size_t n)
{
    ingot_jexpr *e = next(P);
    while (e) {
        size_t i = 0;
        while (i < n && !(ops[i].word ? is_name(cur(P), ops[i].tok) : is_op(cur(P), ops[i].tok)))
            i++;
        if (i == n)
            break;
        int line = cur(P)->line;
        advance(P);
        e = make2(P, ops[i].kind, ops[i].op, e, next(P), line);
    }
    return e;
}

static ingot_jexpr *parse_unary_filtered(parser *P)
{
    return parse_unary(P, 1);
}

static ingot_jexpr *parse_pow(parser *P)
{
    static const binop ops[] = {{"**", false, JE_BINOP, JOP_POW}};
    return parse_binary(P, parse_unary_filtered, ops, INGOT_ARRAY_LEN(ops));
}

static ingot_jexpr *parse_math2(parser *P)
{
    static const binop ops[] = {{"*", false, JE_BINOP, JOP_MUL},
                                {"/", false, JE_BINOP, JOP_DIV},
                                {"//", false, JE_BINOP, JOP_FLOORDIV},
                                {"%", false, JE_BINOP, JOP_MOD}};
    return parse_binary(P, parse_pow, ops, INGOT_ARRAY_LEN(ops));
}

static ingot_jexpr *parse_concat(parser *P)
{
    static const binop ops[] = {{"~", false, JE_BINOP, JOP_CONCAT}};
    return parse_binary(P, parse_math2, ops, INGOT_ARRAY_LEN(ops));
}

static ingot_jexpr *parse_math1(parser *P)
{
    static const binop ops[] = {{"+", false, JE_BINOP, JOP_ADD}, {"-", false, JE_BINOP, JOP_SUB}};
    return parse_binary(P, parse_concat, ops, INGOT_ARRAY_LEN(ops));
}

/* @return the comparison operator at the cursor (consuming it), or -1. */
static int compare_op(parser *P)
{
    static const struct { const char *op; ingot_jop id; } ops[] = {
        {"==", JOP_EQ}, {"!=", JOP_NE}, {"<", JOP_LT}, {"<=", JOP_LE}, {">", JOP_GT}, {">=", JOP_GE}};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(ops); i++)
        if (is_op(cur(P), ops[i].op)) {
            advance(P);
            return ops[i].id;
        }
    if (is_name(cur(P), "in")) {
        advance(P);
        return JOP_IN;
    }
    if (is_name(cur(P), "not") && is_name(peek(P, 1), "in")) {
        P->pos += 2;
        return JOP_NOTIN;
    }
    return -1;
}

static ingot_jexpr *parse_compare(parser *P)
{
    ingot_jexpr *e = parse_math1(P);
    int line = cur(P)->line, op;
    if (e && (op = compare_op(P)) >= 0) {
        e = make2(P, JE_BINOP, op, e, parse_math1(P), line);
        if (e && compare_op(P) >= 0) {
            P->pos--;
            perr(P, INGOT_ERR_UNSUPPORTED, "unsupported chained comparison");
            expr_free(e);
            return NULL;
        }
    }
    return e;
}

static ingot_jexpr *parse_not(parser *P)
{
    if (is_name(cur(P), "not")) {
        int line = cur(P)->line;
        advance(P);
        if (++P->depth > P->max_depth) {
            too_deep(P);
            return NULL;
        }
        ingot_jexpr *e = wrap(P, JE_NOT, parse_not(P), line);
        P->depth--;
        return e;
    }
    return parse_compare(P);
}

static ingot_jexpr *parse_and(parser *P)
{
    static const binop ops[] = {{"and", true, JE_AND, 0}};
    return parse_binary(P, parse_not, ops, INGOT_ARRAY_LEN(ops));
}

static ingot_jexpr *parse_or(parser *P)
{
    static const binop ops[] = {{"or", true, JE_OR, 0}};
    return parse_binary(P, parse_and, ops, INGOT_ARRAY_LEN(ops));
}

/* a if cond [else b], the lowest precedence. */
static ingot_jexpr *parse_expr(parser *P)
{
    ingot_jexpr *e = parse_or(P);
    while (e && is_name(cur(P), "if")) {
        int line = cur(P)->line;
        advance(P);
        ingot_jexpr *c = wrap(P, JE_COND, e, line);
        ingot_jexpr *cond = c ? parse_or(P) : NULL;
        if (!cond || add_arg(P, c, cond) < 0) {
            expr_free(c);
            return NULL;
        }
        ingot_jexpr *other = NULL;
        if (is_name(cur(P), "else")) {
            advance(P);
            /* `a if x else b if y else ...` recurses here once per `else`:
             * counted before recursing, like every other path that nests */
            if (++P->depth > P->max_depth) {
                too_deep(P);
                expr_free(c);
                return NULL;
            }
            other = parse_expr(P);
            P->depth--;
            if (!other) {
                expr_free(c);
                return NULL;
            }
        }
        if (add_arg(P, c, other) < 0) {
            expr_free(c);
            return NULL;
        }
        e = c;
    }
    return e;
}

/* ---- statements ---- */

static void node_free(ingot_jnode *n);

static void free_names(char **v, int n);

void ingot_jinja_body_free(ingot_jbody *b)
{
    for (int i = 0; i < b->n; i++)
        node_free(b->v[i]);
    free(b->v);
    free_names(b->undef, b->nundef);
    memset(b, 0, sizeof *b);
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void node_free(ingot_jnode *n)
{
    if (!n)
        return;
    free(n->text);
    expr_free(n->expr);
    expr_free(n->filter);
    for (int i = 0; i < n->nconds; i++) {
        expr_free(n->conds[i]);
        ingot_jinja_body_free(&n->bodies[i]);
    }
    free(n->conds);
    free(n->bodies);
    ingot_jinja_body_free(&n->body);
    ingot_jinja_body_free(&n->else_body);
    free_names(n->targets, n->ntargets);
    free(n->attr);
    free(n->name);
    free_names(n->params, n->nparams);
    for (int i = 0; i < n->nparams; i++)
        expr_free(n->defaults[i]);
    free(n->defaults);
    free(n);
}

static int body_add(parser *P, ingot_jbody *b, ingot_jnode *n)
{
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 8;
        ingot_jnode **v = realloc(b->v, (size_t)cap * sizeof *v);
        if (!v) {
            node_free(n);
            return perr(P, INGOT_ERR_NOMEM, "out of memory");
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = n;
    return 0;
}

static ingot_jnode *new_node(parser *P, ingot_jnode_kind kind, int line)
{
    ingot_jnode *n = calloc(1, sizeof *n);
    if (!n)
        perr(P, INGOT_ERR_NOMEM, "out of memory");
    else {
        n->kind = kind;
        n->line = line;
    }
    return n;
}

static int add_name(parser *P, char ***v, int *n)
{
    if (cur(P)->kind != JT_NAME)
        return unexpected(P, "a name");
    char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
    if (!nv)
        return perr(P, INGOT_ERR_NOMEM, "out of memory");
    *v = nv;
    if (!(nv[*n] = dup_name(P)))
        return -1;
    (*n)++;
    advance(P);
    return 0;
}

/* The block being parsed, for "unclosed" messages. */
typedef struct block_ctx {
    const char *tag;
    int line;
    const char *const *stops; /* NULL-terminated tags that end the body */
} block_ctx;

static int parse_body(parser *P, ingot_jbody *body, const block_ctx *bc, int *which);

/* Parses a body ending at one of bc's stop tags; *which gets the tag index,
 * the cursor is left after the tag's name. */
static int parse_block_body(parser *P, ingot_jbody *body, const char *tag, int line,
                            const char *const *stops, int *which)
{
    block_ctx bc = {tag, line, stops};
    if (parse_body(P, body, &bc, which) < 0)
        return -1;
    advance(P); /* the stop tag's name */
    return 0;
}

static int end_tag(parser *P) { return expect_kind(P, JT_BLOCK_END, "'%}'"); }

/* "%}", a body up to {% end %}, and that tag's "%}" (cursor after the opening tag). */
static int parse_closed_body(parser *P, ingot_jbody *body, const char *tag, int line,
                             const char *end)
{
    const char *const stops[] = {end, NULL};
    int which;
    if (end_tag(P) < 0 || parse_block_body(P, body, tag, line, stops, &which) < 0)
        return -1;
    return end_tag(P);
}

static int parse_if(parser *P, ingot_jnode *n)
{
    static const char *const stops[] = {"elif", "else", "endif", NULL};
    for (;;) {
        ingot_jexpr *c = parse_or(P); /* as Jinja: `if a if b else c` needs parentheses */
        if (!c)
            return -1;
        ingot_jexpr **cv = realloc(n->conds, (size_t)(n->nconds + 1) * sizeof *cv);
        if (cv)
            n->conds = cv;
        ingot_jbody *bv = cv ? realloc(n->bodies, (size_t)(n->nconds + 1) * sizeof *bv) : NULL;
        if (!bv) {
            expr_free(c);
            return perr(P, INGOT_ERR_NOMEM, "out of memory");
        }
        n->bodies = bv;
        n->conds[n->nconds] = c;
        memset(&n->bodies[n->nconds], 0, sizeof *bv);
        n->nconds++;
        int which;
        if (end_tag(P) < 0 ||
            parse_block_body(P, &n->bodies[n->nconds - 1], "if", n->line, stops, &which) < 0)
            return -1;
        if (which == 0)
            continue; /* elif */
        if (which == 1)
            return parse_closed_body(P, &n->else_body, "if", n->line, "endif");
        return end_tag(P);
    }
}

static int parse_for(parser *P, ingot_jnode *n)
{
    static const char *const stops[] = {"else", "endfor", NULL};
    int paren = is_op(cur(P), "(");
    if (paren)
        advance(P);
    do {
        if (n->ntargets && is_op(cur(P), ","))
            advance(P);
        if (add_name(P, &n->targets, &n->ntargets) < 0)
            return -1;
    } while (is_op(cur(P), ","));
    if (paren && expect_op(P, ")") < 0)
        return -1;
    if (!is_name(cur(P), "in"))
        return unexpected(P, "'in'");
    advance(P);
    if (!(n->expr = parse_or(P))) /* no `if` here: it filters the loop */
        return -1;
    if (is_name(cur(P), "if")) {
        advance(P);
        if (!(n->filter = parse_expr(P)))
            return -1;
    }
    if (is_name(cur(P), "recursive"))
        return perr(P, INGOT_ERR_UNSUPPORTED, "unsupported recursive for loop");
    int which;
    P->loops++;
    int rc = end_tag(P) < 0 ? -1 : parse_block_body(P, &n->body, "for", n->line, stops, &which);
    P->loops--;
    if (rc < 0)
        return -1;
    if (which == 0)
        return parse_closed_body(P, &n->else_body, "for", n->line, "endfor");
    return end_tag(P);
}

static int parse_set(parser *P, ingot_jnode *n)
{
    if (add_name(P, &n->targets, &n->ntargets) < 0)
        return -1;
    if (is_op(cur(P), ".")) { /* set ns.attr = value */
        advance(P);
        if (cur(P)->kind != JT_NAME)
            return unexpected(P, "an attribute name");
        if (!(n->attr = dup_name(P)))
            return -1;
        advance(P);
    } else {
        while (is_op(cur(P), ",")) {
            advance(P);
            if (add_name(P, &n->targets, &n->ntargets) < 0)
                return -1;
        }
    }
    if (cur(P)->kind == JT_BLOCK_END && n->ntargets == 1 && !n->attr) {
        n->kind = JN_SETBLOCK;
        return parse_closed_body(P, &n->body, "set", n->line, "endset");
    }
    if (expect_op(P, "=") < 0 || !(n->expr = parse_expr(P)))
        return -1;
    return end_tag(P);
}

static int parse_macro(parser *P, ingot_jnode *n)
{
    static const char *const end[] = {"endmacro", NULL};
    if (cur(P)->kind != JT_NAME)
        return unexpected(P, "a macro name");
    if (!(n->name = dup_name(P)))
        return -1;
    advance(P);
    if (expect_op(P, "(") < 0)
        return -1;
    while (!is_op(cur(P), ")")) {
        if (add_name(P, &n->params, &n->nparams) < 0)
            return -1;
        ingot_jexpr **d = realloc(n->defaults, (size_t)n->nparams * sizeof *d);
        if (!d)
            return perr(P, INGOT_ERR_NOMEM, "out of memory");
        n->defaults = d;
        d[n->nparams - 1] = NULL;
        if (is_op(cur(P), "=")) {
            advance(P);
            if (!(d[n->nparams - 1] = parse_expr(P)))
                return -1;
        }
        if (!accept_op(P, ","))
            break;
    }
    int which, loops = P->loops;
    P->loops = 0; /* a loop around the definition does not hold the body */
    int rc = expect_op(P, ")") < 0 || end_tag(P) < 0 ? -1
             : parse_block_body(P, &n->body, "macro", n->line, end, &which);
    P->loops = loops;
    return rc < 0 ? -1 : end_tag(P);
}

static int parse_simple(parser *P, const char *tag)
{
    if (P->loops == 0)
        return perr(P, INGOT_ERR_FORMAT, "'%s' outside a for loop", tag);
    return end_tag(P);
}

static int parse_generation(parser *P, ingot_jnode *n)
{
    return parse_closed_body(P, &n->body, "generation", n->line, "endgeneration");
}

static int is_unsupported_tag(const char *name)
{
    static const char *const tags[] = {"include", "import", "from", "extends", "block", "call", "filter",
                                       "raw", "with", "autoescape", "do", "trans", "print"};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(tags); i++)
        if (strcmp(name, tags[i]) == 0)
            return 1;
    return 0;
}

/* Parses "{% tag ... %}" (cursor on the tag name) into body. */
static int parse_statement(parser *P, ingot_jbody *body)
{
    static const struct { const char *tag; ingot_jnode_kind kind; } tags[] = {
        {"if", JN_IF}, {"for", JN_FOR}, {"set", JN_SET}, {"macro", JN_MACRO},
        {"break", JN_BREAK}, {"continue", JN_CONTINUE}, {"generation", JN_BLOCK}};
    const char *name = cur(P)->s;
    for (size_t i = 0; i < INGOT_ARRAY_LEN(tags); i++) {
        if (strcmp(name, tags[i].tag) != 0)
            continue;
        ingot_jnode *n = new_node(P, tags[i].kind, cur(P)->line);
        if (!n)
            return -1;
        advance(P);
        int rc;
        switch (tags[i].kind) {
        case JN_IF: rc = parse_if(P, n); break;
        case JN_FOR: rc = parse_for(P, n); break;
        case JN_SET: rc = parse_set(P, n); break;
        case JN_MACRO: rc = parse_macro(P, n); break;
        case JN_BLOCK: rc = parse_generation(P, n); break;
        default: rc = parse_simple(P, tags[i].tag); break;
        }
        if (rc < 0) {
            node_free(n);
            return -1;
        }
        return body_add(P, body, n);
    }
    if (is_unsupported_tag(name))
        return perr(P, INGOT_ERR_UNSUPPORTED, "unsupported tag '%s'", name);
    if (strncmp(name, "end", 3) == 0 || strcmp(name, "else") == 0 || strcmp(name, "elif") == 0)
        return perr(P, INGOT_ERR_FORMAT, "unexpected '%s' (no open block it could close)", name);
    return perr(P, INGOT_ERR_FORMAT, "unknown tag '%s'", name);
}

static int stop_index(const block_ctx *bc, const ingot_jtok *t)
{
    if (!bc || t->kind != JT_NAME)
        return -1;
    for (int i = 0; bc->stops[i]; i++)
        if (strcmp(t->s, bc->stops[i]) == 0)
            return i;
    return -1;
}

static int parse_output(parser *P, ingot_jbody *body)
{
    int line = cur(P)->line;
    advance(P);
    ingot_jnode *n = new_node(P, JN_OUTPUT, line);
    if (!n)
        return -1;
    if (!(n->expr = parse_expr(P)) || expect_kind(P, JT_VAR_END, "'}}'") < 0) {
        node_free(n);
        return -1;
    }
    return body_add(P, body, n);
}

static int parse_text(parser *P, ingot_jbody *body)
{
    ingot_jnode *n = new_node(P, JN_TEXT, cur(P)->line);
    if (!n)
        return -1;
    n->len = cur(P)->len;
    n->text = malloc(n->len + 1);
    if (!n->text) {
        node_free(n);
        return perr(P, INGOT_ERR_NOMEM, "out of memory");
    }
    memcpy(n->text, cur(P)->s, n->len + 1);
    advance(P);
    return body_add(P, body, n);
}

static int parse_body(parser *P, ingot_jbody *body, const block_ctx *bc, int *which)
{
    if (++P->depth > P->max_depth)
        return too_deep(P);
    int rc = 0;
    while (rc == 0) {
        const ingot_jtok *t = cur(P);
        if (t->kind == JT_EOF) {
            if (bc) {
                int last = 0;
                while (bc->stops[last + 1])
                    last++; /* the closing tag comes last */
                rc = ingot_fail(P->err, INGOT_ERR_FORMAT,
                                "chat template: line %d: unclosed '%s' block (missing '%s')", bc->line,
                                bc->tag, bc->stops[last]);
            }
            break;
        }
        if (t->kind == JT_TEXT) {
            rc = parse_text(P, body);
        } else if (t->kind == JT_VAR_BEGIN) {
            rc = parse_output(P, body);
        } else if (t->kind == JT_BLOCK_BEGIN) {
            advance(P);
            if (cur(P)->kind != JT_NAME) {
                rc = unexpected(P, "a tag name");
            } else if ((*which = stop_index(bc, cur(P))) >= 0) {
                break;
            } else {
                rc = parse_statement(P, body);
            }
        } else {
            rc = unexpected(P, "template text or a tag");
        }
    }
    P->depth--;
    return rc;
}

int ingot_jinja_parse(const ingot_jtok *toks, int ntoks, int max_nesting, ingot_jbody *root, ingot_error *err)
{
    parser P = {.t = toks, .n = ntoks, .max_depth = max_nesting, .err = err};
    int which = -1;
    memset(root, 0, sizeof *root);
    if (parse_body(&P, root, NULL, &which) < 0 || ingot_jinja_scope(root, err) < 0) {
        ingot_jinja_body_free(root);
        return -1;
    }
    return 0;
}
