/*
 * st_writer.c - writing a single-file safetensors.
 *
 * Everything is checked before the output file is created, so an invalid
 * argument never leaves a temporary file behind.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert/st_writer.h"
#include "util/util.h"

typedef struct writer {
    const char *path;
    const ingot_st_tensor *t;
    int n;
    const ingot_st_tensor **by_name;   /* header order */
    const ingot_st_tensor **by_layout; /* data order */
    uint64_t *begin;                   /* data offset, by index in t */
    char *header;     /* JSON text, from json_dumps */
    ingot_st_fill_fn fill; /* produces the data of tensors whose data is NULL */
    ingot_st_gen_fn gen;   /* or this, which may fail */
    void *fill_user;
    bool gen_failed;       /* gen failed: err holds its error */
    ingot_error *err;
} writer;

static int cmp_name(const void *a, const void *b)
{
    const ingot_st_tensor *x = *(const ingot_st_tensor *const *)a;
    const ingot_st_tensor *y = *(const ingot_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

/* Largest elements first so every tensor starts aligned to its element size
 * (all sizes are powers of two), then by name, as the reference writer. */
static int cmp_layout(const void *a, const void *b)
{
    const ingot_st_tensor *x = *(const ingot_st_tensor *const *)a;
    const ingot_st_tensor *y = *(const ingot_st_tensor *const *)b;
    size_t sx = ingot_dtype_size(x->dtype), sy = ingot_dtype_size(y->dtype);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* ------------------------------------------------------------------ checks */

static int check_tensor(const writer *w, const ingot_st_tensor *t)
{
    const char *nm = t->name ? t->name : "(null)";
    if (!t->name || strcmp(t->name, "__metadata__") == 0)
        return ingot_fail(w->err, INGOT_ERR_ARG, "%s: %s: invalid tensor name", w->path, nm);
    if (!ingot_dtype_st_name(t->dtype))
        return ingot_fail(w->err, INGOT_ERR_ARG, "%s: %s: dtype %s has no safetensors name",
                          w->path, nm, ingot_dtype_name(t->dtype) ? ingot_dtype_name(t->dtype) : "?");
    if (t->ndim < 0 || t->ndim > INGOT_ST_MAX_NDIM)
        return ingot_fail(w->err, INGOT_ERR_ARG, "%s: %s: ndim %d out of range", w->path, nm,
                          t->ndim);
    uint64_t bytes = ingot_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 0 || !ingot_mul_u64(bytes, (uint64_t)t->shape[i], &bytes))
            return ingot_fail(w->err, INGOT_ERR_ARG, "%s: %s: invalid shape", w->path, nm);
    if (bytes != t->size)
        return ingot_fail(w->err, INGOT_ERR_ARG,
                          "%s: %s: size %llu but the shape needs %llu bytes", w->path, nm,
                          (unsigned long long)t->size, (unsigned long long)bytes);
    if (t->size && !t->data && !w->fill && !w->gen)
        return ingot_fail(w->err, INGOT_ERR_ARG, "%s: %s: no data", w->path, nm);
    return 0;
}

/* Checks every tensor, sorts, rejects duplicate names, assigns offsets. */
static int plan(writer *w)
{
    size_t n = (size_t)w->n;
    w->by_name = malloc((n ? n : 1) * sizeof *w->by_name);
    w->by_layout = malloc((n ? n : 1) * sizeof *w->by_layout);
    w->begin = malloc((n ? n : 1) * sizeof *w->begin);
    if (!w->by_name || !w->by_layout || !w->begin)
        return ingot_fail(w->err, INGOT_ERR_NOMEM, "%s: out of memory", w->path);
    for (int i = 0; i < w->n; i++) {
        if (check_tensor(w, &w->t[i]) != 0)
            return -1;
        w->by_name[i] = w->by_layout[i] = &w->t[i];
    }
    qsort(w->by_name, n, sizeof *w->by_name, cmp_name);
    qsort(w->by_layout, n, sizeof *w->by_layout, cmp_layout);
    for (int i = 1; i < w->n; i++)
        if (strcmp(w->by_name[i - 1]->name, w->by_name[i]->name) == 0)
            return ingot_fail(w->err, INGOT_ERR_ARG, "%s: %s: duplicate tensor name", w->path,
                              w->by_name[i]->name);
    uint64_t at = 0;
    for (int i = 0; i < w->n; i++) {
        const ingot_st_tensor *t = w->by_layout[i];
        w->begin[t - w->t] = at;
        if (!ingot_add_u64(at, t->size, &at) || at > INT64_MAX)
            return ingot_fail(w->err, INGOT_ERR_ARG, "%s: total size too large", w->path);
    }
    return 0;
}

/* ------------------------------------------------------------------ header */

static json_t *parse_metadata(const writer *w, const char *text)
{
    json_error_t je;
    json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!m) {
        ingot_fail(w->err, INGOT_ERR_ARG, "%s: __metadata__: invalid JSON: %s", w->path, je.text);
        return NULL;
    }
    const char *k;
    json_t *v;
    int ok = json_is_object(m);
    json_object_foreach(m, k, v) ok = ok && json_is_string(v);
    if (!ok) {
        json_decref(m);
        ingot_fail(w->err, INGOT_ERR_ARG, "%s: __metadata__: not an object of strings", w->path);
        return NULL;
    }
    return m;
}

static json_t *tensor_entry(const ingot_st_tensor *t, uint64_t begin)
{
    json_t *shape = json_array();
    for (int i = 0; shape && i < t->ndim; i++)
        json_array_append_new(shape, json_integer(t->shape[i]));
    return json_pack("{s:s, s:o, s:[I,I]}", "dtype", ingot_dtype_st_name(t->dtype), "shape",
                     shape, "data_offsets", (json_int_t)begin, (json_int_t)(begin + t->size));
}

/* Builds w->header: "__metadata__" first, then tensors by name. */
static int build_header(writer *w, const char *metadata_json)
{
    json_t *root = json_object();
    if (!root)
        return ingot_fail(w->err, INGOT_ERR_NOMEM, "%s: out of memory", w->path);
    if (metadata_json) {
        json_t *m = parse_metadata(w, metadata_json);
        if (!m) {
            json_decref(root);
            return -1;
        }
        json_object_set_new(root, "__metadata__", m);
    }
    for (int i = 0; i < w->n; i++) {
        const ingot_st_tensor *t = w->by_name[i];
        json_t *e = tensor_entry(t, w->begin[t - w->t]);
        if (!e) {
            json_decref(root);
            return ingot_fail(w->err, INGOT_ERR_NOMEM, "%s: out of memory", w->path);
        }
        /* json_object_set_new fails on names that are not UTF-8 */
        if (json_object_set_new(root, t->name, e) != 0) {
            json_decref(root);
            return ingot_fail(w->err, INGOT_ERR_ARG, "%s: %s: name is not valid UTF-8",
                              w->path, t->name);
        }
    }
    w->header = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!w->header)
        return ingot_fail(w->err, INGOT_ERR_NOMEM, "%s: out of memory", w->path);
    return 0;
}

/* ------------------------------------------------------------------ output */

/* Streams a tensor from the fill callback in bounded chunks. */
static int write_generated(writer *w, const ingot_st_tensor *t, int fd)
{
    enum { CHUNK = 1 << 22 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (uint64_t off = 0; rc == 0 && off < t->size; off += CHUNK) {
        size_t len = (size_t)(t->size - off < CHUNK ? t->size - off : CHUNK);
        if (w->gen) {
            if (w->gen(w->fill_user, (int)(t - w->t), off, buf, len, w->err) != 0) {
                w->gen_failed = true;
                rc = -1;
                break;
            }
        } else {
            w->fill(w->fill_user, (int)(t - w->t), off, buf, len);
        }
        rc = ingot_write_all(fd, buf, len);
    }
    free(buf);
    return rc;
}

static int write_body(writer *w, int fd)
{
    size_t hl = strlen(w->header);
    size_t pad = (8 - hl % 8) % 8;
    uint64_t n = hl + pad;
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++)
        len_le[i] = (uint8_t)(n >> (8 * i));
    static const char spaces[8] = "        ";
    if (ingot_write_all(fd, len_le, 8) != 0 || ingot_write_all(fd, w->header, hl) != 0 ||
        ingot_write_all(fd, spaces, pad) != 0)
        return -1;
    for (int i = 0; i < w->n; i++) {
        const ingot_st_tensor *t = w->by_layout[i];
        if (t->data ? ingot_write_all(fd, t->data, t->size) != 0 : write_generated(w, t, fd) != 0)
            return -1;
    }
    return 0;
}

static int write_file(writer *w)
{
    ingot_outfile o;
    if (ingot_outfile_open(&o, w->path, NULL, w->err) != 0)
        return -1;
    if (write_body(w, o.fd) != 0) {
        int e = errno;
        ingot_outfile_abort(&o);
        if (w->gen_failed)
            return -1;
        return ingot_fail(w->err, INGOT_ERR_IO, "%s: write: %s", w->path, strerror(e));
    }
    return ingot_outfile_commit(&o, w->err);
}

int ingot_st_write(const char *path, const ingot_st_tensor *tensors, int n,
                   const char *metadata_json, ingot_error *err)
{
    return ingot_st_write_fill(path, tensors, n, metadata_json, NULL, NULL, err);
}

static int write_st(const char *path, const ingot_st_tensor *tensors, int n,
                    const char *metadata_json, ingot_st_fill_fn fill, ingot_st_gen_fn gen,
                    void *user, ingot_error *err)
{
    if (!path || n < 0 || (n > 0 && !tensors))
        return ingot_fail(err, INGOT_ERR_ARG, "%s: invalid arguments", path ? path : "(null)");
    writer w = {.path = path, .t = tensors, .n = n, .fill = fill, .gen = gen, .fill_user = user,
                .err = err};
    int rc = plan(&w);
    if (rc == 0)
        rc = build_header(&w, metadata_json);
    if (rc == 0)
        rc = write_file(&w);
    free(w.by_name);
    free(w.by_layout);
    free(w.begin);
    free(w.header);
    return rc;
}

int ingot_st_write_fill(const char *path, const ingot_st_tensor *tensors, int n,
                        const char *metadata_json, ingot_st_fill_fn fill, void *user,
                        ingot_error *err)
{
    return write_st(path, tensors, n, metadata_json, fill, NULL, user, err);
}

int ingot_st_write_gen(const char *path, const ingot_st_tensor *tensors, int n,
                       const char *metadata_json, ingot_st_gen_fn gen, void *user,
                       ingot_error *err)
{
    return write_st(path, tensors, n, metadata_json, NULL, gen, user, err);
}
