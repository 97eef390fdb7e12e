/*
 * tok_internal.h - pieces shared by the tokenizer's source files
 * (tokenizer.c, tok_text.c, tok_normalize.c, tok_pretok.c, tok_bpe.c,
 * tok_decode.c).  Not part of any public or cross-module API.
 */
#ifndef INGOT_TOK_INTERNAL_H
#define INGOT_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"
#include "util/util.h"

/* Longest JSON field path kept for error messages. */
#define INGOT_TOK_PATH 256

/* ---- errors ---- */

/** NULL for an empty JSON field path: ingot_fail_in then leaves it out. */
static inline const char *ingot_tok_path_or_null(const char *path)
{
    return path && *path ? path : NULL;
}

/**
 * Fills err with "<what>: <path>: <printf-formatted why>" ("<what>: <why>"
 * when path is empty).  @return -1.
 */
#define ingot_tok_fail(err, code, what, path, ...) \
    ingot_fail_in(err, code, what, ingot_tok_path_or_null(path), __VA_ARGS__)

/* ---- growable byte buffer ---- */

typedef struct ingot_tok_buf {
    char *p;
    size_t len, cap;
} ingot_tok_buf;

int ingot_tok_buf_reserve(ingot_tok_buf *b, size_t extra);
int ingot_tok_buf_put(ingot_tok_buf *b, const void *s, size_t n);
int ingot_tok_buf_put_cp(ingot_tok_buf *b, uint32_t cp);
void ingot_tok_buf_free(ingot_tok_buf *b);

/* ---- a list of strings sharing one arena ---- */

typedef struct ingot_tok_piece {
    size_t off, len;
    int at_start; /* begins at offset 0 of the original input (Metaspace "first") */
} ingot_tok_piece;

typedef struct ingot_tok_pieces {
    ingot_tok_buf text;
    ingot_tok_piece *v;
    size_t n, cap;
    int keep_empty; /* decoders see empty tokens; pre-tokenizers drop them */
} ingot_tok_pieces;

int ingot_tok_pieces_push(ingot_tok_pieces *l, const char *s, size_t len, int at_start);
/** Starts a piece whose bytes the caller then appends to l->text. */
int ingot_tok_pieces_open(ingot_tok_pieces *l, int at_start);
/** Ends the piece begun by ingot_tok_pieces_open; drops it when empty
 *  unless l->keep_empty. */
void ingot_tok_pieces_close(ingot_tok_pieces *l);
void ingot_tok_pieces_clear(ingot_tok_pieces *l);
void ingot_tok_pieces_free(ingot_tok_pieces *l);

static inline const char *ingot_tok_piece_str(const ingot_tok_pieces *l, size_t i)
{
    /* only empty pieces have been added while text has no buffer: NULL + 0 is undefined */
    return l->text.p ? l->text.p + l->v[i].off : "";
}

/* ---- int32 vector ---- */

typedef struct ingot_tok_ids {
    int32_t *v;
    size_t n, cap;
} ingot_tok_ids;

int ingot_tok_ids_push(ingot_tok_ids *a, int32_t id);

/* ---- string -> (a, b) hash map; keys are copied ---- */

typedef struct ingot_tok_slot {
    uint64_t hash; /* 0: empty slot */
    uint32_t off, len;
    int32_t a, b;
} ingot_tok_slot;

typedef struct ingot_tok_map {
    ingot_tok_slot *slots;
    size_t cap, n; /* cap is 0 or a power of two */
    ingot_tok_buf keys;
} ingot_tok_map;

/** Inserts or overwrites.  @return 0, or -1 when out of memory. */
int ingot_tok_map_put(ingot_tok_map *m, const char *k, size_t len, int32_t a, int32_t b);
const ingot_tok_slot *ingot_tok_map_get(const ingot_tok_map *m, const char *k, size_t len);
void ingot_tok_map_clear(ingot_tok_map *m);
void ingot_tok_map_free(ingot_tok_map *m);

/* ---- UTF-8 ---- */

/** @return the length of the (valid) UTF-8 sequence starting with byte c. */
static inline size_t ingot_tok_u8len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}
/** Decodes the valid UTF-8 character at s; *n receives its length. */
uint32_t ingot_tok_u8dec(const char *s, size_t *n);
/** @return the number of bytes (1-4) written to out. */
size_t ingot_tok_u8enc(uint32_t cp, char out[4]);
/** @return 1 when s is valid UTF-8. */
int ingot_tok_u8valid(const char *s, size_t len);
/** Appends s with each maximal invalid subsequence replaced by U+FFFD
 *  (Python's errors='replace', Rust's from_utf8_lossy). */
int ingot_tok_u8lossy(ingot_tok_buf *out, const char *s, size_t len);

/* Unicode predicates as Rust's char methods define them. */
int ingot_tok_is_whitespace(uint32_t cp);
int ingot_tok_is_numeric(uint32_t cp);
int ingot_tok_is_alnum(uint32_t cp);
int ingot_tok_is_punct(uint32_t cp);

/* ---- regexes and splitting ---- */

/** A matched or unmatched stretch of a string; consecutive spans tile it. */
typedef struct ingot_tok_span {
    size_t start, end;
    int match;
} ingot_tok_span;

typedef struct ingot_tok_spans {
    ingot_tok_span *v;
    size_t n, cap;
} ingot_tok_spans;

/** Per-call working memory, so that a loaded tokenizer stays read-only. */
typedef struct ingot_tok_scratch {
    pcre2_match_data *md;
    ingot_tok_spans spans;
    ingot_tok_buf tmp;
} ingot_tok_scratch;

/** Compiles a pattern object {"Regex": ...} or {"String": ...} (a literal). */
pcre2_code *ingot_tok_pattern_parse(json_t *j, const char *what, const char *path,
                                    ingot_error *err);
pcre2_code *ingot_tok_regex_compile(const char *pat, size_t len, int literal, const char *what,
                                    const char *path, ingot_error *err);

/** Fills sc->spans with the matched and unmatched stretches of s, as HF's
 *  Pattern::find_matches over Oniguruma's find_iter. */
int ingot_tok_regex_spans(const pcre2_code *re, const char *s, size_t len, int invert,
                          ingot_tok_scratch *sc, ingot_error *err);
/** The same for a character predicate (or, when pred is NULL, the character
 *  only): every matching character is a match of its own.  -1: no memory. */
int ingot_tok_pred_spans(int (*pred)(uint32_t), uint32_t only, const char *s, size_t len,
                         ingot_tok_spans *spans);
int ingot_tok_spans_push(ingot_tok_spans *sp, size_t start, size_t end, int match);

enum ingot_tok_behavior {
    INGOT_TOK_REMOVED,
    INGOT_TOK_ISOLATED,
    INGOT_TOK_MERGED_PREV,
    INGOT_TOK_MERGED_NEXT,
    INGOT_TOK_CONTIGUOUS
};

/** Applies a split behaviour to spans over s and appends the non-empty
 *  resulting pieces to out. */
int ingot_tok_split(const ingot_tok_spans *spans, int behavior, const char *s, int at_start,
                    ingot_tok_pieces *out);

/* ---- JSON helpers: missing or null fields take the default ---- */

int ingot_tok_get_bool(json_t *o, const char *key, int def, int *out, const char *what,
                       const char *path, ingot_error *err);
/** *out points into o; NULL when absent and not required. */
int ingot_tok_get_str(json_t *o, const char *key, int required, const char **out, size_t *len,
                      const char *what, const char *path, ingot_error *err);
int ingot_tok_get_int(json_t *o, const char *key, long long def, long long *out, const char *what,
                      const char *path, ingot_error *err);
/** The "type" of a component; fails naming path.type when absent. */
const char *ingot_tok_type(json_t *o, const char *what, const char *path, ingot_error *err);
/** Fails naming path.type: "unsupported <kind> type \"<type>\"". */
int ingot_tok_bad_type(ingot_error *err, const char *what, const char *path, const char *kind,
                       const char *type);
/** A one-character string field (Metaspace replacement, Strip content). */
int ingot_tok_get_char(json_t *o, const char *key, uint32_t def, uint32_t *out, const char *what,
                       const char *path, ingot_error *err);

/* ---- the parsing the normalizers, pre-tokenizers and decoders share ---- */

/*
 * Defines T *fn(json_t *j, const char *what, const char *path, ingot_error *err):
 * looks j's "type" up in types[] ({name, kind} entries; label names the
 * component in "unsupported <label> type"), then fills a zeroed T of that
 * kind with body(x, j, what, path, err), freed with free_fn on failure.
 */
#define INGOT_TOK_COMPONENT_PARSER(fn, T, types, label, body, free_fn)                 \
    T *fn(json_t *j, const char *what, const char *path, ingot_error *err)            \
    {                                                                                  \
        const char *type = ingot_tok_type(j, what, path, err);                         \
        if (!type)                                                                     \
            return NULL;                                                               \
        size_t k = 0;                                                                  \
        while (k < INGOT_ARRAY_LEN(types) && strcmp(types[k].name, type))              \
            k++;                                                                       \
        if (k == INGOT_ARRAY_LEN(types)) {                                             \
            ingot_tok_bad_type(err, what, path, label, type);                          \
            return NULL;                                                               \
        }                                                                              \
        T *x = calloc(1, sizeof *x);                                                   \
        if (!x) {                                                                      \
            ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);               \
            return NULL;                                                               \
        }                                                                              \
        x->kind = types[k].kind;                                                       \
        if (body(x, j, what, path, err)) {                                             \
            free_fn(x);                                                                \
            return NULL;                                                               \
        }                                                                              \
        return x;                                                                      \
    }

/*
 * Defines static int fn(T *x, json_t *j, const char *what, const char *path,
 * ingot_error *err) for a Sequence: the array j.key (a string literal),
 * parsed item by item with parse into x->items (NULL-terminated) and
 * x->n_items.
 */
#define INGOT_TOK_SEQ_PARSER(fn, T, key, parse)                                                \
    static int fn(T *x, json_t *j, const char *what, const char *path, ingot_error *err)     \
    {                                                                                          \
        char sub[INGOT_TOK_PATH];                                                              \
        json_t *arr = json_object_get(j, key);                                                 \
        if (!json_is_array(arr))                                                               \
            return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path,                           \
                                  "\"" key "\" must be an array");                             \
        x->items = calloc(json_array_size(arr) + 1, sizeof *x->items);                         \
        if (!x->items)                                                                         \
            return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);                \
        for (size_t i = 0; i < json_array_size(arr); i++) {                                    \
            snprintf(sub, sizeof sub, "%s." key "[%zu]", path, i);                             \
            x->items[i] = parse(json_array_get(arr, i), what, sub, err);                       \
            if (!x->items[i])                                                                  \
                return -1;                                                                     \
            x->n_items++;                                                                      \
        }                                                                                      \
        return 0;                                                                              \
    }

/* ---- normalizers (tok_normalize.c) ---- */

typedef struct ingot_tok_norm ingot_tok_norm;
ingot_tok_norm *ingot_tok_norm_parse(json_t *j, const char *what, const char *path,
                                     ingot_error *err);
/** Normalizes s in place.  *lead_removed is set when the first characters of
 *  s were deleted (it then no longer starts at its original offset). */
int ingot_tok_norm_apply(const ingot_tok_norm *n, ingot_tok_buf *s, int *lead_removed,
                         ingot_tok_scratch *sc, ingot_error *err);
void ingot_tok_norm_free(ingot_tok_norm *n);

/* ---- pre-tokenizers (tok_pretok.c) ---- */

typedef struct ingot_tok_pretok ingot_tok_pretok;
ingot_tok_pretok *ingot_tok_pretok_parse(json_t *j, const char *what, const char *path,
                                         ingot_error *err);
/** Splits s into the pieces the model encodes one by one (appended to out). */
int ingot_tok_pretok_run(const ingot_tok_pretok *p, const char *s, size_t len, int at_start,
                         ingot_tok_pieces *out, ingot_tok_scratch *sc, ingot_error *err);
void ingot_tok_pretok_free(ingot_tok_pretok *p);

/** @return the character GPT-2's ByteLevel components use for byte b. */
uint32_t ingot_tok_byte_char(unsigned char b);
/** @return the byte of a ByteLevel character, or -1. */
int ingot_tok_char_byte(uint32_t cp);

/* ---- BPE model (tok_bpe.c) ---- */

typedef struct ingot_tok_bpe ingot_tok_bpe;
ingot_tok_bpe *ingot_tok_bpe_load(json_t *model, const char *what, ingot_error *err);
void ingot_tok_bpe_free(ingot_tok_bpe *b);
/** Appends the ids of one pre-token. */
int ingot_tok_bpe_encode(const ingot_tok_bpe *b, const char *s, size_t len, ingot_tok_ids *out,
                         ingot_error *err);
/** @return the vocabulary, for id lookups. */
const ingot_tok_map *ingot_tok_bpe_vocab(const ingot_tok_bpe *b);

/* ---- decoders (tok_decode.c) ---- */

typedef struct ingot_tok_dec ingot_tok_dec;
ingot_tok_dec *ingot_tok_dec_parse(json_t *j, const char *what, const char *path, ingot_error *err);
/** Runs the decoder chain over the tokens in *toks (replaced by the result). */
int ingot_tok_dec_run(const ingot_tok_dec *d, ingot_tok_pieces *toks, ingot_tok_scratch *sc,
                      ingot_error *err);
void ingot_tok_dec_free(ingot_tok_dec *d);

#endif /* INGOT_TOK_INTERNAL_H */
