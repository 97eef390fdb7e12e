/*
 * test_runtime.c - the CPU runtime agrees with HuggingFace transformers
 * (golden/ of each model, fp32 on CPU): logits, perplexity of eval.txt's
 * first 16 x 512 tokens, greedy decoding.  Plus the runtime's bad inputs
 * and the context parameters.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert/st_reader.h"
#include "test_files.h"
#include "util/util.h"

/* models[0] is bundled; models[1] lives beside the repo */
static char model_dirs[2][1024];
static char artifacts[2][1024];
static char tmpdir[256];

static bool have(int i)
{
    if (artifacts[i][0])
        return true;
    printf("SKIP: %s not found (set INGOT_MODELS)\n", model_dirs[i]);
    return false;
}

static ingot_model *open_model(int i)
{
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(artifacts[i], &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    return m;
}

static json_t *reference(int i)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/golden/reference.json", model_dirs[i]);
    json_t *j = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static void check_logits(int mi)
{
    if (!have(mi))
        return;
    ingot_model *m = open_model(mi);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    char path[1100];
    snprintf(path, sizeof path, "%s/golden/logits.safetensors", model_dirs[mi]);
    ingot_error err = {0};
    ingot_st_file *f = ingot_st_open(path, &err);
    ck_assert_msg(f != NULL, "%s", err.message);
    const ingot_st_tensor *tok = ingot_st_file_find(f, "tokens"), *lg = ingot_st_file_find(f, "logits");
    ck_assert(tok && lg && tok->ndim == 2 && lg->shape[2] == info.vocab_size);
    int n_seq = (int)tok->shape[0], len = (int)tok->shape[1];
    float *out = malloc((size_t)len * info.vocab_size * sizeof *out);
    double max_diff = 0, max_ref = 0;
    for (int s = 0; s < n_seq; s++) {
        ingot_context *c = ingot_context_create(m, len, 0, &err);
        ck_assert_msg(c != NULL, "%s", err.message);
        const int32_t *ids = (const int32_t *)(const void *)tok->data + (size_t)s * len;
        ck_assert_int_eq(ingot_context_eval(c, ids, len, 0, out, 1, &err), 0);
        const float *ref = (const float *)(const void *)lg->data + (size_t)s * len * info.vocab_size;
        for (size_t k = 0; k < (size_t)len * info.vocab_size; k++) {
            max_diff = fmax(max_diff, fabs((double)out[k] - ref[k]));
            max_ref = fmax(max_ref, fabs((double)ref[k]));
        }
        ingot_context_free(c);
    }
    printf("%s: logits max|diff|/max|logit| = %.3g\n", model_dirs[mi], max_diff / max_ref);
    ck_assert_msg(max_diff / max_ref <= 1e-4, "logits differ: %g", max_diff / max_ref);
    free(out);
    ingot_st_close(f);
    ingot_model_free(m);
}

START_TEST(logits_tiny_llama) { check_logits(0); }
END_TEST
START_TEST(logits_small_qwen2) { check_logits(1); }
END_TEST

/* The protocol of golden/reference.json: 16 chunks of 512, 511 predictions each. */
static void check_ppl(int mi)
{
    if (!have(mi))
        return;
    ingot_model *m = open_model(mi);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    char path[1100];
    snprintf(path, sizeof path, "%s/eval.txt", model_dirs[mi]);
    char *text;
    size_t len;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_read_file(path, 1 << 26, &text, &len, &err), 0);
    int32_t *ids;
    size_t n;
    ck_assert_int_eq(ingot_tokenize(m, text, len, 0, &ids, &n, &err), 0);
    json_t *ref = reference(mi);
    ck_assert_int_eq((json_int_t)n, json_integer_value(json_object_get(ref, "eval_total_tokens")));
    ingot_context *c = ingot_context_create(m, 512, 0, &err);
    float *lg = malloc((size_t)512 * info.vocab_size * sizeof *lg);
    double nll = 0;
    for (int ch = 0; ch < 16; ch++) {
        const int32_t *chunk = ids + ch * 512;
        ck_assert_int_eq(ingot_context_eval(c, chunk, 512, 0, lg, 1, &err), 0);
        for (int t = 0; t < 511; t++) {
            const float *row = lg + (size_t)t * info.vocab_size;
            double mx = row[0], s = 0;
            for (int v = 1; v < info.vocab_size; v++)
                mx = fmax(mx, row[v]);
            for (int v = 0; v < info.vocab_size; v++)
                s += exp(row[v] - mx);
            nll += mx + log(s) - row[chunk[t + 1]];
        }
    }
    double ppl = exp(nll / (16 * 511)), want = json_real_value(json_object_get(ref, "eval_ppl_fp32_16x512"));
    printf("%s: ppl %.9f, transformers %.9f\n", model_dirs[mi], ppl, want);
    ck_assert_msg(fabs(ppl - want) / want <= 1e-4, "ppl %.9f, want %.9f", ppl, want);
    json_decref(ref);
    free(lg);
    free(ids);
    free(text);
    ingot_context_free(c);
    ingot_model_free(m);
}

START_TEST(ppl_tiny_llama) { check_ppl(0); }
END_TEST
START_TEST(ppl_small_qwen2) { check_ppl(1); }
END_TEST

static void check_greedy(int mi)
{
    if (!have(mi))
        return;
    ingot_model *m = open_model(mi);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    json_t *ref = reference(mi);
    json_t *prompt = json_object_get(ref, "greedy_prompt_ids"), *want = json_object_get(ref, "greedy_output_ids");
    int np = (int)json_array_size(prompt), nw = (int)json_array_size(want);
    int32_t *ids = malloc((size_t)(np + nw) * sizeof *ids);
    for (int i = 0; i < np; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(prompt, (size_t)i));
    ingot_error err = {0};
    ingot_context *c = ingot_context_create(m, np + nw, 0, &err);
    ingot_sampler_params sp;
    ingot_sampler_params_init(&sp);
    sp.temperature = 0;
    ingot_sampler *s = ingot_sampler_create(&sp, info.vocab_size, &err);
    float *lg = malloc((size_t)info.vocab_size * sizeof *lg);
    ck_assert_int_eq(ingot_context_eval(c, ids, np, 0, lg, 0, &err), 0);
    for (int i = 0; i < nw; i++) {
        ids[np + i] = ingot_sampler_sample(s, lg, ids, np + i);
        ck_assert_int_eq(ids[np + i], json_integer_value(json_array_get(want, (size_t)i)));
        if (i + 1 < nw)
            ck_assert_int_eq(ingot_context_eval(c, ids + np + i, 1, np + i, lg, 0, &err), 0);
    }
    free(lg);
    free(ids);
    json_decref(ref);
    ingot_sampler_free(s);
    ingot_context_free(c);
    ingot_model_free(m);
}

START_TEST(greedy_tiny_llama) { check_greedy(0); }
END_TEST
START_TEST(greedy_small_qwen2) { check_greedy(1); }
END_TEST

/* Decoding token by token gives the same logits as one prefill. */
START_TEST(decode_matches_prefill)
{
    ingot_model *m = open_model(0);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    int32_t ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = (int32_t)((i * 977 + 13) % info.vocab_size);
    ingot_error err = {0};
    ingot_context *a = ingot_context_create(m, 40, 0, &err), *b = ingot_context_create(m, 40, 0, &err);
    float *pa = malloc((size_t)info.vocab_size * 4), *pb = malloc((size_t)info.vocab_size * 4);
    ck_assert_int_eq(ingot_context_eval(a, ids, 40, 0, pa, 0, &err), 0);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(ingot_context_eval(b, ids + i, 1, i, pb, 0, &err), 0);
    for (int v = 0; v < info.vocab_size; v++)
        ck_assert_msg(fabsf(pa[v] - pb[v]) <= 1e-4f * (1 + fabsf(pa[v])), "token %d: %g vs %g", v, pa[v], pb[v]);
    free(pa);
    free(pb);
    ingot_context_free(a);
    ingot_context_free(b);
    ingot_model_free(m);
}
END_TEST

START_TEST(bad_inputs)
{
    ingot_model *m = open_model(0);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    ingot_error err = {0};
    ck_assert_ptr_null(ingot_context_create(m, info.max_pos + 1, 0, &err));
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ingot_context *c = ingot_context_create(m, 8, 0, &err);
    int32_t ids[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    ck_assert_int_eq(ingot_context_eval(c, ids, 9, 0, NULL, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "context"));
    ids[0] = info.vocab_size;
    ck_assert_int_eq(ingot_context_eval(c, ids, 1, 0, NULL, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "vocabulary"));
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    ids[0] = -1;
    ck_assert_int_eq(ingot_context_eval(c, ids, 1, 0, NULL, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "vocabulary"));
    ck_assert_ptr_null(ingot_context_create(m, -5, 0, &err)); /* 0 means the model's maximum */
    ck_assert_int_eq(err.code, INGOT_ERR_ARG);
    /* ids outside the vocabulary cannot be decoded: an error, not a guess */
    char *text = NULL;
    size_t len;
    const int32_t bad_ids[][2] = {{1, info.vocab_size}, {-1, 1}, {INT32_MAX, 1}};
    for (int i = 0; i < 3; i++) {
        err = (ingot_error){0};
        ck_assert_int_eq(ingot_detokenize(m, bad_ids[i], 2, 0, &text, &len, &err), -1);
        ck_assert_int_eq(err.code, INGOT_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(err.message, "vocabulary"));
        ck_assert_ptr_null(strchr(err.message, '\n'));
    }
    /* invalid UTF-8 is tokenized (as HF does), never an error */
    int32_t *t;
    size_t n;
    ck_assert_int_eq(ingot_tokenize(m, "ab\xff\xfe" "cd", 6, 0, &t, &n, &err), 0);
    ck_assert_uint_gt(n, 0);
    free(t);
    ingot_context_free(c);
    ingot_model_free(m);
    ck_assert_ptr_null(ingot_model_open("/nonexistent.ingot", &err));
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent.ingot"));
}
END_TEST

/* Creates a context from p, expecting failure with `want` and a message holding needle, or success. */
static ingot_context *create_expect(ingot_model *m, const ingot_context_params *p, ingot_status want,
                                    const char *needle)
{
    ingot_error err = {0};
    ingot_context *c = ingot_context_create_with(m, p, &err);
    if (want == INGOT_OK) {
        ck_assert_msg(c != NULL, "%s", err.message);
        return c;
    }
    ck_assert_msg(c == NULL, "created, expected: %s", needle);
    ck_assert_msg(err.code == want, "%s: code %s", err.message, ingot_status_name(err.code));
    ck_assert_msg(strstr(err.message, needle) != NULL, "'%s' lacks '%s'", err.message, needle);
    ck_assert_ptr_null(strchr(err.message, '\n'));
    return NULL;
}

START_TEST(context_params)
{
    ingot_model *m = open_model(0);
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    ingot_context_params p, d;

    /* defaults */
    memset(&d, 0x5a, sizeof d);
    ingot_context_params_init(&d);
    ck_assert_uint_eq(d.size, sizeof d);
    ck_assert_int_eq(d.n_ctx, 0);
    ck_assert_int_eq(d.n_threads, 0);
    ck_assert_int_eq(d.device, INGOT_DEVICE_AUTO);
    ck_assert_int_eq(d.device_index, 0);
    ck_assert_int_eq(d.kv_type, INGOT_DT_F32);
    ingot_context *c = create_expect(m, &d, INGOT_OK, NULL);
    ck_assert_int_eq(ingot_context_n_ctx(c), info.max_pos);
    ingot_context_free(c);
    c = create_expect(m, NULL, INGOT_OK, NULL);
    ck_assert_int_eq(ingot_context_n_ctx(c), info.max_pos);
    ingot_context_free(c);
    p = d;
    p.device = INGOT_DEVICE_CPU;
    p.n_ctx = 16;
    p.n_threads = 1;
    c = create_expect(m, &p, INGOT_OK, NULL);
    ck_assert_int_eq(ingot_context_n_ctx(c), 16);
    ingot_context_free(c);

    /* invalid values */
    p = d, p.n_ctx = -1, create_expect(m, &p, INGOT_ERR_ARG, "context of -1 positions");
    p = d, p.n_ctx = info.max_pos + 1, create_expect(m, &p, INGOT_ERR_ARG, "the model supports");
    p = d, p.n_threads = -1, create_expect(m, &p, INGOT_ERR_ARG, "-1 threads");
    p = d, p.device = (ingot_device)7, create_expect(m, &p, INGOT_ERR_ARG, "device 7");
    p = d, p.device_index = -1, create_expect(m, &p, INGOT_ERR_ARG, "device index -1");
    p = d, p.kv_type = INGOT_DT_Q4, create_expect(m, &p, INGOT_ERR_ARG, "KV cache type int4");
    p = d, p.kv_type = (ingot_dtype)99, create_expect(m, &p, INGOT_ERR_ARG, "KV cache type (invalid)");
    p = d, p.size = 0, create_expect(m, &p, INGOT_ERR_ARG, "ingot_context_params_init");
    p = d, p.size = (size_t)1 << 40, create_expect(m, &p, INGOT_ERR_ARG, "ingot_context_params_init");
    /* KV cache types the CPU backend does not store */
    p = d, p.device = INGOT_DEVICE_CPU;
    p.kv_type = INGOT_DT_F16, create_expect(m, &p, INGOT_ERR_UNSUPPORTED, "KV cache type f16");
    p.kv_type = INGOT_DT_BF16, create_expect(m, &p, INGOT_ERR_UNSUPPORTED, "KV cache type bf16");

    /* CUDA: what happens depends on the build and the machine */
    p = d, p.device = INGOT_DEVICE_CUDA, p.n_ctx = 16;
#ifdef INGOT_HAVE_CUDA
    ingot_error err = {0};
    c = ingot_context_create_with(m, &p, &err);
    if (c) { /* a GPU: it runs there, and a device it lacks is refused */
        printf("cuda: %s\n", ingot_context_device(c));
        ck_assert(strncmp(ingot_context_device(c), "cuda:0 (", 8) == 0);
        ingot_context_free(c);
        p.device_index = 63;
        create_expect(m, &p, INGOT_ERR_UNSUPPORTED, "device cuda:63: no such device");
    } else {
        ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
        ck_assert_msg(strncmp(err.message, "device cuda:0: no CUDA device", 29) == 0, "%s", err.message);
        printf("cuda: %s\n", err.message);
    }
#else
    create_expect(m, &p, INGOT_ERR_UNSUPPORTED, "device cuda:0: not built with CUDA");
    p.device_index = 2;
    create_expect(m, &p, INGOT_ERR_UNSUPPORTED, "device cuda:2: not built with CUDA");
#endif

    /* the size covers only the fields the caller knows: an older, shorter struct
       gets the defaults for the rest; a newer, longer one may not set unknown fields */
    p = d, p.size = offsetof(ingot_context_params, device), p.n_ctx = 16;
    p.device = INGOT_DEVICE_CUDA, p.kv_type = INGOT_DT_F16; /* beyond its size: not read */
    c = create_expect(m, &p, INGOT_OK, NULL);
    ck_assert_int_eq(ingot_context_n_ctx(c), 16);
    ingot_context_free(c);
    struct {
        ingot_context_params p;
        int64_t future;
    } big;
    ingot_context_params_init_sized(&big.p, sizeof big);
    ck_assert_uint_eq(big.p.size, sizeof big);
    ck_assert_int_eq(big.p.kv_type, INGOT_DT_F32);
    ck_assert(big.future == 0);
    big.p.n_ctx = 16;
    ingot_context_free(create_expect(m, &big.p, INGOT_OK, NULL));
    big.future = 1;
    create_expect(m, &big.p, INGOT_ERR_ARG, "newer ingot.h");

    /* the old call is the new one with n_ctx and n_threads: the same bits */
    enum { N = 40 };
    int32_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = (int32_t)((i * 911 + 7) % info.vocab_size);
    size_t nl = (size_t)N * info.vocab_size;
    float *la = malloc(nl * sizeof *la), *lb = malloc(nl * sizeof *lb);
    for (int dev = INGOT_DEVICE_AUTO; dev <= INGOT_DEVICE_CPU; dev++) {
        ingot_error e = {0};
        ingot_context *a = ingot_context_create(m, N, 2, &e);
        ck_assert_msg(a != NULL, "%s", e.message);
        ck_assert_str_eq(ingot_context_device(a), "cpu");
        p = d, p.n_ctx = N, p.n_threads = 2, p.device = (ingot_device)dev;
        ingot_context *b = create_expect(m, &p, INGOT_OK, NULL);
        if (strcmp(ingot_context_device(b), "cpu") != 0) { /* auto took a GPU: test_cuda compares those */
            ingot_context_free(a);
            ingot_context_free(b);
            continue;
        }
        ck_assert_int_eq(ingot_context_eval(a, ids, N, 0, la, 1, &e), 0);
        ck_assert_int_eq(ingot_context_eval(b, ids, N, 0, lb, 1, &e), 0);
        ck_assert(memcmp(la, lb, nl * sizeof *la) == 0);
        ingot_context_free(a);
        ingot_context_free(b);
    }
    free(la);
    free(lb);
    ingot_model_free(m);
}
END_TEST

static void setup_artifacts(void)
{
    test_models_convert(model_dirs, artifacts, tmpdir, sizeof tmpdir, "rt");
}

static void remove_artifacts(void)
{
    for (int i = 0; i < 2; i++)
        if (artifacts[i][0])
            unlink(artifacts[i]);
    rmdir(tmpdir);
}

int main(void)
{
    setup_artifacts();
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, logits_tiny_llama);
    tcase_add_test(tc, logits_small_qwen2);
    tcase_add_test(tc, ppl_tiny_llama);
    tcase_add_test(tc, ppl_small_qwen2);
    tcase_add_test(tc, greedy_tiny_llama);
    tcase_add_test(tc, greedy_small_qwen2);
    tcase_add_test(tc, decode_matches_prefill);
    tcase_add_test(tc, bad_inputs);
    tcase_add_test(tc, context_params);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_artifacts();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
