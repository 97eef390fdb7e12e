/*
 * st_set.c - a checkpoint as one or several safetensors files.
 *
 * All shards are opened (mapped, headers validated) up front; tensor data is
 * only touched by the caller.  The set keeps its own copy of every tensor
 * descriptor, with file_index pointing at its shard, sorted by name so that
 * iteration order and therefore conversion output are deterministic.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "convert/st_set.h"
#include "util/util.h"

/* An index lists names and file names only: far below this. */
#define MAX_INDEX_SIZE ((size_t)100000000)

struct ingot_st_set {
    char *dir;
    char *index_path; /* NULL for a single model.safetensors */
    int n_files;
    ingot_st_file **files;
    int n;
    ingot_st_tensor *t; /* copies, sorted by name */
    uint64_t total;
};

/* State while opening from an index. */
typedef struct index_ctx {
    ingot_st_set *s;
    ingot_error *err;
    json_t *weight_map;
    const char **shards; /* distinct shard names, sorted; point into weight_map */
} index_ctx;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const ingot_st_tensor *)a)->name, ((const ingot_st_tensor *)b)->name);
}

/* ------------------------------------------------------------------ index */

/* A shard name must stay inside hf_dir: no separators, no "." or "..". */
static int plain_file_name(const char *n)
{
    return n[0] && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && !strchr(n, '/') &&
           !strchr(n, '\\');
}

static json_t *load_index(ingot_st_set *s, ingot_error *err)
{
    char *buf;
    size_t len;
    if (ingot_read_file(s->index_path, MAX_INDEX_SIZE, &buf, &len, err) != 0)
        return NULL;
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (!root)
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: invalid JSON at line %d: %s", s->index_path,
                   je.line, je.text);
    else if (!json_is_object(root)) {
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: not a JSON object", s->index_path);
        json_decref(root);
        root = NULL;
    }
    return root;
}

/* Checks weight_map and collects the distinct shard names into c->shards. */
static int collect_shards(index_ctx *c)
{
    const char *ip = c->s->index_path;
    json_t *wm = c->weight_map;
    if (!json_is_object(wm))
        return ingot_fail(c->err, INGOT_ERR_FORMAT, "%s: weight_map: %s", ip,
                          wm ? "not an object" : "missing");
    size_t n = json_object_size(wm);
    if (n == 0)
        return ingot_fail(c->err, INGOT_ERR_FORMAT, "%s: weight_map: empty", ip);
    c->shards = malloc(n * sizeof *c->shards);
    if (!c->shards)
        return ingot_fail(c->err, INGOT_ERR_NOMEM, "%s: out of memory", ip);
    size_t k = 0;
    const char *name;
    json_t *v;
    json_object_foreach(wm, name, v) {
        if (!json_is_string(v))
            return ingot_fail(c->err, INGOT_ERR_FORMAT, "%s: tensor %s: shard is not a string",
                              ip, name);
        if (!plain_file_name(json_string_value(v)))
            return ingot_fail(c->err, INGOT_ERR_FORMAT,
                              "%s: tensor %s: shard \"%s\" is not a plain file name", ip, name,
                              json_string_value(v));
        c->shards[k++] = json_string_value(v);
    }
    qsort(c->shards, n, sizeof *c->shards, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(c->shards[u - 1], c->shards[i]) != 0)
            c->shards[u++] = c->shards[i];
    c->s->n_files = (int)u;
    return 0;
}

static int shard_exists(index_ctx *c, int i)
{
    char *p = ingot_path_join(c->s->dir, c->shards[i]);
    if (!p)
        return ingot_fail(c->err, INGOT_ERR_NOMEM, "%s: out of memory", c->s->dir);
    int rc = 0;
    if (!ingot_file_exists(p))
        rc = ingot_fail(c->err, INGOT_ERR_IO, "%s: missing shard (named by %s)", p,
                        INGOT_ST_INDEX_NAME);
    free(p);
    return rc;
}

/* Opens every shard, after checking they all exist (a clearer message for
 * an incomplete download than a parse error in the first one). */
static int open_shards(index_ctx *c)
{
    ingot_st_set *s = c->s;
    s->files = calloc((size_t)s->n_files, sizeof *s->files);
    if (!s->files)
        return ingot_fail(c->err, INGOT_ERR_NOMEM, "%s: out of memory", s->dir);
    for (int i = 0; i < s->n_files; i++)
        if (shard_exists(c, i) != 0)
            return -1;
    for (int i = 0; i < s->n_files; i++) {
        char *p = ingot_path_join(s->dir, c->shards[i]);
        if (!p)
            return ingot_fail(c->err, INGOT_ERR_NOMEM, "%s: out of memory", s->dir);
        s->files[i] = ingot_st_open(p, c->err);
        free(p);
        if (!s->files[i])
            return -1;
    }
    return 0;
}

static int shard_index(const index_ctx *c, const char *shard)
{
    const char **hit = bsearch(&shard, c->shards, (size_t)c->s->n_files, sizeof *c->shards,
                               cmp_str);
    return hit ? (int)(hit - c->shards) : -1;
}

/* Every tensor the index names is in the shard it names. */
static int check_index_to_shards(index_ctx *c)
{
    const char *name;
    json_t *v;
    json_object_foreach(c->weight_map, name, v) {
        const char *shard = json_string_value(v);
        if (!ingot_st_file_find(c->s->files[shard_index(c, shard)], name))
            return ingot_fail(c->err, INGOT_ERR_FORMAT, "%s: tensor %s: not found in shard %s",
                              c->s->index_path, name, shard);
    }
    return 0;
}

/* Every tensor of every shard is named by the index, for that shard.  After
 * check_index_to_shards, naming another shard means it is in both. */
static int check_shards_to_index(index_ctx *c)
{
    for (int i = 0; i < c->s->n_files; i++) {
        const ingot_st_file *f = c->s->files[i];
        for (int j = 0; j < ingot_st_file_count(f); j++) {
            const char *name = ingot_st_file_at(f, j)->name;
            const char *shard = json_string_value(json_object_get(c->weight_map, name));
            if (!shard)
                return ingot_fail(c->err, INGOT_ERR_FORMAT, "%s: %s: not listed in %s",
                                  ingot_st_file_path(f), name, INGOT_ST_INDEX_NAME);
            if (strcmp(shard, c->shards[i]) != 0)
                return ingot_fail(c->err, INGOT_ERR_FORMAT,
                                  "%s: %s: in two shards: also in %s, where %s puts it",
                                  ingot_st_file_path(f), name, shard, INGOT_ST_INDEX_NAME);
        }
    }
    return 0;
}

static int open_from_index(ingot_st_set *s, ingot_error *err)
{
    json_t *root = load_index(s, err);
    if (!root)
        return -1;
    index_ctx c = {.s = s, .err = err, .weight_map = json_object_get(root, "weight_map")};
    int rc = collect_shards(&c);
    if (rc == 0)
        rc = open_shards(&c);
    if (rc == 0)
        rc = check_index_to_shards(&c);
    if (rc == 0)
        rc = check_shards_to_index(&c);
    free(c.shards);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ single / merge */

static int open_single(ingot_st_set *s, const char *path, ingot_error *err)
{
    s->files = calloc(1, sizeof *s->files);
    if (!s->files)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
    s->n_files = 1;
    s->files[0] = ingot_st_open(path, err);
    return s->files[0] ? 0 : -1;
}

/* Copies every file's tensors into one array sorted by name. */
static int merge(ingot_st_set *s, ingot_error *err)
{
    size_t n = 0;
    for (int i = 0; i < s->n_files; i++)
        n += (size_t)ingot_st_file_count(s->files[i]);
    s->t = calloc(n ? n : 1, sizeof *s->t);
    if (!s->t)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", s->dir);
    for (int i = 0; i < s->n_files; i++) {
        for (int j = 0; j < ingot_st_file_count(s->files[i]); j++) {
            s->t[s->n] = *ingot_st_file_at(s->files[i], j);
            s->t[s->n++].file_index = i;
        }
    }
    qsort(s->t, n, sizeof *s->t, cmp_tensor_name);
    for (int i = 0; i < s->n; i++) {
        /* Cannot happen after the index checks; kept so that lookups by
         * name are never ambiguous whatever the caller's path. */
        if (i > 0 && strcmp(s->t[i - 1].name, s->t[i].name) == 0)
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: in two shards: also in %s",
                              s->dir, s->t[i].name, ingot_st_set_file(s, s->t[i - 1].file_index));
        if (!ingot_add_u64(s->total, s->t[i].size, &s->total))
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: total size overflows 64 bits", s->dir);
    }
    return 0;
}

static int open_set(ingot_st_set *s, ingot_error *err)
{
    char *single = ingot_path_join(s->dir, INGOT_ST_SINGLE_NAME);
    s->index_path = ingot_path_join(s->dir, INGOT_ST_INDEX_NAME);
    int rc;
    if (!single || !s->index_path)
        rc = ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", s->dir);
    else if (ingot_file_exists(s->index_path))
        rc = open_from_index(s, err);
    else if (ingot_file_exists(single)) {
        free(s->index_path);
        s->index_path = NULL;
        rc = open_single(s, single, err);
    } else
        rc = ingot_fail(err, INGOT_ERR_IO, "%s: no %s or %s", s->dir, INGOT_ST_SINGLE_NAME,
                        INGOT_ST_INDEX_NAME);
    free(single);
    return rc == 0 ? merge(s, err) : rc;
}

ingot_st_set *ingot_st_set_open(const char *hf_dir, ingot_error *err)
{
    ingot_st_set *s = calloc(1, sizeof *s);
    if (s)
        s->dir = strdup(hf_dir);
    if (!s || !s->dir) {
        free(s);
        ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", hf_dir);
        return NULL;
    }
    if (open_set(s, err) != 0) {
        ingot_st_set_free(s);
        return NULL;
    }
    return s;
}

void ingot_st_set_free(ingot_st_set *s)
{
    if (!s)
        return;
    for (int i = 0; s->files && i < s->n_files; i++)
        ingot_st_close(s->files[i]);
    free(s->files);
    free(s->t);
    free(s->index_path);
    free(s->dir);
    free(s);
}

/* ------------------------------------------------------------------ accessors */

int ingot_st_set_count(const ingot_st_set *s)
{
    return s->n;
}

const ingot_st_tensor *ingot_st_set_at(const ingot_st_set *s, int i)
{
    return i >= 0 && i < s->n ? &s->t[i] : NULL;
}

const ingot_st_tensor *ingot_st_set_find(const ingot_st_set *s, const char *name)
{
    ingot_st_tensor key = {.name = name};
    return bsearch(&key, s->t, (size_t)s->n, sizeof *s->t, cmp_tensor_name);
}

int ingot_st_set_n_files(const ingot_st_set *s)
{
    return s->n_files;
}

const char *ingot_st_set_file(const ingot_st_set *s, int i)
{
    return i >= 0 && i < s->n_files ? ingot_st_file_path(s->files[i]) : NULL;
}

const ingot_st_file *ingot_st_set_st_file(const ingot_st_set *s, int i)
{
    return i >= 0 && i < s->n_files ? s->files[i] : NULL;
}

const char *ingot_st_set_index_path(const ingot_st_set *s)
{
    return s->index_path;
}

void ingot_st_set_release(const ingot_st_set *s, const ingot_st_tensor *t)
{
    if (t->file_index >= 0 && t->file_index < s->n_files)
        ingot_st_file_release(s->files[t->file_index], t);
}

uint64_t ingot_st_set_total_bytes(const ingot_st_set *s)
{
    return s->total;
}
