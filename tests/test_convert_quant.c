/*
 * test_convert_quant.c - ingot convert reading pre-quantized checkpoints, on
 * tiny-llama:
 *   - round trips, byte for byte: int4 (g128, g64) -> export awq -> convert
 *     gives the same codes, scales and zeros; nf4, nf4 double quant and int8
 *     -> export bnb -> convert gives the same artifact tensors;
 *   - GPTQ: a checkpoint written here from an int4 artifact in GPTQ's layout
 *     (AutoGPTQ qlinear_cuda_old.py pack: qweight packed along the inputs,
 *     zeros stored minus one in the v1 format, as is in gptq_v2) converts
 *     back to the same int4 parts; act-order (desc_act, a permuted g_idx) is
 *     refused;
 *   - malformed tensors (missing, wrong dtype or shape, another code book,
 *     fp4, another block size, no SCB) are one-line errors naming the file
 *     and tensor, and leave no output.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "convert/st_reader.h"
#include "convert/st_writer.h"
#include "formats/formats.h"
#include "model/tensor_map.h"
#include "util/util.h"
#include "tests/test_files.h"

static char tmp[512], bf16[600], int4[600], int4_g64[600], nf4[600], nf4dq[600], int8[600];
static char awq_dir[600], bnb_nf4[600], bnb_int8[600];

/* ------------------------------------------------------------ helpers */

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void export_or_abort(const char *in, const char *out, ingot_export_format f)
{
    ingot_export_options o;
    ingot_export_options_init(&o);
    o.format = f;
    ingot_error err = {0};
    if (ingot_export(in, out, &o, NULL, &err) != 0) {
        fprintf(stderr, "export %s: %s\n", in, err.message);
        abort();
    }
}

/* The tensors of a and b named in both (or, all: every tensor of a) are identical. */
static void assert_same_tensors(const char *pa, const char *pb, bool linear_only)
{
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(pa, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    ingot_artifact *b = ingot_artifact_open(pb, &err);
    ck_assert_msg(b != NULL, "%s", err.message);
    int n = 0;
    for (int i = 0; i < a->n_tensors; i++) {
        const ingot_tensor *ta = &a->tensors[i];
        if (linear_only && !ingot_format_quantized(ta->type))
            continue;
        const ingot_tensor *tb = ingot_artifact_find(b, ta->name);
        ck_assert_msg(tb != NULL, "%s missing", ta->name);
        ck_assert_msg(ta->type == tb->type, "%s: type %s, back %s", ta->name,
                      ingot_dtype_name(ta->type), ingot_dtype_name(tb->type));
        ck_assert_int_eq(ta->group_size, tb->group_size);
        ck_assert_int_eq(ta->n_parts, tb->n_parts);
        for (int p = 0; p < ta->n_parts; p++) {
            const ingot_part *q = ingot_tensor_part(tb, ta->parts[p].role);
            ck_assert_msg(q != NULL, "%s: part %s missing", ta->name, ta->parts[p].role);
            ck_assert_uint_eq(ta->parts[p].size, q->size);
            ck_assert_msg(memcmp(ta->parts[p].data, q->data, q->size) == 0, "%s.%s: bytes differ",
                          ta->name, ta->parts[p].role);
        }
        n++;
    }
    ck_assert_int_gt(n, 40);
    ingot_artifact_free(a);
    ingot_artifact_free(b);
}

static const char *quant_field(const char *art, const char *key, char *buf, size_t len)
{
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(art, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    json_t *v = json_object_get(json_object_get(a->manifest, "quantization"), key);
    snprintf(buf, len, "%s", json_is_string(v) ? json_string_value(v) : "?");
    ingot_artifact_free(a);
    return buf;
}

/* Converting dir fails with a message holding every one of want[], and writes nothing. */
static void assert_convert_fails(const char *dir, const char *const want[])
{
    char *out = path_in(dir, "../bad.ingot");
    ingot_error err = {0};
    ck_assert_int_eq(ingot_convert(dir, out, NULL, NULL, &err), -1);
    for (int i = 0; want[i]; i++)
        ck_assert_msg(strstr(err.message, want[i]), "'%s' lacks '%s'", err.message, want[i]);
    ck_assert(!strchr(err.message, '\n'));
    ck_assert(!exists(out));
    free(out);
}

/* ---- writing checkpoints: the json files of src, tensors edited ---- */

#define MAX_T 512

typedef struct ckpt {
    ingot_st_tensor t[MAX_T];
    int n;
    void *owned[MAX_T];
    int n_owned;
    ingot_st_file *src;
} ckpt;

static void ckpt_load(ckpt *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    char *p = path_in(dir, "model.safetensors");
    ingot_error err = {0};
    c->src = ingot_st_open(p, &err);
    ck_assert_msg(c->src != NULL, "%s", err.message);
    c->n = ingot_st_file_count(c->src);
    ck_assert_int_lt(c->n, MAX_T);
    for (int i = 0; i < c->n; i++)
        c->t[i] = *ingot_st_file_at(c->src, i);
    free(p);
}

static ingot_st_tensor *ckpt_find(ckpt *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].name, name))
            return &c->t[i];
    return NULL;
}

static void ckpt_drop(ckpt *c, const char *name)
{
    ingot_st_tensor *t = ckpt_find(c, name);
    ck_assert_msg(t != NULL, "%s", name);
    *t = c->t[--c->n];
}

static void *ckpt_alloc(ckpt *c, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    ck_assert_ptr_nonnull(p);
    c->owned[c->n_owned++] = p;
    return p;
}

/* A new tensor (name copied) with fresh zeroed data of its size. */
static ingot_st_tensor *ckpt_add(ckpt *c, const char *name, ingot_dtype dt, int ndim, int64_t d0,
                                 int64_t d1)
{
    ck_assert_int_lt(c->n, MAX_T);
    ingot_st_tensor *t = &c->t[c->n++];
    memset(t, 0, sizeof *t);
    t->name = strcpy(ckpt_alloc(c, strlen(name) + 1), name);
    t->dtype = dt;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->size = ingot_dtype_size(dt) * (uint64_t)(ndim > 0 ? d0 : 1) * (uint64_t)(ndim > 1 ? d1 : 1);
    t->data = ckpt_alloc(c, t->size);
    return t;
}

/* Writes dst/ (the json files of src_dir, config.json's quantization_config
 * replaced by qc when non-NULL) with c's tensors, and frees c. */
static void ckpt_write(ckpt *c, const char *src_dir, const char *dst, const char *qc)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/*.json '%s'/ && rm -f '%s'/model.safetensors.index.json",
             dst, src_dir, dst, dst);
    ck_assert_int_eq(system(cmd), 0);
    char *cfg = path_in(dst, "config.json");
    if (qc) {
        json_error_t je;
        json_t *j = json_load_file(cfg, 0, &je);
        ck_assert_ptr_nonnull(j);
        json_t *q = json_loads(qc, 0, &je);
        ck_assert_msg(q != NULL, "%s", je.text);
        json_object_set_new(j, "quantization_config", q);
        ck_assert_int_eq(json_dump_file(j, cfg, JSON_INDENT(2)), 0);
        json_decref(j);
    }
    char *st = path_in(dst, "model.safetensors");
    ingot_error err = {0};
    ck_assert_msg(ingot_st_write(st, c->t, c->n, "{\"format\":\"pt\"}", &err) == 0, "%s",
                  err.message);
    for (int i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    ingot_st_close(c->src);
    free(st);
    free(cfg);
}

/* A copy of src_dir with tensor `name` dropped / given another dtype or shape. */
static char *edited(const char *src_dir, const char *case_dir, const char *drop,
                    const char *retype, ingot_dtype dt, const char *qc)
{
    ckpt c;
    ckpt_load(&c, src_dir);
    if (drop)
        ckpt_drop(&c, drop);
    if (retype) {
        ingot_st_tensor *t = ckpt_find(&c, retype);
        ck_assert_ptr_nonnull(t);
        /* the same bytes, read as another type: the last dimension follows the size */
        t->dtype = dt;
        uint64_t n = t->size / ingot_dtype_size(dt);
        for (int d = 0; d < t->ndim - 1; d++)
            n /= (uint64_t)t->shape[d];
        t->shape[t->ndim - 1] = (int64_t)n;
    }
    char *dst = path_in(case_dir, "ckpt");
    ckpt_write(&c, src_dir, dst, qc);
    return dst;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static unsigned code_at(const ingot_wmat *w, int64_t o, int64_t k)
{
    uint8_t b = ((const uint8_t *)w->part[INGOT_Q4_QS])[o * (w->n_in / 2) + k / 2];
    return (k & 1) ? b >> 4 : b & 15u;
}

/*
 * One linear weight of an int4 artifact in GPTQ's layout, written from
 * AutoGPTQ's QuantLinear.pack (auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py):
 * qweight row r, bits 4j.. hold input 8r + j; qzeros word c of group g, bits
 * 4j.. hold zero[8c + j] - 1 (v1) or zero (v2).  *zero0: a v1 zero of 0 was
 * written (as nibble 15, the underflow AutoGPTQ's uint32 cast makes).
 */
static void add_gptq(ckpt *c, const ingot_tensor_spec *s, const ingot_wmat *w, int g, bool v2,
                     bool *zero0)
{
    const int64_t n_out = w->n_out, n_in = w->n_in, ng = n_in / g;
    char base[200], name[256];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(s->hf_name) - 7), s->hf_name);
    snprintf(name, sizeof name, "%s.qweight", base);
    uint32_t *qw = (uint32_t *)ckpt_add(c, name, INGOT_DT_I32, 2, n_in / 8, n_out)->data;
    for (int64_t r = 0; r < n_in / 8; r++)
        for (int64_t o = 0; o < n_out; o++)
            for (int j = 0; j < 8; j++)
                qw[r * n_out + o] |= code_at(w, o, 8 * r + j) << (4 * j);
    snprintf(name, sizeof name, "%s.qzeros", base);
    uint32_t *qz = (uint32_t *)ckpt_add(c, name, INGOT_DT_I32, 2, ng, n_out / 8)->data;
    const uint8_t *zeros = w->part[INGOT_Q4_ZEROS];
    for (int64_t gi = 0; gi < ng; gi++)
        for (int64_t o = 0; o < n_out; o++) {
            unsigned z = zeros[o * ng + gi];
            *zero0 |= !v2 && z == 0;
            qz[gi * (n_out / 8) + o / 8] |= ((z - (v2 ? 0 : 1)) & 15u) << (4 * (o % 8));
        }
    snprintf(name, sizeof name, "%s.scales", base);
    uint16_t *sc = (uint16_t *)ckpt_add(c, name, INGOT_DT_F16, 2, ng, n_out)->data;
    const uint16_t *scales = w->part[INGOT_Q4_SCALES];
    for (int64_t gi = 0; gi < ng; gi++)
        for (int64_t o = 0; o < n_out; o++)
            sc[gi * n_out + o] = scales[o * ng + gi];
    snprintf(name, sizeof name, "%s.g_idx", base);
    int32_t *gidx = (int32_t *)ckpt_add(c, name, INGOT_DT_I32, 1, n_in, 0)->data;
    for (int64_t k = 0; k < n_in; k++)
        gidx[k] = (int32_t)(k / g);
}

/* A GPTQ checkpoint of artifact art (int4), in case_dir/ckpt; extra edits the config. */
static char *gptq_dir(const char *art, const char *case_dir, bool v2, const char *extra,
                      bool *zero0)
{
    ckpt c;
    ckpt_load(&c, awq_dir); /* floats (f16) and json files; the AWQ tensors go */
    for (int i = c.n - 1; i >= 0; i--)
        if (ends_with(c.t[i].name, ".qweight") || ends_with(c.t[i].name, ".qzeros") ||
            ends_with(c.t[i].name, ".scales"))
            c.t[i] = c.t[--c.n];
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(art, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    ingot_tensor_spec *specs;
    int n, g = 0;
    ck_assert_int_eq(ingot_tensor_specs(&a->config, &specs, &n, &err), 0);
    *zero0 = false;
    for (int i = 0; i < n; i++) {
        if (specs[i].kind != INGOT_TK_LINEAR)
            continue;
        const ingot_tensor *t = ingot_artifact_find(a, specs[i].name);
        ingot_wmat w;
        ck_assert_int_eq(ingot_tensor_bind(t, &ingot_format_int4, specs[i].shape[0],
                                           specs[i].shape[1], art, &w, &err), 0);
        g = t->group_size;
        add_gptq(&c, &specs[i], &w, g, v2, zero0);
    }
    char qc[400];
    snprintf(qc, sizeof qc,
             "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":%d,\"desc_act\":false,"
             "\"sym\":false,\"checkpoint_format\":\"%s\"%s}",
             g, v2 ? "gptq_v2" : "gptq", extra ? extra : "");
    char *dst = path_in(case_dir, "ckpt");
    ckpt_write(&c, awq_dir, dst, qc);
    free(specs);
    ingot_artifact_free(a);
    return dst;
}

/* ------------------------------------------------------------ round trips */

static void awq_round_trip(const char *art, const char *group)
{
    char *t = make_case_dir(tmp), *dir = path_in(t, "awq"), *back = path_in(t, "back.ingot");
    export_or_abort(art, dir, INGOT_EXPORT_AWQ);
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(dir, back, NULL, NULL, &err) == 0, "%s", err.message);
    assert_same_tensors(art, back, true);
    char buf[64];
    ck_assert_str_eq(quant_field(back, "type", buf, sizeof buf), "awq4");
    ck_assert_str_eq(quant_field(back, "source", buf, sizeof buf), "awq");
    (void)group;
    /* an hf export of it is a float checkpoint: no quantization_config */
    char *hf = path_in(t, "hf"), *cfg = path_in(hf, "config.json"), *text;
    size_t len;
    export_or_abort(back, hf, INGOT_EXPORT_HF);
    slurp(cfg, &text, &len);
    ck_assert_ptr_null(strstr(text, "quantization_config"));
    free(text);
    free(cfg);
    free(hf);
    free(back);
    free(dir);
    rm_rf(t);
    free(t);
}

START_TEST(awq_round_trip_g128)
{
    awq_round_trip(int4, "128");
}
END_TEST

START_TEST(awq_round_trip_g64)
{
    awq_round_trip(int4_g64, "64");
}
END_TEST

static void bnb_round_trip(const char *art, const char *type, bool dq)
{
    char *t = make_case_dir(tmp), *dir = path_in(t, "bnb"), *back = path_in(t, "back.ingot");
    export_or_abort(art, dir, INGOT_EXPORT_BNB);
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(dir, back, NULL, NULL, &err) == 0, "%s", err.message);
    /* everything: bnb keeps the other tensors as stored */
    assert_same_tensors(art, back, false);
    char buf[64];
    ck_assert_str_eq(quant_field(back, "type", buf, sizeof buf), type);
    ck_assert_str_eq(quant_field(back, "source", buf, sizeof buf), "bitsandbytes");
    char *cfg = path_in(dir, "config.json"), *text;
    size_t len;
    slurp(cfg, &text, &len);
    ck_assert_ptr_nonnull(strstr(text, "\"quant_method\": \"bitsandbytes\""));
    ck_assert_ptr_nonnull(strstr(text, strcmp(type, "int8") ? "\"load_in_4bit\": true"
                                                            : "\"load_in_8bit\": true"));
    if (!strcmp(type, "nf4"))
        ck_assert_ptr_nonnull(strstr(text, dq ? "\"bnb_4bit_use_double_quant\": true"
                                              : "\"bnb_4bit_use_double_quant\": false"));
    free(text);
    free(cfg);
    free(back);
    free(dir);
    rm_rf(t);
    free(t);
}

START_TEST(bnb_round_trip_nf4)
{
    bnb_round_trip(nf4, "nf4", false);
}
END_TEST

START_TEST(bnb_round_trip_nf4_double_quant)
{
    bnb_round_trip(nf4dq, "nf4", true);
}
END_TEST

START_TEST(bnb_round_trip_int8)
{
    bnb_round_trip(int8, "int8", false);
}
END_TEST

START_TEST(bnb_refuses_other_formats)
{
    char *t = make_case_dir(tmp), *dir = path_in(t, "bnb");
    ingot_export_options o;
    ingot_export_options_init(&o);
    o.format = INGOT_EXPORT_BNB;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_export(int4, dir, &o, NULL, &err), -1);
    ck_assert_msg(strstr(err.message, "--format bnb needs an nf4 or int8 artifact"), "%s",
                  err.message);
    ck_assert_int_eq(ingot_export(bf16, dir, &o, NULL, &err), -1);
    ck_assert(!exists(dir));
    free(dir);
    rm_rf(t);
    free(t);
}
END_TEST

/* ------------------------------------------------------------ GPTQ */

static void gptq_round_trip(bool v2)
{
    char *t = make_case_dir(tmp), *back = path_in(t, "back.ingot");
    bool zero0;
    char *dir = gptq_dir(int4, t, v2, NULL, &zero0);
    ingot_error err = {0};
    int rc = ingot_convert(dir, back, NULL, NULL, &err);
    if (zero0) { /* the v1 format cannot say zero 0 */
        ck_assert_int_eq(rc, -1);
        ck_assert_msg(strstr(err.message, "zero point 16"), "%s", err.message);
    } else {
        ck_assert_msg(rc == 0, "%s", err.message);
        assert_same_tensors(int4, back, true);
        char buf[64];
        ck_assert_str_eq(quant_field(back, "source", buf, sizeof buf), "gptq");
        ck_assert_str_eq(quant_field(back, "type", buf, sizeof buf), "int4");
    }
    free(dir);
    free(back);
    rm_rf(t);
    free(t);
}

START_TEST(gptq_v1_round_trip)
{
    gptq_round_trip(false);
}
END_TEST

START_TEST(gptq_v2_round_trip)
{
    gptq_round_trip(true);
}
END_TEST

START_TEST(gptq_act_order_refused)
{
    char *t = make_case_dir(tmp);
    bool zero0;
    char *dir = gptq_dir(int4, t, true, ",\"desc_act\":true", &zero0);
    /* json_loads keeps the last of a duplicate key: desc_act true */
    const char *const w1[] = {"config.json", "desc_act (act-order) GPTQ checkpoints are not supported", NULL};
    assert_convert_fails(dir, w1);
    free(dir);
    rm_rf(t);
    free(t);

    /* desc_act false, but a g_idx that is not k / G */
    t = make_case_dir(tmp);
    dir = gptq_dir(int4, t, true, NULL, &zero0);
    ckpt c;
    ckpt_load(&c, dir);
    ingot_st_tensor *g = ckpt_find(&c, "model.layers.1.mlp.up_proj.g_idx");
    ck_assert_ptr_nonnull(g);
    int32_t *v = ckpt_alloc(&c, g->size);
    memcpy(v, g->data, g->size);
    v[0] = 1;
    g->data = (const uint8_t *)v;
    char *dir2 = path_in(t, "ckpt2");
    ckpt_write(&c, dir, dir2, NULL);
    const char *const w2[] = {"model.safetensors", "model.layers.1.mlp.up_proj.g_idx",
                              "g_idx[0] is 1, not 0", "act-order", NULL};
    assert_convert_fails(dir2, w2);
    free(dir2);
    free(dir);
    rm_rf(t);
    free(t);
}
END_TEST

/* All-zero biases beside every qweight (GPTQ-for-LLaMa) are skipped; a nonzero one is not. */
START_TEST(gptq_spare_bias)
{
    char *t = make_case_dir(tmp), *back = path_in(t, "back.ingot");
    bool zero0;
    char *dir = gptq_dir(int4, t, true, NULL, &zero0);
    ckpt c;
    ckpt_load(&c, dir);
    int n = c.n;
    for (int i = 0; i < n; i++) {
        const char *nm = c.t[i].name;
        if (!ends_with(nm, ".qweight"))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s.bias", (int)(strlen(nm) - 8), nm);
        uint16_t *b = (uint16_t *)ckpt_add(&c, name, INGOT_DT_F16, 1, c.t[i].shape[1], 0)->data;
        if (strstr(name, "layers.5.mlp.down_proj"))
            b[0] = 0x8000; /* -0.0 is zero too */
    }
    char *dir2 = path_in(t, "ckpt2");
    ckpt_write(&c, dir, dir2, NULL);
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(dir2, back, NULL, NULL, &err) == 0, "%s", err.message);
    assert_same_tensors(int4, back, true);

    ckpt_load(&c, dir2);
    ingot_st_tensor *b = ckpt_find(&c, "model.layers.3.mlp.up_proj.bias");
    ck_assert_ptr_nonnull(b);
    uint16_t *v = ckpt_alloc(&c, b->size);
    v[7] = 0x3c00; /* 1.0 */
    b->data = (const uint8_t *)v;
    char *dir3 = path_in(t, "ckpt3");
    ckpt_write(&c, dir2, dir3, NULL);
    const char *const w[] = {"model.layers.3.mlp.up_proj.bias: unexpected tensor", NULL};
    assert_convert_fails(dir3, w);
    free(dir3);
    free(dir2);
    free(dir);
    free(back);
    rm_rf(t);
    free(t);
}
END_TEST

/* A v1 zero point of 0 is stored as -1 (nibble 15), reads back as 16: refused. */
START_TEST(gptq_v1_zero_underflow)
{
    char *t = make_case_dir(tmp);
    bool zero0;
    char *dir = gptq_dir(int4, t, false, NULL, &zero0);
    ckpt c;
    ckpt_load(&c, dir);
    ingot_st_tensor *z = ckpt_find(&c, "model.layers.4.self_attn.v_proj.qzeros");
    ck_assert_ptr_nonnull(z);
    uint32_t *v = ckpt_alloc(&c, z->size);
    memcpy(v, z->data, z->size);
    v[1] |= 0xFu << 8; /* group 0, output 8 + 2 */
    z->data = (const uint8_t *)v;
    char *dir2 = path_in(t, "ckpt2");
    ckpt_write(&c, dir, dir2, NULL);
    const char *const w[] = {"model.safetensors", "model.layers.4.self_attn.v_proj.qzeros",
                             "zero point 16 at group 0, output 10", NULL};
    assert_convert_fails(dir2, w);
    free(dir2);
    free(dir);
    rm_rf(t);
    free(t);
}
END_TEST

/* ------------------------------------------------------------ malformed */

START_TEST(awq_malformed)
{
    const char *q = "model.layers.2.self_attn.k_proj";
    char name[128];
    char *t = make_case_dir(tmp);
    snprintf(name, sizeof name, "%s.qzeros", q);
    char *dir = edited(awq_dir, t, name, NULL, 0, NULL);
    const char *const w1[] = {"model.safetensors", "model.layers.2.self_attn.k_proj.qzeros: missing", NULL};
    assert_convert_fails(dir, w1);
    rm_rf(t);
    free(t);
    free(dir);

    t = make_case_dir(tmp);
    snprintf(name, sizeof name, "%s.scales", q);
    dir = edited(awq_dir, t, NULL, name, INGOT_DT_BF16, NULL);
    const char *const w2[] = {"model.safetensors", "k_proj.scales: expected f16 [2, 128], found bf16 [2, 128]", NULL};
    assert_convert_fails(dir, w2);
    rm_rf(t);
    free(t);
    free(dir);

    t = make_case_dir(tmp);
    snprintf(name, sizeof name, "%s.qweight", q);
    dir = edited(awq_dir, t, NULL, name, INGOT_DT_I16, NULL);
    const char *const w3[] = {"k_proj.qweight: expected i32 [256, 16], found i16 [256, 32]", NULL};
    assert_convert_fails(dir, w3);
    rm_rf(t);
    free(t);
    free(dir);

    /* a group size the tensors do not have */
    t = make_case_dir(tmp);
    dir = edited(awq_dir, t, NULL, NULL, 0,
                 "{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":64,\"zero_point\":true,"
                 "\"version\":\"gemm\"}");
    const char *const w4[] = {"qzeros: expected i32 [4, 32], found i32 [2, 32]", NULL};
    assert_convert_fails(dir, w4);
    rm_rf(t);
    free(t);
    free(dir);
}
END_TEST

START_TEST(bnb_malformed)
{
    const char *w = "model.layers.0.mlp.gate_proj.weight";
    char name[160];
    /* another code book */
    char *t = make_case_dir(tmp);
    ckpt c;
    ckpt_load(&c, bnb_nf4);
    snprintf(name, sizeof name, "%s.quant_map", w);
    ingot_st_tensor *m = ckpt_find(&c, name);
    float *f = ckpt_alloc(&c, m->size);
    memcpy(f, m->data, m->size);
    f[3] = -0.4f;
    m->data = (const uint8_t *)f;
    char *dir = path_in(t, "ckpt");
    ckpt_write(&c, bnb_nf4, dir, NULL);
    const char *const w1[] = {"model.safetensors", "gate_proj.weight.quant_map: entry 3 is -0.4", NULL};
    assert_convert_fails(dir, w1);
    rm_rf(t);
    free(t);
    free(dir);

    /* fp4 and another block size, in the quant_state */
    static const struct { const char *json, *key, *why; } states[] = {
        {"{\"quant_type\": \"fp4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [640, 256]}",
         ".quant_state.bitsandbytes__fp4", "bitsandbytes fp4 weights are not supported"},
        {"{\"quant_type\": \"nf4\", \"blocksize\": 128, \"dtype\": \"bfloat16\", \"shape\": [640, 256]}",
         ".quant_state.bitsandbytes__nf4", "blocksize is not 64"},
        {"{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [256, 640]}",
         ".quant_state.bitsandbytes__nf4", "shape differs"},
        {"[1, 2", ".quant_state.bitsandbytes__nf4", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        t = make_case_dir(tmp);
        ckpt_load(&c, bnb_nf4);
        snprintf(name, sizeof name, "%s.quant_state.bitsandbytes__nf4", w);
        ckpt_drop(&c, name);
        snprintf(name, sizeof name, "%s%s", w, states[i].key);
        ingot_st_tensor *s = ckpt_add(&c, name, INGOT_DT_U8, 1, (int64_t)strlen(states[i].json), 0);
        memcpy((void *)s->data, states[i].json, s->size);
        dir = path_in(t, "ckpt");
        ckpt_write(&c, bnb_nf4, dir, NULL);
        const char *const want[] = {"model.safetensors", w, states[i].why, NULL};
        assert_convert_fails(dir, want);
        rm_rf(t);
        free(t);
        free(dir);
    }

    /* the codes packed in bf16 (bnb_4bit_quant_storage bfloat16) */
    t = make_case_dir(tmp);
    ckpt_load(&c, bnb_nf4);
    ingot_st_tensor *packed = ckpt_find(&c, w);
    packed->dtype = INGOT_DT_BF16; /* the same bytes as (n/4, 1) bf16 */
    packed->shape[0] /= 2;
    dir = path_in(t, "ckpt");
    ckpt_write(&c, bnb_nf4, dir, NULL);
    const char *const w4[] = {"gate_proj.weight: 4-bit codes packed in bf16", NULL};
    assert_convert_fails(dir, w4);
    rm_rf(t);
    free(t);
    free(dir);

    /* int8 without SCB; with a weight_format other than row */
    t = make_case_dir(tmp);
    dir = edited(bnb_int8, t, "model.layers.3.self_attn.o_proj.SCB", NULL, 0, NULL);
    const char *const w5[] = {"model.layers.3.self_attn.o_proj.SCB: missing", NULL};
    assert_convert_fails(dir, w5);
    rm_rf(t);
    free(t);
    free(dir);

    t = make_case_dir(tmp);
    ckpt_load(&c, bnb_int8);
    ingot_st_tensor *fm = ckpt_find(&c, "model.layers.3.self_attn.o_proj.weight_format");
    ck_assert_ptr_nonnull(fm);
    uint8_t *one = ckpt_alloc(&c, 1);
    *one = 1;
    fm->data = one;
    dir = path_in(t, "ckpt");
    ckpt_write(&c, bnb_int8, dir, NULL);
    const char *const w6[] = {"o_proj.weight_format: expected a u8 scalar 0", NULL};
    assert_convert_fails(dir, w6);
    rm_rf(t);
    free(t);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------ main */

static void quantize(const char *out, ingot_quant_type type, int g, bool dq)
{
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = type;
    o.group_size = g;
    o.double_quant = dq;
    quantize_or_abort(bf16, out, &o);
}

static void setup(void)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    char model_dir[1024];
    snprintf(model_dir, sizeof model_dir, "%s/models/tiny-llama", top);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp, sizeof tmp, "%s/ingot-cq-XXXXXX", base);
    if (!mkdtemp(tmp))
        abort();
#define AT(var, name) snprintf(var, sizeof var, "%s/%s", tmp, name)
    AT(bf16, "tiny.ingot");
    AT(int4, "int4.ingot");
    AT(int4_g64, "int4-g64.ingot");
    AT(nf4, "nf4.ingot");
    AT(nf4dq, "nf4dq.ingot");
    AT(int8, "int8.ingot");
    AT(awq_dir, "awq");
    AT(bnb_nf4, "bnb-nf4");
    AT(bnb_int8, "bnb-int8");
#undef AT
    convert_or_abort(model_dir, bf16);
    quantize(int4, INGOT_QUANT_INT4, 0, false);
    quantize(int4_g64, INGOT_QUANT_INT4, 64, false);
    quantize(nf4, INGOT_QUANT_NF4, 0, false);
    quantize(nf4dq, INGOT_QUANT_NF4, 0, true);
    quantize(int8, INGOT_QUANT_INT8, 0, false);
    export_or_abort(int4, awq_dir, INGOT_EXPORT_AWQ);
    export_or_abort(nf4, bnb_nf4, INGOT_EXPORT_BNB);
    export_or_abort(int8, bnb_int8, INGOT_EXPORT_BNB);
}

int main(void)
{
    setup();
    Suite *s = suite_create("convert_quant");
    TCase *tc = tcase_create("convert_quant");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, awq_round_trip_g128);
    tcase_add_test(tc, awq_round_trip_g64);
    tcase_add_test(tc, bnb_round_trip_nf4);
    tcase_add_test(tc, bnb_round_trip_nf4_double_quant);
    tcase_add_test(tc, bnb_round_trip_int8);
    tcase_add_test(tc, bnb_refuses_other_formats);
    tcase_add_test(tc, gptq_v1_round_trip);
    tcase_add_test(tc, gptq_v2_round_trip);
    tcase_add_test(tc, gptq_act_order_refused);
    tcase_add_test(tc, gptq_v1_zero_underflow);
    tcase_add_test(tc, gptq_spare_bias);
    tcase_add_test(tc, awq_malformed);
    tcase_add_test(tc, bnb_malformed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
