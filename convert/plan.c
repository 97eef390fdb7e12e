/*
 * plan.c - reads a HuggingFace checkpoint directory and checks it completely
 * (config, HF json files, every tensor's presence, shape and dtype) before
 * ingot_convert creates any output.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/hf_config.h"
#include "convert/hf_files.h"
#include "convert/plan.h"
#include "util/util.h"

/* HF files stored verbatim in the artifact; tokenizer.json is needed to run. */
static const struct {
    const char *name;
    bool required;
} hf_file_list[] = {
    {"config.json", true},
    {"tokenizer.json", true},
    {"tokenizer_config.json", false},
    {"generation_config.json", false},
    {"special_tokens_map.json", false},
    {"chat_template.jinja", false},
};

#define MAX_JSON_FILE ((size_t)256 << 20)

static void shape_text(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
}

static int read_hf_files(ingot_plan *p, ingot_error *err)
{
    for (size_t i = 0; i < INGOT_ARRAY_LEN(hf_file_list); i++) {
        char *path = ingot_path_join(p->hf_dir, hf_file_list[i].name);
        if (!path)
            return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        if (!ingot_file_exists(path)) {
            int rc = hf_file_list[i].required
                         ? ingot_fail(err, INGOT_ERR_IO, "%s: missing (needed to convert)", path)
                         : 0;
            free(path);
            if (rc)
                return rc;
            continue;
        }
        ingot_plan_file *f = &p->files[p->n_files];
        f->name = hf_file_list[i].name;
        int rc = ingot_read_file(path, MAX_JSON_FILE, &f->data, &f->len, err);
        if (rc == 0 && i > 0) /* config.json was checked by the config parser */
            rc = ingot_hf_validate_file(path, f->name, f->data, f->len, p->cfg.vocab_size, err);
        free(path);
        if (rc != 0) {
            free(f->data);
            f->data = NULL;
            return -1;
        }
        p->n_files++;
    }
    return 0;
}

/* quantization_config, from the config.json read_hf_files stored (files[0]). */
static int parse_quant(ingot_plan *p, ingot_error *err)
{
    char *path = ingot_path_join(p->hf_dir, "config.json");
    if (!path)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    int rc = ingot_hf_quant_parse(p->files[0].data, p->files[0].len, path, &p->hq, err);
    free(path);
    return rc;
}

static ingot_dtype choose_dtype(int requested, const ingot_config *c, ingot_dtype src)
{
    if (requested >= 0)
        return (ingot_dtype)requested;
    if (c->dtype == INGOT_DT_BF16 || c->dtype == INGOT_DT_F16 || c->dtype == INGOT_DT_F32)
        return c->dtype;
    if (src == INGOT_DT_BF16 || src == INGOT_DT_F16 || src == INGOT_DT_F32)
        return src;
    return INGOT_DT_F32;
}

/* A linear weight stored quantized: its parts come from q's tensors. */
static int plan_quantized(ingot_plan *p, int i, const ingot_qsrc *q, ingot_error *err)
{
    ingot_plan_tensor *pt = &p->tensors[i];
    if (!(pt->q = malloc(sizeof *pt->q)))
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    *pt->q = *q;
    pt->spec = &p->specs[i];
    pt->src = q->t[0];
    pt->out_dtype = q->fmt->type;
    pt->n_elems = (uint64_t)q->n_out * (uint64_t)q->n_in;
    pt->out_bytes = 0;
    for (int k = 0; k < q->layout.n; k++)
        pt->out_bytes += q->layout.p[k].bytes;
    p->src_bytes += q->src_bytes;
    p->n_params += pt->n_elems;
    p->n_quantized++;
    return 0;
}

static int match_tensor(ingot_plan *p, int i, int dtype, ingot_error *err)
{
    const ingot_tensor_spec *s = &p->specs[i];
    if (p->hq.method != INGOT_HFQ_NONE && s->kind == INGOT_TK_LINEAR) {
        ingot_qsrc q;
        int r = ingot_qsrc_find(&p->hq, p->st, s->hf_name, s->shape[0], s->shape[1], &q, err);
        if (r != 0)
            return r < 0 ? -1 : plan_quantized(p, i, &q, err);
    }
    const ingot_st_tensor *t = ingot_st_set_find(p->st, s->hf_name);
    char want[96], got[96];
    shape_text(want, sizeof want, s->ndim, s->shape);
    if (!t)
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: missing from the checkpoint (expected shape %s)",
                          s->hf_name, want);
    bool same = t->ndim == s->ndim;
    for (int d = 0; same && d < s->ndim; d++)
        same = t->shape[d] == s->shape[d];
    if (!same) {
        shape_text(got, sizeof got, t->ndim, t->shape);
        return ingot_fail(err, INGOT_ERR_SHAPE, "%s: expected shape %s, found %s", s->hf_name, want,
                          got);
    }
    if (t->dtype != INGOT_DT_F32 && t->dtype != INGOT_DT_F16 && t->dtype != INGOT_DT_BF16 &&
        t->dtype != INGOT_DT_F64)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: dtype %s is not a floating-point weight type", s->hf_name,
                          ingot_dtype_name(t->dtype));
    ingot_plan_tensor *pt = &p->tensors[i];
    pt->spec = s;
    pt->src = t;
    pt->out_dtype = choose_dtype(dtype, &p->cfg, t->dtype);
    pt->n_elems = t->size / ingot_dtype_size(t->dtype);
    pt->out_bytes = pt->n_elems * ingot_dtype_size(pt->out_dtype);
    p->src_bytes += t->size;
    p->n_params += pt->n_elems;
    return 0;
}

/* Every checkpoint tensor must be used, or be one HF is known to carry spare. */
static int check_extra(const ingot_plan *p, ingot_error *err)
{
    int n = ingot_st_set_count(p->st);
    for (int i = 0; i < n; i++) {
        const ingot_st_tensor *t = ingot_st_set_at(p->st, i);
        bool used = false;
        for (int k = 0; k < p->n && !used; k++)
            used = p->tensors[k].src == t || (p->tensors[k].q && ingot_qsrc_uses(p->tensors[k].q, t));
        if (!used && !ingot_hf_tensor_ignorable(&p->cfg, t->name) &&
            !ingot_qsrc_spare_bias(&p->hq, p->st, t))
            return ingot_fail(err, INGOT_ERR_SHAPE,
                              "%s: unexpected tensor for a %s model with this config.json",
                              t->name, ingot_arch_name(p->cfg.arch));
    }
    return 0;
}

static int add_source(ingot_plan *p, const char *name, bool with_sha256, ingot_error *err)
{
    ingot_plan_source *s = &p->sources[p->n_sources];
    s->name = strdup(name);
    s->path = ingot_path_join(p->hf_dir, name);
    if (!s->name || !s->path) {
        free(s->name);
        free(s->path);
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    }
    p->n_sources++;
    struct ingot_map m;
    if (ingot_map_file(s->path, &m, err) != 0)
        return -1;
    s->bytes = m.size;
    ingot_unmap(&m);
    return with_sha256 ? ingot_sha256_file(s->path, s->sha256, err) : 0;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int collect_sources(ingot_plan *p, bool with_sha256, ingot_error *err)
{
    int n_st = ingot_st_set_n_files(p->st);
    p->sources = calloc((size_t)(p->n_files + n_st + 1), sizeof *p->sources);
    if (!p->sources)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < p->n_files; i++)
        if (add_source(p, p->files[i].name, with_sha256, err) != 0)
            return -1;
    char *index = ingot_path_join(p->hf_dir, "model.safetensors.index.json");
    int rc = index && ingot_file_exists(index)
                 ? add_source(p, "model.safetensors.index.json", with_sha256, err)
                 : 0;
    free(index);
    for (int i = 0; rc == 0 && i < n_st; i++)
        rc = add_source(p, base_name(ingot_st_set_file(p->st, i)), with_sha256, err);
    return rc;
}

ingot_plan *ingot_plan_build(const char *hf_dir, int dtype, bool with_sha256, ingot_error *err)
{
    ingot_plan *p = calloc(1, sizeof *p);
    if (!p || !(p->hf_dir = strdup(hf_dir))) {
        free(p);
        ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int rc = ingot_hf_config_load(hf_dir, &p->cfg, err);
    if (rc == 0)
        rc = read_hf_files(p, err);
    if (rc == 0)
        rc = parse_quant(p, err);
    if (rc == 0 && !(p->st = ingot_st_set_open(hf_dir, err)))
        rc = -1;
    if (rc == 0)
        rc = ingot_tensor_specs(&p->cfg, &p->specs, &p->n, err);
    if (rc == 0 && !(p->tensors = calloc((size_t)p->n, sizeof *p->tensors)))
        rc = ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < p->n; i++)
        rc = match_tensor(p, i, dtype, err);
    if (rc == 0)
        rc = check_extra(p, err);
    if (rc == 0)
        rc = collect_sources(p, with_sha256, err);
    if (rc != 0) {
        ingot_plan_free(p);
        return NULL;
    }
    return p;
}

void ingot_plan_free(ingot_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_files; i++)
        free(p->files[i].data);
    for (int i = 0; i < p->n_sources; i++) {
        free(p->sources[i].name);
        free(p->sources[i].path);
    }
    free(p->sources);
    for (int i = 0; p->tensors && i < p->n; i++)
        free(p->tensors[i].q);
    free(p->tensors);
    free(p->specs);
    ingot_st_set_free(p->st);
    free(p->hf_dir);
    free(p);
}

const char **ingot_plan_input_paths(const ingot_plan *p)
{
    const char **v = calloc((size_t)p->n_sources + 1, sizeof *v);
    for (int i = 0; v && i < p->n_sources; i++)
        v[i] = p->sources[i].path;
    return v;
}
