/*
 * fuzz_calib.c - the calibration-text reader (quant/calib.c: read, hash,
 * tokenize, cut into sequences) on fuzzed text, with the tiny model of the
 * artifact corpus ($INGOT_FUZZ_MODEL overrides it).  The sequence count and
 * length asked for come from the input's size, so the corpus reaches both
 * the full and the short cases; an input whose first byte is '{' is read
 * as JSON lines (through a .jsonl link to the memory file).
 */
#include "config.h"

#include "quant/quantize.h"
#include "tests/fuzz/fuzz.h"

#ifndef FUZZ_MODEL
#define FUZZ_MODEL "tests/fuzz/corpus/artifact/tiny-bf16.ingot"
#endif

static ingot_model *model;
static int vocab;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("INGOT_FUZZ_MODEL");
    ingot_error err = {0};
    model = ingot_model_open(path && *path ? path : FUZZ_MODEL, &err);
    if (!model) {
        fprintf(stderr, "fuzz_calib: %s\n", err.message);
        exit(1);
    }
    ingot_model_info info;
    ingot_model_get_info(model, &info);
    vocab = info.vocab_size;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], link[96];
    int fd = fuzz_memfd(data, size, path);
    const char *name = path;
    if (size && data[0] == '{') {
        snprintf(link, sizeof link, "/tmp/fuzz_calib.%d.jsonl", (int)getpid());
        unlink(link);
        FUZZ_CHECK(symlink(path, link) == 0);
        name = link;
    }
    int want_n = 1 + (int)(size % 7), want_len = 2 + (int)(size / 7 % 61);
    ingot_calib c;
    ingot_error err = {0};
    if (ingot_calib_load(model, name, want_n, want_len, &c, &err) != 0) {
        fuzz_check_error(&err);
    } else {
        FUZZ_CHECK(c.n == want_n && c.len == want_len);
        FUZZ_CHECK((size_t)c.n * (size_t)c.len <= c.text_tokens);
        FUZZ_CHECK(c.bytes == size && strlen(c.sha256) == 64);
        for (size_t i = 0; i < (size_t)c.n * (size_t)c.len; i++)
            FUZZ_CHECK(c.tokens[i] >= 0 && c.tokens[i] < vocab);
        ingot_calib_free(&c);
    }
    if (name != path)
        unlink(link);
    close(fd);
    return 0;
}
