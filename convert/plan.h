/*
 * plan.h - a checked conversion plan (internal): the config, the canonical
 * tensor list matched to source tensors, and the HF files to store.  Built
 * and validated completely before any output is created.
 */
#ifndef INGOT_PLAN_H
#define INGOT_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "convert/hf_config.h"
#include "convert/st_quant.h"
#include "convert/st_set.h"
#include "model/tensor_map.h"
#include "model/model_config.h"

typedef struct ingot_plan_tensor {
    const ingot_tensor_spec *spec; /* canonical name and shape */
    const ingot_st_tensor *src;    /* the checkpoint's tensor */
    ingot_dtype out_dtype;
    uint64_t n_elems, out_bytes;
    uint64_t xxh3;                 /* of the converted bytes (pass 1) */
    /* A linear weight the checkpoint stores quantized (NULL: a float tensor):
     * its ingot parts are unpacked from q's tensors; src is q's first. */
    ingot_qsrc *q;
    uint64_t part_xxh3[INGOT_WMAT_MAX_PARTS];
} ingot_plan_tensor;

/** An HF file stored verbatim in the artifact under hf/<name>. */
typedef struct ingot_plan_file {
    const char *name;
    char *data;
    size_t len;
} ingot_plan_file;

/** An input file, for provenance and for refusing to overwrite inputs. */
typedef struct ingot_plan_source {
    char *name; /* relative to the checkpoint directory */
    char *path;
    char sha256[65];
    uint64_t bytes;
} ingot_plan_source;

#define INGOT_PLAN_MAX_FILES 8

typedef struct ingot_plan {
    char *hf_dir;
    ingot_config cfg;
    ingot_hf_quant hq;             /* quantization_config (method NONE for float checkpoints) */
    int n_quantized;               /* tensors with q */
    ingot_st_set *st;
    ingot_tensor_spec *specs;
    int n;                         /* tensors in the artifact */
    ingot_plan_tensor *tensors;
    uint64_t src_bytes, n_params;
    int n_files;
    ingot_plan_file files[INGOT_PLAN_MAX_FILES];
    int n_sources;
    ingot_plan_source *sources;
} ingot_plan;

/**
 * Reads and checks everything in hf_dir.  dtype: output type or -1 for the
 * checkpoint's own.  with_sha256: hash the source files for provenance.
 * @return a plan owned by the caller (ingot_plan_free), or NULL.
 */
ingot_plan *ingot_plan_build(const char *hf_dir, int dtype, bool with_sha256, ingot_error *err);
void ingot_plan_free(ingot_plan *p);

/** @return a malloc'ed NULL-terminated array of the input paths (strings owned by the plan). */
const char **ingot_plan_input_paths(const ingot_plan *p);

#endif
