/* cmd_inspect.c - ingot inspect <m.ingot|hf_dir> [--json] [--verify] */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void help(void)
{
    puts("usage: ingot inspect <m.ingot | hf_dir> [--json] [--verify]\n"
         "\n"
         "Describe a model: architecture, sizes and a table of its tensors.\n"
         "\n"
         "      --json     machine-readable output on stdout\n"
         "      --verify   recompute every checksum of an .ingot file; corrupted\n"
         "                 tensors are named and the exit status is 1\n"
         "  -h, --help     this help\n"
         "  -V, --version  print the version\n"
         "\n"
         "See ingot-inspect(1).");
}

static int64_t n_elements(json_t *shape)
{
    int64_t n = 1;
    size_t i;
    json_t *d;
    json_array_foreach(shape, i, d) n *= json_integer_value(d);
    return n;
}

static void shape_str(json_t *shape, char *buf, size_t len)
{
    size_t i, k = 0;
    json_t *d;
    buf[0] = '\0';
    json_array_foreach(shape, i, d)
        k += (size_t)snprintf(buf + k, k < len ? len - k : 0, "%s%lld", i ? " x " : "",
                              (long long)json_integer_value(d));
}

/* Bytes of a tensor: the sum of its parts (or "bytes" for an HF description). */
static int64_t tensor_bytes(json_t *t)
{
    json_t *parts = json_object_get(t, "parts");
    if (!json_is_array(parts))
        return json_integer_value(json_object_get(t, "bytes"));
    int64_t b = 0;
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) b += json_integer_value(json_object_get(p, "bytes"));
    return b;
}

/* The summary every consumer relies on (documented in ingot-inspect(1)). */
/* The divergence --target-bpw predicted for tensor name (borrowed), or NULL. */
static json_t *allocated_kld(json_t *alloc, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(alloc, "tensors"), i, t)
        if (name && !strcmp(json_string_value(json_object_get(t, "name")), name))
            return json_object_get(t, "kld");
    return NULL;
}

static json_t *summary_json(json_t *m)
{
    json_t *c = json_object_get(m, "config");
    json_t *rope = json_object_get(c, "rope");
    json_t *sc = json_object_get(rope, "scaling");
    json_t *out = json_object();
    static const char *const keys[] = {"architecture", "hidden_size", "n_layers", "n_heads",
                                       "n_kv_heads", "head_dim", "ffn_size", "vocab_size",
                                       "max_position_embeddings", "rms_norm_eps",
                                       "tied_embeddings", "qkv_bias", "dtype"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(c, keys[i]))
            json_object_set(out, keys[i], json_object_get(c, keys[i]));
    json_t *scaling = json_is_object(sc) ? json_deep_copy(sc)
                                         : json_pack("{s:s,s:f}", "type", "none", "factor", 1.0);
    json_object_set_new(out, "rope", json_pack("{s:O,s:o}", "theta",
                                               json_object_get(rope, "theta"), "scaling", scaling));
    json_t *tensors = json_array();
    int64_t total_bytes = 0, total_params = 0;
    size_t i;
    json_t *t;
    json_t *alloc = json_object_get(json_object_get(m, "quantization"), "allocation");
    json_array_foreach(json_object_get(m, "tensors"), i, t) {
        int64_t b = tensor_bytes(t);
        total_bytes += b;
        total_params += n_elements(json_object_get(t, "shape"));
        json_t *row = json_pack("{s:O,s:O,s:O,s:I}", "name", json_object_get(t, "name"), "type",
                                json_object_get(t, "type"), "shape", json_object_get(t, "shape"), "bytes",
                                (json_int_t)b);
        json_int_t g = json_integer_value(json_object_get(t, "group_size"));
        if (g > 0)
            json_object_set_new(row, "group_size", json_integer(g));
        json_t *kld = allocated_kld(alloc, json_string_value(json_object_get(t, "name")));
        if (kld)
            json_object_set(row, "predicted_kld", kld);
        json_array_append_new(tensors, row);
    }
    if (json_is_object(alloc)) /* --target-bpw: what the allocation aimed at and expects */
        json_object_set_new(out, "allocation",
                            json_pack("{s:O,s:O,s:O,s:O,s:O}", "target_bpw", json_object_get(alloc, "target_bpw"),
                                      "predicted_kld", json_object_get(alloc, "predicted_kld"), "samples",
                                      json_object_get(alloc, "samples"), "length",
                                      json_object_get(alloc, "length"), "scored_tokens",
                                      json_object_get(alloc, "scored_tokens")));
    json_object_set_new(out, "tensors", tensors);
    json_object_set_new(out, "n_tensors", json_integer((json_int_t)json_array_size(tensors)));
    json_object_set_new(out, "params", json_integer(total_params));
    json_object_set_new(out, "bytes", json_integer(total_bytes));
    json_object_set_new(out, "bits_per_weight",
                        json_real(total_params ? 8.0 * (double)total_bytes / (double)total_params : 0));
    if (json_object_get(m, "format_version"))
        json_object_set(out, "format_version", json_object_get(m, "format_version"));
    return out;
}

static void print_table(const char *path, json_t *s)
{
    json_t *rope = json_object_get(s, "rope");
    json_t *sc = json_object_get(rope, "scaling");
    printf("%s: %s, %lld layers, hidden %lld, heads %lld/%lld (head_dim %lld), ffn %lld, "
           "vocab %lld\n",
           path, json_string_value(json_object_get(s, "architecture")),
           json_integer_value(json_object_get(s, "n_layers")),
           json_integer_value(json_object_get(s, "hidden_size")),
           json_integer_value(json_object_get(s, "n_heads")),
           json_integer_value(json_object_get(s, "n_kv_heads")),
           json_integer_value(json_object_get(s, "head_dim")),
           json_integer_value(json_object_get(s, "ffn_size")),
           json_integer_value(json_object_get(s, "vocab_size")));
    printf("rope theta %g, scaling %s x%g; tied embeddings: %s; max positions %lld\n\n",
           json_number_value(json_object_get(rope, "theta")),
           json_string_value(json_object_get(sc, "type")),
           json_number_value(json_object_get(sc, "factor")),
           json_is_true(json_object_get(s, "tied_embeddings")) ? "yes" : "no",
           json_integer_value(json_object_get(s, "max_position_embeddings")));
    json_t *alloc = json_object_get(s, "allocation");
    printf("%-36s %-9s %-16s %12s %7s%s\n", "tensor", "type", "shape", "bytes", "bits/w",
           alloc ? "  pred. KLD" : "");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(s, "tensors"), i, t) {
        char shp[64];
        shape_str(json_object_get(t, "shape"), shp, sizeof shp);
        int64_t n = n_elements(json_object_get(t, "shape"));
        int64_t b = json_integer_value(json_object_get(t, "bytes"));
        char type[32];
        json_int_t g = json_integer_value(json_object_get(t, "group_size"));
        snprintf(type, sizeof type, g > 0 ? "%s g%lld" : "%s", json_string_value(json_object_get(t, "type")),
                 (long long)g);
        printf("%-36s %-9s %-16s %12lld %7.2f", json_string_value(json_object_get(t, "name")), type, shp,
               (long long)b, n ? 8.0 * (double)b / (double)n : 0.0);
        json_t *k = json_object_get(t, "predicted_kld");
        if (k)
            printf("  %9.6f", json_number_value(k));
        putchar('\n');
    }
    printf("\ntotal: %lld tensors, %.2f M parameters, %.2f MiB, %.2f bits/weight\n",
           json_integer_value(json_object_get(s, "n_tensors")),
           (double)json_integer_value(json_object_get(s, "params")) / 1e6,
           (double)json_integer_value(json_object_get(s, "bytes")) / (1 << 20),
           json_number_value(json_object_get(s, "bits_per_weight")));
    if (alloc)
        printf("formats chosen by --target-bpw %g: predicted KL divergence %.6f, the sum of each tensor's "
               "alone on %lld x %lld calibration tokens\n",
               json_number_value(json_object_get(alloc, "target_bpw")),
               json_number_value(json_object_get(alloc, "predicted_kld")),
               (long long)json_integer_value(json_object_get(alloc, "samples")),
               (long long)json_integer_value(json_object_get(alloc, "length")));
}

struct bad_list {
    json_t *names;
};

static void on_bad(void *user, const char *tensor, const char *why)
{
    struct bad_list *b = user;
    fprintf(stderr, "ingot: %s: %s\n", tensor, why);
    json_array_append_new(b->names, json_string(tensor));
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"verify", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    bool json = false, verify = false;
    int c;
    while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'v': verify = true; break;
        default: return cli_standard_option("inspect", c, help) < 0 ? EXIT_OK : EXIT_USAGE;
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("inspect", "expected exactly one model (.ingot file or directory)");
    const char *path = argv[optind];
    ingot_error err = {0};
    ingot_artifact *a = NULL;
    char *hf_text = NULL;
    const char *text;
    if (cli_is_dir(path)) {
        if (verify)
            return cli_usage_error("inspect", "--verify applies to .ingot files, not directories");
        if (ingot_describe_hf(path, &hf_text, &err) != 0)
            return cli_error(&err);
        text = hf_text;
    } else {
        a = ingot_artifact_open(path, &err);
        if (!a)
            return cli_error(&err);
        text = ingot_artifact_manifest(a);
    }
    json_error_t jerr;
    json_t *m = json_loads(text, 0, &jerr);
    free(hf_text);
    if (!m) {
        ingot_artifact_free(a);
        return cli_errorf("%s: manifest: %s", path, jerr.text);
    }
    json_t *s = summary_json(m);
    json_decref(m);
    int rc = EXIT_OK;
    if (verify) {
        struct bad_list bad = {json_array()};
        int n_bad = ingot_artifact_verify(a, on_bad, &bad, &err);
        if (n_bad < 0)
            rc = cli_error(&err);
        else if (n_bad > 0)
            rc = cli_errorf("%s: %d corrupted tensor%s", path, n_bad, n_bad > 1 ? "s" : "");
        json_object_set_new(s, "verified", json_boolean(n_bad == 0));
        json_object_set_new(s, "corrupted", bad.names);
    }
    if (json) {
        char *out = json_dumps(s, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
        if (out)
            puts(out);
        free(out);
    } else {
        print_table(path, s);
        if (verify && rc == EXIT_OK)
            printf("verify: all checksums match\n");
    }
    json_decref(s);
    ingot_artifact_free(a);
    return rc;
}
