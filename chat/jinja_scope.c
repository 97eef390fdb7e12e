/* jinja_scope.c - which names start out undefined in each frame.
 *
 * Jinja decides scoping when it compiles a template, and renders the result
 * (its idtracking module).  A frame - the template's top level, a loop body,
 * a for-else, a macro, a set block, a generation block - that assigns a name
 * with an unconditional `set` before any other mention of it at its own level
 * gets that name initialized to undefined on entry, unless an enclosing frame
 * mentions the name somewhere.  Nested frames then see undefined until the
 * assignment runs:
 *
 *     {% for m in messages %}{{ x }}{% endfor %}{% set x = 1 %}
 *
 * prints nothing for x even when the caller passed x.  Assignments inside an
 * `if` never have this effect (Jinja resolves those names from the context).
 * Real templates rarely meet this, but rendering must not differ from
 * transformers, so the same lists are computed here at parse time. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"
#include "util/util.h"

typedef struct names {
    const char **v;
    int n, cap;
} names;

typedef struct scope {
    const struct scope *parent;
    names refs; /* every name this frame mentions at its own level */
} scope;

typedef struct walker {
    ingot_error *err;
    int failed;
} walker;

static int names_has(const names *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return 1;
    return 0;
}

static void names_add(walker *w, names *s, const char *name)
{
    if (w->failed || names_has(s, name))
        return;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        const char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) {
            w->failed = 1;
            ingot_fail(w->err, INGOT_ERR_NOMEM, "chat template: out of memory");
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = name;
}

static int scope_has(const scope *s, const char *name)
{
    for (; s; s = s->parent)
        if (names_has(&s->refs, name))
            return 1;
    return 0;
}

/* Names an expression reads. */
static void expr_loads(walker *w, const ingot_jexpr *e, names *out)
{
    if (!e)
        return;
    if (e->kind == JE_NAME)
        names_add(w, out, e->name);
    for (int i = 0; i < e->na; i++)
        expr_loads(w, e->a[i], out);
    for (int i = 0; i < e->nkw; i++)
        expr_loads(w, e->kwv[i], out);
}

/* Every name mentioned at this frame's level (not inside nested frames). */
static void collect_refs(walker *w, const ingot_jbody *b, names *refs)
{
    for (int i = 0; i < b->n; i++) {
        const ingot_jnode *n = b->v[i];
        switch (n->kind) {
        case JN_OUTPUT:
        case JN_FOR: /* only its iterable is evaluated here */
            expr_loads(w, n->expr, refs);
            break;
        case JN_IF:
            for (int k = 0; k < n->nconds; k++) {
                expr_loads(w, n->conds[k], refs);
                collect_refs(w, &n->bodies[k], refs);
            }
            collect_refs(w, &n->else_body, refs);
            break;
        case JN_SET:
        case JN_SETBLOCK:
            expr_loads(w, n->expr, refs);
            for (int k = 0; k < n->ntargets; k++)
                names_add(w, refs, n->targets[k]);
            break;
        case JN_MACRO: names_add(w, refs, n->name); break;
        default: break;
        }
    }
}

static int analyze(walker *w, ingot_jbody *b, char *const *params, int nparams, ingot_jexpr *const *first,
                   int nfirst, const scope *parent);

typedef struct frame_walk {
    walker *w;
    const scope *s;  /* this frame */
    names seen;      /* mentioned so far at this level */
    names undef;     /* the result */
} frame_walk;

static void store(frame_walk *f, const char *name, int in_branch)
{
    if (!names_has(&f->seen, name) && !in_branch && !scope_has(f->s->parent, name))
        names_add(f->w, &f->undef, name);
    names_add(f->w, &f->seen, name);
}

static void walk(frame_walk *f, ingot_jbody *b, int in_branch)
{
    for (int i = 0; i < b->n && !f->w->failed; i++) {
        ingot_jnode *n = b->v[i];
        switch (n->kind) {
        case JN_OUTPUT: expr_loads(f->w, n->expr, &f->seen); break;
        case JN_IF:
            for (int k = 0; k < n->nconds; k++) {
                expr_loads(f->w, n->conds[k], &f->seen);
                walk(f, &n->bodies[k], 1);
            }
            walk(f, &n->else_body, 1);
            break;
        case JN_FOR: {
            expr_loads(f->w, n->expr, &f->seen);
            char *params[64];
            int np = n->ntargets < 63 ? n->ntargets : 63;
            memcpy(params, n->targets, (size_t)np * sizeof *params);
            params[np++] = "loop";
            ingot_jexpr *const filter[1] = {n->filter};
            analyze(f->w, &n->body, params, np, filter, n->filter ? 1 : 0, f->s);
            analyze(f->w, &n->else_body, NULL, 0, NULL, 0, f->s);
            break;
        }
        case JN_SET:
            expr_loads(f->w, n->expr, &f->seen);
            if (n->attr) /* ns.attr = ...: reads ns */
                names_add(f->w, &f->seen, n->targets[0]);
            else
                for (int k = 0; k < n->ntargets; k++)
                    store(f, n->targets[k], in_branch);
            break;
        case JN_SETBLOCK:
            analyze(f->w, &n->body, NULL, 0, NULL, 0, f->s);
            store(f, n->targets[0], in_branch);
            break;
        case JN_MACRO:
            store(f, n->name, in_branch);
            analyze(f->w, &n->body, n->params, n->nparams, n->defaults, n->nparams, f->s);
            break;
        case JN_BLOCK: analyze(f->w, &n->body, NULL, 0, NULL, 0, f->s); break;
        default: break;
        }
    }
}

/* Analyzes the frame running body b: its parameters, expressions it
 * evaluates first (loop filter, macro defaults), then its statements. */
static int analyze(walker *w, ingot_jbody *b, char *const *params, int nparams, ingot_jexpr *const *first,
                   int nfirst, const scope *parent)
{
    scope s = {parent, {0}};
    frame_walk f = {w, &s, {0}, {0}};
    for (int i = 0; i < nparams; i++) {
        names_add(w, &s.refs, params[i]);
        names_add(w, &f.seen, params[i]);
    }
    for (int i = 0; i < nfirst; i++) {
        expr_loads(w, first[i], &s.refs);
        expr_loads(w, first[i], &f.seen);
    }
    collect_refs(w, b, &s.refs);
    walk(&f, b, 0);
    if (!w->failed && f.undef.n) {
        b->undef = calloc((size_t)f.undef.n, sizeof *b->undef);
        for (int i = 0; b->undef && i < f.undef.n; i++, b->nundef++)
            if (!(b->undef[i] = strdup(f.undef.v[i])))
                break;
        if (b->nundef < f.undef.n) {
            w->failed = 1;
            ingot_fail(w->err, INGOT_ERR_NOMEM, "chat template: out of memory");
        }
    }
    free(s.refs.v);
    free(f.seen.v);
    free(f.undef.v);
    return w->failed ? -1 : 0;
}

int ingot_jinja_scope(ingot_jbody *root, ingot_error *err)
{
    walker w = {err, 0};
    return analyze(&w, root, NULL, 0, NULL, 0, NULL);
}
