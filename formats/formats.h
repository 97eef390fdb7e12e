/*
 * formats.h - the weight formats (internal API): one table entry per format.
 *
 * A weight W has shape (n_out, n_in), row-major (row o holds the n_in input
 * weights of output o), and quantized formats quantize it along n_in.  Every
 * format stores W as a few "parts" (plain arrays, one archive member each),
 * and an ingot_format entry says everything the rest of ingot needs to know
 * about it:
 *
 *   name, type          the manifest's type name and the ingot_dtype;
 *   quantized           false for the plain float types;
 *   variants            named sets of parts ("plain", "double-quant"), each
 *                       with its part roles in order; a tensor's variant is
 *                       recognized by its parts (see ingot_wmat_bind_found);
 *   layout              dtype, shape and bytes of each part for
 *                       (n_out, n_in, group size, variant), so also the bits
 *                       per weight and the size checks of stored parts;
 *   quantize_*          the reference quantizer, one row at a time (the
 *                       generic driver ingot_quantize_ref runs the rows in
 *                       parallel and checks the input is finite);
 *   dequantize          the reference dequantizer of a row range.
 * formats.c holds the table and the generic drivers; each format's entry and
 * arithmetic live in its own file.  The reference quantizers are the
 * specification of the formats (docs/QUANT_FORMATS.md); the SIMD matmul
 * kernels in kernels/cpu/qmatmul_*.c are tested against ingot_dequantize_ref.
 *
 * The formats and their parts, in order (= the index of each part in
 * ingot_wmat.part, named by the enums below):
 *
 *   bf16, f16, f32 (float.c):  data   (n_out, n_in) of the type itself
 *   int8 (INGOT_DT_Q8, quant_int8.c):
 *                              qs     i8  (n_out, n_in)      scales f32 (n_out)
 *   nf4 (INGOT_DT_NF4, quant_nf4.c), variant "plain":
 *                              qs     u8  (n_out*n_in/2)     absmax f32 (nb)
 *       variant "double-quant" (INGOT_NF4_DQ):
 *                              qs, absmax_q u8 (nb), absmax_absmax f32 (ceil(nb/256)),
 *                              absmax_offset f32 (1)       where nb = n_out*n_in/64
 *   int4 (INGOT_DT_Q4, quant_int4.c; also the storage of awq4):
 *                              qs     u8  (n_out, n_in/2)    scales f16 (n_out, n_in/G)
 *                              zeros  u8  (n_out, n_in/G)
 *   int5, int6 (INGOT_DT_Q5, INGOT_DT_Q6, quant_intb.c), hb = 1 or 2 high bits per code:
 *                              qs     u8  (n_out, n_in/2)    qh u8 (n_out, n_in*hb/8)
 *                              scales f16 (n_out, n_in/G)    zeros u8 (n_out, n_in/G)
 *
 * Adding a weight format: a dtype in include/ingot.h (and its name in
 * util/dtype.c), one file here with its entry, a line in formats.c's table,
 * its kernels (kernels/cpu/qkernels_fill.c), its tests and its docs.
 */
#ifndef INGOT_FORMATS_H
#define INGOT_FORMATS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ingot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define INGOT_WMAT_MAX_PARTS 4

/* ---- the parts of each format, as indices into ingot_wmat.part ---- */

/* bf16, f16, f32: the elements themselves */
enum { INGOT_F_DATA = 0 };
/* int8: codes (n_out, n_in) and one f32 scale per row */
enum { INGOT_Q8_QS = 0, INGOT_Q8_SCALES = 1 };
/* nf4 variants (ingot_wmat.variant): nonzero means double quant */
enum { INGOT_NF4_PLAIN = 0, INGOT_NF4_DQ = 1 };
/* nf4: codes, then the block absmax as f32 (plain) or double-quantized */
enum {
    INGOT_NF4_QS = 0,
    INGOT_NF4_ABSMAX = 1,          /* plain: f32 (nb) */
    INGOT_NF4_ABSMAX_Q = 1,        /* double quant: u8 (nb), codes of the dynamic map */
    INGOT_NF4_ABSMAX_ABSMAX = 2,   /* double quant: f32 (ceil(nb/256)) */
    INGOT_NF4_ABSMAX_OFFSET = 3,   /* double quant: f32 (1) */
};
/* int4: codes, f16 scales and u8 zero points per group */
enum { INGOT_Q4_QS = 0, INGOT_Q4_SCALES = 1, INGOT_Q4_ZEROS = 2 };
/* int5, int6: the codes' low nibbles as int4's, their high bits, then int4's scales and zeros */
enum { INGOT_QB_QS = 0, INGOT_QB_QH = 1, INGOT_QB_SCALES = 2, INGOT_QB_ZEROS = 3 };

typedef struct ingot_format ingot_format;

/**
 * A view of a weight matrix W of shape (n_out, n_in) in some format, for the
 * kernels: the format's parts in the order of its layout (part[i] is the
 * array of role fmt->variants[variant].role[i]; index them with the enums
 * above).  The parts are not owned and must outlive the view.  Built by
 * ingot_wmat_bind (parts in order) or ingot_wmat_bind_found (parts by role).
 */
typedef struct ingot_wmat {
    const ingot_format *fmt; /* the table entry of type */
    ingot_dtype type;        /* fmt->type; the kernel tables are indexed by it */
    int n_out, n_in;
    int group_size;          /* inputs per scale: int4 G, nf4 64; 0 otherwise */
    int variant;             /* index into fmt->variants; nf4: INGOT_NF4_DQ = double quant */
    int n_parts;
    const void *part[INGOT_WMAT_MAX_PARTS];
} ingot_wmat;

#define INGOT_NF4_BLOCK 64       /* bitsandbytes blocksize for 4-bit weights */
#define INGOT_NF4_DQ_BLOCK 256   /* bitsandbytes blocksize for the absmax statistics */
#define INGOT_Q4_DEFAULT_GROUP 128
#define INGOT_Q4_GROUP_ALIGN 32  /* int4 groups are whole 32-weight (16-byte) chunks */

/** One stored array of a weight. */
typedef struct ingot_wpart {
    const char *role;   /* "data", "qs", "scales", "zeros", "absmax", "absmax_q", ... (static) */
    ingot_dtype dtype;  /* element type: the float type itself, or I8, U8, F16, F32 */
    int ndim;           /* 1 or 2 */
    int64_t shape[2];
    uint64_t bytes;
} ingot_wpart;

/** The parts of one weight, in wmat order. */
typedef struct ingot_wlayout {
    int n;
    ingot_wpart p[INGOT_WMAT_MAX_PARTS];
} ingot_wlayout;

/** A named set of parts of a format. */
typedef struct ingot_format_variant {
    const char *name;                       /* "plain", "double-quant" */
    int n_parts;
    const char *role[INGOT_WMAT_MAX_PARTS]; /* in wmat order */
} ingot_format_variant;

/** The quantization of one tensor, as ingot_quantize_ref hands it to a format. */
typedef struct ingot_qjob {
    const ingot_wlayout *layout;
    int64_t n_out, n_in;
    int group_size;       /* as the format resolved it */
    int variant;
    void *const *parts;   /* the output parts, in layout order */
    void *scratch;        /* the format's own, from quantize_begin to quantize_end */
    const float *col_weight; /* (n_in) importance of each input for the search quantizers, or NULL */
} ingot_qjob;

/** A weight format: one entry of the table (formats.c). */
struct ingot_format {
    const char *name;     /* the manifest's type name, as ingot_dtype_name(type) */
    ingot_dtype type;
    bool quantized;       /* false: a plain float type, one "data" part of itself */
    bool group_param;     /* the group size is a parameter of the tensor (int4), and
                           * the manifest's "group_size" holds it */
    int n_variants;       /* >= 1; variant 0 is the default */
    const ingot_format_variant *variants;
    /** The wmat group size for a requested one (<= 0: the format's default). */
    int (*group_size)(int requested);
    /**
     * Fills dtype, ndim, shape and bytes of the variant's parts (the roles
     * come from the variant).  n_out, n_in are > 0 and fit an int; group_size
     * is resolved.  @return 0, or -1 with err "<tensor>: <why>".
     */
    int (*layout)(const ingot_format *f, int64_t n_out, int64_t n_in, int group_size,
                  int variant, ingot_wpart *p, const char *tensor, ingot_error *err);
    /* The reference quantizer (NULL for the float types).  quantize_begin
     * (optional) prepares j->scratch, quantize_row quantizes row o (finite;
     * rows run in parallel, in any order), quantize_end (optional) finishes
     * whole-tensor parts when ok and frees the scratch either way. */
    int (*quantize_begin)(ingot_qjob *j, const char *tensor, ingot_error *err);
    void (*quantize_row)(const ingot_qjob *j, const float *row, int64_t o);
    void (*quantize_end)(ingot_qjob *j, bool ok);
    /** Elements [k0, k1) of row o as f32 into out (k1-k0); k0 and k1 even (or k1 == n_in). */
    void (*dequantize)(const ingot_wmat *w, int o, int k0, int k1, float *out);
};

/** @return the entry of a weight type, or NULL when t is not a weight format. */
const ingot_format *ingot_format_of(ingot_dtype t);

/** @return the i-th entry of the table (bf16, f16, f32, then the quantized ones), NULL past it. */
const ingot_format *ingot_format_at(int i);

/** @return whether t is a quantized weight format. */
bool ingot_format_quantized(ingot_dtype t);

/**
 * Describes the parts of a (n_out, n_in) weight of format f.  group_size is
 * resolved by f (int4: <= 0 picks INGOT_Q4_DEFAULT_GROUP); variant indexes
 * f->variants.
 * @return 0, or -1 with err "<tensor>: <why>" (INGOT_ERR_SHAPE for a shape the
 *         format cannot hold, INGOT_ERR_ARG for a bad format, variant or group size).
 */
int ingot_format_layout(const ingot_format *f, int64_t n_out, int64_t n_in, int group_size,
                        int variant, ingot_wlayout *out, const char *tensor, ingot_error *err);

/** @return the stored bits per weight (all parts counted), or 0 on a bad shape. */
double ingot_format_bits_per_weight(const ingot_format *f, int64_t n_out, int64_t n_in,
                                    int group_size, int variant);

/**
 * Reference quantization of w (n_out, n_in) f32 into caller-allocated parts,
 * sized and ordered as ingot_format_layout says.  Deterministic: the result
 * does not depend on the number of OpenMP threads.
 * @return 0, or -1 with err: INGOT_ERR_NONFINITE naming the tensor and the
 *         first NaN/Inf element, INGOT_ERR_ARG for a format that does not
 *         quantize, or a layout error.
 */
int ingot_quantize_ref(const ingot_format *f, const float *w, int64_t n_out, int64_t n_in,
                       int group_size, int variant, void *const parts[], const char *tensor,
                       ingot_error *err);
/** The same, with col_weight (n_in, >= 0; NULL: none), the importance of each
 *  input, for the search quantizers (int4/int5/int6 with --mse-scales). */
int ingot_quantize_ref_weighted(const ingot_format *f, const float *w, const float *col_weight, int64_t n_out,
                                int64_t n_in, int group_size, int variant, void *const parts[],
                                const char *tensor, ingot_error *err);

/**
 * Binds parts (in the order ingot_format_layout gives) to a weight matrix.
 * The parts must outlive w.  @return 0, or -1 with err (a layout error).
 */
int ingot_wmat_bind(ingot_wmat *w, const ingot_format *f, int64_t n_out, int64_t n_in,
                    int group_size, int variant, const void *const parts[], const char *tensor,
                    ingot_error *err);

/** Looks up a stored part by role: @return whether there is one, with *data and *bytes set. */
typedef bool (*ingot_part_lookup)(void *user, const char *role, const void **data,
                                  uint64_t *bytes);

/**
 * Binds stored parts, found by role, to a weight matrix.  The variant is
 * recognized by its first part that variant 0 does not have (nf4:
 * absmax_q means double quant), else it is variant 0; then every part of
 * that variant must be there with the size its layout gives.
 * @return 0, or -1 with err: a layout error ("<tensor>: <why>"), or
 *         INGOT_ERR_FORMAT "<file>: <tensor>: part <role> is missing" /
 *         "... has the wrong size".
 */
int ingot_wmat_bind_found(ingot_wmat *w, const ingot_format *f, int64_t n_out, int64_t n_in,
                          int group_size, ingot_part_lookup find, void *user, const char *file,
                          const char *tensor, ingot_error *err);

/**
 * A view of plain elements (n_out, n_in) of type t (bf16, f16, f32), without
 * checks (tests, benchmarks; fmt is NULL for a type that is no weight format).
 */
static inline ingot_wmat ingot_wmat_plain(ingot_dtype t, int n_out, int n_in, const void *data)
{
    ingot_wmat w = {.fmt = ingot_format_of(t), .type = t, .n_out = n_out, .n_in = n_in,
                    .n_parts = 1};
    w.part[INGOT_F_DATA] = data;
    return w;
}

/** Reference dequantization of rows [o0, o1) into out ((o1-o0), n_in) f32. */
void ingot_dequantize_ref(const ingot_wmat *w, int o0, int o1, float *out);

/** Elements [k0, k1) of row o into out (k1-k0); k0 and k1 even (or k1 == n_in). */
void ingot_dequantize_ref_part(const ingot_wmat *w, int o, int k0, int k1, float *out);

/* ---- the table entries (one file each) ---- */

extern const ingot_format ingot_format_bf16, ingot_format_f16, ingot_format_f32;
extern const ingot_format ingot_format_int8, ingot_format_nf4, ingot_format_int4;
/* int4's storage quantized by a least-squared-error search of each group's scale and zero
 * (quant_int4.c); ingot_format_of() never returns it: reading is int4's. */
extern const ingot_format ingot_format_int4_mse;
/* int5, int6 (quant_intb.c), and their storage quantized by the search (--mse-scales) */
extern const ingot_format ingot_format_int5, ingot_format_int6;
extern const ingot_format ingot_format_int5_mse, ingot_format_int6_mse;

/* ---- helpers for the quantizers ---- */

/* min/max for values that are never NaN (the quantizers check the input is
 * finite first; Inf from an overflowing ratio is fine).  Unlike fminf/fmaxf,
 * which GCC calls in libm without -ffast-math, these compile to minss/maxss
 * and vectorize. */
static inline float ingot_qminf(float a, float b)
{
    return a < b ? a : b;
}

static inline float ingot_qmaxf(float a, float b)
{
    return a > b ? a : b;
}

/* v clamped into [0, L] (the codes of int4/int5/int6). */
static inline float ingot_qclamp(float v, float L)
{
    return ingot_qminf(ingot_qmaxf(v, 0.0f), L);
}

/*
 * torch.round (half to even) of v, for results that are then clamped into
 * 0..L (L <= 255) after adding a zero of 0..L: v is first clamped to
 * [-256, 256] (integer bounds commute with rounding), where adding and
 * subtracting 1.5 * 2^23 rounds to an integer, ties to even, in the default
 * rounding mode -- nearbyintf without a libm call (baseline x86-64 has no
 * roundss).  Inf and huge ratios clamp first, so they are safe.
 */
static inline float ingot_qround_even(float v)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    v = ingot_qminf(ingot_qmaxf(v, -256.0f), 256.0f);
    return (v + magic) - magic;
}

/* Fills a part's dtype, ndim (d1 > 0: 2), shape and bytes. */
void ingot_wpart_set(ingot_wpart *p, ingot_dtype dt, int64_t d0, int64_t d1);

/* "(tensor)" for a NULL tensor name, for error messages. */
const char *ingot_format_tname(const char *tensor);

/* ---- format details shared by the reference and the kernels ---- */

/** The 16 NF4 values (bitsandbytes' nf4 code book), code 0 = -1.0, code 15 = 1.0. */
extern const float ingot_nf4_code[16];

/** bitsandbytes dQuantizeNF4: code of a value normalized to [-1, 1] (NaN -> 0). */
uint8_t ingot_nf4_quantize(float x);

/**
 * bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7,
 * total_bits=8): 256 sorted f32 values in [-0.99296874, 1.0].
 */
const float *ingot_dynamic_map(void);

/** bitsandbytes dQuantize<0> (non-stochastic): index in code of x. */
uint8_t ingot_dynamic_quantize(const float *code, float x);

/* int4 rows, for AWQ's search (quant/awq.c), which quantizes single groups */
void ingot_q4_quantize_row(const float *w, int64_t n_in, int group_size, uint8_t *qs,
                           uint16_t *scales, uint8_t *zeros);
void ingot_q4_quantize_row_mse(const float *w, int64_t n_in, int group_size, uint8_t *qs, uint16_t *scales,
                               uint8_t *zeros);
/* the search, its error weighted by c (n_in, >= 0) when c is not NULL (quant_search.c) */
void ingot_q4_quantize_row_wmse(const float *w, const float *c, int64_t n_in, int group_size, uint8_t *qs,
                                uint16_t *scales, uint8_t *zeros);
void ingot_q4_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out);
/* One int4 row (n_in, groups of g) held in the three arrays, as a wmat to dequantize. */
/* int5 (hb = 1) and int6 (hb = 2) rows: codes (n_in) -> qs (n_in/2), qh (n_in*hb/8), scales, zeros (n_in/G) */
void ingot_qb_quantize_row(const float *w, const float *c, int64_t n_in, int g, int hb, bool mse, uint8_t *qs,
                           uint8_t *qh, uint16_t *scales, uint8_t *zeros);
void ingot_qb_dequantize_row(const ingot_wmat *w, int o, int k0, int k1, float *out);
ingot_wmat ingot_q4_row_view(const uint8_t *qs, const uint16_t *scales, const uint8_t *zeros, int n_in, int g);
/*
 * The --mse-scales search of one group of g values w for codes 0..L
 * (quant_search.c): the f16 scale and the zero point of least squared error,
 * sum c (w - w')^2 (c NULL: all 1) over the min/max pair and scales of
 * f0 + k df (k = 0..n) times the min/max one.
 */
typedef struct ingot_qgrid {
    float f0, df;
    int n;
} ingot_qgrid;
void ingot_qgroup_search(const float *w, const float *c, int g, float L, const ingot_qgrid *grid,
                         uint16_t *scale, float *zero);
float ingot_qgroup_err(const float *w, const float *c, int g, float L, float s, float z);
/* f32 scale -> the f16 AutoAWQ would store, clamped into [2^-14, 65504]. */
uint16_t ingot_q4_scale_f16(float s);

/**
 * absmax of NF4 block b (b = o * n_in/64 + k/64), undoing double quant the
 * way bitsandbytes does: code[q] * absmax_absmax, rounded, then + offset,
 * rounded (two f32 operations, never fused: quant files build with
 * -ffp-contract=off).
 */
static inline float ingot_nf4_absmax(const ingot_wmat *w, int64_t b)
{
    if (!w->variant)
        return ((const float *)w->part[INGOT_NF4_ABSMAX])[b];
    const uint8_t *q = (const uint8_t *)w->part[INGOT_NF4_ABSMAX_Q];   // (nb)
    const float *aa = (const float *)w->part[INGOT_NF4_ABSMAX_ABSMAX]; // (ceil(nb/256))
    float off = *(const float *)w->part[INGOT_NF4_ABSMAX_OFFSET];      // (1)
    float v = ingot_dynamic_map()[q[b]] * aa[b / INGOT_NF4_DQ_BLOCK];
    return v + off;
}

/** Fills out[0 .. n_in/64) with the absmax of each block of row o. */
static inline void ingot_nf4_row_absmax(const ingot_wmat *w, int o, float *out)
{
    int64_t nb = w->n_in / INGOT_NF4_BLOCK, b0 = (int64_t)o * nb;
    if (!w->variant) {
        memcpy(out, (const float *)w->part[INGOT_NF4_ABSMAX] + b0, (size_t)nb * sizeof(float));
        return;
    }
    const float *code = ingot_dynamic_map();
    const uint8_t *q = (const uint8_t *)w->part[INGOT_NF4_ABSMAX_Q];   // (nb)
    const float *aa = (const float *)w->part[INGOT_NF4_ABSMAX_ABSMAX]; // (ceil(nb/256))
    float off = *(const float *)w->part[INGOT_NF4_ABSMAX_OFFSET];      // (1)
    for (int64_t j = 0; j < nb; j++) {
        float v = code[q[b0 + j]] * aa[(b0 + j) / INGOT_NF4_DQ_BLOCK];
        out[j] = v + off;
    }
}

#ifdef __cplusplus
}
#endif

#endif /* INGOT_FORMATS_H */
