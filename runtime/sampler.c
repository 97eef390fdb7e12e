/*
 * sampler.c - next-token selection: repeat penalty, then greedy or
 * temperature sampling restricted by top-k, top-p and min-p (in that order,
 * as llama.cpp applies them).  A seeded splitmix64 makes runs repeatable.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

struct ingot_sampler {
    ingot_sampler_params p;
    int vocab;
    uint64_t state;
    int32_t *idx; /* (vocab) candidate ids, sorted by logit */
    float *prob;  /* (vocab) */
};

void ingot_sampler_params_init(ingot_sampler_params *p)
{
    memset(p, 0, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->seed = 0;
}

ingot_sampler *ingot_sampler_create(const ingot_sampler_params *p, int vocab_size, ingot_error *err)
{
    if (vocab_size <= 0 || p->temperature < 0 || p->top_k < 0 || p->top_p <= 0 || p->top_p > 1 ||
        p->min_p < 0 || p->min_p > 1 || p->repeat_penalty <= 0) {
        ingot_fail(err, INGOT_ERR_ARG, "sampler: invalid parameters");
        return NULL;
    }
    ingot_sampler *s = calloc(1, sizeof *s);
    if (s) {
        s->idx = malloc((size_t)vocab_size * sizeof *s->idx);
        s->prob = malloc((size_t)vocab_size * sizeof *s->prob);
    }
    if (!s || !s->idx || !s->prob) {
        ingot_sampler_free(s);
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->p = *p;
    s->vocab = vocab_size;
    s->state = p->seed ^ 0x9e3779b97f4a7c15ull;
    return s;
}

void ingot_sampler_free(ingot_sampler *s)
{
    if (!s)
        return;
    free(s->idx);
    free(s->prob);
    free(s);
}

static double next_uniform(ingot_sampler *s)
{
    uint64_t z = (s->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* As llama.cpp / CTRL: divide positive logits by the penalty, multiply negative ones. */
static void repeat_penalty(const ingot_sampler *s, float *logits, const int32_t *hist, int n)
{
    if (s->p.repeat_penalty == 1.0f || !hist)
        return;
    int from = s->p.repeat_last_n > 0 && n > s->p.repeat_last_n ? n - s->p.repeat_last_n : 0;
    for (int i = from; i < n; i++) {
        int32_t t = hist[i];
        if (t < 0 || t >= s->vocab)
            continue;
        bool seen = false; /* penalize each token once */
        for (int j = from; j < i && !seen; j++)
            seen = hist[j] == t;
        if (!seen)
            logits[t] = logits[t] > 0 ? logits[t] / s->p.repeat_penalty : logits[t] * s->p.repeat_penalty;
    }
}

static const float *sort_logits;
static int by_logit_desc(const void *a, const void *b)
{
    float x = sort_logits[*(const int32_t *)a], y = sort_logits[*(const int32_t *)b];
    if (x != y)
        return x < y ? 1 : -1;
    return *(const int32_t *)a - *(const int32_t *)b;
}

static int32_t argmax(const float *x, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

int32_t ingot_sampler_sample(ingot_sampler *s, float *logits, const int32_t *history, int n_history)
{
    repeat_penalty(s, logits, history, n_history);
    if (s->p.temperature <= 0)
        return argmax(logits, s->vocab);
    int n = s->vocab;
    for (int i = 0; i < n; i++)
        s->idx[i] = i;
    sort_logits = logits; /* qsort has no user pointer; the sampler is not shared across threads */
    qsort(s->idx, (size_t)n, sizeof *s->idx, by_logit_desc);
    if (s->p.top_k > 0 && s->p.top_k < n)
        n = s->p.top_k;
    double sum = 0, mx = logits[s->idx[0]];
    for (int i = 0; i < n; i++) {
        s->prob[i] = (float)exp((logits[s->idx[i]] - mx) / s->p.temperature);
        sum += s->prob[i];
    }
    double cum = 0;
    int keep = n;
    for (int i = 0; i < n; i++) {
        s->prob[i] = (float)(s->prob[i] / sum);
        cum += s->prob[i];
        if (cum >= s->p.top_p && keep == n)
            keep = i + 1;
    }
    n = keep;
    while (n > 1 && s->prob[n - 1] < s->p.min_p * s->prob[0])
        n--;
    double total = 0;
    for (int i = 0; i < n; i++)
        total += s->prob[i];
    double r = next_uniform(s) * total;
    for (int i = 0; i < n; i++) {
        r -= s->prob[i];
        if (r <= 0)
            return s->idx[i];
    }
    return s->idx[n - 1];
}
