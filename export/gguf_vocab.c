/*
 * gguf_vocab.c - an artifact's tokenizer as llama.cpp's "gpt2" BPE
 * vocabulary (the keys llama.cpp's converter writes: convert_hf_to_gguf's
 * get_vocab_base and gguf-py's SpecialVocab; what llama.cpp reads:
 * src/llama-vocab.cpp).
 *
 *   tokenizer.ggml.model         "gpt2"
 *   tokenizer.ggml.pre           the name llama.cpp gives the pre-tokenizer
 *                                regex set (ingot_gguf_pre_name)
 *   tokenizer.ggml.tokens        one string per id below the model's vocab
 *                                size: the byte-level token text, "[PAD<id>]"
 *                                for ids no token has
 *   tokenizer.ggml.token_type    i32: 1 normal, 3 control (special added
 *                                token), 4 user defined (other added token),
 *                                5 unused (padding ids)
 *   tokenizer.ggml.merges        "left right", spaces inside a part as U+0120
 *   tokenizer.ggml.*_token_id    bos, eos, unknown, padding from
 *                                tokenizer_config.json (then config.json)
 *   tokenizer.ggml.add_bos_token / add_eos_token  from the post-processor
 *   tokenizer.chat_template      chat_template.jinja, else tokenizer_config's
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/gguf.h"
#include "util/util.h"

enum { TT_NORMAL = 1, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5 };

/* The regex sets llama.cpp knows, as tokenizer.json spells them (the
 * originals quoted in llama-vocab.cpp), with the BPE ignore_merges flag that
 * goes with each name there. */
#define RX_LLAMA3                                                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "                    \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RX_QWEN2                                                                                   \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "                         \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* tokenizers' ByteLevel pre-tokenizer with use_regex: GPT-2's pattern */
#define RX_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

static const struct {
    const char *regex;
    bool ignore_merges;
    const char *name;
} known_pre[] = {
    {RX_LLAMA3, true, "llama-bpe"},
    {RX_LLAMA3, false, "smaug-bpe"},
    {RX_QWEN2, false, "qwen2"},
    {RX_GPT2, false, "gpt-2"},
};

const char *ingot_gguf_pre_name(const char *regex, bool ignore_merges)
{
    for (size_t i = 0; regex && i < INGOT_ARRAY_LEN(known_pre); i++)
        if (known_pre[i].ignore_merges == ignore_merges && !strcmp(known_pre[i].regex, regex))
            return known_pre[i].name;
    return NULL;
}

/* What the vocabulary is built from. */
typedef struct vocab {
    const char *what;     /* "<artifact>: tokenizer.json" */
    json_t *tok;          /* tokenizer.json */
    json_t *cfg;          /* tokenizer_config.json or NULL */
    int n;                /* the model's vocab size */
    const char **text;    /* [n]: token text or NULL */
    int32_t *type;        /* [n] */
} vocab;

/* A stored JSON object; *j stays NULL for an absent optional file.  Integers
 * as reals for tokenizer_config.json, whose model_max_length is often 1e30. */
static int load_json(ingot_gguf_file_fn file, void *user, const char *name, bool required,
                     const char *what, json_t **j, ingot_error *err)
{
    size_t len;
    const uint8_t *p = file(user, name, &len);
    *j = NULL;
    if (!p)
        return required ? ingot_fail(err, INGOT_ERR_FORMAT, "%s: no %s stored", what, name) : 0;
    json_error_t je;
    *j = json_loadb((const char *)p, len, required ? 0 : JSON_DECODE_INT_AS_REAL, &je);
    if (!json_is_object(*j)) {
        json_decref(*j);
        *j = NULL;
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: not a JSON object", what, name);
    }
    return 0;
}

/* The regex of the pre-tokenizer, or NULL with err when it is none llama.cpp runs. */
static const char *pre_regex(const vocab *v, ingot_error *err)
{
    json_t *pre = json_object_get(v->tok, "pre_tokenizer");
    const char *type = json_string_value(json_object_get(pre, "type"));
    if (type && !strcmp(type, "ByteLevel") &&
        json_is_true(json_object_get(pre, "use_regex")) &&
        !json_is_true(json_object_get(pre, "add_prefix_space")))
        return RX_GPT2;
    json_t *list = json_object_get(pre, "pretokenizers");
    json_t *split = json_array_get(list, 0), *bl = json_array_get(list, 1);
    const char *rx = json_string_value(json_object_get(json_object_get(split, "pattern"), "Regex"));
    bool ok = type && !strcmp(type, "Sequence") && json_array_size(list) == 2 && rx &&
              !strcmp(json_string_value(json_object_get(split, "type")) ?: "", "Split") &&
              !strcmp(json_string_value(json_object_get(split, "behavior")) ?: "", "Isolated") &&
              !json_is_true(json_object_get(split, "invert")) &&
              !strcmp(json_string_value(json_object_get(bl, "type")) ?: "", "ByteLevel") &&
              !json_is_true(json_object_get(bl, "add_prefix_space")) &&
              !json_is_true(json_object_get(bl, "use_regex"));
    if (!ok) {
        ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                   "%s: pre_tokenizer: not a regex Split followed by ByteLevel, as llama.cpp's "
                   "gpt2 BPE tokenizers are",
                   v->what);
        return NULL;
    }
    return rx;
}

static int check_model(const vocab *v, const char **pre, ingot_error *err)
{
    json_t *model = json_object_get(v->tok, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    if (!type || strcmp(type, "BPE") || json_is_true(json_object_get(model, "byte_fallback")))
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: model: %s%s; only byte-level BPE exports to GGUF (llama.cpp's "
                          "gpt2 tokenizer)",
                          v->what, type ? type : "no type",
                          type && json_is_true(json_object_get(model, "byte_fallback"))
                              ? " with byte_fallback (SentencePiece style)"
                              : "");
    json_t *norm = json_object_get(v->tok, "normalizer");
    const char *nt = json_string_value(json_object_get(norm, "type"));
    if (!json_is_null(norm) && norm && !(nt && !strcmp(nt, "NFC")))
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: normalizer: %s, which llama.cpp's gpt2 tokenizer does not apply",
                          v->what, nt ? nt : "?");
    const char *rx = pre_regex(v, err);
    if (!rx)
        return -1;
    bool ignore = json_is_true(json_object_get(model, "ignore_merges"));
    *pre = ingot_gguf_pre_name(rx, ignore);
    if (!*pre)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: pre_tokenizer: the regex set (with ignore_merges %s) matches "
                          "none llama.cpp knows (llama-bpe, smaug-bpe, qwen2, gpt-2)",
                          v->what, ignore ? "true" : "false");
    return 0;
}

/* Fills v->text / v->type from model.vocab and added_tokens. */
static int fill_tokens(vocab *v, ingot_error *err)
{
    json_t *voc = json_object_get(json_object_get(v->tok, "model"), "vocab");
    if (!json_is_object(voc))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: model.vocab: not an object", v->what);
    const char *key;
    json_t *val;
    json_object_foreach(voc, key, val) {
        json_int_t id = json_integer_value(val);
        if (!json_is_integer(val) || id < 0 || id >= v->n)
            return ingot_fail(err, INGOT_ERR_FORMAT,
                              "%s: model.vocab: %s: id outside the model's %d tokens", v->what,
                              key, v->n);
        v->text[id] = key;
        v->type[id] = TT_NORMAL;
    }
    size_t i;
    json_array_foreach(json_object_get(v->tok, "added_tokens"), i, val) {
        json_int_t id = json_integer_value(json_object_get(val, "id"));
        const char *content = json_string_value(json_object_get(val, "content"));
        if (!content || id < 0 || id >= v->n)
            return ingot_fail(err, INGOT_ERR_FORMAT,
                              "%s: added_tokens[%zu]: no content or id outside the model's %d "
                              "tokens",
                              v->what, i, v->n);
        v->text[id] = content;
        v->type[id] = json_is_true(json_object_get(val, "special")) ? TT_CONTROL : TT_USER;
    }
    return 0;
}

static void add_tokens(ingot_gguf *g, const vocab *v)
{
    ingot_gguf_kv_array(g, "tokenizer.ggml.tokens", INGOT_GGUF_STRING, (uint64_t)v->n);
    for (int id = 0; id < v->n; id++) {
        char pad[32];
        const char *t = v->text[id];
        if (!t)
            snprintf(pad, sizeof pad, "[PAD%d]", id);
        ingot_gguf_push_str(g, t ? t : pad, strlen(t ? t : pad));
    }
    ingot_gguf_kv_array(g, "tokenizer.ggml.token_type", INGOT_GGUF_I32, (uint64_t)v->n);
    for (int id = 0; id < v->n; id++)
        ingot_gguf_push_i32(g, v->text[id] ? v->type[id] : TT_UNUSED);
}

/* One merge part into buf, spaces as U+0120 (as gguf-py writes pair merges). */
static size_t merge_part(const char *s, char *buf, size_t at, size_t cap)
{
    for (; *s && at + 2 < cap; s++) {
        if (*s == ' ') {
            buf[at++] = (char)0xC4; /* U+0120 */
            buf[at++] = (char)0xA0;
        } else {
            buf[at++] = *s;
        }
    }
    return at;
}

static int add_merges(ingot_gguf *g, const vocab *v, ingot_error *err)
{
    json_t *merges = json_object_get(json_object_get(v->tok, "model"), "merges");
    if (!json_is_array(merges))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: model.merges: not an array", v->what);
    ingot_gguf_kv_array(g, "tokenizer.ggml.merges", INGOT_GGUF_STRING, json_array_size(merges));
    size_t i;
    json_t *m;
    json_array_foreach(merges, i, m) {
        if (json_is_string(m)) {
            ingot_gguf_push_str(g, json_string_value(m), json_string_length(m));
            continue;
        }
        const char *a = json_string_value(json_array_get(m, 0));
        const char *b = json_string_value(json_array_get(m, 1));
        char buf[1024];
        if (!a || !b || json_array_size(m) != 2 || 2 * (strlen(a) + strlen(b)) + 2 > sizeof buf)
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: model.merges[%zu]: not a pair of tokens",
                              v->what, i);
        size_t n = merge_part(a, buf, 0, sizeof buf);
        buf[n++] = ' ';
        n = merge_part(b, buf, n, sizeof buf);
        ingot_gguf_push_str(g, buf, n);
    }
    return 0;
}

/* The id of a token named in tokenizer_config.json (string or {"content"}), or -1. */
static int config_token(const vocab *v, const char *key)
{
    json_t *e = json_object_get(v->cfg, key);
    const char *s = json_is_string(e) ? json_string_value(e)
                                      : json_string_value(json_object_get(e, "content"));
    for (int id = 0; s && id < v->n; id++)
        if (v->text[id] && !strcmp(v->text[id], s))
            return id;
    return -1;
}

/* Whether the post-processor puts a special token first (bos) or last (eos). */
static void post_adds(const vocab *v, bool *bos, bool *eos)
{
    json_t *pp = json_object_get(v->tok, "post_processor");
    json_t *list = json_object_get(pp, "processors");
    size_t n = json_is_array(list) ? json_array_size(list) : 1;
    *bos = *eos = false;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_is_array(list) ? json_array_get(list, i) : pp;
        const char *type = json_string_value(json_object_get(p, "type"));
        if (!type || strcmp(type, "TemplateProcessing"))
            continue;
        json_t *single = json_object_get(p, "single");
        size_t k = json_array_size(single);
        if (k > 1 && json_object_get(json_array_get(single, 0), "SpecialToken"))
            *bos = true;
        if (k > 1 && json_object_get(json_array_get(single, k - 1), "SpecialToken"))
            *eos = true;
    }
}

static void add_specials(ingot_gguf *g, const vocab *v, int config_bos, int config_eos)
{
    int bos = config_token(v, "bos_token"), eos = config_token(v, "eos_token");
    int unk = config_token(v, "unk_token"), pad = config_token(v, "pad_token");
    if (bos < 0 && config_bos >= 0 && config_bos < v->n)
        bos = config_bos;
    if (eos < 0 && config_eos >= 0 && config_eos < v->n)
        eos = config_eos;
    if (bos >= 0)
        ingot_gguf_kv_u32(g, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
    if (eos >= 0)
        ingot_gguf_kv_u32(g, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
    if (unk >= 0)
        ingot_gguf_kv_u32(g, "tokenizer.ggml.unknown_token_id", (uint32_t)unk);
    if (pad >= 0)
        ingot_gguf_kv_u32(g, "tokenizer.ggml.padding_token_id", (uint32_t)pad);
    bool add_bos, add_eos;
    post_adds(v, &add_bos, &add_eos);
    ingot_gguf_kv_bool(g, "tokenizer.ggml.add_bos_token", add_bos);
    ingot_gguf_kv_bool(g, "tokenizer.ggml.add_eos_token", add_eos);
}

/* chat_template.jinja, else tokenizer_config.json's (a string, or the "default" of a list). */
static void add_chat_template(ingot_gguf *g, const vocab *v, ingot_gguf_file_fn file, void *user)
{
    size_t len;
    const uint8_t *jinja = file(user, "chat_template.jinja", &len);
    if (jinja) {
        ingot_gguf_kv_strn(g, "tokenizer.chat_template", (const char *)jinja, len);
        return;
    }
    json_t *ct = json_object_get(v->cfg, "chat_template");
    size_t i;
    json_t *e;
    if (json_is_string(ct)) {
        ingot_gguf_kv_str(g, "tokenizer.chat_template", json_string_value(ct));
        return;
    }
    json_array_foreach(ct, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *t = json_string_value(json_object_get(e, "template"));
        if (name && t && !strcmp(name, "default"))
            ingot_gguf_kv_str(g, "tokenizer.chat_template", t);
    }
}

int ingot_gguf_add_vocab(ingot_gguf *g, ingot_gguf_file_fn file, void *user, int n_vocab,
                         int config_bos, int config_eos, const char *what, const char **pre_out,
                         ingot_error *err)
{
    char where[600];
    snprintf(where, sizeof where, "%s: tokenizer.json", what);
    vocab v = {.what = where, .n = n_vocab};
    if (load_json(file, user, "tokenizer.json", true, what, &v.tok, err) != 0 ||
        load_json(file, user, "tokenizer_config.json", false, what, &v.cfg, err) != 0) {
        json_decref(v.tok);
        return -1;
    }
    v.text = calloc((size_t)n_vocab, sizeof *v.text);
    v.type = calloc((size_t)n_vocab, sizeof *v.type);
    const char *pre = NULL;
    int rc = !v.text || !v.type ? ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", where)
                                : check_model(&v, &pre, err);
    if (rc == 0)
        rc = fill_tokens(&v, err);
    if (rc == 0) {
        ingot_gguf_kv_str(g, "tokenizer.ggml.model", "gpt2");
        ingot_gguf_kv_str(g, "tokenizer.ggml.pre", pre);
        add_tokens(g, &v);
        rc = add_merges(g, &v, err);
    }
    if (rc == 0) {
        add_specials(g, &v, config_bos, config_eos);
        add_chat_template(g, &v, file, user);
        *pre_out = pre;
    }
    free(v.text);
    free(v.type);
    json_decref(v.cfg);
    json_decref(v.tok);
    return rc;
}
