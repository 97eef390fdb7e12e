/*
 * test_export.c - ingot_export on tiny-llama: an hf export converts back to
 * the same tensors, bytes and config (single file and sharded); a quantized
 * artifact is dequantized with a note; an awq export of an int4 artifact
 * unpacks, with an unpacker written here from AutoAWQ's published code, to
 * exactly ingot's codes, zeros and f16 scales; errors leave nothing behind
 * and an existing output is replaced only when it is an export.
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
#include "model/tensor_map.h"
#include "util/util.h"
#include "tests/test_files.h"

static char model_dir[1024], tmp[512], bf16[600], int4[600], int4_g64[600], nf4[600];

/* ------------------------------------------------------------ helpers */

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int export_to(const char *in, const char *out, ingot_export_format fmt, uint64_t shard,
                     ingot_error *err)
{
    ingot_export_options o;
    ingot_export_options_init(&o);
    o.format = fmt;
    o.max_shard_bytes = shard;
    return ingot_export(in, out, &o, NULL, err);
}

static const uint8_t *member(const ingot_artifact *a, const char *name, size_t *len)
{
    const uint8_t *p = ingot_artifact_member(a, name, len);
    ck_assert_msg(p != NULL, "member %s missing", name);
    return p;
}

/* Every tensor of a equals b's: type, shape, group size, every part's bytes;
 * the config and every stored HF file too. */
static void assert_same_artifacts(const char *pa, const char *pb)
{
    ingot_error err = {0};
    ingot_artifact *a = ingot_artifact_open(pa, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    ingot_artifact *b = ingot_artifact_open(pb, &err);
    ck_assert_msg(b != NULL, "%s", err.message);
    ck_assert_int_eq(a->n_tensors, b->n_tensors);
    for (int i = 0; i < a->n_tensors; i++) {
        const ingot_tensor *ta = &a->tensors[i];
        const ingot_tensor *tb = ingot_artifact_find(b, ta->name);
        ck_assert_msg(tb != NULL, "%s missing", ta->name);
        ck_assert_int_eq(ta->type, tb->type);
        ck_assert_int_eq(ta->ndim, tb->ndim);
        for (int d = 0; d < ta->ndim; d++)
            ck_assert_int_eq(ta->shape[d], tb->shape[d]);
        ck_assert_int_eq(ta->n_parts, tb->n_parts);
        for (int p = 0; p < ta->n_parts; p++) {
            const ingot_part *q = ingot_tensor_part(tb, ta->parts[p].role);
            ck_assert_ptr_nonnull(q);
            ck_assert_uint_eq(ta->parts[p].size, q->size);
            ck_assert_msg(memcmp(ta->parts[p].data, q->data, q->size) == 0, "%s: bytes differ",
                          ta->name);
        }
    }
    ck_assert(json_equal(json_object_get(a->manifest, "config"),
                         json_object_get(b->manifest, "config")));
    json_t *files = json_object_get(a->manifest, "files");
    ck_assert(json_equal(files, json_object_get(b->manifest, "files")));
    const char *name;
    json_t *v;
    json_object_foreach(files, name, v) {
        const char *m, *x;
        ck_assert_int_eq(ingot_artifact_file_entry(v, &m, &x), 0);
        size_t la, lb;
        const uint8_t *da = member(a, m, &la), *db = member(b, m, &lb);
        ck_assert_uint_eq(la, lb);
        ck_assert_msg(memcmp(da, db, la) == 0, "%s differs", name);
    }
    ingot_artifact_free(a);
    ingot_artifact_free(b);
}

/* ------------------------------------------------------------ hf */

START_TEST(options_defaults)
{
    ingot_export_options o;
    memset(&o, 0x5a, sizeof o);
    ingot_export_options_init(&o);
    ck_assert_int_eq(o.format, INGOT_EXPORT_HF);
    ck_assert_uint_eq(o.max_shard_bytes, 5000000000ULL);
    ck_assert_ptr_null(o.progress);
    ck_assert_ptr_null(o.note);
    ck_assert(o.cancel == NULL);
    for (size_t i = 0; i < sizeof o.reserved / sizeof o.reserved[0]; i++)
        ck_assert_ptr_null(o.reserved[i]);
    ck_assert_str_eq(ingot_export_format_name(INGOT_EXPORT_AWQ), "awq");
    ck_assert_int_eq(ingot_export_format_from_name("hf"), INGOT_EXPORT_HF);
    ck_assert_int_eq(ingot_export_format_from_name("gguf"), INGOT_EXPORT_GGUF);
    ck_assert_int_eq(ingot_export_format_from_name("bnb"), INGOT_EXPORT_BNB);
    ck_assert_int_eq(ingot_export_format_from_name("exl2"), -1);
}
END_TEST

START_TEST(hf_round_trip)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "hf"), *back = path_in(t, "back.ingot");
    ingot_error err = {0};
    char *summary = NULL;
    ingot_export_options o;
    ingot_export_options_init(&o);
    ck_assert_msg(ingot_export(bf16, out, &o, &summary, &err) == 0, "%s", err.message);
    ck_assert_ptr_nonnull(summary);
    ck_assert_ptr_nonnull(strstr(summary, "\"shards\": 1"));
    free(summary);
    char *st = path_in(out, "model.safetensors");
    ck_assert(exists(st));
    char *idx = path_in(out, "model.safetensors.index.json");
    ck_assert(!exists(idx));
    /* the original checkpoint's config.json, byte for byte */
    char *cfg = path_in(out, "config.json"), *orig = path_in(model_dir, "config.json");
    size_t n1, n2;
    char *c1 = NULL, *c2 = NULL;
    ck_assert_int_eq(ingot_read_file(cfg, 1 << 20, &c1, &n1, &err), 0);
    ck_assert_int_eq(ingot_read_file(orig, 1 << 20, &c2, &n2, &err), 0);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(c1, c2, n1) == 0);
    ck_assert_msg(ingot_convert(out, back, NULL, NULL, &err) == 0, "%s", err.message);
    assert_same_artifacts(bf16, back);
    free(c1);
    free(c2);
    free(cfg);
    free(orig);
    free(st);
    free(idx);
    free(back);
    free(out);
    free(t);
}
END_TEST

START_TEST(hf_sharded)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "hf"), *back = path_in(t, "back.ingot");
    ingot_error err = {0};
    ck_assert_msg(export_to(bf16, out, INGOT_EXPORT_HF, 3000000, &err) == 0, "%s", err.message);
    /* 12.5 MB of tensors: 2 MB embedding + layers + 2 MB head into 3 MB shards */
    char *idx = path_in(out, "model.safetensors.index.json");
    json_error_t je;
    json_t *j = json_load_file(idx, 0, &je);
    ck_assert_ptr_nonnull(j);
    json_t *map = json_object_get(j, "weight_map");
    ck_assert_int_eq(json_object_size(map), 57);
    const char *k;
    json_t *v;
    uint64_t total = 0;
    int n_files = 0;
    json_object_foreach(map, k, v) {
        char *p = path_in(out, json_string_value(v));
        ingot_st_file *f = ingot_st_open(p, &err);
        ck_assert_msg(f != NULL, "%s", err.message);
        const ingot_st_tensor *st = ingot_st_file_find(f, k);
        ck_assert_ptr_nonnull(st);
        total += st->size;
        ingot_st_close(f);
        free(p);
    }
    ck_assert_uint_eq(total, (uint64_t)json_integer_value(
                                 json_object_get(json_object_get(j, "metadata"), "total_size")));
    DIR *d = opendir(out);
    struct dirent *e;
    int shards = 0;
    while ((e = readdir(d))) {
        if (strstr(e->d_name, ".safetensors") && !strstr(e->d_name, ".json")) {
            shards++;
            char *p = path_in(out, e->d_name);
            struct stat s;
            ck_assert_int_eq(stat(p, &s), 0);
            ck_assert_msg(s.st_size <= 3000000 + 16384, "%s too large", e->d_name);
            free(p);
        }
        n_files++;
    }
    closedir(d);
    ck_assert_int_ge(shards, 4);
    char first[64];
    snprintf(first, sizeof first, "model-00001-of-%05d.safetensors", shards);
    char *fp = path_in(out, first);
    ck_assert_msg(exists(fp), "%s missing", first);
    ck_assert_msg(ingot_convert(out, back, NULL, NULL, &err) == 0, "%s", err.message);
    assert_same_artifacts(bf16, back);
    json_decref(j);
    free(fp);
    free(idx);
    free(back);
    free(out);
    free(t);
}
END_TEST

static void count_note(void *user, const char *msg)
{
    (*(int *)user)++;
    ck_assert_ptr_nonnull(strstr(msg, "dequantized to bf16"));
}

START_TEST(hf_dequantizes)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "hf");
    ingot_error err = {0};
    int notes = 0;
    ingot_export_options o;
    ingot_export_options_init(&o);
    o.note = count_note;
    o.note_user = &notes;
    ck_assert_msg(ingot_export(int4, out, &o, NULL, &err) == 0, "%s", err.message);
    ck_assert_int_eq(notes, 1);
    ingot_artifact *a = ingot_artifact_open(int4, &err);
    ck_assert_ptr_nonnull(a);
    const ingot_tensor *q = ingot_artifact_find(a, "blk.2.ffn_down.weight");
    ck_assert_int_eq(q->type, INGOT_DT_Q4);
    char *p = path_in(out, "model.safetensors");
    ingot_st_file *f = ingot_st_open(p, &err);
    ck_assert_ptr_nonnull(f);
    const ingot_st_tensor *st = ingot_st_file_find(f, "model.layers.2.mlp.down_proj.weight");
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(st->dtype, INGOT_DT_BF16);
    /* w = (q - zero) * scale, rounded to bf16 */
    const uint8_t *qs = ingot_tensor_part(q, "qs")->data;
    const uint16_t *sc = (const uint16_t *)ingot_tensor_part(q, "scales")->data;
    const uint8_t *zr = ingot_tensor_part(q, "zeros")->data;
    int64_t n_out = q->shape[0], n_in = q->shape[1], g = 128;
    for (int64_t o2 = 0; o2 < n_out; o2 += 37)
        for (int64_t k = 0; k < n_in; k++) {
            int code = (qs[o2 * n_in / 2 + k / 2] >> (4 * (k & 1))) & 15;
            float w = (float)(code - zr[o2 * (n_in / g) + k / g]) *
                      ingot_f16_to_f32(sc[o2 * (n_in / g) + k / g]);
            uint16_t got;
            memcpy(&got, st->data + 2 * (o2 * n_in + k), 2);
            ck_assert_uint_eq(got, ingot_f32_to_bf16(w));
        }
    ingot_st_close(f);
    ingot_artifact_free(a);
    free(p);
    free(out);
    free(t);
}
END_TEST

/* ------------------------------------------------------------ awq */

/*
 * An AutoAWQ GEMM unpacker written from AutoAWQ's own code, independently of
 * export/awq_pack.c: awq/utils/packing_utils.py, unpack_awq (nibble j of a
 * packed int32 is (x >> 4j) & 15, columns 8c + j) followed by
 * reverse_awq_order (column 8c + m takes unpacked column 8c +
 * AWQ_REVERSE_ORDER[m]), as dequantize_gemm uses them.
 */
static const int AWQ_REVERSE_ORDER[8] = {0, 4, 1, 5, 2, 6, 3, 7};

static int awq_unpack(const uint8_t *packed, int64_t cols8, int64_t row, int64_t col)
{
    int64_t c = col / 8, m = col % 8;
    uint32_t x;
    memcpy(&x, packed + 4 * (row * cols8 + c), 4);
    return (int)((x >> (4 * AWQ_REVERSE_ORDER[m])) & 15u);
}

static const ingot_st_tensor *st_find(ingot_st_file *f, const char *name, ingot_dtype dt,
                                      int64_t d0, int64_t d1)
{
    const ingot_st_tensor *t = ingot_st_file_find(f, name);
    ck_assert_msg(t != NULL, "%s missing", name);
    ck_assert_int_eq(t->dtype, dt);
    ck_assert_int_eq(t->ndim, d1 ? 2 : 1);
    ck_assert_int_eq(t->shape[0], d0);
    if (d1)
        ck_assert_int_eq(t->shape[1], d1);
    return t;
}

static void check_awq(const char *art, int g)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "awq");
    ingot_error err = {0};
    ck_assert_msg(export_to(art, out, INGOT_EXPORT_AWQ, 0, &err) == 0, "%s", err.message);
    ingot_artifact *a = ingot_artifact_open(art, &err);
    ck_assert_ptr_nonnull(a);
    char *p = path_in(out, "model.safetensors");
    ingot_st_file *f = ingot_st_open(p, &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    ingot_tensor_spec *specs;
    int n;
    ck_assert_int_eq(ingot_tensor_specs(&a->config, &specs, &n, &err), 0);
    int count = 0;
    for (int i = 0; i < n; i++) {
        const ingot_tensor *q = ingot_artifact_find(a, specs[i].name);
        ck_assert_ptr_nonnull(q);
        if (specs[i].kind != INGOT_TK_LINEAR) {
            /* everything else f16, from the stored floats */
            const ingot_st_tensor *s = st_find(f, specs[i].hf_name, INGOT_DT_F16,
                                               specs[i].shape[0], specs[i].shape[1]);
            const uint16_t *src = (const uint16_t *)q->parts[0].data;
            for (uint64_t e = 0; e < s->size / 2; e += 7) {
                float v = q->type == INGOT_DT_BF16 ? ingot_bf16_to_f32(src[e])
                                                   : ((const float *)(const void *)src)[e];
                uint16_t got;
                memcpy(&got, s->data + 2 * e, 2);
                ck_assert_uint_eq(got, ingot_f32_to_f16(v));
            }
            count++;
            continue;
        }
        ck_assert_int_eq(q->type, INGOT_DT_Q4);
        int64_t n_out = q->shape[0], n_in = q->shape[1], ng = n_in / g;
        char name[200];
        size_t base = strlen(specs[i].hf_name) - strlen(".weight");
        snprintf(name, sizeof name, "%.*s.qweight", (int)base, specs[i].hf_name);
        const ingot_st_tensor *qw = st_find(f, name, INGOT_DT_I32, n_in, n_out / 8);
        snprintf(name, sizeof name, "%.*s.qzeros", (int)base, specs[i].hf_name);
        const ingot_st_tensor *qz = st_find(f, name, INGOT_DT_I32, ng, n_out / 8);
        snprintf(name, sizeof name, "%.*s.scales", (int)base, specs[i].hf_name);
        const ingot_st_tensor *sc = st_find(f, name, INGOT_DT_F16, ng, n_out);
        count += 3;
        const uint8_t *qs = ingot_tensor_part(q, "qs")->data;
        const uint16_t *scales = (const uint16_t *)ingot_tensor_part(q, "scales")->data;
        const uint8_t *zeros = ingot_tensor_part(q, "zeros")->data;
        /* qweight is (in, out): [k][o] is ingot's code of row o, input k */
        for (int64_t o = 0; o < n_out; o++)
            for (int64_t k = 0; k < n_in; k++) {
                int want = (qs[o * (n_in / 2) + k / 2] >> (4 * (k & 1))) & 15;
                ck_assert_int_eq(awq_unpack(qw->data, n_out / 8, k, o), want);
            }
        for (int64_t o = 0; o < n_out; o++)
            for (int64_t gi = 0; gi < ng; gi++) {
                ck_assert_int_eq(awq_unpack(qz->data, n_out / 8, gi, o), zeros[o * ng + gi]);
                uint16_t s;
                memcpy(&s, sc->data + 2 * (gi * n_out + o), 2);
                ck_assert_uint_eq(s, scales[o * ng + gi]);
            }
    }
    ck_assert_int_eq(count, ingot_st_file_count(f));
    /* config.json: f16 and AutoAWQ's quantization_config */
    char *cp = path_in(out, "config.json");
    json_error_t je;
    json_t *c = json_load_file(cp, 0, &je);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(json_string_value(json_object_get(c, "torch_dtype")), "float16");
    json_t *qc = json_object_get(c, "quantization_config");
    ck_assert_str_eq(json_string_value(json_object_get(qc, "quant_method")), "awq");
    ck_assert_int_eq(json_integer_value(json_object_get(qc, "bits")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(qc, "group_size")), g);
    ck_assert(json_is_true(json_object_get(qc, "zero_point")));
    ck_assert_str_eq(json_string_value(json_object_get(qc, "version")), "gemm");
    ck_assert_str_eq(json_string_value(json_object_get(c, "model_type")), "llama");
    char *tok = path_in(out, "tokenizer.json");
    ck_assert(exists(tok));
    json_decref(c);
    free(tok);
    free(cp);
    free(specs);
    ingot_st_close(f);
    ingot_artifact_free(a);
    free(p);
    free(out);
    free(t);
}

START_TEST(awq_round_trip)
{
    check_awq(int4, 128);
}
END_TEST

START_TEST(awq_round_trip_g64)
{
    check_awq(int4_g64, 64);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(awq_refuses_other_formats)
{
    const char *ins[] = {nf4, bf16};
    const char *names[] = {"nf4", "bf16"};
    for (int i = 0; i < 2; i++) {
        char *t = make_case_dir(tmp), *out = path_in(t, "awq");
        ingot_error err = {0};
        ck_assert_int_eq(export_to(ins[i], out, INGOT_EXPORT_AWQ, 0, &err), -1);
        ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
        ck_assert_ptr_null(strchr(err.message, '\n'));
        ck_assert_msg(strstr(err.message, "int4 or awq4") && strstr(err.message, names[i]),
                      "%s", err.message);
        ck_assert_int_eq(dir_entries(t), 0);
        free(out);
        free(t);
    }
}
END_TEST

START_TEST(existing_output)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "hf");
    ingot_error err = {0};
    /* an earlier export is replaced */
    ck_assert_int_eq(export_to(bf16, out, INGOT_EXPORT_HF, 0, &err), 0);
    char *stale = path_in(out, "stale.json");
    write_text(stale, "{}\n");
    ck_assert_msg(export_to(int4, out, INGOT_EXPORT_AWQ, 0, &err) == 0, "%s", err.message);
    ck_assert(!exists(stale));
    ck_assert_int_eq(dir_entries(t), 1);
    /* a failure leaves it as it was */
    char *cfg = path_in(out, "config.json");
    struct stat s1, s2;
    ck_assert_int_eq(stat(cfg, &s1), 0);
    ck_assert_int_eq(export_to(nf4, out, INGOT_EXPORT_AWQ, 0, &err), -1);
    ck_assert_int_eq(stat(cfg, &s2), 0);
    ck_assert_int_eq(s1.st_ino, s2.st_ino);
    ck_assert_int_eq(dir_entries(t), 1);
    /* a directory holding something else is not replaced */
    char *other = path_in(t, "other"), *keep = path_in(other, "notes.md");
    ck_assert_int_eq(mkdir(other, 0755), 0);
    write_text(keep, "mine\n");
    ck_assert_int_eq(export_to(bf16, other, INGOT_EXPORT_HF, 0, &err), -1);
    ck_assert_msg(strstr(err.message, "notes.md") != NULL, "%s", err.message);
    ck_assert_int_eq(dir_entries(other), 1);
    /* nor a regular file */
    char *file = path_in(t, "file");
    write_text(file, "x\n");
    ck_assert_int_eq(export_to(bf16, file, INGOT_EXPORT_HF, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not a directory"));
    ck_assert_int_eq(dir_entries(t), 3);
    free(file);
    free(keep);
    free(other);
    free(cfg);
    free(stale);
    free(out);
    free(t);
}
END_TEST

static volatile int cancel_flag;

static void cancel_midway(void *user, const char *stage, uint64_t done, uint64_t total)
{
    (void)user;
    (void)stage;
    if (done > total / 2)
        cancel_flag = 1;
}

START_TEST(interrupt_leaves_nothing)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "hf");
    ingot_error err = {0};
    ingot_export_options o;
    ingot_export_options_init(&o);
    o.max_shard_bytes = 3000000;
    o.progress = cancel_midway;
    o.cancel = &cancel_flag;
    cancel_flag = 0;
    ck_assert_int_eq(ingot_export(bf16, out, &o, NULL, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_INTERRUPTED);
    ck_assert_int_eq(dir_entries(t), 0);
    free(out);
    free(t);
}
END_TEST

START_TEST(bad_input)
{
    char *t = make_case_dir(tmp), *out = path_in(t, "hf");
    ingot_error err = {0};
    ck_assert_int_eq(export_to("/nonexistent.ingot", out, INGOT_EXPORT_HF, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent.ingot"));
    ck_assert_int_eq(dir_entries(t), 0);
    /* the input inside the output directory: refused, input kept */
    char *in = path_in(t, "model.safetensors");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", bf16, in);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(export_to(in, t, INGOT_EXPORT_HF, 0, &err), -1);
    ck_assert(exists(in));
    ck_assert_int_eq(dir_entries(t), 1);
    free(in);
    free(out);
    free(t);
}
END_TEST

/* ------------------------------------------------------------ main */

static void quantize(const char *out, ingot_quant_type type, int g)
{
    ingot_quantize_options o;
    ingot_quantize_options_init(&o);
    o.type = type;
    o.group_size = g;
    quantize_or_abort(bf16, out, &o);
}

static void setup_paths(void)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    snprintf(model_dir, sizeof model_dir, "%s/models/tiny-llama", top);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp, sizeof tmp, "%s/ingot-export-XXXXXX", base);
    if (!mkdtemp(tmp))
        abort();
    snprintf(bf16, sizeof bf16, "%s/tiny.ingot", tmp);
    snprintf(int4, sizeof int4, "%s/int4.ingot", tmp);
    snprintf(int4_g64, sizeof int4_g64, "%s/int4-g64.ingot", tmp);
    snprintf(nf4, sizeof nf4, "%s/nf4.ingot", tmp);
    convert_or_abort(model_dir, bf16);
    quantize(int4, INGOT_QUANT_INT4, 0);
    quantize(int4_g64, INGOT_QUANT_INT4, 64);
    quantize(nf4, INGOT_QUANT_NF4, 0);
}

int main(void)
{
    setup_paths();
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("export");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, options_defaults);
    tcase_add_test(tc, hf_round_trip);
    tcase_add_test(tc, hf_sharded);
    tcase_add_test(tc, hf_dequantizes);
    tcase_add_test(tc, awq_round_trip);
    tcase_add_test(tc, awq_round_trip_g64);
    tcase_add_test(tc, awq_refuses_other_formats);
    tcase_add_test(tc, existing_output);
    tcase_add_test(tc, interrupt_leaves_nothing);
    tcase_add_test(tc, bad_input);
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
