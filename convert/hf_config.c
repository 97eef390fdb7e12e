/*
 * hf_config.c - HuggingFace config.json -> ingot_config.
 *
 * Mirrors what transformers does with the same file: absent optional keys take
 * the defaults of LlamaConfig / MistralConfig / Qwen2Config, so that ingot runs
 * exactly the model transformers would build.  Every value is range-checked
 * here, with the HF key in the message, before anything is sized from it.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "convert/hf_config.h"
#include "util/util.h"

#define NO_DEFAULT LLONG_MIN

typedef struct hf_ctx {
    const json_t *root;
    const char *what; /* the file, for messages */
    ingot_error *err;
} hf_ctx;

/* Per-architecture defaults of the transformers config classes. */
typedef struct arch_defaults {
    const char *model_type;
    ingot_arch arch;
    int max_pos;     /* max_position_embeddings */
    int kv_heads;    /* num_key_value_heads when the key is absent; 0 = num_attention_heads */
    int bos, eos;    /* -1: None */
    int sliding;     /* sliding_window when absent (Mistral) */
} arch_defaults;

static const arch_defaults archs[] = {
    {"llama", INGOT_ARCH_LLAMA, 2048, 0, 1, 2, 0},
    {"mistral", INGOT_ARCH_MISTRAL, 4096 * 32, 8, 1, 2, 4096},
    {"qwen2", INGOT_ARCH_QWEN2, 32768, 32, -1, -1, 4096},
};

/* ------------------------------------------------------------------ typed getters */

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
    }
}

/* "prefix.key", or key alone, in buf. */
static const char *label(char *buf, size_t len, const char *prefix, const char *key)
{
    if (!prefix)
        return key;
    snprintf(buf, len, "%s.%s", prefix, key);
    return buf;
}

static int bad_type(const hf_ctx *x, const char *field, const char *want, const json_t *v)
{
    if (json_is_real(v))
        return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s: expected %s, got %g", x->what, field,
                          want, json_real_value(v));
    return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s: expected %s, got %s", x->what, field,
                      want, kind_of(v));
}

static int out_of_range(const hf_ctx *x, const char *field, long long v, long long lo,
                        long long hi)
{
    return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s: %lld is out of range (%lld..%lld)",
                      x->what, field, v, lo, hi);
}

/* Absent or null: *out = dflt, or "missing" when there is no default. */
static int get_int(const hf_ctx *x, const json_t *obj, const char *prefix, const char *key,
                   long long dflt, long long lo, long long hi, long long *out)
{
    char buf[128];
    const char *field = label(buf, sizeof buf, prefix, key);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (dflt == NO_DEFAULT)
            return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s: %s", x->what, field,
                              v ? "is null" : "missing");
        *out = dflt;
        return 0;
    }
    /* 4096.0 is refused too: transformers would fail building layers from it. */
    if (!json_is_integer(v))
        return bad_type(x, field, "an integer", v);
    long long n = json_integer_value(v);
    if (n < lo || n > hi)
        return out_of_range(x, field, n, lo, hi);
    *out = n;
    return 0;
}

/* A finite number (integer or real) > lo; absent or null: dflt (NAN = required). */
static int get_num(const hf_ctx *x, const json_t *obj, const char *prefix, const char *key,
                   double dflt, double lo, double *out)
{
    char buf[128];
    const char *field = label(buf, sizeof buf, prefix, key);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (isnan(dflt))
            return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s: %s", x->what, field,
                              v ? "is null" : "missing");
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v))
        return bad_type(x, field, "a number", v);
    double d = json_number_value(v);
    if (!isfinite(d) || d <= lo)
        return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s: %g must be greater than %g",
                          x->what, field, d, lo);
    *out = d;
    return 0;
}

static int get_bool(const hf_ctx *x, const char *key, bool dflt, bool *out)
{
    const json_t *v = json_object_get(x->root, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return bad_type(x, key, "true or false", v);
    *out = json_is_true(v);
    return 0;
}

/* Absent or null: *out = dflt. */
static int get_str(const hf_ctx *x, const json_t *obj, const char *prefix, const char *key,
                   const char *dflt, const char **out)
{
    char buf[128];
    const json_t *v = json_object_get(obj, key);
    *out = dflt; /* set on every path: callers read it only on success */
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad_type(x, label(buf, sizeof buf, prefix, key), "a string", v);
    *out = json_string_value(v);
    return 0;
}

/* ------------------------------------------------------------------ quantization_config */

static int get_bool_in(const hf_ctx *x, const json_t *obj, const char *key, bool dflt, bool *out)
{
    char buf[128];
    const json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return bad_type(x, label(buf, sizeof buf, "quantization_config", key), "true or false", v);
    *out = json_is_true(v);
    return 0;
}

static int unsupported_q(const hf_ctx *x, const char *field, const char *why)
{
    return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED, "%s: quantization_config.%s: %s", x->what,
                      field, why);
}

/* AutoAWQ: GEMM, 4 bits, asymmetric (zero_point), groups ingot's int4 holds. */
static int parse_awq(const hf_ctx *x, const json_t *q, ingot_hf_quant *out)
{
    const char *QC = "quantization_config", *ver;
    long long bits, g;
    bool zp;
    if (get_int(x, q, QC, "bits", NO_DEFAULT, 1, 64, &bits) ||
        get_int(x, q, QC, "group_size", NO_DEFAULT, -1, INGOT_MAX_DIM, &g) ||
        get_bool_in(x, q, "zero_point", true, &zp) || get_str(x, q, QC, "version", "gemm", &ver))
        return -1;
    if (bits != 4)
        return unsupported_q(x, "bits", "AWQ checkpoints with other than 4 bits are not supported");
    if (!zp)
        return unsupported_q(x, "zero_point", "symmetric AWQ (zero_point false) is not supported");
    if (strcasecmp(ver, "gemm") != 0)
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: quantization_config.version: AWQ \"%.32s\" layout is not "
                          "supported (only gemm)", x->what, ver);
    if (g <= 0 || g % INGOT_HFQ_GROUP_ALIGN)
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: quantization_config.group_size: %lld is not supported (int4 "
                          "groups are positive multiples of %d)", x->what, g, INGOT_HFQ_GROUP_ALIGN);
    out->method = INGOT_HFQ_AWQ;
    out->group_size = (int)g;
    return 0;
}

/* GPTQ (AutoGPTQ, GPTQModel, optimum): 4 bits, no act-order. */
static int parse_gptq(const hf_ctx *x, const json_t *q, ingot_hf_quant *out)
{
    const char *QC = "quantization_config", *fmt;
    long long bits, g;
    bool desc, sym;
    if (get_int(x, q, QC, "bits", NO_DEFAULT, 1, 64, &bits) ||
        get_int(x, q, QC, "group_size", -1, -1, INGOT_MAX_DIM, &g) ||
        get_bool_in(x, q, "desc_act", false, &desc) || get_bool_in(x, q, "sym", true, &sym) ||
        get_str(x, q, QC, "checkpoint_format", "gptq", &fmt))
        return -1;
    if (bits != 4)
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: quantization_config.bits: %lld-bit GPTQ checkpoints are not "
                          "supported (only 4)", x->what, bits);
    if (desc)
        return unsupported_q(x, "desc_act",
                             "desc_act (act-order) GPTQ checkpoints are not supported");
    if (g == 0 || (g > 0 && g % INGOT_HFQ_GROUP_ALIGN))
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: quantization_config.group_size: %lld is not supported (int4 "
                          "groups are -1 or positive multiples of %d)", x->what, g,
                          INGOT_HFQ_GROUP_ALIGN);
    /* v1 ("gptq", AutoGPTQ) stores each zero point minus one; v2 stores it as is */
    if (strcmp(fmt, "gptq") && strcmp(fmt, "gptq_v2"))
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: quantization_config.checkpoint_format: \"%.32s\" is not supported "
                          "(gptq or gptq_v2)", x->what, fmt);
    out->method = INGOT_HFQ_GPTQ;
    out->group_size = (int)g; /* -1: one group per row */
    out->sym = sym;
    out->gptq_v2 = strcmp(fmt, "gptq_v2") == 0;
    return 0;
}

/* bitsandbytes as transformers saves it: nf4 (optionally double quant) or LLM.int8. */
static int parse_bnb(const hf_ctx *x, const json_t *q, ingot_hf_quant *out)
{
    const char *QC = "quantization_config", *qt;
    bool b4, b8, dq;
    if (get_bool_in(x, q, "load_in_4bit", false, &b4) ||
        get_bool_in(x, q, "load_in_8bit", false, &b8) ||
        get_bool_in(x, q, "bnb_4bit_use_double_quant", false, &dq) ||
        get_str(x, q, QC, "bnb_4bit_quant_type", "fp4", &qt))
        return -1;
    if (b4 == b8)
        return ingot_fail(x->err, INGOT_ERR_FORMAT,
                          "%s: quantization_config: exactly one of load_in_4bit and load_in_8bit "
                          "must be true", x->what);
    if (b4 && strcmp(qt, "nf4"))
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: quantization_config.bnb_4bit_quant_type: \"%.32s\" is not "
                          "supported (only nf4)", x->what, qt);
    out->method = b4 ? INGOT_HFQ_BNB4 : INGOT_HFQ_BNB8;
    out->double_quant = b4 && dq;
    return 0;
}

static int parse_quant(const hf_ctx *x, ingot_hf_quant *out)
{
    memset(out, 0, sizeof *out);
    const json_t *q = json_object_get(x->root, "quantization_config");
    if (!q || json_is_null(q))
        return 0;
    if (!json_is_object(q))
        return bad_type(x, "quantization_config", "an object", q);
    const char *m;
    if (get_str(x, q, "quantization_config", "quant_method", NULL, &m))
        return -1;
    if (!m)
        return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: quantization_config.quant_method: missing",
                          x->what);
    if (!strcmp(m, "awq"))
        return parse_awq(x, q, out);
    if (!strcmp(m, "gptq"))
        return parse_gptq(x, q, out);
    if (!strcmp(m, "bitsandbytes"))
        return parse_bnb(x, q, out);
    return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                      "%s: quantization_config: pre-quantized checkpoints (%.32s) are not "
                      "supported (awq, gptq and bitsandbytes are); convert the original weights",
                      x->what, m);
}

int ingot_hf_quant_parse(const char *json_text, size_t len, const char *what, ingot_hf_quant *out,
                         ingot_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: not a JSON object", what);
    }
    hf_ctx x = {root, what, err};
    int rc = parse_quant(&x, out);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ model kind */

static int parse_model_type(const hf_ctx *x, ingot_config *c, const arch_defaults **d)
{
    const char *mt;
    if (get_str(x, x->root, NULL, "model_type", NULL, &mt))
        return -1;
    if (!mt)
        return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: model_type: missing", x->what);
    for (size_t i = 0; i < INGOT_ARRAY_LEN(archs); i++)
        if (strcmp(mt, archs[i].model_type) == 0) {
            *d = &archs[i];
            c->arch = archs[i].arch;
            snprintf(c->model_type, sizeof c->model_type, "%s", mt);
            return 0;
        }
    return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                      "%s: model_type \"%.64s\" is not supported (supported: llama, mistral, qwen2)",
                      x->what, mt);
}

/* The head must be a causal LM: a classifier's "score" weights are not ours. */
static int check_architectures(const hf_ctx *x)
{
    const json_t *a = json_object_get(x->root, "architectures");
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return bad_type(x, "architectures", "an array of strings", a);
    const char *first = NULL;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *s = json_array_get(a, i);
        if (!json_is_string(s))
            return bad_type(x, "architectures", "an array of strings", s);
        const char *name = json_string_value(s);
        size_t n = strlen(name), k = strlen("ForCausalLM");
        if (n >= k && strcmp(name + n - k, "ForCausalLM") == 0)
            return 0;
        if (!first)
            first = name;
    }
    if (!first)
        return 0;
    return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                      "%s: architectures: \"%.64s\" is not supported (expected a *ForCausalLM model)",
                      x->what, first);
}

static int check_supported(const hf_ctx *x)
{
    const char *act;
    if (get_str(x, x->root, NULL, "hidden_act", "silu", &act))
        return -1;
    /* transformers maps "swish" to the same SiLU. */
    if (strcmp(act, "silu") != 0 && strcmp(act, "swish") != 0)
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: hidden_act: \"%.64s\" is not supported (only silu)", x->what, act);
    /* a quantized checkpoint must be one ingot reads (hf_quant below) */
    ingot_hf_quant q;
    if (parse_quant(x, &q) != 0)
        return -1;
    return check_architectures(x);
}

/* ------------------------------------------------------------------ sizes */

static int parse_heads(const hf_ctx *x, const arch_defaults *d, long long hidden,
                       ingot_config *c)
{
    long long heads, kv, hd;
    if (get_int(x, x->root, NULL, "num_attention_heads", NO_DEFAULT, 1, INGOT_MAX_DIM, &heads))
        return -1;
    /* Absent: the class default; explicit null: transformers uses the heads. */
    bool kv_absent = json_object_get(x->root, "num_key_value_heads") == NULL;
    long long kv_dflt = kv_absent && d->kv_heads ? d->kv_heads : heads;
    if (get_int(x, x->root, NULL, "num_key_value_heads", kv_dflt, 1, INGOT_MAX_DIM, &kv))
        return -1;
    if (heads % kv != 0)
        return ingot_fail(x->err, INGOT_ERR_FORMAT,
                          "%s: num_attention_heads: %lld is not a multiple of "
                          "num_key_value_heads (%lld%s)",
                          x->what, heads, kv,
                          kv_absent && d->kv_heads ? ", the default when absent" : "");
    const json_t *h = json_object_get(x->root, "head_dim");
    if ((!h || json_is_null(h)) && hidden % heads != 0)
        return ingot_fail(x->err, INGOT_ERR_FORMAT,
                          "%s: hidden_size: %lld is not divisible by num_attention_heads (%lld) "
                          "and head_dim is not set",
                          x->what, hidden, heads);
    if (get_int(x, x->root, NULL, "head_dim", hidden / heads, 1, INGOT_MAX_DIM, &hd))
        return -1;
    c->n_heads = (int)heads;
    c->n_kv_heads = (int)kv;
    c->head_dim = (int)hd;
    return 0;
}

static int parse_sizes(const hf_ctx *x, const arch_defaults *d, ingot_config *c)
{
    long long hidden, layers, ffn, vocab, max_pos;
    if (get_int(x, x->root, NULL, "hidden_size", NO_DEFAULT, 1, INGOT_MAX_DIM, &hidden) ||
        get_int(x, x->root, NULL, "num_hidden_layers", NO_DEFAULT, 1, INGOT_MAX_LAYERS, &layers) ||
        parse_heads(x, d, hidden, c) ||
        get_int(x, x->root, NULL, "intermediate_size", NO_DEFAULT, 1, INGOT_MAX_DIM, &ffn) ||
        get_int(x, x->root, NULL, "vocab_size", NO_DEFAULT, 1, INGOT_MAX_VOCAB, &vocab) ||
        get_int(x, x->root, NULL, "max_position_embeddings", d->max_pos, 1, INGOT_MAX_POS,
                &max_pos))
        return -1;
    c->hidden_size = (int)hidden;
    c->n_layers = (int)layers;
    c->ffn_size = (int)ffn;
    c->vocab_size = (int)vocab;
    c->max_pos = (int)max_pos;
    return get_num(x, x->root, NULL, "rms_norm_eps", 1e-6, 0, &c->rms_eps);
}

/* ------------------------------------------------------------------ attention flavour */

enum layer_kinds { LAYERS_UNSAID, LAYERS_FULL, LAYERS_SLIDING };

/*
 * transformers >= 4.53 / 5.x spell out each layer's attention in layer_types.
 * ingot has one window for the whole model, so the layers must all agree.
 */
static int parse_layer_types(const hf_ctx *x, const ingot_config *c, enum layer_kinds *k)
{
    const json_t *lt = json_object_get(x->root, "layer_types");
    *k = LAYERS_UNSAID;
    if (!lt || json_is_null(lt))
        return 0;
    if (!json_is_array(lt))
        return bad_type(x, "layer_types", "an array of strings", lt);
    if (json_array_size(lt) != (size_t)c->n_layers)
        return ingot_fail(x->err, INGOT_ERR_FORMAT,
                          "%s: layer_types: %zu entries for %d layers (num_hidden_layers)",
                          x->what, json_array_size(lt), c->n_layers);
    int full = 0, sliding = 0;
    for (size_t i = 0; i < json_array_size(lt); i++) {
        const char *s = json_string_value(json_array_get(lt, i));
        if (s && strcmp(s, "full_attention") == 0)
            full++;
        else if (s && strcmp(s, "sliding_attention") == 0)
            sliding++;
        else
            return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                              "%s: layer_types[%zu]: expected \"full_attention\" or "
                              "\"sliding_attention\"",
                              x->what, i);
    }
    if (full && sliding)
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: layer_types: mixing %d full and %d sliding-window layers is not "
                          "supported",
                          x->what, full, sliding);
    *k = sliding ? LAYERS_SLIDING : LAYERS_FULL;
    return 0;
}

/* sliding_window: absent = the class default, null = no window. */
static int window_value(const hf_ctx *x, long long dflt, int *out)
{
    long long w;
    if (json_is_null(json_object_get(x->root, "sliding_window"))) {
        *out = 0;
        return 0;
    }
    if (get_int(x, x->root, NULL, "sliding_window", dflt, 0, INT_MAX, &w))
        return -1;
    *out = (int)w;
    return 0;
}

/* Qwen2: layer i slides when use_sliding_window and i >= max_window_layers. */
static int qwen2_window(const hf_ctx *x, const ingot_config *c, int *out)
{
    bool use;
    long long mwl;
    *out = 0;
    if (get_bool(x, "use_sliding_window", false, &use) ||
        get_int(x, x->root, NULL, "max_window_layers", 28, 0, INT_MAX, &mwl))
        return -1;
    if (!use || mwl >= c->n_layers)
        return 0;
    int w;
    if (window_value(x, 4096, &w))
        return -1;
    if (w == 0)
        return 0;
    if (mwl > 0)
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: max_window_layers: %lld of %d layers use full attention and the "
                          "rest a sliding window; mixing them is not supported",
                          x->what, mwl, c->n_layers);
    *out = w;
    return 0;
}

static int parse_window(const hf_ctx *x, const arch_defaults *d, ingot_config *c)
{
    enum layer_kinds k;
    c->sliding_window = 0;
    if (c->arch == INGOT_ARCH_LLAMA) /* Llama attention has no window */
        return 0;
    if (parse_layer_types(x, c, &k))
        return -1;
    if (k == LAYERS_FULL)
        return 0;
    if (k == LAYERS_SLIDING)
        return window_value(x, d->sliding, &c->sliding_window);
    if (c->arch == INGOT_ARCH_QWEN2)
        return qwen2_window(x, c, &c->sliding_window);
    return window_value(x, d->sliding, &c->sliding_window);
}

static int parse_flags(const hf_ctx *x, ingot_config *c)
{
    bool tied, attn_bias = false, mlp_bias = false;
    if (get_bool(x, "tie_word_embeddings", false, &tied))
        return -1;
    c->tied_embeddings = tied;
    switch (c->arch) {
    case INGOT_ARCH_LLAMA: /* attention_bias covers q, k, v and o */
        if (get_bool(x, "attention_bias", false, &attn_bias) ||
            get_bool(x, "mlp_bias", false, &mlp_bias))
            return -1;
        c->qkv_bias = c->o_bias = attn_bias;
        c->mlp_bias = mlp_bias;
        break;
    case INGOT_ARCH_QWEN2: /* q/k/v always biased, o_proj and the MLP never */
        c->qkv_bias = true;
        c->o_bias = c->mlp_bias = false;
        break;
    case INGOT_ARCH_MISTRAL:
        c->qkv_bias = c->o_bias = c->mlp_bias = false;
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------ rope */

/* yarn's mscale: 0.1 * m * ln(s) + 1, as transformers' get_mscale. */
static double yarn_mscale(double s, double m)
{
    return s <= 1 ? 1.0 : 0.1 * m * log(s) + 1.0;
}

static int parse_yarn(const hf_ctx *x, const json_t *p, const char *pn, ingot_rope *r)
{
    double mscale = 0, mscale_all = 0;
    if (get_num(x, p, pn, "beta_fast", 32, 0, &r->beta_fast) ||
        get_num(x, p, pn, "beta_slow", 1, 0, &r->beta_slow) ||
        get_num(x, p, pn, "attention_factor", 0, -HUGE_VAL, &r->attention_factor) ||
        get_num(x, p, pn, "mscale", 0, -HUGE_VAL, &mscale) ||
        get_num(x, p, pn, "mscale_all_dim", 0, -HUGE_VAL, &mscale_all))
        return -1;
    if (r->attention_factor < 0 || mscale < 0 || mscale_all < 0)
        return ingot_fail(x->err, INGOT_ERR_FORMAT,
                          "%s: %s: attention_factor, mscale and mscale_all_dim must not be "
                          "negative",
                          x->what, pn);
    /* DeepSeek-style mscale pairs fix the attention factor; else 0 = derive from factor. */
    if (r->attention_factor == 0 && mscale != 0 && mscale_all != 0)
        r->attention_factor = yarn_mscale(r->factor, mscale) / yarn_mscale(r->factor, mscale_all);
    return 0;
}

static int parse_scaling(const hf_ctx *x, const json_t *p, const char *pn, int max_pos,
                         ingot_rope *r)
{
    long long orig;
    if (r->type == INGOT_ROPE_DEFAULT)
        return 0;
    if (get_num(x, p, pn, "factor", NAN, 0, &r->factor))
        return -1;
    if (r->factor < 1)
        return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s.factor: %g must be at least 1",
                          x->what, pn, r->factor);
    if (r->type == INGOT_ROPE_LINEAR)
        return 0;
    /* llama3 requires the pre-training context; dynamic and yarn default to max_pos. */
    long long dflt = r->type == INGOT_ROPE_LLAMA3 ? NO_DEFAULT : max_pos;
    if (get_int(x, p, pn, "original_max_position_embeddings", dflt, 1, INGOT_MAX_POS, &orig))
        return -1;
    r->original_max_pos = (int)orig;
    if (r->type == INGOT_ROPE_LLAMA3)
        return get_num(x, p, pn, "low_freq_factor", NAN, 0, &r->low_freq_factor) ||
                       get_num(x, p, pn, "high_freq_factor", NAN, 0, &r->high_freq_factor)
                   ? -1
                   : 0;
    if (r->type == INGOT_ROPE_YARN)
        return parse_yarn(x, p, pn, r);
    return 0;
}

static int rope_type_of(const hf_ctx *x, const json_t *p, const char *pn, ingot_rope *r)
{
    const char *t = NULL, *key = "rope_type";
    /* transformers: "rope_type" wins, "type" is the older spelling. */
    if (get_str(x, p, pn, "rope_type", NULL, &t))
        return -1;
    if (!t) {
        key = "type";
        if (get_str(x, p, pn, "type", NULL, &t))
            return -1;
    }
    if (!t && (json_object_get(p, "full_attention") || json_object_get(p, "sliding_attention")))
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: %s: per-layer-type rope parameters are not supported", x->what, pn);
    /* 5.x rope_parameters may leave the type implicit; a 4.x rope_scaling may not. */
    if (!t && strcmp(pn, "rope_parameters") == 0)
        t = "default";
    if (!t)
        return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s.rope_type: missing", x->what, pn);
    int k = ingot_rope_type_from_name(t);
    if (k < 0)
        return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                          "%s: %s.%s: \"%.64s\" is not supported (supported: default, linear, "
                          "dynamic, llama3, yarn)",
                          x->what, pn, key, t);
    r->type = (ingot_rope_type)k;
    return 0;
}

/*
 * 5.x: rope_parameters {rope_theta, rope_type, ...}.  4.x: rope_theta at the
 * top and rope_scaling {type|rope_type, ...} or null.
 */
static int parse_rope(const hf_ctx *x, ingot_config *c)
{
    ingot_rope *r = &c->rope;
    memset(r, 0, sizeof *r);
    r->type = INGOT_ROPE_DEFAULT;
    r->factor = 1;
    const char *pn = "rope_parameters";
    const json_t *p = json_object_get(x->root, pn);
    if (!p || json_is_null(p)) {
        pn = "rope_scaling";
        p = json_object_get(x->root, pn);
    }
    if (p && !json_is_null(p) && !json_is_object(p))
        return bad_type(x, pn, "an object or null", p);
    if (p && json_is_null(p))
        p = NULL;
    double theta;
    if (get_num(x, x->root, NULL, "rope_theta", 10000.0, 0, &theta))
        return -1;
    const json_t *prf_obj = x->root;
    if (p && json_object_get(p, "partial_rotary_factor"))
        prf_obj = p;
    if (get_num(x, prf_obj, prf_obj == p ? pn : NULL, "partial_rotary_factor", 1.0, 0,
                &r->partial_rotary_factor))
        return -1;
    if (!p) {
        r->theta = theta;
        return 0;
    }
    if (get_num(x, p, pn, "rope_theta", theta, 0, &r->theta) || rope_type_of(x, p, pn, r))
        return -1;
    return parse_scaling(x, p, pn, c->max_pos, r);
}

/* ------------------------------------------------------------------ tokens, dtype */

static int token_id(const hf_ctx *x, const char *key, const json_t *v, int vocab, int *out)
{
    if (!json_is_integer(v))
        return bad_type(x, key, "an integer, a list of integers or null", v);
    long long id = json_integer_value(v);
    if (id < 0 || id >= vocab)
        return out_of_range(x, key, id, 0, (long long)vocab - 1);
    *out = (int)id;
    return 0;
}

/* An int, a list of ints, or null; *n receives how many (at most max). */
static int parse_ids(const hf_ctx *x, const char *key, int dflt, int max, int *ids, int *n,
                     int vocab)
{
    const json_t *v = json_object_get(x->root, key);
    *n = 0;
    if (!v) {
        if (dflt >= 0)
            ids[(*n)++] = dflt;
        return 0;
    }
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v)) {
        *n = 1;
        return token_id(x, key, v, vocab, &ids[0]);
    }
    if (json_array_size(v) > (size_t)max)
        return ingot_fail(x->err, INGOT_ERR_FORMAT, "%s: %s: %zu ids, at most %d supported",
                          x->what, key, json_array_size(v), max);
    for (size_t i = 0; i < json_array_size(v); i++)
        if (token_id(x, key, json_array_get(v, i), vocab, &ids[(*n)++]))
            return -1;
    return 0;
}

static int parse_tokens(const hf_ctx *x, const arch_defaults *d, ingot_config *c)
{
    int n_bos;
    c->bos_id = -1;
    if (parse_ids(x, "bos_token_id", d->bos, 1, &c->bos_id, &n_bos, c->vocab_size))
        return -1;
    if (n_bos == 0)
        c->bos_id = -1;
    return parse_ids(x, "eos_token_id", d->eos, INGOT_MAX_EOS, c->eos_ids, &c->n_eos,
                     c->vocab_size);
}

static int parse_dtype(const hf_ctx *x, ingot_config *c)
{
    static const struct {
        const char *name;
        ingot_dtype dt;
    } names[] = {{"bfloat16", INGOT_DT_BF16}, {"float16", INGOT_DT_F16},
                 {"float32", INGOT_DT_F32}};
    const json_t *v5 = json_object_get(x->root, "dtype"); /* 5.x name, else 4.x */
    const char *key = v5 && !json_is_null(v5) ? "dtype" : "torch_dtype", *s;
    c->dtype = INGOT_DT_COUNT; /* undeclared: the converter keeps the weights' own */
    if (get_str(x, x->root, NULL, key, NULL, &s))
        return -1;
    if (!s)
        return 0;
    for (size_t i = 0; i < INGOT_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i].name) == 0) {
            c->dtype = names[i].dt;
            return 0;
        }
    return ingot_fail(x->err, INGOT_ERR_UNSUPPORTED,
                      "%s: %s: \"%.64s\" is not supported (bfloat16, float16 or float32)", x->what,
                      key, s);
}

/* ------------------------------------------------------------------ entry points */

static int parse_root(const hf_ctx *x, ingot_config *c)
{
    const arch_defaults *d = NULL;
    if (parse_model_type(x, c, &d) || check_supported(x) || parse_sizes(x, d, c) ||
        parse_flags(x, c) || parse_window(x, d, c) || parse_rope(x, c) ||
        parse_tokens(x, d, c) || parse_dtype(x, c))
        return -1;
    /* Cross-field invariants (products overflowing and the like). */
    return ingot_config_validate(c, x->what, x->err);
}

int ingot_hf_config_parse(const char *json_text, size_t len, const char *what, ingot_config *out,
                          ingot_error *err)
{
    if (!what)
        what = "config.json";
    if (!json_text || !out)
        return ingot_fail(err, INGOT_ERR_ARG, "%s: no input or output", what);
    json_error_t je;
    /* Duplicate keys would make the file mean different things to different readers. */
    json_t *root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ingot_fail(err, INGOT_ERR_FORMAT, "%s: invalid JSON at line %d, column %d: %s",
                          what, je.line, je.column, je.text);
    int rc;
    ingot_config c;
    memset(&c, 0, sizeof c);
    if (!json_is_object(root)) {
        rc = ingot_fail(err, INGOT_ERR_FORMAT, "%s: expected a JSON object", what);
    } else {
        hf_ctx x = {root, what, err};
        rc = parse_root(&x, &c);
    }
    json_decref(root);
    if (rc == 0)
        *out = c;
    return rc;
}

int ingot_hf_config_load(const char *hf_dir, ingot_config *out, ingot_error *err)
{
    if (!hf_dir || !out)
        return ingot_fail(err, INGOT_ERR_ARG, "ingot_hf_config_load: no directory or output");
    char *path = ingot_path_join(hf_dir, "config.json");
    if (!path)
        return ingot_fail(err, INGOT_ERR_NOMEM, "out of memory");
    char *text = NULL;
    size_t len = 0;
    int rc = ingot_read_file(path, INGOT_HF_CONFIG_MAX_BYTES, &text, &len, err);
    if (rc == 0)
        rc = ingot_hf_config_parse(text, len, path, out, err);
    free(text);
    free(path);
    return rc;
}
