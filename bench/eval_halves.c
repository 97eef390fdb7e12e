/*
 * eval_halves.c - perplexity of an artifact scored two ways over the same
 * forward passes, for comparing with llama.cpp (scripts/check_exports.sh):
 *
 *   all          every prediction of each chunk (positions 0 .. ctx-2), as
 *                `ingot eval` scores it; this number equals ingot eval's ppl
 *   second_half  only the predictions made at positions ctx/2 .. ctx-2, as
 *                llama-perplexity scores a chunk by default (its
 *                perplexity(): first = n_ctx/2, logits [first, n_ctx-1))
 *
 * Chunks as both tools make them: the text tokenized without special tokens
 * (the tokenizer adds no BOS for the models compared; llama-perplexity would
 * put one at the start of every chunk when add_bos_token is true), cut into
 * floor(n / ctx) non-overlapping chunks from the first token, each run from
 * position 0 with an empty cache.
 *
 * usage: eval_halves MODEL TEXT [CTX (512)] [CHUNKS (0: all)]
 * prints one JSON object on standard output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ingot.h"

typedef struct sums {
    double all, half;
    long n_all, n_half;
} sums;

static double nll_at(const float *logits, int vocab, int target)
{
    float mx = logits[0];
    for (int v = 1; v < vocab; v++)
        mx = logits[v] > mx ? logits[v] : mx;
    double s = 0;
    for (int v = 0; v < vocab; v++)
        s += exp((double)logits[v] - mx);
    return log(s) + mx - logits[target];
}

static int score_chunk(ingot_context *c, const int32_t *ids, int ctx, int vocab, float *logits,
                       sums *s, ingot_error *err)
{
    if (ingot_context_eval(c, ids, ctx, 0, logits, 1, err) != 0)
        return -1;
    for (int j = 0; j < ctx - 1; j++) {
        double nll = nll_at(logits + (size_t)j * (size_t)vocab, vocab, ids[j + 1]);
        s->all += nll;
        s->n_all++;
        if (j >= ctx / 2) {
            s->half += nll;
            s->n_half++;
        }
    }
    return 0;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: eval_halves MODEL TEXT [CTX] [CHUNKS]\n");
        return 2;
    }
    int ctx = argc > 3 ? atoi(argv[3]) : 512;
    long max_chunks = argc > 4 ? atol(argv[4]) : 0;
    ingot_error err = {0};
    size_t len;
    char *text = read_text(argv[2], &len);
    ingot_model *m = text ? ingot_model_open(argv[1], &err) : NULL;
    if (!m) {
        fprintf(stderr, "eval_halves: %s\n", text ? err.message : "cannot read the text");
        return 1;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    ingot_context *c = ingot_tokenize(m, text, len, 0, &ids, &n, &err) == 0
                           ? ingot_context_create(m, ctx, 0, &err)
                           : NULL;
    float *logits = malloc((size_t)ctx * (size_t)info.vocab_size * sizeof(float));
    long chunks = (long)(n / (size_t)ctx);
    if (max_chunks > 0 && max_chunks < chunks)
        chunks = max_chunks;
    sums s = {0};
    int rc = c && logits ? 0 : -1;
    for (long k = 0; rc == 0 && k < chunks; k++)
        rc = score_chunk(c, ids + k * ctx, ctx, info.vocab_size, logits, &s, &err);
    if (rc == 0)
        printf("{\"model\": \"%s\", \"ctx\": %d, \"chunks\": %ld, \"tokens\": %zu, "
               "\"ppl_all\": %.6f, \"predictions_all\": %ld, "
               "\"ppl_second_half\": %.6f, \"predictions_second_half\": %ld}\n",
               argv[1], ctx, chunks, n, exp(s.all / (double)s.n_all), s.n_all,
               exp(s.half / (double)s.n_half), s.n_half);
    else
        fprintf(stderr, "eval_halves: %s\n", err.message[0] ? err.message : "out of memory");
    free(logits);
    free(ids);
    free(text);
    ingot_context_free(c);
    ingot_model_free(m);
    return rc == 0 ? 0 : 1;
}
