/*
 * tokenizer.c - loading a tokenizer.json and the encode/decode pipelines.
 *
 * Encoding follows HF's TokenizerImpl::encode: added tokens are split out of
 * the raw text first (those with normalized=false), each remaining stretch
 * is normalized and split again on the normalized added tokens, the rest is
 * pre-tokenized, and every pre-token goes through the BPE model.  The
 * post-processor then adds BOS and the like when asked to.
 */
#include "config.h"

#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct added_tok {
    char *content;
    size_t len;
    char *pattern; /* what is searched for: content, normalized when normalized */
    size_t pattern_len;
    int32_t id;
    int special, lstrip, rstrip, single_word, normalized;
} added_tok;

/* Added tokens searched for in one pass, bucketed by first byte with the
 * longest first, which gives Aho-Corasick's leftmost-longest matches. */
typedef struct match_set {
    const added_tok **toks;
    size_t start[257];
} match_set;

/* A post-processing template: ids to emit, -1 standing for the sequence. */
typedef struct tmpl {
    int32_t *ids;
    size_t n, cap;
} tmpl;

struct ingot_tokenizer {
    char *what;
    ingot_tok_bpe *bpe;
    ingot_tok_norm *norm;
    ingot_tok_pretok *pretok;
    ingot_tok_dec *dec;
    added_tok *added;
    size_t n_added;
    ingot_tok_map added_ids; /* content -> (id, -) */
    match_set raw, normed;
    tmpl *tmpls;
    size_t n_tmpls;
    uint32_t *tok_off; /* id -> offset in tok_text, UINT32_MAX: none */
    uint8_t *special;  /* id -> is an added special token */
    int32_t n_ids;
    ingot_tok_buf tok_text;
};

static void *oom_null(ingot_error *err, const char *what)
{
    ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
    return NULL;
}

static int oom(ingot_error *err, const char *what)
{
    return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
}

static int scratch_init(ingot_tok_scratch *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->md = pcre2_match_data_create(1, NULL);
    return sc->md ? 0 : -1;
}

static void scratch_free(ingot_tok_scratch *sc)
{
    pcre2_match_data_free(sc->md);
    free(sc->spans.v);
    ingot_tok_buf_free(&sc->tmp);
}

void ingot_tokenizer_free(ingot_tokenizer *t)
{
    if (!t)
        return;
    ingot_tok_bpe_free(t->bpe);
    ingot_tok_norm_free(t->norm);
    ingot_tok_pretok_free(t->pretok);
    ingot_tok_dec_free(t->dec);
    for (size_t i = 0; i < t->n_added; i++) {
        if (t->added[i].pattern != t->added[i].content)
            free(t->added[i].pattern);
        free(t->added[i].content);
    }
    free(t->added);
    ingot_tok_map_free(&t->added_ids);
    free(t->raw.toks);
    free(t->normed.toks);
    for (size_t i = 0; i < t->n_tmpls; i++)
        free(t->tmpls[i].ids);
    free(t->tmpls);
    free(t->tok_off);
    free(t->special);
    ingot_tok_buf_free(&t->tok_text);
    free(t->what);
    free(t);
}

/* ------------------------------------------------------------------ added tokens */

static int parse_added_flags(added_tok *a, json_t *j, const char *what, const char *path,
                             ingot_error *err)
{
    if (ingot_tok_get_bool(j, "special", 0, &a->special, what, path, err) ||
        ingot_tok_get_bool(j, "lstrip", 0, &a->lstrip, what, path, err) ||
        ingot_tok_get_bool(j, "rstrip", 0, &a->rstrip, what, path, err) ||
        ingot_tok_get_bool(j, "single_word", 0, &a->single_word, what, path, err) ||
        ingot_tok_get_bool(j, "normalized", !a->special, &a->normalized, what, path, err))
        return -1;
    return 0;
}

/*
 * HF ignores the ids written in added_tokens: a token the vocabulary (or an
 * earlier added token) already has keeps that id, any other one takes the
 * next id after the vocabulary and the added tokens so far.
 */
static int32_t added_id(const ingot_tokenizer *t, const char *content, size_t len,
                        int64_t max_added)
{
    const ingot_tok_map *vocab = ingot_tok_bpe_vocab(t->bpe);
    const ingot_tok_slot *s = ingot_tok_map_get(&t->added_ids, content, len);
    if (!s)
        s = ingot_tok_map_get(vocab, content, len);
    if (s)
        return s->a;
    int64_t n = (int64_t)vocab->n;
    int64_t id = max_added < 0 ? n : (max_added >= n || n == 0) ? max_added + 1 : n;
    return id > INT32_MAX ? -1 : (int32_t)id;
}

static int parse_added(ingot_tokenizer *t, json_t *j, size_t i, int vocab_size, int64_t *max_added,
                       ingot_error *err)
{
    char path[64];
    const char *content;
    size_t len;
    long long file_id;
    added_tok a = {0};
    snprintf(path, sizeof path, "added_tokens[%zu]", i);
    if (!json_is_object(j))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, path, "must be an object");
    if (ingot_tok_get_str(j, "content", 1, &content, &len, t->what, path, err) ||
        ingot_tok_get_int(j, "id", 0, &file_id, t->what, path, err) ||
        parse_added_flags(&a, j, t->what, path, err))
        return -1;
    if (!len)
        return 0; /* HF ignores empty added tokens */
    a.id = added_id(t, content, len, *max_added);
    if (a.id < 0 || (vocab_size > 0 && a.id >= vocab_size))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, path,
                              "id %lld is not below the model's vocab size %d", (long long)a.id,
                              vocab_size);
    if (!(a.content = malloc(len + 1)))
        return oom(err, t->what);
    memcpy(a.content, content, len + 1);
    a.len = a.pattern_len = len;
    a.pattern = a.content;
    t->added[t->n_added] = a;
    /* a repeated content keeps its id; its last entry's flags win */
    if (ingot_tok_map_put(&t->added_ids, content, len, a.id, (int32_t)t->n_added++))
        return oom(err, t->what);
    *max_added = a.id > *max_added ? a.id : *max_added;
    return 0;
}

/* Normalized added tokens are searched for in normalized text, so their
 * pattern is their content normalized. */
static int normalize_patterns(ingot_tokenizer *t, ingot_error *err)
{
    ingot_tok_scratch sc;
    ingot_tok_buf b = {0};
    int rc = 0, lead;
    if (!t->norm)
        return 0;
    if (scratch_init(&sc))
        return oom(err, t->what);
    for (size_t i = 0; i < t->n_added && !rc; i++) {
        added_tok *a = &t->added[i];
        if (!a->normalized)
            continue;
        b.len = 0;
        rc = ingot_tok_buf_put(&b, a->content, a->len)
                 ? oom(err, t->what)
                 : ingot_tok_norm_apply(t->norm, &b, &lead, &sc, err);
        if (rc || !(a->pattern = malloc(b.len + 1))) {
            a->pattern = a->content;
            rc = rc ? rc : oom(err, t->what);
            break;
        }
        memcpy(a->pattern, b.p, b.len);
        a->pattern_len = b.len;
    }
    ingot_tok_buf_free(&b);
    scratch_free(&sc);
    return rc;
}

static int by_first_byte_longest(const void *x, const void *y)
{
    const added_tok *a = *(const added_tok *const *)x, *b = *(const added_tok *const *)y;
    unsigned char ca = (unsigned char)a->pattern[0], cb = (unsigned char)b->pattern[0];
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (a->pattern_len != b->pattern_len)
        return a->pattern_len > b->pattern_len ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int build_match_set(ingot_tokenizer *t, match_set *ms, int normalized)
{
    size_t n = 0;
    if (!(ms->toks = calloc(t->n_added + 1, sizeof *ms->toks)))
        return -1;
    for (size_t i = 0; i < t->n_added; i++) {
        const added_tok *a = &t->added[i];
        const ingot_tok_slot *s = ingot_tok_map_get(&t->added_ids, a->content, a->len);
        /* a later entry with the same content replaced this one */
        if (a->normalized == normalized && a->pattern_len && s && s->b == (int32_t)i)
            ms->toks[n++] = a;
    }
    qsort(ms->toks, n, sizeof *ms->toks, by_first_byte_longest);
    for (size_t c = 0, k = 0; c <= 256; c++) {
        while (k < n && (unsigned char)ms->toks[k]->pattern[0] < c)
            k++;
        ms->start[c] = k;
    }
    ms->start[256] = n;
    return 0;
}

static int load_added(ingot_tokenizer *t, json_t *arr, int vocab_size, ingot_error *err)
{
    if (arr && !json_is_null(arr) && !json_is_array(arr))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, "added_tokens", "must be an array");
    int64_t max_added = -1;
    if (!(t->added = calloc(json_array_size(arr) + 1, sizeof *t->added)))
        return oom(err, t->what);
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (parse_added(t, json_array_get(arr, i), i, vocab_size, &max_added, err))
            return -1;
    if (normalize_patterns(t, err))
        return -1;
    if (build_match_set(t, &t->raw, 0) || build_match_set(t, &t->normed, 1))
        return oom(err, t->what);
    return 0;
}

/* ------------------------------------------------------------------ id table */

static int set_token(ingot_tokenizer *t, int32_t id, const char *s, size_t len)
{
    if (t->tok_text.len + len + 1 > UINT32_MAX)
        return -1;
    t->tok_off[id] = (uint32_t)t->tok_text.len;
    return ingot_tok_buf_put(&t->tok_text, s, len) || ingot_tok_buf_put(&t->tok_text, "", 1);
}

/* ids may exceed twice the number of tokens by this much (gaps, reserved ids) */
#define SPARSE_IDS 65536

static int build_id_table(ingot_tokenizer *t, int vocab_size, ingot_error *err)
{
    const ingot_tok_map *v = ingot_tok_bpe_vocab(t->bpe);
    int32_t max = -1;
    for (size_t i = 0; i < v->cap; i++) {
        const ingot_tok_slot *s = &v->slots[i];
        if (s->hash && vocab_size > 0 && s->a >= vocab_size)
            return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, "model.vocab",
                                  "id %d of \"%.*s\" is not below the model's vocab size %d",
                                  (int)s->a, (int)s->len, v->keys.p + s->off, vocab_size);
        if (s->hash && s->a > max)
            max = s->a;
    }
    size_t n_tokens = t->n_added;
    for (size_t i = 0; i < v->cap; i++)
        n_tokens += v->slots[i].hash != 0;
    for (size_t i = 0; i < t->n_added; i++) /* ids given as HF gives them: after the vocabulary */
        max = t->added[i].id > max ? t->added[i].id : max;
    /* The id table is as long as the largest id: real vocabularies are dense,
     * so an id far beyond the token count is a crafted file asking for
     * gigabytes (found by fuzzing), not a tokenizer. */
    if ((size_t)max > 2 * n_tokens + SPARSE_IDS)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, "model.vocab",
                              "token id %d is far beyond the %zu tokens defined", (int)max, n_tokens);
    t->n_ids = max + 1;
    t->tok_off = malloc(((size_t)t->n_ids + 1) * sizeof *t->tok_off);
    t->special = calloc((size_t)t->n_ids + 1, 1);
    if (!t->tok_off || !t->special)
        return oom(err, t->what);
    memset(t->tok_off, 0xFF, ((size_t)t->n_ids + 1) * sizeof *t->tok_off);
    for (size_t i = 0; i < v->cap; i++)
        if (v->slots[i].hash &&
            set_token(t, v->slots[i].a, v->keys.p + v->slots[i].off, v->slots[i].len))
            return oom(err, t->what);
    /* HF spells a normalized added token in its normalized form, and skips
     * a special token when decoding only if that spelling is its content */
    for (size_t i = 0; i < t->n_added; i++) {
        const added_tok *a = &t->added[i];
        if (set_token(t, a->id, a->pattern, a->pattern_len))
            return oom(err, t->what);
        if (a->pattern_len == a->len && !memcmp(a->pattern, a->content, a->len))
            t->special[a->id] |= (uint8_t)a->special;
    }
    return 0;
}

/* ------------------------------------------------------------------ post-processor */

static int tmpl_push(tmpl *tp, int32_t id)
{
    if (tp->n == tp->cap) {
        size_t cap = tp->cap ? 2 * tp->cap : 8;
        int32_t *v = realloc(tp->ids, cap * sizeof *v);
        if (!v)
            return -1;
        tp->ids = v;
        tp->cap = cap;
    }
    tp->ids[tp->n++] = id;
    return 0;
}

static int template_item(ingot_tokenizer *t, json_t *item, json_t *specials, tmpl *tp,
                         int vocab_size, const char *path, ingot_error *err)
{
    json_t *seq = json_object_get(item, "Sequence"), *sp = json_object_get(item, "SpecialToken");
    if (seq) {
        const char *id = json_string_value(json_object_get(seq, "id"));
        if (!id || strcmp(id, "A"))
            return ingot_tok_fail(err, INGOT_ERR_UNSUPPORTED, t->what, path,
                                  "a single-sequence template can only hold sequence A");
        return tmpl_push(tp, -1) ? oom(err, t->what) : 0;
    }
    const char *name = json_string_value(json_object_get(sp, "id"));
    if (!name)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, path,
                              "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    json_t *ids = json_object_get(json_object_get(specials, name), "ids");
    if (!json_is_array(ids))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, path,
                              "special token \"%s\" has no ids in special_tokens", name);
    for (size_t k = 0; k < json_array_size(ids); k++) {
        json_t *v = json_array_get(ids, k);
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id > INT32_MAX || (vocab_size > 0 && id >= vocab_size))
            return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, path,
                                  "special token \"%s\" has an invalid id", name);
        if (tmpl_push(tp, (int32_t)id))
            return oom(err, t->what);
    }
    return 0;
}

static int parse_template(ingot_tokenizer *t, json_t *j, int vocab_size, const char *path,
                          ingot_error *err)
{
    char sub[INGOT_TOK_PATH];
    json_t *single = json_object_get(j, "single"), *specials = json_object_get(j, "special_tokens");
    if (!json_is_array(single))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, path, "\"single\" must be an array");
    tmpl *grown = realloc(t->tmpls, (t->n_tmpls + 1) * sizeof *grown);
    if (!grown)
        return oom(err, t->what);
    t->tmpls = grown;
    tmpl *tp = &t->tmpls[t->n_tmpls++];
    *tp = (tmpl){0};
    for (size_t i = 0; i < json_array_size(single); i++) {
        snprintf(sub, sizeof sub, "%s.single[%zu]", path, i);
        if (template_item(t, json_array_get(single, i), specials, tp, vocab_size, sub, err))
            return -1;
    }
    return 0;
}

static int parse_post(ingot_tokenizer *t, json_t *j, int vocab_size, const char *path,
                      ingot_error *err)
{
    char sub[INGOT_TOK_PATH];
    const char *type = ingot_tok_type(j, t->what, path, err);
    if (!type)
        return -1;
    if (!strcmp(type, "TemplateProcessing"))
        return parse_template(t, j, vocab_size, path, err);
    if (!strcmp(type, "ByteLevel"))
        return 0; /* it only trims offsets, which ingot does not report */
    if (strcmp(type, "Sequence"))
        return ingot_tok_bad_type(err, t->what, path, "post-processor", type);
    json_t *arr = json_object_get(j, "processors");
    if (!json_is_array(arr))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, t->what, path,
                              "\"processors\" must be an array");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(sub, sizeof sub, "%s.processors[%zu]", path, i);
        if (parse_post(t, json_array_get(arr, i), vocab_size, sub, err))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ loading */

static int load_components(ingot_tokenizer *t, json_t *root, int vocab_size, ingot_error *err)
{
    json_t *n = json_object_get(root, "normalizer"), *p = json_object_get(root, "pre_tokenizer");
    json_t *d = json_object_get(root, "decoder"), *pp = json_object_get(root, "post_processor");
    if (!(t->bpe = ingot_tok_bpe_load(json_object_get(root, "model"), t->what, err)))
        return -1;
    if (n && !json_is_null(n) && !(t->norm = ingot_tok_norm_parse(n, t->what, "normalizer", err)))
        return -1;
    if (p && !json_is_null(p) &&
        !(t->pretok = ingot_tok_pretok_parse(p, t->what, "pre_tokenizer", err)))
        return -1;
    if (d && !json_is_null(d) && !(t->dec = ingot_tok_dec_parse(d, t->what, "decoder", err)))
        return -1;
    if (pp && !json_is_null(pp) && parse_post(t, pp, vocab_size, "post_processor", err))
        return -1;
    if (load_added(t, json_object_get(root, "added_tokens"), vocab_size, err))
        return -1;
    return build_id_table(t, vocab_size, err);
}

ingot_tokenizer *ingot_tokenizer_load(const char *json, size_t len, const char *what,
                                      int vocab_size, ingot_error *err)
{
    json_error_t jerr;
    what = what ? what : "tokenizer.json";
    if (!json)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: no text", what), NULL;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: invalid JSON at line %d column %d: %s", what,
                   jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    ingot_tokenizer *t = calloc(1, sizeof *t);
    if (!t || !(t->what = strdup(what))) {
        free(t);
        json_decref(root);
        return oom_null(err, what);
    }
    int rc = json_is_object(root)
                 ? load_components(t, root, vocab_size, err)
                 : ingot_fail(err, INGOT_ERR_FORMAT, "%s: not a JSON object", what);
    json_decref(root);
    if (rc) {
        ingot_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* ------------------------------------------------------------------ lookups */

int32_t ingot_tokenizer_n_ids(const ingot_tokenizer *t)
{
    return t->n_ids;
}

int ingot_tokenizer_token_id(const ingot_tokenizer *t, const char *token)
{
    size_t len = strlen(token);
    const ingot_tok_slot *s = ingot_tok_map_get(&t->added_ids, token, len);
    if (!s)
        s = ingot_tok_map_get(ingot_tok_bpe_vocab(t->bpe), token, len);
    return s ? s->a : -1;
}

const char *ingot_tokenizer_id_token(const ingot_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->n_ids || t->tok_off[id] == UINT32_MAX)
        return NULL;
    return t->tok_text.p + t->tok_off[id];
}

int ingot_tokenizer_is_special(const ingot_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_ids && t->special[id];
}

/* ------------------------------------------------------------------ encoding */

typedef struct enc {
    const ingot_tokenizer *t;
    ingot_tok_scratch sc;
    ingot_tok_pieces pieces;
    ingot_tok_buf norm;
    ingot_tok_ids *out;
    ingot_error *err;
} enc;

typedef int (*segment_fn)(enc *e, const char *s, size_t len, int at_start);

/* Leftmost match at or after pos; the longest of those starting there. */
static const added_tok *find_added(const match_set *ms, const char *s, size_t len, size_t pos,
                                   size_t *at)
{
    for (size_t p = pos; p < len; p++) {
        unsigned char c = (unsigned char)s[p];
        for (size_t k = ms->start[c]; k < ms->start[c + 1]; k++) {
            const added_tok *a = ms->toks[k];
            if (a->pattern_len <= len - p && !memcmp(s + p, a->pattern, a->pattern_len)) {
                *at = p;
                return a;
            }
        }
    }
    return NULL;
}

static uint32_t char_before(const char *s, size_t end)
{
    size_t b = end - 1, n;
    while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80)
        b--;
    return ingot_tok_u8dec(s + b, &n);
}

static int is_word_char(uint32_t cp)
{
    return cp == '_' || ingot_tok_is_alnum(cp);
}

/* single_word: the match must not touch a word character on either side. */
static int single_word_ok(const char *s, size_t len, size_t start, size_t stop)
{
    size_t n;
    if (start > 0 && is_word_char(char_before(s, start)))
        return 0;
    return stop == len || !is_word_char(ingot_tok_u8dec(s + stop, &n));
}

static size_t lstrip_from(const char *s, size_t start)
{
    while (start > 0 && ingot_tok_is_whitespace(char_before(s, start))) {
        start--;
        while (start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80)
            start--;
    }
    return start;
}

static size_t rstrip_to(const char *s, size_t len, size_t stop)
{
    size_t n;
    while (stop < len && ingot_tok_is_whitespace(ingot_tok_u8dec(s + stop, &n)))
        stop += n;
    return stop;
}

/* HF's AddedVocabulary::find_matches, handing the text between the matches to fn. */
static int split_added(enc *e, const match_set *ms, const char *s, size_t len, int at_start,
                       segment_fn fn)
{
    size_t pos = 0, done = 0, at;
    const added_tok *a;
    while (ms->start[256] && (a = find_added(ms, s, len, pos, &at))) {
        size_t start = at, stop = at + a->pattern_len;
        pos = stop;
        if (a->single_word && !single_word_ok(s, len, start, stop))
            continue;
        if (a->lstrip) {
            start = lstrip_from(s, start);
            start = start > done ? start : done;
        }
        if (a->rstrip)
            stop = rstrip_to(s, len, stop);
        if (start > done && fn(e, s + done, start - done, at_start && done == 0))
            return -1;
        if (ingot_tok_ids_push(e->out, a->id))
            return oom(e->err, e->t->what);
        done = stop;
    }
    return done < len ? fn(e, s + done, len - done, at_start && done == 0) : 0;
}

static int model_segment(enc *e, const char *s, size_t len, int at_start)
{
    const ingot_tokenizer *t = e->t;
    if (!t->pretok)
        return ingot_tok_bpe_encode(t->bpe, s, len, e->out, e->err);
    ingot_tok_pieces_clear(&e->pieces);
    if (ingot_tok_pretok_run(t->pretok, s, len, at_start, &e->pieces, &e->sc, e->err))
        return -1;
    for (size_t i = 0; i < e->pieces.n; i++)
        if (ingot_tok_bpe_encode(t->bpe, ingot_tok_piece_str(&e->pieces, i), e->pieces.v[i].len,
                                 e->out, e->err))
            return -1;
    return 0;
}

static int normalized_segment(enc *e, const char *s, size_t len, int at_start)
{
    int lead_removed = 0;
    if (!e->t->norm)
        return split_added(e, &e->t->normed, s, len, at_start, model_segment);
    e->norm.len = 0;
    if (ingot_tok_buf_put(&e->norm, s, len))
        return oom(e->err, e->t->what);
    if (ingot_tok_norm_apply(e->t->norm, &e->norm, &lead_removed, &e->sc, e->err))
        return -1;
    return split_added(e, &e->t->normed, e->norm.p, e->norm.len, at_start && !lead_removed,
                       model_segment);
}

static int apply_template(const tmpl *tp, ingot_tok_ids *ids)
{
    ingot_tok_ids out = {0};
    int rc = 0;
    for (size_t i = 0; i < tp->n && !rc; i++) {
        if (tp->ids[i] >= 0)
            rc = ingot_tok_ids_push(&out, tp->ids[i]);
        for (size_t k = 0; tp->ids[i] < 0 && k < ids->n && !rc; k++)
            rc = ingot_tok_ids_push(&out, ids->v[k]);
    }
    if (rc) {
        free(out.v);
        return -1;
    }
    free(ids->v);
    *ids = out;
    return 0;
}

static int encode_text(enc *e, const char *text, size_t len, int add_special)
{
    const ingot_tokenizer *t = e->t;
    if (split_added(e, &t->raw, text, len, 1, normalized_segment))
        return -1;
    for (size_t i = 0; add_special && i < t->n_tmpls; i++)
        if (apply_template(&t->tmpls[i], e->out))
            return oom(e->err, t->what);
    return 0;
}

int ingot_tokenizer_encode(const ingot_tokenizer *t, const char *text, size_t len, int add_special,
                           int32_t **ids, size_t *n_ids, ingot_error *err)
{
    ingot_tok_ids out = {0};
    ingot_tok_buf clean = {0};
    enc e = {.t = t, .out = &out, .err = err};
    int rc = -1;
    *ids = NULL;
    *n_ids = 0;
    if (!text && len)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: encode: no text", t->what);
    if (scratch_init(&e.sc)) {
        oom(err, t->what);
        goto done;
    }
    /* HF only ever sees a valid string: invalid bytes become U+FFFD */
    if (len && !ingot_tok_u8valid(text, len)) {
        if (ingot_tok_u8lossy(&clean, text, len)) {
            oom(err, t->what);
            goto done;
        }
        text = clean.p;
        len = clean.len;
    }
    rc = encode_text(&e, text ? text : "", len, add_special);
    /* an empty result is still an array the caller can free */
    if (!rc && !out.v && !(out.v = malloc(sizeof *out.v)))
        rc = oom(err, t->what);
done:
    scratch_free(&e.sc);
    ingot_tok_pieces_free(&e.pieces);
    ingot_tok_buf_free(&e.norm);
    ingot_tok_buf_free(&clean);
    if (rc) {
        free(out.v);
        return -1;
    }
    *ids = out.v;
    *n_ids = out.n;
    return 0;
}

/* ------------------------------------------------------------------ decoding */

static int join(const ingot_tok_pieces *toks, const char *sep, ingot_tok_buf *out)
{
    for (size_t i = 0; i < toks->n; i++)
        if ((i && ingot_tok_buf_put(out, sep, strlen(sep))) ||
            ingot_tok_buf_put(out, ingot_tok_piece_str(toks, i), toks->v[i].len))
            return -1;
    return ingot_tok_buf_put(out, "", 1);
}

int ingot_tokenizer_decode(const ingot_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                           char **text, size_t *len, ingot_error *err)
{
    ingot_tok_pieces toks = {.keep_empty = 1};
    ingot_tok_scratch sc;
    ingot_tok_buf out = {0};
    int rc = 0;
    *text = NULL;
    if (scratch_init(&sc))
        return oom(err, t->what);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *tok = ingot_tokenizer_id_token(t, ids[i]);
        if (tok && !(skip_special && t->special[ids[i]]))
            rc = ingot_tok_pieces_push(&toks, tok, strlen(tok), 0) ? oom(err, t->what) : 0;
    }
    if (!rc && t->dec)
        rc = ingot_tok_dec_run(t->dec, &toks, &sc, err);
    /* without a decoder HF joins the tokens with spaces */
    if (!rc && join(&toks, t->dec ? "" : " ", &out))
        rc = oom(err, t->what);
    ingot_tok_pieces_free(&toks);
    scratch_free(&sc);
    if (rc) {
        ingot_tok_buf_free(&out);
        return -1;
    }
    *text = out.p;
    if (len)
        *len = out.len - 1;
    return 0;
}
