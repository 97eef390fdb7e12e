/*
 * export.h - ingot export (internal): an artifact back into a checkpoint
 * directory that other tools load.
 *
 *   outdir.c    the atomic output directory (temporary directory beside the
 *               destination, renamed into place on success)
 *   awq_pack.c  int4 parts -> AutoAWQ's GEMM layout
 *   bnb_pack.c  nf4 / int8 parts -> what bitsandbytes adds to them (quant_state, SCB)
 *   export.c    the driver: tensor list, shards, config and tokenizer files
 */
#ifndef INGOT_EXPORT_H
#define INGOT_EXPORT_H

#include <stdbool.h>
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

/* ---- bitsandbytes (bnb_pack.c) ---- */

/**
 * The "weight.quant_state.bitsandbytes__nf4" text of a (n_out, n_in) nf4
 * weight, as bitsandbytes' json.dumps writes it; dtype is the torch dtype
 * name of the unquantized weight ("bfloat16").  nested: double quant, with
 * its offset.  @return malloc'ed NUL-terminated text, or NULL (out of memory).
 */
char *ingot_bnb_nf4_state(int64_t n_out, int64_t n_in, const char *dtype, bool nested,
                          float offset);

/**
 * SCB (n_out) of the int8 weight w: per row the f32 a with a / 127 == the
 * stored scale, so that reading it back (SCB / 127) is exact.
 * @return 0, or -1 with *bad_row set when a scale has no such a (negative,
 *         non-finite; never for scales ingot's quantizer made).
 */
int ingot_bnb_scb(const ingot_wmat *w, float *scb, int *bad_row);

#endif /* INGOT_EXPORT_H */
