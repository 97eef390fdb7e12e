/*
 * test_hf_config.c - config.json parsing (real-world fixtures, both
 * transformers 4.x and 5.x spellings, absurd and unsupported inputs), the
 * normalized manifest form, the canonical tensor list and the HF json files.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/hf_config.h"
#include "convert/hf_files.h"
#include "model/tensor_map.h"
#include "model/model_config.h"
#include "util/util.h"

/* ------------------------------------------------------------------ helpers */

static char *fixture(const char *name)
{
    const char *top = getenv("top_srcdir");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/tests/data/configs/%s", top ? top : ".", name);
    return strdup(buf);
}

/* The models beside the repository, or NULL (with a SKIP line) when absent. */
static char *model_dir(const char *name)
{
    const char *env = getenv("INGOT_MODELS"), *top = getenv("top_srcdir");
    char buf[4096];
    if (env && *env)
        snprintf(buf, sizeof buf, "%s/%s", env, name);
    else
        snprintf(buf, sizeof buf, "%s/../shared/models/%s", top ? top : ".", name);
    char *cfg = ingot_path_join(buf, "config.json");
    int ok = ingot_file_exists(cfg);
    free(cfg);
    if (!ok) {
        printf("SKIP: %s: no test model there (set INGOT_MODELS)\n", buf);
        return NULL;
    }
    return strdup(buf);
}

static int parse_str(const char *text, ingot_config *c, ingot_error *err)
{
    memset(err, 0, sizeof *err);
    return ingot_hf_config_parse(text, strlen(text), "config.json", c, err);
}

/* A small valid Llama config.json, patched: keys of patch replace or add,
 * a key whose patch value is the string "DELETE" is removed. */
static const char base_llama[] =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":4096,"
    "\"num_hidden_layers\":32,\"num_attention_heads\":32,\"num_key_value_heads\":8,"
    "\"intermediate_size\":14336,\"vocab_size\":32000,\"max_position_embeddings\":8192,"
    "\"rms_norm_eps\":1e-05,\"rope_theta\":500000.0,\"hidden_act\":\"silu\","
    "\"bos_token_id\":1,\"eos_token_id\":2,\"tie_word_embeddings\":false,"
    "\"torch_dtype\":\"bfloat16\"}";

static int parse_patched(const char *base, const char *patch, ingot_config *c, ingot_error *err)
{
    json_t *j = json_loads(base, 0, NULL), *p = json_loads(patch, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(p != NULL, "bad test patch %s", patch);
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), "DELETE") == 0)
            json_object_del(j, k);
        else
            json_object_set(j, k, v);
    }
    char *text = json_dumps(j, JSON_REAL_PRECISION(17));
    json_decref(j);
    json_decref(p);
    int rc = parse_str(text, c, err);
    free(text);
    return rc;
}

#define ck_assert_fails(rc, err, status, needle)                                               \
    do {                                                                                       \
        ck_assert_int_eq((rc), -1);                                                            \
        ck_assert_msg((err).code == (status), "status %s, wanted %s: %s",                    \
                      ingot_status_name((err).code), ingot_status_name(status),              \
                      (err).message);                                                          \
        ck_assert_msg(strstr((err).message, (needle)) != NULL, "\"%s\" not in \"%s\"",        \
                      (needle), (err).message);                                                \
        ck_assert_msg(strchr((err).message, '\n') == NULL, "multi-line message");             \
    } while (0)

static void assert_same_config(const ingot_config *a, const ingot_config *b)
{
    ck_assert_int_eq(a->arch, b->arch);
    ck_assert_str_eq(a->model_type, b->model_type);
    ck_assert_int_eq(a->hidden_size, b->hidden_size);
    ck_assert_int_eq(a->n_layers, b->n_layers);
    ck_assert_int_eq(a->n_heads, b->n_heads);
    ck_assert_int_eq(a->n_kv_heads, b->n_kv_heads);
    ck_assert_int_eq(a->head_dim, b->head_dim);
    ck_assert_int_eq(a->ffn_size, b->ffn_size);
    ck_assert_int_eq(a->vocab_size, b->vocab_size);
    ck_assert_int_eq(a->max_pos, b->max_pos);
    ck_assert_int_eq(a->sliding_window, b->sliding_window);
    ck_assert(a->rms_eps == b->rms_eps);
    ck_assert_int_eq(a->rope.type, b->rope.type);
    ck_assert(a->rope.theta == b->rope.theta);
    ck_assert(a->rope.factor == b->rope.factor);
    ck_assert(a->rope.low_freq_factor == b->rope.low_freq_factor);
    ck_assert(a->rope.high_freq_factor == b->rope.high_freq_factor);
    ck_assert_int_eq(a->rope.original_max_pos, b->rope.original_max_pos);
    ck_assert(a->rope.beta_fast == b->rope.beta_fast);
    ck_assert(a->rope.beta_slow == b->rope.beta_slow);
    ck_assert(a->rope.attention_factor == b->rope.attention_factor);
    ck_assert(a->rope.partial_rotary_factor == b->rope.partial_rotary_factor);
    ck_assert_int_eq(a->tied_embeddings, b->tied_embeddings);
    ck_assert_int_eq(a->qkv_bias, b->qkv_bias);
    ck_assert_int_eq(a->o_bias, b->o_bias);
    ck_assert_int_eq(a->mlp_bias, b->mlp_bias);
    ck_assert_int_eq(a->bos_id, b->bos_id);
    ck_assert_int_eq(a->n_eos, b->n_eos);
    for (int i = 0; i < a->n_eos; i++)
        ck_assert_int_eq(a->eos_ids[i], b->eos_ids[i]);
    ck_assert_int_eq(a->dtype, b->dtype);
}

/* to_json -> text -> from_json gives the same config back. */
static void assert_round_trip(const ingot_config *c)
{
    json_t *j = ingot_config_to_json(c);
    ck_assert_ptr_nonnull(j);
    char *text = json_dumps(j, JSON_REAL_PRECISION(17));
    json_decref(j);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    ck_assert_ptr_nonnull(back);
    ingot_config d;
    ingot_error err = {0};
    ck_assert_msg(ingot_config_from_json(back, &d, "ingot.json: config", &err) == 0, "%s",
                  err.message);
    json_decref(back);
    assert_same_config(c, &d);
}

/* ------------------------------------------------------------------ fixtures */

typedef struct expect {
    const char *dir;
    ingot_arch arch;
    const char *model_type;
    int hidden, layers, heads, kv, head_dim, ffn, vocab, max_pos, sliding;
    double eps;
    ingot_rope_type rope;
    double theta, factor, low, high;
    int orig;
    bool tied, qkv_bias, o_bias, mlp_bias;
    int bos, n_eos, eos[3];
    ingot_dtype dtype;
} expect;

#define LLAMA3_ROPE .rope = INGOT_ROPE_LLAMA3, .theta = 500000, .factor = 8, .low = 1, .high = 4, \
                    .orig = 8192

static const expect fixtures[] = {
    {"llama-2-7b", INGOT_ARCH_LLAMA, "llama", 4096, 32, 32, 32, 128, 11008, 32000, 4096, 0,
     1e-5, .rope = INGOT_ROPE_DEFAULT, .theta = 10000, .factor = 1, .bos = 1, .n_eos = 1,
     .eos = {2}, .dtype = INGOT_DT_F16},
    {"llama-3-8b", INGOT_ARCH_LLAMA, "llama", 4096, 32, 32, 8, 128, 14336, 128256, 8192, 0, 1e-5,
     .rope = INGOT_ROPE_DEFAULT, .theta = 500000, .factor = 1, .bos = 128000, .n_eos = 1,
     .eos = {128001}, .dtype = INGOT_DT_BF16},
    {"llama-3.1-8b", INGOT_ARCH_LLAMA, "llama", 4096, 32, 32, 8, 128, 14336, 128256, 131072, 0,
     1e-5, LLAMA3_ROPE, .bos = 128000, .n_eos = 1, .eos = {128001}, .dtype = INGOT_DT_BF16},
    {"llama-3.1-8b-instruct-v5", INGOT_ARCH_LLAMA, "llama", 4096, 32, 32, 8, 128, 14336, 128256,
     131072, 0, 1e-5, LLAMA3_ROPE, .bos = 128000, .n_eos = 3, .eos = {128001, 128008, 128009},
     .dtype = INGOT_DT_BF16},
    {"mistral-7b-v0.1", INGOT_ARCH_MISTRAL, "mistral", 4096, 32, 32, 8, 128, 14336, 32000, 32768,
     4096, 1e-5, .rope = INGOT_ROPE_DEFAULT, .theta = 10000, .factor = 1, .bos = 1, .n_eos = 1,
     .eos = {2}, .dtype = INGOT_DT_BF16},
    {"mistral-7b-v0.1-v5", INGOT_ARCH_MISTRAL, "mistral", 4096, 32, 32, 8, 128, 14336, 32000,
     32768, 4096, 1e-5, .rope = INGOT_ROPE_DEFAULT, .theta = 10000, .factor = 1, .bos = 1,
     .n_eos = 1, .eos = {2}, .dtype = INGOT_DT_BF16},
    {"mistral-7b-v0.3", INGOT_ARCH_MISTRAL, "mistral", 4096, 32, 32, 8, 128, 14336, 32768, 32768,
     0, 1e-5, .rope = INGOT_ROPE_DEFAULT, .theta = 1e6, .factor = 1, .bos = 1, .n_eos = 1,
     .eos = {2}, .dtype = INGOT_DT_BF16},
    {"qwen2-0.5b", INGOT_ARCH_QWEN2, "qwen2", 896, 24, 14, 2, 64, 4864, 151936, 131072, 0, 1e-6,
     .rope = INGOT_ROPE_DEFAULT, .theta = 1e6, .factor = 1, .tied = true, .qkv_bias = true,
     .bos = 151643, .n_eos = 1, .eos = {151643}, .dtype = INGOT_DT_BF16},
    {"qwen2.5-1.5b", INGOT_ARCH_QWEN2, "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 131072, 0,
     1e-6, .rope = INGOT_ROPE_DEFAULT, .theta = 1e6, .factor = 1, .tied = true, .qkv_bias = true,
     .bos = 151643, .n_eos = 1, .eos = {151643}, .dtype = INGOT_DT_BF16},
    {"qwen2.5-1.5b-v5", INGOT_ARCH_QWEN2, "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 131072, 0,
     1e-6, .rope = INGOT_ROPE_DEFAULT, .theta = 1e6, .factor = 1, .tied = true, .qkv_bias = true,
     .bos = 151643, .n_eos = 1, .eos = {151643}, .dtype = INGOT_DT_BF16},
    {"qwen2-7b", INGOT_ARCH_QWEN2, "qwen2", 3584, 28, 28, 4, 128, 18944, 152064, 131072, 0, 1e-6,
     .rope = INGOT_ROPE_DEFAULT, .theta = 1e6, .factor = 1, .qkv_bias = true, .bos = 151643,
     .n_eos = 1, .eos = {151643}, .dtype = INGOT_DT_BF16},
    {"qwen2.5-7b-instruct-yarn", INGOT_ARCH_QWEN2, "qwen2", 3584, 28, 28, 4, 128, 18944, 152064,
     32768, 0, 1e-6, .rope = INGOT_ROPE_YARN, .theta = 1e6, .factor = 4, .orig = 32768,
     .qkv_bias = true, .bos = 151643, .n_eos = 1, .eos = {151645}, .dtype = INGOT_DT_BF16},
    {"deepseek-llm-7b-base", INGOT_ARCH_LLAMA, "llama", 4096, 30, 32, 32, 128, 11008, 102400, 4096,
     0, 1e-6, .rope = INGOT_ROPE_DEFAULT, .theta = 10000, .factor = 1, .bos = 100000, .n_eos = 1,
     .eos = {100001}, .dtype = INGOT_DT_BF16},
    {"deepseek-coder-6.7b-base", INGOT_ARCH_LLAMA, "llama", 4096, 32, 32, 32, 128, 11008, 32256,
     16384, 0, 1e-6, .rope = INGOT_ROPE_LINEAR, .theta = 100000, .factor = 4, .bos = 32013,
     .n_eos = 1, .eos = {32014}, .dtype = INGOT_DT_BF16},
    {"deepseek-coder-6.7b-base-v5", INGOT_ARCH_LLAMA, "llama", 4096, 32, 32, 32, 128, 11008, 32256,
     16384, 0, 1e-6, .rope = INGOT_ROPE_LINEAR, .theta = 100000, .factor = 4, .bos = 32013,
     .n_eos = 1, .eos = {32014}, .dtype = INGOT_DT_BF16},
    {"deepseek-r1-distill-qwen-1.5b", INGOT_ARCH_QWEN2, "qwen2", 1536, 28, 12, 2, 128, 8960,
     151936, 131072, 0, 1e-6, .rope = INGOT_ROPE_DEFAULT, .theta = 10000, .factor = 1,
     .qkv_bias = true, .bos = 151643, .n_eos = 1, .eos = {151643}, .dtype = INGOT_DT_BF16},
    {"deepseek-r1-distill-llama-8b", INGOT_ARCH_LLAMA, "llama", 4096, 32, 32, 8, 128, 14336,
     128256, 131072, 0, 1e-5, LLAMA3_ROPE, .bos = 128000, .n_eos = 1, .eos = {128001},
     .dtype = INGOT_DT_BF16},
};

static void assert_expected(const ingot_config *c, const expect *e)
{
    ck_assert_int_eq(c->arch, e->arch);
    ck_assert_str_eq(c->model_type, e->model_type);
    ck_assert_int_eq(c->hidden_size, e->hidden);
    ck_assert_int_eq(c->n_layers, e->layers);
    ck_assert_int_eq(c->n_heads, e->heads);
    ck_assert_int_eq(c->n_kv_heads, e->kv);
    ck_assert_int_eq(c->head_dim, e->head_dim);
    ck_assert_int_eq(c->ffn_size, e->ffn);
    ck_assert_int_eq(c->vocab_size, e->vocab);
    ck_assert_int_eq(c->max_pos, e->max_pos);
    ck_assert_int_eq(c->sliding_window, e->sliding);
    ck_assert_double_eq(c->rms_eps, e->eps);
    ck_assert_int_eq(c->rope.type, e->rope);
    ck_assert_double_eq(c->rope.theta, e->theta);
    ck_assert_double_eq(c->rope.factor, e->factor);
    ck_assert_double_eq(c->rope.low_freq_factor, e->low);
    ck_assert_double_eq(c->rope.high_freq_factor, e->high);
    ck_assert_int_eq(c->rope.original_max_pos, e->orig);
    ck_assert_double_eq(c->rope.partial_rotary_factor, 1.0);
    if (e->rope == INGOT_ROPE_YARN) {
        ck_assert_double_eq(c->rope.beta_fast, 32);
        ck_assert_double_eq(c->rope.beta_slow, 1);
        ck_assert_double_eq(c->rope.attention_factor, 0);
    }
    ck_assert_int_eq(c->tied_embeddings, e->tied);
    ck_assert_int_eq(c->qkv_bias, e->qkv_bias);
    ck_assert_int_eq(c->o_bias, e->o_bias);
    ck_assert_int_eq(c->mlp_bias, e->mlp_bias);
    ck_assert_int_eq(c->bos_id, e->bos);
    ck_assert_int_eq(c->n_eos, e->n_eos);
    for (int i = 0; i < e->n_eos; i++)
        ck_assert_int_eq(c->eos_ids[i], e->eos[i]);
    ck_assert_int_eq(c->dtype, e->dtype);
}

static void assert_specs_fit(const ingot_config *c)
{
    ingot_tensor_spec *s;
    int n;
    ingot_error err = {0};
    ck_assert_msg(ingot_tensor_specs(c, &s, &n, &err) == 0, "%s", err.message);
    int per = 9 + (c->qkv_bias ? 3 : 0) + (c->o_bias ? 1 : 0) + (c->mlp_bias ? 3 : 0);
    ck_assert_int_eq(n, 2 + !c->tied_embeddings + c->n_layers * per);
    ck_assert_str_eq(s[0].name, "token_embd.weight");
    const ingot_tensor_spec *k = ingot_tensor_spec_find(s, n, "blk.0.attn_k.weight");
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(k->shape[0], (int64_t)c->n_kv_heads * c->head_dim);
    ck_assert_int_eq(k->shape[1], c->hidden_size);
    free(s);
}

START_TEST(fixture_parses_to_expected)
{
    const expect *e = &fixtures[_i];
    char *dir = fixture(e->dir);
    ingot_config c;
    ingot_error err = {0};
    ck_assert_msg(ingot_hf_config_load(dir, &c, &err) == 0, "%s: %s", e->dir, err.message);
    free(dir);
    assert_expected(&c, e);
    assert_round_trip(&c);
    assert_specs_fit(&c);
}
END_TEST

static void load_fixture(const char *name, ingot_config *c)
{
    char *dir = fixture(name);
    ingot_error err = {0};
    ck_assert_msg(ingot_hf_config_load(dir, c, &err) == 0, "%s: %s", name, err.message);
    free(dir);
}

/* The same model in 4.x and 5.x spellings normalizes to the same manifest. */
START_TEST(v4_and_v5_spellings_agree)
{
    static const char *const pairs[][2] = {
        {"mistral-7b-v0.1", "mistral-7b-v0.1-v5"},
        {"qwen2.5-1.5b", "qwen2.5-1.5b-v5"},
        {"deepseek-coder-6.7b-base", "deepseek-coder-6.7b-base-v5"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        ingot_config a, b;
        load_fixture(pairs[i][0], &a);
        load_fixture(pairs[i][1], &b);
        json_t *ja = ingot_config_to_json(&a), *jb = ingot_config_to_json(&b);
        ck_assert_msg(json_equal(ja, jb), "%s vs %s", pairs[i][0], pairs[i][1]);
        json_decref(ja);
        json_decref(jb);
    }
}
END_TEST

START_TEST(manifest_form_has_documented_keys)
{
    ingot_config c;
    load_fixture("llama-3.1-8b", &c);
    json_t *j = ingot_config_to_json(&c);
    ck_assert_str_eq(json_string_value(json_object_get(j, "architecture")), "llama");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n_kv_heads")), 8);
    ck_assert_str_eq(json_string_value(json_object_get(j, "dtype")), "bf16");
    json_t *sc = json_object_get(json_object_get(j, "rope"), "scaling");
    ck_assert_str_eq(json_string_value(json_object_get(sc, "type")), "llama3");
    ck_assert_double_eq(json_number_value(json_object_get(sc, "factor")), 8);
    ck_assert_int_eq(json_integer_value(json_object_get(sc, "original_max_position_embeddings")),
                     8192);
    ck_assert(json_is_array(json_object_get(j, "eos_token_ids")));
    json_decref(j);

    load_fixture("llama-2-7b", &c);
    j = ingot_config_to_json(&c);
    ck_assert(json_is_null(json_object_get(json_object_get(j, "rope"), "scaling")));
    json_decref(j);
}
END_TEST

/* ------------------------------------------------------------------ defaults and variants */

/* The fields of a parsed config that the accepted-patch cases below look at. */
typedef enum field {
    F_END = 0, /* ends a case's list */
    F_ROPE_TYPE, F_THETA, F_FACTOR, F_ORIG_MAX_POS, F_ATTN_FACTOR, F_KV_HEADS, F_HEAD_DIM,
    F_Q_DIM, /* n_heads x head_dim */
    F_DTYPE, F_BOS, F_N_EOS, F_EOS0, F_MAX_POS, F_RMS_EPS, F_QKV_BIAS, F_O_BIAS, F_MLP_BIAS,
    F_SLIDING,
} field;

static const char *const field_names[] = {
    "", "rope.type", "rope.theta", "rope.factor", "rope.original_max_pos",
    "rope.attention_factor", "n_kv_heads", "head_dim", "n_heads x head_dim", "dtype", "bos_id",
    "n_eos", "eos_ids[0]", "max_pos", "rms_eps", "qkv_bias", "o_bias", "mlp_bias",
    "sliding_window",
};

static double field_value(const ingot_config *c, field f)
{
    switch (f) {
    case F_ROPE_TYPE: return c->rope.type;
    case F_THETA: return c->rope.theta;
    case F_FACTOR: return c->rope.factor;
    case F_ORIG_MAX_POS: return c->rope.original_max_pos;
    case F_ATTN_FACTOR: return c->rope.attention_factor;
    case F_KV_HEADS: return c->n_kv_heads;
    case F_HEAD_DIM: return c->head_dim;
    case F_Q_DIM: return c->n_heads * c->head_dim;
    case F_DTYPE: return c->dtype;
    case F_BOS: return c->bos_id;
    case F_N_EOS: return c->n_eos;
    case F_EOS0: return c->eos_ids[0];
    case F_MAX_POS: return c->max_pos;
    case F_RMS_EPS: return c->rms_eps;
    case F_QKV_BIAS: return c->qkv_bias;
    case F_O_BIAS: return c->o_bias;
    case F_MLP_BIAS: return c->mlp_bias;
    case F_SLIDING: return c->sliding_window;
    case F_END: break;
    }
    ck_abort_msg("no field %d", (int)f);
    return 0;
}

typedef struct good_case {
    const char *what;
    const char *patch; /* applied to base_llama; must be accepted */
    bool round_trip;   /* also check assert_round_trip */
    struct {
        field f;
        double want, tol; /* tol 0: exactly */
    } wants[10];
} good_case;
#define IS(f, want) {f, want, 0}
#define NEAR(f, want, tol) {f, want, tol}

static const good_case good_cases[] = {
    /* transformers' defaults */
    {"no rope_theta, no num_key_value_heads, no dtype, no bos/eos, no max_position",
     "{\"rope_theta\":\"DELETE\",\"num_key_value_heads\":\"DELETE\",\"torch_dtype\":\"DELETE\","
     "\"bos_token_id\":\"DELETE\",\"eos_token_id\":\"DELETE\",\"max_position_embeddings\":"
     "\"DELETE\",\"rms_norm_eps\":\"DELETE\",\"hidden_act\":\"DELETE\"}",
     true,
     {IS(F_THETA, 10000), IS(F_KV_HEADS, 32), IS(F_HEAD_DIM, 128), IS(F_DTYPE, INGOT_DT_COUNT),
      IS(F_BOS, 1), IS(F_N_EOS, 1), IS(F_EOS0, 2), IS(F_MAX_POS, 2048), IS(F_RMS_EPS, 1e-6)}},
    {"null head_dim / kv heads / bos / eos",
     "{\"head_dim\":null,\"num_key_value_heads\":null,\"bos_token_id\":null,"
     "\"eos_token_id\":null}",
     true, {IS(F_HEAD_DIM, 128), IS(F_KV_HEADS, 32), IS(F_BOS, -1), IS(F_N_EOS, 0)}},
    {"an explicit head_dim that differs from hidden / heads (Mistral-Nemo style)",
     "{\"hidden_size\":5120,\"head_dim\":128}", false, {IS(F_HEAD_DIM, 128), IS(F_Q_DIM, 4096)}},
    /* biases */
    {"Llama attention_bias and mlp_bias", "{\"attention_bias\":true,\"mlp_bias\":true}", false,
     {IS(F_QKV_BIAS, 1), IS(F_O_BIAS, 1), IS(F_MLP_BIAS, 1)}},
    {"Qwen2 ignores these keys: q/k/v biased, never o or the MLP",
     "{\"model_type\":\"qwen2\",\"attention_bias\":true,\"mlp_bias\":true}", false,
     {IS(F_QKV_BIAS, 1), IS(F_O_BIAS, 0), IS(F_MLP_BIAS, 0)}},
    /* rope */
    {"dynamic scaling", "{\"rope_scaling\":{\"type\":\"dynamic\",\"factor\":2}}", true,
     {IS(F_ROPE_TYPE, INGOT_ROPE_DYNAMIC), IS(F_FACTOR, 2), IS(F_ORIG_MAX_POS, 8192)}},
    {"rope_type wins over type; \"default\" with a factor is no scaling",
     "{\"rope_scaling\":{\"type\":\"linear\",\"rope_type\":\"default\",\"factor\":2}}", false,
     {IS(F_ROPE_TYPE, INGOT_ROPE_DEFAULT), IS(F_FACTOR, 1)}},
    {"yarn with DeepSeek-style mscale pair",
     "{\"rope_parameters\":{\"rope_type\":\"yarn\",\"rope_theta\":10000,\"factor\":40,"
     "\"original_max_position_embeddings\":4096,\"beta_fast\":32,\"beta_slow\":1,"
     "\"mscale\":1.0,\"mscale_all_dim\":0.707}}",
     true,
     {IS(F_ROPE_TYPE, INGOT_ROPE_YARN), IS(F_THETA, 10000), IS(F_ORIG_MAX_POS, 4096),
      /* (0.1 ln 40 + 1) / (0.1 * 0.707 ln 40 + 1) */
      NEAR(F_ATTN_FACTOR, 1.0857263992561355, 1e-12)}},
    {"5.x rope_parameters win over a stale top-level rope_theta",
     "{\"rope_theta\":1.0,\"rope_parameters\":{\"rope_theta\":250000,\"rope_type\":\"default\"}}",
     false, {IS(F_THETA, 250000)}},
    /* sliding windows */
    {"Qwen2 window",
     "{\"model_type\":\"qwen2\",\"num_hidden_layers\":4,\"use_sliding_window\":true,"
     "\"sliding_window\":1024,\"max_window_layers\":0}",
     false, {IS(F_SLIDING, 1024)}},
    {"every layer below max_window_layers is full: no window at all",
     "{\"model_type\":\"qwen2\",\"num_hidden_layers\":4,\"use_sliding_window\":true,"
     "\"sliding_window\":1024,\"max_window_layers\":4}",
     false, {IS(F_SLIDING, 0)}},
    {"Mistral: absent = the 4096 default", "{\"model_type\":\"mistral\"}", false,
     {IS(F_SLIDING, 4096)}},
    {"Mistral: null = none", "{\"model_type\":\"mistral\",\"sliding_window\":null}", false,
     {IS(F_SLIDING, 0)}},
    {"Mistral: layer_types decide when present",
     "{\"model_type\":\"mistral\",\"num_hidden_layers\":2,\"sliding_window\":512,"
     "\"layer_types\":[\"sliding_attention\",\"sliding_attention\"]}",
     false, {IS(F_SLIDING, 512)}},
    {"Llama has no window whatever the file says", "{\"sliding_window\":4096}", false,
     {IS(F_SLIDING, 0)}},
};

START_TEST(good_config_is_accepted)
{
    const good_case *g = &good_cases[_i];
    ingot_config c;
    ingot_error err;
    int rc = parse_patched(base_llama, g->patch, &c, &err);
    ck_assert_msg(rc == 0, "%s: %s", g->what, err.message);
    for (int k = 0; g->wants[k].f != F_END; k++) {
        double got = field_value(&c, g->wants[k].f), want = g->wants[k].want;
        double tol = g->wants[k].tol;
        ck_assert_msg(tol ? fabs(got - want) <= tol : got == want,
                      "%s: %s is %.17g, expected %.17g", g->what, field_names[g->wants[k].f], got,
                      want);
    }
    if (g->round_trip)
        assert_round_trip(&c);
}
END_TEST

/* ------------------------------------------------------------------ rejected configs */

typedef struct bad_case {
    const char *patch; /* applied to base_llama */
    ingot_status code;
    const char *needle;
} bad_case;

static const bad_case bad_cases[] = {
    {"{\"model_type\":\"DELETE\"}", INGOT_ERR_FORMAT, "config.json: model_type: missing"},
    {"{\"model_type\":\"mixtral\"}", INGOT_ERR_UNSUPPORTED,
     "config.json: model_type \"mixtral\" is not supported (supported: llama, mistral, qwen2)"},
    {"{\"model_type\":7}", INGOT_ERR_FORMAT, "model_type: expected a string, got an integer"},
    {"{\"num_hidden_layers\":0}", INGOT_ERR_FORMAT,
     "config.json: num_hidden_layers: 0 is out of range (1..1024)"},
    {"{\"num_hidden_layers\":10000000}", INGOT_ERR_FORMAT,
     "num_hidden_layers: 10000000 is out of range"},
    {"{\"num_hidden_layers\":-3}", INGOT_ERR_FORMAT, "num_hidden_layers: -3 is out of range"},
    {"{\"num_hidden_layers\":\"DELETE\"}", INGOT_ERR_FORMAT, "num_hidden_layers: missing"},
    {"{\"hidden_size\":4097}", INGOT_ERR_FORMAT,
     "hidden_size: 4097 is not divisible by num_attention_heads (32) and head_dim is not set"},
    {"{\"hidden_size\":4080,\"head_dim\":null}", INGOT_ERR_FORMAT, "head_dim is not set"},
    {"{\"num_key_value_heads\":5}", INGOT_ERR_FORMAT,
     "num_attention_heads: 32 is not a multiple of num_key_value_heads (5)"},
    {"{\"num_key_value_heads\":0}", INGOT_ERR_FORMAT, "num_key_value_heads: 0 is out of range"},
    {"{\"num_attention_heads\":0}", INGOT_ERR_FORMAT, "num_attention_heads: 0 is out of range"},
    {"{\"vocab_size\":1099511627776}", INGOT_ERR_FORMAT,
     "vocab_size: 1099511627776 is out of range"},
    {"{\"hidden_size\":2147483648}", INGOT_ERR_FORMAT, "hidden_size: 2147483648 is out of range"},
    {"{\"max_position_embeddings\":9223372036854775807}", INGOT_ERR_FORMAT,
     "max_position_embeddings: 9223372036854775807 is out of range"},
    {"{\"intermediate_size\":-11008}", INGOT_ERR_FORMAT, "intermediate_size: -11008 is out of range"},
    {"{\"vocab_size\":0}", INGOT_ERR_FORMAT, "vocab_size: 0 is out of range"},
    {"{\"hidden_size\":4096.5}", INGOT_ERR_FORMAT,
     "hidden_size: expected an integer, got 4096.5"},
    {"{\"hidden_size\":4096.0}", INGOT_ERR_FORMAT, "hidden_size: expected an integer, got 4096"},
    {"{\"num_attention_heads\":\"32\"}", INGOT_ERR_FORMAT,
     "num_attention_heads: expected an integer, got a string"},
    {"{\"head_dim\":127,\"hidden_size\":4064}", INGOT_ERR_FORMAT, "head_dim: 127 is odd"},
    {"{\"rope_scaling\":{\"type\":\"su\",\"factor\":2}}", INGOT_ERR_UNSUPPORTED,
     "rope_scaling.type: \"su\" is not supported (supported: default, linear, dynamic, llama3, "
     "yarn)"},
    {"{\"rope_parameters\":{\"rope_type\":\"longrope\",\"rope_theta\":10000}}",
     INGOT_ERR_UNSUPPORTED, "rope_parameters.rope_type: \"longrope\" is not supported"},
    {"{\"rope_scaling\":{\"factor\":2}}", INGOT_ERR_FORMAT, "rope_scaling.rope_type: missing"},
    {"{\"rope_scaling\":[1]}", INGOT_ERR_FORMAT, "rope_scaling: expected an object or null"},
    {"{\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"high_freq_factor\":4,"
     "\"original_max_position_embeddings\":8192}}",
     INGOT_ERR_FORMAT, "rope_scaling.low_freq_factor: missing"},
    {"{\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":4,"
     "\"high_freq_factor\":4,\"original_max_position_embeddings\":8192}}",
     INGOT_ERR_FORMAT, "high_freq_factor: 4 must exceed low_freq_factor"},
    {"{\"rope_scaling\":{\"type\":\"linear\",\"factor\":0.5}}", INGOT_ERR_FORMAT,
     "rope_scaling.factor: 0.5 must be at least 1"},
    {"{\"rope_scaling\":{\"type\":\"linear\"}}", INGOT_ERR_FORMAT, "rope_scaling.factor: missing"},
    {"{\"rope_theta\":-1}", INGOT_ERR_FORMAT, "rope_theta: -1 must be greater than 0"},
    {"{\"rope_theta\":0}", INGOT_ERR_FORMAT, "rope_theta: 0 must be greater than 0"},
    {"{\"rope_theta\":\"1e4\"}", INGOT_ERR_FORMAT, "rope_theta: expected a number, got a string"},
    {"{\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"default\"}}}",
     INGOT_ERR_UNSUPPORTED, "per-layer-type rope parameters"},
    {"{\"hidden_act\":\"gelu\"}", INGOT_ERR_UNSUPPORTED,
     "hidden_act: \"gelu\" is not supported (only silu)"},
    {"{\"eos_token_id\":32000}", INGOT_ERR_FORMAT,
     "config.json: eos_token_id: 32000 is out of range (0..31999)"},
    {"{\"eos_token_id\":[2,40000]}", INGOT_ERR_FORMAT, "eos_token_id: 40000 is out of range"},
    {"{\"eos_token_id\":[1,2,3,4,5,6,7,8,9]}", INGOT_ERR_FORMAT, "eos_token_id: 9 ids"},
    {"{\"eos_token_id\":2.5}", INGOT_ERR_FORMAT, "eos_token_id: expected an integer"},
    {"{\"bos_token_id\":-1}", INGOT_ERR_FORMAT, "bos_token_id: -1 is out of range"},
    {"{\"bos_token_id\":[1,2]}", INGOT_ERR_FORMAT, "bos_token_id: 2 ids, at most 1"},
    {"{\"rms_norm_eps\":0}", INGOT_ERR_FORMAT, "rms_norm_eps: 0 must be greater than 0"},
    {"{\"tie_word_embeddings\":\"yes\"}", INGOT_ERR_FORMAT,
     "tie_word_embeddings: expected true or false, got a string"},
    {"{\"tie_word_embeddings\":1}", INGOT_ERR_FORMAT, "tie_word_embeddings: expected true or false"},
    {"{\"quantization_config\":{\"quant_method\":\"hqq\",\"bits\":4}}", INGOT_ERR_UNSUPPORTED,
     "quantization_config: pre-quantized checkpoints (hqq) are not supported"},
    {"{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":4}}", INGOT_ERR_FORMAT,
     "quantization_config.group_size: missing"},
    {"{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":3,\"group_size\":128}}",
     INGOT_ERR_UNSUPPORTED, "quantization_config.bits: AWQ checkpoints with other than 4 bits"},
    {"{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128,"
     "\"version\":\"gemv\"}}",
     INGOT_ERR_UNSUPPORTED, "quantization_config.version: AWQ \"gemv\" layout is not supported"},
    {"{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":100}}",
     INGOT_ERR_UNSUPPORTED, "quantization_config.group_size: 100 is not supported"},
    {"{\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,"
     "\"desc_act\":true}}",
     INGOT_ERR_UNSUPPORTED, "desc_act (act-order) GPTQ checkpoints are not supported"},
    {"{\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":8,\"group_size\":128}}",
     INGOT_ERR_UNSUPPORTED, "quantization_config.bits: 8-bit GPTQ checkpoints are not supported"},
    {"{\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,"
     "\"checkpoint_format\":\"marlin\"}}",
     INGOT_ERR_UNSUPPORTED, "checkpoint_format: \"marlin\" is not supported"},
    {"{\"quantization_config\":{\"quant_method\":\"bitsandbytes\",\"load_in_4bit\":true,"
     "\"bnb_4bit_quant_type\":\"fp4\"}}",
     INGOT_ERR_UNSUPPORTED, "bnb_4bit_quant_type: \"fp4\" is not supported (only nf4)"},
    {"{\"quantization_config\":{\"quant_method\":\"bitsandbytes\"}}", INGOT_ERR_FORMAT,
     "exactly one of load_in_4bit and load_in_8bit"},
    {"{\"quantization_config\":{\"quant_method\":\"bitsandbytes\",\"load_in_8bit\":\"yes\"}}",
     INGOT_ERR_FORMAT, "quantization_config.load_in_8bit: expected true or false"},
    {"{\"quantization_config\":[]}", INGOT_ERR_FORMAT, "quantization_config: expected an object"},
    {"{\"architectures\":[\"LlamaForSequenceClassification\"]}", INGOT_ERR_UNSUPPORTED,
     "architectures: \"LlamaForSequenceClassification\" is not supported"},
    {"{\"torch_dtype\":\"float8_e4m3fn\"}", INGOT_ERR_UNSUPPORTED,
     "torch_dtype: \"float8_e4m3fn\" is not supported"},
    {"{\"dtype\":7}", INGOT_ERR_FORMAT, "dtype: expected a string"},
    {"{\"model_type\":\"qwen2\",\"num_hidden_layers\":4,\"use_sliding_window\":true,"
     "\"sliding_window\":1024,\"max_window_layers\":2}",
     INGOT_ERR_UNSUPPORTED, "max_window_layers: 2 of 4 layers use full attention"},
    {"{\"model_type\":\"qwen2\",\"num_hidden_layers\":2,\"layer_types\":"
     "[\"full_attention\",\"sliding_attention\"]}",
     INGOT_ERR_UNSUPPORTED, "layer_types: mixing 1 full and 1 sliding-window layers"},
    {"{\"model_type\":\"mistral\",\"layer_types\":[\"full_attention\"]}", INGOT_ERR_FORMAT,
     "layer_types: 1 entries for 32 layers"},
    {"{\"model_type\":\"mistral\",\"sliding_window\":-1}", INGOT_ERR_FORMAT,
     "sliding_window: -1 is out of range"},
    {"{\"model_type\":\"qwen2\",\"num_key_value_heads\":\"DELETE\",\"num_attention_heads\":16,"
     "\"hidden_size\":2048}",
     INGOT_ERR_FORMAT, "not a multiple of num_key_value_heads (32, the default when absent)"},
};

START_TEST(bad_config_is_rejected)
{
    const bad_case *b = &bad_cases[_i];
    ingot_config c;
    memset(&c, 0x5a, sizeof c);
    ingot_config before = c;
    ingot_error err;
    int rc = parse_patched(base_llama, b->patch, &c, &err);
    ck_assert_msg(rc == -1, "accepted: %s", b->patch);
    ck_assert_fails(rc, err, b->code, b->needle);
    /* the output is untouched on failure */
    ck_assert(memcmp(&c, &before, sizeof c) == 0);
}
END_TEST

/* Texts that are not a config object at all. */
static const struct {
    const char *text;
    const char *needle;
} bad_json[] = {
    {"{\"model_type\": \"llama\",", "config.json: invalid JSON at line 1"},
    {"", "invalid JSON"},
    {"[1, 2]", "config.json: expected a JSON object"},
    {"{\"model_type\":\"llama\",\"model_type\":\"qwen2\"}", "duplicate object key"},
    {"{\"hidden_size\": NaN}", "invalid JSON"},
};

START_TEST(bad_json_is_rejected)
{
    ingot_config c;
    ingot_error err;
    ck_assert_fails(parse_str(bad_json[_i].text, &c, &err), err, INGOT_ERR_FORMAT,
                    bad_json[_i].needle);
}
END_TEST

/* Not NUL-terminated: only len bytes are read. */
START_TEST(only_len_bytes_are_read)
{
    ingot_config c;
    ingot_error err;
    const char text[] = "{\"model_type\":\"gemma\"}garbage";
    ck_assert_int_eq(ingot_hf_config_parse(text, 22, NULL, &c, &err), -1);
    ck_assert_str_eq(err.message, "config.json: model_type \"gemma\" is not supported "
                                  "(supported: llama, mistral, qwen2)");
    ck_assert_int_eq(err.code, INGOT_ERR_UNSUPPORTED);
}
END_TEST

START_TEST(missing_config_file)
{
    ingot_config c;
    ingot_error err = {0};
    ck_assert_int_eq(ingot_hf_config_load("/nonexistent-ingot-dir", &c, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent-ingot-dir/config.json"));
}
END_TEST

/* ------------------------------------------------------------------ validate, from_json */

static ingot_config tiny_config(void)
{
    ingot_config c;
    ingot_error err;
    ck_assert_int_eq(parse_patched(base_llama,
                                   "{\"hidden_size\":64,\"num_hidden_layers\":2,"
                                   "\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                                   "\"intermediate_size\":128,\"vocab_size\":100}",
                                   &c, &err),
                     0);
    return c;
}

/* Hand-built configs that ingot_config_validate must refuse: each edits tiny_config(). */
static void kv_zero(ingot_config *c) { c->n_kv_heads = 0; /* must not divide by zero */ }
static void many_layers(ingot_config *c) { c->n_layers = 1 << 30; }
static void nan_theta(ingot_config *c) { c->rope.theta = NAN; }
static void small_factor(ingot_config *c)
{
    c->rope.type = INGOT_ROPE_LINEAR;
    c->rope.factor = 0.5;
}
static void eos_past_vocab(ingot_config *c) { c->eos_ids[0] = 100; }
static void zero_eps(ingot_config *c) { c->rms_eps = 0; }
static void huge_q(ingot_config *c)
{
    c->n_heads = INGOT_MAX_DIM;
    c->n_kv_heads = 1;
    c->head_dim = 2;
}
static void no_model_type(ingot_config *c) { c->model_type[0] = '\0'; }
static void bad_arch_value(ingot_config *c) { c->arch = (ingot_arch)7; }

static const struct {
    void (*edit)(ingot_config *);
    const char *needle;
} invalid_configs[] = {
    {kv_zero, "x: n_kv_heads: 0 is out of range"},
    {many_layers, "n_layers"},
    {nan_theta, "rope.theta"},
    {small_factor, "rope.scaling.factor"},
    {eos_past_vocab, "eos_token_ids: 100 is out of range (0..99)"},
    {zero_eps, "rms_norm_eps"},
    {huge_q, "n_heads x head_dim"},
    {no_model_type, "model_type"},
    {bad_arch_value, "architecture"},
};

START_TEST(validate_catches_hand_built_configs)
{
    ingot_error err;
    ingot_config c = tiny_config();
    ck_assert_int_eq(ingot_config_validate(&c, "x", &err), 0);
    for (size_t i = 0; i < sizeof invalid_configs / sizeof invalid_configs[0]; i++) {
        c = tiny_config();
        invalid_configs[i].edit(&c);
        ck_assert_fails(ingot_config_validate(&c, "x", &err), err, INGOT_ERR_FORMAT,
                        invalid_configs[i].needle);
    }
    ck_assert_str_eq(ingot_arch_name((ingot_arch)7), "unknown");
    ck_assert_str_eq(ingot_arch_name(INGOT_ARCH_QWEN2), "qwen2");
    ck_assert_str_eq(ingot_rope_type_name(INGOT_ROPE_LLAMA3), "llama3");
    ck_assert_int_eq(ingot_rope_type_from_name("yarn"), INGOT_ROPE_YARN);
    ck_assert_int_eq(ingot_arch_from_name("gemma"), -1);
}
END_TEST

/* Applies edit to the manifest form of the llama-3.1 fixture and reads it back. */
static int from_json_edited(void (*edit)(json_t *), ingot_error *err)
{
    ingot_config c, d;
    load_fixture("llama-3.1-8b", &c);
    json_t *j = ingot_config_to_json(&c);
    edit(j);
    memset(err, 0, sizeof *err);
    int rc = ingot_config_from_json(j, &d, "ingot.json: config", err);
    json_decref(j);
    return rc;
}

static void drop_kv(json_t *j) { json_object_del(j, "n_kv_heads"); }
static void string_hidden(json_t *j) { json_object_set_new(j, "hidden_size", json_string("4096")); }
static void real_layers(json_t *j) { json_object_set_new(j, "n_layers", json_real(32.0)); }
static void string_factor(json_t *j)
{
    json_object_set_new(json_object_get(json_object_get(j, "rope"), "scaling"), "factor",
                        json_string("8"));
}
static void drop_low(json_t *j)
{
    json_object_del(json_object_get(json_object_get(j, "rope"), "scaling"), "low_freq_factor");
}
static void bad_arch(json_t *j) { json_object_set_new(j, "architecture", json_string("gpt2")); }
static void bad_kv(json_t *j) { json_object_set_new(j, "n_kv_heads", json_integer(5)); }
static void bad_eos(json_t *j) { json_object_set_new(j, "eos_token_ids", json_integer(2)); }
static void int_bias(json_t *j) { json_object_set_new(j, "qkv_bias", json_integer(0)); }
static void drop_rope(json_t *j) { json_object_del(j, "rope"); }
static void bad_dtype(json_t *j) { json_object_set_new(j, "dtype", json_string("bfloat16")); }
static void huge_vocab(json_t *j)
{
    json_object_set_new(j, "vocab_size", json_integer(1LL << 40));
}
static void extra_key(json_t *j) { json_object_set_new(j, "future_field", json_true()); }

START_TEST(from_json_is_strict)
{
    static const struct {
        void (*edit)(json_t *);
        const char *needle;
    } cases[] = {
        {drop_kv, "ingot.json: config: n_kv_heads: missing"},
        {string_hidden, "hidden_size: expected an integer"},
        {real_layers, "n_layers: expected an integer"},
        {string_factor, "rope.scaling.factor: expected a number"},
        {drop_low, "rope.scaling.low_freq_factor: missing"},
        {bad_arch, "architecture: unknown \"gpt2\""},
        {bad_kv, "n_heads: 32 is not a multiple of n_kv_heads (5)"},
        {bad_eos, "eos_token_ids: expected an array"},
        {int_bias, "qkv_bias: expected true or false"},
        {drop_rope, "rope: missing"},
        {bad_dtype, "dtype: expected a dtype name or null"},
        {huge_vocab, "vocab_size: 1099511627776 does not fit in an int"},
    };
    ingot_error err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = from_json_edited(cases[i].edit, &err);
        ck_assert_msg(rc == -1, "case %zu accepted", i);
        ck_assert_msg(strstr(err.message, cases[i].needle), "case %zu: \"%s\" not in \"%s\"", i,
                      cases[i].needle, err.message);
    }
    /* unknown keys are ignored (forward compatibility) */
    ck_assert_msg(from_json_edited(extra_key, &err) == 0, "%s", err.message);
    ingot_config c;
    ck_assert_int_eq(ingot_config_from_json(NULL, &c, NULL, &err), -1);
    ck_assert_int_eq(err.code, INGOT_ERR_FORMAT);
}
END_TEST

/* ------------------------------------------------------------------ tensor specs */

/* One tensor of a list: ingot_tensor_spec_find and _find_hf both give it, as described. */
typedef struct spec_want {
    const char *name, *hf_name;
    ingot_tensor_kind kind;
    int layer, ndim;
    int64_t shape[2];
} spec_want;

static void assert_specs(const ingot_tensor_spec *s, int n, const spec_want *w, size_t count)
{
    for (size_t i = 0; i < count; i++, w++) {
        const ingot_tensor_spec *t = ingot_tensor_spec_find(s, n, w->name);
        ck_assert_msg(t != NULL, "%s: missing", w->name);
        ck_assert_msg(ingot_tensor_spec_find_hf(s, n, w->hf_name) == t, "%s: not found by %s",
                      w->name, w->hf_name);
        ck_assert_str_eq(t->hf_name, w->hf_name);
        ck_assert_int_eq(t->kind, w->kind);
        ck_assert_int_eq(t->layer, w->layer);
        ck_assert_int_eq(t->ndim, w->ndim);
        ck_assert_int_eq(t->shape[0], w->shape[0]);
        ck_assert_int_eq(t->shape[1], w->shape[1]);
        ck_assert_int_eq(ingot_tensor_spec_numel(t),
                         w->shape[0] * (w->ndim == 2 ? w->shape[1] : 1));
    }
}

static void assert_absent(const ingot_tensor_spec *s, int n, const char *const *names)
{
    for (; *names; names++)
        ck_assert_msg(ingot_tensor_spec_find(s, n, *names) == NULL, "%s: present", *names);
}

/* tiny_config(): hidden 64, 4 heads of 16, 2 kv heads, ffn 128, vocab 100, 2 layers */
START_TEST(specs_untied_llama)
{
    ingot_config c = tiny_config();
    ingot_tensor_spec *s;
    int n;
    ingot_error err;
    ck_assert_int_eq(ingot_tensor_specs(&c, &s, &n, &err), 0);
    static const char *const names[] = {
        "token_embd.weight",      "blk.0.attn_norm.weight", "blk.0.attn_q.weight",
        "blk.0.attn_k.weight",    "blk.0.attn_v.weight",    "blk.0.attn_output.weight",
        "blk.0.ffn_norm.weight",  "blk.0.ffn_gate.weight",  "blk.0.ffn_up.weight",
        "blk.0.ffn_down.weight",  "blk.1.attn_norm.weight", "blk.1.attn_q.weight",
        "blk.1.attn_k.weight",    "blk.1.attn_v.weight",    "blk.1.attn_output.weight",
        "blk.1.ffn_norm.weight",  "blk.1.ffn_gate.weight",  "blk.1.ffn_up.weight",
        "blk.1.ffn_down.weight",  "output_norm.weight",     "output.weight",
    };
    ck_assert_int_eq(n, (int)(sizeof names / sizeof names[0]));
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(s[i].name, names[i]);
    static const spec_want want[] = {
        {"token_embd.weight", "model.embed_tokens.weight", INGOT_TK_EMBED, -1, 2, {100, 64}},
        {"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight", INGOT_TK_LINEAR, 1, 2,
         {32, 64}},
        {"blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight", INGOT_TK_LINEAR, 0,
         2, {64, 64}},
        {"blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight", INGOT_TK_LINEAR, 1, 2,
         {64, 128}},
        {"blk.1.ffn_norm.weight", "model.layers.1.post_attention_layernorm.weight", INGOT_TK_NORM,
         1, 1, {64}},
        {"output_norm.weight", "model.norm.weight", INGOT_TK_NORM, -1, 1, {64}},
        {"output.weight", "lm_head.weight", INGOT_TK_HEAD, -1, 2, {100, 64}},
    };
    assert_specs(s, n, want, sizeof want / sizeof want[0]);
    assert_absent(s, n, (const char *const[]){"blk.2.attn_q.weight", NULL});
    ck_assert_str_eq(ingot_tensor_kind_name(INGOT_TK_BIAS), "bias");
    free(s);
}
END_TEST

START_TEST(specs_tied_with_biases)
{
    ingot_config c = tiny_config();
    c.arch = INGOT_ARCH_QWEN2;
    c.tied_embeddings = true;
    c.qkv_bias = true;
    ingot_tensor_spec *s;
    int n;
    ingot_error err;
    ck_assert_int_eq(ingot_tensor_specs(&c, &s, &n, &err), 0);
    ck_assert_int_eq(n, 2 + 2 * 12);
    ck_assert_str_eq(s[n - 1].name, "output_norm.weight");
    ck_assert_str_eq(s[3].name, "blk.0.attn_q.bias");
    static const spec_want qwen[] = {
        {"blk.0.attn_q.bias", "model.layers.0.self_attn.q_proj.bias", INGOT_TK_BIAS, 0, 1, {64}},
        {"blk.1.attn_v.bias", "model.layers.1.self_attn.v_proj.bias", INGOT_TK_BIAS, 1, 1, {32}},
    };
    assert_specs(s, n, qwen, sizeof qwen / sizeof qwen[0]);
    assert_absent(s, n, (const char *const[]){"output.weight", "blk.0.attn_output.bias", NULL});
    free(s);

    /* Llama attention_bias + mlp_bias: o_proj and every MLP projection too. */
    c = tiny_config();
    c.qkv_bias = c.o_bias = c.mlp_bias = true;
    ck_assert_int_eq(ingot_tensor_specs(&c, &s, &n, &err), 0);
    ck_assert_int_eq(n, 3 + 2 * 16);
    static const spec_want llama[] = {
        {"blk.0.attn_output.bias", "model.layers.0.self_attn.o_proj.bias", INGOT_TK_BIAS, 0, 1,
         {64}},
        {"blk.1.ffn_gate.bias", "model.layers.1.mlp.gate_proj.bias", INGOT_TK_BIAS, 1, 1, {128}},
        {"blk.1.ffn_down.bias", "model.layers.1.mlp.down_proj.bias", INGOT_TK_BIAS, 1, 1, {64}},
    };
    assert_specs(s, n, llama, sizeof llama / sizeof llama[0]);
    free(s);

    /* an invalid config gives no specs */
    c.n_kv_heads = 3;
    s = (ingot_tensor_spec *)&c;
    ck_assert_int_eq(ingot_tensor_specs(&c, &s, &n, &err), -1);
    ck_assert_ptr_null(s);
}
END_TEST

/* HF tensor names that carry no weights (rotary tables of layers that exist). */
static const struct {
    const char *hf_name;
    bool tied; /* with tied embeddings */
    bool ignorable;
} ignorable[] = {
    {"model.layers.0.self_attn.rotary_emb.inv_freq", false, true},
    {"model.layers.1.self_attn.rotary_emb.inv_freq", false, true},
    {"model.rotary_emb.inv_freq", false, true},
    {"model.layers.2.self_attn.rotary_emb.inv_freq", false, false},
    {"model.layers.01.self_attn.rotary_emb.inv_freq", false, false},
    {"model.layers..self_attn.rotary_emb.inv_freq", false, false},
    {"model.layers.0.self_attn.q_proj.weight", false, false},
    {"lm_head.weight", false, false},
    {"model.embed_tokens.weight", false, false},
    {"lm_head.weight", true, true},
};

START_TEST(ignorable_tensors)
{
    ingot_config c = tiny_config();
    c.tied_embeddings = ignorable[_i].tied;
    ck_assert_msg(ingot_hf_tensor_ignorable(&c, ignorable[_i].hf_name) == ignorable[_i].ignorable,
                  "%s (tied %d)", ignorable[_i].hf_name, ignorable[_i].tied);
    ck_assert(!ingot_hf_tensor_ignorable(NULL, "lm_head.weight"));
}
END_TEST

/* ------------------------------------------------------------------ HF files */

/* One HF file checked by ingot_hf_validate_file. */
typedef struct file_case {
    const char *kind;
    const char *text; /* NULL: read the file path from disk */
    int vocab;
    ingot_status code; /* INGOT_OK: accepted */
    const char *needle;
    const char *path; /* NULL: the kind */
    size_t len;       /* 0: strlen(text) */
} file_case;

#define TOK "tokenizer.json"
#define TOK_CONFIG "tokenizer_config.json"
#define GEN_CONFIG "generation_config.json"
#define GOOD(kind, text, vocab) {kind, text, vocab, INGOT_OK, NULL, NULL, 0}
#define BAD(kind, text, vocab, needle) {kind, text, vocab, INGOT_ERR_FORMAT, needle, NULL, 0}

/* clang-format off */
static const file_case file_cases[] = {
    /* tokenizer.json */
    GOOD(TOK, "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":3,\"content\":\"<|end|>\","
              "\"special\":true}],\"post_processor\":{\"type\":\"Sequence\",\"processors\":["
              "{\"type\":\"ByteLevel\"},{\"type\":\"TemplateProcessing\",\"special_tokens\":"
              "{\"<s>\":{\"id\":\"<s>\",\"ids\":[0],\"tokens\":[\"<s>\"]}}}]},"
              "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}}", 4),
    BAD(TOK, "{\"model\":{", 4, "tokenizer.json: invalid JSON at line 1"),
    BAD(TOK, "[]", 4, "tokenizer.json: expected a JSON object"),
    BAD(TOK, "{\"version\":\"1.0\"}", 4, "tokenizer.json: model: missing"),
    BAD(TOK, "{\"model\":[]}", 4, "model: expected an object"),
    BAD(TOK, "{\"model\":{\"type\":\"BPE\"}}", 4, "model.vocab: missing"),
    /* added token beyond the embedding */
    BAD(TOK, "{\"added_tokens\":[{\"id\":0,\"content\":\"<s>\"},{\"id\":4,\"content\":\"<|im_end|>\"}],"
             "\"model\":{\"vocab\":{\"a\":0}}}",
        4, "tokenizer.json: added_tokens[1] \"<|im_end|>\": id 4 is out of range (0..3"),
    BAD(TOK, "{\"added_tokens\":[{\"id\":1.5,\"content\":\"x\"}],\"model\":{\"vocab\":{}}}", 4,
        "added_tokens[0] \"x\": expected an integer token id"),
    BAD(TOK, "{\"added_tokens\":[{\"content\":\"x\"}],\"model\":{\"vocab\":{}}}", 4,
        "added_tokens[0] \"x\": id: missing"),
    BAD(TOK, "{\"added_tokens\":[{\"id\":-1,\"content\":\"x\"}],\"model\":{\"vocab\":{}}}", 4,
        "id -1 is negative"),
    /* vocab ids, with a control character escaped in the message */
    BAD(TOK, "{\"model\":{\"vocab\":{\"a\":0,\"b\\nc\":9}}}", 4,
        "model.vocab \"b\\x0ac\": id 9 is out of range"),
    BAD(TOK, "{\"model\":{\"vocab\":{\"a\":\"0\"}}}", 4, "model.vocab \"a\": expected an integer token id"),
    /* Unigram */
    GOOD(TOK, "{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",-1.5],[\"b\",-2]]}}", 4),
    BAD(TOK, "{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[\"b\",0],[\"c\",0]]}}", 2,
        "model.vocab: 3 entries but vocab_size is 2"),
    /* post-processor special ids */
    BAD(TOK, "{\"post_processor\":{\"type\":\"TemplateProcessing\",\"special_tokens\":{\"<s>\":{\"ids\":[7]}}},"
             "\"model\":{\"vocab\":{}}}",
        4, "post_processor.special_tokens \"<s>\".ids[0]: id 7"),
    BAD(TOK, "{\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",9],\"cls\":[\"<s>\",0]},"
             "\"model\":{\"vocab\":{}}}",
        4, "post_processor.sep: id 9"),

    /* tokenizer_config.json; model_max_length overflows 64-bit integers in real files */
    GOOD(TOK_CONFIG, "{\"model_max_length\":1000000000000000019884624838656,\"bos_token\":\"<s>\","
                     "\"eos_token\":{\"__type\":\"AddedToken\",\"content\":\"</s>\",\"lstrip\":false},"
                     "\"pad_token\":null,\"additional_special_tokens\":[\"<a>\",{\"content\":\"<b>\"}],"
                     "\"added_tokens_decoder\":{\"0\":{\"content\":\"<s>\",\"special\":true},"
                     "\"3\":{\"content\":\"</s>\"}},"
                     "\"chat_template\":[{\"name\":\"default\",\"template\":\"{{ x }}\"},"
                     "{\"name\":\"tool_use\",\"template\":\"{{ y }}\"}]}", 4),
    GOOD(TOK_CONFIG, "{\"chat_template\":\"{{ m }}\"}", 4),
    BAD(TOK_CONFIG, "{\"chat_template\":5}", 4, "tokenizer_config.json: chat_template: expected a string"),
    BAD(TOK_CONFIG, "{\"chat_template\":[{\"name\":\"default\"}]}", 4, "chat_template[0]: expected"),
    BAD(TOK_CONFIG, "{\"eos_token\":7}", 4, "eos_token: expected a string, null or"),
    BAD(TOK_CONFIG, "{\"bos_token\":{\"id\":1}}", 4, "bos_token: expected"),
    BAD(TOK_CONFIG, "{\"additional_special_tokens\":[\"a\",3]}", 4, "additional_special_tokens[1]: expected"),
    BAD(TOK_CONFIG, "{\"added_tokens_decoder\":{\"4\":{\"content\":\"<x>\"}}}", 4,
        "added_tokens_decoder \"4\" (\"<x>\"): id 4 is out of range"),
    BAD(TOK_CONFIG, "{\"added_tokens_decoder\":{\"x\":{\"content\":\"<x>\"}}}", 4, "key is not a token id"),
    BAD(TOK_CONFIG, "{\"a\":1,}", 4, "tokenizer_config.json: invalid JSON"),
    GOOD("special_tokens_map.json", "{\"bos_token\":{\"content\":\"<s>\"},\"eos_token\":\"</s>\"}", 4),
    BAD("special_tokens_map.json", "{\"unk_token\":[]}", 4, "special_tokens_map.json: unk_token"),

    /* generation_config.json */
    GOOD(GEN_CONFIG, "{\"bos_token_id\":0,\"eos_token_id\":[1,3],\"pad_token_id\":null,"
                     "\"do_sample\":true,\"temperature\":0.6,\"top_p\":0.95,"
                     "\"top_k\":20,\"repetition_penalty\":1.05,\"max_length\":"
                     "1000000000000000019884624838656}", 4),
    BAD(GEN_CONFIG, "{\"eos_token_id\":4}", 4, "generation_config.json: eos_token_id: id 4 is out of range (0..3"),
    BAD(GEN_CONFIG, "{\"eos_token_id\":[1,128009]}", 4, "eos_token_id[1]: id 128009 is out of range"),
    BAD(GEN_CONFIG, "{\"bos_token_id\":\"<s>\"}", 4, "bos_token_id: expected an integer token id"),
    BAD(GEN_CONFIG, "{\"pad_token_id\":-1}", 4, "pad_token_id: id -1 is negative"),
    BAD(GEN_CONFIG, "{\"top_p\":2}", 4, "top_p: 2 is out of range"),
    BAD(GEN_CONFIG, "{\"temperature\":\"hot\"}", 4, "temperature: expected a number"),
    BAD(GEN_CONFIG, "{\"top_k\":-5}", 4, "top_k: expected a non-negative integer"),
    BAD(GEN_CONFIG, "{\"do_sample\":1}", 4, "do_sample: expected true or false"),
    BAD(GEN_CONFIG, "{\"eos_token_id\":2", 4, "generation_config.json: invalid JSON"),
    /* vocab_size <= 0: ids are only checked for sign */
    GOOD(GEN_CONFIG, "{\"eos_token_id\":99999}", 0),

    /* chat_template.jinja */
    GOOD("chat_template.jinja", "{% for m in messages %}\xe4\xbd\xa0\xe5\xa5\xbd {{ m }}"
                                "\xf0\x9f\x98\x80{% endfor %}", 0),
    BAD("chat_template.jinja", "ab\xc3(", 0, "chat_template.jinja: invalid UTF-8 at byte 2"),
    {"chat_template.jinja", "a\0b", 0, INGOT_ERR_FORMAT, "NUL byte at offset 1", "t.jinja", 3},
    /* unknown kinds are the caller's mistake */
    {"vocab.txt", "x", 4, INGOT_ERR_ARG, "vocab.txt", NULL, 0},
    /* read from disk when no data is given */
    {TOK, NULL, 4, INGOT_ERR_IO, "/nonexistent/tokenizer.json", "/nonexistent/tokenizer.json", 0},
};
/* clang-format on */

START_TEST(hf_file_checks)
{
    const file_case *f = &file_cases[_i];
    ingot_error err = {0};
    size_t len = f->len ? f->len : f->text ? strlen(f->text) : 0;
    int rc = ingot_hf_validate_file(f->path ? f->path : f->kind, f->kind, f->text, len, f->vocab,
                                    &err);
    if (f->code == INGOT_OK)
        ck_assert_msg(rc == 0, "%s: %s", f->kind, err.message);
    else
        ck_assert_fails(rc, err, f->code, f->needle);
}
END_TEST

/* ingot_utf8_valid: the bytes, and where the first bad sequence starts (-1: not checked). */
static const struct {
    const char *bytes;
    size_t len;
    bool valid;
    long bad_at;
} utf8_cases[] = {
    {"", 0, true, -1},
    {"\xc0\xaf", 2, false, 0},        /* overlong '/' */
    {"x\xed\xa0\x80", 4, false, 1},   /* surrogate */
    {"\xf4\x90\x80\x80", 4, false, -1}, /* > U+10FFFF */
    {"\xe2\x82", 2, false, -1},       /* truncated */
    {"\x80", 1, false, -1},           /* stray continuation */
    {"\xf4\x8f\xbf\xbf\xef\xbb\xbf", 7, true, -1},
};

START_TEST(utf8_validation)
{
    size_t bad = 99;
    ck_assert_msg(ingot_utf8_valid(utf8_cases[_i].bytes, utf8_cases[_i].len, &bad) ==
                      utf8_cases[_i].valid,
                  "case %d", _i);
    if (utf8_cases[_i].bad_at >= 0)
        ck_assert_uint_eq(bad, (size_t)utf8_cases[_i].bad_at);
}
END_TEST

START_TEST(file_kinds)
{
    ck_assert(ingot_hf_file_kind_known("generation_config.json"));
    ck_assert(!ingot_hf_file_kind_known("model.safetensors"));
}
END_TEST

/* ------------------------------------------------------------------ the real models */

/* Reads one safetensors header and checks each tensor against the specs. */
static int check_shard(const char *path, const ingot_config *c, const ingot_tensor_spec *s, int n,
                       int *seen)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    uint8_t len8[8];
    ck_assert_int_eq(fread(len8, 1, 8, f), 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | len8[i];
    ck_assert(hl < (1u << 26));
    char *hdr = malloc(hl);
    ck_assert_int_eq(fread(hdr, 1, hl, f), hl);
    fclose(f);
    json_t *h = json_loadb(hdr, hl, 0, NULL);
    free(hdr);
    ck_assert_ptr_nonnull(h);
    const char *name;
    json_t *v;
    int count = 0;
    json_object_foreach(h, name, v) {
        if (strcmp(name, "__metadata__") == 0)
            continue;
        const ingot_tensor_spec *t = ingot_tensor_spec_find_hf(s, n, name);
        if (!t) {
            ck_assert_msg(ingot_hf_tensor_ignorable(c, name), "%s: unexpected %s", path, name);
            continue;
        }
        json_t *shape = json_object_get(v, "shape");
        ck_assert_int_eq(json_array_size(shape), t->ndim);
        for (int d = 0; d < t->ndim; d++)
            ck_assert_msg(json_integer_value(json_array_get(shape, d)) == t->shape[d],
                          "%s: dim %d", name, d);
        seen[t - s]++;
        count++;
    }
    json_decref(h);
    return count;
}

static void check_model_tensors(const char *dir, const ingot_config *c)
{
    ingot_tensor_spec *s;
    int n;
    ingot_error err;
    ck_assert_int_eq(ingot_tensor_specs(c, &s, &n, &err), 0);
    char *index_path = ingot_path_join(dir, "model.safetensors.index.json");
    json_t *index = json_load_file(index_path, 0, NULL);
    free(index_path);
    ck_assert_ptr_nonnull(index);
    /* distinct shard names of the weight map */
    json_t *shards = json_object(), *v;
    const char *k;
    json_object_foreach(json_object_get(index, "weight_map"), k, v)
        json_object_set_new(shards, json_string_value(v), json_true());
    int *seen = calloc((size_t)n, sizeof *seen), total = 0;
    json_object_foreach(shards, k, v) {
        char *p = ingot_path_join(dir, k);
        total += check_shard(p, c, s, n, seen);
        free(p);
    }
    ck_assert_int_eq(total, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(seen[i] == 1, "%s seen %d times", s[i].hf_name, seen[i]);
    free(seen);
    json_decref(shards);
    json_decref(index);
    free(s);
}

static void check_model_files(const char *dir, int vocab)
{
    static const char *const kinds[] = {"tokenizer.json", "tokenizer_config.json",
                                        "generation_config.json", "chat_template.jinja"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char *p = ingot_path_join(dir, kinds[i]);
        ingot_error err = {0};
        if (ingot_file_exists(p))
            ck_assert_msg(ingot_hf_validate_file(p, kinds[i], NULL, 0, vocab, &err) == 0, "%s",
                          err.message);
        free(p);
    }
    /* The same tokenizer against a smaller embedding must fail, naming a token. */
    char *p = ingot_path_join(dir, "tokenizer.json");
    ingot_error err = {0};
    ck_assert_int_eq(ingot_hf_validate_file(p, "tokenizer.json", NULL, 0, 100, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "is out of range (0..99"));
    free(p);
}

/* The test models beside the repository, as their config.json must read. */
static const expect real_models[] = {
    {"tiny-llama", INGOT_ARCH_LLAMA, "llama", 256, 6, 4, 2, 64, 640, 4096, 4096, 0, 1e-6,
     .rope = INGOT_ROPE_DEFAULT, .theta = 500000, .factor = 1, .bos = 0, .n_eos = 1, .eos = {0},
     .dtype = INGOT_DT_BF16},
    {"small-qwen2", INGOT_ARCH_QWEN2, "qwen2", 384, 6, 6, 2, 64, 1024, 8192, 4096, 0, 1e-6,
     .rope = INGOT_ROPE_DEFAULT, .theta = 1e6, .factor = 1, .tied = true, .qkv_bias = true,
     .bos = 0, .n_eos = 1, .eos = {0}, .dtype = INGOT_DT_BF16},
};

START_TEST(real_model)
{
    const expect *e = &real_models[_i];
    char *dir = model_dir(e->dir);
    if (!dir)
        return;
    ingot_config c;
    ingot_error err = {0};
    ck_assert_msg(ingot_hf_config_load(dir, &c, &err) == 0, "%s", err.message);
    assert_expected(&c, e);
    assert_round_trip(&c);
    check_model_tensors(dir, &c);
    check_model_files(dir, c.vocab_size);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------------ suite */

static Suite *suite(void)
{
    Suite *s = suite_create("hf_config");
    TCase *t = tcase_create("config");
    tcase_add_loop_test(t, fixture_parses_to_expected, 0,
                        (int)(sizeof fixtures / sizeof fixtures[0]));
    tcase_add_test(t, v4_and_v5_spellings_agree);
    tcase_add_test(t, manifest_form_has_documented_keys);
    tcase_add_loop_test(t, good_config_is_accepted, 0,
                        (int)(sizeof good_cases / sizeof good_cases[0]));
    tcase_add_loop_test(t, bad_config_is_rejected, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_loop_test(t, bad_json_is_rejected, 0, (int)(sizeof bad_json / sizeof bad_json[0]));
    tcase_add_test(t, only_len_bytes_are_read);
    tcase_add_test(t, missing_config_file);
    tcase_add_test(t, validate_catches_hand_built_configs);
    tcase_add_test(t, from_json_is_strict);
    suite_add_tcase(s, t);

    t = tcase_create("tensors");
    tcase_add_test(t, specs_untied_llama);
    tcase_add_test(t, specs_tied_with_biases);
    tcase_add_loop_test(t, ignorable_tensors, 0, (int)(sizeof ignorable / sizeof ignorable[0]));
    suite_add_tcase(s, t);

    t = tcase_create("hf_files");
    tcase_add_loop_test(t, hf_file_checks, 0, (int)(sizeof file_cases / sizeof file_cases[0]));
    tcase_add_loop_test(t, utf8_validation, 0, (int)(sizeof utf8_cases / sizeof utf8_cases[0]));
    tcase_add_test(t, file_kinds);
    suite_add_tcase(s, t);

    t = tcase_create("real_models");
    tcase_add_loop_test(t, real_model, 0, (int)(sizeof real_models / sizeof real_models[0]));
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
