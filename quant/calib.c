/*
 * calib.c - calibration text for AWQ: read, hash, tokenize, cut into
 * sequences.
 *
 * The input is a text file, a JSON-lines file (.jsonl or .ndjson: one
 * object per line, its "text" string a document; blank lines skipped) or a
 * directory of such files (regular files whose names do not start with a
 * dot, in byte order of their names; not recursive).  Like AutoAWQ's
 * get_calib_dataset, every document is tokenized on its own (no special
 * tokens, as ingot eval does), the token streams are concatenated and cut
 * into consecutive blocks of `len` tokens, and the first `n` blocks are
 * used; nothing is shuffled, so the selection is fixed by the input alone.
 * Tokenizing stops once n * len tokens are in hand.  Fewer tokens than that
 * is an error that says how many were found and needed; so is text that is
 * not UTF-8 (a binary file given by mistake), with the offset.
 *
 * The recorded sha256 is the file's own for a file; for a directory, that of
 * the lines "<sha256 of file>  <name>\n" in order (sha256sum's format).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "quant/quantize.h"
#include "runtime/model.h"
#include "util/util.h"

#define MAX_CALIB_BYTES ((size_t)1 << 30) /* per file */
#define MAX_CALIB_FILES 100000

/* The tokens gathered so far, and how many are wanted. */
struct gather {
    const ingot_model *m;
    int32_t *ids;
    size_t n, cap, want;
    uint64_t bytes; /* bytes of input read */
};

static bool full(const struct gather *g)
{
    return g->n >= g->want;
}

/* Tokenizes one document and appends its ids; label names it in errors. */
static int add_document(struct gather *g, const char *text, size_t len, const char *label, ingot_error *err)
{
    int32_t *ids = NULL;
    size_t n = 0, bad = 0;
    if (!ingot_utf8_check(text, len, &bad))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: invalid UTF-8 at byte %zu", label, bad);
    if (ingot_tokenize(g->m, text, len, 0, &ids, &n, err) != 0) {
        ingot_error_prefix(err, label);
        return -1;
    }
    if (n == 0) { /* an empty document: nothing to append (ids may be NULL) */
        free(ids);
        return 0;
    }
    if (g->n + n > g->cap) {
        size_t cap = g->cap ? g->cap : 4096;
        while (cap < g->n + n)
            cap *= 2;
        int32_t *p = realloc(g->ids, cap * sizeof *p);
        if (!p) {
            free(ids);
            return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory for %zu tokens", label, cap);
        }
        g->ids = p;
        g->cap = cap;
    }
    memcpy(g->ids + g->n, ids, n * sizeof *ids);
    g->n += n;
    free(ids);
    return 0;
}

static bool is_jsonl(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson"));
}

/* One JSON-lines buffer: every non-blank line an object with a "text" string. */
static int add_jsonl(struct gather *g, const char *buf, size_t len, const char *path, ingot_error *err)
{
    size_t line = 0;
    for (size_t off = 0; off < len && !full(g);) {
        const char *s = buf + off, *nl = memchr(s, '\n', len - off);
        size_t n = nl ? (size_t)(nl - s) : len - off;
        off += n + 1;
        line++;
        size_t k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
            k++;
        if (k == n)
            continue;
        json_error_t je;
        json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
        json_t *t = json_is_object(j) ? json_object_get(j, "text") : NULL;
        if (!json_is_string(t)) {
            json_decref(j);
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s:%zu: %s", path, line,
                              !j ? je.text : "not an object with a \"text\" string");
        }
        char label[64];
        snprintf(label, sizeof label, "%s:%zu", path, line);
        int rc = add_document(g, json_string_value(t), json_string_length(t), label, err);
        json_decref(j);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/*
 * One file, text or JSON lines by kind, read once: its SHA-256 into sha256,
 * and its bytes count even when no tokens are needed.
 */
static int add_file(struct gather *g, const char *path, bool jsonl, char sha256[65], ingot_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (ingot_read_file(path, MAX_CALIB_BYTES, &buf, &len, err) != 0)
        return -1;
    ingot_sha256_buf(buf, len, sha256);
    g->bytes += len;
    int rc = 0;
    if (!full(g))
        rc = jsonl ? add_jsonl(g, buf, len, path, err) : add_document(g, buf, len, path, err);
    free(buf);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's calibration files, sorted: a NULL-terminated array of names. */
static char **list_dir(const char *dir, size_t *count, ingot_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        ingot_fail(err, INGOT_ERR_IO, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *full_path = ingot_path_join(dir, e->d_name);
        struct stat st;
        bool regular = full_path && stat(full_path, &st) == 0 && S_ISREG(st.st_mode);
        free(full_path);
        if (!regular)
            continue;
        char **p = n < MAX_CALIB_FILES ? realloc(names, (n + 2) * sizeof *p) : NULL;
        char *name = p ? strdup(e->d_name) : NULL;
        if (p)
            names = p;
        if (!name) {
            rc = n < MAX_CALIB_FILES ? ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", dir)
                                     : ingot_fail(err, INGOT_ERR_FORMAT, "%s: more than %d files", dir,
                                                  MAX_CALIB_FILES);
            break;
        }
        names[n++] = name;
        names[n] = NULL;
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = ingot_fail(err, INGOT_ERR_FORMAT, "%s: no calibration files in the directory", dir);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return NULL;
    }
    qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names;
}

/* Every file of the directory, in order; the hash covers all of them. */
static int add_dir(struct gather *g, const char *dir, char sha256[65], ingot_error *err)
{
    size_t n = 0;
    char **names = list_dir(dir, &n, err);
    if (!names)
        return -1;
    size_t cap = n * (64 + 2 + 256) + 1, used = 0;
    char *listing = malloc(cap);
    int rc = listing ? 0 : ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", dir);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *path = ingot_path_join(dir, names[i]), sha[65];
        rc = path ? 0 : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        if (rc == 0)
            rc = add_file(g, path, is_jsonl(names[i]), sha, err);
        if (rc == 0)
            used += (size_t)snprintf(listing + used, cap - used, "%s  %.255s\n", sha, names[i]);
        free(path);
    }
    if (rc == 0)
        ingot_sha256_buf(listing, used, sha256);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(listing);
    return rc;
}

int ingot_calib_load(ingot_model *m, const char *path, int want_n, int want_len, ingot_calib *c,
                     ingot_error *err)
{
    memset(c, 0, sizeof *c);
    if (want_n < 1 || want_len < 2)
        return ingot_fail(err, INGOT_ERR_ARG, "calibration: %d sequences of %d tokens", want_n, want_len);
    struct gather g = {.m = m, .want = (size_t)want_n * (size_t)want_len};
    struct stat st;
    int rc;
    if (stat(path, &st) != 0)
        rc = ingot_fail(err, INGOT_ERR_IO, "%s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = add_dir(&g, path, c->sha256, err);
    else
        rc = add_file(&g, path, is_jsonl(path), c->sha256, err);
    if (rc == 0 && g.bytes == 0)
        rc = ingot_fail(err, INGOT_ERR_FORMAT, "%s: empty calibration text", path);
    if (rc == 0 && !full(&g))
        rc = ingot_fail(err, INGOT_ERR_FORMAT,
                        "%s: %zu tokens, fewer than the %zu of %d sequences of %d (enough for %zu: "
                        "lower --calib-samples or --calib-len, or give more text)",
                        path, g.n, g.want, want_n, want_len, g.n / (size_t)want_len);
    if (rc != 0) {
        free(g.ids);
        return -1;
    }
    c->bytes = g.bytes;
    c->text_tokens = g.n;
    c->n = want_n;
    c->len = want_len;
    c->tokens = g.ids; /* the first n * len tokens are the sequences, back to back */
    return 0;
}

void ingot_calib_free(ingot_calib *c)
{
    free(c->tokens);
    memset(c, 0, sizeof *c);
}
