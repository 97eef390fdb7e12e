/*
 * model_config.c - the normalized model configuration: names, the invariants the
 * runtime relies on, and the JSON form stored in the artifact manifest.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_config.h"
#include "util/util.h"

/* ------------------------------------------------------------------ names */

static const char *const arch_names[] = {
    [INGOT_ARCH_LLAMA] = "llama",
    [INGOT_ARCH_MISTRAL] = "mistral",
    [INGOT_ARCH_QWEN2] = "qwen2",
};

static const char *const rope_names[] = {
    [INGOT_ROPE_DEFAULT] = "default", [INGOT_ROPE_LINEAR] = "linear",
    [INGOT_ROPE_DYNAMIC] = "dynamic", [INGOT_ROPE_LLAMA3] = "llama3",
    [INGOT_ROPE_YARN] = "yarn",
};

const char *ingot_arch_name(ingot_arch a)
{
    /* Never NULL: callers format it straight into error messages. */
    return (unsigned)a < INGOT_ARRAY_LEN(arch_names) ? arch_names[a] : "unknown";
}

const char *ingot_rope_type_name(ingot_rope_type t)
{
    return (unsigned)t < INGOT_ARRAY_LEN(rope_names) ? rope_names[t] : "unknown";
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

int ingot_arch_from_name(const char *s)
{
    return name_index(arch_names, INGOT_ARRAY_LEN(arch_names), s);
}

int ingot_rope_type_from_name(const char *s)
{
    return name_index(rope_names, INGOT_ARRAY_LEN(rope_names), s);
}

/* ------------------------------------------------------------------ validate */

static int check_range(const char *what, const char *field, long long v, long long lo,
                       long long hi, ingot_error *err)
{
    if (v < lo || v > hi)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: %lld is out of range (%lld..%lld)",
                          what, field, v, lo, hi);
    return 0;
}

/* A real that must be finite and > lo (or >= lo when inclusive). */
static int check_real(const char *what, const char *field, double v, double lo, bool inclusive,
                      ingot_error *err)
{
    if (!isfinite(v) || v < lo || (!inclusive && v == lo))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: %g must be finite and %s %g", what,
                          field, v, inclusive ? ">=" : ">", lo);
    return 0;
}

static int check_sizes(const ingot_config *c, const char *what, ingot_error *err)
{
    if (check_range(what, "hidden_size", c->hidden_size, 1, INGOT_MAX_DIM, err) ||
        check_range(what, "n_layers", c->n_layers, 1, INGOT_MAX_LAYERS, err) ||
        check_range(what, "n_heads", c->n_heads, 1, INGOT_MAX_DIM, err) ||
        check_range(what, "n_kv_heads", c->n_kv_heads, 1, c->n_heads, err) ||
        check_range(what, "head_dim", c->head_dim, 1, INGOT_MAX_DIM, err) ||
        check_range(what, "ffn_size", c->ffn_size, 1, INGOT_MAX_DIM, err) ||
        check_range(what, "vocab_size", c->vocab_size, 1, INGOT_MAX_VOCAB, err) ||
        check_range(what, "max_position_embeddings", c->max_pos, 1, INGOT_MAX_POS, err) ||
        check_range(what, "sliding_window", c->sliding_window, 0, INT_MAX, err))
        return -1;
    if (c->n_heads % c->n_kv_heads != 0)
        return ingot_fail(err, INGOT_ERR_FORMAT,
                          "%s: n_heads: %d is not a multiple of n_kv_heads (%d)", what,
                          c->n_heads, c->n_kv_heads);
    /* RoPE rotates pairs of channels. */
    if (c->head_dim % 2 != 0)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: head_dim: %d is odd (RoPE needs pairs)",
                          what, c->head_dim);
    /* The attention projections are dimensions too: keep them in the limit. */
    if ((int64_t)c->n_heads * c->head_dim > INGOT_MAX_DIM)
        return ingot_fail(err, INGOT_ERR_FORMAT,
                          "%s: n_heads x head_dim: %lld exceeds the limit %d", what,
                          (long long)c->n_heads * c->head_dim, INGOT_MAX_DIM);
    return 0;
}

/*
 * Element counts the converter and runtime compute: they must fit in 64 bits
 * (as bytes of f32) whatever the limits above are later raised to.
 */
static int check_products(const ingot_config *c, const char *what, ingot_error *err)
{
    uint64_t h = (uint64_t)c->hidden_size, q = (uint64_t)c->n_heads * (uint64_t)c->head_dim;
    uint64_t kv = (uint64_t)c->n_kv_heads * (uint64_t)c->head_dim, f = (uint64_t)c->ffn_size;
    uint64_t embed, attn, attn2, mlp, layer, total, cache;
    bool ok = ingot_mul_u64((uint64_t)c->vocab_size, h, &embed) &&
              ingot_mul_u64(2 * q + 2 * kv, h, &attn) && ingot_mul_u64(3 * f, h, &mlp) &&
              ingot_add_u64(attn, mlp, &attn2) && ingot_add_u64(attn2, 2 * h + q + 2 * kv + 2 * f, &layer) &&
              ingot_mul_u64(layer, (uint64_t)c->n_layers, &total) &&
              ingot_add_u64(total, 2 * embed + h, &total) && ingot_mul_u64(total, 8, &total);
    if (!ok)
        return ingot_fail(err, INGOT_ERR_FORMAT,
                          "%s: vocab_size x hidden_size and the layer sizes overflow 64 bits",
                          what);
    /* K and V caches for the whole context, f32. */
    ok = ingot_mul_u64((uint64_t)c->n_layers, kv, &cache) &&
         ingot_mul_u64(cache, (uint64_t)c->max_pos, &cache) && ingot_mul_u64(cache, 8, &cache);
    if (!ok)
        return ingot_fail(err, INGOT_ERR_FORMAT,
                          "%s: n_layers x n_kv_heads x head_dim x max_position_embeddings "
                          "overflows 64 bits",
                          what);
    return 0;
}

static int check_rope(const ingot_config *c, const char *what, ingot_error *err)
{
    const ingot_rope *r = &c->rope;
    if ((unsigned)r->type >= INGOT_ARRAY_LEN(rope_names))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: rope.scaling.type: invalid value %d", what,
                          (int)r->type);
    if (check_real(what, "rope.theta", r->theta, 0, false, err) ||
        check_real(what, "rope.partial_rotary_factor", r->partial_rotary_factor, 0, false, err))
        return -1;
    if (r->partial_rotary_factor > 1)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: rope.partial_rotary_factor: %g exceeds 1",
                          what, r->partial_rotary_factor);
    /* the runtime rotates whole heads: refuse what it would compute wrongly */
    if (r->partial_rotary_factor != 1)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED,
                          "%s: rope.partial_rotary_factor: %g is not supported (only 1)", what,
                          r->partial_rotary_factor);
    if (r->type == INGOT_ROPE_DEFAULT)
        return 0;
    if (check_real(what, "rope.scaling.factor", r->factor, 1, true, err))
        return -1;
    if (r->type != INGOT_ROPE_LINEAR &&
        check_range(what, "rope.scaling.original_max_position_embeddings", r->original_max_pos, 1,
                    INGOT_MAX_POS, err))
        return -1;
    if (r->type == INGOT_ROPE_LLAMA3) {
        if (check_real(what, "rope.scaling.low_freq_factor", r->low_freq_factor, 0, false, err))
            return -1;
        /* The llama3 formula divides by (high - low). */
        if (!isfinite(r->high_freq_factor) || r->high_freq_factor <= r->low_freq_factor)
            return ingot_fail(err, INGOT_ERR_FORMAT,
                              "%s: rope.scaling.high_freq_factor: %g must exceed "
                              "low_freq_factor (%g)",
                              what, r->high_freq_factor, r->low_freq_factor);
    }
    if (r->type == INGOT_ROPE_YARN &&
        (check_real(what, "rope.scaling.beta_fast", r->beta_fast, 0, false, err) ||
         check_real(what, "rope.scaling.beta_slow", r->beta_slow, 0, false, err) ||
         check_real(what, "rope.scaling.attention_factor", r->attention_factor, 0, true, err)))
        return -1;
    return 0;
}

static int check_tokens(const ingot_config *c, const char *what, ingot_error *err)
{
    if (c->bos_id != -1 && check_range(what, "bos_token_id", c->bos_id, 0, c->vocab_size - 1, err))
        return -1;
    if (check_range(what, "eos_token_ids (count)", c->n_eos, 0, INGOT_MAX_EOS, err))
        return -1;
    for (int i = 0; i < c->n_eos; i++)
        if (check_range(what, "eos_token_ids", c->eos_ids[i], 0, c->vocab_size - 1, err))
            return -1;
    return 0;
}

int ingot_config_validate(const ingot_config *c, const char *what, ingot_error *err)
{
    if (!what)
        what = "config";
    if (!c)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: no config", what);
    if ((unsigned)c->arch >= INGOT_ARRAY_LEN(arch_names))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: architecture: invalid value %d", what,
                          (int)c->arch);
    if (!memchr(c->model_type, '\0', sizeof c->model_type) || !c->model_type[0])
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: model_type: empty or unterminated", what);
    if (check_sizes(c, what, err) || check_products(c, what, err) || check_rope(c, what, err) ||
        check_tokens(c, what, err))
        return -1;
    if (check_real(what, "rms_norm_eps", c->rms_eps, 0, false, err))
        return -1;
    if (c->dtype != INGOT_DT_BF16 && c->dtype != INGOT_DT_F16 && c->dtype != INGOT_DT_F32 &&
        c->dtype != INGOT_DT_COUNT)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: dtype: %s is not a checkpoint dtype", what,
                          ingot_dtype_name(c->dtype) ? ingot_dtype_name(c->dtype) : "invalid");
    return 0;
}

/* ------------------------------------------------------------------ to JSON */

/* Sets o[key] = v; a NULL v (failed allocation) or failed set marks *ok false. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        *ok = false;
}

static json_t *rope_scaling_json(const ingot_rope *r)
{
    if (r->type == INGOT_ROPE_DEFAULT)
        return json_null();
    json_t *s = json_object();
    bool ok = s != NULL;
    if (!ok)
        return NULL;
    put(s, "type", json_string(ingot_rope_type_name(r->type)), &ok);
    put(s, "factor", json_real(r->factor), &ok);
    if (r->type != INGOT_ROPE_LINEAR)
        put(s, "original_max_position_embeddings", json_integer(r->original_max_pos), &ok);
    if (r->type == INGOT_ROPE_LLAMA3) {
        put(s, "low_freq_factor", json_real(r->low_freq_factor), &ok);
        put(s, "high_freq_factor", json_real(r->high_freq_factor), &ok);
    }
    if (r->type == INGOT_ROPE_YARN) {
        put(s, "beta_fast", json_real(r->beta_fast), &ok);
        put(s, "beta_slow", json_real(r->beta_slow), &ok);
        put(s, "attention_factor", json_real(r->attention_factor), &ok);
    }
    if (!ok) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *rope_json(const ingot_rope *r)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    if (!ok)
        return NULL;
    put(o, "theta", json_real(r->theta), &ok);
    put(o, "partial_rotary_factor", json_real(r->partial_rotary_factor), &ok);
    put(o, "scaling", rope_scaling_json(r), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *eos_json(const ingot_config *c)
{
    json_t *a = json_array();
    for (int i = 0; a && i < c->n_eos && i < INGOT_MAX_EOS; i++)
        if (json_array_append_new(a, json_integer(c->eos_ids[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *ingot_config_to_json(const ingot_config *c)
{
    json_t *o = c ? json_object() : NULL;
    bool ok = o != NULL;
    if (!ok)
        return NULL;
    put(o, "architecture", json_string(ingot_arch_name(c->arch)), &ok);
    put(o, "model_type", json_stringn(c->model_type, strnlen(c->model_type, sizeof c->model_type)),
        &ok);
    put(o, "hidden_size", json_integer(c->hidden_size), &ok);
    put(o, "n_layers", json_integer(c->n_layers), &ok);
    put(o, "n_heads", json_integer(c->n_heads), &ok);
    put(o, "n_kv_heads", json_integer(c->n_kv_heads), &ok);
    put(o, "head_dim", json_integer(c->head_dim), &ok);
    put(o, "ffn_size", json_integer(c->ffn_size), &ok);
    put(o, "vocab_size", json_integer(c->vocab_size), &ok);
    put(o, "max_position_embeddings", json_integer(c->max_pos), &ok);
    put(o, "rms_norm_eps", json_real(c->rms_eps), &ok);
    put(o, "rope", rope_json(&c->rope), &ok);
    put(o, "tied_embeddings", json_boolean(c->tied_embeddings), &ok);
    put(o, "qkv_bias", json_boolean(c->qkv_bias), &ok);
    put(o, "o_bias", json_boolean(c->o_bias), &ok);
    put(o, "mlp_bias", json_boolean(c->mlp_bias), &ok);
    put(o, "sliding_window", json_integer(c->sliding_window), &ok);
    put(o, "bos_token_id", c->bos_id >= 0 ? json_integer(c->bos_id) : json_null(), &ok);
    put(o, "eos_token_ids", eos_json(c), &ok);
    const char *dt = c->dtype == INGOT_DT_COUNT ? NULL : ingot_dtype_name(c->dtype);
    put(o, "dtype", dt ? json_string(dt) : json_null(), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------------ from JSON */

/* Strict readers: every field must be present with the JSON type written. */
static const json_t *field(const json_t *o, const char *key, const char *what, const char *prefix,
                           ingot_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s%s: missing", what, prefix, key);
    return v;
}

static int get_int(const json_t *o, const char *key, const char *what, const char *prefix,
                   int *out, ingot_error *err)
{
    const json_t *v = field(o, key, what, prefix, err);
    if (!v)
        return -1;
    if (!json_is_integer(v))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s%s: expected an integer", what, prefix,
                          key);
    json_int_t x = json_integer_value(v);
    if (x < INT_MIN || x > INT_MAX)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s%s: %lld does not fit in an int", what,
                          prefix, key, (long long)x);
    *out = (int)x;
    return 0;
}

static int get_num(const json_t *o, const char *key, const char *what, const char *prefix,
                   double *out, ingot_error *err)
{
    const json_t *v = field(o, key, what, prefix, err);
    if (!v)
        return -1;
    if (!json_is_number(v))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s%s: expected a number", what, prefix, key);
    *out = json_number_value(v);
    return 0;
}

static int get_bool(const json_t *o, const char *key, const char *what, bool *out,
                    ingot_error *err)
{
    const json_t *v = field(o, key, what, "", err);
    if (!v)
        return -1;
    if (!json_is_boolean(v))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s: expected true or false", what, key);
    *out = json_is_true(v);
    return 0;
}

static int get_str(const json_t *o, const char *key, const char *what, const char *prefix,
                   const char **out, ingot_error *err)
{
    const json_t *v = field(o, key, what, prefix, err);
    if (!v)
        return -1;
    if (!json_is_string(v))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: %s%s: expected a string", what, prefix, key);
    *out = json_string_value(v);
    return 0;
}

static int scaling_from_json(const json_t *s, ingot_rope *r, const char *what, ingot_error *err)
{
    const char *p = "rope.scaling.", *type;
    if (get_str(s, "type", what, p, &type, err))
        return -1;
    int t = ingot_rope_type_from_name(type);
    if (t < 0 || t == INGOT_ROPE_DEFAULT)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: rope.scaling.type: unknown type \"%s\"",
                          what, type);
    r->type = (ingot_rope_type)t;
    if (get_num(s, "factor", what, p, &r->factor, err))
        return -1;
    if (t != INGOT_ROPE_LINEAR &&
        get_int(s, "original_max_position_embeddings", what, p, &r->original_max_pos, err))
        return -1;
    if (t == INGOT_ROPE_LLAMA3 &&
        (get_num(s, "low_freq_factor", what, p, &r->low_freq_factor, err) ||
         get_num(s, "high_freq_factor", what, p, &r->high_freq_factor, err)))
        return -1;
    if (t == INGOT_ROPE_YARN && (get_num(s, "beta_fast", what, p, &r->beta_fast, err) ||
                                 get_num(s, "beta_slow", what, p, &r->beta_slow, err) ||
                                 get_num(s, "attention_factor", what, p, &r->attention_factor, err)))
        return -1;
    return 0;
}

static int rope_from_json(const json_t *o, ingot_rope *r, const char *what, ingot_error *err)
{
    const json_t *rope = field(o, "rope", what, "", err);
    if (!rope)
        return -1;
    if (!json_is_object(rope))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: rope: expected an object", what);
    r->type = INGOT_ROPE_DEFAULT;
    r->factor = 1;
    if (get_num(rope, "theta", what, "rope.", &r->theta, err) ||
        get_num(rope, "partial_rotary_factor", what, "rope.", &r->partial_rotary_factor, err))
        return -1;
    const json_t *s = field(rope, "scaling", what, "rope.", err);
    if (!s)
        return -1;
    if (json_is_null(s))
        return 0;
    if (!json_is_object(s))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: rope.scaling: expected an object or null",
                          what);
    return scaling_from_json(s, r, what, err);
}

static int tokens_from_json(const json_t *o, ingot_config *c, const char *what, ingot_error *err)
{
    const json_t *bos = field(o, "bos_token_id", what, "", err);
    if (!bos)
        return -1;
    c->bos_id = -1;
    if (!json_is_null(bos) && get_int(o, "bos_token_id", what, "", &c->bos_id, err))
        return -1;
    const json_t *eos = field(o, "eos_token_ids", what, "", err);
    if (!eos)
        return -1;
    if (!json_is_array(eos) || json_array_size(eos) > INGOT_MAX_EOS)
        return ingot_fail(err, INGOT_ERR_FORMAT,
                          "%s: eos_token_ids: expected an array of at most %d integers", what,
                          INGOT_MAX_EOS);
    c->n_eos = (int)json_array_size(eos);
    for (int i = 0; i < c->n_eos; i++) {
        const json_t *v = json_array_get(eos, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > INT_MAX)
            return ingot_fail(err, INGOT_ERR_FORMAT,
                              "%s: eos_token_ids[%d]: expected a non-negative integer", what, i);
        c->eos_ids[i] = (int)json_integer_value(v);
    }
    return 0;
}

static int names_from_json(const json_t *o, ingot_config *c, const char *what, ingot_error *err)
{
    const char *arch, *mt;
    if (get_str(o, "architecture", what, "", &arch, err) ||
        get_str(o, "model_type", what, "", &mt, err))
        return -1;
    int a = ingot_arch_from_name(arch);
    if (a < 0)
        return ingot_fail(err, INGOT_ERR_UNSUPPORTED, "%s: architecture: unknown \"%s\"", what,
                          arch);
    c->arch = (ingot_arch)a;
    if (strlen(mt) >= sizeof c->model_type)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: model_type: too long", what);
    strcpy(c->model_type, mt);
    return 0;
}

static int dtype_from_json(const json_t *o, ingot_config *c, const char *what, ingot_error *err)
{
    const json_t *v = field(o, "dtype", what, "", err);
    if (!v)
        return -1;
    c->dtype = INGOT_DT_COUNT;
    if (json_is_null(v))
        return 0;
    int dt = json_is_string(v) ? ingot_dtype_from_name(json_string_value(v)) : -1;
    if (dt < 0)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: dtype: expected a dtype name or null", what);
    c->dtype = (ingot_dtype)dt;
    return 0;
}

/* Unknown keys are ignored so that a newer writer may add optional fields. */
int ingot_config_from_json(const json_t *j, ingot_config *out, const char *what,
                           ingot_error *err)
{
    if (!what)
        what = "config";
    if (!out)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: no output config", what);
    if (!json_is_object(j))
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: expected a JSON object", what);
    ingot_config c;
    memset(&c, 0, sizeof c);
    if (names_from_json(j, &c, what, err) ||
        get_int(j, "hidden_size", what, "", &c.hidden_size, err) ||
        get_int(j, "n_layers", what, "", &c.n_layers, err) ||
        get_int(j, "n_heads", what, "", &c.n_heads, err) ||
        get_int(j, "n_kv_heads", what, "", &c.n_kv_heads, err) ||
        get_int(j, "head_dim", what, "", &c.head_dim, err) ||
        get_int(j, "ffn_size", what, "", &c.ffn_size, err) ||
        get_int(j, "vocab_size", what, "", &c.vocab_size, err) ||
        get_int(j, "max_position_embeddings", what, "", &c.max_pos, err) ||
        get_int(j, "sliding_window", what, "", &c.sliding_window, err) ||
        get_num(j, "rms_norm_eps", what, "", &c.rms_eps, err) ||
        rope_from_json(j, &c.rope, what, err) ||
        get_bool(j, "tied_embeddings", what, &c.tied_embeddings, err) ||
        get_bool(j, "qkv_bias", what, &c.qkv_bias, err) ||
        get_bool(j, "o_bias", what, &c.o_bias, err) ||
        get_bool(j, "mlp_bias", what, &c.mlp_bias, err) || tokens_from_json(j, &c, what, err) ||
        dtype_from_json(j, &c, what, err) || ingot_config_validate(&c, what, err))
        return -1;
    *out = c;
    return 0;
}
