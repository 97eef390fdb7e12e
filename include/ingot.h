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
 *
 * Threads: every function may be called from any thread.  An ingot_model is
 * read-only once opened and may be shared by any number of threads
 * (contexts, tokenizing, chat templates, quantizing or exporting it); a
 * context, sampler or other handle belongs to one thread at a time.  A
 * context's CPU threads are OpenMP threads of the calling thread's own team,
 * so N threads with contexts of T threads use N*T cores.  Results do not
 * depend on what other threads do (tests/test_threads.c).  The CUDA
 * backend shares one upload of a model's weights per device between its
 * contexts, behind a lock.
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
    INGOT_DT_Q5,   /* int5, likewise (--target-bpw) */
    INGOT_DT_Q6,   /* int6, likewise (--target-bpw) */
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

/* ------------------------------------------------------------------ quantize */

/** What `ingot quantize --type` makes of the linear layers. */
typedef enum ingot_quant_type {
    INGOT_QUANT_INT8 = 0, /* int8, absmax per output channel (W8A16) */
    INGOT_QUANT_NF4,      /* bitsandbytes NF4, blocks of 64 */
    INGOT_QUANT_INT4,     /* int4 asymmetric per group, round to nearest */
    INGOT_QUANT_AWQ4      /* int4 storage after AWQ (needs calibration text) */
} ingot_quant_type;

/** @return "int8", "nf4", "int4" or "awq4" (static storage); NULL for an invalid value. */
const char *ingot_quant_type_name(ingot_quant_type t);
/** @return the type named s, or -1 when s names none. */
int ingot_quant_type_from_name(const char *s);

/** Informational message for the user (e.g. "calibration text is short");
 *  message is only valid during the call. */
typedef void (*ingot_note_fn)(void *user, const char *message);

#define INGOT_AWQ_DEFAULT_SAMPLES 128    /* AutoAWQ's n_samples */
#define INGOT_AWQ_DEFAULT_LEN 512        /* AutoAWQ's max_seq_len */
#define INGOT_AWQ_DEFAULT_LOSS_SAMPLES 16 /* samples the alpha search scores */

/**
 * Options of ingot_quantize.  Always fill one with ingot_quantize_options_init
 * first, then set fields: the struct ends in reserved room that later
 * versions use for new options (the init function gives them their
 * defaults), so that its size, and the ABI, stays the same.  The strings
 * and arrays it points to are the caller's; they must stay valid during the
 * ingot_quantize call and are not kept after it.
 */
typedef struct ingot_quantize_options {
    ingot_quant_type type;
    int group_size;          /* int4 / awq4 (and int4 embed / head): 0 = 128 */
    int double_quant;        /* nf4 (and nf4 embed / head): quantize the block maxima too */
    int mse_scales;          /* int4 storage (int4, awq4, int4 embed / head): each group's scale and zero
                                by a least-squared-error search, not from its min and max */
    const char *calib_path;  /* awq4: calibration text (required) */
    int calib_samples;       /* awq4: sequences (0 = INGOT_AWQ_DEFAULT_SAMPLES) */
    int calib_len;           /* awq4: tokens per sequence (0 = INGOT_AWQ_DEFAULT_LEN) */
    int loss_samples;        /* awq4: sequences the alpha grid search scores its MSE on
                                (0 = INGOT_AWQ_DEFAULT_LOSS_SAMPLES, capped at calib_samples) */
    const char *const *keep; /* NULL-terminated fnmatch(3) globs on tensor names: left as is */
    int embed_type;          /* -1: as stored; else a dtype for token_embd.weight */
    int head_type;           /* -1: as stored; else a dtype for output.weight
                                (for tied embeddings: stores a separate output.weight) */
    int64_t mtime;           /* time stamp of the archive members */
    int n_threads;           /* 0: the OpenMP default */
    ingot_progress_fn progress;
    void *progress_user;
    ingot_note_fn note;
    void *note_user;
    const volatile int *cancel; /* when non-NULL and *cancel != 0: stop, INGOT_ERR_INTERRUPTED */
    double target_bpw;       /* > 0 (int4 only): pick each weight matrix's format (int4/int5/int6
                                at groups of 128, 64 or 32, int8 or as stored), embeddings and head
                                included, so that the whole model takes at most this many bits per
                                weight with the least KL divergence measured on calib_path
                                (calib_samples x calib_len tokens, default 8 x 256); the int4/5/6
                                scales are searched as with mse_scales, each input's error weighed
                                by its mean square on calib_path */
    int target_measure;      /* how --target-bpw measures each format's cost: INGOT_MEASURE_AUTO
                                (exact below INGOT_MEASURE_EXACT_MAX_PARAMS parameters, else proxy),
                                _EXACT (the KL divergence of every candidate) or _PROXY (of one
                                candidate per tensor, the others scaled by their activation-
                                weighted squared error) */
    void *reserved[6];       /* room for later options; zeroed by ingot_quantize_options_init */
} ingot_quantize_options;

enum { INGOT_MEASURE_AUTO = 0, INGOT_MEASURE_EXACT = 1, INGOT_MEASURE_PROXY = 2 };
#define INGOT_MEASURE_EXACT_MAX_PARAMS 50000000

/** Fills *o with the defaults: int8, group 128, no calibration, types as stored,
 *  no callbacks. */
void ingot_quantize_options_init(ingot_quantize_options *o);

/**
 * Quantizes the artifact (or HuggingFace checkpoint directory) in_path into
 * out_path.  The output is written to a temporary file beside out_path and
 * renamed into place only on success; on failure or interrupt nothing is
 * left and an existing out_path is untouched.  in_path and the calibration
 * file are never overwritten.  Same inputs and options give the same bytes,
 * whatever the number of threads.
 * @param o NULL for the defaults.
 * @param summary_json when not NULL, receives a malloc'ed JSON summary
 *        (caller frees) on success, NULL on failure.
 * @return 0 on success, -1 on failure (err filled: "<file or tensor>: <why>").
 */
int ingot_quantize(const char *in_path, const char *out_path, const ingot_quantize_options *o,
                   char **summary_json, ingot_error *err);

/* ------------------------------------------------------------------ export */

/** What `ingot export --format` writes. */
typedef enum ingot_export_format {
    INGOT_EXPORT_HF = 0, /* a plain HuggingFace checkpoint (safetensors, config, tokenizer) */
    INGOT_EXPORT_AWQ,    /* an AutoAWQ GEMM checkpoint (from int4 and awq4 artifacts) */
    INGOT_EXPORT_GGUF,   /* one GGUF v3 file for llama.cpp (not from nf4 artifacts) */
    INGOT_EXPORT_BNB     /* a transformers + bitsandbytes checkpoint (from nf4 and int8 artifacts) */
} ingot_export_format;

/** @return "hf", "awq", "gguf" or "bnb" (static storage); NULL for an invalid value. */
const char *ingot_export_format_name(ingot_export_format f);
/** @return the format named s, or -1 when s names none. */
int ingot_export_format_from_name(const char *s);

/* transformers' default max_shard_size, "5GB" (decimal) */
#define INGOT_EXPORT_DEFAULT_SHARD_BYTES 5000000000ULL

/**
 * Options of ingot_export.  Always fill one with ingot_export_options_init
 * first, then set fields: the struct ends in reserved room that later
 * versions use for new options (the init function gives them their
 * defaults), so that its size, and the ABI, stays the same.
 */
typedef struct ingot_export_options {
    ingot_export_format format;
    uint64_t max_shard_bytes; /* largest safetensors shard (0 = INGOT_EXPORT_DEFAULT_SHARD_BYTES);
                                 a tensor larger than this gets a shard of its own */
    ingot_progress_fn progress;
    void *progress_user;
    ingot_note_fn note;       /* warnings, e.g. that quantized tensors were dequantized */
    void *note_user;
    const volatile int *cancel; /* when non-NULL and *cancel != 0: stop, INGOT_ERR_INTERRUPTED */
    void *reserved[8];        /* room for later options; zeroed by ingot_export_options_init */
} ingot_export_options;

/** Fills *o with the defaults: hf, 5 GB shards, no callbacks. */
void ingot_export_options_init(ingot_export_options *o);

/**
 * Exports the artifact in_path as a checkpoint directory out_dir that other
 * tools load: safetensors shards (model.safetensors, or
 * model-0000i-of-0000n.safetensors with model.safetensors.index.json),
 * config.json and the stored tokenizer and generation files.
 *   hf:  tensors under their HuggingFace names, bf16/f16/f32 as stored;
 *        quantized tensors are dequantized to bf16 (o->note says so).
 *   awq: the int4 linear weights in AutoAWQ's GEMM layout (qweight, qzeros,
 *        scales), everything else in f16, config.json with a
 *        quantization_config; other artifacts are refused.
 *   bnb: the nf4 (plain or double quant) or int8 linear weights as
 *        transformers saves a bitsandbytes model (weight, absmax, quant_map,
 *        nested_absmax, nested_quant_map, quant_state.bitsandbytes__nf4;
 *        weight, SCB, weight_format for int8), everything else as hf writes
 *        it, config.json with bitsandbytes' quantization_config; other
 *        artifacts are refused.
 *   gguf: out_dir is instead the one GGUF v3 file to write, for llama.cpp
 *        (architecture llama or qwen2, its gpt2 BPE vocabulary, the chat
 *        template): matrices as stored for bf16/f16/f32, int4/awq4 as Q4_1,
 *        int8 as Q8_0 (o->note reports the largest rounding change), norms
 *        and biases as f32, attn_q/attn_k rows in llama.cpp's order for
 *        llama; nf4 artifacts and tokenizers llama.cpp cannot run are
 *        refused (INGOT_ERR_UNSUPPORTED).  Written to a temporary file
 *        renamed into place.
 * The files are written into a temporary directory beside out_dir, which is
 * renamed into place only on success: on failure or interrupt nothing is
 * left and an existing out_dir is untouched.  An existing out_dir is replaced
 * only when it is empty or holds nothing but checkpoint files (*.safetensors,
 * *.json, *.jinja, *.txt, *.model); it may not hold the input.
 * @param o NULL for the defaults.
 * @param summary_json when not NULL, receives a malloc'ed JSON summary
 *        (caller frees) on success, NULL on failure.
 * @return 0 on success, -1 on failure (err filled: "<file or tensor>: <why>";
 *         INGOT_ERR_UNSUPPORTED for an artifact the format cannot hold).
 */
int ingot_export(const char *in_path, const char *out_dir, const ingot_export_options *o,
                 char **summary_json, ingot_error *err);

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


/* ------------------------------------------------------------------ runtime */

typedef struct ingot_model ingot_model;
typedef struct ingot_context ingot_context;

/**
 * Opens an .ingot artifact for inference: maps it, checks its config and
 * tensors, loads the tokenizer.  Weights stay in the mapping (no copy).
 * @return a model owned by the caller (ingot_model_free), or NULL.
 */
ingot_model *ingot_model_open(const char *path, ingot_error *err);
void ingot_model_free(ingot_model *m);

typedef struct ingot_model_info {
    const char *architecture;   /* "llama", "mistral", "qwen2" */
    int vocab_size;
    int hidden_size;
    int n_layers;
    int n_heads, n_kv_heads, head_dim;
    int max_pos;                /* max_position_embeddings */
    int bos_id;                 /* -1 when none */
    int n_eos;
    const int *eos_ids;
    uint64_t n_params;
    uint64_t weight_bytes;      /* all stored weights */
    uint64_t bytes_per_token;   /* weight bytes one decode step reads */
    uint64_t flops_per_token;   /* 2 x multiply-adds of the linear layers */
} ingot_model_info;

/** Fills *info; pointers in it live as long as the model. */
void ingot_model_get_info(const ingot_model *m, ingot_model_info *info);
/** @return the underlying artifact (owned by the model). */
const ingot_artifact *ingot_model_artifact(const ingot_model *m);

/**
 * Tokenizes UTF-8 text (invalid bytes are handled as HuggingFace does).
 * add_special: 1 applies the tokenizer's post-processor (e.g. BOS).
 * @param ids receives a malloc'ed array the caller frees.
 */
int ingot_tokenize(const ingot_model *m, const char *text, size_t len, int add_special,
                   int32_t **ids, size_t *n_ids, ingot_error *err);
/**
 * The tokenizer takes any bytes (invalid UTF-8 becomes U+FFFD, as the
 * HuggingFace tokenizers read text); callers that want to refuse such text
 * check it first.  @return 1 when the len bytes at s are valid UTF-8, else 0
 * with *bad_at (when not NULL) the offset of the first bad sequence.
 */
int ingot_utf8_check(const char *s, size_t len, size_t *bad_at);
/** Decodes ids to malloc'ed, NUL-terminated text (caller frees). */
int ingot_detokenize(const ingot_model *m, const int32_t *ids, size_t n, int skip_special,
                     char **text, size_t *len, ingot_error *err);

/**
 * Renders the model's chat template for one user prompt (and an optional
 * system prompt) with the generation prompt appended.
 * @return malloc'ed text (caller frees), or NULL with err filled.
 */
char *ingot_chat_prompt(const ingot_model *m, const char *system, const char *user,
                        ingot_error *err);

/** Where a context computes. */
typedef enum ingot_device {
    INGOT_DEVICE_AUTO = 0, /* the CPU, until the CUDA backend meets its speed targets */
    INGOT_DEVICE_CPU,
    INGOT_DEVICE_CUDA      /* the NVIDIA GPU numbered device_index (builds with CUDA) */
} ingot_device;

/**
 * How to build an inference context.  Initialize with
 * ingot_context_params_init, then set fields.  Fields are only ever
 * appended, and the library reads only those the caller's struct covers
 * (`size`): a program built against an older ingot.h gets the defaults for
 * the newer fields; one built against a newer ingot.h runs with an older
 * library as long as it leaves the fields that library does not know as
 * ingot_context_params_init set them (zero), and gets INGOT_ERR_ARG if not.
 */
typedef struct ingot_context_params {
    size_t size;          /* sizeof the caller's struct: set by ingot_context_params_init */
    int n_ctx;            /* positions the KV cache holds; 0 (default): max_position_embeddings */
    int n_threads;        /* CPU threads of each evaluation; 0 (default): OpenMP's default,
                             all cores unless the process set fewer; the process-wide
                             OpenMP setting is left alone */
    ingot_device device;  /* default INGOT_DEVICE_AUTO */
    int device_index;     /* which CUDA device (default 0); unused by the CPU */
    ingot_dtype kv_type;  /* KV cache elements: INGOT_DT_F32 (default); INGOT_DT_F16 and
                             INGOT_DT_BF16 (CUDA only; the CPU backend refuses them) */
} ingot_context_params;

/**
 * Sets the first size bytes of *p to the defaults (zero beyond the fields
 * this library knows) and p->size to size; ingot_context_params_init calls it.
 */
void ingot_context_params_init_sized(ingot_context_params *p, size_t size);

/** Fills *p with the defaults and records the size of the caller's struct. */
static inline void ingot_context_params_init(ingot_context_params *p)
{
    ingot_context_params_init_sized(p, sizeof *p);
}

/**
 * Creates an inference context for m as p says (NULL: the defaults).  The
 * model must outlive the context.  Errors: INGOT_ERR_ARG for an invalid
 * field (or a params struct that ingot_context_params_init did not set up,
 * or one setting fields this library does not know), INGOT_ERR_UNSUPPORTED
 * for a device or KV cache type this build or machine cannot provide,
 * INGOT_ERR_NOMEM when the KV cache or buffers cannot be allocated.
 * @return a context owned by the caller (ingot_context_free), or NULL.
 */
ingot_context *ingot_context_create_with(ingot_model *m, const ingot_context_params *p, ingot_error *err);

/**
 * ingot_context_create_with on the CPU (INGOT_DEVICE_CPU, whatever
 * INGOT_DEVICE_AUTO comes to mean) with the default f32 KV cache: a KV cache
 * for n_ctx positions (0: the model's max_position_embeddings), n_threads
 * CPU threads (0 or negative: OpenMP's default, all cores unless the process
 * set fewer); the process-wide OpenMP setting is left alone.
 * @return a context owned by the caller (ingot_context_free), or NULL.
 */
ingot_context *ingot_context_create(ingot_model *m, int n_ctx, int n_threads, ingot_error *err);
void ingot_context_free(ingot_context *c);
/** @return the number of positions the context's KV cache holds. */
int ingot_context_n_ctx(const ingot_context *c);

/**
 * Measures the GPU c runs on, for ingot bench: the streaming read bandwidth
 * of its memory (GB/s, over a buffer far larger than its cache), the rate of
 * an 8192³ matrix product in the type prefill uses (TFLOP/s) and the device
 * memory in use on it (MiB, every process counted).  Takes a few seconds.
 * @return 0, or -1 (INGOT_ERR_UNSUPPORTED for a CPU context).
 */
int ingot_context_device_peaks(ingot_context *c, double *read_gbs, double *gemm_tflops, double *mem_used_mb,
                               ingot_error *err);

/** @return the device c computes on, in words ("cpu", "cuda:0 (NVIDIA H100 80GB HBM3, sm_90)"); owned by c. */
const char *ingot_context_device(const ingot_context *c);

/**
 * Runs n tokens at positions pos .. pos+n-1 through the model, filling the KV
 * cache; positions after pos are forgotten first.  Many tokens at once use
 * matrix-matrix kernels (prefill); one token is a decode step.
 * @param logits NULL, or room for vocab_size floats (all_logits == 0: the
 *        last token's) or n x vocab_size floats (all_logits == 1).
 */
int ingot_context_eval(ingot_context *c, const int32_t *tokens, int n, int pos, float *logits,
                       int all_logits, ingot_error *err);

/** Largest |activation| per layer, for the fp16 range report of ingot eval. */
typedef struct ingot_layer_stats {
    float resid_max;  /* residual stream after the layer */
    float attn_max;   /* q, k, v, attention output, o_proj output */
    float mlp_max;    /* gate, up, gated product, down output */
    int nonfinite;    /* a NaN or Inf was seen in this layer */
} ingot_layer_stats;

/**
 * Turns activation statistics on (stats has n_layers + 1 entries; the last
 * is the final norm and logits) or off (NULL).  Values accumulate as maxima.
 */
void ingot_context_set_stats(ingot_context *c, ingot_layer_stats *stats);

/* ------------------------------------------------------------------ sampling */

typedef struct ingot_sampler_params {
    float temperature;     /* 0: greedy */
    int top_k;             /* 0: off */
    float top_p;           /* 1: off */
    float min_p;           /* 0: off */
    float repeat_penalty;  /* 1: off */
    int repeat_last_n;     /* tokens of history the penalty looks at */
    uint64_t seed;
} ingot_sampler_params;

typedef struct ingot_sampler ingot_sampler;

void ingot_sampler_params_init(ingot_sampler_params *p);
ingot_sampler *ingot_sampler_create(const ingot_sampler_params *p, int vocab_size, ingot_error *err);
void ingot_sampler_free(ingot_sampler *s);
/**
 * Picks the next token from logits (modified in place) given the history of
 * tokens so far (for the repeat penalty).
 */
int32_t ingot_sampler_sample(ingot_sampler *s, float *logits, const int32_t *history, int n_history);

/* ------------------------------------------------------------------ machine */

/** Measures this machine's memory-read bandwidth in GB/s with n_threads (0: all). */
double ingot_machine_read_bandwidth(int n_threads);
/**
 * One streaming read of bytes at buf (the caller's buffer, much larger than
 * the last-level cache) by n_threads (0: all).  @return its GB/s.
 */
double ingot_machine_read_pass(const void *buf, size_t bytes, int n_threads);
/** Measures this machine's f32 FMA peak in GFLOP/s with n_threads (0: all). */
double ingot_machine_fma_peak(int n_threads);
/** @return the number of CPU threads used when a caller passes 0. */
int ingot_default_threads(void);
/**
 * @return the CPU kernel set in use (static storage): "avx512vnni" (AVX-512,
 * with int8 and int4 decode on VNNI dot products over the token rounded to
 * int8), "avx512", "avx2dot" (AVX2, with int8, nf4 and int4 decode on integer
 * dot products over the token rounded to int8), "avx2" or "ref".
 */
const char *ingot_cpu_isa(void);

#ifdef __cplusplus
}
#endif
/* ---- faults ---- */

/**
 * ingot reads its inputs (checkpoints, artifacts) through read-only file
 * mappings.  When another process truncates such a file while it is in
 * use, the next read of a lost page raises SIGBUS.  For a SIGBUS handler
 * (SA_SIGINFO, si_addr): @return the path of the mapped input containing
 * addr, or NULL.  Async-signal-safe; the string is borrowed.
 */
const char *ingot_mapped_file_at(const void *addr);

/**
 * Removes every temporary output file still being written (they would be
 * left behind by a process that is about to _exit from a signal handler).
 * Async-signal-safe.
 */
void ingot_remove_temporaries(void);

#endif /* INGOT_H */
