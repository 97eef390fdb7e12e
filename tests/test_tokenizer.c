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
#include <stdbool.h>
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

/* ------------------------------------------------------------------ the crafted cases */

/*
 * The pieces of the crafted tokenizer.json documents.  They expand to the
 * very strings the expected ids were produced from (see the top of the file).
 */
#define MS "\342\226\201" /* U+2581, SentencePiece's space */
#define BYTELEVEL(prefix, regex)                                                                   \
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":" prefix ",\"trim_offsets\":true,\"use_regex\":" \
    regex "}"
/* pre, then a ByteLevel step that only maps the bytes */
#define THEN_BYTES(pre) \
    "{\"type\":\"Sequence\",\"pretokenizers\":[" pre "," BYTELEVEL("false", "false") "]}"
#define SPLIT(pattern, behavior, invert)                                                     \
    "{\"type\":\"Split\",\"pattern\":" pattern ",\"behavior\":\"" behavior "\",\"invert\":" \
    invert "}"
/* the GPT-style split regex: Llama 3 takes up to three digits at once ("{1,3}"), Qwen2 one ("") */
#define GPT_REGEX(digits)                                                                         \
    "{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}" digits \
    "| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}"
#define LLAMA3_PRE THEN_BYTES(SPLIT(GPT_REGEX("{1,3}"), "Isolated", "false"))
#define ADDED(content, single_word, lstrip, rstrip, normalized, special)                            \
    "{\"id\": 0, \"content\": \"" content "\", \"single_word\": " single_word ", \"lstrip\": " lstrip \
    ", \"rstrip\": " rstrip ", \"normalized\": " normalized ", \"special\": " special "}"
#define SPECIAL(content) ADDED(content, "false", "false", "false", "false", "true")
#define METASPACE(scheme, split)                                                                  \
    "{\"type\":\"Metaspace\",\"replacement\":\"" MS "\",\"prepend_scheme\":\"" scheme "\",\"split\":" \
    split "}"
#define METASPACE_DECODER(scheme)                                                                 \
    "{\"type\":\"Sequence\",\"decoders\":[" METASPACE(scheme, "true") ",{\"type\":\"ByteFallback\"}," \
    "{\"type\":\"Fuse\"}]}"
/* Llama 2's normalizer: a space in front, spaces become U+2581 */
#define SP_SPACES                                                                               \
    "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"" MS "\"},"     \
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"" MS "\"}]}"
/* norm, then Llama 2's */
#define THEN_SPACES(norm) "{\"type\":\"Sequence\",\"normalizers\":[" norm "," SP_SPACES "]}"
#define TEMPLATE(token, id)                                                                        \
    "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"" token "\","         \
    "\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{" \
    "\"" token "\":{\"id\":\"" token "\",\"ids\":[" id "],\"tokens\":[\"" token "\"]}}}"

/* What a case leaves NULL: the usual decoder and added tokens of its model; null for the rest. */
static const struct {
    const char *decoder, *added_tokens;
} model_defaults[] = {
    [MODEL_BL] = {BYTELEVEL("true", "true"), SPECIAL("<|end|>")},
    [MODEL_SP] = {"{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":"
                  "\"" MS "\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"
                  "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}",
                  SPECIAL("<unk>") "," SPECIAL("<s>") "," SPECIAL("</s>")},
};

typedef struct tcase {
    const char *name;
    int model;
    const char *model_opts; /* extra "key":value pairs of the model, or NULL */
    /* NULL: the model's default (model_defaults, else null); "null" for none */
    const char *normalizer, *pre_tokenizer, *decoder, *added_tokens, *post_processor;
    const char *text;
    size_t n_ids;
    int32_t ids[32];                    /* add_special_tokens=False */
    const char *decoded, *decoded_skip; /* skip_special_tokens False / True (NULL: as False) */
    bool has_ids_special;               /* else add_special_tokens=True gives ids too */
    size_t n_ids_special;
    int32_t ids_special[32]; /* add_special_tokens=True */
} tcase;

/* The expected ids of a case, and those with special tokens when they differ. */
#define N_OF(...) (sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t))
#define IDS(...) .n_ids = N_OF(__VA_ARGS__), .ids = {__VA_ARGS__}
#define SPECIAL_IDS(...) \
    .has_ids_special = true, .n_ids_special = N_OF(__VA_ARGS__), .ids_special = {__VA_ARGS__}

static void sb_opt(sbuf *b, const char *key, const char *json)
{
    sb_str(b, ",\"");
    sb_str(b, key);
    sb_str(b, "\":");
    sb_str(b, json ? json : "null");
}

static char *build_json(const tcase *c)
{
    const char *decoder = c->decoder ? c->decoder : model_defaults[c->model].decoder;
    const char *added = c->added_tokens ? c->added_tokens : model_defaults[c->model].added_tokens;
    const char *opts = c->model_opts ? c->model_opts : "";
    sbuf b = {0};
    sb_str(&b, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[");
    sb_str(&b, added);
    sb_str(&b, "]");
    sb_opt(&b, "normalizer", c->normalizer);
    sb_opt(&b, "pre_tokenizer", c->pre_tokenizer);
    sb_opt(&b, "post_processor", c->post_processor);
    sb_opt(&b, "decoder", decoder);
    sb_str(&b, ",\"model\":");
    if (c->model == MODEL_BL)
        bl_model(&b, opts);
    else
        sp_model(&b, opts);
    sb_str(&b, "}");
    return b.p;
}

/* clang-format off */
static const tcase cases[] = {
    {.name = "llama3_split_regex", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .post_processor = "{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":false,\"use_regex\":true}," TEMPLATE("<|end|>", "278") "]}",
     .text = "Hello, hello world's 12345!\n\n  x",
     IDS(72, 257, 258, 44, 260, 275, 268, 32, 264, 52, 53, 33, 10, 10, 32, 32, 120),
     .decoded = "Hello, hello world's 12345!\n\n  x",
     SPECIAL_IDS(278, 72, 257, 258, 44, 260, 275, 268, 32, 264, 52, 53, 33, 10, 10, 32, 32, 120)},
    {.name = "qwen2_nfc", .model = MODEL_BL,
     .normalizer = "{\"type\":\"NFC\"}",
     .pre_tokenizer = THEN_BYTES(SPLIT(GPT_REGEX(""), "Isolated", "false")),
     .post_processor = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}",
     .text = "e\314\201 hello 123",
     IDS(195, 169, 260, 32, 49, 50, 51),
     .decoded = "\303\251 hello 123"},
    {.name = "bytelevel_regex_prefix", .model = MODEL_BL,
     .pre_tokenizer = BYTELEVEL("true", "true"),
     .text = "hello world, ab's",
     IDS(260, 275, 44, 270, 98, 268),
     .decoded = " hello world, ab's"},
    {.name = "bytelevel_regex_noprefix", .model = MODEL_BL,
     .pre_tokenizer = BYTELEVEL("false", "true"),
     .text = "hello  world",
     IDS(262, 32, 275),
     .decoded = "hello  world"},
    {.name = "bytelevel_prefix_noregex", .model = MODEL_BL,
     .pre_tokenizer = BYTELEVEL("true", "false"),
     .text = "hello world",
     IDS(260, 275),
     .decoded = " hello world"},
    {.name = "split_removed", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES(SPLIT("{\"String\":\" \"}", "Removed", "false")),
     .text = "a b  ab ",
     IDS(97, 98, 276),
     .decoded = "abab"},
    {.name = "split_isolated", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES(SPLIT("{\"String\":\" \"}", "Isolated", "false")),
     .text = "a b  ab ",
     IDS(97, 32, 98, 32, 32, 276, 32),
     .decoded = "a b  ab "},
    {.name = "split_merged_prev", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES(SPLIT("{\"String\":\" \"}", "MergedWithPrevious", "false")),
     .text = "a b  ab ",
     IDS(269, 98, 32, 32, 276, 32),
     .decoded = "a b  ab "},
    {.name = "split_merged_next", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES(SPLIT("{\"String\":\" \"}", "MergedWithNext", "false")),
     .text = "a b  ab ",
     IDS(97, 32, 98, 32, 270, 98, 32),
     .decoded = "a b  ab "},
    {.name = "split_contiguous", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES(SPLIT("{\"String\":\" \"}", "Contiguous", "false")),
     .text = "a b  ab ",
     IDS(97, 32, 98, 265, 276, 32),
     .decoded = "a b  ab "},
    {.name = "split_invert_removed", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES(SPLIT("{\"Regex\":\"\\\\d+\"}", "Removed", "true")),
     .text = "ab12 3x",
     IDS(263, 51),
     .decoded = "123"},
    {.name = "split_invert_contiguous", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES(SPLIT("{\"Regex\":\"\\\\s\"}", "Contiguous", "true")),
     .text = "a b  ab",
     IDS(97, 32, 98, 265, 276),
     .decoded = "a b  ab"},
    {.name = "digits_individual", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES("{\"type\":\"Digits\",\"individual_digits\":true}"),
     .text = "ab123",
     IDS(276, 49, 50, 51),
     .decoded = "ab123"},
    {.name = "digits_grouped", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES("{\"type\":\"Digits\",\"individual_digits\":false}"),
     .text = "ab123 12",
     IDS(276, 264, 32, 263),
     .decoded = "ab123 12"},
    {.name = "whitespace_split", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES("{\"type\":\"WhitespaceSplit\"}"),
     .text = " ab  hello\tworld ",
     IDS(276, 262, 119, 272, 274),
     .decoded = "abhelloworld"},
    {.name = "whitespace", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES("{\"type\":\"Whitespace\"}"),
     .text = "hello, world!! ab",
     IDS(262, 44, 119, 272, 274, 33, 33, 276),
     .decoded = "hello,world!!ab"},
    {.name = "punctuation", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES("{\"type\":\"Punctuation\",\"behavior\":\"Isolated\"}"),
     .text = "o,o, ab's",
     IDS(111, 44, 111, 44, 270, 98, 39, 115),
     .decoded = "o,o, ab's"},
    {.name = "punctuation_merged_prev", .model = MODEL_BL,
     .pre_tokenizer = THEN_BYTES("{\"type\":\"Punctuation\",\"behavior\":\"MergedWithPrevious\"}"),
     .text = "hello, ab's",
     IDS(262, 44, 270, 98, 39, 115),
     .decoded = "hello, ab's"},
    {.name = "added_special", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .text = "a<|end|>hello<|end|>",
     IDS(97, 278, 262, 278),
     .decoded = "a<|end|>hello<|end|>",
     .decoded_skip = "ahello"},
    {.name = "added_lstrip_rstrip", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .added_tokens = ADDED("<m>", "false", "true", "false", "false", "true") "," ADDED("[x]", "false", "false", "true", "false", "false"),
     .text = "ab  <m>  hello [x]   world",
     IDS(276, 278, 32, 260, 32, 279, 119, 272, 274),
     .decoded = "ab<m>  hello [x]world",
     .decoded_skip = "ab  hello [x]world"},
    {.name = "added_single_word", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .added_tokens = ADDED("ab", "true", "false", "false", "false", "false"),
     .text = "ab xab ab_ ab.",
     IDS(276, 32, 120, 276, 270, 98, 95, 32, 276, 46),
     .decoded = "ab xab ab_ ab."},
    {.name = "added_normalized", .model = MODEL_BL,
     .normalizer = "{\"type\":\"Lowercase\"}",
     .pre_tokenizer = LLAMA3_PRE,
     .added_tokens = ADDED("HELLO", "false", "false", "false", "true", "false"),
     .text = "Hello HELLO world",
     IDS(278, 32, 278, 275),
     .decoded = "hello hello world"},
    {.name = "invalid_utf8", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .text = "ab\377hello\344\270 \355\240\200!\360\237\231",
     IDS(276, 239, 191, 189, 262, 239, 191, 189, 32, 239, 191, 189, 239, 191, 189, 239, 191, 189, 33, 239, 191, 189),
     .decoded = "ab\357\277\275hello\357\277\275 \357\277\275\357\277\275\357\277\275!\357\277\275"},
    {.name = "bytelevel_decoder_other_chars", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .added_tokens = ADDED("\342\206\222x", "false", "false", "false", "false", "false"),
     .text = "a\342\206\222xb",
     IDS(97, 278, 98),
     .decoded = "a\342\206\222xb"},
    {.name = "no_decoder", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .decoder = "null",
     .text = "hello world",
     IDS(262, 275),
     .decoded = "hello \304\240world"},
    {.name = "empty_input", .model = MODEL_BL,
     .pre_tokenizer = LLAMA3_PRE,
     .post_processor = TEMPLATE("<|end|>", "278"),
     .text = "",
     .n_ids = 0,
     .decoded = "",
     SPECIAL_IDS(278)},
    {.name = "llama2", .model = MODEL_SP,
     .normalizer = SP_SPACES,
     .post_processor = TEMPLATE("<s>", "1"),
     .text = "ab hi \303\251\360\237\230\200",
     IDS(267, 259, 269, 259, 271, 243, 162, 155, 131),
     .decoded = "ab hi \303\251\360\237\230\200",
     SPECIAL_IDS(1, 267, 259, 269, 259, 271, 243, 162, 155, 131)},
    {.name = "llama2_added", .model = MODEL_SP,
     .normalizer = SP_SPACES,
     .post_processor = TEMPLATE("<s>", "1"),
     .text = "<s>ab</s> hi",
     IDS(1, 267, 2, 259, 259, 269),
     .decoded = "<s> ab</s>  hi",
     .decoded_skip = "ab  hi",
     SPECIAL_IDS(1, 1, 267, 2, 259, 259, 269)},
    {.name = "metaspace_first", .model = MODEL_SP,
     .pre_tokenizer = METASPACE("first", "false"),
     .decoder = METASPACE_DECODER("first"),
     .text = "ab hi",
     IDS(267, 259, 269),
     .decoded = "ab hi"},
    {.name = "metaspace_first_after_special", .model = MODEL_SP,
     .pre_tokenizer = METASPACE("first", "false"),
     .decoder = METASPACE_DECODER("first"),
     .text = "<s>ab hi",
     IDS(1, 266, 259, 269),
     .decoded = "<s>ab hi",
     .decoded_skip = "ab hi"},
    {.name = "metaspace_always_split", .model = MODEL_SP,
     .pre_tokenizer = METASPACE("always", "true"),
     .decoder = METASPACE_DECODER("always"),
     .text = "hi  ab",
     IDS(259, 269, 259, 267),
     .decoded = "hi  ab"},
    {.name = "metaspace_never_split", .model = MODEL_SP,
     .pre_tokenizer = METASPACE("never", "true"),
     .decoder = METASPACE_DECODER("never"),
     .text = "hi ab",
     IDS(269, 267),
     .decoded = "hi ab"},
    {.name = "lowercase", .model = MODEL_SP,
     .normalizer = THEN_SPACES("{\"type\":\"Lowercase\"}"),
     .text = "AB HI",
     IDS(267, 259, 269),
     .decoded = "ab hi"},
    {.name = "nfc", .model = MODEL_SP,
     .normalizer = THEN_SPACES("{\"type\":\"NFC\"}"),
     .text = "e\314\201",
     IDS(259, 271),
     .decoded = "\303\251"},
    {.name = "nfd", .model = MODEL_SP,
     .normalizer = THEN_SPACES("{\"type\":\"NFD\"}"),
     .text = "\303\251",
     IDS(259, 272, 207, 132),
     .decoded = "e\314\201"},
    {.name = "nfkc", .model = MODEL_SP,
     .normalizer = THEN_SPACES("{\"type\":\"NFKC\"}"),
     .text = "\357\254\201 \342\221\240",
     IDS(259, 274, 259, 52),
     .decoded = "fi 1"},
    {.name = "nfkd", .model = MODEL_SP,
     .normalizer = THEN_SPACES("{\"type\":\"NFKD\"}"),
     .text = "\303\251\342\221\240",
     IDS(259, 272, 207, 132, 52),
     .decoded = "e\314\2011"},
    {.name = "strip", .model = MODEL_SP,
     .normalizer = THEN_SPACES("{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":true}"),
     .text = "  ab  ",
     IDS(267),
     .decoded = "ab"},
    {.name = "replace_regex", .model = MODEL_SP,
     .normalizer = THEN_SPACES("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"[0-9]+\"},\"content\":\"a\"}"),
     .text = "b12c",
     IDS(259, 261, 260, 262),
     .decoded = "bac"},
    {.name = "prepend", .model = MODEL_SP,
     .normalizer = "{\"type\":\"Prepend\",\"prepend\":\"hi\"}",
     .text = "ab",
     IDS(269, 266),
     .decoded = "hiab"},
    {.name = "unk_fused", .model = MODEL_SP,
     .model_opts = "\"byte_fallback\":false,\"fuse_unk\":true",
     .normalizer = SP_SPACES,
     .text = "ab\342\202\254\342\202\254c",
     IDS(267, 0, 262),
     .decoded = "ab<unk>c",
     .decoded_skip = "abc"},
    {.name = "unk_not_fused", .model = MODEL_SP,
     .model_opts = "\"byte_fallback\":false,\"fuse_unk\":false",
     .normalizer = SP_SPACES,
     .text = "ab\342\202\254\342\202\254c",
     IDS(267, 0, 0, 262),
     .decoded = "ab<unk><unk>c",
     .decoded_skip = "abc"},
    {.name = "ignore_merges", .model = MODEL_SP,
     .model_opts = "\"ignore_merges\":true",
     .pre_tokenizer = METASPACE("always", "true"),
     .decoder = METASPACE_DECODER("first"),
     .text = "bac ab",
     IDS(275, 267),
     .decoded = "bac ab"},
    {.name = "merges_only", .model = MODEL_SP,
     .model_opts = "\"ignore_merges\":false",
     .pre_tokenizer = METASPACE("always", "true"),
     .decoder = METASPACE_DECODER("first"),
     .text = "bac ab",
     IDS(259, 261, 260, 262, 267),
     .decoded = "bac ab"},
    {.name = "decoder_strip_replace", .model = MODEL_SP,
     .normalizer = SP_SPACES,
     .decoder = "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"},{\"type\":\"Strip\",\"content\":\"" MS "\",\"start\":2,\"stop\":0},"
                "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"" MS "+\"},\"content\":\"_\"}]}",
     .text = "  ab  hi",
     IDS(259, 259, 267, 259, 259, 269),
     .decoded = "abhi"},
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
    size_t n, len = strlen(c->text);
    ingot_error err = {0};
    ck_assert_msg(!ingot_tokenizer_encode(t, c->text, len, 0, &ids, &n, &err), "%s: %s", c->name,
                  err.message);
    ck_assert_ptr_nonnull(ids);
    check_ids(c->name, "encode", ids, n, c->ids, c->n_ids);
    check_decode(t, c, ids, n, 0, c->decoded);
    check_decode(t, c, ids, n, 1, c->decoded_skip ? c->decoded_skip : c->decoded);
    free(ids);
    ck_assert_msg(!ingot_tokenizer_encode(t, c->text, len, 1, &ids, &n, &err), "%s: %s", c->name,
                  err.message);
    if (c->has_ids_special)
        check_ids(c->name, "encode with special tokens", ids, n, c->ids_special, c->n_ids_special);
    else
        check_ids(c->name, "encode with special tokens", ids, n, c->ids, c->n_ids);
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
    /* a sparse id would size the id table in gigabytes (fuzzing: corpus/tokenizer/oom-sparse-token-id) */
    {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":288888888},\"merges\":[]}}", 0,
     "model.vocab"},
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

/* The test models: their embedding size and the HF tokenizers 0.23.3 id count of eval.txt. */
static const struct {
    const char *name;
    int vocab_size;
    size_t eval_ids;
} models[] = {
    {"tiny-llama", 4096, 140892},
    {"small-qwen2", 8192, 124552},
};

START_TEST(test_golden)
{
    check_golden(models[_i].name, models[_i].vocab_size);
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

START_TEST(test_eval)
{
    check_eval(models[_i].name, models[_i].eval_ids);
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
    tcase_add_loop_test(tc, test_golden, 0, (int)(sizeof models / sizeof *models));
    tcase_add_loop_test(tc, test_eval, 0, (int)(sizeof models / sizeof *models));
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
