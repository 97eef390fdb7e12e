/*
 * st_set.h - a HuggingFace checkpoint as a set of safetensors files.
 *
 * A checkpoint directory holds either model.safetensors.index.json, whose
 * "weight_map" maps every tensor name to the shard file holding it, or one
 * model.safetensors.  The index wins when both are present (that is what
 * transformers loads).  Index and shards must agree exactly: every tensor
 * the index names is in the shard it names, every tensor of every shard is
 * named by the index, for that shard.
 *
 * Error codes: INGOT_ERR_IO when a file is missing or unreadable (including
 * a shard the index names), INGOT_ERR_FORMAT for a malformed index or an
 * index that disagrees with its shards, plus those of ingot_st_open.
 */
#ifndef INGOT_ST_SET_H
#define INGOT_ST_SET_H

#include <stdint.h>

#include "convert/st_reader.h"

#define INGOT_ST_INDEX_NAME "model.safetensors.index.json"
#define INGOT_ST_SINGLE_NAME "model.safetensors"

typedef struct ingot_st_set ingot_st_set;

/** Opens and cross-checks the checkpoint in hf_dir.  @return the set or NULL. */
ingot_st_set *ingot_st_set_open(const char *hf_dir, ingot_error *err);
/** Unmaps every file and frees; NULL is a no-op. */
void ingot_st_set_free(ingot_st_set *s);

/** @return the number of tensors over all files. */
int ingot_st_set_count(const ingot_st_set *s);
/** @return tensor i, 0 <= i < count, in strcmp order of names (deterministic). */
const ingot_st_tensor *ingot_st_set_at(const ingot_st_set *s, int i);
/** @return the tensor called name, or NULL. */
const ingot_st_tensor *ingot_st_set_find(const ingot_st_set *s, const char *name);

/** @return the number of safetensors files (shards). */
int ingot_st_set_n_files(const ingot_st_set *s);
/** @return the path ("<hf_dir>/<name>") of file i; tensor->file_index indexes this. */
const char *ingot_st_set_file(const ingot_st_set *s, int i);
/** @return the opened file i (for its __metadata__, say). */
const ingot_st_file *ingot_st_set_st_file(const ingot_st_set *s, int i);
/** @return the path of the index file, or NULL for a single-file checkpoint. */
const char *ingot_st_set_index_path(const ingot_st_set *s);

/** Drops the tensor's pages from the resident set (see ingot_st_file_release). */
void ingot_st_set_release(const ingot_st_set *s, const ingot_st_tensor *t);
/** @return the sum of every tensor's size in bytes. */
uint64_t ingot_st_set_total_bytes(const ingot_st_set *s);

#endif /* INGOT_ST_SET_H */
