/*
 * hf_files.c - validation of the HF files stored verbatim in an artifact
 * (see hf_files.h for the rules).  The runtime's tokenizer indexes tables
 * with these ids, so every one is bounded by vocab_size here, at conversion.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "convert/hf_files.h"
#include "util/util.h"

/* Largest file read when the caller passes no data (Gemma's tokenizer.json is 34 MB). */
#define MAX_HF_FILE ((size_t)256 << 20)
/* Nesting of post_processor "Sequence" objects followed. */
#define MAX_DEPTH 8

typedef struct vctx {
    const char *what;  /* the path, for messages */
    int vocab;         /* <= 0: no upper bound */
    bool lenient;      /* integers were decoded as reals (see load) */
    ingot_error *err;
} vctx;

/* ------------------------------------------------------------------ UTF-8 */

/* Length of the sequence at s[i..n) when well-formed, else 0. */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n)
{
    unsigned char c = s[i];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else
        return 0;
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
    return len;
}

bool ingot_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(u, i, len);
        if (!k) {
            if (bad_at)
                *bad_at = i;
            return false;
        }
        i += k;
    }
    return true;
}

int ingot_utf8_check(const char *s, size_t len, size_t *bad_at)
{
    return ingot_utf8_valid(s, len, bad_at) ? 1 : 0;
}

/* A token for a message: at most ~40 bytes, whole characters, controls escaped. */
static const char *token_text(char *buf, size_t size, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n && o + 8 < size && i < 40;) {
        size_t k = utf8_seq(u, i, n);
        if (k <= 1 && (u[i] < 0x20 || u[i] == 0x7F || k == 0)) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", u[i]);
            i++;
            continue;
        }
        memcpy(buf + o, s + i, k);
        o += k;
        i += k;
    }
    buf[o] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ ids */

/* "<what>: " + the formatted rest, as a FORMAT error.  @return -1. */
#define failv(x, ...) ingot_fail_in((x)->err, INGOT_ERR_FORMAT, (x)->what, NULL, __VA_ARGS__)

/* An integer; when lenient, also a real with an exact integer value. */
static bool int_of(const vctx *x, const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    double d = json_is_real(v) ? json_real_value(v) : NAN;
    if (x->lenient && isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0) {
        *out = (long long)d;
        return true;
    }
    return false;
}

/* 0 when v is an id in [0, vocab); else a message for field (already formatted). */
static int check_id(const vctx *x, const json_t *v, const char *field)
{
    long long id;
    if (!int_of(x, v, &id))
        return failv(x, "%s: expected an integer token id", field);
    if (id < 0)
        return failv(x, "%s: id %lld is negative", field, id);
    if (x->vocab > 0 && id >= x->vocab)
        return failv(x, "%s: id %lld is out of range (0..%d, vocab_size %d)", field, id,
                     x->vocab - 1, x->vocab);
    return 0;
}

/* null, one id, or a list of ids. */
static int check_id_or_list(const vctx *x, const json_t *v, const char *key)
{
    char field[128];
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return check_id(x, v, key);
    for (size_t i = 0; i < json_array_size(v); i++) {
        snprintf(field, sizeof field, "%s[%zu]", key, i);
        if (check_id(x, json_array_get(v, i), field))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ tokenizer.json */

static int check_vocab_object(const vctx *x, const json_t *vocab)
{
    const char *tok;
    const json_t *v;
    char field[128], t[96];
    json_object_foreach((json_t *)vocab, tok, v) {
        long long id;
        /* Fast path; the message is formatted only for a bad entry. */
        if (int_of(x, v, &id) && id >= 0 && (x->vocab <= 0 || id < x->vocab))
            continue;
        snprintf(field, sizeof field, "model.vocab \"%s\"", token_text(t, sizeof t, tok));
        return check_id(x, v, field);
    }
    return 0;
}

/* Unigram: a list of [piece, score]; the ids are the positions. */
static int check_vocab_list(const vctx *x, const json_t *vocab)
{
    size_t n = json_array_size(vocab);
    if (x->vocab > 0 && n > (size_t)x->vocab)
        return failv(x, "model.vocab: %zu entries but vocab_size is %d", n, x->vocab);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(vocab, i);
        if (!json_is_array(e) || json_array_size(e) != 2 ||
            !json_is_string(json_array_get(e, 0)) || !json_is_number(json_array_get(e, 1)))
            return failv(x, "model.vocab[%zu]: expected [piece, score]", i);
    }
    return 0;
}

static int check_model(const vctx *x, const json_t *root)
{
    const json_t *model = json_object_get(root, "model");
    if (!model)
        return failv(x, "model: missing");
    if (!json_is_object(model))
        return failv(x, "model: expected an object");
    const json_t *vocab = json_object_get(model, "vocab");
    if (json_is_object(vocab))
        return check_vocab_object(x, vocab);
    if (json_is_array(vocab))
        return check_vocab_list(x, vocab);
    return failv(x, "model.vocab: %s", vocab ? "expected an object or a list" : "missing");
}

static int check_added_tokens(const vctx *x, const json_t *root)
{
    const json_t *at = json_object_get(root, "added_tokens");
    char field[160], t[96];
    if (!at || json_is_null(at))
        return 0;
    if (!json_is_array(at))
        return failv(x, "added_tokens: expected a list");
    for (size_t i = 0; i < json_array_size(at); i++) {
        const json_t *e = json_array_get(at, i);
        const json_t *content = json_object_get(e, "content");
        if (!json_is_object(e) || !json_is_string(content))
            return failv(x, "added_tokens[%zu]: expected an object with a string \"content\"", i);
        snprintf(field, sizeof field, "added_tokens[%zu] \"%s\"", i,
                 token_text(t, sizeof t, json_string_value(content)));
        const json_t *id = json_object_get(e, "id");
        if (!id)
            return failv(x, "%s: id: missing", field);
        if (check_id(x, id, field))
            return -1;
    }
    return 0;
}

/* TemplateProcessing: special_tokens {"<s>": {"ids": [1], ...}}. */
static int check_template_ids(const vctx *x, const json_t *pp)
{
    const json_t *st = json_object_get(pp, "special_tokens"), *v;
    const char *tok;
    char field[160], t[96];
    if (!st || json_is_null(st))
        return 0;
    if (!json_is_object(st))
        return failv(x, "post_processor.special_tokens: expected an object");
    json_object_foreach((json_t *)st, tok, v) {
        const json_t *ids = json_object_get(v, "ids");
        snprintf(field, sizeof field, "post_processor.special_tokens \"%s\".ids",
                 token_text(t, sizeof t, tok));
        if (!json_is_array(ids))
            return failv(x, "%s: expected a list", field);
        if (check_id_or_list(x, ids, field))
            return -1;
    }
    return 0;
}

static int check_post_processor(const vctx *x, const json_t *pp, int depth)
{
    if (!pp || json_is_null(pp))
        return 0;
    if (!json_is_object(pp) || depth > MAX_DEPTH)
        return failv(x, "post_processor: expected an object");
    const char *type = json_string_value(json_object_get(pp, "type"));
    if (!type)
        return 0;
    if (strcmp(type, "TemplateProcessing") == 0)
        return check_template_ids(x, pp);
    if (strcmp(type, "Sequence") == 0) {
        const json_t *procs = json_object_get(pp, "processors");
        for (size_t i = 0; i < json_array_size(procs); i++)
            if (check_post_processor(x, json_array_get(procs, i), depth + 1))
                return -1;
        return 0;
    }
    /* BertProcessing / RobertaProcessing: "sep": ["</s>", 2], "cls": ["<s>", 0]. */
    static const char *const pairs[] = {"sep", "cls"};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(pairs); i++) {
        const json_t *p = json_object_get(pp, pairs[i]);
        char field[64];
        snprintf(field, sizeof field, "post_processor.%s", pairs[i]);
        if (json_is_array(p) && check_id(x, json_array_get(p, 1), field))
            return -1;
    }
    return 0;
}

static int check_tokenizer_json(const vctx *x, const json_t *root)
{
    if (check_model(x, root) || check_added_tokens(x, root))
        return -1;
    return check_post_processor(x, json_object_get(root, "post_processor"), 0);
}

/* ------------------------------------------------------------------ special tokens */

/* A special token: a string, null, or an AddedToken object {content: ...}. */
static int check_special(const vctx *x, const json_t *v, const char *field)
{
    if (!v || json_is_null(v) || json_is_string(v))
        return 0;
    if (json_is_object(v) && json_is_string(json_object_get(v, "content")))
        return 0;
    return failv(x, "%s: expected a string, null or {\"content\": string}", field);
}

static int check_special_list(const vctx *x, const json_t *root, const char *key)
{
    const json_t *l = json_object_get(root, key), *v;
    const char *k;
    char field[160];
    if (!l || json_is_null(l))
        return 0;
    if (json_is_array(l)) {
        for (size_t i = 0; i < json_array_size(l); i++) {
            snprintf(field, sizeof field, "%s[%zu]", key, i);
            if (check_special(x, json_array_get(l, i), field))
                return -1;
        }
        return 0;
    }
    if (!json_is_object(l)) /* 5.x extra_special_tokens may be a name -> token map */
        return failv(x, "%s: expected a list", key);
    json_object_foreach((json_t *)l, k, v) {
        snprintf(field, sizeof field, "%s.%.64s", key, k);
        if (check_special(x, v, field))
            return -1;
    }
    return 0;
}

static int check_special_tokens(const vctx *x, const json_t *root)
{
    static const char *const keys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                       "pad_token", "cls_token", "mask_token"};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(keys); i++)
        if (check_special(x, json_object_get(root, keys[i]), keys[i]))
            return -1;
    return check_special_list(x, root, "additional_special_tokens") ||
                   check_special_list(x, root, "extra_special_tokens")
               ? -1
               : 0;
}

static int check_chat_template(const vctx *x, const json_t *ct)
{
    if (!ct || json_is_null(ct) || json_is_string(ct))
        return 0;
    if (!json_is_array(ct))
        return failv(x, "chat_template: expected a string or a list of {name, template}");
    for (size_t i = 0; i < json_array_size(ct); i++) {
        const json_t *e = json_array_get(ct, i);
        if (!json_is_string(json_object_get(e, "name")) ||
            !json_is_string(json_object_get(e, "template")))
            return failv(x, "chat_template[%zu]: expected {\"name\": string, \"template\": string}",
                         i);
    }
    return 0;
}

/* Decimal, no sign, no leading zero: the form tokenizers writes. */
static bool decimal_id(const char *s, long long *out)
{
    long long v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int check_added_tokens_decoder(const vctx *x, const json_t *root)
{
    const json_t *d = json_object_get(root, "added_tokens_decoder"), *v;
    const char *key;
    char t[96];
    if (!d || json_is_null(d))
        return 0;
    if (!json_is_object(d))
        return failv(x, "added_tokens_decoder: expected an object");
    json_object_foreach((json_t *)d, key, v) {
        long long id;
        if (!decimal_id(key, &id))
            return failv(x, "added_tokens_decoder \"%s\": key is not a token id",
                         token_text(t, sizeof t, key));
        const json_t *content = json_object_get(v, "content");
        if (!json_is_object(v) || !json_is_string(content))
            return failv(x, "added_tokens_decoder \"%s\": expected {\"content\": string, ...}",
                         key);
        if (x->vocab > 0 && id >= x->vocab)
            return failv(x, "added_tokens_decoder \"%s\" (\"%s\"): id %lld is out of range "
                            "(0..%d, vocab_size %d)",
                         key, token_text(t, sizeof t, json_string_value(content)), id,
                         x->vocab - 1, x->vocab);
    }
    return 0;
}

static int check_tokenizer_config(const vctx *x, const json_t *root)
{
    if (check_chat_template(x, json_object_get(root, "chat_template")) ||
        check_special_tokens(x, root) || check_added_tokens_decoder(x, root))
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ generation_config.json */

/* An optional number (null allowed) within [lo, hi]; lo_open makes lo exclusive. */
static int check_number(const vctx *x, const json_t *root, const char *key, double lo,
                        bool lo_open, double hi)
{
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return failv(x, "%s: expected a number", key);
    double d = json_number_value(v);
    if (!(d >= lo) || (lo_open && d == lo) || d > hi)
        return failv(x, "%s: %g is out of range (%s%g..%g)", key, d, lo_open ? ">" : "", lo, hi);
    return 0;
}

static int check_count(const vctx *x, const json_t *root, const char *key)
{
    const json_t *v = json_object_get(root, key);
    long long n;
    if (!v || json_is_null(v))
        return 0;
    /* lenient: a huge integer (max_length = 1e30) arrives as an integral real */
    double d = json_is_real(v) ? json_real_value(v) : NAN;
    bool big = x->lenient && isfinite(d) && d == floor(d) && d >= 0;
    if (!big && (!int_of(x, v, &n) || n < 0))
        return failv(x, "%s: expected a non-negative integer", key);
    return 0;
}

static int check_generation_config(const vctx *x, const json_t *root)
{
    static const char *const ids[] = {"bos_token_id", "eos_token_id", "pad_token_id",
                                      "decoder_start_token_id"};
    for (size_t i = 0; i < INGOT_ARRAY_LEN(ids); i++)
        if (check_id_or_list(x, json_object_get(root, ids[i]), ids[i]))
            return -1;
    const json_t *ds = json_object_get(root, "do_sample");
    if (ds && !json_is_null(ds) && !json_is_boolean(ds))
        return failv(x, "do_sample: expected true or false");
    if (check_number(x, root, "temperature", 0, false, HUGE_VAL) ||
        check_number(x, root, "top_p", 0, false, 1) ||
        check_number(x, root, "repetition_penalty", 0, true, HUGE_VAL) ||
        check_count(x, root, "top_k") || check_count(x, root, "max_length") ||
        check_count(x, root, "max_new_tokens"))
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ dispatch */

typedef int (*json_check_fn)(const vctx *x, const json_t *root);

static int check_nothing(const vctx *x, const json_t *root)
{
    return 0;
}

static const struct {
    const char *kind;
    json_check_fn check; /* NULL: not JSON (chat_template.jinja) */
} kinds[] = {
    {"tokenizer.json", check_tokenizer_json},
    {"tokenizer_config.json", check_tokenizer_config},
    {"special_tokens_map.json", check_special_tokens},
    {"generation_config.json", check_generation_config},
    {"config.json", check_nothing},
    {"chat_template.jinja", NULL},
};

bool ingot_hf_file_kind_known(const char *kind)
{
    for (size_t i = 0; kind && i < INGOT_ARRAY_LEN(kinds); i++)
        if (strcmp(kind, kinds[i].kind) == 0)
            return true;
    return false;
}

/*
 * Parses a JSON object.  jansson's integers are 64-bit and it refuses larger
 * ones, but tokenizer_config.json routinely holds model_max_length = 1e30
 * written as an integer: on that error, parse again with every number as a
 * real and remember to accept integral reals as integers.
 */
static json_t *load_object(vctx *x, const char *data, size_t len)
{
    json_error_t je;
    x->lenient = false;
    json_t *j = json_loadb(data, len, 0, &je);
    if (!j && json_error_code(&je) == json_error_numeric_overflow) {
        x->lenient = true;
        j = json_loadb(data, len, JSON_DECODE_INT_AS_REAL, &je);
    }
    if (!j) {
        failv(x, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        failv(x, "expected a JSON object");
        return NULL;
    }
    return j;
}

static int check_text(const vctx *x, const char *data, size_t len)
{
    size_t bad;
    if (!ingot_utf8_valid(data, len, &bad))
        return failv(x, "invalid UTF-8 at byte %zu", bad);
    const char *nul = memchr(data, '\0', len);
    if (nul)
        return failv(x, "NUL byte at offset %zu", (size_t)(nul - data));
    return 0;
}

static int validate(vctx *x, json_check_fn check, const char *data, size_t len)
{
    if (!check)
        return check_text(x, data, len);
    json_t *root = load_object(x, data, len);
    if (!root)
        return -1;
    int rc = check(x, root);
    json_decref(root);
    return rc;
}

int ingot_hf_validate_file(const char *path, const char *kind, const char *data, size_t len,
                           int vocab_size, ingot_error *err)
{
    size_t k = 0;
    while (kind && k < INGOT_ARRAY_LEN(kinds) && strcmp(kind, kinds[k].kind) != 0)
        k++;
    if (!path || !kind || k == INGOT_ARRAY_LEN(kinds))
        return ingot_fail(err, INGOT_ERR_ARG, "%s: unknown HF file kind \"%s\"",
                          path ? path : "?", kind ? kind : "(null)");
    vctx x = {path, vocab_size, false, err};
    if (data)
        return validate(&x, kinds[k].check, data, len);
    char *buf = NULL;
    size_t n = 0;
    if (ingot_read_file(path, MAX_HF_FILE, &buf, &n, err) != 0)
        return -1;
    int rc = validate(&x, kinds[k].check, buf, n);
    free(buf);
    return rc;
}
