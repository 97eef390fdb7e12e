/*
 * make_random_model.c - writes a random-weight HuggingFace checkpoint
 * (config.json, sharded safetensors + index, tokenizer.json) of a real
 * model's shape, for benchmarks at sizes the bundled models do not reach.
 *
 * Statistics follow real checkpoints: norm weights near 1, linear weights
 * N(0, 0.02) with a few input channels scaled up 10-50x (the activation
 * outliers that make quantization hard), biases and embeddings N(0, 0.02).
 * Deterministic for a given seed.  Data is generated while it is written, so
 * a 7B checkpoint needs a few MiB of memory.
 *
 *   make-random-model --shape qwen2-0.5b -o DIR [--dtype bf16] [--seed N]
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert/hf_config.h"
#include "convert/st_writer.h"
#include "model/tensor_map.h"
#include "model/model_config.h"
#include "util/util.h"

#define SHARD_BYTES (2ull << 30)

typedef struct shape_preset {
    const char *name, *model_type;
    int hidden, layers, heads, kv_heads, ffn, vocab, max_pos;
    double theta, linear_factor;
    bool tied, qkv_bias;
} shape_preset;

static const shape_preset presets[] = {
    {"qwen2-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1e6, 0, true, true},
    {"qwen2-1.5b", "qwen2", 1536, 28, 12, 2, 8960, 151936, 32768, 1e6, 0, true, true},
    {"deepseek-coder-6.7b", "llama", 4096, 32, 32, 32, 11008, 32256, 16384, 1e5, 4, false, false},
    {"llama-tiny", "llama", 256, 4, 4, 2, 640, 4096, 4096, 5e5, 0, false, false},
};

typedef struct gen {
    ingot_tensor_spec *specs;
    int n;
    ingot_dtype dtype;
    uint64_t seed;
} gen;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return ((double)(splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Outlier input channels: about 1 in 200, scaled 10-50x, the same for every tensor of a layer. */
static float channel_scale(uint64_t seed, int layer, int64_t col)
{
    uint64_t s = seed ^ ((uint64_t)(layer + 1) * 0x632be59bd9b4e019ull) ^ ((uint64_t)col * 0x9e3779b97f4a7c15ull);
    if (splitmix(&s) % 200 != 0)
        return 1.0f;
    return (float)(10.0 + 40.0 * uniform(&s));
}

static float value(const gen *g, const ingot_tensor_spec *sp, uint64_t idx)
{
    uint64_t s = g->seed ^ ((uint64_t)(sp - g->specs) << 40) ^ (idx * 0xd1b54a32d192ed03ull);
    double u1 = uniform(&s), u2 = uniform(&s);
    double z = sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2); /* Box-Muller */
    if (sp->kind == INGOT_TK_NORM)
        return (float)(1.0 + 0.05 * z);
    if (sp->kind == INGOT_TK_LINEAR && sp->ndim == 2)
        return (float)(0.02 * z) * channel_scale(g->seed, sp->layer, (int64_t)(idx % (uint64_t)sp->shape[1]));
    return (float)(0.02 * z);
}

static void fill(void *user, int i, uint64_t offset, uint8_t *buf, size_t len)
{
    const gen *g = user;
    const ingot_tensor_spec *sp = &g->specs[i];
    size_t es = ingot_dtype_size(g->dtype), n = len / es;
    uint64_t first = offset / es;
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < n; k++) {
        float f = value(g, sp, first + k);
        if (g->dtype == INGOT_DT_F32) {
            memcpy(buf + 4 * k, &f, 4);
        } else {
            uint16_t h = g->dtype == INGOT_DT_F16 ? ingot_f32_to_f16(f) : ingot_f32_to_bf16(f);
            memcpy(buf + 2 * k, &h, 2);
        }
    }
}

static int write_config(const char *dir, const shape_preset *p, ingot_dtype dt)
{
    json_t *c = json_pack("{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:b,s:s,s:s,s:i,s:i}",
                          "architectures", strcmp(p->model_type, "qwen2") ? "LlamaForCausalLM" : "Qwen2ForCausalLM",
                          "model_type", p->model_type, "hidden_size", p->hidden, "num_hidden_layers", p->layers,
                          "num_attention_heads", p->heads, "num_key_value_heads", p->kv_heads,
                          "intermediate_size", p->ffn, "vocab_size", p->vocab, "max_position_embeddings",
                          p->max_pos, "rope_theta", p->theta, "rms_norm_eps", 1e-6, "tie_word_embeddings",
                          p->tied, "hidden_act", "silu", "torch_dtype",
                          dt == INGOT_DT_F32 ? "float32" : dt == INGOT_DT_F16 ? "float16" : "bfloat16",
                          "bos_token_id", 0, "eos_token_id", 0);
    if (p->linear_factor > 0)
        json_object_set_new(c, "rope_scaling", json_pack("{s:s,s:f}", "type", "linear", "factor", p->linear_factor));
    char *path = ingot_path_join(dir, "config.json");
    int rc = json_dump_file(c, path, JSON_INDENT(2));
    free(path);
    json_decref(c);
    return rc;
}

static int copy_tokenizer(const char *from, const char *dir, ingot_error *err)
{
    char *buf;
    size_t len;
    if (ingot_read_file(from, 64 << 20, &buf, &len, err) != 0)
        return -1;
    char *path = ingot_path_join(dir, "tokenizer.json");
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(buf, 1, len, f) == len ? 0 : -1;
    if (f)
        fclose(f);
    free(path);
    free(buf);
    return rc ? ingot_fail(err, INGOT_ERR_IO, "%s: cannot write tokenizer.json", dir) : 0;
}

/* Shards of at most SHARD_BYTES, tensors in canonical order, plus the index. */
static int write_shards(const char *dir, gen *g, ingot_error *err)
{
    ingot_st_tensor *ts = calloc((size_t)g->n, sizeof *ts);
    int *shard = calloc((size_t)g->n, sizeof *shard), n_shards = 1;
    uint64_t in_shard = 0;
    for (int i = 0; i < g->n; i++) {
        ts[i].name = g->specs[i].hf_name;
        ts[i].dtype = g->dtype;
        ts[i].ndim = g->specs[i].ndim;
        ts[i].size = ingot_dtype_size(g->dtype);
        for (int d = 0; d < ts[i].ndim; d++) {
            ts[i].shape[d] = g->specs[i].shape[d];
            ts[i].size *= (uint64_t)ts[i].shape[d];
        }
        if (in_shard > 0 && in_shard + ts[i].size > SHARD_BYTES) {
            n_shards++;
            in_shard = 0;
        }
        shard[i] = n_shards;
        in_shard += ts[i].size;
    }
    json_t *map = json_object();
    int rc = 0;
    for (int s = 1; rc == 0 && s <= n_shards; s++) {
        char name[64];
        snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s, n_shards);
        int first = 0, count = 0;
        while (shard[first] != s)
            first++;
        while (first + count < g->n && shard[first + count] == s) {
            json_object_set_new(map, ts[first + count].name, json_string(name));
            count++;
        }
        char *path = ingot_path_join(dir, name);
        fprintf(stderr, "make-random-model: writing %s (%d tensors)\n", path, count);
        gen sub = *g;
        sub.specs += first;
        sub.n = count;
        rc = ingot_st_write_fill(path, ts + first, count, "{\"format\":\"pt\"}", fill, &sub, err);
        free(path);
    }
    if (rc == 0) {
        char *path = ingot_path_join(dir, "model.safetensors.index.json");
        json_t *idx = json_pack("{s:{},s:o}", "metadata", "weight_map", map);
        rc = json_dump_file(idx, path, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(idx);
        free(path);
    } else {
        json_decref(map);
    }
    free(ts);
    free(shard);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: make-random-model --shape NAME -o DIR [--dtype bf16|f16|f32] [--seed N] [--tokenizer FILE]\nshapes:");
    for (size_t i = 0; i < INGOT_ARRAY_LEN(presets); i++)
        fprintf(f, " %s", presets[i].name);
    fprintf(f, "\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"shape", required_argument, NULL, 's'}, {"output", required_argument, NULL, 'o'},
        {"dtype", required_argument, NULL, 'd'}, {"seed", required_argument, NULL, 'r'},
        {"tokenizer", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *shape = NULL, *out = NULL, *tok = NULL;
    gen g = {.dtype = INGOT_DT_BF16, .seed = 42};
    int c;
    while ((c = getopt_long(argc, argv, "s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': shape = optarg; break;
        case 'o': out = optarg; break;
        case 'd': g.dtype = (ingot_dtype)ingot_dtype_from_name(optarg); break;
        case 'r': g.seed = strtoull(optarg, NULL, 10); break;
        case 't': tok = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const shape_preset *p = NULL;
    for (size_t i = 0; shape && i < INGOT_ARRAY_LEN(presets); i++)
        if (!strcmp(shape, presets[i].name))
            p = &presets[i];
    if (!p || !out || (g.dtype != INGOT_DT_BF16 && g.dtype != INGOT_DT_F16 && g.dtype != INGOT_DT_F32)) {
        usage(stderr);
        return 2;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make-random-model: %s: %s\n", out, strerror(errno));
        return 1;
    }
    ingot_error err = {0};
    char default_tok[1024];
    snprintf(default_tok, sizeof default_tok, "%s/models/tiny-llama/tokenizer.json",
             getenv("top_srcdir") ? getenv("top_srcdir") : TOP_SRCDIR);
    ingot_config cfg;
    int rc = write_config(out, p, g.dtype);
    if (rc == 0)
        rc = copy_tokenizer(tok ? tok : default_tok, out, &err);
    if (rc == 0)
        rc = ingot_hf_config_load(out, &cfg, &err);
    if (rc == 0)
        rc = ingot_tensor_specs(&cfg, &g.specs, &g.n, &err);
    if (rc == 0)
        rc = write_shards(out, &g, &err);
    free(g.specs);
    if (rc != 0) {
        fprintf(stderr, "make-random-model: %s\n", err.message[0] ? err.message : "failed");
        return 1;
    }
    return 0;
}
