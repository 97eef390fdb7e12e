/*
 * test_files.h - file helpers shared by the Check suites that write
 * artifacts and checkpoints into temporary directories (test_convert,
 * test_quantize, test_export).  Every helper fails the running test when
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

#endif /* INGOT_TEST_FILES_H */
