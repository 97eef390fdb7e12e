/*
 * util.h - internal helpers shared by every module of libingot:
 * error reporting, overflow-checked arithmetic, file mapping, atomic output,
 * hashing and the float formats.
 */
#ifndef INGOT_UTIL_H
#define INGOT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ingot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define INGOT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors ---- */

/**
 * Fills err (when not NULL) with code and a printf-formatted one-line message.
 * @return -1, so that callers can write `return ingot_fail(err, ...)`.
 */
int ingot_fail(ingot_error *err, ingot_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The longest why ingot_fail_in keeps; a longer one is cut. */
#define INGOT_WHY_MAX 767

/**
 * Fills err (when not NULL) with code and "<where>: <why>", or "<where>:
 * <where2>: <why>" when where2 is not NULL, why being the printf-formatted
 * rest cut at INGOT_WHY_MAX bytes: a long why cannot push out where the
 * error is (a file, a tensor, a JSON field).
 * @return -1, like ingot_fail.
 */
int ingot_fail_in(ingot_error *err, ingot_status code, const char *where, const char *where2,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** Prefixes err->message with "prefix: " (used to add a file name). */
void ingot_error_prefix(ingot_error *err, const char *prefix);

/* ---- overflow-checked arithmetic: return false on overflow ---- */

static inline bool ingot_mul_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    return !__builtin_mul_overflow(a, b, r);
}
static inline bool ingot_add_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    return !__builtin_add_overflow(a, b, r);
}

/* ---- files ---- */

/** A read-only private mapping of a whole file. */
typedef struct ingot_map {
    const uint8_t *data; /* NULL when size == 0 */
    size_t size;
} ingot_map;

/** Maps path read-only.  @return 0, or -1 with err naming the file. */
int ingot_map_file(const char *path, ingot_map *m, ingot_error *err);
/** Unmaps; safe on a zeroed map. */
void ingot_unmap(ingot_map *m);
/**
 * Tells the kernel the bytes [off, off+len) of the mapping will not be
 * needed again soon, so they leave our resident set (streaming conversion).
 */
void ingot_map_release(const ingot_map *m, size_t off, size_t len);

/** Same for any address range inside a read-only file mapping. */
void ingot_release_pages(const void *p, size_t len);

/**
 * Reads a whole file into a malloc'ed, NUL-terminated buffer.
 * Files larger than max_size are refused.
 * @return 0 with *buf owned by the caller, or -1.
 */
int ingot_read_file(const char *path, size_t max_size, char **buf, size_t *len,
                    ingot_error *err);

/** @return 1 if path exists, 0 if not. */
int ingot_file_exists(const char *path);

/**
 * Writes all len bytes of buf to fd, retrying short and interrupted writes.
 * @return 0, or -1 with errno set (EIO when write wrote nothing).
 */
int ingot_write_all(int fd, const void *buf, uint64_t len);

/** @return malloc'ed "dir/name" (NULL on allocation failure). */
char *ingot_path_join(const char *dir, const char *name);

/**
 * Atomic output: a temporary file created in the destination directory,
 * renamed over the destination by ingot_outfile_commit and removed by
 * ingot_outfile_abort.
 */
typedef struct ingot_outfile {
    char *path;     /* final destination */
    char *tmp_path; /* temporary file beside it */
    int fd;
} ingot_outfile;

/**
 * Creates the temporary file for path.  Refuses when path is the same file
 * as any of the NULL-terminated inputs[] (never write over an input).
 */
int ingot_outfile_open(ingot_outfile *o, const char *path, const char *const *inputs,
                       ingot_error *err);
/** fsyncs, renames into place, fsyncs the directory.  Aborts on failure. */
int ingot_outfile_commit(ingot_outfile *o, ingot_error *err);
/** Closes and unlinks the temporary file; safe to call more than once. */
void ingot_outfile_abort(ingot_outfile *o);

/** @return malloc'ed "dir/.base.tmp.PID.XXXXXX", the template of a temporary beside dir/base. */
char *ingot_temp_pattern(const char *dir, const char *base);
/**
 * Removes the temporaries of dir/base left by processes that no longer
 * exist (killed before they could clean up): files or directories of files
 * named as ingot_temp_pattern makes them, whose PID is not running.
 * @return how many were removed.
 */
int ingot_sweep_temps(const char *dir, const char *base);

/**
 * Removes every temporary output still open: called from the CLI's signal
 * handler path so that an interrupt leaves nothing behind.
 */
void ingot_outfile_abort_all(void);

/* ---- hashing ---- */

/** SHA-256 of a whole file as 64 lower-case hex characters + NUL. */
int ingot_sha256_file(const char *path, char out[65], ingot_error *err);
/** SHA-256 of n bytes at p, likewise (all zeros if libcrypto fails). */
void ingot_sha256_buf(const void *p, size_t n, char out[65]);
/** XXH3-64 as 16 lower-case hex characters + NUL. */
void ingot_xxh3_hex(uint64_t h, char out[17]);

/* ---- float formats ---- */

float ingot_bf16_to_f32(uint16_t h);
uint16_t ingot_f32_to_bf16(float f); /* round to nearest even, NaN stays NaN */
float ingot_f16_to_f32(uint16_t h);
uint16_t ingot_f32_to_f16(float f);  /* round to nearest even, overflow to Inf */
float ingot_f8e4m3_to_f32(uint8_t b);
float ingot_f8e5m2_to_f32(uint8_t b);

/* ---- dtypes ---- */

/** @return bytes per element for unquantized dtypes, 0 for quantized ones. */
size_t ingot_dtype_size(ingot_dtype t);
/** @return the safetensors name ("BF16") of a dtype, NULL when it has none. */
const char *ingot_dtype_st_name(ingot_dtype t);
/** @return the dtype for a safetensors dtype string, or -1. */
int ingot_dtype_from_st_name(const char *s);

/* ---- time ---- */
double ingot_now(void); /* monotonic seconds */

#ifdef __cplusplus
}
#endif
#endif /* INGOT_UTIL_H */
