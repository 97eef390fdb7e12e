/*
 * st_writer.h - writing a single-file safetensors.
 *
 * The output is what the reference writer produces: header JSON compact,
 * padded with spaces so the data starts at a multiple of 8, offsets
 * contiguous from 0.  Data is laid out by descending element size, then by
 * name (as the reference does), so every tensor's data is aligned to its
 * element size in a mapping of the file; the header lists tensors by name,
 * after "__metadata__".
 */
#ifndef INGOT_ST_WRITER_H
#define INGOT_ST_WRITER_H

#include "convert/st_reader.h"

/**
 * Writes n tensors to path atomically (temporary file + rename: on failure
 * nothing is left and an existing path is untouched).
 * Of each tensor, name, dtype, ndim, shape, data and size are used (size must
 * be product(shape) x dtype size; data may be NULL only when size is 0);
 * file_offset and file_index are ignored.
 * @param metadata_json NULL, or a JSON object of string values stored as
 *        "__metadata__" (e.g. {"format":"pt"}).
 * @return 0, or -1 with err filled (INGOT_ERR_ARG for invalid tensors or
 *         metadata, INGOT_ERR_IO for write failures).
 */
int ingot_st_write(const char *path, const ingot_st_tensor *tensors, int n,
                   const char *metadata_json, ingot_error *err);

#endif /* INGOT_ST_WRITER_H */
