/*
 * test_convert.c - ingot_convert end to end: round trips of both models
 * (bit-exact bf16, correctly rounded f16/f32), determinism, and every bad
 * checkpoint failing with a one-line reason and no output file.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/st_set.h"
#include "convert/st_writer.h"
#include "model/tensor_map.h"
#include "artifact/artifact.h"
#include "util/util.h"
#include "tests/test_files.h"

static char model_dir[1024], qwen_dir[1024];

static void find_models(void)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    snprintf(model_dir, sizeof model_dir, "%s/models/tiny-llama", top);
    const char *shared = getenv("INGOT_MODELS");
    snprintf(qwen_dir, sizeof qwen_dir, "%s/small-qwen2", shared ? shared : "../shared/models");
}

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *t = malloc(strlen(base) + 32);
    sprintf(t, "%s/ingot-conv-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

/* Compares every converted tensor with its source, element by element. */
static void check_round_trip(const char *src_dir, ingot_dtype dt)
{
    char *d = make_tmpdir();
    char *out = ingot_path_join(d, "m.ingot");
    ingot_convert_options o;
    ingot_convert_options_init(&o);
    o.dtype = (int)dt;
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(src_dir, out, &o, NULL, &err) == 0, "%s", err.message);
    ingot_artifact *a = ingot_artifact_open(out, &err);
    ck_assert_msg(a != NULL, "%s", err.message);
    ingot_st_set *st = ingot_st_set_open(src_dir, &err);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(ingot_artifact_verify(a, NULL, NULL, &err), 0);
    ingot_tensor_spec *specs;
    int n;
    ck_assert_int_eq(ingot_tensor_specs(&a->config, &specs, &n, &err), 0);
    ck_assert_int_eq(a->n_tensors, n);
    for (int i = 0; i < n; i++) {
        const ingot_tensor *t = ingot_artifact_find(a, specs[i].name);
        const ingot_st_tensor *s = ingot_st_set_find(st, specs[i].hf_name);
        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(t->type, dt);
        const uint8_t *p = t->parts[0].data;
        uint64_t ne = s->size / 2;
        ck_assert_uint_eq(t->parts[0].size, ne * ingot_dtype_size(dt));
        /* count mismatches and assert once: a ck_assert per element costs a
         * message to Check's parent process each, minutes for small-qwen2 */
        uint64_t bad = 0, first_bad = 0;
        for (uint64_t k = 0; k < ne; k++) {
            uint16_t h;
            memcpy(&h, s->data + 2 * k, 2);
            float f = ingot_bf16_to_f32(h); /* sources are bf16 */
            bool same;
            if (dt == INGOT_DT_BF16) {
                uint16_t g;
                memcpy(&g, p + 2 * k, 2);
                same = g == h;
            } else if (dt == INGOT_DT_F16) {
                uint16_t g;
                memcpy(&g, p + 2 * k, 2);
                same = g == ingot_f32_to_f16(f);
            } else {
                float g;
                memcpy(&g, p + 4 * k, 4);
                same = g == f;
            }
            if (!same && bad++ == 0)
                first_bad = k;
        }
        ck_assert_msg(bad == 0, "%s: %llu of %llu elements differ, the first at %llu", specs[i].name,
                      (unsigned long long)bad, (unsigned long long)ne, (unsigned long long)first_bad);
    }
    free(specs);
    ingot_st_set_free(st);
    ingot_artifact_free(a);
    rm_rf(d);
    free(out);
    free(d);
}

START_TEST(round_trip_tiny_llama)
{
    check_round_trip(model_dir, INGOT_DT_BF16);
    check_round_trip(model_dir, INGOT_DT_F16);
    check_round_trip(model_dir, INGOT_DT_F32);
}
END_TEST

START_TEST(round_trip_small_qwen2)
{
    if (!ingot_file_exists(qwen_dir)) {
        printf("SKIP: %s not found (set INGOT_MODELS)\n", qwen_dir);
        return;
    }
    check_round_trip(qwen_dir, INGOT_DT_BF16);
    check_round_trip(qwen_dir, INGOT_DT_F16);
    check_round_trip(qwen_dir, INGOT_DT_F32);
}
END_TEST

START_TEST(deterministic)
{
    char *d = make_tmpdir();
    char *a = ingot_path_join(d, "a.ingot"), *b = ingot_path_join(d, "b.ingot");
    ingot_error err;
    ck_assert_int_eq(ingot_convert(model_dir, a, NULL, NULL, &err), 0);
    ck_assert_int_eq(ingot_convert(model_dir, b, NULL, NULL, &err), 0);
    char *x, *y;
    size_t lx, ly;
    slurp(a, &x, &lx);
    slurp(b, &y, &ly);
    ck_assert_uint_eq(lx, ly);
    ck_assert(memcmp(x, y, lx) == 0);
    free(x);
    free(y);
    rm_rf(d);
    free(a);
    free(b);
    free(d);
}
END_TEST

/* ---- crafted bad checkpoints: a copy of tiny-llama with one thing wrong ---- */

enum mutation { M_NONE, M_DROP, M_SHAPE, M_EXTRA, M_NAN, M_BAD_CONFIG, M_BAD_TOKENIZER, M_NO_TOKENIZER };

static void copy_file(const char *from, const char *to)
{
    char *buf;
    size_t len;
    slurp(from, &buf, &len);
    FILE *f = fopen(to, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
    free(buf);
}

static void write_in(const char *dir, const char *name, const char *text)
{
    char *p = ingot_path_join(dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static char *make_checkpoint(enum mutation mut)
{
    char *d = make_tmpdir();
    static const char *files[] = {"config.json", "tokenizer.json", "tokenizer_config.json",
                                  "generation_config.json"};
    for (size_t i = 0; i < 4; i++) {
        char *from = ingot_path_join(model_dir, files[i]), *to = ingot_path_join(d, files[i]);
        copy_file(from, to);
        free(from);
        free(to);
    }
    ingot_error err;
    ingot_st_set *st = ingot_st_set_open(model_dir, &err);
    ck_assert_ptr_nonnull(st);
    int n = ingot_st_set_count(st), k = 0;
    ingot_st_tensor *ts = calloc((size_t)n + 1, sizeof *ts);
    uint8_t *nan_copy = NULL;
    for (int i = 0; i < n; i++) {
        ingot_st_tensor t = *ingot_st_set_at(st, i);
        bool target = !strcmp(t.name, "model.layers.3.mlp.up_proj.weight");
        if (mut == M_DROP && target)
            continue;
        if (mut == M_SHAPE && target) {
            t.shape[1] /= 2;
            t.size /= 2;
        }
        if (mut == M_NAN && target) {
            nan_copy = malloc(t.size);
            memcpy(nan_copy, t.data, t.size);
            nan_copy[2 * 7] = 0xc0; /* element 7 = 0x7fc0, a bf16 NaN */
            nan_copy[2 * 7 + 1] = 0x7f;
            t.data = nan_copy;
        }
        ts[k++] = t;
    }
    if (mut == M_EXTRA) {
        ts[k] = *ingot_st_set_find(st, "model.norm.weight");
        ts[k++].name = "model.layers.0.mlp.extra.weight";
    }
    char *st_path = ingot_path_join(d, "model.safetensors");
    ck_assert_msg(ingot_st_write(st_path, ts, k, NULL, &err) == 0, "%s", err.message);
    free(st_path);
    free(nan_copy);
    free(ts);
    ingot_st_set_free(st);
    if (mut == M_BAD_CONFIG)
        write_in(d, "config.json", "{\"model_type\": \"gemma\", \"hidden_size\": 256}");
    if (mut == M_BAD_TOKENIZER)
        write_in(d, "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 99999}");
    if (mut == M_NO_TOKENIZER) {
        char *p = ingot_path_join(d, "tokenizer.json");
        unlink(p);
        free(p);
    }
    return d;
}

/* Converts dir into dir/out/m.ingot and expects failure with code and both strings. */
static void expect_failure(char *d, ingot_status code, const char *s1, const char *s2)
{
    char *outdir = ingot_path_join(d, "out");
    mkdir(outdir, 0755);
    char *out = ingot_path_join(outdir, "m.ingot");
    ingot_error err = {0};
    ck_assert_int_eq(ingot_convert(d, out, NULL, NULL, &err), -1);
    ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.message);
    ck_assert_msg(strstr(err.message, s1) != NULL, "'%s' not in: %s", s1, err.message);
    ck_assert_msg(!s2 || strstr(err.message, s2) != NULL, "'%s' not in: %s", s2, err.message);
    ck_assert_ptr_null(strchr(err.message, '\n'));
    ck_assert_int_eq(dir_entries(outdir), 0);
    rm_rf(d);
    free(out);
    free(outdir);
    free(d);
}

START_TEST(crafted_checkpoint_converts)
{
    char *d = make_checkpoint(M_NONE);
    char *out = ingot_path_join(d, "m.ingot");
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(d, out, NULL, NULL, &err) == 0, "%s", err.message);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

START_TEST(missing_tensor)
{
    expect_failure(make_checkpoint(M_DROP), INGOT_ERR_SHAPE, "model.layers.3.mlp.up_proj.weight", "missing");
}
END_TEST

START_TEST(misshaped_tensor)
{
    expect_failure(make_checkpoint(M_SHAPE), INGOT_ERR_SHAPE, "model.layers.3.mlp.up_proj.weight",
                   "expected shape [640, 256], found [640, 128]");
}
END_TEST

START_TEST(extra_tensor)
{
    expect_failure(make_checkpoint(M_EXTRA), INGOT_ERR_SHAPE, "model.layers.0.mlp.extra.weight", "unexpected");
}
END_TEST

START_TEST(nan_weight)
{
    expect_failure(make_checkpoint(M_NAN), INGOT_ERR_NONFINITE, "model.layers.3.mlp.up_proj.weight",
                   "NaN at element 7");
}
END_TEST

START_TEST(nan_weight_allowed)
{
    char *d = make_checkpoint(M_NAN);
    char *out = ingot_path_join(d, "m.ingot");
    ingot_convert_options o;
    ingot_convert_options_init(&o);
    o.allow_nonfinite = 1;
    ingot_error err = {0};
    ck_assert_msg(ingot_convert(d, out, &o, NULL, &err) == 0, "%s", err.message);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

START_TEST(nan_to_f16)
{
    /* f16 output must still refuse the NaN: the check is on the source */
    char *d = make_checkpoint(M_NAN);
    char *out = ingot_path_join(d, "m.ingot");
    ingot_convert_options o;
    ingot_convert_options_init(&o);
    o.dtype = INGOT_DT_F16;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_convert(d, out, &o, NULL, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_NONFINITE);
    ck_assert(!ingot_file_exists(out));
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

START_TEST(unsupported_model_type)
{
    expect_failure(make_checkpoint(M_BAD_CONFIG), INGOT_ERR_UNSUPPORTED, "config.json", "gemma");
}
END_TEST

START_TEST(invalid_tokenizer)
{
    expect_failure(make_checkpoint(M_BAD_TOKENIZER), INGOT_ERR_FORMAT, "tokenizer.json", NULL);
}
END_TEST

START_TEST(missing_tokenizer)
{
    expect_failure(make_checkpoint(M_NO_TOKENIZER), INGOT_ERR_IO, "tokenizer.json", "missing");
}
END_TEST

START_TEST(interrupt_leaves_nothing)
{
    char *d = make_tmpdir();
    char *out = ingot_path_join(d, "m.ingot");
    volatile int cancel = 1;
    ingot_convert_options o;
    ingot_convert_options_init(&o);
    o.cancel = &cancel;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_convert(model_dir, out, &o, NULL, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_INTERRUPTED);
    ck_assert_int_eq(dir_entries(d), 0);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

/* A full disk, as a file-size limit: the write fails, nothing is left, the old file survives. */
START_TEST(full_disk_leaves_old_file)
{
    char *d = make_tmpdir();
    char *out = ingot_path_join(d, "m.ingot");
    write_in(d, "m.ingot", "old contents");
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {1 << 20, 1 << 20};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    ingot_error err = {0};
    ck_assert_int_eq(ingot_convert(model_dir, out, NULL, NULL, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_IO);
    ck_assert_msg(strstr(err.message, "m.ingot") != NULL, "%s", err.message);
    ck_assert_int_eq(dir_entries(d), 1);
    char *buf;
    size_t len;
    slurp(out, &buf, &len);
    ck_assert_str_eq(buf, "old contents");
    free(buf);
    rm_rf(d);
    free(out);
    free(d);
}
END_TEST

START_TEST(refuses_to_overwrite_input)
{
    char *d = make_checkpoint(M_NONE);
    char *cfg = ingot_path_join(d, "config.json");
    char *before;
    size_t len;
    slurp(cfg, &before, &len);
    ingot_error err = {0};
    ck_assert_int_eq(ingot_convert(d, cfg, NULL, NULL, &err), -1);
    ck_assert_msg(strstr(err.message, "input") != NULL, "%s", err.message);
    char *after;
    slurp(cfg, &after, &len);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(cfg);
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(missing_directory)
{
    ingot_error err = {0};
    ck_assert_int_eq(ingot_convert("/nonexistent/model", "/tmp/x.ingot", NULL, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/model"));
    ck_assert(!ingot_file_exists("/tmp/x.ingot"));
}
END_TEST

int main(void)
{
    find_models();
    Suite *s = suite_create("convert");
    TCase *tc = tcase_create("convert");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, round_trip_tiny_llama);
    tcase_add_test(tc, round_trip_small_qwen2);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, crafted_checkpoint_converts);
    tcase_add_test(tc, missing_tensor);
    tcase_add_test(tc, misshaped_tensor);
    tcase_add_test(tc, extra_tensor);
    tcase_add_test(tc, nan_weight);
    tcase_add_test(tc, nan_weight_allowed);
    tcase_add_test(tc, nan_to_f16);
    tcase_add_test(tc, unsupported_model_type);
    tcase_add_test(tc, invalid_tokenizer);
    tcase_add_test(tc, missing_tokenizer);
    tcase_add_test(tc, interrupt_leaves_nothing);
    tcase_add_test(tc, full_disk_leaves_old_file);
    tcase_add_test(tc, refuses_to_overwrite_input);
    tcase_add_test(tc, missing_directory);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
