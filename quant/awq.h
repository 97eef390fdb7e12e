/*
 * awq.h - activation-aware weight quantization (AWQ) of a model's layers,
 * as AutoAWQ's AwqQuantizer does it (internal).
 *
 * Layers are processed in order.  For each one, ingot_awq_layer runs all
 * calibration sequences through it (the hidden states of every sequence at
 * this layer are the only activations kept), searches the input scales of
 * each group of linears that share an input and folds them into the
 * producer, searches the clipping range of each group of weights, and leaves
 * the layer's resulting f32 tensors for the caller to quantize with int4
 * (ingot_awq_tensor).  See quant/awq.c for the algorithm.
 */
#ifndef INGOT_AWQ_H
#define INGOT_AWQ_H

#include <jansson.h>

#include "ingot.h"
#include "quant/quantize.h"
#include "runtime/model.h"

#define INGOT_AWQ_GRID 20          /* alpha in {0, 1/20, ..., 19/20} */
#define INGOT_AWQ_CLIP_STEPS 10    /* shrink max|w| by 0, 5, ..., 45 % */
#define INGOT_AWQ_CLIP_TOKENS 512  /* AutoAWQ's n_sample_token */

typedef struct ingot_awq_params {
    int group_size;             /* int4 group size G (> 0) */
    int loss_samples;           /* sequences the alpha search scores (1 .. calibration sequences) */
    bool mse_scales;            /* pseudo-quantize with ingot_q4_quantize_row_mse, as the result is stored */
    const char *const *keep;    /* NULL-terminated globs: tensors left as they are */
    const volatile int *cancel;
    ingot_progress_fn progress; /* stage "layer L/N", units of work over all layers */
    void *progress_user;
} ingot_awq_params;

typedef struct ingot_awq ingot_awq;

/**
 * Prepares AWQ of model m on the calibration sequences in calib (borrowed:
 * both must outlive the handle): embeds the tokens, allocates one layer's
 * activations.  @return a handle (ingot_awq_free), or NULL with err.
 */
ingot_awq *ingot_awq_create(ingot_model *m, const ingot_calib *calib, const ingot_awq_params *p,
                            ingot_error *err);

/** Processes layer l; layers must come in order 0, 1, ...  @return 0 or -1. */
int ingot_awq_layer(ingot_awq *a, int l, ingot_error *err);

/**
 * The values of tensor `name` after ingot_awq_layer changed it: an f32
 * array of the tensor's shape, owned by the handle and valid until the next
 * ingot_awq_layer call; NULL when the tensor is not in the last layer run
 * or was left unchanged.
 */
const float *ingot_awq_tensor(const ingot_awq *a, const char *name);

/** @return the per-layer record (alpha and clipping of each group), borrowed. */
const json_t *ingot_awq_report(const ingot_awq *a);

/** @return progress units of the whole run (for the caller's total). */
uint64_t ingot_awq_work(const ingot_awq *a);

/* The phases of ingot_awq_layer, timed: the statistics pass, the scale search, the clip search. */
#define INGOT_AWQ_N_PHASES 3
extern const char *const ingot_awq_phase_name[INGOT_AWQ_N_PHASES];

/** @return wall seconds spent in phase (0 .. INGOT_AWQ_N_PHASES-1) over the layers run so far. */
double ingot_awq_seconds(const ingot_awq *a, int phase);

/** @return the sequences the alpha search actually scores. */
int ingot_awq_loss_samples(const ingot_awq *a);

void ingot_awq_free(ingot_awq *a);

#endif /* INGOT_AWQ_H */
