/*
 * cmd_eval.c - ingot eval <model> --text F [--ctx 512] [--chunks N] [--ref REF]
 *
 * Perplexity over non-overlapping chunks of the tokenized text (each chunk
 * scored on its ctx-1 next-token predictions), and against a reference
 * model: KL divergence of the next-token distributions, top-1 agreement.
 * Streams chunk by chunk and sub-batch by sub-batch: at most BATCH x vocab
 * logits of each model are in memory.  Always reports the largest
 * activations per layer and whether they fit fp16.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define BATCH 64
#define FP16_MAX 65504.0f

static void help(void)
{
    puts("usage: ingot eval <model.ingot> --text F [options]\n"
         "\n"
         "Perplexity on a text; with --ref, the KL divergence from a reference model\n"
         "(usually the bf16 artifact) and top-1 agreement; always a per-layer report\n"
         "of the largest activations and whether fp16 would overflow.\n"
         "\n"
         "      --text F      the text (tokenized whole, without special tokens)\n"
         "  -c, --ctx N       tokens per chunk (default 512)\n"
         "      --chunks N    score only the first N chunks (default: all)\n"
         "      --score-from P  count only the predictions made at positions >= P of\n"
         "                    each chunk (default 0; llama-perplexity counts from ctx/2)\n"
         "      --ref REF     reference model for KLD and top-1 agreement\n"
         "      --json        machine-readable output on stdout\n"
         "  -q, --quiet       no progress bar\n"
         "  -t, --threads N   CPU threads (default: all)\n"
         "      --device D    auto, cpu, cuda or cuda:N (default auto: the CPU for now)\n"
         "      --ref-device D  where the reference runs (default: as --device)\n"
         "      --kv-type T   KV cache elements: f32 (default), f16 or bf16 (GPU only)\n"
         "  -h, --help        this help\n"
         "\n"
         "Exit status 1 when a NaN or Inf appears. See ingot-eval(1).");
}

struct eval_opts {
    const char *model, *text, *ref;
    long ctx, chunks, threads, from; /* from: first position of a chunk whose prediction counts */
    bool json, quiet, ref_device_set;
    ingot_context_params cp, ref_cp;
};

struct side {
    ingot_model *m;
    ingot_context *c;
    float *logits; /* (BATCH, vocab) */
    int vocab;
};

struct totals {
    double nll, ref_nll;
    long n, top1;
    float *kld; /* (predictions) */
    ingot_layer_stats *stats;
    int n_layers;
};

static int parse(int argc, char **argv, struct eval_opts *o)
{
    static const struct option opts[] = {
        {"text", required_argument, NULL, 'f'}, {"ctx", required_argument, NULL, 'c'},
        {"chunks", required_argument, NULL, 'n'}, {"ref", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},       {"quiet", no_argument, NULL, 'q'},
        {"threads", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"device", required_argument, NULL, 1}, {"ref-device", required_argument, NULL, 2},
        {"kv-type", required_argument, NULL, 3}, {"score-from", required_argument, NULL, 4},
        {"version", no_argument, NULL, 'V'},    {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    ingot_context_params_init(&o->cp);
    ingot_context_params_init(&o->ref_cp);
    o->ctx = 512;
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "c:t:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'f': o->text = optarg; break;
        case 'c': bad = cli_int_arg("eval", "--ctx", optarg, 2, 1 << 24, &o->ctx); break;
        case 'n': bad = cli_int_arg("eval", "--chunks", optarg, 1, 1L << 30, &o->chunks); break;
        case 'r': o->ref = optarg; break;
        case 'j': o->json = true; break;
        case 'q': o->quiet = true; break;
        case 't': bad = cli_int_arg("eval", "--threads", optarg, 1, 1024, &o->threads); break;
        case 1: bad = cli_device_arg("eval", optarg, &o->cp); break;
        case 2: bad = cli_device_arg("eval", optarg, &o->ref_cp); o->ref_device_set = true; break;
        case 3: bad = cli_kv_type_arg("eval", optarg, &o->cp); break;
        case 4: bad = cli_int_arg("eval", "--score-from", optarg, 0, 1 << 24, &o->from); break;
        default: return cli_standard_option("eval", c, help) < 0 ? 1 : -1;
        }
    }
    if (bad)
        return -1;
    if (!o->ref_device_set) {
        o->ref_cp.device = o->cp.device;
        o->ref_cp.device_index = o->cp.device_index;
        o->ref_cp.kv_type = o->cp.kv_type;
    }
    if (optind != argc - 1 || !o->text) {
        cli_usage_error("eval", "expected a model and --text F");
        return -1;
    }
    if (o->from > o->ctx - 2) {
        cli_usage_error("eval", "--score-from %ld: a chunk of %ld tokens predicts from positions 0..%ld", o->from,
                        o->ctx, o->ctx - 2);
        return -1;
    }
    o->model = argv[optind];
    return 0;
}

static int open_side(struct side *s, const char *path, const struct eval_opts *o, const ingot_context_params *cp0)
{
    ingot_error err = {0};
    memset(s, 0, sizeof *s);
    s->m = ingot_model_open(path, &err);
    if (!s->m)
        return cli_error(&err);
    ingot_model_info info;
    ingot_model_get_info(s->m, &info);
    s->vocab = info.vocab_size;
    if (o->ctx > info.max_pos)
        return cli_errorf("%s: --ctx %ld is beyond the model's %d positions", path, o->ctx, info.max_pos);
    cli_use_threads(o->threads);
    ingot_context_params cp = *cp0;
    cp.n_ctx = (int)o->ctx;
    cp.n_threads = (int)o->threads;
    s->c = ingot_context_create_with(s->m, &cp, &err);
    if (!s->c)
        return cli_error(&err);
    s->logits = malloc((size_t)BATCH * (size_t)s->vocab * sizeof(float));
    return s->logits ? 0 : cli_errorf("out of memory");
}

static void close_side(struct side *s)
{
    free(s->logits);
    ingot_context_free(s->c);
    ingot_model_free(s->m);
}

/* log-sum-exp of a row, in double for a stable perplexity. */
static double logsumexp(const float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += exp((double)(x[i] - mx));
    return mx + log(s);
}

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

/* KL(ref || model) of one position's next-token distributions. */
static double kl_div(const float *ref, double ref_lse, const float *mod, double mod_lse, int n)
{
    double kl = 0;
    for (int i = 0; i < n; i++) {
        double lr = ref[i] - ref_lse, lm = mod[i] - mod_lse;
        kl += exp(lr) * (lr - lm);
    }
    return kl > 0 ? kl : 0;
}

/*
 * Scores predictions [t0, t0+k) of one chunk whose logits are in the sides'
 * buffers, those made at positions >= from only.
 */
static void score_batch(struct side *m, struct side *r, const int32_t *chunk, int t0, int k, int ctx, int from,
                        struct totals *tot)
{
    double nll = 0, ref_nll = 0;
    long top1 = 0;
    int last = t0 + k < ctx ? k : k - 1; /* the chunk's last token predicts nothing */
    int first = from > t0 ? (from - t0 < last ? from - t0 : last) : 0;
    float *kld = tot->kld + tot->n - first;
#pragma omp parallel for reduction(+ : nll, ref_nll, top1) schedule(static)
    for (int j = first; j < last; j++) {
        const float *lm = m->logits + (size_t)j * m->vocab;
        int32_t target = chunk[t0 + j + 1];
        double lse = logsumexp(lm, m->vocab);
        nll += lse - lm[target];
        if (!r)
            continue;
        const float *lr = r->logits + (size_t)j * r->vocab;
        double rlse = logsumexp(lr, r->vocab);
        ref_nll += rlse - lr[target];
        kld[j] = (float)kl_div(lr, rlse, lm, lse, m->vocab);
        top1 += argmax(lr, r->vocab) == argmax(lm, m->vocab);
    }
    tot->nll += nll;
    tot->ref_nll += ref_nll;
    tot->top1 += top1;
    tot->n += last - first;
}

static int score_chunk(struct side *m, struct side *r, const int32_t *chunk, int ctx, int from, struct totals *tot)
{
    ingot_error err = {0};
    for (int t0 = 0; t0 < ctx; t0 += BATCH) {
        int k = ctx - t0 < BATCH ? ctx - t0 : BATCH;
        if (ingot_context_eval(m->c, chunk + t0, k, t0, m->logits, 1, &err) != 0 ||
            (r && ingot_context_eval(r->c, chunk + t0, k, t0, r->logits, 1, &err) != 0))
            return cli_error(&err);
        score_batch(m, r, chunk, t0, k, ctx, from, tot);
    }
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static bool layer_safe(const ingot_layer_stats *s)
{
    return !s->nonfinite && s->resid_max < FP16_MAX && s->attn_max < FP16_MAX && s->mlp_max < FP16_MAX;
}

static json_t *layers_json(const struct totals *t, bool *all_safe, int *bad_layer)
{
    json_t *arr = json_array();
    *all_safe = true;
    *bad_layer = -1;
    for (int l = 0; l <= t->n_layers; l++) {
        const ingot_layer_stats *s = &t->stats[l];
        bool safe = layer_safe(s);
        *all_safe &= safe;
        if (s->nonfinite && *bad_layer < 0)
            *bad_layer = l;
        json_t *e = json_pack("{s:s,s:f,s:f,s:f,s:b,s:b}", "layer", "", "resid_max", (double)s->resid_max,
                              "attn_max", (double)s->attn_max, "mlp_max", (double)s->mlp_max,
                              "fp16_safe", safe, "nonfinite", s->nonfinite);
        if (l < t->n_layers)
            json_object_set_new(e, "layer", json_integer(l));
        else
            json_object_set_new(e, "layer", json_string("output"));
        json_array_append_new(arr, e);
    }
    return arr;
}

static void print_human(const struct eval_opts *o, json_t *j)
{
    printf("model %s, text %s: %lld chunks x %ld tokens, %lld predictions\n", o->model, o->text,
           json_integer_value(json_object_get(j, "chunks")), o->ctx,
           json_integer_value(json_object_get(j, "tokens")));
    printf("ppl        %.4f\n", json_real_value(json_object_get(j, "ppl")));
    if (o->ref) {
        double ppl = json_real_value(json_object_get(j, "ppl")), ref = json_real_value(json_object_get(j, "ref_ppl"));
        printf("ref ppl    %.4f  (%s)\n", ref, o->ref);
        printf("delta ppl  %+.4f (%+.2f%%)\n", ppl - ref, 100 * (ppl - ref) / ref);
        printf("KLD        mean %.6f  median %.6f  p99 %.6f  max %.6f\n",
               json_real_value(json_object_get(j, "kld_mean")), json_real_value(json_object_get(j, "kld_median")),
               json_real_value(json_object_get(j, "kld_p99")), json_real_value(json_object_get(j, "kld_max")));
        printf("top-1      %.2f %%\n", json_real_value(json_object_get(j, "top1")));
    }
    printf("\n%-7s %12s %12s %12s  %s\n", "layer", "resid max", "attn max", "mlp max", "fp16-safe");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "layers"), i, e) {
        json_t *l = json_object_get(e, "layer");
        char name[16];
        snprintf(name, sizeof name, "%s", json_is_string(l) ? json_string_value(l) : "");
        if (!json_is_string(l))
            snprintf(name, sizeof name, "%lld", json_integer_value(l));
        printf("%-7s %12.2f %12.2f %12.2f  %s\n", name, json_real_value(json_object_get(e, "resid_max")),
               json_real_value(json_object_get(e, "attn_max")), json_real_value(json_object_get(e, "mlp_max")),
               json_is_true(json_object_get(e, "nonfinite")) ? "NaN/Inf"
               : json_is_true(json_object_get(e, "fp16_safe")) ? "yes" : "no");
    }
    printf("fp16-safe: %s\n", json_is_true(json_object_get(j, "fp16_safe")) ? "yes" : "no");
}

static json_t *results(const struct eval_opts *o, struct totals *t, long chunks, bool *finite)
{
    bool safe;
    int bad;
    json_t *layers = layers_json(t, &safe, &bad);
    double ppl = exp(t->nll / (double)t->n);
    *finite = bad < 0 && isfinite(ppl);
    json_t *j = json_pack("{s:f,s:I,s:I,s:I,s:b,s:o}", "ppl", ppl, "tokens", (json_int_t)t->n, "chunks",
                          (json_int_t)chunks, "ctx", (json_int_t)o->ctx, "fp16_safe", safe, "layers", layers);
    if (o->from)
        json_object_set_new(j, "score_from", json_integer(o->from));
    if (o->ref) {
        qsort(t->kld, (size_t)t->n, sizeof *t->kld, cmp_float);
        double sum = 0;
        for (long i = 0; i < t->n; i++)
            sum += t->kld[i];
        double ref_ppl = exp(t->ref_nll / (double)t->n);
        json_object_set_new(j, "ref_ppl", json_real(ref_ppl));
        json_object_set_new(j, "delta_ppl", json_real(ppl - ref_ppl));
        json_object_set_new(j, "kld_mean", json_real(sum / (double)t->n));
        json_object_set_new(j, "kld_median", json_real(t->kld[t->n / 2]));
        json_object_set_new(j, "kld_p99", json_real(t->kld[(long)(0.99 * (double)(t->n - 1))]));
        json_object_set_new(j, "kld_max", json_real(t->kld[t->n - 1]));
        json_object_set_new(j, "top1", json_real(100.0 * (double)t->top1 / (double)t->n));
    }
    if (bad >= 0)
        json_object_set_new(j, "nonfinite_layer", json_integer(bad));
    return j;
}

static int load_tokens(struct side *m, const struct eval_opts *o, int32_t **ids, size_t *n)
{
    char *text;
    size_t len;
    if (cli_read_input(o->text, &text, &len) != 0)
        return EXIT_FAIL;
    if (len == 0) {
        free(text);
        return cli_errorf("%s: empty text", o->text);
    }
    ingot_error err = {0};
    size_t bad = 0;
    if (!ingot_utf8_check(text, len, &bad)) {
        free(text);
        return cli_errorf("%s: invalid UTF-8 at byte %zu", o->text, bad);
    }
    int rc = ingot_tokenize(m->m, text, len, 0, ids, n, &err);
    free(text);
    if (rc != 0)
        return cli_error(&err);
    if (*n < (size_t)o->ctx)
        return cli_errorf("%s: %zu tokens, fewer than one chunk of %ld", o->text, *n, o->ctx);
    return 0;
}

static int run_eval(const struct eval_opts *o, struct side *m, struct side *r)
{
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = load_tokens(m, o, &ids, &n);
    if (rc != 0) {
        free(ids);
        return rc;
    }
    long chunks = (long)(n / (size_t)o->ctx);
    if (o->chunks > chunks) {
        free(ids);
        return cli_errorf("%s: %zu tokens make %ld chunks of %ld, fewer than the %ld asked for (--chunks)",
                          o->text, n, chunks, o->ctx, o->chunks);
    }
    if (o->chunks)
        chunks = o->chunks;
    ingot_model_info info;
    ingot_model_get_info(m->m, &info);
    struct totals t = {0};
    t.n_layers = info.n_layers;
    t.stats = calloc((size_t)info.n_layers + 1, sizeof *t.stats);
    t.kld = calloc((size_t)chunks * (size_t)o->ctx, sizeof *t.kld);
    if (!t.stats || !t.kld)
        rc = cli_errorf("out of memory");
    ingot_context_set_stats(m->c, t.stats);
    cli_progress prog;
    cli_progress_init(&prog, o->quiet || o->json);
    for (long ch = 0; rc == 0 && ch < chunks && !cli_interrupted; ch++) {
        rc = score_chunk(m, r, ids + ch * o->ctx, (int)o->ctx, (int)o->from, &t);
        cli_progress_cb(&prog, "eval", (uint64_t)ch + 1, (uint64_t)chunks);
    }
    cli_progress_done(&prog);
    if (rc == 0 && cli_interrupted)
        rc = cli_errorf("interrupted");
    if (rc == 0) {
        bool finite;
        json_t *j = results(o, &t, chunks, &finite);
        json_object_set_new(j, "device", json_string(ingot_context_device(m->c)));
        if (r)
            json_object_set_new(j, "ref_device", json_string(ingot_context_device(r->c)));
        if (o->json) {
            char *s = json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
            puts(s);
            free(s);
        } else {
            print_human(o, j);
        }
        json_t *bad = json_object_get(j, "nonfinite_layer");
        if (!finite && bad)
            rc = cli_errorf("%s: NaN/Inf in layer %lld", o->model, json_integer_value(bad));
        else if (!finite)
            rc = cli_errorf("%s: perplexity is not finite", o->model);
        json_decref(j);
    }
    free(t.stats);
    free(t.kld);
    free(ids);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    struct eval_opts o;
    int p = parse(argc, argv, &o);
    if (p != 0)
        return p > 0 ? EXIT_OK : EXIT_USAGE;
    cli_install_signal_handlers();
    struct side m, r;
    memset(&r, 0, sizeof r);
    int rc = open_side(&m, o.model, &o, &o.cp);
    if (rc == 0 && o.ref) {
        rc = open_side(&r, o.ref, &o, &o.ref_cp);
        if (rc == 0 && r.vocab != m.vocab)
            rc = cli_errorf("%s: vocabulary of %d tokens, but %s has %d", o.ref, r.vocab, o.model, m.vocab);
    }
    if (rc == 0)
        rc = run_eval(&o, &m, o.ref ? &r : NULL);
    close_side(&m);
    if (o.ref)
        close_side(&r);
    return rc;
}
