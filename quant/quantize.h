/*
 * quantize.h - internals of ingot_quantize shared by quant/quantize.c,
 * quant/awq.c and quant/calib.c.  The public part (ingot_quantize, its
 * options and ingot_quant_type) is in include/ingot.h.
 */
#ifndef INGOT_QUANTIZE_H
#define INGOT_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "ingot.h"

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
