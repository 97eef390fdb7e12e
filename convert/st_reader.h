/*
 * st_reader.h - reading one .safetensors file.
 *
 * The file is mapped read-only; the header is parsed and validated with the
 * rules of the reference implementation (huggingface/safetensors,
 * SafeTensors::read_metadata) before any tensor is handed out, so a tensor's
 * data pointer always lies inside the mapping and its size always equals
 * product(shape) x dtype size.
 *
 * Every error is one line "<file>: <tensor or field>: <why>" with code
 * INGOT_ERR_FORMAT, except:
 *   - INGOT_ERR_IO: the file cannot be opened or mapped;
 *   - INGOT_ERR_UNSUPPORTED: a well-formed file that ingot does not handle
 *     (a safetensors dtype outside ingot's set such as U16, or ndim > 8);
 *   - INGOT_ERR_NOMEM.
 */
#ifndef INGOT_ST_READER_H
#define INGOT_ST_READER_H

#include <stdint.h>

#include "ingot.h"

#define INGOT_ST_MAX_NDIM 8
/* Same limit as the reference: refuse absurd headers before parsing them. */
#define INGOT_ST_MAX_HEADER 100000000ULL

/**
 * One tensor of a safetensors file.  name and data point into the file's
 * memory and stay valid until the file (or the set holding it) is closed.
 * data may be unaligned (safetensors only guarantees the header is padded to
 * 8 bytes); it is NULL only when size is 0.
 */
typedef struct ingot_st_tensor {
    const char *name;
    ingot_dtype dtype;
    int ndim;                         /* 0 for a scalar */
    int64_t shape[INGOT_ST_MAX_NDIM];
    const uint8_t *data;
    uint64_t size;                    /* bytes */
    uint64_t file_offset;             /* absolute offset of data in the file */
    int file_index;                   /* 0 for a lone file; shard index in a set */
} ingot_st_tensor;

typedef struct ingot_st_file ingot_st_file;

/** Maps and validates path.  @return the file (ingot_st_close) or NULL, err filled. */
ingot_st_file *ingot_st_open(const char *path, ingot_error *err);
/** Unmaps and frees; NULL is a no-op. */
void ingot_st_close(ingot_st_file *f);

/** @return the path as given to ingot_st_open. */
const char *ingot_st_file_path(const ingot_st_file *f);
/** @return the number of tensors. */
int ingot_st_file_count(const ingot_st_file *f);
/** @return tensor i, 0 <= i < count, in strcmp order of names. */
const ingot_st_tensor *ingot_st_file_at(const ingot_st_file *f, int i);
/** @return the tensor called name, or NULL. */
const ingot_st_tensor *ingot_st_file_find(const ingot_st_file *f, const char *name);
/** @return the value of key in the header's __metadata__, or NULL. */
const char *ingot_st_file_metadata(const ingot_st_file *f, const char *key);
/**
 * Drops the tensor's pages from the resident set (they are re-read from the
 * file if touched again): streaming conversion calls it after each tensor.
 */
void ingot_st_file_release(const ingot_st_file *f, const ingot_st_tensor *t);

#endif /* INGOT_ST_READER_H */
