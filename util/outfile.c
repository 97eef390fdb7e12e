/*
 * outfile.c - atomic output files.
 *
 * The output is written to a temporary file in the destination directory
 * (same file system, so rename is atomic), fsynced, then renamed over the
 * destination.  Until the rename an existing destination is untouched; on
 * any failure or interrupt the temporary file is removed.
 *
 * A process killed outright (SIGKILL, power loss) cannot clean up, so the
 * temporaries are named ".NAME.tmp.PID.XXXXXX" after the destination NAME
 * and the writer's process id: the next ingot that writes NAME in that
 * directory removes those whose process no longer exists (ingot_sweep_temps).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

/* Open temporaries, for ingot_outfile_abort_all from a signal handler. */
#define MAX_OPEN_OUTFILES 16
static char *volatile open_tmp[MAX_OPEN_OUTFILES];
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

static void track(char *tmp, int add)
{
    pthread_mutex_lock(&open_lock);
    for (int i = 0; i < MAX_OPEN_OUTFILES; i++) {
        if (add && !open_tmp[i]) {
            open_tmp[i] = tmp;
            break;
        }
        if (!add && open_tmp[i] == tmp) {
            open_tmp[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&open_lock);
}

void ingot_remove_temporaries(void)
{
    ingot_outfile_abort_all();
}

void ingot_outfile_abort_all(void)
{
    /* async-signal-safe: unlink only, no locks, no allocation */
    for (int i = 0; i < MAX_OPEN_OUTFILES; i++) {
        char *p = open_tmp[i];
        if (p)
            unlink(p);
    }
}

static int same_file(const struct stat *a, const char *path)
{
    struct stat b;
    return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

char *ingot_temp_pattern(const char *dir, const char *base)
{
    size_t n = strlen(dir) + strlen(base) + 48;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.%s.tmp.%ld.XXXXXX", dir, base, (long)getpid());
    return p;
}

/* Removes path: a file, or a directory of files (an export's temporary). */
static void remove_entry(int dfd, const char *name)
{
    if (unlinkat(dfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
        return;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    unlinkat(dfd, name, AT_REMOVEDIR);
}

int ingot_sweep_temps(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t plen = strlen(base) + 6;
    char *prefix = malloc(plen + 1);
    if (!prefix) {
        closedir(d);
        return 0;
    }
    snprintf(prefix, plen + 1, ".%s.tmp.", base);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        if (strncmp(name, prefix, plen) != 0)
            continue;
        char *end;
        errno = 0;
        long pid = strtol(name + plen, &end, 10);
        size_t tail = strlen(end);
        /* ".XXXXXX" exactly: a ".old" (a previous destination set aside) is never removed */
        if (errno || pid <= 0 || end == name + plen || tail != 7 || end[0] != '.')
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* that process still runs (or is not ours to probe) */
        remove_entry(dirfd(d), name);
        removed++;
    }
    free(prefix);
    closedir(d);
    return removed;
}

static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

int ingot_outfile_open(ingot_outfile *o, const char *path, const char *const *inputs,
                       ingot_error *err)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return ingot_fail(err, INGOT_ERR_IO, "%s: is a directory", path);
        for (int i = 0; inputs && inputs[i]; i++)
            if (same_file(&st, inputs[i]))
                return ingot_fail(err, INGOT_ERR_ARG, "%s: refusing to overwrite an input file",
                                  path);
    }
    char *dir = dir_of(path);
    char *copy = strdup(path);
    if (!dir || !copy) {
        free(dir);
        free(copy);
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    ingot_sweep_temps(dir, base);
    o->tmp_path = ingot_temp_pattern(dir, base);
    o->path = copy;
    free(dir);
    if (!o->tmp_path) {
        ingot_outfile_abort(o);
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
    }
    o->fd = mkostemp(o->tmp_path, O_CLOEXEC);
    if (o->fd < 0) {
        int e = errno;
        free(o->tmp_path);
        o->tmp_path = NULL;
        ingot_outfile_abort(o);
        return ingot_fail(err, INGOT_ERR_IO, "%s: cannot create a file in its directory: %s",
                          path, strerror(e));
    }
    fchmod(o->fd, 0644);
    track(o->tmp_path, 1);
    return 0;
}

static void fsync_dir(const char *path)
{
    char *dir = dir_of(path);
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int ingot_outfile_commit(ingot_outfile *o, ingot_error *err)
{
    if (fsync(o->fd) != 0) {
        int e = errno;
        ingot_fail(err, INGOT_ERR_IO, "%s: %s", o->path, strerror(e));
        ingot_outfile_abort(o);
        return -1;
    }
    if (close(o->fd) != 0) {
        int e = errno;
        o->fd = -1;
        ingot_fail(err, INGOT_ERR_IO, "%s: %s", o->path, strerror(e));
        ingot_outfile_abort(o);
        return -1;
    }
    o->fd = -1;
    if (rename(o->tmp_path, o->path) != 0) {
        int e = errno;
        ingot_fail(err, INGOT_ERR_IO, "%s: %s", o->path, strerror(e));
        ingot_outfile_abort(o);
        return -1;
    }
    track(o->tmp_path, 0);
    fsync_dir(o->path);
    free(o->tmp_path);
    free(o->path);
    o->tmp_path = o->path = NULL;
    return 0;
}

void ingot_outfile_abort(ingot_outfile *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp_path) {
        unlink(o->tmp_path);
        track(o->tmp_path, 0);
        free(o->tmp_path);
        o->tmp_path = NULL;
    }
    free(o->path);
    o->path = NULL;
}
