/*
 * quantize.c - ingot_quantize: an .ingot artifact (or a HuggingFace
 * checkpoint, converted first) to a quantized .ingot artifact.
 *
 *   1. open the input as a model (a checkpoint directory is converted into
 *      a temporary file beside the output, unlinked as soon as it is
 *      mapped), refuse already-quantized inputs;
 *   2. plan every output tensor's type and check the layouts (a group size
 *      that does not divide a tensor is an error naming it) before any
 *      output exists;
 *   3. check every input tensor: checksum, and no NaN/Inf;
 *   4. produce each tensor in canonical order into an unlinked spool file
 *      (quantized parts, converted or AWQ-rescaled tensors), hashing as it
 *      goes; awq4 runs AWQ layer by layer as the layers come;
 *   5. write the archive (manifest first, with every checksum) to a
 *      temporary file and rename it into place.
 * The spool keeps memory bounded without quantizing twice (AWQ is far too
 * slow to run twice the way convert streams twice).  Tensors that keep
 * their input type and values are copied from the input's mapping.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "convert/plan.h"
#include "model/tensor_map.h"
#include "quant/awq.h"
#include "quant/bitalloc.h"
#include "quant/sensitivity.h"
#include "formats/formats.h"
#include "quant/quantize.h"
#include "artifact/artifact.h"
#include "runtime/model.h"
#include "util/util.h"

#define NO_SPOOL UINT64_MAX
#define MAX_GROUP 65536
#define WRITE_CHUNK ((size_t)1 << 22)

typedef struct out_part {
    char role[16];
    ingot_dtype dtype;
    uint64_t bytes, xxh3;
    uint64_t spool_off;  /* offset in the spool, or NO_SPOOL: copied from src */
    const uint8_t *src;  /* the input's bytes, when copied */
} out_part;

typedef struct out_tensor {
    const ingot_tensor_spec *spec; /* canonical name and shape */
    const ingot_tensor *src;       /* input tensor (the embedding for an untied output.weight) */
    ingot_dtype type;              /* output type */
    int group;                     /* int4 group size (--target-bpw picks it per tensor) */
    float *colw;                   /* (n_in) importance of each input (--target-bpw), or NULL */
    int n_parts;
    out_part parts[INGOT_MAX_PARTS];
} out_tensor;

/* The phases the summary times; AWQ's own phases are split out of "quantize". */
enum { PH_READ, PH_CALIB_TEXT, PH_ALLOCATE, PH_QUANTIZE, PH_WRITE, N_PHASES };

typedef struct qz {
    const ingot_quantize_options *o;
    const char *in_path, *out_path;
    bool from_hf;
    ingot_plan *hf_plan;           /* checkpoint input: its files must not be overwritten */
    ingot_model *m;
    const ingot_artifact *art;
    ingot_config cfg;              /* output config */
    ingot_tensor_spec *specs;
    int n;
    out_tensor *t;
    ingot_dtype qtype;             /* storage type of the linears */
    int group;                     /* int4 group size */
    int spool_fd;
    uint64_t spool_size;
    uint8_t *spool_map;
    ingot_calib calib;
    ingot_awq *awq;
    json_t *alloc;                 /* --target-bpw: what was measured and chosen */
    char in_sha256[65];
    uint64_t in_bytes;
    uint64_t done, total;          /* progress of the current stage */
    double secs[N_PHASES];         /* wall time of each phase (summary) */
} qz;

static const char *const type_names[] = {"int8", "nf4", "int4", "awq4"};

const char *ingot_quant_type_name(ingot_quant_type t)
{
    return (unsigned)t < INGOT_ARRAY_LEN(type_names) ? type_names[t] : NULL;
}

int ingot_quant_type_from_name(const char *s)
{
    for (size_t i = 0; s && i < INGOT_ARRAY_LEN(type_names); i++)
        if (!strcmp(s, type_names[i]))
            return (int)i;
    return -1;
}

void ingot_quantize_options_init(ingot_quantize_options *o)
{
    memset(o, 0, sizeof *o);
    o->type = INGOT_QUANT_INT8;
    o->embed_type = -1;
    o->head_type = -1;
}

bool ingot_quantize_kept(const char *const *keep, const char *name)
{
    for (int i = 0; keep && keep[i]; i++)
        if (fnmatch(keep[i], name, 0) == 0)
            return true;
    return false;
}

static bool quantized(ingot_dtype t)
{
    return ingot_format_quantized(t);
}

/* A weight format that is not quantized: bf16, f16 or f32. */
static bool plain_float(ingot_dtype t)
{
    const ingot_format *f = ingot_format_of(t);
    return f && !f->quantized;
}

/* The variant of format f the options ask for: --double-quant picks a
 * "double-quant" variant where the format has one (nf4). */
static int variant_of(const ingot_quantize_options *o, const ingot_format *f)
{
    for (int v = 1; o->double_quant && v < f->n_variants; v++)
        if (strcmp(f->variants[v].name, "double-quant") == 0)
            return v;
    return 0;
}

static bool interrupted(const qz *q)
{
    return q->o->cancel && *q->o->cancel;
}

static void progress(qz *q, const char *stage, uint64_t add)
{
    q->done += add;
    if (q->o->progress)
        q->o->progress(q->o->progress_user, stage, q->done, q->total);
}

/* ------------------------------------------------------------ options */

static int check_type_opt(int t, const char *what, ingot_error *err)
{
    if (t == -1 || ingot_format_of((ingot_dtype)t))
        return 0;
    char names[256] = "";
    for (int i = 0; ingot_format_at(i); i++) /* "a, b or c" */
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 i == 0 ? "" : ingot_format_at(i + 1) ? ", " : " or ", ingot_format_at(i)->name);
    return ingot_fail(err, INGOT_ERR_ARG, "%s: not a weight type (%s)", what, names);
}

static int check_options(const ingot_quantize_options *o, ingot_error *err)
{
    if (!ingot_quant_type_name(o->type))
        return ingot_fail(err, INGOT_ERR_ARG, "quantize: unknown type %d", (int)o->type);
    if (o->group_size < 0 || o->group_size > MAX_GROUP || o->group_size % INGOT_Q4_GROUP_ALIGN)
        return ingot_fail(err, INGOT_ERR_ARG, "group size %d: must be a multiple of %d up to %d",
                          o->group_size, INGOT_Q4_GROUP_ALIGN, MAX_GROUP);
    if (o->type == INGOT_QUANT_AWQ4 && !o->calib_path)
        return ingot_fail(err, INGOT_ERR_ARG, "awq4 needs a calibration text");
    if (o->calib_samples < 0 || o->calib_len < 0 || o->loss_samples < 0)
        return ingot_fail(err, INGOT_ERR_ARG, "calibration sizes must not be negative");
    if (o->target_bpw < 0 || o->target_bpw > 32 || o->target_bpw != o->target_bpw)
        return ingot_fail(err, INGOT_ERR_ARG, "target bits per weight %g: must be in (0, 32]", o->target_bpw);
    if (o->target_bpw > 0 && o->type != INGOT_QUANT_INT4)
        return ingot_fail(err, INGOT_ERR_ARG, "a target bits per weight needs type int4, not %s",
                          ingot_quant_type_name(o->type));
    if (o->target_measure < INGOT_MEASURE_AUTO || o->target_measure > INGOT_MEASURE_PROXY)
        return ingot_fail(err, INGOT_ERR_ARG, "target measure %d: not auto, exact or proxy", o->target_measure);
    if (o->target_bpw > 0 && !o->calib_path)
        return ingot_fail(err, INGOT_ERR_ARG, "a target bits per weight needs a calibration text");
    if (check_type_opt(o->embed_type, "embedding type", err) ||
        check_type_opt(o->head_type, "head type", err))
        return -1;
    return 0;
}

/* ------------------------------------------------------------ 1. input */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* A placeholder name beside the output for the converted checkpoint. */
static char *reserve_tmp(const char *out_path, ingot_error *err)
{
    char *dir = dir_of(out_path);
    const char *base = strrchr(out_path, '/') ? strrchr(out_path, '/') + 1 : out_path;
    size_t n = (dir ? strlen(dir) : 0) + strlen(base) + 32;
    char *tmp = dir ? malloc(n) : NULL;
    if (!tmp) {
        free(dir);
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(tmp, n, "%s/.%s.src.XXXXXX", dir, base);
    free(dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ingot_fail(err, INGOT_ERR_IO, "%s: cannot create a file in its directory: %s", out_path,
                   strerror(errno));
        free(tmp);
        return NULL;
    }
    close(fd);
    return tmp;
}

/* Converts the checkpoint, maps it as a model, and unlinks it at once. */
static int open_checkpoint(qz *q, ingot_error *err)
{
    q->from_hf = true;
    if (!(q->hf_plan = ingot_plan_build(q->in_path, -1, false, err)))
        return -1;
    char *tmp = reserve_tmp(q->out_path, err);
    if (!tmp)
        return -1;
    ingot_convert_options co;
    ingot_convert_options_init(&co);
    co.mtime = q->o->mtime;
    co.progress = q->o->progress;
    co.progress_user = q->o->progress_user;
    co.cancel = q->o->cancel;
    int rc = ingot_convert(q->in_path, tmp, &co, NULL, err);
    size_t tl = strlen(tmp);
    if (rc != 0 && err && !strncmp(err->message, tmp, tl) && err->message[tl] == ':') {
        /* the temporary name means nothing to the user: name the output */
        char rest[sizeof err->message];
        snprintf(rest, sizeof rest, "%s", err->message + tl + 2);
        ingot_fail(err, err->code, "%s: %s", q->out_path, rest);
    }
    if (rc == 0 && !(q->m = ingot_model_open(tmp, err)))
        rc = -1;
    unlink(tmp); /* the mapping stays valid; nothing is left behind whatever happens next */
    free(tmp);
    return rc;
}

static int open_input(qz *q, ingot_error *err)
{
    struct stat st;
    if (stat(q->in_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (open_checkpoint(q, err) != 0)
            return -1;
    } else {
        if (!(q->m = ingot_model_open(q->in_path, err)))
            return -1;
        if (ingot_sha256_file(q->in_path, q->in_sha256, err) != 0)
            return -1;
        q->in_bytes = (uint64_t)st.st_size;
    }
    q->art = ingot_model_artifact(q->m);
    for (int i = 0; i < q->art->n_tensors; i++)
        if (quantized(q->art->tensors[i].type))
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                              "%s: tensor %s is already quantized (%s); quantize a float artifact",
                              q->in_path, q->art->tensors[i].name,
                              ingot_dtype_name(q->art->tensors[i].type));
    return 0;
}

/* ------------------------------------------------------------ 2. plan */

static ingot_dtype storage_type(ingot_quant_type t)
{
    return t == INGOT_QUANT_INT8 ? INGOT_DT_Q8 : t == INGOT_QUANT_NF4 ? INGOT_DT_NF4 : INGOT_DT_Q4;
}

static ingot_dtype choose_type(const qz *q, const ingot_tensor_spec *s, const ingot_tensor *src)
{
    if (ingot_quantize_kept(q->o->keep, s->name))
        return src->type;
    switch (s->kind) {
    case INGOT_TK_LINEAR: return q->qtype;
    case INGOT_TK_EMBED: return q->o->embed_type >= 0 ? (ingot_dtype)q->o->embed_type : src->type;
    case INGOT_TK_HEAD: return q->o->head_type >= 0 ? (ingot_dtype)q->o->head_type : src->type;
    default: return src->type;
    }
}

/* Sets the parts a tensor of type t will have (sizes only). */
static int plan_parts(qz *q, out_tensor *ot, ingot_error *err)
{
    const ingot_tensor_spec *s = ot->spec;
    if (!quantized(ot->type)) {
        ot->n_parts = 1;
        snprintf(ot->parts[0].role, sizeof ot->parts[0].role, "data");
        ot->parts[0].dtype = ot->type;
        ot->parts[0].bytes = (uint64_t)ingot_tensor_spec_numel(s) * ingot_dtype_size(ot->type);
        return 0;
    }
    if (s->ndim != 2)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: a vector cannot be quantized", s->name);
    const ingot_format *f = ingot_format_of(ot->type);
    ingot_wlayout lay;
    if (ingot_format_layout(f, s->shape[0], s->shape[1], ot->group, variant_of(q->o, f), &lay,
                            s->name, err) != 0)
        return -1;
    ot->n_parts = lay.n;
    for (int i = 0; i < lay.n; i++) {
        snprintf(ot->parts[i].role, sizeof ot->parts[i].role, "%s", lay.p[i].role);
        ot->parts[i].dtype = lay.p[i].dtype;
        ot->parts[i].bytes = lay.p[i].bytes;
    }
    return 0;
}

static int plan(qz *q, ingot_error *err)
{
    q->cfg = q->m->cfg;
    /* A tied model with its own head type gets a separate output.weight. */
    if (q->cfg.tied_embeddings && q->o->head_type >= 0 &&
        !ingot_quantize_kept(q->o->keep, "output.weight"))
        q->cfg.tied_embeddings = false;
    if (ingot_tensor_specs(&q->cfg, &q->specs, &q->n, err) != 0)
        return -1;
    if (!(q->t = calloc((size_t)q->n, sizeof *q->t)))
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < q->n; i++) {
        out_tensor *ot = &q->t[i];
        ot->spec = &q->specs[i];
        bool untied_head = ot->spec->kind == INGOT_TK_HEAD && q->m->cfg.tied_embeddings;
        ot->src = ingot_artifact_find(q->art, untied_head ? "token_embd.weight" : ot->spec->name);
        if (!ot->src) /* ingot_model_open checked the canonical list */
            return ingot_fail(err, INGOT_ERR_SHAPE, "%s: tensor %s: missing", q->in_path, ot->spec->name);
        ot->type = choose_type(q, ot->spec, ot->src);
        ot->group = q->group;
        if (plan_parts(q, ot, err) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ 3. input check */

/* A float input tensor as rows of its format: a matrix's rows, a vector as one row. */
static int src_view(const qz *q, const ingot_tensor *t, ingot_wmat *w, ingot_error *err)
{
    int64_t rows, cols;
    ingot_tensor_rows(t, &rows, &cols);
    return ingot_tensor_bind(t, ingot_format_of(t->type), rows, cols, q->in_path, w, err);
}

static int check_values(const qz *q, const ingot_tensor *t, ingot_error *err)
{
    ingot_wmat w;
    if (src_view(q, t, &w, err) != 0)
        return -1;
    float *row = malloc((size_t)w.n_in * sizeof(float));
    if (!row)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", t->name);
    int rc = 0;
    for (int r = 0; rc == 0 && r < w.n_out; r++) {
        ingot_dequantize_ref(&w, r, r + 1, row);
        for (int k = 0; k < w.n_in; k++) {
            if (isfinite(row[k]))
                continue;
            uint64_t i = (uint64_t)r * (uint64_t)w.n_in + (uint64_t)k;
            rc = ingot_fail(err, INGOT_ERR_NONFINITE, "%s: tensor %s: %s at element %llu", q->in_path,
                            t->name, isnan(row[k]) ? "NaN" : "Inf", (unsigned long long)i);
            break;
        }
    }
    free(row);
    return rc;
}

/* Every input tensor the output uses: its checksum, and finite values. */
static int check_input(qz *q, ingot_error *err)
{
    q->done = 0;
    q->total = 0;
    for (int i = 0; i < q->n; i++)
        q->total += q->t[i].src->parts[0].size;
    for (int i = 0; i < q->n; i++) {
        const ingot_tensor *t = q->t[i].src;
        if (interrupted(q))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        const ingot_part *p = &t->parts[0];
        if (XXH3_64bits(p->data, p->size) != p->xxh3)
            return ingot_fail(err, INGOT_ERR_CHECKSUM, "%s: tensor %s: checksum mismatch (corrupted input)",
                              q->in_path, t->name);
        if (!plain_float(t->type) || t->n_parts != 1)
            return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: tensor %s: type %s cannot be quantized",
                              q->in_path, t->name, ingot_dtype_name(t->type));
        if (check_values(q, t, err) != 0)
            return -1;
        progress(q, "checking", p->size);
    }
    return 0;
}

/* ------------------------------------------------------------ spool */

/* An unlinked temporary file beside the output: nothing can be left behind. */
static int spool_open(qz *q, ingot_error *err)
{
    char *dir = dir_of(q->out_path);
    if (!dir)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    q->spool_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (q->spool_fd < 0) { /* no O_TMPFILE on this file system */
        size_t n = strlen(dir) + 32;
        char *tmp = malloc(n);
        if (tmp) {
            snprintf(tmp, n, "%s/.ingot-spool.XXXXXX", dir);
            q->spool_fd = mkostemp(tmp, O_CLOEXEC);
            if (q->spool_fd >= 0)
                unlink(tmp);
        }
        free(tmp);
    }
    free(dir);
    if (q->spool_fd < 0)
        return ingot_fail(err, INGOT_ERR_IO, "%s: cannot create a temporary file in its directory: %s",
                          q->out_path, strerror(errno));
    return 0;
}

static int spool_write(qz *q, out_part *p, const void *data, ingot_error *err)
{
    const uint8_t *b = data;
    uint64_t left = p->bytes;
    p->spool_off = q->spool_size;
    p->xxh3 = XXH3_64bits(data, p->bytes);
    while (left > 0) {
        ssize_t w = write(q->spool_fd, b, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ingot_fail(err, INGOT_ERR_IO, "%s: %s", q->out_path, w < 0 ? strerror(errno) : "write failed");
        b += w;
        left -= (uint64_t)w;
    }
    q->spool_size += p->bytes;
    return 0;
}

static void spool_close(qz *q)
{
    if (q->spool_map)
        munmap(q->spool_map, q->spool_size);
    if (q->spool_fd >= 0)
        close(q->spool_fd);
}

/* ------------------------------------------------------------ 4. produce */

/* The input tensor as f32 (n_out rows of n_in, or one vector).  Caller frees. */
static float *load_f32(const qz *q, const out_tensor *ot, ingot_error *err)
{
    const ingot_tensor *t = ot->src;
    uint64_t n = (uint64_t)ingot_tensor_spec_numel(ot->spec);
    ingot_wmat w;
    if (src_view(q, t, &w, err) != 0)
        return NULL;
    float *v = malloc((size_t)n * sizeof(float));
    if (!v) {
        ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", t->name);
        return NULL;
    }
#pragma omp parallel for schedule(static)
    for (int r = 0; r < w.n_out; r++)
        ingot_dequantize_ref(&w, r, r + 1, v + (size_t)r * (size_t)w.n_in);
    return v;
}

/* Plain output types: f32 / f16 / bf16; a finite value f16 cannot hold is an error. */
static int store_plain(qz *q, out_tensor *ot, const float *v, ingot_error *err)
{
    uint64_t n = (uint64_t)ingot_tensor_spec_numel(ot->spec);
    if (ot->type == INGOT_DT_F32)
        return spool_write(q, &ot->parts[0], v, err);
    uint16_t *h = malloc((size_t)n * 2);
    if (!h)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", ot->spec->name);
    for (uint64_t i = 0; i < n; i++) {
        h[i] = ot->type == INGOT_DT_F16 ? ingot_f32_to_f16(v[i]) : ingot_f32_to_bf16(v[i]);
        float back = ot->type == INGOT_DT_F16 ? ingot_f16_to_f32(h[i]) : ingot_bf16_to_f32(h[i]);
        if (!isfinite(back)) {
            free(h);
            return ingot_fail(err, INGOT_ERR_NONFINITE, "%s: value %g at element %llu overflows %s",
                              ot->spec->name, (double)v[i], (unsigned long long)i,
                              ingot_dtype_name(ot->type));
        }
    }
    int rc = spool_write(q, &ot->parts[0], h, err);
    free(h);
    return rc;
}

/* The quantizer of format f: --mse-scales picks the search for the int4/5/6
 * storage, and --target-bpw always does (there the search weighs each input
 * by its importance on the calibration text, ot->colw). */
static const ingot_format *quantizer(const qz *q, const ingot_format *f)
{
    if (!q->o->mse_scales && !(q->o->target_bpw > 0))
        return f;
    return f == &ingot_format_int4 ? &ingot_format_int4_mse
           : f == &ingot_format_int5 ? &ingot_format_int5_mse
           : f == &ingot_format_int6 ? &ingot_format_int6_mse
                                     : f;
}

static int store_quantized(qz *q, out_tensor *ot, const float *v, ingot_error *err)
{
    uint64_t total = 0;
    for (int i = 0; i < ot->n_parts; i++)
        total += ot->parts[i].bytes;
    uint8_t *buf = malloc((size_t)total);
    if (!buf)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", ot->spec->name);
    void *parts[INGOT_MAX_PARTS];
    uint64_t off = 0;
    for (int i = 0; i < ot->n_parts; off += ot->parts[i].bytes, i++)
        parts[i] = buf + off;
    const ingot_format *f = ingot_format_of(ot->type), *qf = quantizer(q, f);
    int rc = ingot_quantize_ref_weighted(qf, v, ot->colw, ot->spec->shape[0], ot->spec->shape[1], ot->group,
                                         variant_of(q->o, f), parts, ot->spec->name, err);
    for (int i = 0; rc == 0 && i < ot->n_parts; i++)
        rc = spool_write(q, &ot->parts[i], parts[i], err);
    free(buf);
    return rc;
}

static void copy_parts(out_tensor *ot)
{
    const ingot_tensor *t = ot->src;
    ot->n_parts = t->n_parts;
    for (int i = 0; i < t->n_parts; i++) {
        out_part *p = &ot->parts[i];
        snprintf(p->role, sizeof p->role, "%s", t->parts[i].role);
        p->dtype = t->parts[i].dtype;
        p->bytes = t->parts[i].size;
        p->xxh3 = t->parts[i].xxh3; /* checked by check_input */
        p->spool_off = NO_SPOOL;
        p->src = t->parts[i].data;
    }
}

/* One tensor: copied, or converted / quantized from f32 values into the spool. */
static int produce_tensor(qz *q, out_tensor *ot, ingot_error *err)
{
    const float *mod = q->awq ? ingot_awq_tensor(q->awq, ot->spec->name) : NULL;
    if (!mod && ot->type == ot->src->type) {
        copy_parts(ot);
        return 0;
    }
    if (mod && !quantized(ot->type)) { /* rescaled by AWQ: stored exactly */
        ot->type = INGOT_DT_F32;
        if (plan_parts(q, ot, err) != 0)
            return -1;
    }
    float *own = mod ? NULL : load_f32(q, ot, err);
    if (!mod && !own)
        return -1;
    const float *v = mod ? mod : own;
    int rc = quantized(ot->type) ? store_quantized(q, ot, v, err) : store_plain(q, ot, v, err);
    free(own);
    return rc;
}

static int produce(qz *q, ingot_error *err)
{
    q->done = 0;
    q->total = 0;
    for (int i = 0; i < q->n; i++)
        q->total += q->t[i].src->parts[0].size;
    int layer_done = -1;
    for (int i = 0; i < q->n; i++) {
        out_tensor *ot = &q->t[i];
        if (interrupted(q))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        if (q->awq && ot->spec->layer > layer_done) {
            layer_done = ot->spec->layer;
            if (ingot_awq_layer(q->awq, layer_done, err) != 0)
                return -1;
        }
        if (produce_tensor(q, ot, err) != 0)
            return -1;
        ingot_release_pages(ot->src->parts[0].data, ot->src->parts[0].size);
        if (!q->awq)
            progress(q, "quantizing", ot->src->parts[0].size);
    }
    return 0;
}

/* ------------------------------------------------------------ 2b. --target-bpw */

/* The formats --target-bpw chooses from, smallest first; the tensor as stored is the last. */
static const struct {
    ingot_dtype type;
    int group;
} alloc_formats[] = {{INGOT_DT_Q4, 128}, {INGOT_DT_Q4, 64}, {INGOT_DT_Q4, 32}, {INGOT_DT_Q5, 128},
                     {INGOT_DT_Q5, 64},  {INGOT_DT_Q5, 32}, {INGOT_DT_Q6, 128}, {INGOT_DT_Q6, 64},
                     {INGOT_DT_Q8, 0}};


static int omp_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static bool allocatable(const qz *q, const out_tensor *ot)
{
    const ingot_tensor_spec *s = ot->spec;
    if (ingot_quantize_kept(q->o->keep, s->name))
        return false;
    return s->kind == INGOT_TK_LINEAR || (s->kind == INGOT_TK_EMBED && q->o->embed_type < 0) ||
           (s->kind == INGOT_TK_HEAD && q->o->head_type < 0);
}

static uint64_t planned_bytes(const out_tensor *ot)
{
    uint64_t b = 0;
    for (int k = 0; k < ot->n_parts; k++)
        b += ot->parts[k].bytes;
    return b;
}

/* The candidates of one tensor: every format of alloc_formats its shape allows, then as stored. */
static void alloc_candidates(const qz *q, const out_tensor *ot, ingot_alloc_item *it)
{
    const ingot_tensor_spec *s = ot->spec;
    it->name = s->name;
    it->n_cand = 0;
    for (size_t i = 0; i < INGOT_ARRAY_LEN(alloc_formats); i++) {
        ingot_wlayout lay;
        ingot_error ignore;
        const ingot_format *f = ingot_format_of(alloc_formats[i].type);
        if (ingot_format_layout(f, s->shape[0], s->shape[1], alloc_formats[i].group, 0, &lay, s->name,
                                &ignore) != 0)
            continue; /* e.g. a group that does not divide the row */
        ingot_qcand *c = &it->cand[it->n_cand++];
        *c = (ingot_qcand){.type = f->type, .group = alloc_formats[i].group};
        for (int k = 0; k < lay.n; k++)
            c->bytes += lay.p[k].bytes;
    }
    uint64_t stored = 0;
    for (int k = 0; k < ot->src->n_parts; k++)
        stored += ot->src->parts[k].size;
    it->cand[it->n_cand++] = (ingot_qcand){.type = ot->src->type, .bytes = stored};
}

/* ot->colw: the importance of each input on the calibration text, which
 * the search quantizers (--mse-scales) weigh their squared error by, in the
 * measurements and in the artifact alike (NULL for an untied embedding). */
static int col_weights(const ingot_sens *sens, out_tensor *ot, ingot_error *err)
{
    int n_in = (int)ot->spec->shape[1];
    ot->colw = malloc((size_t)n_in * sizeof *ot->colw);
    if (!ot->colw)
        return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", ot->spec->name);
    int rc = ingot_sens_col_weights(sens, ot->spec->name, n_in, ot->colw, err);
    if (rc != 1) {
        free(ot->colw);
        ot->colw = NULL;
    }
    return rc < 0 ? -1 : 0;
}

/* Proxy measurement: the first candidate's divergence, measured, scales the
 * others' activation-weighted squared errors (each candidate's .kld holds
 * its error until then). */
static void alloc_scale_proxy(ingot_alloc_item *it, double kld0)
{
    double e0 = it->cand[0].kld;
    for (int c = 0; c < it->n_cand - 1; c++)
        it->cand[c].kld = e0 > 0 ? kld0 * it->cand[c].kld / e0 : 0;
}

/* Measures the divergence of every quantized candidate of one tensor
 * (proxy: of the first, the others scaled by alloc_scale_proxy). */
static int alloc_measure(qz *q, ingot_sens *sens, out_tensor *ot, ingot_alloc_item *it, bool proxy,
                         ingot_error *err)
{
    double kld0 = 0;
    const ingot_tensor_spec *s = ot->spec;
    float *w = load_f32(q, ot, err);
    if (w && col_weights(sens, ot, err) != 0) {
        free(w);
        return -1;
    }
    uint64_t most = 0;
    for (int c = 0; c < it->n_cand; c++)
        most = it->cand[c].bytes > most ? it->cand[c].bytes : most;
    uint8_t *buf = w ? malloc((size_t)most) : NULL;
    int rc = w && buf ? 0 : w ? ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", s->name) : -1;
    for (int c = 0; rc == 0 && c < it->n_cand - 1; c++) {
        ingot_qcand *k = &it->cand[c];
        const ingot_format *f = ingot_format_of(k->type), *qf = quantizer(q, f);
        ingot_wlayout lay;
        void *parts[INGOT_WMAT_MAX_PARTS];
        ingot_wmat view;
        rc = ingot_format_layout(f, s->shape[0], s->shape[1], k->group, 0, &lay, s->name, err);
        for (int p = 0, off = 0; rc == 0 && p < lay.n; off += (int)lay.p[p].bytes, p++)
            parts[p] = buf + off;
        if (rc == 0)
            rc = ingot_quantize_ref_weighted(qf, w, ot->colw, s->shape[0], s->shape[1], k->group, 0, parts,
                                             s->name, err);
        if (rc == 0)
            rc = ingot_wmat_bind(&view, f, s->shape[0], s->shape[1], k->group, 0,
                                 (const void *const *)parts, s->name, err);
        if (rc == 0 && proxy)
            rc = ingot_sens_weighted_err(sens, s->name, w, &view, &k->kld, err);
        if (rc == 0 && (!proxy || c == 0))
            rc = ingot_sens_kld(sens, s->name, &view, proxy ? &kld0 : &k->kld, err);
        progress(q, "measuring", 1);
        if (rc == 0 && interrupted(q))
            rc = ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
    }
    if (rc == 0 && proxy)
        alloc_scale_proxy(it, kld0);
    free(buf);
    free(w);
    return rc;
}

static json_t *alloc_json(const qz *q, const ingot_alloc_item *items, int n, uint64_t params,
                          uint64_t bytes, int scored, bool proxy)
{
    json_t *tensors = json_array();
    double total = 0;
    for (int i = 0; i < n; i++) {
        json_t *cands = json_array();
        for (int c = 0; c < items[i].n_cand; c++) {
            const ingot_qcand *k = &items[i].cand[c];
            json_array_append_new(cands, json_pack("{s:s,s:i,s:I,s:f}", "type", ingot_dtype_name(k->type),
                                                   "group_size", k->group, "bytes", (json_int_t)k->bytes,
                                                   "kld", k->kld));
        }
        const ingot_qcand *ch = &items[i].cand[items[i].choice];
        total += ch->kld;
        json_array_append_new(tensors, json_pack("{s:s,s:s,s:i,s:f,s:o}", "name", items[i].name, "type",
                                                 ingot_dtype_name(ch->type), "group_size", ch->group,
                                                 "kld", ch->kld, "candidates", cands));
    }
    return json_pack("{s:f,s:f,s:f,s:s,s:i,s:i,s:i,s:o}", "target_bpw", q->o->target_bpw, "bits_per_weight",
                     8.0 * (double)bytes / (double)params, "predicted_kld", total, "measure",
                     proxy ? "proxy" : "exact", "samples", q->calib.n, "length", q->calib.len,
                     "scored_tokens", scored, "tensors", tensors);
}

/* Applies the choices: each allocated tensor's type and group, and its parts. */
static int alloc_apply(qz *q, const ingot_alloc_item *items, const int *which, int n, ingot_error *err)
{
    for (int i = 0; i < n; i++) {
        out_tensor *ot = &q->t[which[i]];
        const ingot_qcand *ch = &items[i].cand[items[i].choice];
        ot->type = ch->type;
        ot->group = ch->group ? ch->group : q->group;
        if (plan_parts(q, ot, err) != 0)
            return -1;
    }
    return 0;
}

/*
 * --target-bpw: measures what each candidate format of each weight matrix
 * costs (quant/sensitivity.c), then picks the formats (quant/bitalloc.c)
 * so that the whole artifact, every tensor counted, fits the bits.
 */
static int allocate(qz *q, ingot_error *err)
{
    const ingot_quantize_options *o = q->o;
    int ns = o->calib_samples ? o->calib_samples : INGOT_SENS_DEFAULT_SAMPLES;
    int len = o->calib_len ? o->calib_len : INGOT_SENS_DEFAULT_LEN;
    len = len > q->m->cfg.max_pos ? q->m->cfg.max_pos : len;
    if (ingot_calib_load(q->m, o->calib_path, ns, len, &q->calib, err) != 0)
        return -1;
    ingot_alloc_item *items = calloc((size_t)q->n, sizeof *items);
    int *which = calloc((size_t)q->n, sizeof *which), n = 0;
    uint64_t params = 0, fixed = 0, used = 0;
    if (!items || !which) {
        free(items), free(which);
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    }
    q->done = q->total = 0;
    for (int i = 0; i < q->n; i++) {
        params += (uint64_t)ingot_tensor_spec_numel(q->t[i].spec);
        if (!allocatable(q, &q->t[i])) {
            fixed += planned_bytes(&q->t[i]);
            continue;
        }
        which[n] = i;
        alloc_candidates(q, &q->t[i], &items[n]);
        q->total += (uint64_t)items[n].n_cand - 1;
        n++;
    }
    bool proxy = o->target_measure == INGOT_MEASURE_PROXY ||
                 (o->target_measure == INGOT_MEASURE_AUTO && params > INGOT_MEASURE_EXACT_MAX_PARAMS);
    ingot_sens *sens = ingot_sens_create(q->m, &q->calib, omp_threads(), err);
    int rc = sens ? 0 : -1;
    for (int i = 0; rc == 0 && i < n; i++)
        rc = alloc_measure(q, sens, &q->t[which[i]], &items[i], proxy, err);
    uint64_t budget = (uint64_t)floor(o->target_bpw * (double)params / 8.0), least = fixed;
    for (int i = 0; i < n; i++) {
        uint64_t small = items[i].cand[0].bytes;
        for (int c = 1; c < items[i].n_cand; c++)
            small = items[i].cand[c].bytes < small ? items[i].cand[c].bytes : small;
        least += small;
    }
    if (rc == 0 && budget < least)
        rc = ingot_fail(err, INGOT_ERR_ARG, "target of %g bits per weight: the smallest this model can be "
                        "is %.3f bits per weight", o->target_bpw, 8.0 * (double)least / (double)params);
    if (rc == 0)
        rc = ingot_bitalloc(items, n, budget - fixed, &used, err);
    if (rc == 0)
        rc = alloc_apply(q, items, which, n, err);
    if (rc == 0 && !(q->alloc = alloc_json(q, items, n, params, used + fixed, ingot_sens_scored(sens), proxy)))
        rc = ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    ingot_sens_free(sens);
    free(items);
    free(which);
    return rc;
}

static int start_awq(qz *q, ingot_error *err)
{
    const ingot_quantize_options *o = q->o;
    int n = o->calib_samples ? o->calib_samples : INGOT_AWQ_DEFAULT_SAMPLES;
    int len = o->calib_len ? o->calib_len : INGOT_AWQ_DEFAULT_LEN;
    if (len > q->m->cfg.max_pos)
        return ingot_fail(err, INGOT_ERR_ARG, "calibration length %d: the model supports %d positions",
                          len, q->m->cfg.max_pos);
    if (ingot_calib_load(q->m, o->calib_path, n, len, &q->calib, err) != 0)
        return -1;
    ingot_awq_params p;
    memset(&p, 0, sizeof p);
    p.group_size = q->group;
    p.loss_samples = o->loss_samples ? o->loss_samples : INGOT_AWQ_DEFAULT_LOSS_SAMPLES;
    p.mse_scales = o->mse_scales != 0;
    p.keep = o->keep;
    p.cancel = o->cancel;
    p.progress = o->progress;
    p.progress_user = o->progress_user;
    q->awq = ingot_awq_create(q->m, &q->calib, &p, err);
    return q->awq ? 0 : -1;
}

/* ------------------------------------------------------------ 5. manifest */

static void member_name(const out_tensor *ot, int i, char *buf, size_t len)
{
    if (quantized(ot->type))
        snprintf(buf, len, "tensors/%s.%s", ot->spec->name, ot->parts[i].role);
    else
        snprintf(buf, len, "tensors/%s", ot->spec->name);
}

/* The "source" the input manifest gives for tensor name, or NULL. */
static const char *input_source(const qz *q, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(q->art->manifest, "tensors"), i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && !strcmp(n, name))
            return json_string_value(json_object_get(t, "source"));
    }
    return NULL;
}

static json_t *tensor_json(const qz *q, const out_tensor *ot)
{
    json_t *shape = json_array(), *parts = json_array();
    for (int d = 0; d < ot->spec->ndim; d++)
        json_array_append_new(shape, json_integer(ot->spec->shape[d]));
    for (int i = 0; i < ot->n_parts; i++) {
        char member[256], hex[17];
        member_name(ot, i, member, sizeof member);
        ingot_xxh3_hex(ot->parts[i].xxh3, hex);
        json_array_append_new(parts, json_pack("{s:s,s:s,s:s,s:I,s:s}", "role", ot->parts[i].role,
                                               "member", member, "dtype",
                                               ingot_dtype_name(ot->parts[i].dtype), "bytes",
                                               (json_int_t)ot->parts[i].bytes, "xxh3", hex));
    }
    const ingot_format *f = ingot_format_of(ot->type);
    int gs = f && f->group_param ? ot->group : 0;
    json_t *j = json_pack("{s:s,s:s,s:o,s:i,s:o}", "name", ot->spec->name, "type",
                          ingot_dtype_name(ot->type), "shape", shape, "group_size", gs, "parts", parts);
    const char *src = input_source(q, ot->src->name);
    if (src)
        json_object_set_new(j, "source", json_string(src));
    return j;
}

static json_t *keep_json(const ingot_quantize_options *o)
{
    json_t *k = json_array();
    for (int i = 0; o->keep && o->keep[i]; i++)
        json_array_append_new(k, json_string(o->keep[i]));
    return k;
}

/* The output type of a named tensor, or null when the model has none. */
static json_t *type_of(const qz *q, const char *name)
{
    for (int i = 0; i < q->n; i++)
        if (!strcmp(q->t[i].spec->name, name))
            return json_string(ingot_dtype_name(q->t[i].type));
    return json_null();
}

static json_t *calib_json(const qz *q)
{
    if (q->alloc) /* --target-bpw's measurement */
        return json_pack("{s:s,s:I,s:I,s:i,s:i}", "sha256", q->calib.sha256, "bytes",
                         (json_int_t)q->calib.bytes, "text_tokens", (json_int_t)q->calib.text_tokens,
                         "samples", q->calib.n, "length", q->calib.len);
    if (!q->awq)
        return json_null();
    return json_pack("{s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:b}", "sha256", q->calib.sha256, "bytes",
                     (json_int_t)q->calib.bytes, "text_tokens", (json_int_t)q->calib.text_tokens,
                     "samples", q->calib.n, "length", q->calib.len, "loss_samples",
                     ingot_awq_loss_samples(q->awq), "clip_tokens_max", INGOT_AWQ_CLIP_TOKENS, "grid",
                     INGOT_AWQ_GRID, "clip_steps", INGOT_AWQ_CLIP_STEPS, "duo_scaling", 0);
}

static json_t *quantization_json(const qz *q)
{
    const ingot_quantize_options *o = q->o;
    const ingot_format *f = ingot_format_of(q->qtype);
    json_t *j = json_pack("{s:s,s:s,s:o,s:b,s:b,s:o,s:o,s:o,s:o}", "type", ingot_quant_type_name(o->type),
                          "storage", ingot_dtype_name(q->qtype), "group_size",
                          f->group_param ? json_integer(q->group) : json_null(), "double_quant",
                          variant_of(o, f) != 0, "mse_scales", o->mse_scales != 0 || o->target_bpw > 0, "keep",
                          keep_json(o),
                          "embed_type", type_of(q, "token_embd.weight"), "head_type",
                          type_of(q, "output.weight"), "calibration", calib_json(q));
    if (q->awq)
        json_object_set_new(j, "layers", json_deep_copy(ingot_awq_report(q->awq)));
    if (q->alloc)
        json_object_set_new(j, "allocation", json_deep_copy(q->alloc));
    return j;
}

static json_t *provenance_json(const qz *q)
{
    const ingot_quantize_options *o = q->o;
    char tool[64];
    snprintf(tool, sizeof tool, "ingot %s", ingot_version());
    json_t *opts = json_pack(
        "{s:s,s:i,s:b,s:b,s:i,s:i,s:i,s:o,s:s,s:s}", "type", ingot_quant_type_name(o->type), "group_size",
        q->group, "double_quant", o->double_quant, "mse_scales", o->mse_scales != 0, "calib_samples", o->calib_samples,
        "calib_len", o->calib_len, "loss_samples", o->loss_samples, "keep", keep_json(o),
        "embed_type", o->embed_type >= 0 ? ingot_dtype_name(o->embed_type) : "auto", "head_type",
        o->head_type >= 0 ? ingot_dtype_name(o->head_type) : "auto");
    json_t *input = q->from_hf ? json_pack("{s:s}", "kind", "checkpoint")
                               : json_pack("{s:s,s:s,s:I}", "kind", "artifact", "sha256", q->in_sha256,
                                           "bytes", (json_int_t)q->in_bytes);
    json_t *parent = json_object_get(q->art->manifest, "provenance");
    return json_pack("{s:s,s:s,s:o,s:o,s:o}", "tool", tool, "command", "quantize", "options", opts,
                     "input", input, "parent", parent ? json_deep_copy(parent) : json_null());
}

static char *manifest_text(const qz *q)
{
    json_t *tensors = json_array();
    for (int i = 0; i < q->n; i++)
        json_array_append_new(tensors, tensor_json(q, &q->t[i]));
    json_t *files = json_object_get(q->art->manifest, "files");
    json_t *m = json_pack("{s:s,s:[i,i],s:o,s:o,s:o,s:o,s:o}", "format", "ingot", "format_version",
                          INGOT_FORMAT_MAJOR, INGOT_FORMAT_MINOR, "config", ingot_config_to_json(&q->cfg),
                          "files", files ? json_deep_copy(files) : json_object(), "tensors", tensors,
                          "quantization", quantization_json(q), "provenance", provenance_json(q));
    char *text = m ? json_dumps(m, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(m);
    return text;
}

/* ------------------------------------------------------------ 5. write */

static int write_hf_files(const qz *q, ingot_archive_writer *w, ingot_error *err)
{
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(q->art->manifest, "files"), name, v) {
        const char *member, *xxh3;
        size_t size = 0;
        if (ingot_artifact_file_entry(v, &member, &xxh3) != 0)
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: files: %s: malformed entry", q->in_path, name);
        const uint8_t *data = ingot_artifact_member(q->art, member, &size);
        if (!data)
            return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: missing member", q->in_path, member);
        if (ingot_aw_add(w, member, data, size, err) != 0)
            return -1;
    }
    return 0;
}

static int write_part(qz *q, ingot_archive_writer *w, const out_tensor *ot, int i, ingot_error *err)
{
    const out_part *p = &ot->parts[i];
    const uint8_t *data = p->spool_off == NO_SPOOL ? p->src : q->spool_map + p->spool_off;
    char member[256];
    member_name(ot, i, member, sizeof member);
    if (ingot_aw_begin(w, member, p->bytes, err) != 0)
        return -1;
    for (uint64_t off = 0; off < p->bytes; off += WRITE_CHUNK) {
        if (interrupted(q))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        size_t k = p->bytes - off < WRITE_CHUNK ? (size_t)(p->bytes - off) : WRITE_CHUNK;
        if (ingot_aw_write(w, data + off, k, err) != 0)
            return -1;
        progress(q, "writing", k);
    }
    return ingot_aw_end(w, err);
}

static int write_archive(qz *q, int fd, const char *text, ingot_error *err)
{
    ingot_archive_writer *w = ingot_aw_open(fd, q->o->mtime, err);
    int rc = w ? 0 : -1;
    if (rc == 0)
        rc = ingot_aw_add(w, INGOT_MANIFEST_MEMBER, text, strlen(text), err);
    if (rc == 0)
        rc = write_hf_files(q, w, err);
    for (int i = 0; rc == 0 && i < q->n; i++)
        for (int k = 0; rc == 0 && k < q->t[i].n_parts; k++)
            rc = write_part(q, w, &q->t[i], k, err);
    if (rc == 0)
        rc = ingot_aw_close(w, err);
    ingot_aw_free(w);
    return rc;
}

/* Paths the output must not replace: the input file(s) and the calibration text. */
static const char **input_paths(const qz *q)
{
    const char **hf = q->hf_plan ? ingot_plan_input_paths(q->hf_plan) : NULL;
    size_t n = 0;
    while (hf && hf[n])
        n++;
    const char **v = calloc(n + 3, sizeof *v);
    if (v) {
        memcpy(v, hf ? hf : v, n * sizeof *v);
        v[n++] = q->in_path;
        v[n] = q->o->calib_path;
    }
    free(hf);
    return v;
}

static int write_output(qz *q, ingot_error *err)
{
    if (q->spool_size && (q->spool_map = mmap(NULL, q->spool_size, PROT_READ, MAP_SHARED, q->spool_fd, 0)) == MAP_FAILED) {
        q->spool_map = NULL;
        return ingot_fail(err, INGOT_ERR_IO, "%s: mapping temporary data: %s", q->out_path, strerror(errno));
    }
    char *text = manifest_text(q);
    const char **inputs = input_paths(q);
    if (!text || !inputs) {
        free(text);
        free(inputs);
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    }
    q->done = 0;
    q->total = q->spool_size;
    for (int i = 0; i < q->n; i++)
        for (int k = 0; k < q->t[i].n_parts; k++)
            q->total += q->t[i].parts[k].spool_off == NO_SPOOL ? q->t[i].parts[k].bytes : 0;
    ingot_outfile of;
    int rc = ingot_outfile_open(&of, q->out_path, inputs, err);
    free(inputs);
    if (rc == 0) {
        rc = write_archive(q, of.fd, text, err);
        rc = rc == 0 ? ingot_outfile_commit(&of, err) : (ingot_outfile_abort(&of), -1);
    }
    free(text);
    if (rc != 0 && err && err->code == INGOT_ERR_IO && !strstr(err->message, q->out_path))
        ingot_error_prefix(err, q->out_path);
    return rc;
}

/* ------------------------------------------------------------ summary */

/*
 * Wall seconds per phase: read (input, plan, checks), calibrate (the text
 * read and tokenized, then AWQ's statistics passes), scale_search,
 * clip_search, quantize (the rest of producing the tensors) and write.
 */
static json_t *phases_json(const qz *q)
{
    double awq[INGOT_AWQ_N_PHASES] = {0}, awq_sum = 0;
    for (int i = 0; q->awq && i < INGOT_AWQ_N_PHASES; i++)
        awq_sum += awq[i] = ingot_awq_seconds(q->awq, i);
    json_t *j = json_pack("{s:f}", "read", q->secs[PH_READ]);
    if (q->awq) {
        json_object_set_new(j, "calibrate", json_real(q->secs[PH_CALIB_TEXT] + awq[0]));
        json_object_set_new(j, "scale_search", json_real(awq[1]));
        json_object_set_new(j, "clip_search", json_real(awq[2]));
    }
    if (q->alloc) /* the calibration text, the reference pass and every candidate's measurement */
        json_object_set_new(j, "allocate", json_real(q->secs[PH_ALLOCATE]));
    json_object_set_new(j, "quantize", json_real(q->secs[PH_QUANTIZE] - awq_sum));
    json_object_set_new(j, "write", json_real(q->secs[PH_WRITE]));
    return j;
}

static char *summary(const qz *q, double seconds)
{
    uint64_t params = 0, bytes = 0, lin_params = 0, lin_bytes = 0;
    int n_quant = 0;
    for (int i = 0; i < q->n; i++) {
        const out_tensor *ot = &q->t[i];
        uint64_t p = (uint64_t)ingot_tensor_spec_numel(ot->spec), b = 0;
        for (int k = 0; k < ot->n_parts; k++)
            b += ot->parts[k].bytes;
        params += p;
        bytes += b;
        n_quant += quantized(ot->type);
        if (ot->spec->kind == INGOT_TK_LINEAR) {
            lin_params += p;
            lin_bytes += b;
        }
    }
    struct stat st;
    long long size = stat(q->out_path, &st) == 0 ? (long long)st.st_size : -1;
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:f,s:f,s:f}", "output", q->out_path, "type",
                          ingot_quant_type_name(q->o->type), "architecture", ingot_arch_name(q->cfg.arch),
                          "tensors", q->n, "quantized", n_quant, "params", (json_int_t)params, "bytes",
                          (json_int_t)size, "bits_per_weight", 8.0 * (double)bytes / (double)params,
                          "linear_bits_per_weight", lin_params ? 8.0 * (double)lin_bytes / (double)lin_params : 0.0,
                          "seconds", seconds);
    json_object_set_new(j, "calibration", calib_json(q));
    json_object_set_new(j, "phases", phases_json(q));
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) /* ru_maxrss: KiB on Linux */
        json_object_set_new(j, "peak_rss_mb", json_real((double)ru.ru_maxrss / 1024.0));
    char *s = json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
    json_decref(j);
    return s;
}

/* ------------------------------------------------------------ entry */

/* @return the seconds since *t, which becomes now. */
static double lap(double *t)
{
    double now = ingot_now(), d = now - *t;
    *t = now;
    return d;
}

static void qz_free(qz *q)
{
    ingot_awq_free(q->awq);
    json_decref(q->alloc);
    ingot_calib_free(&q->calib);
    spool_close(q);
    for (int i = 0; q->t && i < q->n; i++)
        free(q->t[i].colw);
    free(q->t);
    free(q->specs);
    ingot_model_free(q->m);
    ingot_plan_free(q->hf_plan);
}

int ingot_quantize(const char *in_path, const char *out_path, const ingot_quantize_options *opts,
                   char **summary_json, ingot_error *err)
{
    ingot_quantize_options defaults;
    ingot_quantize_options_init(&defaults);
    if (summary_json)
        *summary_json = NULL;
    if (!in_path || !out_path)
        return ingot_fail(err, INGOT_ERR_ARG, "quantize: missing input or output path");
    qz q = {.o = opts ? opts : &defaults, .in_path = in_path, .out_path = out_path, .spool_fd = -1};
    if (check_options(q.o, err) != 0)
        return -1;
    double t0 = ingot_now();
#ifdef _OPENMP
    int prev_threads = omp_get_max_threads();
    if (q.o->n_threads > 0)
        omp_set_num_threads(q.o->n_threads);
#endif
    q.qtype = storage_type(q.o->type);
    q.group = q.o->group_size ? q.o->group_size : INGOT_Q4_DEFAULT_GROUP;
    double t = ingot_now();
    int rc = open_input(&q, err);
    if (rc == 0)
        rc = plan(&q, err);
    if (rc == 0)
        rc = check_input(&q, err);
    q.secs[PH_READ] = lap(&t);
    if (rc == 0 && q.o->type == INGOT_QUANT_AWQ4)
        rc = start_awq(&q, err);
    q.secs[PH_CALIB_TEXT] = lap(&t);
    if (rc == 0 && q.o->target_bpw > 0)
        rc = allocate(&q, err);
    q.secs[PH_ALLOCATE] = lap(&t);
    if (rc == 0)
        rc = spool_open(&q, err);
    if (rc == 0)
        rc = produce(&q, err);
    q.secs[PH_QUANTIZE] = lap(&t);
    if (rc == 0)
        rc = write_output(&q, err);
    q.secs[PH_WRITE] = lap(&t);
    if (rc == 0 && summary_json)
        *summary_json = summary(&q, ingot_now() - t0);
    qz_free(&q);
#ifdef _OPENMP
    omp_set_num_threads(prev_threads);
#endif
    return rc;
}
