/*
 * test_files.h - file helpers shared by the Check suites that write
 * artifacts and checkpoints into temporary directories (test_convert,
 * test_quantize, test_export, test_runtime, test_cuda).  Every helper fails the running test when
 * the file system does not cooperate.
 */
#ifndef INGOT_TEST_FILES_H
#define INGOT_TEST_FILES_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/** @return a new directory base/case-XXXXXX (caller frees the name). */
static inline char *make_case_dir(const char *base)
{
    char *t = malloc(strlen(base) + 32);
    ck_assert_ptr_nonnull(t);
    sprintf(t, "%s/case-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

/** @return dir/name (caller frees). */
static inline char *path_in(const char *dir, const char *name)
{
    char *p = ingot_path_join(dir, name);
    ck_assert_ptr_nonnull(p);
    return p;
}

/** @return the number of entries in dir besides "." and "..", 0 when it cannot be read. */
static inline int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static inline void rm_rf(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/** Writes text to path, replacing it. */
static inline void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/** Reads a whole file (up to 256 MiB) into a malloc'ed buffer. */
static inline void slurp(const char *path, char **buf, size_t *len)
{
    ingot_error err;
    ck_assert_msg(ingot_read_file(path, 1 << 28, buf, len, &err) == 0, "%s", err.message);
}

/* Conversion and quantization for a suite's fixtures, before any test runs: abort on failure. */
static inline void convert_or_abort(const char *dir, const char *out)
{
    ingot_error err = {0};
    if (ingot_convert(dir, out, NULL, NULL, &err) != 0) {
        fprintf(stderr, "convert %s: %s\n", dir, err.message);
        abort();
    }
}

static inline void quantize_or_abort(const char *in, const char *out, const ingot_quantize_options *o)
{
    ingot_error err = {0};
    if (ingot_quantize(in, out, o, NULL, &err) != 0) {
        fprintf(stderr, "quantize %s: %s\n", in, err.message);
        abort();
    }
}

/*
 * The two test models converted into a new temporary directory
 * $TMPDIR/ingot-TAG-XXXXXX: dirs[0] is the bundled tiny-llama
 * ($top_srcdir/models), dirs[1] small-qwen2 from $INGOT_MODELS (default
 * ../shared/models).  arts[i] stays empty for a model that is not there.
 * Aborts when conversion fails: every suite using it needs the artifacts.
 */
static inline void test_models_convert(char dirs[2][1024], char arts[2][1024], char *tmpdir, size_t tmplen,
                                       const char *tag)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    const char *shared = getenv("INGOT_MODELS");
    snprintf(dirs[0], 1024, "%s/models/tiny-llama", top);
    snprintf(dirs[1], 1024, "%s/small-qwen2", shared ? shared : "../shared/models");
    snprintf(tmpdir, tmplen, "%s/ingot-%s-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", tag);
    if (!mkdtemp(tmpdir))
        abort();
    for (int i = 0; i < 2; i++) {
        arts[i][0] = 0;
        if (!ingot_file_exists(dirs[i]))
            continue;
        snprintf(arts[i], 1024, "%s/m%d.ingot", tmpdir, i);
        convert_or_abort(dirs[i], arts[i]);
    }
}

#endif /* INGOT_TEST_FILES_H */
