/*
 * gguf.h - ingot export --format gguf (internal): one GGUF v3 file that
 * llama.cpp loads.
 *
 *   gguf_writer.c  the container: key/value metadata and tensor infos built
 *                  in memory, then the header, and the tensor data streamed
 *                  tensor by tensor at 32-byte aligned offsets
 *   gguf_quant.c   ingot's int4 rows as ggml Q4_1 blocks, int8 rows as Q8_0
 *                  blocks, with the rounding change each conversion causes
 *   gguf_vocab.c   tokenizer.json (+ tokenizer_config.json, chat template)
 *                  as llama.cpp's "gpt2" BPE vocabulary keys
 *   export_gguf.c  the driver: metadata of the llama / qwen2 architectures,
 *                  the tensor plan (types, llama's Q/K row order), output
 *
 * The layout is GGUF v3 as llama.cpp's gguf-py (constants.py,
 * gguf_writer.py) and ggml (ggml-common.h, ggml-quants.c) define it: a
 * little-endian header "GGUF", version 3, tensor count and key/value count
 * (u64), the key/value pairs (string key, u32 value type, value), the tensor
 * infos (name, u32 n_dims, u64 ne[n_dims] with ne[0] the row length, u32
 * ggml type, u64 offset into the data section), padding to the alignment
 * (32), then the data, every tensor at an aligned offset.
 */
#ifndef INGOT_EXPORT_GGUF_H
#define INGOT_EXPORT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"
#include "ingot.h"

#define INGOT_GGUF_VERSION 3
#define INGOT_GGUF_ALIGN 32

/* GGUF metadata value types */
typedef enum {
    INGOT_GGUF_U8 = 0,
    INGOT_GGUF_I8 = 1,
    INGOT_GGUF_U16 = 2,
    INGOT_GGUF_I16 = 3,
    INGOT_GGUF_U32 = 4,
    INGOT_GGUF_I32 = 5,
    INGOT_GGUF_F32 = 6,
    INGOT_GGUF_BOOL = 7,
    INGOT_GGUF_STRING = 8,
    INGOT_GGUF_ARRAY = 9,
    INGOT_GGUF_U64 = 10,
    INGOT_GGUF_I64 = 11,
    INGOT_GGUF_F64 = 12
} ingot_gguf_vtype;

/* The ggml tensor types ingot writes (values of ggml_type) */
typedef enum {
    INGOT_GGML_F32 = 0,
    INGOT_GGML_F16 = 1,
    INGOT_GGML_Q4_1 = 3,
    INGOT_GGML_Q5_1 = 7,
    INGOT_GGML_Q8_0 = 8,
    INGOT_GGML_BF16 = 30
} ingot_ggml_type;

#define INGOT_GGML_QK 32         /* weights per Q4_1 / Q8_0 block */
#define INGOT_GGML_Q4_1_BYTES 20 /* f16 d, f16 m, 16 bytes of nibbles */
#define INGOT_GGML_Q8_0_BYTES 34 /* f16 d, 32 int8 */
#define INGOT_GGML_Q5_1_BYTES 24 /* f16 d, f16 m, 4 bytes of high bits, 16 bytes of nibbles */

/** @return "f32", "f16", "q4_1", "q8_0", "bf16" (static), or "?" */
const char *ingot_ggml_type_name(ingot_ggml_type t);
/** Bytes of one row of n elements of type t (n a multiple of the block for Q types). */
uint64_t ingot_ggml_row_bytes(ingot_ggml_type t, int64_t n);

/* ---- the container (gguf_writer.c) ---- */

/** Metadata and tensor infos being built; a failed allocation sticks (nomem). */
typedef struct ingot_gguf {
    uint8_t *kv;          /* the key/value pairs, serialized */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    uint8_t *ti;          /* the tensor infos, serialized */
    size_t ti_len, ti_cap;
    uint64_t n_tensors;
    uint64_t data_size;   /* the data section so far (tensors padded to the alignment) */
    bool nomem;
} ingot_gguf;

void ingot_gguf_init(ingot_gguf *g);
void ingot_gguf_free(ingot_gguf *g);

void ingot_gguf_kv_u32(ingot_gguf *g, const char *key, uint32_t v);
void ingot_gguf_kv_f32(ingot_gguf *g, const char *key, float v);
void ingot_gguf_kv_bool(ingot_gguf *g, const char *key, bool v);
void ingot_gguf_kv_str(ingot_gguf *g, const char *key, const char *s);
void ingot_gguf_kv_strn(ingot_gguf *g, const char *key, const char *s, size_t len);
/** Starts an array of n elements of type t; push exactly n with the two below. */
void ingot_gguf_kv_array(ingot_gguf *g, const char *key, ingot_gguf_vtype t, uint64_t n);
void ingot_gguf_push_str(ingot_gguf *g, const char *s, size_t len);
void ingot_gguf_push_i32(ingot_gguf *g, int32_t v);

/**
 * Adds a tensor info: ne[0] is the row length (n_in), ne[1] the rows.
 * @return the tensor's data bytes, or 0 with err on a shape the type cannot
 *         hold (a row length that is not a multiple of the block).
 */
uint64_t ingot_gguf_tensor(ingot_gguf *g, const char *name, int ndim, const int64_t ne[2],
                           ingot_ggml_type type, ingot_error *err);

/** @return the bytes the header (up to the data section) takes. */
uint64_t ingot_gguf_header_bytes(const ingot_gguf *g);

/**
 * Writes the header (magic .. tensor infos, padded) to fd.
 * @return 0, or -1 with err (INGOT_ERR_NOMEM when building ran out of memory).
 */
int ingot_gguf_write_header(const ingot_gguf *g, int fd, const char *what, ingot_error *err);

/** Writes the zero padding after a tensor of `bytes` bytes.  @return 0 or -1 (errno). */
int ingot_gguf_write_pad(int fd, uint64_t bytes);

/* ---- block conversion (gguf_quant.c) ---- */

/** The largest change a conversion made to a dequantized weight. */
typedef struct ingot_gguf_rounding {
    double max_abs;      /* |ggml's value - ingot's value|, over every weight */
    double max_steps;    /* the same change divided by its group's scale (one step) */
    char tensor[96];     /* where max_steps was reached */
    uint64_t n_weights;  /* weights converted */
} ingot_gguf_rounding;

/**
 * Row o of the int4 weight w (ingot: (q - zero) * scale per group) as
 * n_in/32 Q4_1 blocks into out: d = scale, m = -zero * scale rounded to f16,
 * the codes as they are.  Updates r.
 * @return 0, or -1 when -zero * scale overflows f16 (err names tensor).
 */
int ingot_gguf_q4_1_row(const ingot_wmat *w, int o, uint8_t *out, ingot_gguf_rounding *r,
                        const char *tensor, ingot_error *err);

/**
 * Row o of the int5 weight w ((q - zero) * scale per group) as n_in/32 Q5_1
 * blocks, as Q4_1's: d = scale, m = -zero * scale rounded to f16, the codes
 * as they are.  Updates r.  @return 0, or -1 when m overflows f16.
 */
int ingot_gguf_q5_1_row(const ingot_wmat *w, int o, uint8_t *out, ingot_gguf_rounding *r,
                        const char *tensor, ingot_error *err);

/**
 * Row o of the int8 weight w (q * scale per row) as n_in/32 Q8_0 blocks:
 * d = the row's scale rounded to f16, the codes as they are.  Updates r.
 * @return 0, or -1 when the scale overflows f16.
 */
int ingot_gguf_q8_0_row(const ingot_wmat *w, int o, uint8_t *out, ingot_gguf_rounding *r,
                        const char *tensor, ingot_error *err);

/* ---- vocabulary (gguf_vocab.c) ---- */

/**
 * Adds the tokenizer.ggml.* keys (model "gpt2", pre, tokens, token_type,
 * merges, special ids, add_bos/add_eos) and tokenizer.chat_template from the
 * stored HF files of an artifact.
 * @param files     the manifest's "files" object
 * @param member    looks a stored file up: its bytes, or NULL when absent
 * @param n_vocab   the model's vocabulary size (token_embd rows)
 * @param pre_out   receives the pre-tokenizer name (static), for the summary
 * @return 0, or -1 with err "<what>: tokenizer.json: <field>: <why>"
 *         (INGOT_ERR_UNSUPPORTED for a tokenizer llama.cpp cannot run).
 */
typedef const uint8_t *(*ingot_gguf_file_fn)(void *user, const char *name, size_t *len);
int ingot_gguf_add_vocab(ingot_gguf *g, ingot_gguf_file_fn file, void *user, int n_vocab,
                         int config_bos, int config_eos, const char *what, const char **pre_out,
                         ingot_error *err);

/**
 * The llama.cpp pre-tokenizer name for a pre-tokenizer regex (as
 * tokenizer.json's Split holds it) and the BPE model's ignore_merges.
 * @return the name (static), or NULL when llama.cpp knows no such set.
 */
const char *ingot_gguf_pre_name(const char *regex, bool ignore_merges);

/* ---- the driver (export_gguf.c) ---- */

/** ingot_export for INGOT_EXPORT_GGUF: out is the .gguf file to write. */
int ingot_export_gguf(const char *in_path, const char *out, const ingot_export_options *o,
                      char **summary_json, ingot_error *err);

#endif /* INGOT_EXPORT_GGUF_H */
