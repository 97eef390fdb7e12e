/*
 * test_tokenizer.c - the tokenizer.json tokenizer (tokenizer/tokenizer.h).
 *
 * Golden cases of the two test models, the whole eval.txt of each, crafted
 * tokenizers for every normalizer, pre-tokenizer, decoder and split
 * behaviour, load errors, invalid UTF-8 and concurrent use.  The expected
 * ids and texts of the crafted cases were produced by HuggingFace tokenizers
 * 0.23.3 from the very JSON documents build_json() writes.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

/* ------------------------------------------------------------------ helpers */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = 2 * (b->len + n + 1);
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Appends s as a JSON string literal. */
static void sb_json(sbuf *b, const char *s)
{
    sb_str(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_str(b, "\\");
        sb_add(b, s, 1);
    }
    sb_str(b, "\"");
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sbuf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_add(&b, chunk, n);
    fclose(f);
    if (!b.p)
        sb_add(&b, "", 0);
    *len = b.len;
    return b.p;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* The folder of a test model: tiny-llama ships in the repository, both are
 * beside it in $INGOT_MODELS.  NULL (after a SKIP line) when absent. */
static char *model_dir(const char *name)
{
    static char path[4096];
    char probe[4200];
    const char *top = getenv("top_srcdir"), *models = getenv("INGOT_MODELS");
    top = top ? top : ".";
    snprintf(path, sizeof path, "%s/models/%s", top, name);
    snprintf(probe, sizeof probe, "%s/tokenizer.json", path);
    if (file_exists(probe))
        return path;
    if (models)
        snprintf(path, sizeof path, "%s/%s", models, name);
    else
        snprintf(path, sizeof path, "%s/../shared/models/%s", top, name);
    snprintf(probe, sizeof probe, "%s/tokenizer.json", path);
    if (!file_exists(probe)) {
        printf("SKIP: %s: no such test model (set INGOT_MODELS)\n", probe);
        return NULL;
    }
    return path;
}

static ingot_tokenizer *load_model(const char *dir, int vocab_size)
{
    char path[4200];
    size_t len;
    ingot_error err = {0};
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    char *json = slurp(path, &len);
    ck_assert_msg(json != NULL, "cannot read %s", path);
    ingot_tokenizer *t = ingot_tokenizer_load(json, len, path, vocab_size, &err);
    free(json);
    ck_assert_msg(t != NULL, "load failed: %s", err.message);
    return t;
}

/* ------------------------------------------------------------------ crafted tokenizers */

/* Two small BPE models: byte-level (one token per byte, then merges) and
 * SentencePiece-like (byte fallback, merges given as pairs). */
enum { MODEL_BL, MODEL_SP };

static const char *const bl_extra[] = {
    "Ġh", "el", "lo", "Ġhel", "Ġhello", "hel", "hello", "12", "123",    "ĠĠ", ",Ġ",
    "o,", "'s", "aĠ", "Ġa",   "Ġw",     "or",  "Ġwor",  "ld", "Ġworld", "ab", "Ġab"};
static const char *const bl_merges[] = {
    "Ġ h", "e l", "l o", "Ġh el", "Ġhel lo", "h el", "hel lo", "1 2", "12 3",    "Ġ Ġ", ", Ġ",
    "o ,", "' s", "a Ġ", "Ġ a",   "Ġ w",     "o r",  "Ġw or",  "l d", "Ġwor ld", "a b", "Ġ ab"};
static const char *const sp_extra[] = {"▁",  "a",  "b",   "c", "h", "i", "▁a", "ab",  "▁ab",
                                       "▁h", "hi", "▁hi", "é", "e", "f", "fi", "▁bac"};
static const char *const sp_merges[][2] = {{"▁", "a"}, {"a", "b"},  {"▁a", "b"}, {"h", "i"},
                                           {"▁", "h"}, {"▁h", "i"}, {"f", "i"}};

/* GPT-2's byte-to-character table, written out independently of the library. */
static void byte_char(unsigned b, char out[4])
{
    unsigned cp = b <= 0x20                  ? 0x100 + b
                  : (b >= 0x7F && b <= 0xA0) ? 0x121 + (b - 0x7F)
                  : b == 0xAD                ? 0x143
                                             : b;
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

static void bl_model(sbuf *b, const char *opts)
{
    char c[4], num[32];
    sb_str(b, "{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,"
              "\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,"
              "\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":false,");
    if (*opts) {
        sb_str(b, opts);
        sb_str(b, ",");
    }
    sb_str(b, "\"vocab\":{");
    for (unsigned i = 0; i < 256; i++) {
        byte_char(i, c);
        sb_json(b, c);
        snprintf(num, sizeof num, ":%u,", i);
        sb_str(b, num);
    }
    for (size_t i = 0; i < sizeof bl_extra / sizeof *bl_extra; i++) {
        sb_json(b, bl_extra[i]);
        snprintf(num, sizeof num, ":%zu%s", 256 + i,
                 i + 1 < sizeof bl_extra / sizeof *bl_extra ? "," : "");
        sb_str(b, num);
    }
    sb_str(b, "},\"merges\":[");
    for (size_t i = 0; i < sizeof bl_merges / sizeof *bl_merges; i++) {
        sb_str(b, i ? "," : "");
        sb_json(b, bl_merges[i]);
    }
    sb_str(b, "]}");
}

static void sp_model(sbuf *b, const char *opts)
{
    char num[64];
    sb_str(b, "{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\","
              "\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,"
              "\"fuse_unk\":true,\"byte_fallback\":true,\"ignore_merges\":false,");
    if (*opts) {
        sb_str(b, opts);
        sb_str(b, ",");
    }
    sb_str(b, "\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2");
    for (unsigned i = 0; i < 256; i++) {
        snprintf(num, sizeof num, ",\"<0x%02X>\":%u", i, 3 + i);
        sb_str(b, num);
    }
    for (size_t i = 0; i < sizeof sp_extra / sizeof *sp_extra; i++) {
        sb_str(b, ",");
        sb_json(b, sp_extra[i]);
        snprintf(num, sizeof num, ":%zu", 259 + i);
        sb_str(b, num);
    }
    sb_str(b, "},\"merges\":[");
    for (size_t i = 0; i < sizeof sp_merges / sizeof *sp_merges; i++) {
        sb_str(b, i ? ",[" : "[");
        sb_json(b, sp_merges[i][0]);
        sb_str(b, ",");
        sb_json(b, sp_merges[i][1]);
        sb_str(b, "]");
    }
    sb_str(b, "]}");
}

typedef struct tcase {
    const char *name;
    int model;
    const char *model_opts; /* extra "key":value pairs of the model */
    const char *normalizer, *pre_tokenizer, *decoder, *added_tokens, *post_processor;
    const char *text;
    size_t text_len;
    size_t n_ids;
    int32_t ids[32];                    /* add_special_tokens=False */
    const char *decoded, *decoded_skip; /* skip_special_tokens False / True */
    size_t n_ids_special;
    int32_t ids_special[32]; /* add_special_tokens=True */
} tcase;

static void sb_opt(sbuf *b, const char *key, const char *json)
{
    sb_str(b, ",\"");
    sb_str(b, key);
    sb_str(b, "\":");
    sb_str(b, json ? json : "null");
}

static char *build_json(const tcase *c)
{
    sbuf b = {0};
    sb_str(&b, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[");
    sb_str(&b, c->added_tokens ? c->added_tokens : "");
    sb_str(&b, "]");
    sb_opt(&b, "normalizer", c->normalizer);
    sb_opt(&b, "pre_tokenizer", c->pre_tokenizer);
    sb_opt(&b, "post_processor", c->post_processor);
    sb_opt(&b, "decoder", c->decoder);
    sb_str(&b, ",\"model\":");
    if (c->model == MODEL_BL)
        bl_model(&b, c->model_opts);
    else
        sp_model(&b, c->model_opts);
    sb_str(&b, "}");
    return b.p;
}

/* clang-format off */
static const tcase cases[] = {
    {"llama3_split_regex", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     "{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":false,\"use_regex\":true},{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|end|>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<|end|>\":{\"id\":\"<|end|>\",\"ids\":[278],\"tokens\":[\"<|end|>\"]}}}]}",
     "Hello, hello world's 12345!\n\n  x", 32,
     17, {72, 257, 258, 44, 260, 275, 268, 32, 264, 52, 53, 33, 10, 10, 32, 32, 120},
     "Hello, hello world's 12345!\n\n  x", "Hello, hello world's 12345!\n\n  x",
     18, {278, 72, 257, 258, 44, 260, 275, 268, 32, 264, 52, 53, 33, 10, 10, 32, 32, 120}},
    {"qwen2_nfc", MODEL_BL, "",
     "{\"type\":\"NFC\"}",
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}",
     "e\314\201 hello 123", 13,
     7, {195, 169, 260, 32, 49, 50, 51},
     "\303\251 hello 123", "\303\251 hello 123",
     7, {195, 169, 260, 32, 49, 50, 51}},
    {"bytelevel_regex_prefix", MODEL_BL, "",
     NULL,
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hello world, ab's", 17,
     6, {260, 275, 44, 270, 98, 268},
     " hello world, ab's", " hello world, ab's",
     6, {260, 275, 44, 270, 98, 268}},
    {"bytelevel_regex_noprefix", MODEL_BL, "",
     NULL,
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hello  world", 12,
     3, {262, 32, 275},
     "hello  world", "hello  world",
     3, {262, 32, 275}},
    {"bytelevel_prefix_noregex", MODEL_BL, "",
     NULL,
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":false}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hello world", 11,
     2, {260, 275},
     " hello world", " hello world",
     2, {260, 275}},
    {"split_removed", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Removed\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "a b  ab ", 8,
     3, {97, 98, 276},
     "abab", "abab",
     3, {97, 98, 276}},
    {"split_isolated", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "a b  ab ", 8,
     7, {97, 32, 98, 32, 32, 276, 32},
     "a b  ab ", "a b  ab ",
     7, {97, 32, 98, 32, 32, 276, 32}},
    {"split_merged_prev", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"MergedWithPrevious\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "a b  ab ", 8,
     6, {269, 98, 32, 32, 276, 32},
     "a b  ab ", "a b  ab ",
     6, {269, 98, 32, 32, 276, 32}},
    {"split_merged_next", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"MergedWithNext\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "a b  ab ", 8,
     7, {97, 32, 98, 32, 270, 98, 32},
     "a b  ab ", "a b  ab ",
     7, {97, 32, 98, 32, 270, 98, 32}},
    {"split_contiguous", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Contiguous\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "a b  ab ", 8,
     6, {97, 32, 98, 265, 276, 32},
     "a b  ab ", "a b  ab ",
     6, {97, 32, 98, 265, 276, 32}},
    {"split_invert_removed", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\d+\"},\"behavior\":\"Removed\",\"invert\":true},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab12 3x", 7,
     2, {263, 51},
     "123", "123",
     2, {263, 51}},
    {"split_invert_contiguous", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\s\"},\"behavior\":\"Contiguous\",\"invert\":true},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "a b  ab", 7,
     5, {97, 32, 98, 265, 276},
     "a b  ab", "a b  ab",
     5, {97, 32, 98, 265, 276}},
    {"digits_individual", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab123", 5,
     4, {276, 49, 50, 51},
     "ab123", "ab123",
     4, {276, 49, 50, 51}},
    {"digits_grouped", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab123 12", 8,
     4, {276, 264, 32, 263},
     "ab123 12", "ab123 12",
     4, {276, 264, 32, 263}},
    {"whitespace_split", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"WhitespaceSplit\"},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     " ab  hello\tworld ", 17,
     5, {276, 262, 119, 272, 274},
     "abhelloworld", "abhelloworld",
     5, {276, 262, 119, 272, 274}},
    {"whitespace", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Whitespace\"},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hello, world!! ab", 17,
     8, {262, 44, 119, 272, 274, 33, 33, 276},
     "hello,world!!ab", "hello,world!!ab",
     8, {262, 44, 119, 272, 274, 33, 33, 276}},
    {"punctuation", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Punctuation\",\"behavior\":\"Isolated\"},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "o,o, ab's", 9,
     8, {111, 44, 111, 44, 270, 98, 39, 115},
     "o,o, ab's", "o,o, ab's",
     8, {111, 44, 111, 44, 270, 98, 39, 115}},
    {"punctuation_merged_prev", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Punctuation\",\"behavior\":\"MergedWithPrevious\"},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hello, ab's", 11,
     6, {262, 44, 270, 98, 39, 115},
     "hello, ab's", "hello, ab's",
     6, {262, 44, 270, 98, 39, 115}},
    {"added_special", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "a<|end|>hello<|end|>", 20,
     4, {97, 278, 262, 278},
     "a<|end|>hello<|end|>", "ahello",
     4, {97, 278, 262, 278}},
    {"added_lstrip_rstrip", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<m>\", \"single_word\": false, \"lstrip\": true, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"[x]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": true, \"normalized\": false, \"special\": false}",
     NULL,
     "ab  <m>  hello [x]   world", 26,
     9, {276, 278, 32, 260, 32, 279, 119, 272, 274},
     "ab<m>  hello [x]world", "ab  hello [x]world",
     9, {276, 278, 32, 260, 32, 279, 119, 272, 274}},
    {"added_single_word", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"ab\", \"single_word\": true, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": false}",
     NULL,
     "ab xab ab_ ab.", 14,
     10, {276, 32, 120, 276, 270, 98, 95, 32, 276, 46},
     "ab xab ab_ ab.", "ab xab ab_ ab.",
     10, {276, 32, 120, 276, 270, 98, 95, 32, 276, 46}},
    {"added_normalized", MODEL_BL, "",
     "{\"type\":\"Lowercase\"}",
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"HELLO\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": true, \"special\": false}",
     NULL,
     "Hello HELLO world", 17,
     4, {278, 32, 278, 275},
     "hello hello world", "hello hello world",
     4, {278, 32, 278, 275}},
    {"invalid_utf8", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab\377hello\344\270 \355\240\200!\360\237\231", 18,
     22, {276, 239, 191, 189, 262, 239, 191, 189, 32, 239, 191, 189, 239, 191, 189, 239, 191, 189, 33, 239, 191, 189},
     "ab\357\277\275hello\357\277\275 \357\277\275\357\277\275\357\277\275!\357\277\275", "ab\357\277\275hello\357\277\275 \357\277\275\357\277\275\357\277\275!\357\277\275",
     22, {276, 239, 191, 189, 262, 239, 191, 189, 32, 239, 191, 189, 239, 191, 189, 239, 191, 189, 33, 239, 191, 189}},
    {"bytelevel_decoder_other_chars", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"\342\206\222x\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": false}",
     NULL,
     "a\342\206\222xb", 6,
     3, {97, 278, 98},
     "a\342\206\222xb", "a\342\206\222xb",
     3, {97, 278, 98}},
    {"no_decoder", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     NULL,
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hello world", 11,
     2, {262, 275},
     "hello \304\240world", "hello \304\240world",
     2, {262, 275}},
    {"empty_input", MODEL_BL, "",
     NULL,
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]}",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}",
     "{\"id\": 0, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|end|>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<|end|>\":{\"id\":\"<|end|>\",\"ids\":[278],\"tokens\":[\"<|end|>\"]}}}",
     "", 0,
     0, {0},
     "", "",
     1, {278}},
    {"llama2", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}}",
     "ab hi \303\251\360\237\230\200", 12,
     9, {267, 259, 269, 259, 271, 243, 162, 155, 131},
     "ab hi \303\251\360\237\230\200", "ab hi \303\251\360\237\230\200",
     10, {1, 267, 259, 269, 259, 271, 243, 162, 155, 131}},
    {"llama2_added", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}}",
     "<s>ab</s> hi", 12,
     6, {1, 267, 2, 259, 259, 269},
     "<s> ab</s>  hi", "ab  hi",
     7, {1, 1, 267, 2, 259, 259, 269}},
    {"metaspace_first", MODEL_SP, "",
     NULL,
     "{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"first\",\"split\":false}",
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"first\",\"split\":true},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab hi", 5,
     3, {267, 259, 269},
     "ab hi", "ab hi",
     3, {267, 259, 269}},
    {"metaspace_first_after_special", MODEL_SP, "",
     NULL,
     "{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"first\",\"split\":false}",
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"first\",\"split\":true},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "<s>ab hi", 8,
     4, {1, 266, 259, 269},
     "<s>ab hi", "ab hi",
     4, {1, 266, 259, 269}},
    {"metaspace_always_split", MODEL_SP, "",
     NULL,
     "{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"always\",\"split\":true}",
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"always\",\"split\":true},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hi  ab", 6,
     4, {259, 269, 259, 267},
     "hi  ab", "hi  ab",
     4, {259, 269, 259, 267}},
    {"metaspace_never_split", MODEL_SP, "",
     NULL,
     "{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"never\",\"split\":true}",
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"never\",\"split\":true},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "hi ab", 5,
     2, {269, 267},
     "hi ab", "hi ab",
     2, {269, 267}},
    {"lowercase", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Lowercase\"},{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "AB HI", 5,
     3, {267, 259, 269},
     "ab hi", "ab hi",
     3, {267, 259, 269}},
    {"nfc", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "e\314\201", 3,
     2, {259, 271},
     "\303\251", "\303\251",
     2, {259, 271}},
    {"nfd", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFD\"},{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "\303\251", 2,
     4, {259, 272, 207, 132},
     "e\314\201", "e\314\201",
     4, {259, 272, 207, 132}},
    {"nfkc", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "\357\254\201 \342\221\240", 7,
     4, {259, 274, 259, 52},
     "fi 1", "fi 1",
     4, {259, 274, 259, 52}},
    {"nfkd", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKD\"},{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "\303\251\342\221\240", 5,
     5, {259, 272, 207, 132, 52},
     "e\314\2011", "e\314\2011",
     5, {259, 272, 207, 132, 52}},
    {"strip", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":true},{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "  ab  ", 6,
     1, {267},
     "ab", "ab",
     1, {267}},
    {"replace_regex", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[0-9]+\"},\"content\":\"a\"},{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "b12c", 4,
     4, {259, 261, 260, 262},
     "bac", "bac",
     4, {259, 261, 260, 262}},
    {"prepend", MODEL_SP, "",
     "{\"type\":\"Prepend\",\"prepend\":\"hi\"}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab", 2,
     2, {269, 266},
     "hiab", "hiab",
     2, {269, 266}},
    {"unk_fused", MODEL_SP, "\"byte_fallback\":false,\"fuse_unk\":true",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab\342\202\254\342\202\254c", 9,
     3, {267, 0, 262},
     "ab<unk>c", "abc",
     3, {267, 0, 262}},
    {"unk_not_fused", MODEL_SP, "\"byte_fallback\":false,\"fuse_unk\":false",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\342\226\201\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "ab\342\202\254\342\202\254c", 9,
     4, {267, 0, 0, 262},
     "ab<unk><unk>c", "abc",
     4, {267, 0, 0, 262}},
    {"ignore_merges", MODEL_SP, "\"ignore_merges\":true",
     NULL,
     "{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"always\",\"split\":true}",
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"first\",\"split\":true},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "bac ab", 6,
     2, {275, 267},
     "bac ab", "bac ab",
     2, {275, 267}},
    {"merges_only", MODEL_SP, "\"ignore_merges\":false",
     NULL,
     "{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"always\",\"split\":true}",
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Metaspace\",\"replacement\":\"\342\226\201\",\"prepend_scheme\":\"first\",\"split\":true},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "bac ab", 6,
     5, {259, 261, 260, 262, 267},
     "bac ab", "bac ab",
     5, {259, 261, 260, 262, 267}},
    {"decoder_strip_replace", MODEL_SP, "",
     "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\342\226\201\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\342\226\201\"}]}",
     NULL,
     "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},{\"type\":\"Strip\",\"content\":\"\342\226\201\",\"start\":2,\"stop\":0},{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\342\226\201+\"},\"content\":\"_\"}]}",
     "{\"id\": 0, \"content\": \"<unk>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},{\"id\": 0, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
     NULL,
     "  ab  hi", 8,
     6, {259, 259, 267, 259, 259, 269},
     "abhi", "abhi",
     6, {259, 259, 267, 259, 259, 269}},
};
/* clang-format on */

static ingot_tokenizer *load_case(const tcase *c)
{
    ingot_error err = {0};
    char *json = build_json(c);
    ingot_tokenizer *t = ingot_tokenizer_load(json, strlen(json), c->name, 0, &err);
    free(json);
    ck_assert_msg(t != NULL, "%s: load failed: %s", c->name, err.message);
    return t;
}

static void check_ids(const char *name, const char *what, const int32_t *got, size_t n_got,
                      const int32_t *want, size_t n_want)
{
    ck_assert_msg(n_got == n_want, "%s: %s: %zu ids, expected %zu", name, what, n_got, n_want);
    for (size_t i = 0; i < n_want; i++)
        ck_assert_msg(got[i] == want[i], "%s: %s: id %zu is %d, expected %d", name, what, i,
                      (int)got[i], (int)want[i]);
}

static void check_decode(const ingot_tokenizer *t, const tcase *c, const int32_t *ids, size_t n,
                         int skip, const char *want)
{
    char *text;
    size_t len;
    ingot_error err = {0};
    ck_assert_msg(!ingot_tokenizer_decode(t, ids, n, skip, &text, &len, &err), "%s: %s", c->name,
                  err.message);
    ck_assert_msg(len == strlen(want) && !memcmp(text, want, len),
                  "%s: decoded (skip %d) \"%s\", expected \"%s\"", c->name, skip, text, want);
    free(text);
}

START_TEST(test_crafted)
{
    const tcase *c = &cases[_i];
    ingot_tokenizer *t = load_case(c);
    int32_t *ids;
    size_t n;
    ingot_error err = {0};
    ck_assert_msg(!ingot_tokenizer_encode(t, c->text, c->text_len, 0, &ids, &n, &err), "%s: %s",
                  c->name, err.message);
    ck_assert_ptr_nonnull(ids);
    check_ids(c->name, "encode", ids, n, c->ids, c->n_ids);
    check_decode(t, c, ids, n, 0, c->decoded);
    check_decode(t, c, ids, n, 1, c->decoded_skip);
    free(ids);
    ck_assert_msg(!ingot_tokenizer_encode(t, c->text, c->text_len, 1, &ids, &n, &err), "%s: %s",
                  c->name, err.message);
    check_ids(c->name, "encode with special tokens", ids, n, c->ids_special, c->n_ids_special);
    free(ids);
    ingot_tokenizer_free(t);
}
END_TEST

static const tcase *find_case(const char *name)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (!strcmp(cases[i].name, name))
            return &cases[i];
    ck_abort_msg("no case %s", name);
    return NULL;
}

/* ByteFallback turns bytes that are not UTF-8 into one U+FFFD each. */
START_TEST(test_byte_fallback_decode)
{
    const tcase *c = find_case("llama2");
    ingot_tokenizer *t = load_case(c);
    const int32_t ids[] = {3 + 0xFF, 260, 3 + 0xC3, 3 + 0xA9, 3 + 0xE2};
    check_decode(t, c, ids, 5, 0, "\357\277\275a\357\277\275\357\277\275\357\277\275");
    const int32_t ok[] = {3 + 0xC3, 3 + 0xA9, 260};
    check_decode(t, c, ok, 3, 0, "\303\251a");
    ingot_tokenizer_free(t);
}
END_TEST

START_TEST(test_lookups)
{
    ingot_tokenizer *t = load_case(find_case("added_special"));
    int end = ingot_tokenizer_token_id(t, "<|end|>");
    ck_assert_int_eq(end, 278); /* HF numbers added tokens after the vocabulary */
    ck_assert_int_eq(ingot_tokenizer_token_id(t, "Ġhello"), 260);
    ck_assert_int_eq(ingot_tokenizer_token_id(t, "nope"), -1);
    ck_assert_str_eq(ingot_tokenizer_id_token(t, 260), "Ġhello");
    ck_assert_str_eq(ingot_tokenizer_id_token(t, end), "<|end|>");
    ck_assert_ptr_null(ingot_tokenizer_id_token(t, -1));
    ck_assert_ptr_null(ingot_tokenizer_id_token(t, 100000));
    ck_assert_int_eq(ingot_tokenizer_is_special(t, end), 1);
    ck_assert_int_eq(ingot_tokenizer_is_special(t, 260), 0);
    ck_assert_int_eq(ingot_tokenizer_is_special(t, -5), 0);
    ck_assert_int_eq(ingot_tokenizer_n_ids(t), 279);
    /* ids that name no token are skipped, as HF does */
    const int32_t ids[] = {104, 999999, -3, 105};
    char *text;
    size_t len;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_tokenizer_decode(t, ids, 4, 0, &text, &len, &err), 0);
    ck_assert_str_eq(text, "hi");
    free(text);
    ck_assert_int_eq(ingot_tokenizer_decode(t, NULL, 0, 0, &text, NULL, &err), 0);
    ck_assert_str_eq(text, "");
    free(text);
    ingot_tokenizer_free(t);
    ingot_tokenizer_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------ load errors */

#define M "{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}"

static const struct {
    const char *json;
    int vocab_size;
    const char *field; /* the message must name it */
} bad[] = {
    {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0},\"unk_token\":\"a\"}}", 0,
     "model.type"},
    {"{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",0.0]]}}", 0, "model.type"},
    {"{\"model\":" M ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(ab\"},"
     "\"behavior\":\"Isolated\",\"invert\":false}}",
     0, "pre_tokenizer.pattern.Regex"},
    {"{\"model\":" M ",\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
     "{\"type\":\"ByteLevel\"},{\"type\":\"BertPreTokenizer\"}]}}",
     0, "pre_tokenizer.pretokenizers[1].type"},
    {"{\"model\":" M ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},"
     "\"behavior\":\"Sideways\"}}",
     0, "pre_tokenizer.behavior"},
    {"{\"model\":" M ",\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Glob\":\"*\"},"
     "\"behavior\":\"Removed\"}}",
     0, "pre_tokenizer.pattern"},
    {"{\"model\":" M
     ",\"pre_tokenizer\":{\"type\":\"Metaspace\",\"prepend_scheme\":\"sometimes\"}}",
     0, "prepend_scheme"},
    {"{\"model\":" M ",\"normalizer\":{\"type\":\"BertNormalizer\"}}", 0, "normalizer.type"},
    {"{\"model\":" M ",\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},"
     "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[\"},\"content\":\"\"}]}}",
     0, "normalizer.normalizers[1].pattern.Regex"},
    {"{\"model\":" M
     ",\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"WordPiece\"}]}}",
     0, "decoder.decoders[0].type"},
    {"{\"model\":" M ",\"post_processor\":{\"type\":\"BertProcessing\"}}", 0,
     "post_processor.type"},
    {"{\"model\":" M ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":["
     "{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}}],\"special_tokens\":{}}}",
     0, "post_processor.single[0]"},
    {"{\"model\": ", 0, "invalid JSON"},
    {"[1, 2]", 0, "not a JSON object"},
    {"{\"normalizer\":null}", 0, "model"},
    {"{\"model\":" M ",\"added_tokens\":[{\"id\":3,\"content\":\"<x>\",\"special\":true}]}", 3,
     "added_tokens[0]"},
    {"{\"model\":" M ",\"added_tokens\":[{\"content\":7}]}", 0, "added_tokens[0]"},
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":7},\"merges\":[]}}", 5, "model.vocab"},
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"]}}", 0,
     "model.merges[0]"},
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}", 0,
     "model.merges[0]"},
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"dropout\":0.1}}", 0,
     "model.dropout"},
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"<unk>\"}}", 0,
     "model.unk_token"},
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"byte_fallback\":1}}", 0,
     "byte_fallback"},
};

START_TEST(test_load_errors)
{
    ingot_error err = {0};
    ingot_tokenizer *t = ingot_tokenizer_load(bad[_i].json, strlen(bad[_i].json), "x.json",
                                              bad[_i].vocab_size, &err);
    ck_assert_msg(t == NULL, "case %d loaded", _i);
    ck_assert_msg(!strncmp(err.message, "x.json: ", 8),
                  "message \"%s\" does not start with the file", err.message);
    ck_assert_msg(strstr(err.message, bad[_i].field) != NULL, "message \"%s\" does not name %s",
                  err.message, bad[_i].field);
    ck_assert_msg(!strchr(err.message, '\n'), "message has a newline");
    ck_assert_int_ne(err.code, INGOT_OK);
}
END_TEST

START_TEST(test_load_accepts)
{
    /* very old files have no model.type; the vocab check passes at the limit */
    const char *json =
        "{\"model\":{\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[[\"a\",\"b\"]]}}";
    ingot_error err = {0};
    ingot_tokenizer *t = ingot_tokenizer_load(json, strlen(json), "old.json", 3, &err);
    ck_assert_msg(t != NULL, "%s", err.message);
    int32_t *ids;
    size_t n;
    ck_assert_int_eq(ingot_tokenizer_encode(t, "abba", 4, 1, &ids, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[0], 2);
    ck_assert_int_eq(ids[1], 1);
    ck_assert_int_eq(ids[2], 0);
    free(ids);
    /* without a decoder HF joins the tokens with spaces */
    char *text;
    const int32_t some[] = {2, 1};
    ck_assert_int_eq(ingot_tokenizer_decode(t, some, 2, 0, &text, NULL, &err), 0);
    ck_assert_str_eq(text, "ab b");
    free(text);
    ingot_tokenizer_free(t);
}
END_TEST

/* ------------------------------------------------------------------ the test models */

static void check_golden(const char *name, int vocab_size)
{
    char *dir = model_dir(name), path[4200];
    size_t len;
    json_error_t jerr;
    if (!dir)
        return;
    ingot_tokenizer *t = load_model(dir, vocab_size);
    snprintf(path, sizeof path, "%s/golden/tokenizer_cases.json", dir);
    json_t *golden = json_load_file(path, 0, &jerr), *c;
    ck_assert_msg(golden != NULL, "%s: %s", path, jerr.text);
    ck_assert_uint_gt(json_array_size(golden), 0);
    size_t i;
    json_array_foreach(golden, i, c)
    {
        json_t *want = json_object_get(c, "ids");
        const char *text = json_string_value(json_object_get(c, "text"));
        const char *decoded = json_string_value(json_object_get(c, "decoded"));
        int32_t *ids;
        size_t n;
        char *out;
        ingot_error err = {0};
        ck_assert_msg(!ingot_tokenizer_encode(t, text, strlen(text), 0, &ids, &n, &err), "%s",
                      err.message);
        ck_assert_msg(n == json_array_size(want), "%s case %zu: %zu ids, expected %zu", name, i, n,
                      json_array_size(want));
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(ids[k] == json_integer_value(json_array_get(want, k)),
                          "%s case %zu: id %zu differs", name, i, k);
        ck_assert_int_eq(ingot_tokenizer_decode(t, ids, n, 0, &out, &len, &err), 0);
        ck_assert_msg(len == strlen(decoded) && !memcmp(out, decoded, len),
                      "%s case %zu: decoded \"%s\", expected \"%s\"", name, i, out, decoded);
        free(out);
        free(ids);
    }
    json_decref(golden);
    ingot_tokenizer_free(t);
}

START_TEST(test_golden_tiny_llama)
{
    check_golden("tiny-llama", 4096);
}
END_TEST

START_TEST(test_golden_small_qwen2)
{
    check_golden("small-qwen2", 8192);
}
END_TEST

/* The whole eval.txt: id counts from HF tokenizers 0.23.3, and decoding
 * gives the text back (it is already NFC). */
static void check_eval(const char *name, size_t want_ids)
{
    char *dir = model_dir(name), path[4200];
    size_t len, n, out_len;
    if (!dir)
        return;
    ingot_tokenizer *t = load_model(dir, 0);
    snprintf(path, sizeof path, "%s/eval.txt", dir);
    char *text = slurp(path, &len), *out;
    ck_assert_msg(text != NULL, "cannot read %s", path);
    int32_t *ids;
    ingot_error err = {0};
    ck_assert_msg(!ingot_tokenizer_encode(t, text, len, 0, &ids, &n, &err), "%s", err.message);
    ck_assert_uint_eq(n, want_ids);
    ck_assert_int_eq(ingot_tokenizer_decode(t, ids, n, 0, &out, &out_len, &err), 0);
    ck_assert(out_len == len && !memcmp(out, text, len));
    free(out);
    free(ids);
    free(text);
    ingot_tokenizer_free(t);
}

START_TEST(test_eval_tiny_llama)
{
    check_eval("tiny-llama", 140892);
}
END_TEST

START_TEST(test_eval_small_qwen2)
{
    check_eval("small-qwen2", 124552);
}
END_TEST

/* Random bytes, mostly invalid UTF-8: never an error, never a crash, and the
 * result is what the U+FFFD-replaced text gives. */
START_TEST(test_random_bytes)
{
    char *dir = model_dir("tiny-llama");
    if (!dir)
        return;
    ingot_tokenizer *t = load_model(dir, 4096);
    unsigned seed = 12345;
    char buf[64];
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(round % 60);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (char)(seed >> 16);
        }
        int32_t *ids;
        size_t n, out_len;
        char *out;
        ingot_error err = {0};
        ck_assert_msg(!ingot_tokenizer_encode(t, buf, len, 0, &ids, &n, &err), "%s", err.message);
        ck_assert_int_eq(ingot_tokenizer_decode(t, ids, n, 0, &out, &out_len, &err), 0);
        /* byte-level decoding gives the replaced text back, which encodes alike */
        int32_t *again;
        size_t n2;
        ck_assert_int_eq(ingot_tokenizer_encode(t, out, out_len, 0, &again, &n2, &err), 0);
        ck_assert_uint_eq(n, n2);
        ck_assert(!n || !memcmp(ids, again, n * sizeof *ids));
        free(again);
        free(out);
        free(ids);
    }
    ingot_tokenizer_free(t);
}
END_TEST

typedef struct job {
    const ingot_tokenizer *t;
    const char *text;
    size_t len, n;
    int32_t *ids;
    int rc;
} job;

static void *encode_job(void *arg)
{
    job *j = arg;
    ingot_error err;
    for (int r = 0; r < 3 && !j->rc; r++) {
        free(j->ids);
        j->rc = ingot_tokenizer_encode(j->t, j->text, j->len, r & 1, &j->ids, &j->n, &err);
    }
    return NULL;
}

/* The BPE cache is shared: concurrent encodes must agree with a lone one. */
START_TEST(test_threads)
{
    char *dir = model_dir("tiny-llama"), path[4200];
    size_t len;
    if (!dir)
        return;
    ingot_tokenizer *t = load_model(dir, 0);
    snprintf(path, sizeof path, "%s/eval.txt", dir);
    char *text = slurp(path, &len);
    ck_assert_ptr_nonnull(text);
    len = len > 100000 ? 100000 : len;
    while (len && ((unsigned char)text[len] & 0xC0) == 0x80)
        len--;
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){t, text + i * 1000, len - i * 1000, 0, NULL, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, encode_job, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        int32_t *ids;
        size_t n;
        ingot_error err;
        ck_assert_int_eq(jobs[i].rc, 0);
        ck_assert_int_eq(ingot_tokenizer_encode(t, jobs[i].text, jobs[i].len, 0, &ids, &n, &err),
                         0);
        ck_assert_uint_eq(n, jobs[i].n);
        ck_assert(!memcmp(ids, jobs[i].ids, n * sizeof *ids));
        free(ids);
        free(jobs[i].ids);
    }
    free(text);
    ingot_tokenizer_free(t);
}
END_TEST

static Suite *tokenizer_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("crafted");
    tcase_add_loop_test(tc, test_crafted, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_test(tc, test_byte_fallback_decode);
    tcase_add_test(tc, test_lookups);
    tcase_add_loop_test(tc, test_load_errors, 0, (int)(sizeof bad / sizeof *bad));
    tcase_add_test(tc, test_load_accepts);
    suite_add_tcase(s, tc);
    tc = tcase_create("models");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_golden_tiny_llama);
    tcase_add_test(tc, test_golden_small_qwen2);
    tcase_add_test(tc, test_eval_tiny_llama);
    tcase_add_test(tc, test_eval_small_qwen2);
    tcase_add_test(tc, test_random_bytes);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tokenizer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
