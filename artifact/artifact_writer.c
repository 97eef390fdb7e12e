/*
 * artifact_writer.c - streams members into the .ingot pax tar.
 *
 * libarchive does the tar encoding; this file pins down every header field
 * so that two conversions of the same checkpoint give identical bytes, and
 * checks that each member receives exactly the size declared in its header
 * (libarchive would silently zero-pad a short member).
 *
 * Bytes reach the fd through our own write callback rather than
 * archive_write_open_fd: it keeps errno of a failed write(2) (libarchive only
 * says "Write error"), and it lets an abandoned archive be freed without
 * writing anything more and without putting libarchive in its FATAL state:
 * archive_write_free skips the close step in that state, and libarchive
 * 3.6 then leaks its output buffer (libarchive issue #1568, fixed upstream
 * only in 2025).
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact/artifact.h"

struct ingot_archive_writer {
    struct archive *ar;
    int fd;
    int64_t mtime;
    char *member;      /* current member (for messages), NULL between members */
    uint64_t size;     /* declared size of the current member */
    uint64_t written;  /* bytes written into it so far */
    int io_errno;      /* first write(2) failure; later output is dropped */
    bool discard;      /* abandoning: drop whatever libarchive still writes */
    bool failed;       /* sticky: the output is unusable after any error */
    bool closed;
};

/* libarchive's output callback.  It never reports failure to libarchive:
 * the error is kept in w->io_errno and reported by the ingot_aw_* call that
 * triggered the write. */
static la_ssize_t aw_sink(struct archive *ar, void *user, const void *buf, size_t len)
{
    (void)ar;
    ingot_archive_writer *w = user;
    const uint8_t *p = buf;
    size_t left = len;
    while (left > 0 && !w->io_errno && !w->discard) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            w->io_errno = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    return (la_ssize_t)len;
}

/* Reports a failure of the last libarchive call, or of a write it made. */
static int aw_fail_archive(ingot_archive_writer *w, const char *what, ingot_error *err)
{
    w->failed = true;
    if (w->io_errno)
        return ingot_fail(err, INGOT_ERR_IO, "%s: write: %s", what, strerror(w->io_errno));
    const char *msg = archive_error_string(w->ar);
    return ingot_fail(err, INGOT_ERR_IO, "%s: %s", what, msg ? msg : "archive error");
}

/* @return 0 when the libarchive call returned ok and no write(2) failed. */
static int aw_check(ingot_archive_writer *w, int r, const char *what, ingot_error *err)
{
    /* ARCHIVE_WARN too: it means a field could not be stored as given. */
    if (r != ARCHIVE_OK || w->io_errno)
        return aw_fail_archive(w, what, err);
    return 0;
}

/* Refuses calls on a writer that failed, was closed, or is in the wrong state. */
static int aw_check_state(ingot_archive_writer *w, bool want_member, ingot_error *err)
{
    if (!w)
        return ingot_fail(err, INGOT_ERR_ARG, "archive writer: NULL writer");
    if (w->failed)
        return ingot_fail(err, INGOT_ERR_ARG, "archive writer: an earlier error made the output unusable");
    if (w->closed)
        return ingot_fail(err, INGOT_ERR_ARG, "archive writer: already closed");
    if (want_member && !w->member)
        return ingot_fail(err, INGOT_ERR_ARG, "archive writer: no member started");
    if (!want_member && w->member)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: member not ended", w->member);
    return 0;
}

ingot_archive_writer *ingot_aw_open(int fd, int64_t mtime, ingot_error *err)
{
    if (fd < 0) {
        ingot_fail(err, INGOT_ERR_ARG, "archive writer: invalid file descriptor");
        return NULL;
    }
    ingot_archive_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->ar = archive_write_new())) {
        free(w);
        ingot_fail(err, INGOT_ERR_NOMEM, "archive writer: out of memory");
        return NULL;
    }
    w->fd = fd;
    w->mtime = mtime;
    /* pax_restricted writes plain ustar headers and adds an extended header
     * only for what ustar cannot hold (long names, sizes >= 8 GiB); libarchive
     * names those "PaxHeader/<name>" (no pid), so output stays reproducible.
     * bytes_in_last_block 1: no padding to a whole record after the
     * end-of-archive blocks (tar reads it fine, the file is smaller), which
     * also makes the record size invisible in the output: 1 MiB records cut
     * the write(2) calls for multi-GiB tensors 100-fold versus 10 KiB. */
    if (archive_write_set_format_pax_restricted(w->ar) != ARCHIVE_OK ||
        archive_write_add_filter_none(w->ar) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->ar, 1 << 20) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->ar, 1) != ARCHIVE_OK ||
        archive_write_open2(w->ar, w, NULL, aw_sink, NULL, NULL) != ARCHIVE_OK) {
        aw_fail_archive(w, "archive", err);
        ingot_aw_free(w);
        return NULL;
    }
    return w;
}

/* A header with every field fixed: only name, size and mtime vary. */
static struct archive_entry *aw_entry(const ingot_archive_writer *w, const char *member,
                                      uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return NULL;
    archive_entry_set_pathname_utf8(e, member);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, (time_t)w->mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    return e;
}

int ingot_aw_begin(ingot_archive_writer *w, const char *member, uint64_t size, ingot_error *err)
{
    if (aw_check_state(w, false, err) != 0)
        return -1;
    const char *why = ingot_member_name_problem(member);
    if (why)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %s", member ? member : "(null)", why);
    if (size > (uint64_t)INT64_MAX)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: member too large", member);
    struct archive_entry *e = aw_entry(w, member, size);
    if (!(w->member = strdup(member)) || !e) {
        archive_entry_free(e);
        free(w->member);
        w->member = NULL;
        w->failed = true;
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", member);
    }
    int r = archive_write_header(w->ar, e);
    archive_entry_free(e);
    if (aw_check(w, r, member, err) != 0)
        return -1;
    w->size = size;
    w->written = 0;
    return 0;
}

int ingot_aw_write(ingot_archive_writer *w, const void *data, size_t len, ingot_error *err)
{
    if (aw_check_state(w, true, err) != 0)
        return -1;
    uint64_t end;
    if (!ingot_add_u64(w->written, len, &end) || end > w->size) {
        w->failed = true;
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %llu bytes written, more than the declared %llu",
                          w->member, (unsigned long long)w->written + len,
                          (unsigned long long)w->size);
    }
    const uint8_t *p = data;
    while (len > 0) {
        la_ssize_t n = archive_write_data(w->ar, p, len);
        if (n <= 0) /* 0 would loop forever: pax accepts data up to the size */
            return aw_fail_archive(w, w->member, err);
        p += n;
        len -= (size_t)n;
        w->written += (uint64_t)n;
    }
    return aw_check(w, ARCHIVE_OK, w->member, err);
}

int ingot_aw_end(ingot_archive_writer *w, ingot_error *err)
{
    if (aw_check_state(w, true, err) != 0)
        return -1;
    if (w->written != w->size) {
        w->failed = true;
        return ingot_fail(err, INGOT_ERR_ARG, "%s: %llu bytes written, %llu declared",
                          w->member, (unsigned long long)w->written,
                          (unsigned long long)w->size);
    }
    if (aw_check(w, archive_write_finish_entry(w->ar), w->member, err) != 0)
        return -1;
    free(w->member);
    w->member = NULL;
    return 0;
}

int ingot_aw_add(ingot_archive_writer *w, const char *member, const void *data, size_t len,
                 ingot_error *err)
{
    if (ingot_aw_begin(w, member, len, err) != 0)
        return -1;
    if (len > 0 && ingot_aw_write(w, data, len, err) != 0)
        return -1;
    return ingot_aw_end(w, err);
}

int ingot_aw_close(ingot_archive_writer *w, ingot_error *err)
{
    if (aw_check_state(w, false, err) != 0)
        return -1;
    /* Writes the two zero blocks and flushes libarchive's buffer: a full disk
     * often shows up only here. */
    if (aw_check(w, archive_write_close(w->ar), "end of archive", err) != 0)
        return -1;
    w->closed = true;
    return 0;
}

void ingot_aw_free(ingot_archive_writer *w)
{
    if (!w)
        return;
    if (w->ar) {
        /* archive_write_free closes an open archive, appending an end marker:
         * an output being abandoned must not get one. */
        if (!w->closed)
            w->discard = true;
        archive_write_free(w->ar);
    }
    free(w->member);
    free(w);
}
