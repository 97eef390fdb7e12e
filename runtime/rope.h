/* rope.h - rotary position embedding frequencies for every rope type (internal). */
#ifndef INGOT_ROPE_H
#define INGOT_ROPE_H

#include "model/model_config.h"

/**
 * Fills inv_freq(hd/2) for a rope config and returns the factor cos/sin are
 * scaled by (1 except for yarn).  seq_len is the longest sequence so far:
 * dynamic NTK rescales the base once it exceeds the original context.
 */
float ingot_rope_freqs(const ingot_rope *r, int head_dim, int max_pos, int seq_len, float *inv_freq);

/**
 * Rotates x(n_heads, hd) in place for one position, using cos/sin tables of hd/2
 * (rotate_half convention of HuggingFace: pairs i and i + hd/2).
 */
void ingot_rope_apply(float *x, int n_heads, int hd, const float *cos_t, const float *sin_t);

#endif
