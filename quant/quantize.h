/*
 * quantize.h - ingot_quantize: from an .ingot artifact (or a HuggingFace
 * checkpoint) to a quantized .ingot artifact.
 *
 * The first block below (up to "internal") is public API waiting to move
 * into include/ingot.h; the rest is shared by quant/quantize.c, quant/awq.c
 * and quant/calib.c only.
 */
#ifndef INGOT_QUANTIZE_H
#define INGOT_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "ingot.h"

/* ------------------------------------------------------------------ public */

/** What `ingot quantize --type` makes of the linear layers. */
typedef enum ingot_quant_type {
    INGOT_QUANT_INT8 = 0, /* int8, absmax per output channel (W8A16) */
    INGOT_QUANT_NF4,      /* bitsandbytes NF4, blocks of 64 */
    INGOT_QUANT_INT4,     /* int4 asymmetric per group, round to nearest */
    INGOT_QUANT_AWQ4      /* int4 storage after AWQ (needs calibration text) */
} ingot_quant_type;

/** @return "int8", "nf4", "int4" or "awq4"; NULL for an invalid value. */
const char *ingot_quant_type_name(ingot_quant_type t);
/** @return the type named s, or -1. */
int ingot_quant_type_from_name(const char *s);

/** Informational message for the user (e.g. "calibration text is short"). */
typedef void (*ingot_note_fn)(void *user, const char *message);

#define INGOT_AWQ_DEFAULT_SAMPLES 128    /* AutoAWQ's n_samples */
#define INGOT_AWQ_DEFAULT_LEN 512        /* AutoAWQ's max_seq_len */
#define INGOT_AWQ_DEFAULT_LOSS_SAMPLES 16 /* samples the alpha search scores */

typedef struct ingot_quantize_options {
    ingot_quant_type type;
    int group_size;          /* int4 / awq4 (and int4 embed / head): 0 = 128 */
    int double_quant;        /* nf4 (and nf4 embed / head): quantize the block maxima too */
    const char *calib_path;  /* awq4: calibration text (required) */
    int calib_samples;       /* awq4: sequences (0 = 128) */
    int calib_len;           /* awq4: tokens per sequence (0 = 512) */
    int loss_samples;        /* awq4: sequences the alpha grid search scores its MSE on
                                (0 = INGOT_AWQ_DEFAULT_LOSS_SAMPLES, capped at calib_samples) */
    const char *const *keep; /* NULL-terminated fnmatch(3) globs on tensor names: left as is */
    int embed_type;          /* -1: as stored; else a dtype for token_embd.weight */
    int head_type;           /* -1: as stored; else a dtype for output.weight
                                (for tied embeddings: stores a separate output.weight) */
    int64_t mtime;           /* time stamp of the archive members */
    int n_threads;           /* 0: the OpenMP default */
    ingot_progress_fn progress;
    void *progress_user;
    ingot_note_fn note;
    void *note_user;
    const volatile int *cancel; /* when non-NULL and *cancel != 0: stop, INGOT_ERR_INTERRUPTED */
} ingot_quantize_options;

/** Fills *o with the defaults: int8, group 128, no calibration, types as stored. */
void ingot_quantize_options_init(ingot_quantize_options *o);

/**
 * Quantizes the artifact (or HuggingFace checkpoint directory) in_path into
 * out_path.  The output is written to a temporary file beside out_path and
 * renamed into place only on success; on failure or interrupt nothing is
 * left and an existing out_path is untouched.  in_path and the calibration
 * file are never overwritten.  Same inputs and options give the same bytes,
 * whatever the number of threads.
 * @param summary_json when not NULL, receives a malloc'ed JSON summary.
 * @return 0, or -1 with err "<file or tensor>: <why>".
 */
int ingot_quantize(const char *in_path, const char *out_path, const ingot_quantize_options *o,
                   char **summary_json, ingot_error *err);

/* ---------------------------------------------------------------- internal */

/** @return true when name matches one of the NULL-terminated globs. */
bool ingot_quantize_kept(const char *const *keep, const char *name);

/** Calibration sequences: n sequences of len tokens, back to back. */
typedef struct ingot_calib {
    int32_t *tokens;   // (n, len)
    int n, len;
    size_t text_tokens; /* tokens of the whole text */
    char sha256[65];
    uint64_t bytes;
} ingot_calib;

struct ingot_model;
/**
 * Reads path, tokenizes it with m's tokenizer (no special tokens) and cuts
 * it into want_n sequences of want_len tokens, fewer when the text is short
 * (note() says so).  @return 0, or -1 (missing or empty file, ...).
 */
int ingot_calib_load(struct ingot_model *m, const char *path, int want_n, int want_len,
                     ingot_note_fn note, void *note_user, ingot_calib *c, ingot_error *err);
void ingot_calib_free(ingot_calib *c);

#endif /* INGOT_QUANTIZE_H */
