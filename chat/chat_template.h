/*
 * chat_template.h - renders HuggingFace chat templates in C.
 *
 * A chat template is Jinja2 text (tokenizer_config.json "chat_template", or a
 * chat_template.jinja file) that turns a conversation into the model's prompt.
 * ingot renders it as transformers' apply_chat_template does - an
 * ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the
 * loopcontrols extension, {% generation %}, tojson without ASCII escaping and
 * the raise_exception() and strftime_now() globals - with these variables:
 *   messages               list of {"role": ..., "content": ...}
 *   add_generation_prompt  bool
 *   bos_token, eos_token   strings; not defined when NULL is passed
 *   tools, documents       none (transformers passes None when there are none)
 *
 * The Jinja subset (what the Llama 2/3/3.1/3.2, Mistral, Qwen2/2.5 and
 * DeepSeek templates use, and more):
 *   - {{ }}, {% %}, {# #}, whitespace control (-, +), trim_blocks, lstrip_blocks;
 *   - if/elif/else, for (else, `if` filter, unpacking, loop.index/index0/
 *     revindex/revindex0/first/last/length/previtem/nextitem), break, continue,
 *     set (also ns.attr = ..., a, b = ..., and {% set x %}...{% endset %}),
 *     macro with defaults and keyword arguments, generation; Jinja's scoping
 *     (loop bodies are scopes; hence namespace());
 *   - literals (strings with Python escapes, ints, floats, true/false/none,
 *     lists, tuples, dicts), . and [] access, slices [a:b:c], calls;
 *     + - * / // % ** ~, comparisons, in / not in, and / or / not, a if c else b;
 *   - filters: abs attr capitalize count d default dictsort first float int
 *     items join last length list lower map max min reject rejectattr replace
 *     reverse round safe select selectattr sort string sum title tojson trim
 *     unique upper;
 *   - tests: defined undefined none string number integer float boolean true
 *     false mapping iterable sequence callable eq/equalto/== ne/!= lt/< le/<=
 *     gt/> ge/>= in sameas odd even divisibleby lower upper filter test escaped;
 *   - methods: str strip lstrip rstrip split rsplit startswith endswith upper
 *     lower title capitalize replace find rfind count join splitlines isdigit
 *     isalpha isalnum isspace islower isupper; dict get items keys values;
 *     list count index;
 *   - functions: range namespace dict raise_exception strftime_now.
 * Values print as Python prints them (None, True, 1.0, ['a'], {'k': 1}).
 *
 * Anything outside the subset fails with a one-line message naming the
 * construct and its line ("chat template: line 3: unsupported filter
 * 'wordwrap'"), never with made-up output.  Codes: INGOT_ERR_FORMAT for
 * malformed templates and errors Jinja raises while rendering (undefined
 * values used, type errors), INGOT_ERR_UNSUPPORTED for valid Jinja outside
 * the subset (include, call blocks, %-formatting, ...) and for
 * raise_exception(): the template refusing the conversation, whose message
 * ("raise_exception: <the template's words>") is meant for the user.
 *
 * Templates are untrusted input, so parsing and rendering are bounded (see
 * ingot_chat_limits): going over a limit fails with INGOT_ERR_UNSUPPORTED and
 * a message naming the limit and its value ("chat template: line 3: loop
 * iterations and macro calls exceed the limit of 1000000"), in bounded time
 * and memory.  The nesting limits (max_nesting, max_render_depth) also bound
 * the C stack: with the defaults the worst template needs about 512 KiB of
 * stack (1.5 MiB under ASan); raising them raises that in proportion.
 */
#ifndef INGOT_CHAT_TEMPLATE_H
#define INGOT_CHAT_TEMPLATE_H

#include "ingot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ingot_chat_message {
    const char *role;
    const char *content; /* NULL renders as none (an assistant turn with only tool calls) */
} ingot_chat_message;

/**
 * Bounds on what a template may make ingot do.  The defaults are far above
 * what the shipped Llama, Qwen2, Mistral and DeepSeek templates need for any
 * conversation that fits a context, and low enough to fail in well under a
 * second.  A zero member means its default.
 */
typedef struct ingot_chat_limits {
    long max_iterations;  /* loop iterations plus macro calls in one render (default 1000000) */
    int max_call_depth;   /* macro calls in progress at once, i.e. recursion (default 64) */
    int max_nesting;      /* nesting of blocks and expressions in the source (default 200) */
    int max_value_depth;  /* nesting of the lists and dicts a render builds (default 1000) */
    size_t max_output;    /* bytes of rendered text, also of a macro's or set block's (default 16 MiB) */
    size_t max_memory;    /* total bytes of the strings, lists, dicts and buffers one render
                           * allocates, freed or not (default 256 MiB) */
    int max_render_depth; /* bodies and expressions being rendered at once, through macro
                           * calls: a recursive macro's nesting counts once per call (default 1000) */
    long max_steps;       /* statements and expressions evaluated plus items visited by filters,
                           * tests and operators in one render (default 20000000) */
} ingot_chat_limits;

#define INGOT_CHAT_MAX_ITERATIONS 1000000L
#define INGOT_CHAT_MAX_CALL_DEPTH 64
#define INGOT_CHAT_MAX_NESTING 200
#define INGOT_CHAT_MAX_VALUE_DEPTH 1000
#define INGOT_CHAT_MAX_OUTPUT ((size_t)16 << 20)
#define INGOT_CHAT_MAX_MEMORY ((size_t)256 << 20)
#define INGOT_CHAT_MAX_RENDER_DEPTH 1000
#define INGOT_CHAT_MAX_STEPS 20000000L

/** @return the default limits. */
ingot_chat_limits ingot_chat_limits_default(void);

/** A parsed template: parse once, render many times (also from several threads). */
typedef struct ingot_chat_template ingot_chat_template;

/** Parses tmpl (NUL-terminated).  @return a template (ingot_chat_template_free) or NULL. */
ingot_chat_template *ingot_chat_template_parse(const char *tmpl, ingot_error *err);

/**
 * Parses tmpl under limits (NULL: the defaults; zero members: their default);
 * the template keeps them for its renders.  @return a template or NULL.
 */
ingot_chat_template *ingot_chat_template_parse_limited(const char *tmpl, const ingot_chat_limits *limits,
                                                       ingot_error *err);

/** Frees t; NULL is a no-op. */
void ingot_chat_template_free(ingot_chat_template *t);

/**
 * Renders t for a conversation with the variables listed above.
 * @return malloc'ed text (caller frees), or NULL with err filled.
 */
char *ingot_chat_template_render(const ingot_chat_template *t, const ingot_chat_message *msgs, int n_msgs,
                                 int add_generation_prompt, const char *bos_token, const char *eos_token,
                                 ingot_error *err);

/**
 * Renders t with the members of the JSON object context_json as its variables
 * (for tools, tool calls, documents or template-specific switches such as
 * "enable_thinking"); nothing else is defined except the global functions.
 * @return malloc'ed text, or NULL with err filled.
 */
char *ingot_chat_template_render_json(const ingot_chat_template *t, const char *context_json, ingot_error *err);

/**
 * Parses and renders in one call.  bos/eos may be NULL (undefined).
 * @return malloc'ed text or NULL with err.
 */
char *ingot_chat_render(const char *tmpl, const ingot_chat_message *msgs, int n_msgs, int add_generation_prompt,
                        const char *bos_token, const char *eos_token, ingot_error *err);

/**
 * Picks the chat template out of a tokenizer_config.json text: its
 * "chat_template" string, or from a list of {"name", "template"} the one named
 * "default".  @return malloc'ed template text, or NULL (INGOT_ERR_UNSUPPORTED
 * when the config has no template, INGOT_ERR_FORMAT when it is malformed).
 */
char *ingot_chat_template_from_config(const char *tokenizer_config_json, ingot_error *err);

/**
 * Loads a model directory's chat template as transformers does: the file
 * chat_template.jinja when present (it overrides the config), else the
 * template in tokenizer_config.json.  @return malloc'ed text or NULL.
 */
char *ingot_chat_template_load(const char *model_dir, ingot_error *err);

#ifdef __cplusplus
}
#endif
#endif /* INGOT_CHAT_TEMPLATE_H */
