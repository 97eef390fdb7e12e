/* test_chat_template.c - chat templates rendered as transformers renders them.
 *
 * The expected texts in tests/data/chat_templates were produced by real Jinja2
 * set up like transformers' apply_chat_template (make_expected.py there). */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chat/chat_template.h"
#include "util/util.h"

/* The conversation of make_expected.py. */
static const ingot_chat_message CONVERSATION[] = {
    {"system", "You are a helpful assistant."},
    {"user", "What is 2+2?"},
    {"assistant", "<think>\nAdd them.\n</think>\n\n2+2 is 4."},
    {"user", "  And times 3?  "},
};

static const struct {
    const char *model;
    const char *bos, *eos;
} MODELS[] = {
    {"llama-2-chat", "<s>", "</s>"},
    {"llama-3-instruct", "<|begin_of_text|>", "<|eot_id|>"},
    {"llama-3.1-instruct", "<|begin_of_text|>", "<|eot_id|>"},
    {"llama-3.2-instruct", "<|begin_of_text|>", "<|eot_id|>"},
    {"mistral-7b-instruct-v0.1", "<s>", "</s>"},
    {"mistral-7b-instruct-v0.3", "<s>", "</s>"},
    {"qwen2-instruct", NULL, "<|im_end|>"},
    {"qwen2.5-instruct", NULL, "<|im_end|>"},
    {"deepseek-llm-7b-chat", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"},
    {"deepseek-coder-6.7b-instruct", "<｜begin▁of▁sentence｜>", "<|EOT|>"},
    {"deepseek-r1-distill-qwen", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"},
    {"tiny-llama", "<|endoftext|>", "<|endoftext|>"},
};

static const char *top_srcdir(void)
{
    const char *d = getenv("top_srcdir");
    return d && *d ? d : ".";
}

/* A file under tests/data/chat_templates, or the bundled model's template. */
static char *data_path(const char *name)
{
    char path[4096];
    if (strcmp(name, "tiny-llama.jinja") == 0)
        snprintf(path, sizeof path, "%s/models/tiny-llama/chat_template.jinja", top_srcdir());
    else
        snprintf(path, sizeof path, "%s/tests/data/chat_templates/%s", top_srcdir(), name);
    return strdup(path);
}

static char *read_data(const char *name)
{
    char *path = data_path(name), *buf = NULL;
    size_t len;
    ingot_error err = {0};
    if (ingot_read_file(path, 1 << 24, &buf, &len, &err) < 0)
        ck_abort_msg("%s", err.message);
    free(path);
    return buf;
}

/* Replaces each "@@STRFTIME(fmt)@@" by today's date in that format (what the
 * template's strftime_now() gives), so that expectations hold on any day. */
static char *expand_dates(const char *s)
{
    size_t cap = strlen(s) + 1024, k = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    while (*s) {
        const char *end = strncmp(s, "@@STRFTIME(", 11) == 0 ? strstr(s, ")@@") : NULL;
        if (!end) {
            out[k++] = *s++;
            continue;
        }
        char fmt[64];
        snprintf(fmt, sizeof fmt, "%.*s", (int)(end - s - 11), s + 11);
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        k += strftime(out + k, cap - k - 1, fmt, &tm);
        s = end + 3;
    }
    out[k] = 0;
    return out;
}

/* Fails with the first difference shown, which is what one needs to fix it. */
static void assert_same(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) == 0)
        return;
    size_t i = 0;
    while (got[i] && got[i] == want[i])
        i++;
    size_t from = i > 40 ? i - 40 : 0;
    ck_abort_msg("%s: differs at byte %zu\n--- got:  ...%.120s\n--- want: ...%.120s", what, i, got + from,
                 want + from);
}

/* ---- real templates ---- */

START_TEST(real_templates_render_like_transformers)
{
    for (size_t m = 0; m < INGOT_ARRAY_LEN(MODELS); m++) {
        char name[256];
        snprintf(name, sizeof name, "%s.jinja", MODELS[m].model);
        char *tmpl = read_data(name);
        snprintf(name, sizeof name, "%s.expected", MODELS[m].model);
        char *raw = read_data(name), *want = expand_dates(raw);
        ingot_error err = {0};
        char *got = ingot_chat_render(tmpl, CONVERSATION, (int)INGOT_ARRAY_LEN(CONVERSATION), 1, MODELS[m].bos,
                                      MODELS[m].eos, &err);
        if (!got)
            ck_abort_msg("%s: %s", MODELS[m].model, err.message);
        assert_same(MODELS[m].model, got, want);
        free(got);
        free(want);
        free(raw);
        free(tmpl);
    }
}
END_TEST

/* transformers passes tools=None; templates must give the same text when
 * tools is not defined at all. */
START_TEST(tools_undefined_is_like_none)
{
    static const char *const models[] = {"llama-3.1-instruct", "qwen2.5-instruct", "mistral-7b-instruct-v0.3"};
    json_t *msgs = json_array();
    for (size_t i = 0; i < INGOT_ARRAY_LEN(CONVERSATION); i++)
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", CONVERSATION[i].role, "content",
                                              CONVERSATION[i].content));
    for (size_t m = 0; m < INGOT_ARRAY_LEN(models); m++) {
        json_t *ctx = json_pack("{s:O, s:b}", "messages", msgs, "add_generation_prompt", 1);
        if (strncmp(models[m], "qwen", 4) != 0) {
            json_object_set_new(ctx, "bos_token", json_string(strncmp(models[m], "llama", 5) == 0
                                                                  ? "<|begin_of_text|>" : "<s>"));
            json_object_set_new(ctx, "eos_token",
                                json_string(strncmp(models[m], "llama", 5) == 0 ? "<|eot_id|>" : "</s>"));
        } else {
            json_object_set_new(ctx, "eos_token", json_string("<|im_end|>"));
        }
        char *text = json_dumps(ctx, 0), name[256];
        snprintf(name, sizeof name, "%s.jinja", models[m]);
        char *tmpl = read_data(name);
        snprintf(name, sizeof name, "%s.expected", models[m]);
        char *want = read_data(name);
        ingot_error err = {0};
        ingot_chat_template *t = ingot_chat_template_parse(tmpl, &err);
        ck_assert_msg(t != NULL, "%s", err.message);
        char *got = ingot_chat_template_render_json(t, text, &err);
        ck_assert_msg(got != NULL, "%s: %s", models[m], err.message);
        assert_same(models[m], got, want);
        free(got);
        ingot_chat_template_free(t);
        free(want);
        free(tmpl);
        free(text);
        json_decref(ctx);
    }
    json_decref(msgs);
}
END_TEST

START_TEST(tool_calls_render_like_transformers)
{
    static const struct {
        const char *model, *bos, *eos;
    } models[] = {
        {"llama-3.1-instruct", "<|begin_of_text|>", "<|eot_id|>"},
        {"qwen2.5-instruct", NULL, "<|im_end|>"},
        {"mistral-7b-instruct-v0.3", "<s>", "</s>"},
    };
    char *tools = read_data("tools.json");
    for (size_t m = 0; m < INGOT_ARRAY_LEN(models); m++) {
        json_error_t je;
        json_t *ctx = json_loads(tools, 0, &je);
        ck_assert_ptr_nonnull(ctx);
        json_object_set_new(ctx, "bos_token", models[m].bos ? json_string(models[m].bos) : json_null());
        json_object_set_new(ctx, "eos_token", json_string(models[m].eos));
        char *text = json_dumps(ctx, 0), name[256];
        snprintf(name, sizeof name, "%s.jinja", models[m].model);
        char *tmpl = read_data(name);
        snprintf(name, sizeof name, "%s.tools.expected", models[m].model);
        char *want = read_data(name);
        ingot_error err = {0};
        ingot_chat_template *t = ingot_chat_template_parse(tmpl, &err);
        ck_assert_msg(t != NULL, "%s", err.message);
        char *got = ingot_chat_template_render_json(t, text, &err);
        ck_assert_msg(got != NULL, "%s: %s", models[m].model, err.message);
        assert_same(models[m].model, got, want);
        free(got);
        ingot_chat_template_free(t);
        free(want);
        free(tmpl);
        free(text);
        json_decref(ctx);
    }
    free(tools);
}
END_TEST

START_TEST(parsed_template_renders_many_times)
{
    char *tmpl = read_data("qwen2.5-instruct.jinja"), *want = read_data("qwen2.5-instruct.expected");
    ingot_error err = {0};
    ingot_chat_template *t = ingot_chat_template_parse(tmpl, &err);
    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < 3; i++) {
        char *got = ingot_chat_template_render(t, CONVERSATION, 4, 1, NULL, "<|im_end|>", &err);
        ck_assert_ptr_nonnull(got);
        assert_same("qwen2.5 again", got, want);
        free(got);
    }
    /* without the generation prompt and with a shorter conversation */
    char *got = ingot_chat_template_render(t, CONVERSATION + 1, 1, 0, NULL, "<|im_end|>", &err);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
                          "assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n");
    free(got);
    ingot_chat_template_free(t);
    free(want);
    free(tmpl);
}
END_TEST

/* ---- the language, case by case ---- */

START_TEST(features_match_jinja)
{
    char *text = read_data("features.json");
    json_error_t je;
    json_t *cases = json_loads(text, 0, &je);
    ck_assert_msg(json_is_array(cases), "features.json: %s", je.text);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *tmpl = json_string_value(json_object_get(c, "template"));
        const char *want = json_string_value(json_object_get(c, "expected"));
        char *ctx = json_dumps(json_object_get(c, "context"), 0);
        ingot_error err = {0};
        ingot_chat_template *t = ingot_chat_template_parse(tmpl, &err);
        ck_assert_msg(t != NULL, "%s: %s", name, err.message);
        char *got = ingot_chat_template_render_json(t, ctx, &err);
        ck_assert_msg(got != NULL, "%s: %s", name, err.message);
        assert_same(name, got, want);
        free(got);
        free(ctx);
        ingot_chat_template_free(t);
    }
    ck_assert_uint_gt(json_array_size(cases), 50);
    json_decref(cases);
    free(text);
}
END_TEST

static char *render1(const char *tmpl, const ingot_chat_message *m, int n, const char *bos, ingot_error *err)
{
    return ingot_chat_render(tmpl, m, n, 1, bos, NULL, err);
}

START_TEST(undefined_bos_and_none_content)
{
    static const ingot_chat_message m[] = {{"assistant", NULL}};
    ingot_error err = {0};
    char *got = render1("[{{ bos_token }}]{{ bos_token is defined }}{{ eos_token is defined }}"
                        "{{ messages[0].content is none }}{{ tools is none }}{{ add_generation_prompt }}",
                        m, 1, NULL, &err);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "[]FalseFalseTrueTrueTrue");
    free(got);
}
END_TEST

/* ---- errors: NULL, a code, and one line naming the construct and its line ---- */

static void expect_error(const char *tmpl, const ingot_chat_message *m, int n, ingot_status code,
                         const char *needle1, const char *needle2)
{
    ingot_error err = {0};
    char *got = ingot_chat_render(tmpl, m, n, 1, "<s>", "</s>", &err);
    ck_assert_msg(got == NULL, "'%s' rendered '%s' instead of failing", tmpl, got ? got : "");
    ck_assert_msg(err.code == code, "'%s': code %s, want %s (%s)", tmpl, ingot_status_name(err.code),
                  ingot_status_name(code), err.message);
    ck_assert_msg(strstr(err.message, needle1) != NULL, "'%s': message '%s' lacks '%s'", tmpl, err.message,
                  needle1);
    ck_assert_msg(!needle2 || strstr(err.message, needle2) != NULL, "'%s': message '%s' lacks '%s'", tmpl,
                  err.message, needle2);
    ck_assert_msg(strchr(err.message, '\n') == NULL, "message is not one line: %s", err.message);
}

START_TEST(unknown_filter_fails)
{
    expect_error("{{ messages | frobnicate }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "filter 'frobnicate'", "line 1");
    expect_error("a\n\n{{ x | wordwrap(3) }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "filter 'wordwrap'", "line 3");
    expect_error("{{ x is frob }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "test 'frob'", "line 1");
    expect_error("{{ [1] | map('frob') | list }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "filter 'frob'", NULL);
    expect_error("{{ 'x' | tojson(separators=(',', ':')) }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "tojson", NULL);
    expect_error("{{ 'x' | trim(bogus=1) }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "'bogus'", NULL);
}
END_TEST

START_TEST(unclosed_block_fails)
{
    expect_error("{% if x %}abc", NULL, 0, INGOT_ERR_FORMAT, "unclosed 'if'", "endif");
    expect_error("a\n{% for m in messages %}x{% if y %}{% endif %}", NULL, 0, INGOT_ERR_FORMAT, "unclosed 'for'",
                 "line 2");
    expect_error("{% macro f() %}x", NULL, 0, INGOT_ERR_FORMAT, "unclosed 'macro'", "endmacro");
    expect_error("{{ x ", NULL, 0, INGOT_ERR_FORMAT, "unclosed tag '{{'", NULL);
    expect_error("{% if x", NULL, 0, INGOT_ERR_FORMAT, "unclosed tag '{%'", NULL);
    expect_error("{# never closed", NULL, 0, INGOT_ERR_FORMAT, "unclosed comment", NULL);
    expect_error("{{ 'abc }}", NULL, 0, INGOT_ERR_FORMAT, "unterminated string", NULL);
    expect_error("x{% endif %}", NULL, 0, INGOT_ERR_FORMAT, "unexpected 'endif'", NULL);
    expect_error("{% if x %}{% else %}{% elif y %}{% endif %}", NULL, 0, INGOT_ERR_FORMAT, "unexpected 'elif'",
                 NULL);
    expect_error("{{ (1 + 2 }}", NULL, 0, INGOT_ERR_FORMAT, "unexpected '}', expected ')'", "line 1");
    expect_error("{{ 1 + 2) }}", NULL, 0, INGOT_ERR_FORMAT, "unexpected ')'", "line 1");
    expect_error("{{ 1 + }}", NULL, 0, INGOT_ERR_FORMAT, "expected an expression, found '}}'", NULL);
    expect_error("{% if %}{% endif %}", NULL, 0, INGOT_ERR_FORMAT, "expected an expression, found '%}'", NULL);
    expect_error("{{ }}", NULL, 0, INGOT_ERR_FORMAT, "expected an expression", NULL);
    expect_error("{% break %}", NULL, 0, INGOT_ERR_FORMAT, "'break' outside a for loop", NULL);
}
END_TEST

START_TEST(raise_exception_carries_message)
{
    /* The original Mistral template refuses system messages. */
    static const ingot_chat_message late_system[] = {{"user", "a"}, {"system", "b"}};
    char *tmpl = read_data("mistral-7b-instruct-legacy.jinja");
    expect_error(tmpl, CONVERSATION, 4, INGOT_ERR_UNSUPPORTED, "raise_exception: Conversation roles must "
                 "alternate user/assistant/user/assistant/...", "line 1");
    expect_error(tmpl, late_system, 2, INGOT_ERR_UNSUPPORTED, "raise_exception: Only user and assistant roles "
                 "are supported!", "line 1");
    /* and renders a conversation without one */
    ingot_error err = {0};
    char *got = ingot_chat_render(tmpl, CONVERSATION + 1, 3, 1, "<s>", "</s>", &err);
    ck_assert_msg(got != NULL, "%s", err.message);
    ck_assert_str_eq(got, "<s>[INST] What is 2+2? [/INST]<think>\nAdd them.\n</think>\n\n2+2 is 4.</s>"
                          "[INST]   And times 3?   [/INST]");
    free(got);
    free(tmpl);
    static const ingot_chat_message twice[] = {{"user", "a"}, {"user", "b"}};
    tmpl = read_data("llama-2-chat.jinja");
    expect_error(tmpl, twice, 2, INGOT_ERR_UNSUPPORTED, "Conversation roles must alternate user/assistant", NULL);
    free(tmpl);
}
END_TEST

START_TEST(unsupported_tag_fails)
{
    expect_error("{% include 'other.jinja' %}", NULL, 0, INGOT_ERR_UNSUPPORTED, "unsupported tag 'include'",
                 "line 1");
    expect_error("x\n{% filter upper %}a{% endfilter %}", NULL, 0, INGOT_ERR_UNSUPPORTED, "tag 'filter'", "line 2");
    expect_error("{% raw %}{{ x }}{% endraw %}", NULL, 0, INGOT_ERR_UNSUPPORTED, "tag 'raw'", NULL);
    expect_error("{% frobnicate %}", NULL, 0, INGOT_ERR_FORMAT, "unknown tag 'frobnicate'", NULL);
    expect_error("{% for x in xs recursive %}{% endfor %}", NULL, 0, INGOT_ERR_UNSUPPORTED, "recursive", NULL);
    expect_error("{{ f(*args) }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "*args", NULL);
    expect_error("{{ 1 < 2 < 3 }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "chained comparison", NULL);
}
END_TEST

START_TEST(runtime_errors_fail)
{
    expect_error("{{ 'a' + 1 }}", NULL, 0, INGOT_ERR_FORMAT, "'str' and 'int'", "line 1");
    expect_error("\n{{ x.y }}", NULL, 0, INGOT_ERR_FORMAT, "'x' is undefined", "line 2");
    expect_error("{{ messages[0]['role'] }}", NULL, 0, INGOT_ERR_FORMAT, "undefined", NULL);
    expect_error("{{ nothing + 'a' }}", NULL, 0, INGOT_ERR_FORMAT, "'nothing' is undefined", NULL);
    expect_error("{{ nothing() }}", NULL, 0, INGOT_ERR_FORMAT, "'nothing' is undefined", NULL);
    expect_error("{% set d = {} %}{% set d.a = 1 %}", NULL, 0, INGOT_ERR_FORMAT, "not a namespace", NULL);
    expect_error("{{ 'x'.format(1) }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "method 'format'", NULL);
    expect_error("{{ '%s' % 1 }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "formatting", NULL);
    expect_error("{{ 1 // 0 }}", NULL, 0, INGOT_ERR_FORMAT, "division by zero", NULL);
    expect_error("{{ 1 < 'a' }}", NULL, 0, INGOT_ERR_FORMAT, "not supported between", NULL);
    expect_error("{{ 'a'.split('') }}", NULL, 0, INGOT_ERR_FORMAT, "empty separator", NULL);
    expect_error("{% for a, b in [1] %}{% endfor %}", NULL, 0, INGOT_ERR_FORMAT, "cannot unpack", NULL);
    expect_error("{{ nothing | tojson }}", NULL, 0, INGOT_ERR_FORMAT, "'nothing' is undefined", NULL);
    expect_error("{% for i in 5 %}{% endfor %}", NULL, 0, INGOT_ERR_FORMAT, "not iterable", NULL);
    expect_error("{{ range(200000) | length }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "range too big", NULL);
    expect_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", NULL, 0, INGOT_ERR_UNSUPPORTED,
                 "macro calls nest deeper than the limit of 64", NULL);
    expect_error("{{ 9223372036854775807 + 1 }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "integer overflow", NULL);
    expect_error("{{ 'xx' * 100000000000 }}", NULL, 0, INGOT_ERR_UNSUPPORTED, "memory use exceeds the limit", NULL);
    expect_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", NULL, 0,
                 INGOT_ERR_UNSUPPORTED, "loop iterations and macro calls exceed the limit of 1000000", NULL);
}
END_TEST

/* ---- limits: each case would run for ages, allocate gigabytes or overflow
 * the C stack without them; each must fail with one line naming the limit ---- */

/* Renders tmpl under lim (NULL: the defaults) and expects the limit error needle. */
static void expect_limit(const char *tmpl, const ingot_chat_limits *lim, const char *needle)
{
    ingot_error err = {0};
    ingot_chat_template *t = ingot_chat_template_parse_limited(tmpl, lim, &err);
    char *got = t ? ingot_chat_template_render(t, CONVERSATION, 2, 1, "<s>", "</s>", &err) : NULL;
    ingot_chat_template_free(t);
    ck_assert_msg(got == NULL, "'%.60s' rendered instead of failing", tmpl);
    ck_assert_msg(err.code == INGOT_ERR_UNSUPPORTED, "'%.60s': code %s (%s)", tmpl, ingot_status_name(err.code),
                  err.message);
    ck_assert_msg(strstr(err.message, needle) != NULL, "'%.60s': message '%s' lacks '%s'", tmpl, err.message,
                  needle);
    ck_assert_msg(strchr(err.message, '\n') == NULL, "message is not one line: %s", err.message);
}

static char *render_limited(const char *tmpl, const ingot_chat_limits *lim, ingot_error *err)
{
    ingot_chat_template *t = ingot_chat_template_parse_limited(tmpl, lim, err);
    char *got = t ? ingot_chat_template_render(t, NULL, 0, 0, NULL, NULL, err) : NULL;
    ingot_chat_template_free(t);
    return got;
}

/* s repeated n times between pre and post. */
static char *repeated(const char *pre, const char *s, int n, const char *mid, const char *post)
{
    size_t ls = strlen(s);
    char *buf = malloc(strlen(pre) + (size_t)n * ls + strlen(mid) + strlen(post) + 1), *p = buf;
    ck_assert_ptr_nonnull(buf);
    p = stpcpy(p, pre);
    for (int i = 0; i < n; i++)
        p = stpcpy(p, s);
    p = stpcpy(p, mid);
    strcpy(p, post);
    return buf;
}

START_TEST(limits_have_defaults)
{
    ingot_chat_limits d = ingot_chat_limits_default();
    ck_assert_int_eq(d.max_iterations, 1000000);
    ck_assert_int_eq(d.max_call_depth, 64);
    ck_assert_int_eq(d.max_nesting, 200);
    ck_assert_int_eq(d.max_value_depth, 1000);
    ck_assert_uint_eq(d.max_output, 16u << 20);
    ck_assert_uint_eq(d.max_memory, 256u << 20);
    ck_assert_int_eq(d.max_render_depth, 1000);
    ck_assert_int_eq(d.max_steps, 20000000);
    /* zero members mean the default */
    ingot_chat_limits zero = {0};
    expect_limit("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", &zero,
                 "loop iterations and macro calls exceed the limit of 1000000");
}
END_TEST

START_TEST(loop_iterations_are_limited)
{
    expect_limit("{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}"
                 "{% endfor %}{% endfor %}{% endfor %}",
                 NULL, "loop iterations and macro calls exceed the limit of 1000000");
    ingot_chat_limits lim = {.max_iterations = 10};
    ingot_error err = {0};
    char *ok = render_limited("{% for i in range(10) %}{{ i }}{% endfor %}", &lim, &err);
    ck_assert_msg(ok != NULL, "%s", err.message);
    ck_assert_str_eq(ok, "0123456789");
    free(ok);
    expect_limit("{% for i in range(11) %}{{ i }}{% endfor %}", &lim,
                 "loop iterations and macro calls exceed the limit of 10");
    /* a macro calling itself twice: 2^60 calls, each shallow */
    expect_limit("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
                 NULL, "loop iterations and macro calls exceed the limit of 1000000");
}
END_TEST

START_TEST(recursion_is_limited)
{
    expect_limit("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL,
                 "macro calls nest deeper than the limit of 64");
    ingot_chat_limits lim = {.max_call_depth = 3};
    ingot_error err = {0};
    const char *count = "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}";
    /* f(2) -> f(1) -> f(0): three calls in progress at once */
    char *tmpl;
    char *ok;
    tmpl = repeated(count, "", 0, "{{ f(2) }}", "");
    ok = render_limited(tmpl, &lim, &err);
    free(tmpl);
    ck_assert_msg(ok != NULL, "%s", err.message);
    ck_assert_str_eq(ok, "21");
    free(ok);
    expect_limit("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}", &lim,
                 "macro calls nest deeper than the limit of 3");
}
END_TEST

START_TEST(memory_is_limited)
{
    expect_limit("{{ 'x' * 1000000000 }}", NULL, "memory use exceeds the limit of 268435456 bytes");
    expect_limit("{{ ('x' * 1000000000) | length }}", NULL, "memory use exceeds the limit of 268435456 bytes");
    expect_limit("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                 "{{ ns.s | length }}",
                 NULL, "memory use exceeds the limit of 268435456 bytes");
    expect_limit("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}"
                 "{% endfor %}{{ ns.l | length }}",
                 NULL, "memory use exceeds the limit of 268435456 bytes");
    /* what is freed still counts: time is bounded too */
    ingot_chat_limits lim = {.max_memory = 1 << 20};
    expect_limit("{% for i in range(100000) %}{% set s = 'x' * 1000 %}{% endfor %}", &lim,
                 "memory use exceeds the limit of 1048576 bytes");
    expect_limit("{% for i in range(100000) %}{% set l = range(1000) | list %}{% endfor %}", &lim,
                 "memory use exceeds the limit of 1048576 bytes");
}
END_TEST

START_TEST(output_is_limited)
{
    expect_limit("{% for i in range(100000) %}{% for j in range(100) %}{{ 'x' * 1000 }}{% endfor %}{% endfor %}",
                 NULL, "output exceeds the limit of 16777216 bytes");
    ingot_chat_limits lim = {.max_output = 100};
    expect_limit("{% for i in range(101) %}x{% endfor %}", &lim, "output exceeds the limit of 100 bytes");
    expect_limit("{% macro m() %}{% for i in range(101) %}x{% endfor %}{% endmacro %}{% set s = m() %}", &lim,
                 "output exceeds the limit of 100 bytes");
    ingot_error err = {0};
    char *ok = render_limited("{% for i in range(100) %}x{% endfor %}", &lim, &err);
    ck_assert_msg(ok != NULL, "%s", err.message);
    ck_assert_uint_eq(strlen(ok), 100);
    free(ok);
}
END_TEST

/* Loops within the iteration limit whose bodies, filters or operators do a
 * lot of work each time: without the step limit each ran for 10 s to hours
 * (a 27 KB template of 1000 ifs in 1M iterations took 84 s; '-1 in l' over a
 * list of 99999 items 100000 times, 91 s). */
START_TEST(evaluation_steps_are_limited)
{
    char *ifs = repeated("{% for i in range(900) %}{% for j in range(1000) %}", "{% if i == j %}x{% endif %}", 100,
                         "", "{% endfor %}{% endfor %}");
    expect_limit(ifs, NULL, "evaluation steps exceed the limit of 20000000");
    free(ifs);
    expect_limit("{% set l = range(99999) | list %}{% for i in range(100000) %}{% if -1 in l %}x{% endif %}"
                 "{% endfor %}",
                 NULL, "evaluation steps exceed the limit of 20000000");
    expect_limit("{% set l = range(99999) | list %}{% for i in range(100000) %}{{ l | max }}{% endfor %}", NULL,
                 "evaluation steps exceed the limit of 20000000");
    expect_limit("{% set l = range(99999) | list %}{% for i in range(100000) %}{{ l | sum }}{% endfor %}", NULL,
                 "evaluation steps exceed the limit of 20000000");
    expect_limit("{% set s = 'x' * 10000000 %}{% for i in range(100000) %}{% if 'y' in s %}{% endif %}{% endfor %}",
                 NULL, "evaluation steps exceed the limit of 20000000");
    expect_limit("{% set s = 'x' * 10000000 %}{% for i in range(100000) %}{{ s | length }}{% endfor %}", NULL,
                 "evaluation steps exceed the limit of 20000000");
    ingot_chat_limits lim = {.max_steps = 100};
    ingot_error err = {0};
    char *ok = render_limited("{% for i in range(10) %}{{ i }}{% endfor %}", &lim, &err);
    ck_assert_msg(ok != NULL, "%s", err.message);
    ck_assert_str_eq(ok, "0123456789");
    free(ok);
    expect_limit("{% for i in range(100) %}{{ i }}{% endfor %}", &lim, "evaluation steps exceed the limit of 100");
}

/* A limit reached exactly where a string is sliced: the list of its
 * characters cannot be made, which must be the limit's error, not a NULL
 * list (the fuzzer's chat_template/crash-slice-list-not-made). */
START_TEST(slicing_at_the_memory_limit)
{
    int failed = 0;
    for (size_t m = 1; m < 3000; m++) {
        ingot_chat_limits lim = {.max_memory = m};
        ingot_error err = {0};
        char *got = render_limited("{% set s = 'x' * 850 %}{{ 'abcdefgh'[::-1] }}", &lim, &err);
        if (got) {
            ck_assert_str_eq(got, "hgfedcba");
            free(got);
            continue;
        }
        failed++;
        ck_assert_msg(strstr(err.message, "memory use exceeds the limit") != NULL, "%zu: %s", m, err.message);
    }
    ck_assert_msg(failed > 0, "the limit was never reached");
}
END_TEST

START_TEST(value_nesting_is_limited)
{
    /* printing or freeing a list 100000 deep would overflow the C stack */
    expect_limit("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}"
                 "{{ ns.x }}",
                 NULL, "lists and dicts nest deeper than the limit of 1000");
    expect_limit("{% set ns = namespace(x={}) %}{% for i in range(100000) %}{% set ns.x = {'a': ns.x} %}"
                 "{% endfor %}{{ ns.x | tojson }}",
                 NULL, "lists and dicts nest deeper than the limit of 1000");
    /* a namespace holding itself would print forever */
    expect_limit("{% set ns = namespace(x=1) %}{% set ns.x = ns %}{{ ns }}", NULL, "namespace");
    expect_limit("{% set ns = namespace(x=1) %}{% set ns.x = [ns] %}{{ ns }}", NULL, "namespace");
}
END_TEST

START_TEST(source_nesting_is_limited)
{
    struct {
        const char *pre, *s, *mid, *post;
    } deep[] = {
        {"{{ ", "(", "1", ")"},                 /* brackets: the lexer's own limit */
        {"{{ ", "not ", "1", " }}"},
        {"{{ ", "-", "1", " }}"},
        {"{{ ", "1 + ", "1", " }}"},            /* flat, but a deep tree */
        {"{{ ", "1 ~ ", "1", " }}"},
        {"{{ ", "x and ", "1", " }}"},
        {"{{ ", "1 if x else ", "1", " }}"},
        {"{{ x", ".y", "", " }}"},
        {"", "{% if true %}", "x", "{% endif %}"},
        {"", "{% for i in [1] %}", "x", "{% endfor %}"},
        {"", "{% set x %}", "x", "{% endset %}"},
    };
    for (size_t i = 0; i < sizeof deep / sizeof deep[0]; i++) {
        int n = 100000;
        size_t lp = strlen(deep[i].post);
        char *tmpl = repeated(deep[i].pre, deep[i].s, n, deep[i].mid, "");
        /* the closing parts, n times when they are block ends or brackets */
        if (deep[i].pre[0] == 0 || deep[i].s[0] == '(') {
            char *full = malloc(strlen(tmpl) + (size_t)n * lp + 8), *p = stpcpy(full, tmpl);
            for (int k = 0; k < n; k++)
                p = stpcpy(p, deep[i].post);
            if (deep[i].s[0] == '(')
                strcpy(p, " }}");
            free(tmpl);
            tmpl = full;
        } else {
            char *full = repeated(tmpl, "", 0, "", deep[i].post);
            free(tmpl);
            tmpl = full;
        }
        ingot_error err = {0};
        ingot_chat_template *t = ingot_chat_template_parse(tmpl, &err);
        ck_assert_msg(t == NULL, "case %zu parsed", i);
        ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
        ck_assert_msg(strstr(err.message, "deeper than the limit of"), "case %zu: %s", i, err.message);
        free(tmpl);
    }
    ingot_chat_limits lim = {.max_nesting = 5};
    ingot_error err = {0};
    ck_assert_ptr_null(ingot_chat_template_parse_limited("{{ 1 + 1 + 1 + 1 + 1 + 1 }}", &lim, &err));
    ck_assert_msg(strstr(err.message, "blocks and expressions nest deeper than the limit of 5"), "%s", err.message);
    ingot_chat_template *t = ingot_chat_template_parse_limited("{{ 1 + 1 }}", &lim, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    ingot_chat_template_free(t);
}
END_TEST

START_TEST(bad_arguments_fail)
{
    ingot_error err = {0};
    static const ingot_chat_message noroles[] = {{NULL, "x"}};
    ck_assert_ptr_null(ingot_chat_render("x", noroles, 1, 1, NULL, NULL, &err));
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ck_assert_ptr_null(ingot_chat_render(NULL, NULL, 0, 1, NULL, NULL, &err));
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ingot_chat_template *t = ingot_chat_template_parse("{{ x }}", &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(ingot_chat_template_render_json(t, "[1]", &err));
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ck_assert_ptr_null(ingot_chat_template_render_json(t, "{", &err));
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ingot_chat_template_free(t);
    ingot_chat_template_free(NULL);
}
END_TEST

/* ---- finding a model's template ---- */

START_TEST(template_from_config)
{
    ingot_error err = {0};
    char *t = ingot_chat_template_from_config("{\"chat_template\": \"{{ x }}\"}", &err);
    ck_assert_str_eq(t, "{{ x }}");
    free(t);
    t = ingot_chat_template_from_config("{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"},"
                                        " {\"name\": \"default\", \"template\": \"D\"}]}", &err);
    ck_assert_str_eq(t, "D");
    free(t);
    ck_assert_ptr_null(ingot_chat_template_from_config("{\"chat_template\": [{\"name\": \"rag\", "
                                                       "\"template\": \"R\"}]}", &err));
    ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "default"));
    ck_assert_ptr_null(ingot_chat_template_from_config("{\"bos_token\": \"<s>\"}", &err));
    ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
    ck_assert_ptr_null(ingot_chat_template_from_config("{\"chat_template\": 3}", &err));
    ck_assert_int_eq(err.code, INGOT_ERR_FORMAT);
    ck_assert_ptr_null(ingot_chat_template_from_config("{nope", &err));
    ck_assert_int_eq(err.code, INGOT_ERR_FORMAT);
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
    char *p = ingot_path_join(dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static void remove_file(const char *dir, const char *name)
{
    char *p = ingot_path_join(dir, name);
    unlink(p);
    free(p);
}

START_TEST(template_load_prefers_jinja_file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/tiny-llama", top_srcdir());
    ingot_error err = {0};
    char *t = ingot_chat_template_load(path, &err), *want = read_data("tiny-llama.jinja");
    ck_assert_msg(t != NULL, "%s", err.message);
    ck_assert_str_eq(t, want);
    free(t);
    free(want);

    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ingot-chat-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_file(dir, "tokenizer_config.json", "{\"chat_template\": \"from config\"}");
    t = ingot_chat_template_load(dir, &err);
    ck_assert_str_eq(t, "from config");
    free(t);
    write_file(dir, "chat_template.jinja", "from file");
    t = ingot_chat_template_load(dir, &err);
    ck_assert_str_eq(t, "from file");
    free(t);
    remove_file(dir, "chat_template.jinja");
    remove_file(dir, "tokenizer_config.json");
    ck_assert_ptr_null(ingot_chat_template_load(dir, &err));
    ck_assert_int_eq(err.code, INGOT_ERR_IO);
    rmdir(dir);
}
END_TEST

START_TEST(render_depth_is_limited)
{
    /* 20 blocks deep per call, 64 calls: under the call limit, over this one */
    char *tmpl = repeated("{% macro f(k) %}", "{% if true %}", 20, "{% if k > 0 %}{{ f(k - 1) }}{% endif %}", "");
    char *full = repeated(tmpl, "{% endif %}", 20, "", "{% endmacro %}{{ f(60) }}");
    expect_limit(full, NULL,
                 "blocks, expressions and macro calls nest deeper than the limit of 1000 while rendering");
    free(full);
    free(tmpl);
    ingot_chat_limits lim = {.max_render_depth = 4};
    ingot_error err = {0};
    char *ok = render_limited("{% if true %}{{ 1 + 1 }}{% endif %}", &lim, &err); /* body, if body, +, 1 */
    ck_assert_msg(ok != NULL, "%s", err.message);
    ck_assert_str_eq(ok, "2");
    free(ok);
    expect_limit("{% if true %}{{ 1 + (1 - 1) }}{% endif %}", &lim,
                 "blocks, expressions and macro calls nest deeper than the limit of 4 while rendering");
}
END_TEST

/* ---- the stack: every limit above must be reached long before the C stack
 * runs out.  The worst shapes at the default limits run in a thread with a
 * stack far smaller than a default thread's (8 MiB on Linux); an unbounded
 * recursion needs more and crashes the test. ---- */

#if defined(__SANITIZE_ADDRESS__)
#define SMALL_STACK ((size_t)6 << 20) /* ASan's frames are about 3 times larger */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMALL_STACK ((size_t)6 << 20)
#endif
#endif
#ifndef SMALL_STACK
#define SMALL_STACK ((size_t)2 << 20) /* measured need with -O2: 512 KiB */
#endif

typedef struct stack_case {
    char *tmpl;
    const char *want; /* a substring of the error, or NULL: renders */
    char got[sizeof(ingot_error){0}.message + 16];
} stack_case;

static void *stack_case_run(void *arg)
{
    stack_case *sc = arg;
    ingot_error err = {0};
    ingot_chat_template *t = ingot_chat_template_parse(sc->tmpl, &err);
    char *out = t ? ingot_chat_template_render(t, CONVERSATION, 2, 1, "<s>", "</s>", &err) : NULL;
    snprintf(sc->got, sizeof sc->got, "%s", out ? "(rendered)" : err.message);
    free(out);
    ingot_chat_template_free(t);
    return NULL;
}

START_TEST(limits_fit_a_small_stack)
{
    static const struct {
        const char *pre, *s, *mid, *s2, *post, *want;
        int n;
    } cases[] = {
        /* the source nesting just below and at the limit of 200 */
        {"{{ ", "1 if false else ", "1", "", " }}", NULL, 197},
        {"{{ ", "1 if false else ", "1", "", " }}", "deeper than the limit of 200", 100000},
        {"{{ ", "-", "1", "", " }}", NULL, 197},
        {"{{ ", "not ", "1", "", " }}", NULL, 197},
        {"", "{% if true %}", "x", "{% endif %}", "", NULL, 199},
        {"", "{% for i in [1] %}", "x", "{% endfor %}", "", NULL, 197},
        {"", "{% set x %}", "x", "{% endset %}", "", NULL, 199},
        {"{{ ", "(", "1", ")", " }}", NULL, 62},
        {"{{ ", "[", "1", "]", " }}", NULL, 62},
        {"{{ x", ".y", "", "", " }}", "undefined", 190},
        /* recursion through macro calls: the render depth, then the call depth */
        {"{% macro f(k) %}", "{% if true %}", "{% if k > 0 %}{{ f(k - 1) }}{% endif %}", "{% endif %}",
         "{% endmacro %}{{ f(1000) }}", "limit of 1000 while rendering", 190},
        {"{% macro f(k) %}", "{% for i in [1] %}", "{% if k > 0 %}{{ f(k - 1) }}{% endif %}", "{% endfor %}",
         "{% endmacro %}{{ f(1000) }}", "limit of 1000 while rendering", 14},
        {"{% macro f(k) %}{{ ", "x|default(", "k > 0 and f(k - 1)", ")", " }}{% endmacro %}{{ f(1000) }}",
         "limit of 1000 while rendering", 60},
        {"{% macro f(k) %}{{ ", "(", "f(k - 1)", ")", " }}{% endmacro %}{{ f(1000) }}",
         "macro calls nest deeper than the limit of 64", 62},
        /* values 990 deep printed, compared and measured 190 blocks deep */
        {"{% set ns = namespace(v=1) %}{% for i in range(990) %}{% set ns.v = [ns.v] %}{% endfor %}",
         "{% if true %}", "{{ ns.v|string|length }}{{ ns.v == ns.v }}{{ ns.v|length }}", "{% endif %}", "",
         NULL, 190},
        {"{% set ns = namespace(v=1) %}{% for i in range(990) %}{% set ns.v = {'a': ns.v} %}{% endfor %}",
         "{% if true %}", "{{ ns.v|string|length }}{{ ns.v == ns.v }}{{ ns.v|tojson|length }}", "{% endif %}",
         "", "tojson", 190},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *open = repeated(cases[i].pre, cases[i].s, cases[i].n, cases[i].mid, "");
        stack_case sc = {.tmpl = repeated(open, cases[i].s2, cases[i].n, "", cases[i].post)};
        free(open);
        pthread_attr_t attr;
        pthread_t th;
        ck_assert_int_eq(pthread_attr_init(&attr), 0);
        ck_assert_int_eq(pthread_attr_setstacksize(&attr, SMALL_STACK), 0);
        ck_assert_int_eq(pthread_create(&th, &attr, stack_case_run, &sc), 0);
        ck_assert_int_eq(pthread_join(th, NULL), 0);
        pthread_attr_destroy(&attr);
        if (cases[i].want)
            ck_assert_msg(strstr(sc.got, cases[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, sc.got,
                          cases[i].want);
        else
            ck_assert_msg(strcmp(sc.got, "(rendered)") == 0, "case %zu: %s", i, sc.got);
        free(sc.tmpl);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("chat_template");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, real_templates_render_like_transformers);
    tcase_add_test(tc, tools_undefined_is_like_none);
    tcase_add_test(tc, tool_calls_render_like_transformers);
    tcase_add_test(tc, parsed_template_renders_many_times);
    tcase_add_test(tc, features_match_jinja);
    tcase_add_test(tc, undefined_bos_and_none_content);
    tcase_add_test(tc, unknown_filter_fails);
    tcase_add_test(tc, unclosed_block_fails);
    tcase_add_test(tc, raise_exception_carries_message);
    tcase_add_test(tc, unsupported_tag_fails);
    tcase_add_test(tc, runtime_errors_fail);
    tcase_add_test(tc, bad_arguments_fail);
    tcase_add_test(tc, limits_have_defaults);
    tcase_add_test(tc, loop_iterations_are_limited);
    tcase_add_test(tc, recursion_is_limited);
    tcase_add_test(tc, memory_is_limited);
    tcase_add_test(tc, output_is_limited);
    tcase_add_test(tc, evaluation_steps_are_limited);
    tcase_add_test(tc, slicing_at_the_memory_limit);
    tcase_add_test(tc, value_nesting_is_limited);
    tcase_add_test(tc, source_nesting_is_limited);
    tcase_add_test(tc, render_depth_is_limited);
    tcase_add_test(tc, limits_fit_a_small_stack);
    tcase_add_test(tc, template_from_config);
    tcase_add_test(tc, template_load_prefers_jinja_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
