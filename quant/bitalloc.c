/*
 * bitalloc.c - one format per tensor under a byte budget (see bitalloc.h).
 *
 * A tensor's candidates form a curve of loss against bytes.  Only the
 * points on its lower convex hull are worth taking: a point above the hull
 * is beaten by a mix of its neighbours at the same total size.  Walking all
 * hulls together, always taking the step that saves the most loss per byte,
 * visits the optimal allocation of every budget that falls on a step
 * boundary (the classic Lagrangian argument for separable convex costs).
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "quant/bitalloc.h"
#include "util/util.h"

/* Candidate indices of item it's hull, by bytes ascending; @return their number. */
static int hull(const ingot_alloc_item *it, int *h)
{
    int idx[INGOT_ALLOC_MAX_CAND], n = it->n_cand;
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort by bytes, then kld */
        for (int j = i; j > 0; j--) {
            const ingot_qcand *a = &it->cand[idx[j - 1]], *b = &it->cand[idx[j]];
            if (a->bytes < b->bytes || (a->bytes == b->bytes && a->kld <= b->kld))
                break;
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    int m = 0;
    for (int i = 0; i < n; i++) {
        const ingot_qcand *c = &it->cand[idx[i]];
        if (m > 0 && c->kld >= it->cand[h[m - 1]].kld)
            continue; /* more bytes, no less loss */
        /* pop points the new one makes non-convex */
        while (m >= 2) {
            const ingot_qcand *a = &it->cand[h[m - 2]], *b = &it->cand[h[m - 1]];
            double s1 = (a->kld - b->kld) / (double)(b->bytes - a->bytes);
            double s2 = (b->kld - c->kld) / (double)(c->bytes - b->bytes);
            if (s2 < s1)
                break;
            m--;
        }
        h[m++] = idx[i];
    }
    return m;
}

int ingot_bitalloc(ingot_alloc_item *items, int n, uint64_t budget, uint64_t *used, ingot_error *err)
{
    int(*h)[INGOT_ALLOC_MAX_CAND] = malloc((size_t)(n ? n : 1) * sizeof *h);
    int *nh = malloc((size_t)(n ? n : 1) * sizeof *nh), *pos = calloc((size_t)(n ? n : 1), sizeof *pos);
    if (!h || !nh || !pos) {
        free(h), free(nh), free(pos);
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    }
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        nh[i] = hull(&items[i], h[i]);
        total += items[i].cand[h[i][0]].bytes;
    }
    if (total > budget) {
        free(h), free(nh), free(pos);
        return ingot_fail(err, INGOT_ERR_ARG, "the smallest formats need %llu bytes, the budget is %llu",
                          (unsigned long long)total, (unsigned long long)budget);
    }
    for (;;) {
        int best = -1;
        double best_gain = 0;
        for (int i = 0; i < n; i++) {
            if (pos[i] + 1 >= nh[i])
                continue;
            const ingot_qcand *a = &items[i].cand[h[i][pos[i]]], *b = &items[i].cand[h[i][pos[i] + 1]];
            if (total - a->bytes + b->bytes > budget)
                continue;
            double gain = (a->kld - b->kld) / (double)(b->bytes - a->bytes);
            if (best < 0 || gain > best_gain) {
                best = i;
                best_gain = gain;
            }
        }
        if (best < 0)
            break;
        total += items[best].cand[h[best][pos[best] + 1]].bytes - items[best].cand[h[best][pos[best]]].bytes;
        pos[best]++;
    }
    for (int i = 0; i < n; i++)
        items[i].choice = h[i][pos[i]];
    if (used)
        *used = total;
    free(h), free(nh), free(pos);
    return 0;
}
