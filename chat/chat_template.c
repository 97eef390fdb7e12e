/* chat_template.c - the chat-template API: parsing, the render context
 * transformers provides, and finding a model's template. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat_template.h"
#include "chat/jinja.h"
#include "util/util.h"

/* Templates are a few KB; anything this large is not one. */
#define MAX_TEMPLATE_FILE (16u << 20)

struct ingot_chat_template {
    ingot_jbody root;
    ingot_chat_limits limits;
};

ingot_chat_limits ingot_chat_limits_default(void)
{
    return (ingot_chat_limits){
        .max_iterations = INGOT_CHAT_MAX_ITERATIONS,
        .max_call_depth = INGOT_CHAT_MAX_CALL_DEPTH,
        .max_nesting = INGOT_CHAT_MAX_NESTING,
        .max_value_depth = INGOT_CHAT_MAX_VALUE_DEPTH,
        .max_output = INGOT_CHAT_MAX_OUTPUT,
        .max_memory = INGOT_CHAT_MAX_MEMORY,
        .max_render_depth = INGOT_CHAT_MAX_RENDER_DEPTH,
        .max_steps = INGOT_CHAT_MAX_STEPS,
    };
}

/* limits with zero (or negative) members replaced by their defaults. */
static ingot_chat_limits complete_limits(const ingot_chat_limits *limits)
{
    ingot_chat_limits d = ingot_chat_limits_default(), l = limits ? *limits : d;
    if (l.max_iterations <= 0)
        l.max_iterations = d.max_iterations;
    if (l.max_call_depth <= 0)
        l.max_call_depth = d.max_call_depth;
    if (l.max_nesting <= 0)
        l.max_nesting = d.max_nesting;
    if (l.max_value_depth <= 0)
        l.max_value_depth = d.max_value_depth;
    if (l.max_output == 0)
        l.max_output = d.max_output;
    if (l.max_memory == 0)
        l.max_memory = d.max_memory;
    if (l.max_steps <= 0)
        l.max_steps = d.max_steps;
    if (l.max_render_depth <= 0)
        l.max_render_depth = d.max_render_depth;
    return l;
}

ingot_chat_template *ingot_chat_template_parse(const char *tmpl, ingot_error *err)
{
    return ingot_chat_template_parse_limited(tmpl, NULL, err);
}

ingot_chat_template *ingot_chat_template_parse_limited(const char *tmpl, const ingot_chat_limits *limits,
                                                       ingot_error *err)
{
    if (!tmpl) {
        ingot_fail(err, INGOT_ERR_ARG, "chat template: no template text");
        return NULL;
    }
    ingot_jtok *toks;
    int ntoks;
    if (ingot_jinja_lex(tmpl, &toks, &ntoks, err) < 0)
        return NULL;
    ingot_chat_template *t = calloc(1, sizeof *t);
    if (t)
        t->limits = complete_limits(limits);
    int rc = t ? ingot_jinja_parse(toks, ntoks, t->limits.max_nesting, &t->root, err)
               : ingot_fail(err, INGOT_ERR_NOMEM, "chat template: out of memory");
    ingot_jinja_toks_free(toks, ntoks);
    if (rc < 0) {
        free(t);
        return NULL;
    }
    return t;
}

void ingot_chat_template_free(ingot_chat_template *t)
{
    if (!t)
        return;
    ingot_jinja_body_free(&t->root);
    free(t);
}

/* The globals every render has: Jinja's and the two transformers adds. */
static ingot_jv base_context(void)
{
    ingot_jv vars = ingot_jv_dict_new(JV_DICT);
    for (int fn = 0; fn < INGOT_JFN_COUNT; fn++)
        ingot_jv_dict_setc(vars, ingot_jinja_func_name(fn), (ingot_jv){.kind = JV_FUNC, .u.fn = fn});
    return vars;
}

static char *render_with(const ingot_chat_template *t, ingot_jv vars, ingot_error *err)
{
    char *out = NULL;
    if (ingot_jv_oom())
        ingot_fail(err, INGOT_ERR_NOMEM, "chat template: out of memory");
    else
        out = ingot_jinja_render(&t->root, vars, &t->limits, err);
    ingot_jv_unref(vars);
    ingot_jv_oom_clear();
    return out;
}

char *ingot_chat_template_render(const ingot_chat_template *t, const ingot_chat_message *msgs, int n_msgs,
                                 int add_generation_prompt, const char *bos_token, const char *eos_token,
                                 ingot_error *err)
{
    if (!t || n_msgs < 0 || (n_msgs > 0 && !msgs)) {
        ingot_fail(err, INGOT_ERR_ARG, "chat template: invalid arguments");
        return NULL;
    }
    for (int i = 0; i < n_msgs; i++)
        if (!msgs[i].role) {
            ingot_fail(err, INGOT_ERR_ARG, "chat template: message %d has no role", i);
            return NULL;
        }
    ingot_jv_oom_clear();
    ingot_jv vars = base_context(), list = ingot_jv_list_new();
    for (int i = 0; i < n_msgs; i++) {
        ingot_jv m = ingot_jv_dict_new(JV_DICT);
        ingot_jv_dict_setc(m, "role", ingot_jv_cstr(msgs[i].role));
        ingot_jv_dict_setc(m, "content", msgs[i].content ? ingot_jv_cstr(msgs[i].content) : ingot_jv_none());
        ingot_jv_list_push(list, m);
    }
    ingot_jv_dict_setc(vars, "messages", list);
    ingot_jv_dict_setc(vars, "add_generation_prompt", ingot_jv_bool(add_generation_prompt));
    if (bos_token)
        ingot_jv_dict_setc(vars, "bos_token", ingot_jv_cstr(bos_token));
    if (eos_token)
        ingot_jv_dict_setc(vars, "eos_token", ingot_jv_cstr(eos_token));
    ingot_jv_dict_setc(vars, "tools", ingot_jv_none());
    ingot_jv_dict_setc(vars, "documents", ingot_jv_none());
    return render_with(t, vars, err);
}

static ingot_jv from_json(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        ingot_jv d = ingot_jv_dict_new(JV_DICT);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) ingot_jv_dict_setc(d, k, from_json(v));
        return d;
    }
    case JSON_ARRAY: {
        ingot_jv l = ingot_jv_list_new();
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) ingot_jv_list_push(l, from_json(v));
        return l;
    }
    case JSON_STRING: return ingot_jv_str(json_string_value(j), json_string_length(j));
    case JSON_INTEGER: return ingot_jv_int(json_integer_value(j));
    case JSON_REAL: return ingot_jv_float(json_real_value(j));
    case JSON_TRUE: return ingot_jv_bool(1);
    case JSON_FALSE: return ingot_jv_bool(0);
    default: return ingot_jv_none();
    }
}

char *ingot_chat_template_render_json(const ingot_chat_template *t, const char *context_json, ingot_error *err)
{
    if (!t || !context_json) {
        ingot_fail(err, INGOT_ERR_ARG, "chat template: invalid arguments");
        return NULL;
    }
    json_error_t je;
    json_t *ctx = json_loads(context_json, JSON_REJECT_DUPLICATES, &je);
    if (!ctx || !json_is_object(ctx)) {
        ingot_fail(err, INGOT_ERR_ARG, "chat template context: %s",
                   ctx ? "not a JSON object" : je.text);
        json_decref(ctx);
        return NULL;
    }
    ingot_jv_oom_clear();
    ingot_jv vars = base_context();
    const char *k;
    json_t *v;
    json_object_foreach(ctx, k, v) ingot_jv_dict_setc(vars, k, from_json(v));
    json_decref(ctx);
    return render_with(t, vars, err);
}

char *ingot_chat_render(const char *tmpl, const ingot_chat_message *msgs, int n_msgs, int add_generation_prompt,
                        const char *bos_token, const char *eos_token, ingot_error *err)
{
    ingot_chat_template *t = ingot_chat_template_parse(tmpl, err);
    if (!t)
        return NULL;
    char *out = ingot_chat_template_render(t, msgs, n_msgs, add_generation_prompt, bos_token, eos_token, err);
    ingot_chat_template_free(t);
    return out;
}

/* ---- finding the template ---- */

static char *dup_or_fail(const char *s, ingot_error *err)
{
    char *d = strdup(s);
    if (!d)
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    return d;
}

/* From a list of {"name": ..., "template": ...}, the one named "default". */
static char *pick_default(const json_t *list, ingot_error *err)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const json_t *name = json_object_get(e, "name"), *tmpl = json_object_get(e, "template");
        if (!json_is_string(name) || !json_is_string(tmpl))
            return ingot_fail(err, INGOT_ERR_FORMAT, "chat_template entry %zu lacks a name or template", i),
                   NULL;
        if (strcmp(json_string_value(name), "default") == 0)
            return dup_or_fail(json_string_value(tmpl), err);
    }
    ingot_fail(err, INGOT_ERR_UNSUPPORTED, "chat_template has no template named 'default'");
    return NULL;
}

char *ingot_chat_template_from_config(const char *tokenizer_config_json, ingot_error *err)
{
    json_error_t je;
    json_t *cfg = tokenizer_config_json ? json_loads(tokenizer_config_json, 0, &je) : NULL;
    if (!cfg || !json_is_object(cfg)) {
        ingot_fail(err, INGOT_ERR_FORMAT, "tokenizer_config.json: %s",
                   !tokenizer_config_json ? "no text" : cfg ? "not a JSON object" : je.text);
        json_decref(cfg);
        return NULL;
    }
    const json_t *ct = json_object_get(cfg, "chat_template");
    char *out = NULL;
    if (json_is_string(ct))
        out = dup_or_fail(json_string_value(ct), err);
    else if (json_is_array(ct))
        out = pick_default(ct, err);
    else if (!ct || json_is_null(ct))
        ingot_fail(err, INGOT_ERR_UNSUPPORTED, "the model has no chat template");
    else
        ingot_fail(err, INGOT_ERR_FORMAT, "chat_template is neither a string nor a list");
    json_decref(cfg);
    return out;
}

static char *read_text(const char *dir, const char *name, ingot_error *err)
{
    char *path = ingot_path_join(dir, name), *buf = NULL;
    size_t len;
    if (!path) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (ingot_read_file(path, MAX_TEMPLATE_FILE, &buf, &len, err) == 0 && strlen(buf) != len) {
        free(buf);
        buf = NULL;
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: contains a NUL byte", path);
    }
    free(path);
    return buf;
}

char *ingot_chat_template_load(const char *model_dir, ingot_error *err)
{
    char *jinja = ingot_path_join(model_dir, "chat_template.jinja");
    if (!jinja) {
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int has_jinja = ingot_file_exists(jinja);
    free(jinja);
    if (has_jinja) /* transformers: the file clobbers any template in the config */
        return read_text(model_dir, "chat_template.jinja", err);
    char *cfg = read_text(model_dir, "tokenizer_config.json", err);
    if (!cfg)
        return NULL;
    char *out = ingot_chat_template_from_config(cfg, err);
    free(cfg);
    if (!out)
        ingot_error_prefix(err, model_dir);
    return out;
}
