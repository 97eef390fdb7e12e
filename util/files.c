/* files.c - mapping and reading input files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

/*
 * The live mappings, for ingot_mapped_file_at from a SIGBUS handler: a file
 * truncated by another process while it is mapped raises SIGBUS on the
 * first read of a lost page.  Slots are claimed under a lock; the handler
 * only reads them.
 */
#define MAX_MAPS 256
static struct {
    const uint8_t *volatile data;
    size_t size;
    char *path;
} maps[MAX_MAPS];
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;

static void maps_add(const uint8_t *data, size_t size, const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    pthread_mutex_lock(&maps_lock);
    for (int i = 0; i < MAX_MAPS; i++)
        if (!maps[i].data) {
            maps[i].size = size;
            maps[i].path = copy;
            __atomic_store_n(&maps[i].data, data, __ATOMIC_RELEASE);
            copy = NULL;
            break;
        }
    pthread_mutex_unlock(&maps_lock);
    free(copy); /* no free slot: the file goes unnamed in a SIGBUS report */
}

static void maps_remove(const uint8_t *data)
{
    pthread_mutex_lock(&maps_lock);
    for (int i = 0; i < MAX_MAPS; i++)
        if (maps[i].data == data) {
            __atomic_store_n(&maps[i].data, NULL, __ATOMIC_RELEASE);
            free(maps[i].path);
            maps[i].path = NULL;
            break;
        }
    pthread_mutex_unlock(&maps_lock);
}

const char *ingot_mapped_file_at(const void *addr)
{
    const uint8_t *a = addr;
    for (int i = 0; i < MAX_MAPS; i++) {
        const uint8_t *d = __atomic_load_n(&maps[i].data, __ATOMIC_ACQUIRE);
        if (d && a >= d && a < d + maps[i].size)
            return maps[i].path;
    }
    return NULL;
}

int ingot_map_file(const char *path, ingot_map *m, ingot_error *err)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ingot_fail(err, INGOT_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ingot_fail(err, INGOT_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ingot_fail(err, INGOT_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return ingot_fail(err, INGOT_ERR_IO, "%s: mmap: %s", path, strerror(e));
        }
        m->data = p;
        m->size = (size_t)st.st_size;
        maps_add(m->data, m->size, path);
    }
    close(fd);
    return 0;
}

void ingot_unmap(ingot_map *m)
{
    if (m->data) {
        maps_remove(m->data);
        munmap((void *)m->data, m->size);
    }
    m->data = NULL;
    m->size = 0;
}

void ingot_map_release(const ingot_map *m, size_t off, size_t len)
{
    if (!m->data || off >= m->size)
        return;
    ingot_release_pages(m->data + off, len < m->size - off ? len : m->size - off);
}

void ingot_release_pages(const void *p, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)p;
    uintptr_t end = start + len;
    /* Only whole pages inside the range: a neighbour may still be in use. */
    start = (start + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    end &= ~((uintptr_t)pg - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
}

int ingot_read_file(const char *path, size_t max_size, char **buf, size_t *len,
                    ingot_error *err)
{
    *buf = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ingot_fail(err, INGOT_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ingot_fail(err, INGOT_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: file too large (%lld bytes, limit %zu)",
                          path, (long long)st.st_size, max_size);
    }
    size_t n = (size_t)st.st_size;
    char *p = malloc(n + 1);
    if (!p) {
        close(fd);
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            free(p);
            close(fd);
            return ingot_fail(err, INGOT_ERR_IO, "%s: read: %s", path,
                              r < 0 ? strerror(e) : "file shrank while reading");
        }
        got += (size_t)r;
    }
    close(fd);
    p[n] = '\0';
    *buf = p;
    if (len)
        *len = n;
    return 0;
}

int ingot_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *ingot_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a > 0 && dir[a - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

double ingot_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int ingot_write_all(int fd, const void *buf, uint64_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t r = write(fd, p, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        p += r;
        len -= (uint64_t)r;
    }
    return 0;
}
