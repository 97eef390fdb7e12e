/*
 * calib.c - calibration text for AWQ: read, hash, tokenize, cut into
 * sequences.
 *
 * Like AutoAWQ's get_calib_dataset, the tokens of the whole text are cut
 * into consecutive blocks of `len` tokens and the first `n` blocks are used;
 * unlike it, no special tokens are added (the text is tokenized as plain
 * text, as ingot eval does) and nothing is shuffled, so the selection is
 * fixed by the file alone.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quantize.h"
#include "runtime/model.h"
#include "util/util.h"

#define MAX_CALIB_BYTES ((size_t)1 << 30)

static void note(ingot_note_fn fn, void *user, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(ingot_note_fn fn, void *user, const char *fmt, ...)
{
    if (!fn)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(user, msg);
}

/* Fewer tokens than asked for: fewer sequences, or one shorter sequence. */
static void fit(ingot_calib *c, size_t have, int want_n, int want_len, const char *path,
                ingot_note_fn fn, void *user)
{
    size_t full = have / (size_t)want_len;
    c->len = want_len;
    c->n = full < (size_t)want_n ? (int)full : want_n;
    if (c->n == 0) {
        c->n = 1;
        c->len = (int)have;
        note(fn, user, "%s: %zu tokens, fewer than one sequence of %d: calibrating on 1 sequence of %zu tokens",
             path, have, want_len, have);
    } else if (c->n < want_n) {
        note(fn, user, "%s: %zu tokens, enough for %d of the %d sequences of %d tokens asked for", path,
             have, c->n, want_n, want_len);
    }
}

int ingot_calib_load(ingot_model *m, const char *path, int want_n, int want_len, ingot_note_fn fn,
                     void *user, ingot_calib *c, ingot_error *err)
{
    memset(c, 0, sizeof *c);
    char *text = NULL;
    size_t len = 0;
    if (ingot_read_file(path, MAX_CALIB_BYTES, &text, &len, err) != 0)
        return -1;
    c->bytes = len;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    int rc = len == 0 ? ingot_fail(err, INGOT_ERR_FORMAT, "%s: empty calibration text", path) : 0;
    if (rc == 0)
        rc = ingot_sha256_file(path, c->sha256, err);
    if (rc == 0 && ingot_tokenize(m, text, len, 0, &ids, &n_ids, err) != 0) {
        ingot_error_prefix(err, path);
        rc = -1;
    }
    free(text);
    if (rc == 0 && n_ids < 2)
        rc = ingot_fail(err, INGOT_ERR_FORMAT, "%s: %zu token(s): too short to calibrate on", path, n_ids);
    if (rc != 0) {
        free(ids);
        return -1;
    }
    c->text_tokens = n_ids;
    fit(c, n_ids, want_n, want_len, path, fn, user);
    c->tokens = ids; /* the first n * len tokens are the sequences, back to back */
    return 0;
}

void ingot_calib_free(ingot_calib *c)
{
    free(c->tokens);
    memset(c, 0, sizeof *c);
}
