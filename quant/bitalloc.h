/*
 * bitalloc.h - choosing one format per tensor to meet a size budget with the
 * least predicted loss (--target-bpw).  Internal.
 */
#ifndef INGOT_BITALLOC_H
#define INGOT_BITALLOC_H

#include <stdint.h>

#include "ingot.h"

#define INGOT_ALLOC_MAX_CAND 12

/** One way to store a tensor: its bytes and the loss it is predicted to cost. */
typedef struct ingot_qcand {
    ingot_dtype type;
    int group;           /* int4 group size; 0 for the others */
    uint64_t bytes;      /* every part */
    double kld;          /* measured cost (0 for the tensor as stored) */
} ingot_qcand;

/** A tensor to allocate: its candidates and, after ingot_bitalloc, the choice. */
typedef struct ingot_alloc_item {
    const char *name;    /* borrowed */
    int n_cand;
    ingot_qcand cand[INGOT_ALLOC_MAX_CAND];
    int choice;          /* index into cand */
} ingot_alloc_item;

/**
 * Picks items[i].choice for every item so that the chosen bytes sum to at
 * most budget and the chosen klds sum to as little as a greedy walk along
 * each item's lower convex hull of (bytes, kld) finds: every item starts at
 * its smallest candidate, and the upgrade with the largest loss saved per
 * byte that still fits is taken until none fits.  (On the hulls this is the
 * Lagrangian optimum at each budget the walk passes; between them it may
 * leave a little of the budget unused.)
 * @return 0, or -1 with err INGOT_ERR_ARG when even the smallest candidates
 *         exceed budget (the message says how many bytes they need).
 */
int ingot_bitalloc(ingot_alloc_item *items, int n, uint64_t budget, uint64_t *used, ingot_error *err);

#endif
