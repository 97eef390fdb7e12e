/*
 * fuzz_tokenizer.c - tokenizer.json loading (tokenizer/) and, when it
 * loads, encoding and decoding of fuzzed text.  Input: the tokenizer.json
 * text, a NUL byte, then the text to encode (no NUL: a fixed text).  The
 * ids that come out must not be negative; decoding them, and decoding the
 * text's bytes taken as arbitrary ids (out of range included), must work.
 */
#include "config.h"

#include "tests/fuzz/fuzz.h"
#include "tokenizer/tokenizer.h"

static const char SAMPLE[] = "Hello world! def f(x):\n    return x ** 2  # ünïcödé 数字 123\n\n<|im_start|>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json, *text;
    size_t jlen, tlen;
    fuzz_split(data, size, &json, &jlen, &text, &tlen);
    ingot_error err = {0};
    ingot_tokenizer *t = ingot_tokenizer_load(json, jlen, "tokenizer.json", 0, &err);
    if (!t) {
        fuzz_check_error(&err);
        free(json);
        free(text);
        return 0;
    }
    if (!text) {
        tlen = sizeof SAMPLE - 1;
        text = malloc(tlen + 1);
        FUZZ_CHECK(text);
        memcpy(text, SAMPLE, tlen + 1);
    }
    int32_t n_ids = ingot_tokenizer_n_ids(t);
    FUZZ_CHECK(n_ids >= 0);
    for (int special = 0; special < 2; special++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (ingot_tokenizer_encode(t, text, tlen, special, &ids, &n, &err) != 0) {
            fuzz_check_error(&err);
            continue;
        }
        FUZZ_CHECK(ids != NULL);
        /* not "< n_ids": as in HF, the ids of a TemplateProcessing post-processor
         * are taken as written and need not name a token (the model's
         * vocab_size bounds them when a model loads the tokenizer) */
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(ids[i] >= 0);
        for (int skip = 0; skip < 2; skip++) {
            char *back = NULL;
            size_t blen = 0;
            if (ingot_tokenizer_decode(t, ids, n, skip, &back, &blen, &err) == 0) {
                FUZZ_CHECK(back && strlen(back) <= blen);
                free(back);
            } else {
                fuzz_check_error(&err);
            }
        }
        free(ids);
    }
    /* the text's bytes as ids: negative, out of range and valid ones */
    size_t n = tlen / 4;
    int32_t *raw = malloc((n ? n : 1) * sizeof *raw);
    FUZZ_CHECK(raw);
    memcpy(raw, text, n * sizeof *raw);
    for (size_t i = 0; i < n; i++) {
        (void)ingot_tokenizer_id_token(t, raw[i]);
        (void)ingot_tokenizer_is_special(t, raw[i]);
        if (i % 2 && n_ids > 0)
            raw[i] = (int32_t)((uint32_t)raw[i] % (uint32_t)n_ids);
    }
    char *back = NULL;
    if (ingot_tokenizer_decode(t, raw, n, 0, &back, NULL, &err) == 0)
        free(back);
    else
        fuzz_check_error(&err);
    free(raw);
    (void)ingot_tokenizer_token_id(t, text);
    ingot_tokenizer_free(t);
    free(json);
    free(text);
    return 0;
}
