/* jinja_eval.c - renders a template tree: statements, expressions, scopes.
 *
 * Scopes follow Jinja: a for loop runs each iteration in a fresh frame (a
 * `set` inside the body is gone at the next iteration and after the loop,
 * which is why templates use namespace()), and so do for-else bodies, set
 * blocks and generation blocks; `if` opens no scope; a macro runs in a frame
 * above the template's top level.  On entry a frame binds the names its body
 * lists as starting undefined (jinja_scope.c). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"
#include "util/util.h"

typedef struct frame {
    struct frame *parent;
    ingot_jv vars; /* JV_DICT */
} frame;

struct ingot_jctx {
    ingot_error *err;
    int failed;
    int line;
    int depth;  /* macro calls in progress */
    int nest;   /* bodies and expressions being rendered, through macro calls:
                 * what bounds the C stack (max_render_depth) */
    long steps; /* loop iterations plus macro calls so far */
    const ingot_chat_limits *lim;
    frame *top; /* the template's top level, seen by macros */
};

enum { R_OK = 0, R_BREAK = 1, R_CONTINUE = 2, R_ERR = -1 };

int ingot_jinja_fail(ingot_jctx *c, int line, ingot_status code, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = 1;
    if (ingot_jv_limit_hit() == JV_LIMIT_MEMORY)
        return ingot_fail(c->err, INGOT_ERR_UNSUPPORTED,
                          "chat template: line %d: memory use exceeds the limit of %zu bytes", line,
                          c->lim->max_memory);
    if (ingot_jv_limit_hit() == JV_LIMIT_WORK)
        return ingot_fail(c->err, INGOT_ERR_UNSUPPORTED,
                          "chat template: line %d: evaluation steps exceed the limit of %ld", line,
                          c->lim->max_steps);
    if (ingot_jv_limit_hit() == JV_LIMIT_DEPTH)
        return ingot_fail(c->err, INGOT_ERR_UNSUPPORTED,
                          "chat template: line %d: lists and dicts nest deeper than the limit of %d", line,
                          c->lim->max_value_depth);
    if (ingot_jv_oom())
        return ingot_fail(c->err, INGOT_ERR_NOMEM, "chat template: out of memory");
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ingot_fail(c->err, code, "chat template: line %d: %s", line, msg);
}

int ingot_jinja_line(const ingot_jctx *c) { return c->line; }

int ingot_jinja_undefined_error(ingot_jctx *c, ingot_jv v)
{
    if (v.u.name)
        return ingot_jinja_fail(c, c->line, INGOT_ERR_FORMAT, "'%s' is undefined", v.u.name);
    return ingot_jinja_fail(c, c->line, INGOT_ERR_FORMAT, "use of an undefined value (a missing key or index)");
}

/* ---- frames ---- */

static ingot_jv *lookup(frame *f, const char *name)
{
    size_t n = strlen(name);
    for (; f; f = f->parent) {
        ingot_jv *v = ingot_jv_dict_find(f->vars, name, n);
        if (v)
            return v;
    }
    return NULL;
}

/* Enters a frame for body b (NULL: a bare frame). */
static void frame_init(frame *f, frame *parent, const ingot_jbody *b)
{
    f->parent = parent;
    f->vars = ingot_jv_dict_new(JV_DICT);
    for (int i = 0; b && i < b->nundef; i++)
        ingot_jv_dict_setc(f->vars, b->undef[i], ingot_jv_undef(b->undef[i]));
}

static void frame_done(frame *f) { ingot_jv_unref(f->vars); }

/* Binds names to v (taken over), unpacking a list when there are several. */
static int bind(ingot_jctx *c, frame *f, char *const *names, int n, ingot_jv v, int line)
{
    if (n == 1) {
        ingot_jv_dict_setc(f->vars, names[0], v);
        return 0;
    }
    if (v.kind != JV_LIST || v.u.l->n != (size_t)n) {
        /* the message names v's type: v is released after it is written */
        int rc = ingot_jinja_fail(c, line, INGOT_ERR_FORMAT, "cannot unpack a '%s' into %d names",
                                  ingot_jv_type_name(v), n);
        ingot_jv_unref(v);
        return rc;
    }
    for (int i = 0; i < n; i++)
        ingot_jv_dict_setc(f->vars, names[i], ingot_jv_ref(v.u.l->v[i]));
    ingot_jv_unref(v);
    return 0;
}

static int step(ingot_jctx *c, int line)
{
    if (++c->steps > c->lim->max_iterations)
        return ingot_jinja_fail(c, line, INGOT_ERR_UNSUPPORTED,
                                "loop iterations and macro calls exceed the limit of %ld", c->lim->max_iterations);
    return 0;
}

/* ---- expressions ---- */

static int eval(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out);
static int render(ingot_jctx *c, frame *f, const ingot_jbody *b, ingot_jbuf *out);

/* Evaluated call arguments (from operand `first` on). */
typedef struct evargs {
    ingot_jv *pos, *kw;
    ingot_jargs a;
} evargs;

static void evargs_free(evargs *x)
{
    for (int i = 0; i < x->a.npos; i++)
        ingot_jv_unref(x->pos[i]);
    for (int i = 0; i < x->a.nkw; i++)
        ingot_jv_unref(x->kw[i]);
    free(x->pos);
    free(x->kw);
}

static int eval_args(ingot_jctx *c, frame *f, const ingot_jexpr *e, int first, evargs *x)
{
    memset(x, 0, sizeof *x);
    int np = e->na - first;
    x->pos = calloc((size_t)np + 1, sizeof *x->pos);
    x->kw = calloc((size_t)e->nkw + 1, sizeof *x->kw);
    if (!x->pos || !x->kw) {
        ingot_jv_oom_set();
        evargs_free(x);
        return ingot_jinja_fail(c, e->line, INGOT_ERR_NOMEM, "out of memory");
    }
    x->a.pos = x->pos;
    x->a.kwv = x->kw;
    x->a.kwn = e->kwn;
    for (int i = 0; i < np; i++, x->a.npos++)
        if (eval(c, f, e->a[first + i], &x->pos[i]) < 0)
            goto fail;
    for (int i = 0; i < e->nkw; i++, x->a.nkw++)
        if (eval(c, f, e->kwv[i], &x->kw[i]) < 0)
            goto fail;
    return 0;
fail:
    evargs_free(x);
    return -1;
}

static int call_macro(ingot_jctx *c, const ingot_jnode *m, const ingot_jargs *a, int line, ingot_jv *out)
{
    if (a->npos > m->nparams)
        return ingot_jinja_fail(c, line, INGOT_ERR_FORMAT, "macro '%s' takes %d arguments, %d given", m->name,
                                m->nparams, a->npos);
    if (c->depth >= c->lim->max_call_depth)
        return ingot_jinja_fail(c, line, INGOT_ERR_UNSUPPORTED, "macro calls nest deeper than the limit of %d",
                                c->lim->max_call_depth);
    if (step(c, line) < 0)
        return -1;
    frame mf;
    ingot_jv_charge_pause(1); /* bookkeeping, bounded by the iteration limit */
    frame_init(&mf, c->top, &m->body);
    ingot_jv_charge_pause(0);
    int rc = 0;
    for (int i = 0; i < m->nparams && rc == 0; i++) {
        const ingot_jv *given = i < a->npos ? &a->pos[i] : NULL;
        for (int k = 0; k < a->nkw && !given; k++)
            if (strcmp(a->kwn[k], m->params[i]) == 0)
                given = &a->kwv[k];
        ingot_jv v = ingot_jv_undef(m->params[i]);
        if (given)
            v = ingot_jv_ref(*given);
        else if (m->defaults[i])
            rc = eval(c, &mf, m->defaults[i], &v);
        if (rc == 0)
            ingot_jv_dict_setc(mf.vars, m->params[i], v);
    }
    for (int k = 0; k < a->nkw && rc == 0; k++) {
        int known = 0;
        for (int i = 0; i < m->nparams; i++)
            known |= strcmp(a->kwn[k], m->params[i]) == 0;
        if (!known)
            rc = ingot_jinja_fail(c, line, INGOT_ERR_FORMAT, "macro '%s' has no argument '%s'", m->name,
                                  a->kwn[k]);
    }
    ingot_jbuf b = {0};
    if (rc == 0) {
        c->depth++;
        rc = render(c, &mf, &m->body, &b) == R_ERR ? -1 : 0;
        c->depth--;
    }
    frame_done(&mf);
    if (rc < 0) {
        ingot_jbuf_free(&b);
        return -1;
    }
    *out = ingot_jv_str_buf(&b);
    return 0;
}

static int call_value(ingot_jctx *c, ingot_jv fn, const ingot_jargs *a, int line, ingot_jv *out)
{
    c->line = line;
    switch (fn.kind) {
    case JV_FUNC: return ingot_jinja_call_func(c, fn.u.fn, a, out);
    case JV_MACRO: return call_macro(c, fn.u.m, a, line, out);
    case JV_UNDEF: return ingot_jinja_undefined_error(c, fn);
    default:
        return ingot_jinja_fail(c, line, INGOT_ERR_FORMAT, "'%s' object is not callable", ingot_jv_type_name(fn));
    }
}

/* obj.name(args): a method of str / dict / list, else a callable attribute. */
static int eval_method_call(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    const ingot_jexpr *callee = e->a[0];
    ingot_jv obj, fn = ingot_jv_undef(NULL);
    if (eval(c, f, callee->a[0], &obj) < 0)
        return -1;
    evargs x;
    if (eval_args(c, f, e, 1, &x) < 0) {
        ingot_jv_unref(obj);
        return -1;
    }
    c->line = e->line;
    int rc = obj.kind == JV_UNDEF ? ingot_jinja_undefined_error(c, obj)
                                  : ingot_jinja_call_method(c, obj, callee->name, &x.a, out);
    if (rc == 0) { /* no such method: maybe a macro stored in a namespace or dict */
        rc = ingot_jinja_getattr(c, obj, callee->name, &fn);
        if (rc == 0 && fn.kind == JV_UNDEF)
            rc = ingot_jinja_fail(c, e->line, INGOT_ERR_UNSUPPORTED, "unsupported method '%s' of a '%s'",
                                  callee->name, ingot_jv_type_name(obj));
        if (rc == 0)
            rc = call_value(c, fn, &x.a, e->line, out);
    } else if (rc == 1) {
        rc = 0;
    }
    ingot_jv_unref(fn);
    ingot_jv_unref(obj);
    evargs_free(&x);
    return rc < 0 ? -1 : 0;
}

static int eval_call(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    if (e->a[0]->kind == JE_ATTR)
        return eval_method_call(c, f, e, out);
    ingot_jv fn;
    if (eval(c, f, e->a[0], &fn) < 0)
        return -1;
    evargs x;
    int rc = eval_args(c, f, e, 1, &x);
    if (rc == 0) {
        rc = call_value(c, fn, &x.a, e->line, out);
        evargs_free(&x);
    }
    ingot_jv_unref(fn);
    return rc;
}

/* Filters and tests: operand a[0], arguments a[1..]. */
static int eval_filter_or_test(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    ingot_jv in;
    if (eval(c, f, e->a[0], &in) < 0)
        return -1;
    evargs x;
    int rc = eval_args(c, f, e, 1, &x);
    if (rc == 0) {
        c->line = e->line;
        if (e->kind == JE_FILTER) {
            rc = ingot_jinja_filter(c, e->op, in, &x.a, out);
        } else {
            int res = 0;
            rc = ingot_jinja_test(c, e->op, in, &x.a, &res);
            *out = ingot_jv_bool(e->neg ? !res : res);
        }
        evargs_free(&x);
    }
    ingot_jv_unref(in);
    return rc;
}

/* Evaluates operand i of e (NULL operand: *out stays Undefined, *present 0). */
static int eval_opt(ingot_jctx *c, frame *f, const ingot_jexpr *e, int i, ingot_jv *out, int *present)
{
    *out = ingot_jv_undef(NULL);
    *present = i < e->na && e->a[i];
    return *present ? eval(c, f, e->a[i], out) : 0;
}

static int eval_access(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    ingot_jv obj, v[3] = {{0}, {0}, {0}};
    int has[3] = {0, 0, 0}, rc = 0;
    if (eval(c, f, e->a[0], &obj) < 0)
        return -1;
    for (int i = 0; i < 3 && rc == 0 && e->kind != JE_ATTR; i++)
        rc = eval_opt(c, f, e, i + 1, &v[i], &has[i]);
    c->line = e->line;
    if (rc == 0) {
        if (e->kind == JE_ATTR) {
            rc = ingot_jinja_getattr(c, obj, e->name, out);
        } else if (e->kind == JE_ITEM) {
            rc = ingot_jinja_getitem(c, obj, v[0], out);
            const ingot_jexpr *k = e->a[1];
            if (rc == 0 && out->kind == JV_UNDEF && k->kind == JE_CONST && k->cst.kind == JV_STR)
                out->u.name = k->cst.u.s->s; /* template-owned: safe to keep for messages */
        } else {
            rc = ingot_jinja_slice(c, obj, has[0] ? &v[0] : NULL, has[1] ? &v[1] : NULL,
                                   has[2] ? &v[2] : NULL, out);
        }
    }
    for (int i = 0; i < 3; i++)
        ingot_jv_unref(v[i]);
    ingot_jv_unref(obj);
    return rc;
}

static int eval_unary(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    ingot_jv v;
    if (eval(c, f, e->a[0], &v) < 0)
        return -1;
    int rc = 0;
    if (e->kind == JE_NOT) {
        *out = ingot_jv_bool(!ingot_jv_truthy(v));
    } else if (v.kind == JV_INT || v.kind == JV_BOOL) {
        int64_t i = v.kind == JV_INT ? v.u.i : v.u.b;
        if (e->kind == JE_NEG && i == INT64_MIN)
            rc = ingot_jinja_fail(c, e->line, INGOT_ERR_UNSUPPORTED, "integer overflow");
        else
            *out = ingot_jv_int(e->kind == JE_NEG ? -i : i);
    } else if (v.kind == JV_FLOAT) {
        *out = ingot_jv_float(e->kind == JE_NEG ? -v.u.f : v.u.f);
    } else if (v.kind == JV_UNDEF) {
        c->line = e->line;
        rc = ingot_jinja_undefined_error(c, v);
    } else {
        rc = ingot_jinja_fail(c, e->line, INGOT_ERR_FORMAT, "bad operand type for unary %s: '%s'",
                              e->kind == JE_NEG ? "-" : "+", ingot_jv_type_name(v));
    }
    ingot_jv_unref(v);
    return rc;
}

static int eval_binop(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    ingot_jv a, b;
    if (eval(c, f, e->a[0], &a) < 0)
        return -1;
    if (eval(c, f, e->a[1], &b) < 0) {
        ingot_jv_unref(a);
        return -1;
    }
    c->line = e->line;
    int rc = ingot_jinja_binop(c, e->op, a, b, out);
    ingot_jv_unref(a);
    ingot_jv_unref(b);
    return rc;
}

/* `and` / `or` yield an operand, as in Python. */
static int eval_logic(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    if (eval(c, f, e->a[0], out) < 0)
        return -1;
    if (ingot_jv_truthy(*out) == (e->kind == JE_OR))
        return 0;
    ingot_jv_unref(*out);
    return eval(c, f, e->a[1], out);
}

static int eval_cond(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    ingot_jv cond;
    if (eval(c, f, e->a[1], &cond) < 0)
        return -1;
    int t = ingot_jv_truthy(cond);
    ingot_jv_unref(cond);
    if (t)
        return eval(c, f, e->a[0], out);
    *out = ingot_jv_undef(NULL);
    return e->a[2] ? eval(c, f, e->a[2], out) : 0;
}

static int eval_literal(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    int dict = e->kind == JE_DICT;
    *out = dict ? ingot_jv_dict_new(JV_DICT) : ingot_jv_list_new();
    if (!dict && e->op)
        ingot_jv_list_mark_tuple(*out);
    for (int i = 0; i < e->na; i += dict ? 2 : 1) {
        ingot_jv k, v;
        if (eval(c, f, e->a[i], &k) < 0)
            goto fail;
        if (!dict) {
            ingot_jv_list_push(*out, k);
            continue;
        }
        if (k.kind != JV_STR) {
            ingot_jinja_fail(c, e->line, INGOT_ERR_UNSUPPORTED, "unsupported dict key of type '%s'",
                             ingot_jv_type_name(k));
            ingot_jv_unref(k);
            goto fail;
        }
        if (eval(c, f, e->a[i + 1], &v) < 0) {
            ingot_jv_unref(k);
            goto fail;
        }
        ingot_jv_dict_set(*out, k, v);
        ingot_jv_unref(k);
    }
    return 0;
fail:
    ingot_jv_unref(*out);
    return -1;
}

/* Refuses one more level of rendering beyond max_render_depth.  @return 0 or -1. */
static int nest_enter(ingot_jctx *c, int line)
{
    if (++c->nest <= c->lim->max_render_depth)
        return 0;
    c->nest--;
    return ingot_jinja_fail(c, line, INGOT_ERR_UNSUPPORTED,
                            "blocks, expressions and macro calls nest deeper than the limit of %d while rendering",
                            c->lim->max_render_depth);
}

static int eval_kind(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out);

static int eval(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    *out = ingot_jv_undef(NULL);
    if (c->failed)
        return -1;
    if (ingot_jv_work(1) < 0)
        return ingot_jinja_fail(c, e->line, INGOT_ERR_UNSUPPORTED, "evaluation steps");
    if (nest_enter(c, e->line) < 0)
        return -1;
    int rc = eval_kind(c, f, e, out);
    c->nest--;
    return rc;
}

static int eval_kind(ingot_jctx *c, frame *f, const ingot_jexpr *e, ingot_jv *out)
{
    switch (e->kind) {
    case JE_CONST: *out = ingot_jv_ref(e->cst); return 0;
    case JE_NAME: {
        ingot_jv *v = lookup(f, e->name);
        *out = v ? ingot_jv_ref(*v) : ingot_jv_undef(e->name);
        return 0;
    }
    case JE_ATTR:
    case JE_ITEM:
    case JE_SLICE: return eval_access(c, f, e, out);
    case JE_CALL: return eval_call(c, f, e, out);
    case JE_FILTER:
    case JE_TEST: return eval_filter_or_test(c, f, e, out);
    case JE_NOT:
    case JE_NEG:
    case JE_POS: return eval_unary(c, f, e, out);
    case JE_BINOP: return eval_binop(c, f, e, out);
    case JE_AND:
    case JE_OR: return eval_logic(c, f, e, out);
    case JE_COND: return eval_cond(c, f, e, out);
    case JE_LIST:
    case JE_DICT: return eval_literal(c, f, e, out);
    }
    return ingot_jinja_fail(c, e->line, INGOT_ERR_FORMAT, "internal error: bad expression");
}

/* ---- statements ---- */

/* Renders a body that has a frame of its own. */
static int render_in_frame(ingot_jctx *c, frame *parent, const ingot_jbody *b, ingot_jbuf *out)
{
    frame f;
    frame_init(&f, parent, b);
    int rc = render(c, &f, b, out);
    frame_done(&f);
    return rc;
}

static int render_output(ingot_jctx *c, frame *f, const ingot_jnode *n, ingot_jbuf *out)
{
    ingot_jv v;
    if (eval(c, f, n->expr, &v) < 0)
        return R_ERR;
    ingot_jv_write_str(out, v);
    ingot_jv_unref(v);
    return R_OK;
}

static int render_if(ingot_jctx *c, frame *f, const ingot_jnode *n, ingot_jbuf *out)
{
    for (int i = 0; i < n->nconds; i++) {
        ingot_jv v;
        if (eval(c, f, n->conds[i], &v) < 0)
            return R_ERR;
        int t = ingot_jv_truthy(v);
        ingot_jv_unref(v);
        if (t)
            return render(c, f, &n->bodies[i], out);
    }
    return render(c, f, &n->else_body, out);
}

/* The items a loop runs over, after its `if` filter. */
static int loop_items(ingot_jctx *c, frame *f, const ingot_jnode *n, ingot_jv *items)
{
    ingot_jv seq, all;
    if (eval(c, f, n->expr, &seq) < 0)
        return -1;
    c->line = n->line;
    int rc = ingot_jinja_iterate(c, seq, &all);
    ingot_jv_unref(seq);
    if (rc < 0)
        return -1;
    if (!n->filter) {
        *items = all;
        return 0;
    }
    *items = ingot_jv_list_new();
    for (size_t i = 0; all.kind == JV_LIST && i < all.u.l->n && rc == 0; i++) {
        frame tf;
        ingot_jv keep;
        frame_init(&tf, f, &n->body); /* the filter runs in the loop's frame */
        rc = bind(c, &tf, n->targets, n->ntargets, ingot_jv_ref(all.u.l->v[i]), n->line);
        if (rc == 0 && (rc = eval(c, &tf, n->filter, &keep)) == 0) {
            if (ingot_jv_truthy(keep))
                ingot_jv_list_push(*items, ingot_jv_ref(all.u.l->v[i]));
            ingot_jv_unref(keep);
        }
        frame_done(&tf);
    }
    ingot_jv_unref(all);
    if (rc < 0)
        ingot_jv_unref(*items);
    return rc;
}

/* The names of the loop object, as immortal strings: made once, not per iteration. */
enum { LK_INDEX, LK_INDEX0, LK_REVINDEX, LK_REVINDEX0, LK_FIRST, LK_LAST, LK_LENGTH, LK_DEPTH, LK_DEPTH0,
       LK_PREVITEM, LK_NEXTITEM, LK_LOOP, LK_COUNT };
#define LOOP_KEY(s) {-1, sizeof(s) - 1, (char *)(s)}
static ingot_jstr g_loop_keys[LK_COUNT] = {
    LOOP_KEY("index"),  LOOP_KEY("index0"), LOOP_KEY("revindex"), LOOP_KEY("revindex0"),
    LOOP_KEY("first"),  LOOP_KEY("last"),   LOOP_KEY("length"),   LOOP_KEY("depth"),
    LOOP_KEY("depth0"), LOOP_KEY("previtem"), LOOP_KEY("nextitem"), LOOP_KEY("loop"),
};

static ingot_jv loop_key(int k) { return (ingot_jv){.kind = JV_STR, .u.s = &g_loop_keys[k]}; }

/* The loop object for item i of l.  *o is reused when nothing else holds it
 * (the common case: the body did not keep `loop`), else replaced.  Its keys
 * are fixed; previtem and nextitem are Undefined where Jinja's are. */
static void loop_object(ingot_jv *o, const ingot_jlist *l, size_t i)
{
    if (o->kind != JV_DICT || o->u.d->refs != 1) {
        ingot_jv_unref(*o);
        *o = ingot_jv_dict_new(JV_DICT);
        for (int k = 0; k < LK_LOOP; k++)
            ingot_jv_dict_add_new(*o, loop_key(k), ingot_jv_none());
        if (o->kind != JV_DICT || o->u.d->n != LK_LOOP)
            return; /* out of memory: the caller sees the flag */
    }
    ingot_jv *v = o->u.d->v;
    int64_t n = (int64_t)l->n, k = (int64_t)i;
    ingot_jv_unref(v[LK_PREVITEM]);
    ingot_jv_unref(v[LK_NEXTITEM]);
    v[LK_INDEX] = ingot_jv_int(k + 1);
    v[LK_INDEX0] = ingot_jv_int(k);
    v[LK_REVINDEX] = ingot_jv_int(n - k);
    v[LK_REVINDEX0] = ingot_jv_int(n - k - 1);
    v[LK_FIRST] = ingot_jv_bool(i == 0);
    v[LK_LAST] = ingot_jv_bool(i + 1 == l->n);
    v[LK_LENGTH] = ingot_jv_int(n);
    v[LK_DEPTH] = ingot_jv_int(1);
    v[LK_DEPTH0] = ingot_jv_int(0);
    v[LK_PREVITEM] = i > 0 ? ingot_jv_ref(l->v[i - 1]) : ingot_jv_undef("previtem");
    v[LK_NEXTITEM] = i + 1 < l->n ? ingot_jv_ref(l->v[i + 1]) : ingot_jv_undef("nextitem");
}

static int render_for(ingot_jctx *c, frame *f, const ingot_jnode *n, ingot_jbuf *out)
{
    ingot_jv items;
    if (loop_items(c, f, n, &items) < 0)
        return R_ERR;
    const ingot_jlist *l = items.kind == JV_LIST ? items.u.l : NULL;
    int rc = R_OK;
    ingot_jv lo = ingot_jv_none();
    for (size_t i = 0; l && i < l->n && rc != R_ERR; i++) {
        frame it;
        ingot_jv_charge_pause(1); /* bookkeeping, bounded by the iteration limit */
        frame_init(&it, f, &n->body);
        loop_object(&lo, l, i);
        ingot_jv_dict_set(it.vars, loop_key(LK_LOOP), ingot_jv_ref(lo));
        rc = step(c, n->line) < 0 ? R_ERR : bind(c, &it, n->targets, n->ntargets, ingot_jv_ref(l->v[i]), n->line);
        ingot_jv_charge_pause(0);
        if (rc == R_OK)
            rc = render(c, &it, &n->body, out);
        frame_done(&it);
        if (rc == R_BREAK)
            break;
        if (rc == R_CONTINUE)
            rc = R_OK;
    }
    ingot_jv_unref(lo);
    if (rc != R_ERR && (!l || l->n == 0))
        rc = render_in_frame(c, f, &n->else_body, out);
    ingot_jv_unref(items);
    return rc == R_ERR ? R_ERR : R_OK;
}

static int render_set(ingot_jctx *c, frame *f, const ingot_jnode *n)
{
    ingot_jv v;
    if (n->kind == JN_SETBLOCK) {
        ingot_jbuf b = {0};
        if (render_in_frame(c, f, &n->body, &b) == R_ERR) {
            ingot_jbuf_free(&b);
            return R_ERR;
        }
        v = ingot_jv_str_buf(&b);
    } else if (eval(c, f, n->expr, &v) < 0) {
        return R_ERR;
    }
    if (!n->attr)
        return bind(c, f, n->targets, n->ntargets, v, n->line) < 0 ? R_ERR : R_OK;
    ingot_jv *ns = lookup(f, n->targets[0]);
    if (!ns || ns->kind != JV_NS) {
        ingot_jv_unref(v);
        return ingot_jinja_fail(c, n->line, INGOT_ERR_FORMAT,
                                "cannot assign attribute '%s' of '%s': it is not a namespace()", n->attr,
                                n->targets[0]);
    }
    if (ingot_jv_has_ns(v)) { /* could make a cycle, which Python could not print either */
        ingot_jv_unref(v);
        return ingot_jinja_fail(c, n->line, INGOT_ERR_UNSUPPORTED,
                                "cannot store a namespace() in the attribute '%s' of a namespace()", n->attr);
    }
    ingot_jv_dict_setc(*ns, n->attr, v);
    return R_OK;
}

static int render_node(ingot_jctx *c, frame *f, const ingot_jnode *n, ingot_jbuf *out)
{
    c->line = n->line;
    if (ingot_jv_work(1) < 0)
        return ingot_jinja_fail(c, n->line, INGOT_ERR_UNSUPPORTED, "evaluation steps");
    switch (n->kind) {
    case JN_TEXT: ingot_jbuf_put(out, n->text, n->len); return R_OK;
    case JN_OUTPUT: return render_output(c, f, n, out);
    case JN_IF: return render_if(c, f, n, out);
    case JN_FOR: return render_for(c, f, n, out);
    case JN_SET:
    case JN_SETBLOCK: return render_set(c, f, n);
    case JN_MACRO:
        ingot_jv_dict_setc(f->vars, n->name, (ingot_jv){.kind = JV_MACRO, .u.m = n});
        return R_OK;
    case JN_BREAK: return R_BREAK;
    case JN_CONTINUE: return R_CONTINUE;
    case JN_BLOCK: return render_in_frame(c, f, &n->body, out);
    }
    return ingot_jinja_fail(c, n->line, INGOT_ERR_FORMAT, "internal error: bad statement");
}

static int render_body(ingot_jctx *c, frame *f, const ingot_jbody *b, ingot_jbuf *out);

static int render(ingot_jctx *c, frame *f, const ingot_jbody *b, ingot_jbuf *out)
{
    if (nest_enter(c, b->n ? b->v[0]->line : c->line) < 0)
        return R_ERR;
    int rc = render_body(c, f, b, out);
    c->nest--;
    return rc;
}

static int render_body(ingot_jctx *c, frame *f, const ingot_jbody *b, ingot_jbuf *out)
{
    for (int i = 0; i < b->n; i++) {
        int rc = render_node(c, f, b->v[i], out);
        if (rc == R_OK && ingot_jv_oom())
            rc = ingot_jinja_fail(c, b->v[i]->line, INGOT_ERR_NOMEM, "out of memory");
        if (rc != R_ERR && out->len > c->lim->max_output)
            rc = ingot_jinja_fail(c, b->v[i]->line, INGOT_ERR_UNSUPPORTED,
                                  "output exceeds the limit of %zu bytes", c->lim->max_output);
        if (rc != R_OK)
            return rc;
    }
    return R_OK;
}

char *ingot_jinja_render(const ingot_jbody *root, ingot_jv vars, const ingot_chat_limits *limits,
                         ingot_error *err)
{
    ingot_jctx c = {.err = err, .lim = limits};
    ingot_jv_limits_begin(limits->max_memory, limits->max_value_depth, (uint64_t)limits->max_steps);
    frame globals = {NULL, ingot_jv_ref(vars)}, top;
    frame_init(&top, &globals, root);
    c.top = &top;
    ingot_jbuf out = {0};
    int rc = render(&c, &top, root, &out);
    if (rc == R_OK && ingot_jv_oom())
        rc = ingot_jinja_fail(&c, 0, INGOT_ERR_NOMEM, "out of memory");
    frame_done(&top);
    frame_done(&globals);
    char *text = rc == R_OK ? ingot_jbuf_take(&out, NULL) : NULL;
    ingot_jv_limits_end();
    if (rc == R_OK && !text)
        ingot_fail(err, INGOT_ERR_NOMEM, "chat template: out of memory");
    ingot_jbuf_free(&out);
    return text;
}
