/*
 * export.h - ingot export (internal): an artifact back into a checkpoint
 * directory that other tools load.
 *
 *   outdir.c    the atomic output directory (temporary directory beside the
 *               destination, renamed into place on success)
 *   awq_pack.c  int4 parts -> AutoAWQ's GEMM layout
 *   export.c    the driver: tensor list, shards, config and tokenizer files
 */
#ifndef INGOT_EXPORT_H
#define INGOT_EXPORT_H

#include <stdint.h>

#include "formats/formats.h"
#include "ingot.h"

/* ---- the output directory ---- */

/**
 * A directory written atomically: files go into tmp (a fresh directory
 * beside path); ingot_outdir_commit renames it to path (replacing an old
 * export there), ingot_outdir_abort removes it.
 */
typedef struct ingot_outdir {
    char *path; /* final destination */
    char *tmp;  /* the temporary directory */
} ingot_outdir;

/**
 * Checks the destination and creates the temporary directory.  An existing
 * path must be a directory that is empty or holds only checkpoint files
 * (regular *.safetensors, *.json, *.jinja, *.txt, *.model), and must not
 * hold input (the file being exported).
 * @return 0, or -1 with err "<path>: <why>".
 */
int ingot_outdir_open(ingot_outdir *d, const char *path, const char *input, ingot_error *err);
/** @return malloc'ed "<tmp>/<name>", or NULL when out of memory. */
char *ingot_outdir_file(const ingot_outdir *d, const char *name);
/** Moves the temporary directory into place.  Aborts on failure.  @return 0 or -1. */
int ingot_outdir_commit(ingot_outdir *d, ingot_error *err);
/** Removes the temporary directory and its files; safe to call more than once. */
void ingot_outdir_abort(ingot_outdir *d);

/* ---- AutoAWQ's GEMM layout ---- */

/**
 * AutoAWQ packs eight 4-bit values per int32: nibble i (bits 4i .. 4i+3) of
 * packed column c holds column 8c + INGOT_AWQ_ORDER[i]
 * (awq/modules/linear/gemm.py, WQLinear_GEMM.from_linear: order_map;
 * awq/utils/packing_utils.py: AWQ_ORDER).
 */
extern const int INGOT_AWQ_ORDER[8];

/**
 * Which array of an AutoAWQ linear: qweight int32 (n_in, n_out/8), qzeros
 * int32 (n_in/G, n_out/8), scales f16 (n_in/G, n_out).
 */
typedef enum { INGOT_AWQ_QWEIGHT, INGOT_AWQ_QZEROS, INGOT_AWQ_SCALES } ingot_awq_array;

/**
 * Rows [r0, r1) of array a of the int4 weight w (n_out % 8 == 0), in
 * AutoAWQ's layout, into out (little-endian int32 or f16 bits): a
 * permutation of w's codes, zeros and scales, with no re-rounding.
 */
void ingot_awq_pack_rows(const ingot_wmat *w, ingot_awq_array a, int64_t r0, int64_t r1,
                         void *out);

#endif /* INGOT_EXPORT_H */
