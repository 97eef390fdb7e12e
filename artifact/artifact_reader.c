/*
 * artifact_reader.c - opens and validates an .ingot file.
 *
 * The file is mapped once and walked with libarchive over that memory, tar
 * format only and no decompression filters: members must be stored so that
 * tensors can be used in place.  For each member we record where its bytes
 * lie in the file; nothing is ever extracted.  Then the manifest is parsed
 * and every tensor part is checked against the tar layout, so that later
 * code may use part->data and part->size without further checks.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"

#define TAR_BLOCK 512
/* The manifest lists ~1000 tensors in well under a MiB; this only stops a
 * hostile file from making us parse gigabytes of JSON. */
#define MAX_MANIFEST_BYTES ((uint64_t)256 << 20)

/* Formats "<file>: <who>: <why>" into err.  @return -1. */
#define afail(err, code, file, who, ...) ingot_fail_in(err, code, file, who, __VA_ARGS__)

/* ------------------------------------------------------------ member names */

const char *ingot_member_name_problem(const char *name)
{
    if (!name || !*name)
        return "empty member name";
    if (name[0] == '/')
        return "absolute member path";
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return "control character in member name";
    /* Component by component: ".." escapes on extraction; "." and "" make
     * two spellings of one path, which would defeat the duplicate check. */
    for (const char *p = name;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "'..' in member path";
        if (n == 1 && p[0] == '.')
            return "'.' component in member path";
        if (n == 0)
            return "empty component in member path";
        if (!slash)
            return NULL;
        p = slash + 1;
    }
}

/* ------------------------------------------------------------ tar walk */

static const char *entry_name(struct archive_entry *e)
{
    const char *n = archive_entry_pathname(e);
    return n ? n : archive_entry_pathname_utf8(e);
}

static const char *type_name(unsigned type)
{
    switch (type) {
    case AE_IFDIR: return "a directory";
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a fifo";
    case AE_IFSOCK: return "a socket";
    default: return "of an unknown type";
    }
}

/* Only plain, contiguous regular files with a safe name are allowed.  The
 * type is checked first: a directory's name ends in '/', and "is a
 * directory" says more than "empty component". */
static int check_entry(const char *file, struct archive_entry *e, const char *name,
                       ingot_error *err)
{
    if (archive_entry_hardlink(e))
        return afail(err, INGOT_ERR_FORMAT, file, name, "hard link to %s not allowed",
                     archive_entry_hardlink(e));
    if (archive_entry_filetype(e) == AE_IFLNK || archive_entry_symlink(e))
        return afail(err, INGOT_ERR_FORMAT, file, name, "symbolic link not allowed");
    if (archive_entry_filetype(e) != AE_IFREG)
        return afail(err, INGOT_ERR_FORMAT, file, name, "not a regular file (%s)",
                     type_name(archive_entry_filetype(e)));
    const char *why = ingot_member_name_problem(name);
    if (why)
        return afail(err, INGOT_ERR_FORMAT, file, name, "%s", why);
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
        return afail(err, INGOT_ERR_FORMAT, file, name, "member has no size");
    /* Sparse members do not lie contiguously in the file. */
    if (archive_entry_sparse_count(e) > 0)
        return afail(err, INGOT_ERR_FORMAT, file, name, "sparse member not allowed");
    return 0;
}

static int add_member(ingot_artifact *a, int *cap, const char *name, uint64_t off,
                      uint64_t size, ingot_error *err)
{
    if (a->n_members == *cap) {
        int ncap = *cap ? 2 * *cap : 64;
        void *p = realloc(a->members, (size_t)ncap * sizeof *a->members);
        if (!p)
            return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
        a->members = p;
        *cap = ncap;
    }
    char *copy = strdup(name);
    if (!copy)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
    a->members[a->n_members++] = (struct ingot_member){copy, off, size};
    return 0;
}

/* Records one header's member after checking it and where its data lies. */
static int take_entry(ingot_artifact *a, struct archive *ar, struct archive_entry *e,
                      int *cap, ingot_error *err)
{
    const char *name = entry_name(e);
    if (!name)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: member %d: unreadable member name",
                          a->path, a->n_members + 1);
    if (check_entry(a->path, e, name, err) != 0)
        return -1;
    if (a->n_members == 0 && strcmp(name, INGOT_MANIFEST_MEMBER) != 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, name,
                     "first member must be " INGOT_MANIFEST_MEMBER);
    /* Nothing of the data has been consumed yet: the position is where it starts. */
    la_int64_t off = archive_filter_bytes(ar, 0);
    uint64_t size = (uint64_t)archive_entry_size(e), end;
    if (off < 0 || off % TAR_BLOCK != 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, name, "data not on a tar block boundary");
    if (!ingot_add_u64((uint64_t)off, size, &end) || end > a->map.size)
        return afail(err, INGOT_ERR_FORMAT, a->path, name,
                     "truncated: %llu bytes at offset %lld but the file has %zu",
                     (unsigned long long)size, (long long)off, a->map.size);
    return add_member(a, cap, name, (uint64_t)off, size, err);
}

static int read_members(ingot_artifact *a, ingot_error *err)
{
    struct archive *ar = archive_read_new();
    if (!ar)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
    /* tar only, no filters: a compressed file is simply not recognized. */
    int rc = -1, cap = 0;
    if (archive_read_support_format_tar(ar) != ARCHIVE_OK ||
        archive_read_open_memory(ar, a->map.data, a->map.size) != ARCHIVE_OK) {
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: not an ingot artifact (%s)", a->path,
                   archive_error_string(ar) ? archive_error_string(ar) : "not a tar file");
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(ar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            const char *why = archive_error_string(ar) ? archive_error_string(ar) : "bad tar header";
            if (a->n_members == 0)
                ingot_fail(err, INGOT_ERR_FORMAT, "%s: not an ingot artifact (%s)", a->path, why);
            else
                ingot_fail(err, INGOT_ERR_FORMAT, "%s: after member %s: %s", a->path,
                           a->members[a->n_members - 1].name, why);
            goto out;
        }
        if (take_entry(a, ar, e, &cap, err) != 0)
            goto out;
    }
    if (a->n_members == 0)
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: " INGOT_MANIFEST_MEMBER ": empty archive", a->path);
    else
        rc = 0;
out:
    archive_read_free(ar);
    return rc;
}

/* ------------------------------------------------------------ lookups */

/* qsort/bsearch have no context argument: the arrays being sorted are index
 * arrays, so the comparators go through this per-thread pointer. */
static __thread const ingot_artifact *sort_ctx;

static int cmp_member_idx(const void *x, const void *y)
{
    return strcmp(sort_ctx->members[*(const int *)x].name, sort_ctx->members[*(const int *)y].name);
}

static int cmp_tensor_idx(const void *x, const void *y)
{
    return strcmp(sort_ctx->tensors[*(const int *)x].name, sort_ctx->tensors[*(const int *)y].name);
}

/* Builds a sorted index over n items; @return the position of a duplicate, or -1. */
static int build_index(const ingot_artifact *a, int n, int **out,
                       int (*cmp)(const void *, const void *))
{
    int *idx = malloc(((size_t)n + 1) * sizeof *idx);
    if (!idx)
        return -2;
    for (int i = 0; i < n; i++)
        idx[i] = i;
    sort_ctx = a;
    qsort(idx, (size_t)n, sizeof *idx, cmp);
    *out = idx;
    for (int i = 1; i < n; i++)
        if (cmp(&idx[i - 1], &idx[i]) == 0)
            return idx[i];
    return -1;
}

/* bsearch over a name-sorted index; key compared with name_of(item). */
static int find_index(const int *idx, int n, const char *key,
                      const char *(*name_of)(const ingot_artifact *, int),
                      const ingot_artifact *a)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(key, name_of(a, idx[mid]));
        if (c == 0)
            return idx[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

static const char *member_name_at(const ingot_artifact *a, int i) { return a->members[i].name; }
static const char *tensor_name_at(const ingot_artifact *a, int i) { return a->tensors[i].name; }

static int find_member(const ingot_artifact *a, const char *name)
{
    if (!a || !name || !a->member_index)
        return -1;
    return find_index(a->member_index, a->n_members, name, member_name_at, a);
}

const ingot_tensor *ingot_artifact_find(const ingot_artifact *a, const char *name)
{
    if (!a || !name || !a->tensor_index)
        return NULL;
    int i = find_index(a->tensor_index, a->n_tensors, name, tensor_name_at, a);
    return i < 0 ? NULL : &a->tensors[i];
}

const ingot_part *ingot_tensor_part(const ingot_tensor *t, const char *role)
{
    if (!t || !role)
        return NULL;
    for (int i = 0; i < t->n_parts; i++)
        if (strcmp(t->parts[i].role, role) == 0)
            return &t->parts[i];
    return NULL;
}

/* ingot_part_lookup over a stored tensor's parts */
static bool find_part(void *user, const char *role, const void **data, uint64_t *bytes)
{
    const ingot_part *p = ingot_tensor_part(user, role);
    if (!p)
        return false;
    *data = p->data;
    *bytes = p->size;
    return true;
}

int ingot_tensor_bind(const ingot_tensor *t, const ingot_format *f, int64_t rows, int64_t cols,
                      const char *path, ingot_wmat *w, ingot_error *err)
{
    return ingot_wmat_bind_found(w, f, rows, cols, t->group_size, find_part, (void *)t, path, t->name,
                                 err);
}

void ingot_tensor_rows(const ingot_tensor *t, int64_t *rows, int64_t *cols)
{
    *rows = 1;
    *cols = t->ndim > 0 ? t->shape[t->ndim - 1] : 1;
    for (int d = 0; d + 1 < t->ndim; d++)
        *rows *= t->shape[d];
}

const uint8_t *ingot_artifact_member(const ingot_artifact *a, const char *member, size_t *size)
{
    int i = find_member(a, member);
    if (size)
        *size = i < 0 ? 0 : (size_t)a->members[i].size;
    return i < 0 ? NULL : a->map.data + a->members[i].offset;
}

const char *ingot_artifact_manifest(const ingot_artifact *a)
{
    return a ? a->manifest_text : NULL;
}

static int index_members(ingot_artifact *a, ingot_error *err)
{
    int dup = build_index(a, a->n_members, &a->member_index, cmp_member_idx);
    if (dup == -2)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
    if (dup >= 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, a->members[dup].name, "duplicate member");
    return 0;
}

/* ------------------------------------------------------------ manifest */

static int load_manifest(ingot_artifact *a, ingot_error *err)
{
    const struct ingot_member *m = &a->members[0];
    if (m->size > MAX_MANIFEST_BYTES)
        return afail(err, INGOT_ERR_FORMAT, a->path, m->name, "manifest too large (%llu bytes)",
                     (unsigned long long)m->size);
    if (!(a->manifest_text = malloc((size_t)m->size + 1)))
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
    memcpy(a->manifest_text, a->map.data + m->offset, (size_t)m->size);
    a->manifest_text[m->size] = '\0';
    json_error_t je;
    /* Duplicate keys would make the manifest ambiguous. */
    a->manifest = json_loadb(a->manifest_text, (size_t)m->size, JSON_REJECT_DUPLICATES, &je);
    if (!a->manifest)
        return afail(err, INGOT_ERR_FORMAT, a->path, m->name, "invalid JSON (line %d, column %d): %s",
                     je.line, je.column, je.text);
    if (!json_is_object(a->manifest))
        return afail(err, INGOT_ERR_FORMAT, a->path, m->name, "not a JSON object");
    return 0;
}

/* Checked before anything else: a newer major version may change every rule below. */
static int check_format(const ingot_artifact *a, ingot_error *err)
{
    const char *fmt = json_string_value(json_object_get(a->manifest, "format"));
    if (!fmt || strcmp(fmt, "ingot") != 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, INGOT_MANIFEST_MEMBER,
                     "\"format\" is not \"ingot\"");
    json_t *v = json_object_get(a->manifest, "format_version");
    json_t *maj = json_array_get(v, 0), *min = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(maj) ||
        !json_is_integer(min) || json_integer_value(maj) < 0 || json_integer_value(min) < 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, INGOT_MANIFEST_MEMBER,
                     "\"format_version\" must be [major, minor]");
    long long major = json_integer_value(maj), minor = json_integer_value(min);
    if (major > INGOT_FORMAT_MAJOR)
        return ingot_fail(err, INGOT_ERR_VERSION,
                          "%s: format version %lld.%lld is newer than this ingot supports "
                          "(%d.x); upgrade ingot", a->path, major, minor, INGOT_FORMAT_MAJOR);
    if (major < INGOT_FORMAT_MAJOR)
        return afail(err, INGOT_ERR_FORMAT, a->path, INGOT_MANIFEST_MEMBER,
                     "format version %lld.%lld is not supported", major, minor);
    return 0;
}

/* Copies a required string field into dst (size cap).  @return 0, or -1 with err. */
static int get_str(const ingot_artifact *a, const char *who, json_t *o, const char *key,
                   char *dst, size_t cap, ingot_error *err)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || !*s)
        return afail(err, INGOT_ERR_FORMAT, a->path, who, "\"%s\" missing or not a string", key);
    if (strlen(s) >= cap)
        return afail(err, INGOT_ERR_FORMAT, a->path, who, "\"%s\" longer than %zu characters",
                     key, cap - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int get_dtype(const ingot_artifact *a, const char *who, json_t *o, const char *key,
                     ingot_dtype *out, ingot_error *err)
{
    char s[32];
    if (get_str(a, who, o, key, s, sizeof s, err) != 0)
        return -1;
    int t = ingot_dtype_from_name(s);
    if (t < 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, who, "unknown type \"%s\"", s);
    *out = (ingot_dtype)t;
    return 0;
}

/* XXH3 stored as 16 hex digits. */
static int parse_xxh3(const char *s, uint64_t *out)
{
    if (!s || strlen(s) != 16)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int parse_part(const ingot_artifact *a, const char *who, json_t *j, ingot_part *p,
                      ingot_error *err)
{
    if (!json_is_object(j))
        return afail(err, INGOT_ERR_FORMAT, a->path, who, "part is not an object");
    if (get_str(a, who, j, "role", p->role, sizeof p->role, err) != 0 ||
        get_str(a, who, j, "member", p->member, sizeof p->member, err) != 0 ||
        get_dtype(a, who, j, "dtype", &p->dtype, err) != 0)
        return -1;
    json_t *bytes = json_object_get(j, "bytes");
    if (!json_is_integer(bytes) || json_integer_value(bytes) < 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, who,
                     "part %s: \"bytes\" missing or not a non-negative integer", p->role);
    p->size = (uint64_t)json_integer_value(bytes);
    if (parse_xxh3(json_string_value(json_object_get(j, "xxh3")), &p->xxh3) != 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, who,
                     "part %s: \"xxh3\" missing or not 16 hex digits", p->role);
    int m = find_member(a, p->member);
    if (m < 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, who, "part %s: member %s missing from the archive",
                     p->role, p->member);
    if (a->members[m].size != p->size)
        return afail(err, INGOT_ERR_FORMAT, a->path, who,
                     "part %s: manifest says %llu bytes but member %s has %llu", p->role,
                     (unsigned long long)p->size, p->member,
                     (unsigned long long)a->members[m].size);
    p->data = a->map.data + a->members[m].offset;
    return 0;
}

static int parse_shape(const ingot_artifact *a, ingot_tensor *t, json_t *shape, ingot_error *err)
{
    if (!json_is_array(shape) || json_array_size(shape) > INGOT_MAX_DIMS)
        return afail(err, INGOT_ERR_FORMAT, a->path, t->name,
                     "\"shape\" missing or not an array of at most %d integers", INGOT_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    for (int d = 0; d < t->ndim; d++) {
        json_t *v = json_array_get(shape, (size_t)d);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return afail(err, INGOT_ERR_FORMAT, a->path, t->name,
                         "\"shape\"[%d] is not a non-negative integer", d);
        t->shape[d] = json_integer_value(v);
    }
    return 0;
}

/* Plain tensors: one "data" part of the tensor's own type, sized by its shape. */
static int check_plain_size(const ingot_artifact *a, const ingot_tensor *t, ingot_error *err)
{
    const ingot_part *p = &t->parts[0];
    if (t->n_parts != 1 || strcmp(p->role, "data") != 0 || p->dtype != t->type)
        return afail(err, INGOT_ERR_FORMAT, a->path, t->name,
                     "a %s tensor needs exactly one \"data\" part of type %s",
                     ingot_dtype_name(t->type), ingot_dtype_name(t->type));
    uint64_t want = ingot_dtype_size(t->type);
    for (int d = 0; d < t->ndim; d++)
        if (!ingot_mul_u64(want, (uint64_t)t->shape[d], &want))
            return afail(err, INGOT_ERR_FORMAT, a->path, t->name, "shape too large");
    if (want != p->size)
        return afail(err, INGOT_ERR_FORMAT, a->path, t->name,
                     "%llu bytes stored but the %s shape needs %llu",
                     (unsigned long long)p->size, ingot_dtype_name(t->type),
                     (unsigned long long)want);
    return 0;
}

static int parse_parts(const ingot_artifact *a, ingot_tensor *t, json_t *parts, ingot_error *err)
{
    size_t n = json_array_size(parts);
    if (!json_is_array(parts) || n < 1 || n > INGOT_MAX_PARTS)
        return afail(err, INGOT_ERR_FORMAT, a->path, t->name,
                     "\"parts\" missing or not an array of 1 to %d parts", INGOT_MAX_PARTS);
    t->n_parts = (int)n;
    for (int i = 0; i < t->n_parts; i++) {
        if (parse_part(a, t->name, json_array_get(parts, (size_t)i), &t->parts[i], err) != 0)
            return -1;
        for (int k = 0; k < i; k++)
            if (strcmp(t->parts[k].role, t->parts[i].role) == 0)
                return afail(err, INGOT_ERR_FORMAT, a->path, t->name, "duplicate part role %s",
                             t->parts[i].role);
    }
    /* Quantized layouts are checked by the code that reads them; here the
     * part sizes have already been matched against the members. */
    return ingot_dtype_size(t->type) > 0 ? check_plain_size(a, t, err) : 0;
}

static int parse_tensor(const ingot_artifact *a, int i, json_t *j, ingot_tensor *t,
                        ingot_error *err)
{
    char who[48];
    snprintf(who, sizeof who, "ingot.json: tensors[%d]", i);
    if (!json_is_object(j))
        return afail(err, INGOT_ERR_FORMAT, a->path, who, "not an object");
    if (get_str(a, who, j, "name", t->name, sizeof t->name, err) != 0 ||
        get_dtype(a, t->name, j, "type", &t->type, err) != 0 ||
        parse_shape(a, t, json_object_get(j, "shape"), err) != 0)
        return -1;
    json_t *gs = json_object_get(j, "group_size");
    if (gs && (!json_is_integer(gs) || json_integer_value(gs) < 0 ||
               json_integer_value(gs) > INT32_MAX))
        return afail(err, INGOT_ERR_FORMAT, a->path, t->name,
                     "\"group_size\" is not a non-negative integer");
    t->group_size = gs ? (int)json_integer_value(gs) : 0;
    return parse_parts(a, t, json_object_get(j, "parts"), err);
}

static int parse_tensors(ingot_artifact *a, ingot_error *err)
{
    json_t *arr = json_object_get(a->manifest, "tensors");
    if (!json_is_array(arr) || json_array_size(arr) > INT32_MAX / 2)
        return afail(err, INGOT_ERR_FORMAT, a->path, INGOT_MANIFEST_MEMBER,
                     "\"tensors\" missing or not an array");
    a->n_tensors = (int)json_array_size(arr);
    if (a->n_tensors && !(a->tensors = calloc((size_t)a->n_tensors, sizeof *a->tensors)))
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
    for (int i = 0; i < a->n_tensors; i++)
        if (parse_tensor(a, i, json_array_get(arr, (size_t)i), &a->tensors[i], err) != 0)
            return -1;
    int dup = build_index(a, a->n_tensors, &a->tensor_index, cmp_tensor_idx);
    if (dup == -2)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", a->path);
    if (dup >= 0)
        return afail(err, INGOT_ERR_FORMAT, a->path, a->tensors[dup].name, "duplicate tensor name");
    return 0;
}

int ingot_artifact_file_entry(const json_t *v, const char **member, const char **xxh3)
{
    *xxh3 = NULL;
    if (json_is_string(v)) {
        *member = json_string_value(v);
        return 0;
    }
    *member = json_string_value(json_object_get(v, "member"));
    json_t *h = json_object_get(v, "xxh3");
    if (h && !json_is_string(h))
        return -1;
    *xxh3 = json_string_value(h);
    return json_is_object(v) && *member ? 0 : -1;
}

/* "files": name -> "hf/name" or {"member": "hf/name", "xxh3": "..."}. */
static int check_files(const ingot_artifact *a, ingot_error *err)
{
    json_t *files = json_object_get(a->manifest, "files");
    if (!files)
        return 0;
    if (!json_is_object(files))
        return afail(err, INGOT_ERR_FORMAT, a->path, INGOT_MANIFEST_MEMBER,
                     "\"files\" is not an object");
    const char *name;
    json_t *v;
    json_object_foreach(files, name, v) {
        const char *member, *hex;
        uint64_t h;
        if (ingot_artifact_file_entry(v, &member, &hex) != 0)
            return afail(err, INGOT_ERR_FORMAT, a->path, name,
                         "\"files\" entry is neither a member name nor {\"member\", \"xxh3\"}");
        if (hex && parse_xxh3(hex, &h) != 0)
            return afail(err, INGOT_ERR_FORMAT, a->path, name, "\"xxh3\" is not 16 hex digits");
        if (find_member(a, member) < 0)
            return afail(err, INGOT_ERR_FORMAT, a->path, member,
                         "listed in \"files\" as %s but missing from the archive", name);
    }
    return 0;
}

static int load_config(ingot_artifact *a, ingot_error *err)
{
    json_t *c = json_object_get(a->manifest, "config");
    if (!json_is_object(c))
        return afail(err, INGOT_ERR_FORMAT, a->path, INGOT_MANIFEST_MEMBER,
                     "\"config\" missing or not an object");
    char what[512];
    snprintf(what, sizeof what, "%s: " INGOT_MANIFEST_MEMBER ": config", a->path);
    return ingot_config_from_json(c, &a->config, what, err);
}

/* ------------------------------------------------------------ open / free */

ingot_artifact *ingot_artifact_open(const char *path, ingot_error *err)
{
    if (!path) {
        ingot_fail(err, INGOT_ERR_ARG, "ingot_artifact_open: NULL path");
        return NULL;
    }
    ingot_artifact *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (ingot_map_file(path, &a->map, err) != 0)
        goto fail;
    if (a->map.size == 0) {
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: empty file, not an ingot artifact", path);
        goto fail;
    }
    if (read_members(a, err) != 0 || index_members(a, err) != 0 || load_manifest(a, err) != 0 ||
        check_format(a, err) != 0 || parse_tensors(a, err) != 0 || check_files(a, err) != 0 ||
        load_config(a, err) != 0)
        goto fail;
    return a;
fail:
    ingot_artifact_free(a);
    return NULL;
}

void ingot_artifact_free(ingot_artifact *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->n_members; i++)
        free(a->members[i].name);
    free(a->members);
    free(a->member_index);
    free(a->tensor_index);
    free(a->tensors);
    json_decref(a->manifest);
    free(a->manifest_text);
    ingot_unmap(&a->map);
    free(a->path);
    free(a);
}
