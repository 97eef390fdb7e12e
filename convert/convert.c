/*
 * convert.c - ingot_convert and ingot_describe_hf: from a HuggingFace
 * checkpoint directory to an .ingot artifact.
 *
 * The plan (config, tensor list, source tensors) is built and fully checked
 * before any output exists.  Tensors are then streamed twice in bounded
 * chunks: pass 1 converts, checks finiteness and computes checksums for the
 * manifest (which is the first tar member); pass 2 converts again and writes.
 * Source pages are released after each chunk, so peak memory stays a few
 * chunks no matter how large the checkpoint is.
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "convert/hf_config.h"
#include "convert/hf_files.h"
#include "convert/plan.h"
#include "convert/st_set.h"
#include "model/tensor_map.h"
#include "artifact/artifact.h"
#include "util/util.h"

#define CHUNK_ELEMS (1u << 20)

void ingot_convert_options_init(ingot_convert_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->dtype = -1;
}

static bool interrupted(const ingot_convert_options *o)
{
    return o && o->cancel && *o->cancel;
}

/* ---- element conversion ---- */

static float load_elem(ingot_dtype t, const uint8_t *p, size_t i)
{
    switch (t) {
    case INGOT_DT_F32: { float f; memcpy(&f, p + 4 * i, 4); return f; }
    case INGOT_DT_F64: { double d; memcpy(&d, p + 8 * i, 8); return (float)d; }
    case INGOT_DT_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return ingot_f16_to_f32(h); }
    case INGOT_DT_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return ingot_bf16_to_f32(h); }
    default: return NAN;
    }
}

static void store_elem(ingot_dtype t, uint8_t *p, size_t i, float f)
{
    uint16_t h;
    switch (t) {
    case INGOT_DT_F32: memcpy(p + 4 * i, &f, 4); break;
    case INGOT_DT_F16: h = ingot_f32_to_f16(f); memcpy(p + 2 * i, &h, 2); break;
    default: h = ingot_f32_to_bf16(f); memcpy(p + 2 * i, &h, 2); break;
    }
}

/*
 * Converts n elements; src_index0 is the index of the first one in the
 * tensor, for error messages.  A non-finite source value is an error unless
 * allowed; a finite value that the output type cannot hold always is.
 */
static int convert_chunk(const ingot_plan_tensor *pt, const uint8_t *src, size_t n, uint8_t *dst,
                         uint64_t index0, bool allow_nonfinite, ingot_error *err)
{
    ingot_dtype st = pt->src->dtype, dt = pt->out_dtype;
    if (st == dt && allow_nonfinite) {
        memcpy(dst, src, n * ingot_dtype_size(dt));
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        float f = load_elem(st, src, i);
        if (!isfinite(f)) {
            double d;
            if (st == INGOT_DT_F64)
                memcpy(&d, src + 8 * i, 8);
            bool src_finite = st == INGOT_DT_F64 && isfinite(d);
            if (src_finite)
                return ingot_fail(err, INGOT_ERR_NONFINITE,
                                  "tensor %s: value %g at element %llu overflows f32", pt->src->name, d,
                                  (unsigned long long)(index0 + i));
            if (!allow_nonfinite)
                return ingot_fail(err, INGOT_ERR_NONFINITE,
                                  "tensor %s: %s at element %llu (use --allow-nonfinite to keep it)",
                                  pt->src->name, isnan(f) ? "NaN" : "Inf",
                                  (unsigned long long)(index0 + i));
        }
        store_elem(dt, dst, i, f);
        if (isfinite(f) && !isfinite(load_elem(dt, dst, i)))
            return ingot_fail(err, INGOT_ERR_NONFINITE,
                              "tensor %s: value %g at element %llu overflows %s (use a wider --dtype)",
                              pt->src->name, (double)f, (unsigned long long)(index0 + i),
                              ingot_dtype_name(dt));
    }
    return 0;
}

/*
 * Streams one tensor through fn(chunk) in CHUNK_ELEMS pieces.  pass_bytes
 * accumulates source bytes for the progress callback.
 */
typedef int (*chunk_fn)(void *user, const uint8_t *data, size_t len, ingot_error *err);

static int stream_tensor(const ingot_plan *plan, const ingot_plan_tensor *pt,
                         const ingot_convert_options *o, uint8_t *buf, chunk_fn fn, void *user,
                         const char *stage, uint64_t *done, uint64_t total, ingot_error *err)
{
    size_t ssz = ingot_dtype_size(pt->src->dtype), dsz = ingot_dtype_size(pt->out_dtype);
    uint64_t n = pt->n_elems;
    for (uint64_t i = 0; i < n; i += CHUNK_ELEMS) {
        if (interrupted(o))
            return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
        size_t k = (size_t)(n - i < CHUNK_ELEMS ? n - i : CHUNK_ELEMS);
        const uint8_t *src = pt->src->data + i * ssz;
        if (convert_chunk(pt, src, k, buf, i, o->allow_nonfinite, err) != 0)
            return -1;
        ingot_release_pages(src, k * ssz);
        if (fn(user, buf, k * dsz, err) != 0)
            return -1;
        *done += k * ssz;
        if (o->progress)
            o->progress(o->progress_user, stage, *done, total);
    }
    return 0;
}

static int hash_chunk(void *user, const uint8_t *data, size_t len, ingot_error *err)
{
    (void)err;
    XXH3_64bits_update(user, data, len);
    return 0;
}

static int write_chunk(void *user, const uint8_t *data, size_t len, ingot_error *err)
{
    return ingot_aw_write(user, data, len, err);
}

/* ---- linear weights the checkpoint stores quantized ---- */

static void free_parts(void *parts[INGOT_WMAT_MAX_PARTS])
{
    for (int k = 0; k < INGOT_WMAT_MAX_PARTS; k++) {
        free(parts[k]);
        parts[k] = NULL;
    }
}

/* Unpacks pt's parts into fresh buffers (the caller frees them with free_parts). */
static int quant_parts(const ingot_plan *plan, const ingot_plan_tensor *pt,
                       void *parts[INGOT_WMAT_MAX_PARTS], ingot_error *err)
{
    const ingot_qsrc *q = pt->q;
    memset(parts, 0, INGOT_WMAT_MAX_PARTS * sizeof *parts);
    for (int k = 0; k < q->layout.n; k++)
        if (!(parts[k] = malloc(q->layout.p[k].bytes ? q->layout.p[k].bytes : 1))) {
            free_parts(parts);
            return ingot_fail(err, INGOT_ERR_NOMEM, "%s: out of memory", pt->src->name);
        }
    int rc = ingot_qsrc_unpack(q, plan->st, parts, err);
    for (int k = 0; k < INGOT_QSRC_MAX; k++)
        if (q->t[k])
            ingot_st_set_release(plan->st, q->t[k]);
    if (rc != 0)
        free_parts(parts);
    return rc;
}

static void quant_progress(const ingot_convert_options *o, const ingot_plan_tensor *pt,
                           const char *stage, uint64_t *done, uint64_t total)
{
    *done += pt->q->src_bytes;
    if (o->progress)
        o->progress(o->progress_user, stage, *done, total);
}

static int hash_quantized(const ingot_plan *plan, ingot_plan_tensor *pt,
                          const ingot_convert_options *o, uint64_t *done, ingot_error *err)
{
    void *parts[INGOT_WMAT_MAX_PARTS];
    if (interrupted(o))
        return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
    if (quant_parts(plan, pt, parts, err) != 0)
        return -1;
    for (int k = 0; k < pt->q->layout.n; k++)
        pt->part_xxh3[k] = XXH3_64bits(parts[k], pt->q->layout.p[k].bytes);
    free_parts(parts);
    quant_progress(o, pt, "checking", done, plan->src_bytes);
    return 0;
}

static void part_member(const ingot_plan_tensor *pt, int k, char *buf, size_t len)
{
    const ingot_format_variant *v = &pt->q->fmt->variants[pt->q->variant];
    snprintf(buf, len, "tensors/%s.%s", pt->spec->name, v->role[k]);
}

static int write_quantized(const ingot_plan *plan, const ingot_plan_tensor *pt,
                           const ingot_convert_options *o, ingot_archive_writer *w,
                           uint64_t *done, ingot_error *err)
{
    void *parts[INGOT_WMAT_MAX_PARTS];
    if (interrupted(o))
        return ingot_fail(err, INGOT_ERR_INTERRUPTED, "interrupted");
    if (quant_parts(plan, pt, parts, err) != 0)
        return -1;
    int rc = 0;
    for (int k = 0; rc == 0 && k < pt->q->layout.n; k++) {
        char member[256];
        part_member(pt, k, member, sizeof member);
        rc = ingot_aw_add(w, member, parts[k], pt->q->layout.p[k].bytes, err);
    }
    free_parts(parts);
    if (rc == 0)
        quant_progress(o, pt, "writing", done, plan->src_bytes);
    return rc;
}

/* Pass 1: checksums (and all value checks) before anything is written. */
static int checksum_pass(ingot_plan *plan, const ingot_convert_options *o, uint8_t *buf,
                         ingot_error *err)
{
    uint64_t done = 0, total = plan->src_bytes;
    XXH3_state_t *st = XXH3_createState();
    if (!st)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < plan->n; i++) {
        ingot_plan_tensor *pt = &plan->tensors[i];
        if (pt->q) {
            if (hash_quantized(plan, pt, o, &done, err) != 0) {
                XXH3_freeState(st);
                return -1;
            }
            continue;
        }
        XXH3_64bits_reset(st);
        if (stream_tensor(plan, pt, o, buf, hash_chunk, st, "checking", &done, total, err) != 0) {
            XXH3_freeState(st);
            return -1;
        }
        pt->xxh3 = XXH3_64bits_digest(st);
    }
    XXH3_freeState(st);
    return 0;
}

static int write_tensors(ingot_plan *plan, const ingot_convert_options *o, uint8_t *buf,
                         ingot_archive_writer *w, ingot_error *err)
{
    uint64_t done = 0, total = plan->src_bytes;
    for (int i = 0; i < plan->n; i++) {
        ingot_plan_tensor *pt = &plan->tensors[i];
        if (pt->q) {
            if (write_quantized(plan, pt, o, w, &done, err) != 0)
                return -1;
            continue;
        }
        char member[160];
        snprintf(member, sizeof member, "tensors/%s", pt->spec->name);
        if (ingot_aw_begin(w, member, pt->out_bytes, err) != 0 ||
            stream_tensor(plan, pt, o, buf, write_chunk, w, "writing", &done, total, err) != 0 ||
            ingot_aw_end(w, err) != 0)
            return -1;
    }
    return 0;
}

static json_t *quantized_json(const ingot_plan_tensor *pt, bool with_checksum)
{
    const ingot_qsrc *q = pt->q;
    json_t *shape = json_pack("[I,I]", (json_int_t)q->n_out, (json_int_t)q->n_in);
    json_t *parts = json_array();
    for (int k = 0; k < q->layout.n; k++) {
        char member[256], hex[17];
        part_member(pt, k, member, sizeof member);
        json_t *part = json_pack("{s:s,s:s,s:s,s:I}", "role", q->fmt->variants[q->variant].role[k],
                                 "member", member, "dtype", ingot_dtype_name(q->layout.p[k].dtype),
                                 "bytes", (json_int_t)q->layout.p[k].bytes);
        if (with_checksum) {
            ingot_xxh3_hex(pt->part_xxh3[k], hex);
            json_object_set_new(part, "xxh3", json_string(hex));
        }
        json_array_append_new(parts, part);
    }
    return json_pack("{s:s,s:s,s:o,s:i,s:o,s:s}", "name", pt->spec->name, "type",
                     ingot_dtype_name(q->fmt->type), "shape", shape, "group_size",
                     q->fmt->group_param ? q->group_size : 0, "parts", parts, "source",
                     pt->src->name);
}

/* What a pre-quantized checkpoint was, in the terms of `ingot quantize`'s manifest. */
static json_t *quantization_json(const ingot_plan *plan)
{
    static const char *const type[] = {
        [INGOT_HFQ_AWQ] = "awq4", [INGOT_HFQ_GPTQ] = "int4", [INGOT_HFQ_BNB4] = "nf4",
        [INGOT_HFQ_BNB8] = "int8"};
    static const char *const source[] = {
        [INGOT_HFQ_AWQ] = "awq", [INGOT_HFQ_GPTQ] = "gptq", [INGOT_HFQ_BNB4] = "bitsandbytes",
        [INGOT_HFQ_BNB8] = "bitsandbytes"};
    const ingot_hf_quant *h = &plan->hq;
    const ingot_qsrc *q = NULL;
    for (int i = 0; i < plan->n && !q; i++)
        q = plan->tensors[i].q;
    bool int4 = h->method == INGOT_HFQ_AWQ || h->method == INGOT_HFQ_GPTQ;
    json_t *embed = json_null(), *head = json_null();
    for (int i = 0; i < plan->n; i++) {
        const char *n = plan->tensors[i].spec->name, *t = ingot_dtype_name(plan->tensors[i].out_dtype);
        if (!strcmp(n, "token_embd.weight"))
            embed = json_string(t);
        else if (!strcmp(n, "output.weight"))
            head = json_string(t);
    }
    return json_pack("{s:s,s:s,s:o,s:b,s:o,s:o,s:s}", "type", type[h->method], "storage",
                     ingot_dtype_name(q->fmt->type), "group_size",
                     int4 && h->group_size > 0 ? json_integer(h->group_size) : json_null(),
                     "double_quant", q->variant == INGOT_NF4_DQ && h->method == INGOT_HFQ_BNB4,
                     "embed_type", embed, "head_type", head, "source", source[h->method]);
}

static json_t *tensor_json(const ingot_plan_tensor *pt, bool with_checksum)
{
    if (pt->q)
        return quantized_json(pt, with_checksum);
    const char *type = ingot_dtype_name(pt->out_dtype);
    json_t *shape = json_array();
    for (int d = 0; d < pt->spec->ndim; d++)
        json_array_append_new(shape, json_integer(pt->spec->shape[d]));
    char member[160], hex[17];
    snprintf(member, sizeof member, "tensors/%s", pt->spec->name);
    json_t *part = json_pack("{s:s,s:s,s:s,s:I}", "role", "data", "member", member, "dtype", type,
                             "bytes", (json_int_t)pt->out_bytes);
    if (with_checksum) {
        ingot_xxh3_hex(pt->xxh3, hex);
        json_object_set_new(part, "xxh3", json_string(hex));
    }
    return json_pack("{s:s,s:s,s:o,s:i,s:[o],s:s}", "name", pt->spec->name, "type", type, "shape",
                     shape, "group_size", 0, "parts", part, "source", pt->src->name);
}

static json_t *manifest_json(const ingot_plan *plan, const ingot_convert_options *o,
                             bool with_checksums)
{
    /* the config records what is stored, not what the checkpoint declared */
    ingot_config cfg = plan->cfg;
    if (with_checksums && plan->n > 0)
        cfg.dtype = plan->tensors[0].out_dtype;
    json_t *tensors = json_array(), *files = json_object(), *sources = json_array();
    for (int i = 0; i < plan->n; i++)
        json_array_append_new(tensors, tensor_json(&plan->tensors[i], with_checksums));
    for (int i = 0; i < plan->n_files; i++) {
        char member[128], hex[17];
        snprintf(member, sizeof member, "hf/%s", plan->files[i].name);
        ingot_xxh3_hex(XXH3_64bits(plan->files[i].data, plan->files[i].len), hex);
        json_object_set_new(files, plan->files[i].name,
                            json_pack("{s:s,s:s}", "member", member, "xxh3", hex));
    }
    for (int i = 0; i < plan->n_sources; i++)
        json_array_append_new(sources, json_pack("{s:s,s:s,s:I}", "file", plan->sources[i].name,
                                                 "sha256", plan->sources[i].sha256, "bytes",
                                                 (json_int_t)plan->sources[i].bytes));
    char tool[64];
    snprintf(tool, sizeof tool, "ingot %s", ingot_version());
    json_t *opts = json_pack("{s:s,s:b}", "dtype",
                             o && o->dtype >= 0 ? ingot_dtype_name(o->dtype) : "auto",
                             "allow_nonfinite", o ? o->allow_nonfinite : 0);
    json_t *prov = json_pack("{s:s,s:s,s:o,s:o}", "tool", tool, "command", "convert", "options",
                             opts, "sources", sources);
    json_t *m = json_pack("{s:s,s:[i,i],s:o,s:o,s:o,s:o}", "format", "ingot", "format_version",
                          INGOT_FORMAT_MAJOR, INGOT_FORMAT_MINOR, "config",
                          ingot_config_to_json(&cfg), "files", files, "tensors", tensors,
                          "provenance", prov);
    if (m && plan->n_quantized)
        json_object_set_new(m, "quantization", quantization_json(plan));
    return m;
}

static int write_artifact(ingot_plan *plan, const ingot_convert_options *o, uint8_t *buf,
                          const char *out_path, ingot_error *err)
{
    json_t *m = manifest_json(plan, o, true);
    char *text = m ? json_dumps(m, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(m);
    if (!text)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    const char **inputs = ingot_plan_input_paths(plan);
    ingot_outfile of;
    int rc = inputs ? ingot_outfile_open(&of, out_path, inputs, err)
                    : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    free(inputs);
    if (rc != 0) {
        free(text);
        return -1;
    }
    ingot_archive_writer *w = ingot_aw_open(of.fd, o->mtime, err);
    rc = w ? 0 : -1;
    if (rc == 0)
        rc = ingot_aw_add(w, INGOT_MANIFEST_MEMBER, text, strlen(text), err);
    for (int i = 0; rc == 0 && i < plan->n_files; i++) {
        char member[128];
        snprintf(member, sizeof member, "hf/%s", plan->files[i].name);
        rc = ingot_aw_add(w, member, plan->files[i].data, plan->files[i].len, err);
    }
    if (rc == 0)
        rc = write_tensors(plan, o, buf, w, err);
    if (rc == 0)
        rc = ingot_aw_close(w, err);
    ingot_aw_free(w);
    free(text);
    if (rc == 0)
        rc = ingot_outfile_commit(&of, err);
    else
        ingot_outfile_abort(&of);
    if (rc != 0 && err && err->code == INGOT_ERR_IO && !strstr(err->message, out_path))
        ingot_error_prefix(err, out_path);
    return rc;
}

static char *summary(const ingot_plan *plan, const char *out_path, double seconds)
{
    struct stat st;
    long long size = stat(out_path, &st) == 0 ? (long long)st.st_size : -1;
    json_t *j = json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:f}", "output", out_path, "architecture",
                          ingot_arch_name(plan->cfg.arch), "tensors", plan->n, "params",
                          (json_int_t)plan->n_params, "source_bytes", (json_int_t)plan->src_bytes,
                          "bytes", (json_int_t)size, "seconds", seconds);
    char *s = json_dumps(j, JSON_INDENT(1));
    json_decref(j);
    return s;
}

int ingot_convert(const char *hf_dir, const char *out_path, const ingot_convert_options *opts,
                  char **summary_json, ingot_error *err)
{
    ingot_convert_options defaults;
    ingot_convert_options_init(&defaults);
    const ingot_convert_options *o = opts ? opts : &defaults;
    if (summary_json)
        *summary_json = NULL;
    if (!hf_dir || !out_path)
        return ingot_fail(err, INGOT_ERR_ARG, "convert: missing input or output path");
    double t0 = ingot_now();
    ingot_plan *plan = ingot_plan_build(hf_dir, o->dtype, true, err);
    if (!plan)
        return -1;
    uint8_t *buf = malloc((size_t)CHUNK_ELEMS * 4);
    int rc = buf ? 0 : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    if (rc == 0)
        rc = checksum_pass(plan, o, buf, err);
    if (rc == 0)
        rc = write_artifact(plan, o, buf, out_path, err);
    if (rc == 0 && summary_json)
        *summary_json = summary(plan, out_path, ingot_now() - t0);
    free(buf);
    ingot_plan_free(plan);
    return rc;
}

int ingot_describe_hf(const char *hf_dir, char **manifest_json_out, ingot_error *err)
{
    *manifest_json_out = NULL;
    ingot_plan *plan = ingot_plan_build(hf_dir, -1, false, err);
    if (!plan)
        return -1;
    json_t *m = manifest_json(plan, NULL, false);
    /* Describe what is on disk: source dtype and bytes. */
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(m, "tensors"), i, t) {
        const ingot_st_tensor *src = plan->tensors[i].src;
        if (plan->tensors[i].q) { /* its type is the ingot format it reads as */
            json_object_set_new(t, "bytes", json_integer((json_int_t)plan->tensors[i].q->src_bytes));
            json_object_del(t, "parts");
            continue;
        }
        json_object_set_new(t, "type", json_string(ingot_dtype_name(src->dtype)));
        json_object_set_new(t, "bytes", json_integer((json_int_t)src->size));
        json_object_del(t, "parts");
    }
    json_object_del(m, "provenance");
    json_object_del(m, "format_version"); /* a checkpoint directory is not an artifact */
    *manifest_json_out = json_dumps(m, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(m);
    ingot_plan_free(plan);
    return *manifest_json_out ? 0 : ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
}
