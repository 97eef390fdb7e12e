/*
 * test_quantize.c - ingot_quantize end to end on tiny-llama (and
 * small-qwen2 when present): every format runs, the manifest records the
 * recipe, outputs are deterministic (also across thread counts), bad inputs
 * fail with one line naming the culprit and leave nothing, --keep leaves
 * tensors alone, extreme weights never store NaN/Inf, and the quality
 * orderings (awq4 beats int4, int8 is nearly lossless) hold on a slice of
 * eval.txt.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/st_set.h"
#include "convert/st_writer.h"
#include "formats/formats.h"
#include "quant/bitalloc.h"
#include "quant/quantize.h"
#include "quant/sensitivity.h"
#include "artifact/artifact.h"
#include "runtime/model.h"
#include "util/util.h"
#include "tests/test_files.h"

static char model_dir[1024], qwen_dir[1024], calib[1100], eval_txt[1100];
static char tmp[512], bf16[600];

/* ------------------------------------------------------------ helpers */

/* Options for a quick awq4: a few short sequences. */
static void quick_awq(ingot_quantize_options *o)
{
    o->type = INGOT_QUANT_AWQ4;
    o->calib_path = calib;
    o->calib_samples = 2;
    o->calib_len = 64;
    o->loss_samples = 1;
}

static void quantize_ok(const char *in, const char *out, const ingot_quantize_options *o)
{
    ingot_error err = {0};
    ck_assert_msg(ingot_quantize(in, out, o, NULL, &err) == 0, "%s", err.message);
}

/* Expects failure with code and both strings in the one-line message, nothing in dir. */
static void quantize_fails(const char *in, const char *dir, const ingot_quantize_options *o,
                           ingot_status code, const char *s1, const char *s2)
{
    char *out = path_in(dir, "q.ingot");
    ingot_error err = {0};
    ck_assert_int_eq(ingot_quantize(in, out, o, NULL, &err), -1);
    ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.message);
    ck_assert_msg(strstr(err.message, s1), "'%s' not in: %s", s1, err.message);
    ck_assert_msg(!s2 || strstr(err.message, s2), "'%s' not in: %s", s2, err.message);
    ck_assert_ptr_null(strchr(err.message, '\n'));
    ck_assert_int_eq(dir_entries(dir), 0);
    free(out);
}

/* Opens path, runs a few tokens, checks every logit is finite. */
static void runs_finite(const char *path)
{
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(path, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    ingot_context *c = ingot_context_create(m, 64, 0, &err);
    ck_assert_msg(c != NULL, "%s", err.message);
    int32_t *ids;
    size_t n;
    const char *text = "def main():\n    return 0\n";
    ck_assert_int_eq(ingot_tokenize(m, text, strlen(text), 0, &ids, &n, &err), 0);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    float *logits = malloc(n * (size_t)info.vocab_size * sizeof(float));
    ck_assert_msg(ingot_context_eval(c, ids, (int)n, 0, logits, 1, &err) == 0, "%s", err.message);
    for (size_t i = 0; i < n * (size_t)info.vocab_size; i++)
        ck_assert_msg(isfinite(logits[i]), "%s: logit %zu is %g", path, i, (double)logits[i]);
    free(logits);
    free(ids);
    ingot_context_free(c);
    ingot_model_free(m);
}

static const ingot_tensor *find(const ingot_artifact *a, const char *name)
{
    const ingot_tensor *t = ingot_artifact_find(a, name);
    ck_assert_msg(t != NULL, "no tensor %s", name);
    return t;
}

/* ------------------------------------------------------------ every format runs */

static void format_runs(ingot_quant_type type, int double_quant, int head_type)
{
    char *d = make_case_dir(tmp), *out = path_in(d, "q.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    if (type == INGOT_QUANT_AWQ4)
        quick_awq(&o);
    o.type = type;
    o.double_quant = double_quant;
    o.head_type = head_type;
    quantize_ok(bf16, out, &o);
    runs_finite(out);
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(out, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(ingot_artifact_verify(a, NULL, NULL, &err), 0);
    ingot_dtype want = type == INGOT_QUANT_INT8 ? INGOT_DT_Q8 : type == INGOT_QUANT_NF4 ? INGOT_DT_NF4 : INGOT_DT_Q4;
    ck_assert_int_eq(find(a, "blk.2.ffn_down.weight")->type, want);
    ck_assert_int_eq(find(a, "token_embd.weight")->type, INGOT_DT_BF16);
    ck_assert_int_eq(find(a, "output.weight")->type, head_type >= 0 ? head_type : INGOT_DT_BF16);
    ck_assert_int_eq(find(a, "blk.2.ffn_norm.weight")->type,
                     type == INGOT_QUANT_AWQ4 ? INGOT_DT_F32 : INGOT_DT_BF16);
    if (double_quant)
        ck_assert_ptr_nonnull(ingot_tensor_part(find(a, "blk.0.attn_q.weight"), "absmax_q"));
    ingot_artifact_free(a);
    rm_rf(d);
    free(out);
    free(d);
}

START_TEST(int8_runs) { format_runs(INGOT_QUANT_INT8, 0, -1); }
END_TEST
START_TEST(nf4_runs) { format_runs(INGOT_QUANT_NF4, 0, -1); }
END_TEST
START_TEST(nf4_double_quant_runs) { format_runs(INGOT_QUANT_NF4, 1, -1); }
END_TEST
START_TEST(int4_runs) { format_runs(INGOT_QUANT_INT4, 0, -1); }
END_TEST
START_TEST(awq4_runs) { format_runs(INGOT_QUANT_AWQ4, 0, -1); }
END_TEST
START_TEST(awq4_head_int8_runs) { format_runs(INGOT_QUANT_AWQ4, 0, INGOT_DT_Q8); }
END_TEST

/* A checkpoint directory is converted on the way, and nothing of it is left. */
START_TEST(from_checkpoint)
{
    char *d = make_case_dir(tmp), *out = path_in(d, "q.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    quantize_ok(model_dir, out, &o);
    ck_assert_int_eq(dir_entries(d), 1);
    runs_finite(out);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ manifest */

/* j's value at a dotted key path ("a.b.c"), or NULL. */
static json_t *jget(json_t *j, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); j && k; k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    return j;
}

static json_t *manifest_of(const char *path)
{
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(path, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    json_t *m = json_loads(ingot_artifact_manifest(a), 0, NULL);
    ingot_artifact_free(a);
    ck_assert_ptr_nonnull(m);
    return m;
}

static void check_awq_layers(json_t *layers, int n_layers)
{
    ck_assert_int_eq((int)json_array_size(layers), n_layers);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        json_t *scales = json_object_get(l, "scales");
        ck_assert_int_eq((int)json_array_size(scales), 4);
        json_t *qkv = json_array_get(scales, 0);
        ck_assert(json_is_real(json_object_get(qkv, "alpha")));
        double alpha = json_real_value(json_object_get(qkv, "alpha"));
        ck_assert(alpha >= 0 && alpha < 1);
        /* tiny-llama has grouped-query attention: v -> o is not scaled */
        ck_assert(json_is_null(json_object_get(json_array_get(scales, 1), "alpha")));
        json_t *clip = json_object_get(l, "clip");
        char name[64];
        snprintf(name, sizeof name, "blk.%zu.ffn_down.weight", i);
        ck_assert(json_is_array(json_object_get(clip, name)));
        snprintf(name, sizeof name, "blk.%zu.attn_q.weight", i);
        ck_assert_ptr_null(json_object_get(clip, name));
    }
}

START_TEST(manifest_records_recipe)
{
    char *d = make_case_dir(tmp), *out = path_in(d, "q.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    quick_awq(&o);
    o.group_size = 64;
    quantize_ok(bf16, out, &o);
    json_t *m = manifest_of(out), *q = json_object_get(m, "quantization");
    ck_assert_str_eq(json_string_value(json_object_get(q, "type")), "awq4");
    ck_assert_str_eq(json_string_value(json_object_get(q, "storage")), "int4");
    ck_assert_int_eq(json_integer_value(json_object_get(q, "group_size")), 64);
    ck_assert(json_is_false(json_object_get(q, "double_quant")));
    json_t *c = json_object_get(q, "calibration");
    char sha[65];
    ingot_error err;
    ck_assert_int_eq(ingot_sha256_file(calib, sha, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "sha256")), sha);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "samples")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "length")), 64);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "loss_samples")), 1);
    check_awq_layers(json_object_get(q, "layers"), 6);
    json_t *prov = json_object_get(m, "provenance");
    ck_assert_str_eq(json_string_value(json_object_get(prov, "command")), "quantize");
    ck_assert_str_eq(json_string_value(jget(prov, "parent.command")), "convert");
    json_decref(m);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

START_TEST(manifest_double_quant)
{
    char *d = make_case_dir(tmp), *out = path_in(d, "q.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_NF4;
    o.double_quant = 1;
    quantize_ok(bf16, out, &o);
    json_t *m = manifest_of(out), *q = json_object_get(m, "quantization");
    ck_assert_str_eq(json_string_value(json_object_get(q, "type")), "nf4");
    ck_assert(json_is_true(json_object_get(q, "double_quant")));
    ck_assert(json_is_null(json_object_get(q, "group_size")));
    ck_assert(json_is_null(json_object_get(q, "calibration")));
    json_decref(m);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ determinism */

static void same_bytes(const char *a, const char *b)
{
    char *x, *y;
    size_t lx, ly;
    slurp(a, &x, &lx);
    slurp(b, &y, &ly);
    ck_assert_uint_eq(lx, ly);
    ck_assert_msg(memcmp(x, y, lx) == 0, "%s and %s differ", a, b);
    free(x);
    free(y);
}

static void deterministic_for(ingot_quant_type type)
{
    char *d = make_case_dir(tmp);
    char *a = path_in(d, "a.ingot"), *b = path_in(d, "b.ingot"), *c = path_in(d, "c.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    if (type == INGOT_QUANT_AWQ4) {
        quick_awq(&o);
        o.calib_samples = 4;
        o.calib_len = 128;
        o.loss_samples = 2;
    }
    o.type = type;
    o.n_threads = 2;
    quantize_ok(bf16, a, &o);
    quantize_ok(bf16, b, &o);
    o.n_threads = 1;
    quantize_ok(bf16, c, &o);
    same_bytes(a, b);
    same_bytes(a, c);
    rm_rf(d);
    free(a);
    free(b);
    free(c);
    free(d);
}

START_TEST(deterministic_int4) { deterministic_for(INGOT_QUANT_INT4); }
END_TEST
START_TEST(deterministic_awq4) { deterministic_for(INGOT_QUANT_AWQ4); }
END_TEST

/* ------------------------------------------------------------ crafted inputs */

enum craft { C_NAN, C_EXTREME, C_EXTREME_NO_HUGE };

static void put_bf16(uint8_t *p, size_t i, uint16_t v)
{
    p[2 * i] = (uint8_t)(v & 0xff);
    p[2 * i + 1] = (uint8_t)(v >> 8);
}

/* Rows of up_proj (640 x 256): zero, denormal, tiny, huge, one lone huge value. */
static void extreme_rows(uint8_t *w, bool huge)
{
    const size_t n_in = 256;
    for (size_t k = 0; k < n_in; k++) {
        put_bf16(w, 0 * n_in + k, 0x0000);                  /* all zero */
        put_bf16(w, 1 * n_in + k, (uint16_t)(k & 1 ? 0x0001 : 0x8003)); /* denormals */
        put_bf16(w, 2 * n_in + k, (uint16_t)(0x0d00 + (k & 7))); /* ~1e-30: scales underflow f16 */
        if (huge)
            put_bf16(w, 3 * n_in + k, (uint16_t)(k & 1 ? 0x7f7f : 0xff7f)); /* +-3.39e38 */
    }
    if (huge)
        put_bf16(w, 4 * n_in + 5, 0x7f7f);
}

/* A converted copy of tiny-llama with up_proj of layer 3 crafted; returns its path. */
static char *crafted_artifact(const char *dir, enum craft what)
{
    static const char *files[] = {"config.json", "tokenizer.json", "tokenizer_config.json",
                                  "generation_config.json"};
    char *ck = path_in(dir, "ckpt");
    mkdir(ck, 0755);
    for (size_t i = 0; i < 4; i++) {
        char *from = path_in(model_dir, files[i]), *to = path_in(ck, files[i]), *buf;
        size_t len;
        slurp(from, &buf, &len);
        FILE *f = fopen(to, "wb");
        ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
        fclose(f);
        free(buf);
        free(from);
        free(to);
    }
    ingot_error err = {0};
    ingot_st_set *st = ingot_st_set_open(model_dir, &err);
    ck_assert_ptr_nonnull(st);
    int n = ingot_st_set_count(st);
    ingot_st_tensor *ts = calloc((size_t)n, sizeof *ts);
    uint8_t *copy = NULL;
    for (int i = 0; i < n; i++) {
        ts[i] = *ingot_st_set_at(st, i);
        if (strcmp(ts[i].name, "model.layers.3.mlp.up_proj.weight"))
            continue;
        copy = malloc(ts[i].size);
        memcpy(copy, ts[i].data, ts[i].size);
        if (what == C_NAN)
            put_bf16(copy, 7, 0x7fc0);
        else
            extreme_rows(copy, what == C_EXTREME);
        ts[i].data = copy;
    }
    char *stp = path_in(ck, "model.safetensors");
    ck_assert_msg(ingot_st_write(stp, ts, n, NULL, &err) == 0, "%s", err.message);
    char *art = path_in(dir, "crafted.ingot");
    ingot_convert_options co;
    ingot_convert_options_init(&co);
    co.allow_nonfinite = what == C_NAN;
    ck_assert_msg(ingot_convert(ck, art, &co, NULL, &err) == 0, "%s", err.message);
    rm_rf(ck);
    free(stp);
    free(ck);
    free(copy);
    free(ts);
    ingot_st_set_free(st);
    return art;
}

/* The public defaults, and the reserved room (zeroed) that keeps the struct's size for later
 * options. */
START_TEST(options_defaults)
{
    ingot_quantize_options o;
    memset(&o, 0xa5, sizeof o);
    ingot_quantize_options_init(&o);
    ck_assert_int_eq(o.type, INGOT_QUANT_INT8);
    ck_assert_int_eq(o.group_size, 0);
    ck_assert_int_eq(o.double_quant, 0);
    ck_assert_ptr_null(o.calib_path);
    ck_assert_int_eq(o.calib_samples, 0);
    ck_assert_int_eq(o.calib_len, 0);
    ck_assert_int_eq(o.loss_samples, 0);
    ck_assert_ptr_null(o.keep);
    ck_assert_int_eq(o.embed_type, -1);
    ck_assert_int_eq(o.head_type, -1);
    ck_assert_int_eq(o.mtime, 0);
    ck_assert_int_eq(o.n_threads, 0);
    ck_assert(o.progress == NULL && o.note == NULL && o.cancel == NULL);
    for (size_t i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++)
        ck_assert_ptr_null(o.reserved[i]);
    ck_assert_str_eq(ingot_quant_type_name(INGOT_QUANT_AWQ4), "awq4");
    ck_assert_ptr_null(ingot_quant_type_name((ingot_quant_type)4));
    ck_assert_int_eq(ingot_quant_type_from_name("nf4"), INGOT_QUANT_NF4);
    ck_assert_int_eq(ingot_quant_type_from_name("q4"), -1);
}
END_TEST

START_TEST(nan_in_source)
{
    char *d = make_case_dir(tmp), *art = crafted_artifact(d, C_NAN), *out = path_in(d, "out");
    mkdir(out, 0755);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    quantize_fails(art, out, &o, INGOT_ERR_NONFINITE, "blk.3.ffn_up.weight", "NaN");
    rm_rf(d);
    free(art);
    free(out);
    free(d);
}
END_TEST

/* Every stored float of a quantized tensor and its dequantized weights are finite. */
static void all_finite(const ingot_artifact *a, const char *name)
{
    const ingot_tensor *t = find(a, name);
    for (int i = 0; i < t->n_parts; i++) {
        const ingot_part *p = &t->parts[i];
        for (uint64_t k = 0; p->dtype == INGOT_DT_F32 && k < p->size / 4; k++)
            ck_assert(isfinite(((const float *)(const void *)p->data)[k]));
        for (uint64_t k = 0; p->dtype == INGOT_DT_F16 && k < p->size / 2; k++)
            ck_assert(isfinite(ingot_f16_to_f32(((const uint16_t *)(const void *)p->data)[k])));
    }
    ingot_model m = {.art = (ingot_artifact *)a};
    ingot_wmat w;
    ingot_error err = {0};
    ck_assert_msg(ingot_wmat_from_tensor(&m, t, &w, &err) == 0, "%s", err.message);
    float *row = malloc((size_t)w.n_in * sizeof(float));
    for (int r = 0; r < w.n_out; r++) {
        ingot_dequantize_ref(&w, r, r + 1, row);
        for (int k = 0; k < w.n_in; k++)
            ck_assert_msg(isfinite(row[k]), "%s [%d, %d] = %g", name, r, k, (double)row[k]);
    }
    free(row);
}

static void extreme_values(ingot_quant_type type, int dq, enum craft what)
{
    char *d = make_case_dir(tmp), *art = crafted_artifact(d, what), *out = path_in(d, "q.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    if (type == INGOT_QUANT_AWQ4)
        quick_awq(&o);
    o.type = type;
    o.double_quant = dq;
    quantize_ok(art, out, &o);
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(out, &err);
    ck_assert_ptr_nonnull(a);
    all_finite(a, "blk.3.ffn_up.weight");
    ingot_artifact_free(a);
    rm_rf(d);
    free(art);
    free(out);
    free(d);
}

START_TEST(extreme_int8) { extreme_values(INGOT_QUANT_INT8, 0, C_EXTREME); }
END_TEST
START_TEST(extreme_nf4) { extreme_values(INGOT_QUANT_NF4, 0, C_EXTREME); }
END_TEST
START_TEST(extreme_nf4_dq) { extreme_values(INGOT_QUANT_NF4, 1, C_EXTREME); }
END_TEST
START_TEST(extreme_int4) { extreme_values(INGOT_QUANT_INT4, 0, C_EXTREME); }
END_TEST
/* Huge weights overflow the calibration activations (an error, tested in
 * awq_overflow); zero, denormal and tiny groups go through AWQ. */
START_TEST(extreme_awq4) { extreme_values(INGOT_QUANT_AWQ4, 0, C_EXTREME_NO_HUGE); }
END_TEST

START_TEST(awq_overflow)
{
    char *d = make_case_dir(tmp), *art = crafted_artifact(d, C_EXTREME), *out = path_in(d, "out");
    mkdir(out, 0755);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    quick_awq(&o);
    quantize_fails(art, out, &o, INGOT_ERR_NONFINITE, "blk.3", "overflow");
    rm_rf(d);
    free(art);
    free(out);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ bad arguments */

START_TEST(group_size_not_dividing)
{
    char *d = make_case_dir(tmp);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    o.group_size = 96; /* 256 inputs */
    quantize_fails(bf16, d, &o, INGOT_ERR_SHAPE, "blk.0.attn_q.weight", "group size 96");
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(awq4_needs_calib)
{
    char *d = make_case_dir(tmp);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_AWQ4;
    quantize_fails(bf16, d, &o, INGOT_ERR_ARG, "calibration", NULL);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(missing_calib_file)
{
    char *d = make_case_dir(tmp);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    quick_awq(&o);
    o.calib_path = "/nonexistent/calib.txt";
    quantize_fails(bf16, d, &o, INGOT_ERR_IO, "/nonexistent/calib.txt", NULL);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(empty_calib_text)
{
    char *d = make_case_dir(tmp), *out = path_in(d, "out"), *empty = path_in(d, "empty.txt");
    mkdir(out, 0755);
    write_text(empty, "");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    quick_awq(&o);
    o.calib_path = empty;
    quantize_fails(bf16, out, &o, INGOT_ERR_FORMAT, "empty.txt", "empty");
    rm_rf(d);
    free(empty);
    free(out);
    free(d);
}
END_TEST

START_TEST(short_calib_text)
{
    char *d = make_case_dir(tmp), *out = path_in(d, "out"), *txt = path_in(d, "short.txt");
    mkdir(out, 0755);
    write_text(txt, "int main(void) { return 0; }\n");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    quick_awq(&o);
    o.calib_path = txt;
    quantize_fails(bf16, out, &o, INGOT_ERR_FORMAT, "short.txt", "fewer than the 128 of 2 sequences of 64");
    rm_rf(d);
    free(txt);
    free(out);
    free(d);
}
END_TEST

/* The calibration tokens of path, n sequences of len; fails the test on error. */
static ingot_calib load_calib(ingot_model *m, const char *path, int n, int len)
{
    ingot_calib c;
    ingot_error err = {0};
    ck_assert_msg(ingot_calib_load(m, path, n, len, &c, &err) == 0, "%s", err.message);
    return c;
}

static void tokens_equal(const ingot_calib *a, const int32_t *ids, const char *what)
{
    for (size_t i = 0; i < (size_t)a->n * a->len; i++)
        ck_assert_msg(a->tokens[i] == ids[i], "%s: token %zu is %d, want %d", what, i, a->tokens[i], ids[i]);
}

static void write_jsonl(const char *path, const char *const *docs, int n, const size_t *doc_len)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++) {
        json_t *j = json_pack("{s:s%}", "text", docs[i], doc_len[i]);
        ck_assert_ptr_nonnull(j); /* valid UTF-8 */
        char *line = json_dumps(j, JSON_COMPACT);
        fprintf(f, "%s\n%s", line, i == 0 ? "\n" : ""); /* a blank line is skipped */
        free(line);
        json_decref(j);
    }
    fclose(f);
}

/*
 * A directory holding the text file gives the file's tokens (hidden files and
 * subdirectories ignored) and hashes its sha256sum-style listing; JSON lines
 * give each document's tokens, back to back.
 */
START_TEST(calib_directory_and_jsonl)
{
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(bf16, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    ingot_calib ref = load_calib(m, calib, 4, 64);
    char *d = make_case_dir(tmp), *sub = path_in(d, "sub"), *hidden = path_in(d, ".hidden");
    char *a = path_in(d, "a.txt"), sha[65], line[128];
    char *text = NULL;
    size_t len = 0;
    ck_assert(ingot_read_file(calib, 1 << 30, &text, &len, &err) == 0);
    FILE *f = fopen(a, "w");
    ck_assert(f && fwrite(text, 1, len, f) == len && fclose(f) == 0);
    write_text(hidden, "not calibration text");
    mkdir(sub, 0755);
    ingot_calib c = load_calib(m, d, 4, 64);
    tokens_equal(&c, ref.tokens, "directory");
    ck_assert(ingot_sha256_file(a, sha, &err) == 0);
    snprintf(line, sizeof line, "%s  a.txt\n", sha);
    ingot_sha256_buf(line, strlen(line), sha);
    ck_assert_str_eq(c.sha256, sha);
    ingot_calib_free(&c);

    /* two documents of about 3000 bytes, cut at ASCII bytes, tokenized apart */
    size_t c1 = 3000, c2 = 6000;
    while ((unsigned char)text[c1] >= 0x80)
        c1++;
    while ((unsigned char)text[c2] >= 0x80)
        c2++;
    const char *docs[2] = {text, text + c1};
    size_t lens[2] = {c1, c2 - c1};
    char *jl = path_in(d, "x.jsonl");
    write_jsonl(jl, docs, 2, lens);
    int32_t *t0 = NULL, *t1 = NULL;
    size_t n0 = 0, n1 = 0;
    ck_assert(ingot_tokenize(m, docs[0], lens[0], 0, &t0, &n0, &err) == 0);
    ck_assert(ingot_tokenize(m, docs[1], lens[1], 0, &t1, &n1, &err) == 0);
    int32_t *both = malloc((n0 + n1) * sizeof *both);
    ck_assert_ptr_nonnull(both);
    memcpy(both, t0, n0 * sizeof *t0);
    memcpy(both + n0, t1, n1 * sizeof *t1);
    int len_seq = (int)((n0 + n1) / 3);
    c = load_calib(m, jl, 3, len_seq);
    tokens_equal(&c, both, "jsonl");
    ck_assert_uint_eq(c.text_tokens, n0 + n1);
    ingot_calib_free(&c);

    write_text(jl, "{\"text\": \"fine\"}\n{\"txt\": 1}\n");
    ck_assert_int_eq(ingot_calib_load(m, jl, 1, 50, &c, &err), -1);
    ck_assert_msg(strstr(err.message, "x.jsonl:2") && strstr(err.message, "\"text\""), "%s", err.message);
    write_text(jl, "{\"text\": \"fine\"}\n{\"text\": \n");
    ck_assert_int_eq(ingot_calib_load(m, jl, 1, 50, &c, &err), -1);
    ck_assert_msg(strstr(err.message, "x.jsonl:2"), "%s", err.message);
    char *bin = path_in(d, "binary.txt");
    write_text(bin, "text, then \xff\xfe not UTF-8");
    ck_assert_int_eq(ingot_calib_load(m, bin, 1, 2, &c, &err), -1);
    ck_assert_msg(strstr(err.message, "binary.txt: invalid UTF-8 at byte 11"), "%s", err.message);
    free(bin);
    rm_rf(sub);
    mkdir(sub, 0755);
    ck_assert_int_eq(ingot_calib_load(m, sub, 1, 2, &c, &err), -1);
    ck_assert_msg(strstr(err.message, "no calibration files"), "%s", err.message);

    free(t0);
    free(t1);
    free(both);
    free(text);
    free(jl);
    free(a);
    free(hidden);
    free(sub);
    rm_rf(d);
    free(d);
    ingot_calib_free(&ref);
    ingot_model_free(m);
}
END_TEST

START_TEST(interrupt_leaves_nothing)
{
    char *d = make_case_dir(tmp);
    volatile int cancel = 1;
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    quick_awq(&o);
    o.cancel = &cancel;
    quantize_fails(bf16, d, &o, INGOT_ERR_INTERRUPTED, "interrupted", NULL);
    quantize_fails(model_dir, d, &o, INGOT_ERR_INTERRUPTED, "interrupted", NULL);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(refuses_to_overwrite_input)
{
    char *d = make_case_dir(tmp), *in = path_in(d, "in.ingot");
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", bf16, in);
    ck_assert_int_eq(system(cmd), 0);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    ingot_error err = {0};
    ck_assert_int_eq(ingot_quantize(in, in, &o, NULL, &err), -1);
    ck_assert_msg(strstr(err.message, "input"), "%s", err.message);
    same_bytes(in, bf16);
    ck_assert_int_eq(dir_entries(d), 1);
    rm_rf(d);
    free(in);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ --keep */

static void keep_for(ingot_quant_type type)
{
    char *d = make_case_dir(tmp), *out = path_in(d, "q.ingot");
    const char *keep[] = {"blk.0.*", "blk.4.ffn_down.weight", NULL};
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    if (type == INGOT_QUANT_AWQ4)
        quick_awq(&o);
    o.type = type;
    o.keep = keep;
    quantize_ok(bf16, out, &o);
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(out, &err), *src = ingot_artifact_open(bf16, &err);
    ck_assert_ptr_nonnull(a);
    for (int i = 0; i < a->n_tensors; i++) {
        const ingot_tensor *t = &a->tensors[i];
        if (!ingot_quantize_kept(keep, t->name))
            continue;
        const ingot_tensor *s = find(src, t->name);
        ck_assert_msg(t->type == s->type, "%s", t->name);
        ck_assert_msg(t->parts[0].xxh3 == s->parts[0].xxh3, "%s changed", t->name);
    }
    ck_assert_int_eq(find(a, "blk.1.attn_q.weight")->type, INGOT_DT_Q4);
    ck_assert_int_eq(find(a, "blk.4.ffn_up.weight")->type, INGOT_DT_Q4);
    ingot_artifact_free(a);
    ingot_artifact_free(src);
    runs_finite(out);
    rm_rf(d);
    free(out);
    free(d);
}

START_TEST(keep_int4) { keep_for(INGOT_QUANT_INT4); }
END_TEST
START_TEST(keep_awq4) { keep_for(INGOT_QUANT_AWQ4); }
END_TEST

/* ------------------------------------------------------------ tied embeddings */

START_TEST(tied_head_type)
{
    if (!ingot_file_exists(qwen_dir)) {
        printf("SKIP: %s not found (set INGOT_MODELS)\n", qwen_dir);
        return;
    }
    char *d = make_case_dir(tmp), *out = path_in(d, "q.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    o.head_type = INGOT_DT_Q8;
    quantize_ok(qwen_dir, out, &o);
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(out, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert(!a->config.tied_embeddings);
    ck_assert_int_eq(find(a, "output.weight")->type, INGOT_DT_Q8);
    ck_assert_int_eq(find(a, "token_embd.weight")->type, INGOT_DT_BF16);
    ck_assert_int_eq(find(a, "blk.0.attn_q.bias")->type, INGOT_DT_BF16);
    ingot_artifact_free(a);
    runs_finite(out);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ quality */

#define Q_CHUNKS 6
#define Q_CTX 128

struct kld { double mean; int finite; };

/* Mean KL(ref || q) over Q_CHUNKS chunks of Q_CTX tokens of eval.txt. */
static struct kld kld_vs_ref(const char *ref_path, const char *q_path)
{
    ingot_error err = {0};
    ingot_model *r = ingot_model_open(ref_path, &err), *q = ingot_model_open(q_path, &err);
    ck_assert_msg(r && q, "%s", err.message);
    ingot_context *rc = ingot_context_create(r, Q_CTX, 0, &err), *qc = ingot_context_create(q, Q_CTX, 0, &err);
    char *text;
    size_t len, n;
    int32_t *ids;
    slurp(eval_txt, &text, &len);
    ck_assert_int_eq(ingot_tokenize(r, text, len, 0, &ids, &n, &err), 0);
    ck_assert_uint_ge(n, Q_CHUNKS * Q_CTX);
    int vocab = r->cfg.vocab_size;
    float *lr = malloc((size_t)Q_CTX * vocab * sizeof(float)), *lq = malloc((size_t)Q_CTX * vocab * sizeof(float));
    struct kld k = {0, 1};
    long count = 0;
    for (int ch = 0; ch < Q_CHUNKS; ch++) {
        /* chunks spread over the text */
        const int32_t *tok = ids + (size_t)ch * (n / Q_CHUNKS);
        ck_assert_int_eq(ingot_context_eval(rc, tok, Q_CTX, 0, lr, 1, &err), 0);
        ck_assert_int_eq(ingot_context_eval(qc, tok, Q_CTX, 0, lq, 1, &err), 0);
        for (int t = 0; t < Q_CTX; t++, count++) {
            const float *a = lr + (size_t)t * vocab, *b = lq + (size_t)t * vocab;
            double ma = a[0], mb = b[0], sa = 0, sb = 0, kl = 0;
            for (int i = 0; i < vocab; i++) {
                ma = a[i] > ma ? a[i] : ma;
                mb = b[i] > mb ? b[i] : mb;
                k.finite &= isfinite(b[i]);
            }
            for (int i = 0; i < vocab; i++) {
                sa += exp(a[i] - ma);
                sb += exp(b[i] - mb);
            }
            double la = ma + log(sa), lb = mb + log(sb);
            for (int i = 0; i < vocab; i++)
                kl += exp(a[i] - la) * ((a[i] - la) - (b[i] - lb));
            k.mean += kl;
        }
    }
    k.mean /= (double)count;
    free(lr);
    free(lq);
    free(ids);
    free(text);
    ingot_context_free(rc);
    ingot_context_free(qc);
    ingot_model_free(r);
    ingot_model_free(q);
    return k;
}

START_TEST(quality_orderings)
{
    char *d = make_case_dir(tmp);
    char *p8 = path_in(d, "int8.ingot"), *p4 = path_in(d, "int4.ingot"), *pa = path_in(d, "awq4.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT8;
    quantize_ok(bf16, p8, &o);
    o.type = INGOT_QUANT_INT4;
    quantize_ok(bf16, p4, &o);
    quick_awq(&o);
    o.calib_samples = 16;
    o.calib_len = 256;
    o.loss_samples = 4;
    quantize_ok(bf16, pa, &o);
    struct kld k8 = kld_vs_ref(bf16, p8), k4 = kld_vs_ref(bf16, p4), ka = kld_vs_ref(bf16, pa);
    printf("quality (%d x %d tokens of eval.txt): KLD int8 %.6f, int4 %.6f, awq4 %.6f\n", Q_CHUNKS,
           Q_CTX, k8.mean, k4.mean, ka.mean);
    ck_assert(k8.finite && k4.finite && ka.finite);
    ck_assert_msg(k8.mean <= 0.002, "int8 KLD %g", k8.mean);
    ck_assert_msg(ka.mean < k4.mean, "awq4 KLD %g is not below int4's %g", ka.mean, k4.mean);
    rm_rf(d);
    free(p8);
    free(p4);
    free(pa);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ v -> o */

/*
 * The same model with every key/value head repeated for the query heads
 * that share it: multi-head attention computing exactly what the grouped
 * one did, whose v_proj and o_proj have the same shape, so AWQ also scales
 * v -> o (and divides the v bias, for qwen2).
 */
static uint8_t *repeat_heads(const ingot_st_tensor *t, int group, int head_rows)
{
    size_t row = t->ndim == 2 ? (size_t)t->shape[1] * 2 : 2, heads = (size_t)t->shape[0] / head_rows;
    uint8_t *out = malloc(t->size * group);
    for (size_t h = 0; h < heads * group; h++)
        memcpy(out + h * head_rows * row, t->data + h / group * head_rows * row, head_rows * row);
    return out;
}

static char *expanded_checkpoint(const char *src_dir, const char *dir)
{
    char *ck = path_in(dir, "mha"), *cfg_in = path_in(src_dir, "config.json");
    mkdir(ck, 0755);
    json_t *cfg = json_load_file(cfg_in, 0, NULL);
    int nh = (int)json_integer_value(json_object_get(cfg, "num_attention_heads"));
    int group = nh / (int)json_integer_value(json_object_get(cfg, "num_key_value_heads"));
    int hd = (int)json_integer_value(json_object_get(cfg, "hidden_size")) / nh;
    json_object_set_new(cfg, "num_key_value_heads", json_integer(nh));
    char *cfg_out = path_in(ck, "config.json");
    ck_assert_int_eq(json_dump_file(cfg, cfg_out, JSON_INDENT(2)), 0);
    json_decref(cfg);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cp '%s/tokenizer.json' '%s/tokenizer_config.json' '%s/'", src_dir, src_dir, ck);
    ck_assert_int_eq(system(cmd), 0);
    ingot_error err = {0};
    ingot_st_set *st = ingot_st_set_open(src_dir, &err);
    int n = ingot_st_set_count(st);
    ingot_st_tensor *ts = calloc((size_t)n, sizeof *ts);
    uint8_t **owned = calloc((size_t)n, sizeof *owned);
    for (int i = 0; i < n; i++) {
        ts[i] = *ingot_st_set_at(st, i);
        if (!strstr(ts[i].name, "k_proj") && !strstr(ts[i].name, "v_proj"))
            continue;
        ts[i].data = owned[i] = repeat_heads(&ts[i], group, hd);
        ts[i].shape[0] *= group;
        ts[i].size *= group;
    }
    char *stp = path_in(ck, "model.safetensors");
    ck_assert_msg(ingot_st_write(stp, ts, n, NULL, &err) == 0, "%s", err.message);
    for (int i = 0; i < n; i++)
        free(owned[i]);
    free(owned);
    free(ts);
    ingot_st_set_free(st);
    free(stp);
    free(cfg_in);
    free(cfg_out);
    return ck;
}

START_TEST(awq_scales_v_into_o)
{
    bool qwen = ingot_file_exists(qwen_dir);
    char *d = make_case_dir(tmp), *ck = expanded_checkpoint(qwen ? qwen_dir : model_dir, d);
    char *base = path_in(d, "mha.ingot"), *out = path_in(d, "q.ingot");
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(ck, base, NULL, NULL, &err) == 0, "%s", err.message);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    quick_awq(&o);
    o.calib_samples = 4;
    o.calib_len = 128;
    o.loss_samples = 2;
    quantize_ok(base, out, &o);
    json_t *m = manifest_of(out);
    size_t i;
    json_t *l;
    int scaled = 0;
    json_array_foreach(jget(m, "quantization.layers"), i, l) {
        json_t *vo = json_array_get(json_object_get(l, "scales"), 1);
        ck_assert_ptr_null(json_object_get(vo, "skipped"));
        scaled += json_real_value(json_object_get(vo, "alpha")) > 0;
    }
    printf("v -> o scaled (alpha > 0) in %d layers of %s\n", scaled, qwen ? "small-qwen2" : "tiny-llama");
    ck_assert_int_gt(scaled, 0);
    json_decref(m);
    ingot_artifact *a = ingot_artifact_open(out, &err);
    ck_assert_int_eq(find(a, "blk.0.attn_v.weight")->type, INGOT_DT_Q4);
    if (qwen) /* the v bias took 1/s */
        ck_assert_int_eq(find(a, "blk.0.attn_v.bias")->type, INGOT_DT_F32);
    ingot_artifact_free(a);
    /* a wrong fold (weights or bias) would wreck the outputs: compare with plain int4 */
    char *rtn = path_in(d, "int4.ingot");
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    quantize_ok(base, rtn, &o);
    struct kld q = kld_vs_ref(base, out), r = kld_vs_ref(base, rtn);
    printf("v -> o: KLD against the MHA model: awq4 %.6f, int4 %.6f\n", q.mean, r.mean);
    ck_assert(q.finite);
    ck_assert_msg(q.mean < r.mean, "awq4 KLD %g, int4 %g", q.mean, r.mean);
    free(rtn);
    rm_rf(d);
    free(base);
    free(out);
    free(ck);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ main */

static void setup_paths(void)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    snprintf(model_dir, sizeof model_dir, "%s/models/tiny-llama", top);
    const char *shared = getenv("INGOT_MODELS");
    snprintf(qwen_dir, sizeof qwen_dir, "%s/small-qwen2", shared ? shared : "../shared/models");
    snprintf(calib, sizeof calib, "%s/calib.txt", model_dir);
    snprintf(eval_txt, sizeof eval_txt, "%s/eval.txt", model_dir);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp, sizeof tmp, "%s/ingot-quant-XXXXXX", base);
    if (!mkdtemp(tmp))
        abort();
    snprintf(bf16, sizeof bf16, "%s/tiny.ingot", tmp);
    ingot_error err = {0};
    if (ingot_convert(model_dir, bf16, NULL, NULL, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        abort();
    }
}


/* ------------------------------------------------------------ --target-bpw */

/* One tensor's candidates as (bytes, kld) pairs, for the allocator tests. */
static ingot_alloc_item item(int n, const uint64_t *bytes, const double *kld)
{
    ingot_alloc_item it = {.name = "t", .n_cand = n};
    for (int i = 0; i < n; i++)
        it.cand[i] = (ingot_qcand){.type = INGOT_DT_Q4, .bytes = bytes[i], .kld = kld[i]};
    return it;
}

START_TEST(bitalloc_budget_and_hull)
{
    /* candidate 1 lies above the hull of 0 and 2: the walk goes 0 -> 2 */
    const uint64_t b[] = {100, 150, 200, 400};
    const double k0[] = {1.0, 0.9, 0.2, 0.0}, k1[] = {0.5, 0.3, 0.2, 0.0};
    ingot_alloc_item it[2] = {item(4, b, k0), item(4, b, k1)};
    uint64_t used;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_bitalloc(it, 2, 200, &used, &err), 0); /* just the smallest */
    ck_assert_int_eq(it[0].choice, 0);
    ck_assert_int_eq(it[1].choice, 0);
    ck_assert_int_eq(used, 200);
    ck_assert_int_eq(ingot_bitalloc(it, 2, 300, &used, &err), 0);
    ck_assert_int_eq(it[0].choice, 2); /* 0.8 saved per 100 bytes beats 0.2 per 50 */
    ck_assert_int_eq(it[1].choice, 0);
    ck_assert_uint_le(used, 300);
    ck_assert_int_eq(ingot_bitalloc(it, 2, 800, &used, &err), 0); /* room for everything */
    ck_assert_int_eq(it[0].choice, 3);
    ck_assert_int_eq(it[1].choice, 3);
    ck_assert_int_eq(ingot_bitalloc(it, 2, 199, &used, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
}
END_TEST

/* The manifest's allocation agrees with the tensors written, and fits the target. */
static double check_allocation(const char *out, double target, const char *measure)
{
    json_t *m = manifest_of(out), *a = jget(m, "quantization.allocation");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(json_string_value(json_object_get(a, "measure")), measure);
    double bpw = json_number_value(json_object_get(a, "bits_per_weight"));
    ck_assert_msg(bpw <= target && bpw > target - 0.5, "%g bits for a target of %g", bpw, target);
    ingot_error err = {0};
    ingot_artifact *art = ingot_artifact_open(out, &err);
    ck_assert_ptr_nonnull(art);
    size_t i;
    json_t *t;
    double sum = 0;
    json_array_foreach(json_object_get(a, "tensors"), i, t) {
        const ingot_tensor *x = find(art, json_string_value(json_object_get(t, "name")));
        ck_assert_str_eq(ingot_dtype_name(x->type), json_string_value(json_object_get(t, "type")));
        if (x->type == INGOT_DT_Q4)
            ck_assert_int_eq(x->group_size, json_integer_value(json_object_get(t, "group_size")));
        double k = json_number_value(json_object_get(t, "kld"));
        ck_assert(k >= 0 && isfinite(k));
        sum += k;
    }
    ck_assert_int_eq(i, 44); /* 6 layers x 7 linears, the embedding and the head */
    double pred = json_number_value(json_object_get(a, "predicted_kld"));
    ck_assert_double_eq_tol(pred, sum, 1e-9 + 1e-9 * sum);
    ingot_artifact_free(art);
    json_decref(m);
    return pred;
}

START_TEST(target_bpw_meets_budget)
{
    char *d = make_case_dir(tmp), *lo = path_in(d, "lo.ingot"), *hi = path_in(d, "hi.ingot");
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    o.calib_path = calib;
    o.calib_samples = 2;
    o.calib_len = 64;
    o.target_bpw = 5.0;
    quantize_ok(bf16, lo, &o);
    o.target_bpw = 9.0;
    o.target_measure = INGOT_MEASURE_PROXY; /* one measured format per tensor, the others scaled */
    quantize_ok(bf16, hi, &o);
    runs_finite(lo);
    /* more bits, less predicted loss; and the measurement saw a real loss */
    double k_lo = check_allocation(lo, 5.0, "exact"), k_hi = check_allocation(hi, 9.0, "proxy");
    ck_assert_msg(k_hi < k_lo && k_lo > 1e-3, "%g at 9 bits, %g at 5", k_hi, k_lo);
    rm_rf(d);
    free(lo);
    free(hi);
    free(d);
}
END_TEST

START_TEST(target_bpw_errors)
{
    char *d = make_case_dir(tmp);
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = INGOT_QUANT_INT4;
    o.target_bpw = 5.0;
    quantize_fails(bf16, d, &o, INGOT_ERR_ARG, "calibration", NULL);
    o.calib_path = calib;
    o.calib_samples = 2;
    o.calib_len = 64;
    o.type = INGOT_QUANT_NF4;
    quantize_fails(bf16, d, &o, INGOT_ERR_ARG, "int4", "nf4");
    o.type = INGOT_QUANT_INT4;
    o.target_bpw = 3.0; /* below int4 g128 everywhere, norms as they are */
    quantize_fails(bf16, d, &o, INGOT_ERR_ARG, "smallest", "bits per weight");
    o.target_bpw = -1;
    quantize_fails(bf16, d, &o, INGOT_ERR_ARG, "bits per weight", NULL);
    o.target_bpw = 5.0;
    o.target_measure = 7;
    quantize_fails(bf16, d, &o, INGOT_ERR_ARG, "measure", NULL);
    rm_rf(d);
    free(d);
}
END_TEST

/* Replacing a tensor by its own values costs nothing; by a coarse copy, something. */
START_TEST(sensitivity_of_one_tensor)
{
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(bf16, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    ingot_calib c = load_calib(m, calib, 2, 64);
    ingot_sens *s = ingot_sens_create(m, &c, 0, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    const ingot_wmat *w = &m->layers[3].w_down;
    float *v = malloc((size_t)w->n_out * (size_t)w->n_in * sizeof(float));
    ingot_dequantize_ref(w, 0, w->n_out, v);
    ingot_wmat f = ingot_wmat_plain(INGOT_DT_F32, w->n_out, w->n_in, v);
    double same, coarse, head;
    ck_assert_int_eq(ingot_sens_kld(s, "blk.3.ffn_down.weight", &f, &same, &err), 0);
    ck_assert_msg(same >= 0 && same < 1e-7, "%g", same);
    for (size_t i = 0; i < (size_t)w->n_out * (size_t)w->n_in; i++)
        v[i] = roundf(v[i] * 16) / 16;
    ck_assert_int_eq(ingot_sens_kld(s, "blk.3.ffn_down.weight", &f, &coarse, &err), 0);
    ck_assert_msg(coarse > 1e-4, "%g", coarse);
    ck_assert_int_eq(ingot_sens_kld(s, "output.weight", &m->output, &head, &err), 0);
    ck_assert_msg(head < 1e-7, "%g", head);
    ck_assert_int_eq(ingot_sens_kld(s, "blk.9.ffn_down.weight", &f, &head, &err), -1);
    ck_assert_int_eq(ingot_sens_kld(s, "blk.3.norm", &f, &head, &err), -1);
    free(v);
    ingot_sens_free(s);
    ingot_calib_free(&c);
    ingot_model_free(m);
}
END_TEST

int main(void)
{
    setup_paths();
    Suite *s = suite_create("quantize");
    TCase *tc = tcase_create("formats");
    TCase *te = tcase_create("errors");
    TCase *tq = tcase_create("quality");
    tcase_set_timeout(tc, 300);
    tcase_set_timeout(te, 300);
    tcase_set_timeout(tq, 600);
    tcase_add_test(tc, int8_runs);
    tcase_add_test(tc, nf4_runs);
    tcase_add_test(tc, nf4_double_quant_runs);
    tcase_add_test(tc, int4_runs);
    tcase_add_test(tc, awq4_runs);
    tcase_add_test(tc, awq4_head_int8_runs);
    tcase_add_test(tc, from_checkpoint);
    tcase_add_test(tc, manifest_records_recipe);
    tcase_add_test(tc, manifest_double_quant);
    tcase_add_test(tc, deterministic_int4);
    tcase_add_test(tc, deterministic_awq4);
    tcase_add_test(tc, keep_int4);
    tcase_add_test(tc, keep_awq4);
    tcase_add_test(tc, tied_head_type);
    tcase_add_test(te, options_defaults);
    tcase_add_test(te, nan_in_source);
    tcase_add_test(te, extreme_int8);
    tcase_add_test(te, extreme_nf4);
    tcase_add_test(te, extreme_nf4_dq);
    tcase_add_test(te, extreme_int4);
    tcase_add_test(te, extreme_awq4);
    tcase_add_test(te, awq_overflow);
    tcase_add_test(te, target_bpw_errors);
    tcase_add_test(tc, target_bpw_meets_budget);
    tcase_add_test(tc, bitalloc_budget_and_hull);
    tcase_add_test(tc, sensitivity_of_one_tensor);
    tcase_add_test(te, group_size_not_dividing);
    tcase_add_test(te, awq4_needs_calib);
    tcase_add_test(te, missing_calib_file);
    tcase_add_test(te, empty_calib_text);
    tcase_add_test(te, short_calib_text);
    tcase_add_test(te, calib_directory_and_jsonl);
    tcase_add_test(te, interrupt_leaves_nothing);
    tcase_add_test(te, refuses_to_overwrite_input);
    tcase_add_test(tq, quality_orderings);
    tcase_add_test(tq, awq_scales_v_into_o);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, te);
    suite_add_tcase(s, tq);
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
