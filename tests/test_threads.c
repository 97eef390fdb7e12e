/*
 * test_threads.c - one model shared by contexts in several threads.
 *
 * The C API's rule (include/ingot.h, "Threads"): a model may be shared by
 * any number of threads once opened; a context, sampler or other handle
 * belongs to one thread at a time.  Here N threads each tokenize their own
 * slice of eval.txt, prefill it (past the attention tile size) and decode a
 * few greedy steps in their own context, while another thread quantizes the
 * same artifact; every logit and the quantized
 * file must equal the serial run's bit for bit.  Run under ThreadSanitizer
 * with `configure --enable-tsan` and OMP_NUM_THREADS=1 (docs/RELIABILITY.md):
 * libgomp is not instrumented, so TSan cannot see its barriers and reports
 * every OpenMP region; with OMP_NUM_THREADS set, every context and the
 * quantization use the OpenMP default (1: no worker threads), so what TSan
 * reports is between the test's own threads.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingot.h"
#include "util/util.h"
#include "tests/test_files.h"

#define N_CTX_THREADS 4
#define PROMPT 100 /* tokens: more than one attention tile (INGOT_ATTN_TILE) */
#define STEPS 6    /* greedy decode steps after the prompt */

static char dirs[2][1024], arts[2][1024], tmpdir[600];

struct job {
    ingot_model *m;
    const char *text;
    size_t len;
    int index, threads; /* which slice of the text; CPU threads of the context */
    float *logits;      /* (STEPS + 1, vocab) */
    int vocab;
    char err[1100];
};

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        b = x[i] > x[b] ? i : b;
    return b;
}

/* Tokenize a slice, prefill PROMPT tokens, decode STEPS greedy tokens. */
static void *run_job(void *arg)
{
    struct job *j = arg;
    ingot_error err = {0};
    int32_t *ids = NULL;
    size_t n = 0, off = (size_t)j->index * 4000;
    ingot_context *c = NULL;
    if (off + 4000 > j->len || ingot_tokenize(j->m, j->text + off, 4000, 0, &ids, &n, &err) != 0 ||
        n < PROMPT || !(c = ingot_context_create(j->m, 256, j->threads, &err)) ||
        ingot_context_eval(c, ids, PROMPT, 0, j->logits, 0, &err) != 0) {
        snprintf(j->err, sizeof j->err, "job %d: %s", j->index, err.message[0] ? err.message : "text too short");
        goto out;
    }
    for (int s = 0; s < STEPS; s++) {
        float *prev = j->logits + (size_t)s * j->vocab;
        int32_t tok = argmax(prev, j->vocab);
        if (ingot_context_eval(c, &tok, 1, PROMPT + s, prev + j->vocab, 0, &err) != 0) {
            snprintf(j->err, sizeof j->err, "job %d step %d: %s", j->index, s, err.message);
            break;
        }
    }
out:
    ingot_context_free(c);
    free(ids);
    return NULL;
}

struct qjob {
    const char *in, *out;
    char err[1100];
};

static void *run_quantize(void *arg)
{
    struct qjob *q = arg;
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT8;
    o.n_threads = getenv("OMP_NUM_THREADS") ? 0 : 1;
    ingot_error err = {0};
    if (ingot_quantize(q->in, q->out, &o, NULL, &err) != 0)
        snprintf(q->err, sizeof q->err, "quantize: %s", err.message);
    return NULL;
}

static void jobs_init(struct job *jobs, ingot_model *m, const char *text, size_t len)
{
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    bool omp_default = getenv("OMP_NUM_THREADS") != NULL;
    for (int i = 0; i < N_CTX_THREADS; i++) {
        jobs[i] = (struct job){.m = m, .text = text, .len = len, .index = i, .threads = omp_default ? 0 : 1 + i % 2,
                               .vocab = info.vocab_size};
        jobs[i].logits = calloc((size_t)(STEPS + 1) * info.vocab_size, sizeof(float));
        ck_assert_ptr_nonnull(jobs[i].logits);
    }
}

START_TEST(contexts_in_threads_match_serial)
{
    const char *art = arts[_i];
    if (!art[0])
        return; /* small-qwen2 not present */
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(art, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    char eval[1100], *text = NULL, qs[1200], qp[1200];
    size_t len = 0;
    snprintf(eval, sizeof eval, "%s/eval.txt", dirs[_i]);
    slurp(eval, &text, &len);
    snprintf(qs, sizeof qs, "%s/serial%d.ingot", tmpdir, _i);
    snprintf(qp, sizeof qp, "%s/parallel%d.ingot", tmpdir, _i);

    struct job serial[N_CTX_THREADS], par[N_CTX_THREADS];
    jobs_init(serial, m, text, len);
    jobs_init(par, m, text, len);
    for (int i = 0; i < N_CTX_THREADS; i++) {
        run_job(&serial[i]);
        ck_assert_msg(!serial[i].err[0], "%s", serial[i].err);
    }
    struct qjob q1 = {.in = art, .out = qs}, q2 = {.in = art, .out = qp};
    run_quantize(&q1);
    ck_assert_msg(!q1.err[0], "%s", q1.err);

    pthread_t th[N_CTX_THREADS + 1];
    ck_assert_int_eq(pthread_create(&th[N_CTX_THREADS], NULL, run_quantize, &q2), 0);
    for (int i = 0; i < N_CTX_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_job, &par[i]), 0);
    for (int i = 0; i <= N_CTX_THREADS; i++)
        pthread_join(th[i], NULL);

    ck_assert_msg(!q2.err[0], "%s", q2.err);
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    slurp(qs, &a, &la);
    slurp(qp, &b, &lb);
    ck_assert_msg(la == lb && !memcmp(a, b, la), "the int8 artifact made beside the contexts differs");
    for (int i = 0; i < N_CTX_THREADS; i++) {
        ck_assert_msg(!par[i].err[0], "%s", par[i].err);
        size_t n = (size_t)(STEPS + 1) * par[i].vocab;
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(par[i].logits[k] == serial[i].logits[k],
                          "%s, context %d (%d threads): logit %zu is %.9g in a thread, %.9g serially", art, i,
                          par[i].threads, k, par[i].logits[k], serial[i].logits[k]);
        free(par[i].logits);
        free(serial[i].logits);
    }
    free(a);
    free(b);
    free(text);
    ingot_model_free(m);
}
END_TEST

int main(void)
{
    test_models_convert(dirs, arts, tmpdir, sizeof tmpdir, "threads");
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("share");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, contexts_in_threads_match_serial, 0, 2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* no fork after OpenMP started in the parent */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
