/*
 * artifact.h - reading and writing the .ingot container (internal).
 *
 * An .ingot file is an uncompressed POSIX pax tar (docs/FORMAT.md):
 *   ingot.json            manifest: format version, config, tensors, provenance
 *   hf/<file>.json ...    the original HuggingFace json/jinja files, verbatim
 *   tensors/<name>[.role] one member per stored array, 512-byte aligned
 * The reader maps the whole file once and hands out pointers into it.
 */
#ifndef INGOT_ARTIFACT_H
#define INGOT_ARTIFACT_H

#include <jansson.h>
#include <stdint.h>

#include "ingot.h"
#include "formats/formats.h"
#include "model/model_config.h"
#include "util/util.h"

#define INGOT_FORMAT_MAJOR 1
#define INGOT_FORMAT_MINOR 0
#define INGOT_MANIFEST_MEMBER "ingot.json"
#define INGOT_MAX_PARTS 4
#define INGOT_MAX_DIMS 4

/** One stored array of a tensor ("data" for plain tensors; "qs", "scales"... for quantized). */
typedef struct ingot_part {
    char role[16];
    ingot_dtype dtype;     /* element type of this array */
    const uint8_t *data;   /* into the mapping; 512-byte aligned in the file */
    uint64_t size;         /* bytes */
    uint64_t xxh3;         /* XXH3-64 of the bytes, from the manifest */
    char member[256];      /* tar member name */
} ingot_part;

typedef struct ingot_tensor {
    char name[128];        /* ingot tensor name, e.g. "blk.0.attn_q.weight" */
    ingot_dtype type;      /* logical type: f32/f16/bf16 or a quantized format */
    int ndim;
    int64_t shape[INGOT_MAX_DIMS]; /* logical shape, row-major, [out, in] for linears */
    int group_size;        /* quantized formats: values per scale; 0 otherwise */
    int n_parts;
    ingot_part parts[INGOT_MAX_PARTS];
} ingot_tensor;

struct ingot_artifact {
    char *path;
    ingot_map map;
    char *manifest_text;   /* NUL-terminated copy of ingot.json */
    json_t *manifest;
    ingot_config config;
    int n_tensors;
    ingot_tensor *tensors;
    int n_members;
    struct ingot_member { char *name; uint64_t offset, size; } *members; /* in file order */
    /* Lookup indexes (sorted by name) so that find/member are O(log n). */
    int *tensor_index;     /* into tensors[] */
    int *member_index;     /* into members[] */
};

/** @return the tensor called name, or NULL. */
const ingot_tensor *ingot_artifact_find(const ingot_artifact *a, const char *name);
/** @return the first part with this role of t, or NULL. */
const ingot_part *ingot_tensor_part(const ingot_tensor *t, const char *role);
/**
 * Binds stored tensor t as a (rows, cols) weight of format f: its parts found
 * by role, each part's size checked against f's layout (ingot_wmat_bind_found;
 * errors name path and t).  The view points into the artifact's mapping.
 * @return 0, or -1 with err.
 */
int ingot_tensor_bind(const ingot_tensor *t, const ingot_format *f, int64_t rows, int64_t cols,
                      const char *path, ingot_wmat *w, ingot_error *err);
/** t read as rows of its last dimension: *cols = that dimension, *rows = the product of the others. */
void ingot_tensor_rows(const ingot_tensor *t, int64_t *rows, int64_t *cols);
/** @return the bytes of a tar member (e.g. "hf/tokenizer.json"), or NULL; *size set. */
const uint8_t *ingot_artifact_member(const ingot_artifact *a, const char *member, size_t *size);

/**
 * Checks that a tar member name is safe and canonical: relative, non-empty,
 * no "." / ".." / empty components, no control characters.  Both the writer
 * and the reader apply it.  @return NULL when fine, else a static reason.
 */
const char *ingot_member_name_problem(const char *member);

/**
 * Decodes a manifest "files" value: either "hf/name" or
 * {"member": "hf/name", "xxh3": "<16 hex digits>"} (xxh3 optional).
 * @return 0 with *member set and *xxh3 set or NULL, or -1 when malformed.
 */
int ingot_artifact_file_entry(const json_t *v, const char **member, const char **xxh3);

/*
 * ---- writer: streams members into a pax tar on an open file descriptor ----
 *
 * Output is deterministic: regular files, mode 0644, uid/gid 0, no user or
 * group names, the given mtime, no atime/ctime, no padding after the
 * end-of-archive blocks.  Error messages start with the member name; callers
 * prefix the output file name (ingot_error_prefix).  After any error the
 * writer refuses further calls; ingot_aw_free then abandons the output.
 */

typedef struct ingot_archive_writer ingot_archive_writer;

/** Starts a pax archive on fd (not closed by the writer).  mtime stamps every member. */
ingot_archive_writer *ingot_aw_open(int fd, int64_t mtime, ingot_error *err);
/** Adds a whole member. */
int ingot_aw_add(ingot_archive_writer *w, const char *member, const void *data, size_t len,
                 ingot_error *err);
/** Starts a member of exactly size bytes, to be filled by ingot_aw_write calls. */
int ingot_aw_begin(ingot_archive_writer *w, const char *member, uint64_t size, ingot_error *err);
int ingot_aw_write(ingot_archive_writer *w, const void *data, size_t len, ingot_error *err);
/** Ends the member; fails if fewer or more than its size were written. */
int ingot_aw_end(ingot_archive_writer *w, ingot_error *err);
/** Writes the end-of-archive blocks. */
int ingot_aw_close(ingot_archive_writer *w, ingot_error *err);
/** Frees the writer; on a writer not successfully closed, writes nothing more.  NULL is a no-op. */
void ingot_aw_free(ingot_archive_writer *w);

#endif /* INGOT_ARTIFACT_H */
