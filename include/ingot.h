/*
 * ingot.h - public C API of libingot.
 *
 * libingot turns HuggingFace checkpoints into packed, checksummed .ingot
 * artifacts and runs them.  Conventions (as in zstd):
 *   - every symbol starts with ingot_ / INGOT_;
 *   - handles are opaque and come in create/free pairs; free(NULL) is a no-op;
 *   - fallible functions return 0 (or a valid pointer) on success and -1 (or
 *     NULL) on failure, and fill *err when err is not NULL;
 *   - the library never prints and never exits.
 */
#ifndef INGOT_H
#define INGOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INGOT_VERSION_MAJOR 0
#define INGOT_VERSION_MINOR 1
#define INGOT_VERSION_PATCH 0

/** @return the library version as "MAJOR.MINOR.PATCH" (static storage). */
const char *ingot_version(void);

/* ------------------------------------------------------------------ errors */

typedef enum ingot_status {
    INGOT_OK = 0,
    INGOT_ERR_IO,          /* a file could not be opened, read or written */
    INGOT_ERR_FORMAT,      /* an input file is malformed */
    INGOT_ERR_UNSUPPORTED, /* valid input that ingot does not handle */
    INGOT_ERR_SHAPE,       /* a tensor is missing, extra or mis-shaped */
    INGOT_ERR_NONFINITE,   /* NaN or Inf where a finite value is required */
    INGOT_ERR_CHECKSUM,    /* stored data does not match its checksum */
    INGOT_ERR_NOMEM,       /* an allocation failed */
    INGOT_ERR_ARG,         /* the caller passed an invalid argument */
    INGOT_ERR_VERSION,     /* artifact written by a newer, incompatible ingot */
    INGOT_ERR_INTERRUPTED  /* the caller's cancel flag was raised */
} ingot_status;

/** Error report: one line, "<file or tensor>: <why>", no trailing newline. */
typedef struct ingot_error {
    ingot_status code;
    char message[1024];
} ingot_error;

/** @return a short static name for a status code ("io", "format", ...). */
const char *ingot_status_name(ingot_status code);

/* ------------------------------------------------------------------ dtypes */

typedef enum ingot_dtype {
    INGOT_DT_F32 = 0,
    INGOT_DT_F16,
    INGOT_DT_BF16,
    INGOT_DT_F64,
    INGOT_DT_I64,
    INGOT_DT_I32,
    INGOT_DT_I16,
    INGOT_DT_I8,
    INGOT_DT_U8,
    INGOT_DT_BOOL,
    INGOT_DT_F8_E4M3,
    INGOT_DT_F8_E5M2,
    /* quantized weight formats (see docs/FORMAT.md) */
    INGOT_DT_Q8,   /* int8, symmetric absmax per output channel */
    INGOT_DT_NF4,  /* bitsandbytes NF4, blocks of 64, fp32 absmax */
    INGOT_DT_Q4,   /* int4 asymmetric, scale + zero per group (int4 and awq4) */
    INGOT_DT_COUNT
} ingot_dtype;

/** @return the lower-case name ("bf16", "nf4", ...) or NULL for an invalid value. */
const char *ingot_dtype_name(ingot_dtype t);
/** @return the dtype named s, or -1 when s names none. */
int ingot_dtype_from_name(const char *s);

/* ------------------------------------------------------------------ convert */

/** Progress callback: stage is a short static label, done/total in bytes. */
typedef void (*ingot_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

typedef struct ingot_convert_options {
    int dtype;               /* -1: keep the checkpoint's; else INGOT_DT_BF16/F16/F32 */
    int allow_nonfinite;     /* 1: NaN/Inf in weights is not an error */
    int64_t mtime;           /* time stamp written into the archive (default 0) */
    ingot_progress_fn progress;
    void *progress_user;
    const volatile int *cancel; /* when non-NULL and *cancel != 0, stop with INGOT_ERR_INTERRUPTED */
} ingot_convert_options;

/** Fills *opts with the defaults (dtype -1, mtime 0, no callbacks). */
void ingot_convert_options_init(ingot_convert_options *opts);

/**
 * Converts the HuggingFace checkpoint in hf_dir into the artifact out_path.
 * Writes a temporary file beside out_path and renames it into place only on
 * success: on failure nothing is left and an existing out_path is untouched.
 * @param summary_json when not NULL, receives a malloc'ed JSON summary
 *        (caller frees) on success.
 * @return 0 on success, -1 on failure (err filled).
 */
int ingot_convert(const char *hf_dir, const char *out_path,
                  const ingot_convert_options *opts, char **summary_json,
                  ingot_error *err);

/**
 * Describes the HuggingFace checkpoint in hf_dir without converting it.
 * @param manifest_json receives a malloc'ed JSON text shaped like an
 *        artifact manifest (without checksums); the caller frees it.
 * @return 0 on success, -1 on failure (err filled).
 */
int ingot_describe_hf(const char *hf_dir, char **manifest_json, ingot_error *err);

/* ------------------------------------------------------------------ artifact */

typedef struct ingot_artifact ingot_artifact;

/**
 * Opens an .ingot file: maps it, reads and validates its manifest and tar
 * layout.  Tensor data is not read until used.
 * @return a handle owned by the caller (ingot_artifact_free), or NULL.
 */
ingot_artifact *ingot_artifact_open(const char *path, ingot_error *err);

/** Unmaps and frees the artifact; NULL is a no-op. */
void ingot_artifact_free(ingot_artifact *a);

/** @return the manifest (ingot.json) text, owned by the artifact. */
const char *ingot_artifact_manifest(const ingot_artifact *a);

/** Called by ingot_artifact_verify for each tensor whose checksum is wrong. */
typedef void (*ingot_bad_tensor_fn)(void *user, const char *tensor, const char *why);

/**
 * Recomputes the XXH3-64 checksum of every stored array.
 * @return the number of corrupted tensors (0 = all good), or -1 on error.
 */
int ingot_artifact_verify(const ingot_artifact *a, ingot_bad_tensor_fn bad, void *user,
                          ingot_error *err);

#ifdef __cplusplus
}
#endif
#endif /* INGOT_H */
