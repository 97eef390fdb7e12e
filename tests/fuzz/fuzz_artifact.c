/*
 * fuzz_artifact.c - the artifact reader on mutated .ingot files, manifest
 * included: open, verify, bind a model whatever verify said (as a fast open
 * that skips verification does), then tokenize, render the chat prompt and
 * run one forward step of two tokens and one of a single token.  Nothing may
 * read outside the mapping; every failure must be a one-line error.
 */
#include "config.h"

#include "tests/fuzz/fuzz.h"

static void on_bad(void *user, const char *tensor, const char *why)
{
    FUZZ_CHECK(tensor && why && !strchr(why, '\n'));
    ++*(int *)user;
}

static void run_model(const char *path)
{
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(path, &err);
    if (!m) {
        fuzz_check_error(&err);
        return;
    }
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    FUZZ_CHECK(info.vocab_size > 0 && info.n_layers > 0);
    int32_t *ids = NULL;
    size_t n = 0;
    if (ingot_tokenize(m, "Hi there", 8, 1, &ids, &n, &err) != 0) {
        fuzz_check_error(&err);
        n = 0;
    }
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < info.vocab_size);
    char *prompt = ingot_chat_prompt(m, NULL, "Hi", &err);
    if (!prompt)
        fuzz_check_error(&err);
    free(prompt);
    ingot_context_params p;
    ingot_context_params_init(&p);
    p.n_ctx = 4;
    p.n_threads = 1;
    ingot_context *c = ingot_context_create_with(m, &p, &err);
    if (!c) {
        fuzz_check_error(&err);
    } else {
        float *logits = malloc((size_t)info.vocab_size * 2 * sizeof *logits);
        FUZZ_CHECK(logits);
        int32_t toks[2] = {n > 0 ? ids[0] : 0, info.vocab_size - 1};
        if (ingot_context_eval(c, toks, 2, 0, logits, 1, &err) != 0)
            fuzz_check_error(&err);
        else if (ingot_context_eval(c, toks, 1, 2, logits, 0, &err) != 0)
            fuzz_check_error(&err);
        /* ids out of range through the API are errors, not reads */
        int32_t bad[1] = {info.vocab_size};
        FUZZ_CHECK(ingot_context_eval(c, bad, 1, 0, logits, 0, &err) != 0);
        fuzz_check_error(&err);
        free(logits);
        ingot_context_free(c);
    }
    free(ids);
    ingot_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfd(data, size, path);
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    if (!a) {
        fuzz_check_error(&err);
    } else {
        FUZZ_CHECK(ingot_artifact_manifest(a) != NULL);
        int bad = 0;
        int rc = ingot_artifact_verify(a, on_bad, &bad, &err);
        if (rc < 0)
            fuzz_check_error(&err);
        else
            FUZZ_CHECK(rc == bad);
        ingot_artifact_free(a);
        run_model(path);
    }
    close(fd);
    return 0;
}
