/*
 * outdir.c - an output directory written atomically.
 *
 * As util/outfile.c does for one file: the files are written into a fresh
 * temporary directory beside the destination (same file system), which is
 * renamed into place only when every file is complete.  An existing
 * destination is swapped out in one step (renameat2 RENAME_EXCHANGE, else
 * two renames) and then removed, so it is untouched by any failure before
 * that point.  Because the old directory is deleted, it must look like a
 * checkpoint: only regular files with checkpoint suffixes, not the input.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"
#include "util/util.h"

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static bool checkpoint_file_name(const char *name)
{
    static const char *const ok[] = {".safetensors", ".json", ".jinja", ".txt", ".model"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (has_suffix(name, ok[i]))
            return true;
    return false;
}

/* An existing destination may be replaced: only checkpoint files, not the input. */
static int check_existing(const char *path, const char *input, ingot_error *err)
{
    struct stat in_st;
    bool have_in = input && stat(input, &in_st) == 0;
    DIR *dir = opendir(path);
    if (!dir)
        return ingot_fail(err, INGOT_ERR_IO, "%s: %s", path, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || !checkpoint_file_name(e->d_name))
            rc = ingot_fail(err, INGOT_ERR_ARG,
                            "%s: exists and holds %s, which is not a checkpoint file; "
                            "refusing to replace it",
                            path, e->d_name);
        else if (have_in && st.st_dev == in_st.st_dev && st.st_ino == in_st.st_ino)
            rc = ingot_fail(err, INGOT_ERR_ARG, "%s: refusing to replace the directory of an input file",
                            path);
    }
    closedir(dir);
    return rc;
}

int ingot_outdir_open(ingot_outdir *d, const char *path, const char *input, ingot_error *err)
{
    memset(d, 0, sizeof *d);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    d->path = strndup(path, n);
    if (!d->path)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
    struct stat st;
    if (lstat(d->path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            ingot_outdir_abort(d);
            return ingot_fail(err, INGOT_ERR_ARG, "%s: exists and is not a directory", path);
        }
        if (check_existing(d->path, input, err) != 0) {
            ingot_outdir_abort(d);
            return -1;
        }
    }
    char *c1 = strdup(d->path), *c2 = strdup(d->path);
    if (c1 && c2) {
        const char *dir = dirname(c1), *base = basename(c2);
        ingot_sweep_temps(dir, base);
        d->tmp = ingot_temp_pattern(dir, base);
    }
    free(c1);
    free(c2);
    if (!d->tmp) {
        ingot_outdir_abort(d);
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
    }
    if (!mkdtemp(d->tmp)) {
        int e = errno;
        free(d->tmp);
        d->tmp = NULL;
        ingot_outdir_abort(d);
        return ingot_fail(err, INGOT_ERR_IO, "%s: cannot create a directory beside it: %s", path,
                          strerror(e));
    }
    chmod(d->tmp, 0755);
    return 0;
}

char *ingot_outdir_file(const ingot_outdir *d, const char *name)
{
    return ingot_path_join(d->tmp, name);
}

/* Removes dir and the regular files in it (it holds nothing else). */
static void remove_dir(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(dir), e->d_name, 0);
        closedir(dir);
    }
    rmdir(path);
}

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int ingot_outdir_commit(ingot_outdir *d, ingot_error *err)
{
    fsync_path(d->tmp);
    struct stat st;
    int rc = 0;
    if (lstat(d->path, &st) != 0) {
        if (rename(d->tmp, d->path) != 0)
            rc = ingot_fail(err, INGOT_ERR_IO, "%s: %s", d->path, strerror(errno));
    } else {
#ifdef RENAME_EXCHANGE
        if (renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->path, RENAME_EXCHANGE) == 0) {
            remove_dir(d->tmp); /* now the old directory */
            free(d->tmp);
            d->tmp = NULL;
        } else
#endif
        {
            /* two renames: the old directory aside, the new one in */
            size_t n = strlen(d->tmp) + 8;
            char *old = malloc(n);
            if (!old)
                rc = ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", d->path);
            else {
                snprintf(old, n, "%s.old", d->tmp);
                if (rename(d->path, old) != 0)
                    rc = ingot_fail(err, INGOT_ERR_IO, "%s: %s", d->path, strerror(errno));
                else if (rename(d->tmp, d->path) != 0) {
                    rc = ingot_fail(err, INGOT_ERR_IO, "%s: %s", d->path, strerror(errno));
                    rename(old, d->path);
                } else
                    remove_dir(old);
                free(old);
            }
        }
    }
    if (rc != 0) {
        ingot_outdir_abort(d);
        return -1;
    }
    char *c = strdup(d->path);
    if (c) {
        fsync_path(dirname(c));
        free(c);
    }
    free(d->tmp);
    free(d->path);
    d->tmp = d->path = NULL;
    return 0;
}

void ingot_outdir_abort(ingot_outdir *d)
{
    if (d->tmp) {
        remove_dir(d->tmp);
        free(d->tmp);
        d->tmp = NULL;
    }
    free(d->path);
    d->path = NULL;
}
