/*
 * sensitivity.h - what quantizing one weight matrix costs the model's
 * predictions, measured on calibration text (for --target-bpw,
 * quant/bitalloc.c).  Internal.
 */
#ifndef INGOT_SENSITIVITY_H
#define INGOT_SENSITIVITY_H

#include "ingot.h"
#include "formats/formats.h"
#include "quant/quantize.h"
#include "runtime/model.h"

/* Calibration used for the measurement: sequences x tokens, and at most
 * this many bytes of reference log-probabilities (positions are strided
 * to fit: a large vocabulary scores fewer of them). */
#define INGOT_SENS_DEFAULT_SAMPLES 8
#define INGOT_SENS_DEFAULT_LEN 256
#define INGOT_SENS_REF_BYTES ((size_t)256 << 20)

typedef struct ingot_sens ingot_sens;

/**
 * Runs the model on the calibration sequences once, keeping every layer's
 * input hidden states and the reference next-token log-probabilities of
 * the scored positions.  m and calib are borrowed and must outlive s.
 * @return a handle owned by the caller (ingot_sens_free), or NULL with err.
 */
ingot_sens *ingot_sens_create(ingot_model *m, const ingot_calib *calib, int n_threads,
                              ingot_error *err);
void ingot_sens_free(ingot_sens *s);

/** @return the number of positions the divergence is averaged over. */
int ingot_sens_scored(const ingot_sens *s);

/**
 * The mean KL divergence KL(reference || model with tensor `name` replaced
 * by w) over the scored positions.  name is a linear of a layer
 * ("blk.L.attn_q.weight", ...), "token_embd.weight" (also the head when the
 * model ties them) or "output.weight"; w has that tensor's shape.  Only
 * the layers from the tensor's on are run again.
 * @return 0, or -1 with err (an unknown name, a non-finite output).
 */
int ingot_sens_kld(ingot_sens *s, const char *name, const ingot_wmat *w, double *kld, ingot_error *err);

/**
 * The cheap stand-in for ingot_sens_kld: the squared error of q's
 * dequantized weights against w (n_out, n_in) f32, each input channel k
 * weighed by the mean square of that input on the calibration tokens
 * (sum_o sum_k h_k (q_ok - w_ok)^2 = the mean squared error the change
 * adds to the tensor's outputs, when inputs are uncorrelated); for the
 * embedding, each row weighed by how often its token occurs.
 * @return 0, or -1 with err (an unknown name, out of memory).
 */
int ingot_sens_weighted_err(const ingot_sens *s, const char *name, const float *w, const ingot_wmat *q,
                            double *e, ingot_error *err);

/**
 * The importance of each of the n_in inputs of tensor name for the search
 * quantizers (ingot_quantize_ref_weighted): the mean square of that input
 * on the calibration tokens, over its mean across the inputs, into c (n_in).
 * A tied embedding gets the head's.
 * @return 1 when c was filled, 0 when the tensor has none (an untied
 *         embedding, whose inputs are token ids), -1 with err for a name
 *         that is no weight matrix of the model.
 */
int ingot_sens_col_weights(const ingot_sens *s, const char *name, int n_in, float *c, ingot_error *err);

#endif
