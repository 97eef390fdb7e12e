/*
 * replay_main.c - the main of a fuzz harness built without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on every file named on the command line and
 * every regular file of every directory named there (sorted, not
 * recursive), so that a gcc build and make check replay the corpora.
 * Arguments starting with '-' are libFuzzer options and are ignored, so a
 * libFuzzer binary and this one take the same command line ("-runs=0 DIR").
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Runs the harness on the file at path.  @return 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "replay: %s: cannot read\n", path);
        return -1;
    }
    /* an exact-size copy, so that a read past the input is caught by ASan */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int only_files(const struct dirent *e) { return e->d_name[0] != '.'; }

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int inputs = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= replay_file(argv[i]) != 0;
            inputs++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, only_files, alphasort);
        if (n < 0) {
            fprintf(stderr, "replay: %s: cannot list\n", argv[i]);
            failed = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            size_t len = strlen(argv[i]) + strlen(names[k]->d_name) + 2;
            char *path = malloc(len);
            if (path) {
                snprintf(path, len, "%s/%s", argv[i], names[k]->d_name);
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                    failed |= replay_file(path) != 0;
                    inputs++;
                }
            }
            free(path);
            free(names[k]);
        }
        free(names);
    }
    printf("replay: %d input(s)\n", inputs);
    return failed || inputs == 0 ? 1 : 0;
}
