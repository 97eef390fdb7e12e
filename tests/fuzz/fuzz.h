/*
 * fuzz.h - what the fuzz harnesses share.  Each harness is one
 * LLVMFuzzerTestOneInput; with --enable-fuzzing it links libFuzzer, otherwise
 * replay_main.c, which runs it over the files of a corpus directory.
 *
 * A harness aborts (a crash, for libFuzzer and for make check) when the
 * library breaks one of its promises: an error that is not one line, a
 * success whose result breaks an invariant the header documents.
 */
#ifndef INGOT_FUZZ_H
#define INGOT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ingot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* A failed call must leave a code and a one-line message ($FUZZ_VERBOSE: print it). */
static inline void fuzz_check_error(const ingot_error *err)
{
    if (err->code == INGOT_OK || err->message[0] == 0 || strchr(err->message, '\n')) {
        fprintf(stderr, "bad error report: code %d, message '%s'\n", (int)err->code, err->message);
        abort();
    }
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "error: %s\n", err->message);
}

/*
 * The input as a file that ingot can open by name, without touching the
 * disk: a memfd, named /proc/self/fd/N in path.  @return the descriptor
 * (close it when done).
 */
static inline int fuzz_memfd(const uint8_t *data, size_t size, char path[64])
{
    int fd = memfd_create("ingot-fuzz", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        FUZZ_CHECK(w > 0);
        off += (size_t)w;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

/*
 * Splits the input at its first NUL byte into a (before) and b (after); with
 * no NUL, a is everything and b is NULL.  Both are fresh NUL-terminated
 * copies (free them), so reading past their length is caught.
 */
static inline void fuzz_split(const uint8_t *data, size_t size, char **a, size_t *alen, char **b, size_t *blen)
{
    const uint8_t *nul = memchr(data, 0, size);
    *alen = nul ? (size_t)(nul - data) : size;
    *a = malloc(*alen + 1);
    FUZZ_CHECK(*a);
    memcpy(*a, data, *alen);
    (*a)[*alen] = 0;
    *b = NULL;
    *blen = 0;
    if (nul) {
        *blen = size - *alen - 1;
        *b = malloc(*blen + 1);
        FUZZ_CHECK(*b);
        memcpy(*b, nul + 1, *blen);
        (*b)[*blen] = 0;
    }
}

#endif /* INGOT_FUZZ_H */
