/*
 * jinja.h - internal interfaces of the chat-template engine: the subset of
 * Jinja2 that HuggingFace chat templates use, rendered the way transformers
 * renders them (ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks
 * and the loopcontrols extension; tojson with ensure_ascii=False).
 *
 * Pipeline: jinja_lex.c turns the source into tokens (applying all whitespace
 * control there, as Jinja's lexer does), jinja_parse.c builds the tree below,
 * jinja_scope.c works out Jinja's compile-time scoping, jinja_eval.c walks the
 * tree, with jinja_ops.c for operators and access and jinja_builtins.c for
 * filters, tests, methods and global functions; jinja_value.c holds the values.
 * Only chat_template.h is meant for the rest of libingot.
 */
#ifndef INGOT_JINJA_H
#define INGOT_JINJA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/chat_template.h"
#include "ingot.h"

/* ------------------------------------------------------------------ values */

typedef enum ingot_jv_kind {
    JV_UNDEF = 0, /* Jinja's Undefined: prints as "", falsy, fails when used further */
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,
    JV_LIST,  /* lists and tuples */
    JV_DICT,
    JV_NS,    /* namespace(): a dict whose attributes `set ns.x = ...` may change */
    JV_FUNC,  /* a built-in global function (range, namespace, ...) */
    JV_MACRO  /* a {% macro %} */
} ingot_jv_kind;

struct ingot_jnode;

/* Heap parts are reference counted; refs < 0 marks an immortal object owned by
 * a parsed template (its constants), so that rendering never writes to the
 * template and one parsed template can be rendered from several threads. */
typedef struct ingot_jstr {
    int refs;
    size_t len;
    char *s; /* NUL-terminated, points just past this header */
} ingot_jstr;

typedef struct ingot_jv {
    ingot_jv_kind kind;
    union {
        int b;
        int64_t i;
        double f;
        ingot_jstr *s;
        struct ingot_jlist *l;
        struct ingot_jdict *d;   /* JV_DICT and JV_NS */
        const struct ingot_jnode *m;
        int fn;                  /* JV_FUNC: an INGOT_JFN_* id */
        const char *name;        /* JV_UNDEF: what was looked up, for messages (may be NULL) */
    } u;
} ingot_jv;

typedef struct ingot_jlist {
    int refs;
    int tuple; /* prints as (a, b): Python tuples (dict items, "(a, b)") */
    int gen;   /* a generator (what select, map, unique, ... return): iterable,
                * always true, but no len() and no indexing */
    int depth;  /* 1 + the deepest item's depth (a scalar's is 0); see ingot_jv_limits_begin */
    int has_ns; /* holds a namespace, directly or deeper */
    size_t n, cap;
    ingot_jv *v;
} ingot_jlist;

/* Insertion-ordered, string-keyed: what JSON objects and Python dicts of
 * chat templates are.  Lookup is linear; template dicts are small. */
typedef struct ingot_jdict {
    int refs;
    int depth, has_ns; /* as in ingot_jlist */
    size_t n, cap;
    ingot_jstr **k;
    ingot_jv *v;
} ingot_jdict;

/* A growable output buffer.  Allocation failures set the engine's out-of-memory
 * flag (ingot_jv_oom) instead of being returned at every call site: the
 * renderer checks the flag and fails the whole render. */
typedef struct ingot_jbuf {
    char *p;
    size_t len, cap;
} ingot_jbuf;

/** Makes room for extra more bytes.  @return 0, or -1 (the out-of-memory flag is set). */
int ingot_jbuf_reserve(ingot_jbuf *b, size_t extra);
void ingot_jbuf_put(ingot_jbuf *b, const char *s, size_t n);
void ingot_jbuf_puts(ingot_jbuf *b, const char *s);
void ingot_jbuf_putc(ingot_jbuf *b, char c);
void ingot_jbuf_printf(ingot_jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Returns the text (NUL-terminated, never NULL unless out of memory) and resets b. */
char *ingot_jbuf_take(ingot_jbuf *b, size_t *len);
void ingot_jbuf_free(ingot_jbuf *b);

/** Out-of-memory flag of this thread: set by any failed allocation, and when
 *  a limit of ingot_jv_limits_begin is hit (ingot_jv_limit_hit says which). */
int ingot_jv_oom(void);
void ingot_jv_oom_set(void);
void ingot_jv_oom_clear(void);

/* Limits of a render, per thread.  Between begin and end, every allocation of
 * a string, list, dict or buffer is charged to a total that may not pass
 * max_memory (freeing gives nothing back: the total also bounds the time spent
 * copying), and a list or dict may not nest deeper than max_depth.  A refused
 * allocation behaves like a failed one (the flag above). */
enum { JV_LIMIT_NONE = 0, JV_LIMIT_MEMORY, JV_LIMIT_DEPTH, JV_LIMIT_WORK };
void ingot_jv_limits_begin(size_t max_memory, int max_depth, uint64_t max_work);
void ingot_jv_limits_end(void);
/** @return the limit hit (JV_LIMIT_*), or JV_LIMIT_NONE. */
int ingot_jv_limit_hit(void);
/** Charges n bytes to the memory limit (for work done outside the allocators
 *  here).  @return 0, or -1 when over the limit (the flag is set). */
int ingot_jv_charge(size_t n);
/** Counts n steps of work against max_work: one per statement or expression
 *  evaluated, one per item a filter, test or operator visits, so that the
 *  time of a render is bounded, not only its loops (the flag is set when
 *  over).  @return 0, or -1 when over the limit. */
int ingot_jv_work(size_t n);
/** Stops / resumes charging (nestable): for the engine's own bookkeeping,
 *  such as the loop object, which is bounded by the iteration limit instead. */
void ingot_jv_charge_pause(int pause);
/** Depth of v as ingot_jlist.depth counts it; does v hold a namespace? */
int ingot_jv_depth(ingot_jv v);
int ingot_jv_has_ns(ingot_jv v);

ingot_jv ingot_jv_undef(const char *name);
ingot_jv ingot_jv_none(void);
ingot_jv ingot_jv_bool(int b);
ingot_jv ingot_jv_int(int64_t i);
ingot_jv ingot_jv_float(double f);
ingot_jv ingot_jv_str(const char *s, size_t n);
ingot_jv ingot_jv_cstr(const char *s);
/** A string value made of b's content; b is reset. */
ingot_jv ingot_jv_str_buf(ingot_jbuf *b);
ingot_jv ingot_jv_list_new(void);
/** Marks a list made by ingot_jv_list_new as a tuple / a generator. */
void ingot_jv_list_mark_tuple(ingot_jv l);
void ingot_jv_list_mark_gen(ingot_jv l);
/** Is v a generator (see ingot_jlist.gen)? */
int ingot_jv_is_gen(ingot_jv v);
/** Appends v, taking over its reference. */
void ingot_jv_list_push(ingot_jv l, ingot_jv v);
ingot_jv ingot_jv_dict_new(ingot_jv_kind kind);
/** Sets key (borrowed string value) to v (reference taken over). */
void ingot_jv_dict_set(ingot_jv d, ingot_jv key, ingot_jv v);
void ingot_jv_dict_setc(ingot_jv d, const char *key, ingot_jv v);
/** Like ingot_jv_dict_set for a key the caller knows d lacks (no search). */
void ingot_jv_dict_add_new(ingot_jv d, ingot_jv key, ingot_jv v);
/** @return the value stored under key (borrowed), or NULL. */
ingot_jv *ingot_jv_dict_find(ingot_jv d, const char *key, size_t n);

ingot_jv ingot_jv_ref(ingot_jv v);
void ingot_jv_unref(ingot_jv v);
/** Marks a freshly made string constant as owned by a template (see above). */
void ingot_jv_make_immortal(ingot_jv v);
void ingot_jv_free_immortal(ingot_jv v);

/** Python truthiness. */
int ingot_jv_truthy(ingot_jv v);
/** Python ==, deep for lists and dicts; Undefined equals only Undefined. */
int ingot_jv_equal(ingot_jv a, ingot_jv b);
int ingot_jv_is_number(ingot_jv v); /* bool, int or float */
double ingot_jv_number(ingot_jv v);
/** Python's type name ("str", "int", "NoneType", ...), for error messages. */
const char *ingot_jv_type_name(ingot_jv v);

/** Appends Python's str(v) (what {{ v }} prints). */
void ingot_jv_write_str(ingot_jbuf *b, ingot_jv v);
/** Appends Python's repr(v). */
void ingot_jv_write_repr(ingot_jbuf *b, ingot_jv v);
/**
 * Appends json.dumps(v, ensure_ascii=False, indent=indent) (indent < 0: None),
 * with sort_keys when sort is set.
 * @return 0, or -1 when v holds something JSON cannot express (*why names it).
 */
int ingot_jv_write_json(ingot_jbuf *b, ingot_jv v, int indent, int sort, const char **why);
/** Appends a Python float repr (shortest round-trip digits). */
void ingot_jv_write_float(ingot_jbuf *b, double f);

/* ------------------------------------------------------------------ tokens */

typedef enum ingot_jtok_kind {
    JT_TEXT,        /* literal template text, whitespace control applied */
    JT_VAR_BEGIN,   /* {{ */
    JT_VAR_END,     /* }} */
    JT_BLOCK_BEGIN, /* {% */
    JT_BLOCK_END,   /* %} */
    JT_NAME,
    JT_STRING,      /* s holds the unescaped value */
    JT_INT,
    JT_FLOAT,
    JT_OP,          /* s holds the operator: "==", "(", "|", ... */
    JT_EOF
} ingot_jtok_kind;

typedef struct ingot_jtok {
    ingot_jtok_kind kind;
    int line;
    char *s; /* TEXT, NAME, STRING, OP: malloc'ed, NUL-terminated */
    size_t len;
    int64_t i;
    double f;
} ingot_jtok;

/**
 * Tokenizes a template (NUL-terminated).
 * @return 0 with *toks (ending with JT_EOF) owned by the caller, or -1.
 */
int ingot_jinja_lex(const char *src, ingot_jtok **toks, int *ntoks, ingot_error *err);
void ingot_jinja_toks_free(ingot_jtok *toks, int ntoks);

/* ------------------------------------------------------------------ tree */

typedef enum ingot_jexpr_kind {
    JE_CONST,  /* cst */
    JE_NAME,   /* name */
    JE_ATTR,   /* a[0].name */
    JE_ITEM,   /* a[0][a[1]] */
    JE_SLICE,  /* a[0][a[1]:a[2]:a[3]], each bound may be NULL */
    JE_CALL,   /* a[0](a[1..], kw...) */
    JE_FILTER, /* a[0] | name(a[1..], kw...); op = filter id */
    JE_TEST,   /* a[0] is [not] name(a[1..]); op = test id, neg = negated */
    JE_NOT,
    JE_NEG,
    JE_POS,
    JE_BINOP,  /* a[0] op a[1] */
    JE_AND,
    JE_OR,
    JE_COND,   /* a[0] if a[1] else a[2] (a[2] may be NULL) */
    JE_LIST,   /* [a...], and (a, ...) when op is set */
    JE_DICT    /* {a[0]: a[1], a[2]: a[3], ...} */
} ingot_jexpr_kind;

typedef enum ingot_jop {
    JOP_ADD, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW, JOP_CONCAT,
    JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE, JOP_IN, JOP_NOTIN
} ingot_jop;

typedef struct ingot_jexpr {
    ingot_jexpr_kind kind;
    int op;
    int neg;
    int line;
    int depth; /* of the tree below, this node included (bounded by the parser) */
    char *name;
    ingot_jv cst;
    struct ingot_jexpr **a;
    int na;
    char **kwn;
    struct ingot_jexpr **kwv;
    int nkw;
} ingot_jexpr;

typedef struct ingot_jbody {
    struct ingot_jnode **v;
    int n, cap;
    /* For the bodies that run in a frame of their own (template, loop body,
     * for-else, macro, set block, generation): names that start out undefined
     * there, shadowing any outer value (see jinja_scope.c). */
    char **undef;
    int nundef;
} ingot_jbody;

typedef enum ingot_jnode_kind {
    JN_TEXT,     /* text */
    JN_OUTPUT,   /* {{ expr }} */
    JN_IF,       /* conds[i] -> bodies[i], else_body */
    JN_FOR,      /* for targets in expr [if filter]: body, else else_body */
    JN_SET,      /* set targets = expr, or set targets[0].attr = expr */
    JN_SETBLOCK, /* set targets[0] %}body{% endset */
    JN_MACRO,    /* macro name(params = defaults): body */
    JN_BREAK,
    JN_CONTINUE,
    JN_BLOCK     /* {% generation %}: renders its body unchanged */
} ingot_jnode_kind;

typedef struct ingot_jnode {
    ingot_jnode_kind kind;
    int line;
    char *text;
    size_t len;
    ingot_jexpr *expr;
    ingot_jexpr *filter;
    ingot_jexpr **conds;
    ingot_jbody *bodies;
    int nconds;
    ingot_jbody body, else_body;
    char **targets;
    int ntargets;
    char *attr;
    char *name;
    char **params;
    ingot_jexpr **defaults;
    int nparams;
} ingot_jnode;

/** Builds the tree of a template from its tokens, refusing blocks and
 *  expressions nested deeper than max_nesting.  @return 0 or -1. */
int ingot_jinja_parse(const ingot_jtok *toks, int ntoks, int max_nesting, ingot_jbody *root, ingot_error *err);
void ingot_jinja_body_free(ingot_jbody *b);
/** Fills the undef lists of the tree's frames, as Jinja's compiler decides them.  @return 0 or -1. */
int ingot_jinja_scope(ingot_jbody *root, ingot_error *err);

/* ------------------------------------------------------------------ evaluation */

typedef struct ingot_jctx ingot_jctx;

/**
 * Renders root with the variables of the dict vars (borrowed) under limits
 * (all members set).
 * @return malloc'ed text, or NULL with err filled.
 */
char *ingot_jinja_render(const ingot_jbody *root, ingot_jv vars, const ingot_chat_limits *limits,
                         ingot_error *err);

/** Records a render error at line (the first one wins).  @return -1. */
int ingot_jinja_fail(ingot_jctx *c, int line, ingot_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** The line of the expression being evaluated, for errors raised by built-ins. */
int ingot_jinja_line(const ingot_jctx *c);

/* ------------------------------------------------------------------ built-ins */

/** Arguments of a call, all borrowed. */
typedef struct ingot_jargs {
    const ingot_jv *pos;
    int npos;
    char *const *kwn;
    const ingot_jv *kwv;
    int nkw;
} ingot_jargs;

enum { INGOT_JFN_RANGE, INGOT_JFN_NAMESPACE, INGOT_JFN_RAISE, INGOT_JFN_STRFTIME, INGOT_JFN_DICT,
       INGOT_JFN_COUNT };

/** @return the id of a filter / test, or -1 when the engine has none of that name. */
int ingot_jinja_filter_id(const char *name);
int ingot_jinja_test_id(const char *name);
/** @return the name of a global function id. */
const char *ingot_jinja_func_name(int fn);

int ingot_jinja_filter(ingot_jctx *c, int id, ingot_jv in, const ingot_jargs *a, ingot_jv *out);
/** Runs test id; *res receives 0 or 1.  @return 0 or -1. */
int ingot_jinja_test(ingot_jctx *c, int id, ingot_jv in, const ingot_jargs *a, int *res);
int ingot_jinja_call_func(ingot_jctx *c, int fn, const ingot_jargs *a, ingot_jv *out);
/**
 * Calls obj.name(args) for the str, dict and list methods the engine knows.
 * @return 1 when done (*out set), 0 when obj has no such method, -1 on error.
 */
int ingot_jinja_call_method(ingot_jctx *c, ingot_jv obj, const char *name, const ingot_jargs *a,
                            ingot_jv *out);

/* Operators and access (jinja_ops.c), shared by the evaluator and the built-ins. */
/** a op b for the arithmetic, comparison, ~ and membership operators. */
int ingot_jinja_binop(ingot_jctx *c, int op, ingot_jv a, ingot_jv b, ingot_jv *out);
/** Python's a < b (*res: -1, 0, 1) for numbers, strings and lists; -1 on a type error. */
int ingot_jinja_compare(ingot_jctx *c, ingot_jv a, ingot_jv b, int *res);
/** Decodes the code point at s[*i] (advancing *i); invalid bytes decode as themselves. */
uint32_t ingot_jinja_utf8_next(const char *s, size_t n, size_t *i);
/** @return the number of code points of a UTF-8 string. */
size_t ingot_jinja_utf8_len(const char *s, size_t n);
/** @return the byte offset of code point i (i <= length). */
size_t ingot_jinja_utf8_offset(const char *s, size_t n, size_t i);
/** x[i] of a list or string; out of range gives Undefined, as in Jinja. */
int ingot_jinja_getitem(ingot_jctx *c, ingot_jv obj, ingot_jv key, ingot_jv *out);
/** x[start:stop:step] with Python's rules. */
int ingot_jinja_slice(ingot_jctx *c, ingot_jv obj, const ingot_jv *start, const ingot_jv *stop,
                      const ingot_jv *step, ingot_jv *out);
/** x.name: a dict key or namespace attribute; Undefined otherwise, which keeps
 *  name for messages: name must outlive the render (a template string). */
int ingot_jinja_getattr(ingot_jctx *c, ingot_jv obj, const char *name, ingot_jv *out);
/** Makes a list of what `for` iterates over: list items, dict keys, string characters. */
int ingot_jinja_iterate(ingot_jctx *c, ingot_jv v, ingot_jv *list);
/** Fails with "'name' is undefined". */
int ingot_jinja_undefined_error(ingot_jctx *c, ingot_jv v);

#endif /* INGOT_JINJA_H */
