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
    int32_t *tokens;    // (n, len)
    int n, len;
    size_t text_tokens; /* tokens of the documents read (reading stops once n * len are in hand) */
    char sha256[65];    /* of the file; of the sha256sum-style listing of a directory */
    uint64_t bytes;     /* of the file or files */
} ingot_calib;

struct ingot_model;
/**
 * Reads path (a text file, a JSON-lines file of {"text": ...} objects, or a
 * directory of such files; see quant/calib.c), tokenizes it with m's
 * tokenizer (no special tokens) and cuts it into want_n sequences of
 * want_len tokens.  @return 0, or -1: missing, empty or malformed input, or
 * fewer than want_n * want_len tokens (the message says how many).
 */
int ingot_calib_load(struct ingot_model *m, const char *path, int want_n, int want_len, ingot_calib *c,
                     ingot_error *err);
void ingot_calib_free(ingot_calib *c);

#endif /* INGOT_QUANTIZE_H */
