/*
 * tok_bpe.c - the BPE model of tokenizer.json.
 *
 * The merge loop is HF's Word::merge_all: a min-heap of candidate merges
 * ordered by (rank, position), with stale entries detected when popped.
 * Results are cached per pre-token (HF does the same), behind a mutex so
 * that a loaded tokenizer can encode from several threads.
 */
#include "config.h"

#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MERGE_EMPTY UINT64_MAX
#define CACHE_MAX_WORD 256      /* HF caches words shorter than this too */
#define CACHE_MAX_ENTRIES 65536 /* then the cache starts over */

typedef struct merge_slot {
    uint64_t key; /* left id << 32 | right id */
    int32_t rank, new_id;
} merge_slot;

typedef struct bpe_cache {
    pthread_mutex_t lock;
    ingot_tok_map words; /* word -> (offset in ids, count) */
    ingot_tok_ids ids;
} bpe_cache;

struct ingot_tok_bpe {
    ingot_tok_map vocab; /* token -> (id, -) */
    merge_slot *merges;
    size_t merges_cap; /* power of two */
    int byte_fallback, ignore_merges, fuse_unk;
    int32_t unk_id;        /* -1: no unk_token */
    char *prefix, *suffix; /* continuing_subword_prefix, end_of_word_suffix */
    size_t prefix_len, suffix_len;
    int32_t byte_ids[256]; /* "<0xXX>" tokens for byte_fallback, -1 when absent */
    bpe_cache *cache;
};

const ingot_tok_map *ingot_tok_bpe_vocab(const ingot_tok_bpe *b)
{
    return &b->vocab;
}

void ingot_tok_bpe_free(ingot_tok_bpe *b)
{
    if (!b)
        return;
    ingot_tok_map_free(&b->vocab);
    free(b->merges);
    free(b->prefix);
    free(b->suffix);
    if (b->cache) {
        pthread_mutex_destroy(&b->cache->lock);
        ingot_tok_map_free(&b->cache->words);
        free(b->cache->ids.v);
        free(b->cache);
    }
    free(b);
}

/* ------------------------------------------------------------------ merges map */

static size_t merge_index(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static const merge_slot *merge_get(const ingot_tok_bpe *b, int32_t l, int32_t r)
{
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    for (size_t i = merge_index(key, b->merges_cap);; i = (i + 1) & (b->merges_cap - 1)) {
        const merge_slot *s = &b->merges[i];
        if (s->key == key)
            return s;
        if (s->key == MERGE_EMPTY)
            return NULL;
    }
}

/* A pair listed twice keeps its last rank, as HF's HashMap collect does. */
static void merge_put(ingot_tok_bpe *b, int32_t l, int32_t r, int32_t rank, int32_t new_id)
{
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    size_t i = merge_index(key, b->merges_cap);
    while (b->merges[i].key != MERGE_EMPTY && b->merges[i].key != key)
        i = (i + 1) & (b->merges_cap - 1);
    b->merges[i] = (merge_slot){key, rank, new_id};
}

/* ------------------------------------------------------------------ loading */

static int load_vocab(ingot_tok_bpe *b, json_t *vocab, const char *what, ingot_error *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(vocab))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, "model.vocab", "must be an object");
    json_object_foreach(vocab, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, "model.vocab",
                                  "id of \"%s\" is not a valid token id", key);
        if (ingot_tok_map_put(&b->vocab, key, strlen(key), (int32_t)json_integer_value(v), 0))
            return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
    }
    return 0;
}

static int32_t vocab_id(const ingot_tok_bpe *b, const char *s, size_t len)
{
    const ingot_tok_slot *slot = ingot_tok_map_get(&b->vocab, s, len);
    return slot ? slot->a : -1;
}

/* Splits merges[i], either "a b" or ["a", "b"], into its two halves. */
static int merge_halves(json_t *m, size_t i, ingot_tok_buf *tmp, size_t *split, const char *what,
                        ingot_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "model.merges[%zu]", i);
    tmp->len = 0;
    if (json_is_string(m)) {
        const char *s = json_string_value(m), *sp = strchr(s, ' ');
        if (!sp)
            return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "\"%s\" is not \"a b\"", s);
        *split = (size_t)(sp - s);
        return ingot_tok_buf_put(tmp, s, *split) || ingot_tok_buf_put(tmp, sp + 1, strlen(sp + 1))
                   ? ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what)
                   : 0;
    }
    json_t *l = json_array_get(m, 0), *r = json_array_get(m, 1);
    if (!json_is_array(m) || json_array_size(m) != 2 || !json_is_string(l) || !json_is_string(r))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path,
                              "must be \"a b\" or [\"a\", \"b\"]");
    *split = json_string_length(l);
    return ingot_tok_buf_put(tmp, json_string_value(l), json_string_length(l)) ||
                   ingot_tok_buf_put(tmp, json_string_value(r), json_string_length(r))
               ? ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what)
               : 0;
}

static int load_merge(ingot_tok_bpe *b, json_t *m, size_t i, ingot_tok_buf *tmp, const char *what,
                      ingot_error *err)
{
    char path[64];
    size_t split = 0;
    if (merge_halves(m, i, tmp, &split, what, err))
        return -1;
    snprintf(path, sizeof path, "model.merges[%zu]", i);
    const char *s = tmp->p;
    size_t rlen = tmp->len - split;
    int32_t l = vocab_id(b, s, split), r = vocab_id(b, s + split, rlen);
    if (l < 0 || r < 0)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path, "\"%.*s\" is not in the vocab",
                              (int)(l < 0 ? split : rlen), l < 0 ? s : s + split);
    if (rlen < b->prefix_len)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path,
                              "right part is shorter than continuing_subword_prefix");
    /* the merged token drops the right part's continuing-subword prefix */
    memmove(tmp->p + split, tmp->p + split + b->prefix_len, rlen - b->prefix_len);
    tmp->len -= b->prefix_len;
    int32_t id = vocab_id(b, tmp->p, tmp->len);
    if (id < 0)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, path,
                              "merged token \"%.*s\" is not in the vocab", (int)tmp->len, tmp->p);
    merge_put(b, l, r, (int32_t)i, id);
    return 0;
}

static int load_merges(ingot_tok_bpe *b, json_t *merges, const char *what, ingot_error *err)
{
    ingot_tok_buf tmp = {0};
    size_t n = json_array_size(merges);
    if (!json_is_array(merges))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, "model.merges", "must be an array");
    if (n > INT32_MAX)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, "model.merges", "too many merges");
    b->merges_cap = 64;
    while (b->merges_cap < 2 * n)
        b->merges_cap *= 2;
    b->merges = malloc(b->merges_cap * sizeof *b->merges);
    if (!b->merges)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
    for (size_t i = 0; i < b->merges_cap; i++)
        b->merges[i].key = MERGE_EMPTY;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = load_merge(b, json_array_get(merges, i), i, &tmp, what, err);
    ingot_tok_buf_free(&tmp);
    return rc;
}

static int dup_opt_str(json_t *model, const char *key, char **out, size_t *len, const char *what,
                       ingot_error *err)
{
    const char *s;
    if (ingot_tok_get_str(model, key, 0, &s, len, what, "model", err))
        return -1;
    if (s && !(*out = strdup(s)))
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
    return 0;
}

static int load_options(ingot_tok_bpe *b, json_t *model, const char *what, ingot_error *err)
{
    json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout) && json_number_value(dropout) != 0.0)
        return ingot_tok_fail(err, INGOT_ERR_UNSUPPORTED, what, "model.dropout",
                              "BPE dropout is not supported (it only applies to training)");
    if (ingot_tok_get_bool(model, "byte_fallback", 0, &b->byte_fallback, what, "model", err) ||
        ingot_tok_get_bool(model, "ignore_merges", 0, &b->ignore_merges, what, "model", err) ||
        ingot_tok_get_bool(model, "fuse_unk", 0, &b->fuse_unk, what, "model", err) ||
        dup_opt_str(model, "continuing_subword_prefix", &b->prefix, &b->prefix_len, what, err) ||
        dup_opt_str(model, "end_of_word_suffix", &b->suffix, &b->suffix_len, what, err))
        return -1;
    return 0;
}

static int load_unk_and_bytes(ingot_tok_bpe *b, json_t *model, const char *what, ingot_error *err)
{
    const char *unk;
    size_t len;
    char name[8];
    if (ingot_tok_get_str(model, "unk_token", 0, &unk, &len, what, "model", err))
        return -1;
    b->unk_id = unk ? vocab_id(b, unk, len) : -1;
    if (unk && b->unk_id < 0)
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, "model.unk_token",
                              "\"%s\" is not in the vocab", unk);
    for (int i = 0; i < 256; i++) {
        snprintf(name, sizeof name, "<0x%02X>", i);
        b->byte_ids[i] = vocab_id(b, name, 6);
    }
    return 0;
}

static int check_type(json_t *model, const char *what, ingot_error *err)
{
    json_t *type = json_object_get(model, "type");
    if (!json_is_object(model))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, "model", "missing or not an object");
    /* very old files have no "type"; HF recognises BPE by its merges */
    if (!type && json_object_get(model, "merges"))
        return 0;
    if (!json_is_string(type))
        return ingot_tok_fail(err, INGOT_ERR_FORMAT, what, "model.type", "missing or not a string");
    if (strcmp(json_string_value(type), "BPE"))
        return ingot_tok_fail(err, INGOT_ERR_UNSUPPORTED, what, "model.type",
                              "unsupported model type \"%s\" (only BPE is supported)",
                              json_string_value(type));
    return 0;
}

ingot_tok_bpe *ingot_tok_bpe_load(json_t *model, const char *what, ingot_error *err)
{
    if (check_type(model, what, err))
        return NULL;
    ingot_tok_bpe *b = calloc(1, sizeof *b);
    if (!b || !(b->cache = calloc(1, sizeof *b->cache))) {
        free(b);
        ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", what);
        return NULL;
    }
    if (pthread_mutex_init(&b->cache->lock, NULL)) {
        free(b->cache);
        b->cache = NULL;
        ingot_tok_bpe_free(b);
        ingot_fail(err, INGOT_ERR_NOMEM, "%s: cannot create a mutex", what);
        return NULL;
    }
    if (load_options(b, model, what, err) ||
        load_vocab(b, json_object_get(model, "vocab"), what, err) ||
        load_unk_and_bytes(b, model, what, err) ||
        load_merges(b, json_object_get(model, "merges"), what, err)) {
        ingot_tok_bpe_free(b);
        return NULL;
    }
    return b;
}

/* ------------------------------------------------------------------ merging */

typedef struct sym {
    int32_t id, prev, next;
    int alive;
} sym;

typedef struct hitem {
    int32_t rank, pos, new_id;
} hitem;

typedef struct word {
    sym *s;
    size_t n;
    hitem *h;
    size_t hn;
} word;

static int hless(const hitem *a, const hitem *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(word *w, hitem it)
{
    size_t i = w->hn++;
    while (i > 0 && hless(&it, &w->h[(i - 1) / 2])) {
        w->h[i] = w->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->h[i] = it;
}

static hitem heap_pop(word *w)
{
    hitem top = w->h[0], last = w->h[--w->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->hn)
            break;
        if (c + 1 < w->hn && hless(&w->h[c + 1], &w->h[c]))
            c++;
        if (!hless(&w->h[c], &last))
            break;
        w->h[i] = w->h[c];
        i = c;
    }
    if (w->hn)
        w->h[i] = last;
    return top;
}

static void push_pair(const ingot_tok_bpe *b, word *w, int32_t pos)
{
    int32_t next = w->s[pos].next;
    if (next < 0)
        return;
    const merge_slot *m = merge_get(b, w->s[pos].id, w->s[next].id);
    if (m)
        heap_push(w, (hitem){m->rank, pos, m->new_id});
}

/* HF's Word::merge_all, including its test for stale queue entries, which
 * compares only the merged id. */
static void merge_all(const ingot_tok_bpe *b, word *w)
{
    for (size_t i = 0; i + 1 < w->n; i++)
        push_pair(b, w, (int32_t)i);
    while (w->hn) {
        hitem top = heap_pop(w);
        sym *cur = &w->s[top.pos];
        if (!cur->alive || cur->next < 0)
            continue;
        sym *right = &w->s[cur->next];
        const merge_slot *m = merge_get(b, cur->id, right->id);
        if (!m || m->new_id != top.new_id)
            continue;
        cur->id = top.new_id;
        right->alive = 0;
        cur->next = right->next;
        if (cur->next >= 0)
            w->s[cur->next].prev = top.pos;
        if (cur->prev >= 0)
            push_pair(b, w, cur->prev);
        push_pair(b, w, top.pos);
    }
}

static void add_sym(word *w, int32_t id)
{
    int32_t i = (int32_t)w->n++;
    w->s[i] = (sym){id, i - 1, -1, 1};
    if (i > 0)
        w->s[i - 1].next = i;
}

/* The vocabulary key of one character, with the prefix/suffix it takes. */
static const char *char_key(const ingot_tok_bpe *b, const char *c, size_t clen, int first, int last,
                            ingot_tok_buf *kb, size_t *klen)
{
    if ((first || !b->prefix) && (!last || !b->suffix)) {
        *klen = clen;
        return c;
    }
    kb->len = 0;
    if ((!first && b->prefix && ingot_tok_buf_put(kb, b->prefix, b->prefix_len)) ||
        ingot_tok_buf_put(kb, c, clen) ||
        (last && b->suffix && ingot_tok_buf_put(kb, b->suffix, b->suffix_len)))
        return NULL;
    *klen = kb->len;
    return kb->p;
}

static int byte_fallback(const ingot_tok_bpe *b, word *w, const char *key, size_t klen)
{
    for (size_t i = 0; i < klen; i++)
        if (b->byte_ids[(unsigned char)key[i]] < 0)
            return 0;
    for (size_t i = 0; i < klen; i++)
        add_sym(w, b->byte_ids[(unsigned char)key[i]]);
    return 1;
}

/* HF's merge_word: one symbol per character (or per byte with byte_fallback),
 * unknown characters become unk_token (fused when fuse_unk) or vanish. */
static int split_chars(const ingot_tok_bpe *b, const char *s, size_t len, word *w)
{
    ingot_tok_buf kb = {0};
    int unk_pending = 0;
    size_t clen, klen;
    for (size_t i = 0; i < len; i += clen) {
        clen = ingot_tok_u8len((unsigned char)s[i]);
        const char *key = char_key(b, s + i, clen, i == 0, i + clen == len, &kb, &klen);
        if (!key) {
            ingot_tok_buf_free(&kb);
            return -1;
        }
        int32_t id = vocab_id(b, key, klen);
        if (id >= 0) {
            if (unk_pending)
                add_sym(w, b->unk_id);
            unk_pending = 0;
            add_sym(w, id);
        } else if (b->byte_fallback && byte_fallback(b, w, key, klen)) {
            continue; /* a pending unk stays pending, as in HF */
        } else if (b->unk_id >= 0) {
            if (unk_pending && !b->fuse_unk)
                add_sym(w, b->unk_id);
            unk_pending = 1;
        }
    }
    if (unk_pending)
        add_sym(w, b->unk_id);
    ingot_tok_buf_free(&kb);
    return 0;
}

static int merge_word(const ingot_tok_bpe *b, const char *s, size_t len, ingot_tok_ids *out)
{
    enum { SMALL = 64 };
    sym s_small[SMALL * 4];
    hitem h_small[SMALL * 12];
    /* with byte fallback a character and its prefix/suffix become one symbol per byte */
    size_t max_syms = len * (1 + b->prefix_len) + b->suffix_len + 1;
    word w = {s_small, 0, h_small, 0};
    if (max_syms > SMALL * 4) {
        w.s = malloc(max_syms * sizeof *w.s);
        w.h = malloc(3 * max_syms * sizeof *w.h);
    }
    int rc = -1;
    if (w.s && w.h && !split_chars(b, s, len, &w)) {
        merge_all(b, &w);
        rc = 0;
        for (int32_t i = w.n ? 0 : -1; i >= 0 && !rc; i = w.s[i].next)
            rc = ingot_tok_ids_push(out, w.s[i].id);
    }
    if (w.s != s_small) {
        free(w.s);
        free(w.h);
    }
    return rc;
}

/* ------------------------------------------------------------------ encoding */

static int cache_get(const ingot_tok_bpe *b, const char *s, size_t len, ingot_tok_ids *out,
                     int *hit)
{
    int rc = 0;
    pthread_mutex_lock(&b->cache->lock);
    const ingot_tok_slot *slot = ingot_tok_map_get(&b->cache->words, s, len);
    *hit = slot != NULL;
    for (int32_t i = 0; slot && i < slot->b && !rc; i++)
        rc = ingot_tok_ids_push(out, b->cache->ids.v[slot->a + i]);
    pthread_mutex_unlock(&b->cache->lock);
    return rc;
}

static void cache_put(const ingot_tok_bpe *b, const char *s, size_t len, const int32_t *ids,
                      size_t n)
{
    bpe_cache *c = b->cache;
    pthread_mutex_lock(&c->lock);
    if (c->words.n >= CACHE_MAX_ENTRIES || c->ids.n > INT32_MAX / 2) {
        ingot_tok_map_clear(&c->words);
        c->ids.n = 0;
    }
    size_t off = c->ids.n, i = 0;
    while (i < n && !ingot_tok_ids_push(&c->ids, ids[i]))
        i++;
    /* a failed allocation only means this word is not cached */
    if (i < n || ingot_tok_map_put(&c->words, s, len, (int32_t)off, (int32_t)n))
        c->ids.n = off;
    pthread_mutex_unlock(&c->lock);
}

int ingot_tok_bpe_encode(const ingot_tok_bpe *b, const char *s, size_t len, ingot_tok_ids *out,
                         ingot_error *err)
{
    int hit = 0;
    if (!len)
        return 0;
    if (b->ignore_merges) {
        int32_t id = vocab_id(b, s, len);
        if (id >= 0)
            return ingot_tok_ids_push(out, id)
                       ? ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory")
                       : 0;
    }
    int cacheable = len < CACHE_MAX_WORD;
    if (cacheable && cache_get(b, s, len, out, &hit))
        return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
    if (hit)
        return 0;
    size_t start = out->n;
    if (merge_word(b, s, len, out))
        return ingot_fail(err, INGOT_ERR_NOMEM, "tokenizer: out of memory");
    if (cacheable) /* a word may give no ids (unknown bytes, no unk token): out->v may be NULL */
        cache_put(b, s, len, out->n > start ? out->v + start : NULL, out->n - start);
    return 0;
}
