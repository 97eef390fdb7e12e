/*
 * cmd_bench.c - ingot bench <model>: prompt processing (pp) and token
 * generation (tg) speed in the manner of llama-bench, set against this
 * machine's memory bandwidth and FMA peak measured in the same run.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"

static void help(void)
{
    puts("usage: ingot bench <model.ingot> [options]\n"
         "\n"
         "Measure prompt processing (pp) and token generation (tg) speed.\n"
         "\n"
         "  -p, --n-prompt N   prompt tokens per pp run (default 512; 0 skips pp)\n"
         "  -n, --n-gen N      tokens per tg run (default 128; 0 skips tg)\n"
         "  -r, --reps N       repetitions, reported as mean +- sd (default 5)\n"
         "  -t, --threads N    CPU threads (default: all)\n"
         "      --device D     auto, cpu, cuda or cuda:N (default auto: the CPU for now)\n"
         "      --kv-type T    KV cache elements: f32 (default), f16 or bf16 (GPU only)\n"
         "      --json         machine-readable output on stdout\n"
         "  -h, --help         this help\n"
         "\n"
         "tg is set against the weight bytes each token reads and this machine's\n"
         "memory-read bandwidth; pp against the linear layers' FLOPs and the\n"
         "machine's FMA peak (on a GPU: its memory's read bandwidth and a large\n"
         "GEMM), both measured in the same run. See ingot-bench(1).");
}

#define MAX_REPS 100

struct bench_opts {
    const char *model;
    long n_prompt, n_gen, reps, threads;
    bool json;
    ingot_context_params cp;
};

static int parse(int argc, char **argv, struct bench_opts *o)
{
    static const struct option opts[] = {
        {"n-prompt", required_argument, NULL, 'p'}, {"n-gen", required_argument, NULL, 'n'},
        {"reps", required_argument, NULL, 'r'},     {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},           {"help", no_argument, NULL, 'h'},
        {"device", required_argument, NULL, 1},     {"kv-type", required_argument, NULL, 2},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    ingot_context_params_init(&o->cp);
    o->n_prompt = 512;
    o->n_gen = 128;
    o->reps = 5;
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "p:n:r:t:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'p': bad = cli_int_arg("bench", "-p", optarg, 0, 1 << 20, &o->n_prompt); break;
        case 'n': bad = cli_int_arg("bench", "-n", optarg, 0, 1 << 20, &o->n_gen); break;
        case 'r': bad = cli_int_arg("bench", "-r", optarg, 1, MAX_REPS, &o->reps); break;
        case 't': bad = cli_int_arg("bench", "-t", optarg, 1, 1024, &o->threads); break;
        case 'j': o->json = true; break;
        case 1: bad = cli_device_arg("bench", optarg, &o->cp); break;
        case 2: bad = cli_kv_type_arg("bench", optarg, &o->cp); break;
        default: return cli_standard_option("bench", c, help) < 0 ? 1 : -1;
        }
    }
    if (bad)
        return -1;
    if (optind != argc - 1) {
        cli_usage_error("bench", "expected exactly one model");
        return -1;
    }
    if (o->n_prompt == 0 && o->n_gen == 0) {
        cli_usage_error("bench", "-p 0 and -n 0 leave nothing to measure");
        return -1;
    }
    o->model = argv[optind];
    return 0;
}

struct stat_acc {
    double sum, sum2;
    int n;
};

static void acc_add(struct stat_acc *a, double v)
{
    a->sum += v;
    a->sum2 += v * v;
    a->n++;
}

static double acc_mean(const struct stat_acc *a)
{
    return a->n ? a->sum / a->n : 0;
}

static double acc_sd(const struct stat_acc *a)
{
    if (a->n < 2)
        return 0;
    double m = acc_mean(a), v = (a->sum2 - a->n * m * m) / (a->n - 1);
    return v > 0 ? sqrt(v) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* @return the median of v[0..n) (sorted in place) */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Deterministic pseudo-random prompt tokens, as llama-bench uses random ids. */
static void fill_tokens(int32_t *t, long n, int vocab)
{
    uint32_t s = 1234567;
    for (long i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        t[i] = (int32_t)((s >> 8) % (uint32_t)vocab);
    }
}

static int time_pp(ingot_context *c, const int32_t *toks, long n, float *logits, double *secs)
{
    ingot_error err = {0};
    double t0 = cli_now();
    if (ingot_context_eval(c, toks, (int)n, 0, logits, 0, &err) != 0)
        return cli_error(&err);
    *secs = cli_now() - t0;
    return 0;
}

static int time_tg(ingot_context *c, const int32_t *toks, long n, float *logits, double *secs)
{
    ingot_error err = {0};
    double t0 = cli_now();
    for (long i = 0; i < n; i++)
        if (ingot_context_eval(c, toks + i, 1, (int)i, logits, 0, &err) != 0)
            return cli_error(&err);
    *secs = cli_now() - t0;
    return 0;
}

#define BW_BUF_BYTES ((size_t)256 << 20) /* well past any last-level cache */

/*
 * The bandwidth a shared machine gives swings by 2x within seconds, so tg is
 * set against it token by token: one more run of n_gen tokens, each followed
 * by one streaming read of a 256 MiB buffer on the same threads.  pct[i] is
 * token i's weight GB/s as a percentage of the read pass right after it;
 * *best the fastest pass.  Without memory for the buffer both stay 0.
 * @return 0 or 1.
 */
static int tg_vs_bandwidth(const struct bench_opts *o, ingot_context *c, const ingot_model_info *info,
                           const int32_t *toks, float *logits, double *pct, double *best)
{
    char *buf = malloc(BW_BUF_BYTES);
    if (!buf)
        return 0; /* no yardstick on this machine: the percentages stay 0 */
    memset(buf, 1, BW_BUF_BYTES);
    ingot_error err = {0};
    for (long i = 0; i < o->n_gen; i++) {
        double t0 = cli_now();
        if (ingot_context_eval(c, toks + i, 1, (int)i, logits, 0, &err) != 0) {
            free(buf);
            return cli_error(&err);
        }
        double tok_gbs = (double)info->bytes_per_token / (cli_now() - t0) / 1e9;
        double pass = ingot_machine_read_pass(buf, BW_BUF_BYTES, (int)o->threads);
        *best = pass > *best ? pass : *best;
        pct[i] = pass > 0 ? 100 * tok_gbs / pass : 0;
    }
    free(buf);
    return 0;
}

/* Attention FLOPs of n tokens from position 0: q·k and p·v over each prefix. */
static double attn_flops(const ingot_model_info *info, long n)
{
    double q_dim = (double)info->n_heads * info->head_dim;
    return 4.0 * info->n_layers * q_dim * (double)n * (double)(n + 1) / 2.0;
}

static long peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/*
 * On a GPU the yardsticks are measured once, after the runs: the device's
 * read bandwidth (hbm_read_gbs) for tg and a large GEMM for pp.  A GPU's
 * clocks and bandwidth do not swing with neighbours as a shared CPU's do.
 */
static int gpu_peaks(const struct bench_opts *o, ingot_context *c, const ingot_model_info *info,
                     const struct stat_acc *pp, const struct stat_acc *tg, json_t *out)
{
    ingot_error err = {0};
    double bw = 0, tflops = 0, used = 0;
    if (ingot_context_device_peaks(c, &bw, &tflops, &used, &err) != 0)
        return cli_error(&err);
    double pp_flops = (double)info->flops_per_token * o->n_prompt + attn_flops(info, o->n_prompt);
    double tg_gbs = (double)info->bytes_per_token * acc_mean(tg) / 1e9;
    double pp_tflops = o->n_prompt ? pp_flops * acc_mean(pp) / (double)o->n_prompt / 1e12 : 0;
    json_object_set_new(out, "hbm_read_gbs", json_real(bw));
    json_object_set_new(out, "read_bw_gbs", json_real(bw));
    json_object_set_new(out, "tg_bw_pct", json_real(bw > 0 && o->n_gen ? 100 * tg_gbs / bw : 0));
    json_object_set_new(out, "gemm_peak_tflops", json_real(tflops));
    json_object_set_new(out, "pp_flops_pct", json_real(tflops > 0 ? 100 * pp_tflops / tflops : 0));
    json_object_set_new(out, "ttft_ms", json_real(o->n_prompt && acc_mean(pp) > 0 ? 1e3 * o->n_prompt / acc_mean(pp) : 0));
    json_object_set_new(out, "gpu_mem_mb", json_real(used));
    return 0;
}

static int measure(const struct bench_opts *o, ingot_model *m, json_t *out)
{
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    long n_ctx = o->n_prompt > o->n_gen ? o->n_prompt : o->n_gen;
    if (n_ctx > info.max_pos)
        return cli_errorf("%s: %ld tokens exceed the model's %d positions", o->model, n_ctx, info.max_pos);
    ingot_error err = {0};
    cli_use_threads(o->threads);
    ingot_context_params cp = o->cp;
    cp.n_ctx = (int)n_ctx;
    cp.n_threads = (int)o->threads;
    double t_ctx = cli_now();
    ingot_context *c = ingot_context_create_with(m, &cp, &err);
    if (!c)
        return cli_error(&err);
    /* on a GPU the weights are uploaded here: the context's creation is the load */
    json_object_set_new(out, "ctx_ms", json_real((cli_now() - t_ctx) * 1e3));
    json_object_set_new(out, "device", json_string(ingot_context_device(c)));
    bool gpu = strncmp(ingot_context_device(c), "cuda", 4) == 0;
    int32_t *toks = malloc((size_t)n_ctx * sizeof *toks);
    float *logits = malloc((size_t)info.vocab_size * sizeof *logits);
    double *tg_pct = calloc((size_t)o->n_gen + 1, sizeof *tg_pct); /* per token */
    int rc = toks && logits && tg_pct ? 0 : cli_errorf("out of memory");
    if (rc == 0)
        fill_tokens(toks, n_ctx, info.vocab_size);
    double secs, dummy;
    /* one warm-up of each, so that the weights are paged in */
    if (rc == 0 && o->n_prompt)
        rc = time_pp(c, toks, o->n_prompt < 64 ? o->n_prompt : 64, logits, &dummy);
    if (rc == 0 && o->n_gen)
        rc = time_tg(c, toks, o->n_gen < 4 ? o->n_gen : 4, logits, &dummy);
    /*
     * On a shared machine the neighbours' load comes and goes: each pp
     * repetition is paired with an FMA-peak measurement taken right after
     * it, each token of one more tg run with a read pass (tg_vs_bandwidth),
     * and the percentages are the medians of those paired ratios.
     */
    struct stat_acc pp = {0}, tg = {0};
    long rss = 0; /* taken before the first bandwidth test allocates its buffer */
    double pp_pct[MAX_REPS], bw = 0, peak = 0;
    double pp_flops = (double)info.flops_per_token * o->n_prompt + attn_flops(&info, o->n_prompt);
    for (long r = 0; rc == 0 && o->n_prompt && r < o->reps; r++)
        if ((rc = time_pp(c, toks, o->n_prompt, logits, &secs)) == 0) {
            acc_add(&pp, (double)o->n_prompt / secs);
            double p = gpu ? 0 : ingot_machine_fma_peak((int)o->threads);
            peak = p > peak ? p : peak;
            pp_pct[r] = p > 0 ? 100 * pp_flops / secs / 1e9 / p : 0;
        }
    for (long r = 0; rc == 0 && o->n_gen && r < o->reps; r++)
        if ((rc = time_tg(c, toks, o->n_gen, logits, &secs)) == 0) {
            acc_add(&tg, (double)o->n_gen / secs);
            rss = r == 0 ? peak_rss_mb() : rss;
        }
    if (rc == 0 && o->n_gen && !gpu)
        rc = tg_vs_bandwidth(o, c, &info, toks, logits, tg_pct, &bw);
    rss = o->n_gen ? rss : peak_rss_mb();
    if (rc == 0 && gpu)
        rc = gpu_peaks(o, c, &info, &pp, &tg, out);
    free(toks);
    free(logits);
    ingot_context_free(c);
    if (rc != 0) {
        free(tg_pct);
        return rc;
    }
    double pp_gflops = o->n_prompt ? pp_flops / ((double)o->n_prompt / acc_mean(&pp)) / 1e9 : 0;
    double tg_gbs = (double)info.bytes_per_token * acc_mean(&tg) / 1e9;
    json_object_set_new(out, "pp_tps", json_real(acc_mean(&pp)));
    json_object_set_new(out, "pp_tps_sd", json_real(acc_sd(&pp)));
    json_object_set_new(out, "tg_tps", json_real(acc_mean(&tg)));
    json_object_set_new(out, "tg_tps_sd", json_real(acc_sd(&tg)));
    json_object_set_new(out, "tg_gbs", json_real(tg_gbs));
    json_object_set_new(out, "pp_gflops", json_real(pp_gflops));
    if (!gpu) {
        json_object_set_new(out, "read_bw_gbs", json_real(bw));
        json_object_set_new(out, "tg_bw_pct", json_real(o->n_gen ? median(tg_pct, (int)o->n_gen) : 0));
        json_object_set_new(out, "fma_peak_gflops", json_real(peak));
        json_object_set_new(out, "pp_flops_pct", json_real(o->n_prompt ? median(pp_pct, (int)o->reps) : 0));
    }
    json_object_set_new(out, "peak_rss_mb", json_integer(rss));
    free(tg_pct);
    json_object_set_new(out, "bytes_per_token", json_integer((json_int_t)info.bytes_per_token));
    json_object_set_new(out, "weight_bytes", json_integer((json_int_t)info.weight_bytes));
    json_object_set_new(out, "params", json_integer((json_int_t)info.n_params));
    return 0;
}

static double num(json_t *j, const char *k)
{
    return json_number_value(json_object_get(j, k));
}

static void print_human(const struct bench_opts *o, json_t *j)
{
    printf("| %-24s | %9s | %8s | %-10s | %7s | %-6s | %19s |\n", "model", "size", "params", "isa",
           "threads", "test", "t/s");
    printf("|%.*s|\n", 110, "---------------------------------------------------------------------------------------------------------------");
    const char *name = strrchr(o->model, '/') ? strrchr(o->model, '/') + 1 : o->model;
    char size[32], params[32];
    snprintf(size, sizeof size, "%.2f GiB", num(j, "weight_bytes") / (1 << 30));
    snprintf(params, sizeof params, "%.2f M", num(j, "params") / 1e6);
    long thr = (long)num(j, "threads");
    if (o->n_prompt)
        printf("| %-24.24s | %9s | %8s | %-10s | %7ld | pp%-4ld | %9.2f +- %7.2f |\n", name, size, params,
               json_string_value(json_object_get(j, "isa")), thr, o->n_prompt, num(j, "pp_tps"), num(j, "pp_tps_sd"));
    if (o->n_gen)
        printf("| %-24.24s | %9s | %8s | %-10s | %7ld | tg%-4ld | %9.2f +- %7.2f |\n", name, size, params,
               json_string_value(json_object_get(j, "isa")), thr, o->n_gen, num(j, "tg_tps"), num(j, "tg_tps_sd"));
    if (json_object_get(j, "hbm_read_gbs"))
        printf("\ndevice: %s\n        read bandwidth %.1f GB/s, GEMM peak %.1f TFLOP/s, memory in use %.0f MiB\n",
               json_string_value(json_object_get(j, "device")), num(j, "hbm_read_gbs"), num(j, "gemm_peak_tflops"),
               num(j, "gpu_mem_mb"));
    else
        printf("\nmachine: read bandwidth %.1f GB/s, FMA peak %.1f GFLOP/s\n", num(j, "read_bw_gbs"),
               num(j, "fma_peak_gflops"));
    if (o->n_gen)
        printf("tg: %.1f MB of weights per token, %.1f GB/s = %.1f %% of read bandwidth\n",
               num(j, "bytes_per_token") / 1e6, num(j, "tg_gbs"), num(j, "tg_bw_pct"));
    if (o->n_prompt)
        printf("pp: %.1f GFLOP/s = %.1f %% of %s peak\n", num(j, "pp_gflops"), num(j, "pp_flops_pct"),
               json_object_get(j, "hbm_read_gbs") ? "GEMM" : "FMA");
    printf("model open: %.1f ms; peak RSS: %lld MB\n", num(j, "open_ms"),
           json_integer_value(json_object_get(j, "peak_rss_mb")));
}

int cmd_bench(int argc, char **argv)
{
    struct bench_opts o;
    int p = parse(argc, argv, &o);
    if (p != 0)
        return p > 0 ? EXIT_OK : EXIT_USAGE;
    ingot_error err = {0};
    double t0 = cli_now();
    ingot_model *m = ingot_model_open(o.model, &err);
    double open_ms = (cli_now() - t0) * 1e3;
    if (!m)
        return cli_error(&err);
    json_t *j = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:f}", "model", o.model, "isa", ingot_cpu_isa(), "threads",
                          (int)o.threads, "n_prompt", (int)o.n_prompt, "n_gen", (int)o.n_gen, "reps", (int)o.reps,
                          "open_ms", open_ms);
    int rc = measure(&o, m, j);
    if (rc == 0 && json_object_get(j, "hbm_read_gbs"))
        json_object_set_new(j, "isa", json_string("cuda"));
    if (rc == 0 && o.threads == 0) {
        /* report the thread count actually used */
        json_object_set_new(j, "threads", json_integer(ingot_default_threads()));
    }
    if (rc == 0 && o.json) {
        char *s = json_dumps(j, JSON_INDENT(1) | JSON_REAL_PRECISION(8));
        puts(s);
        free(s);
    } else if (rc == 0) {
        print_human(&o, j);
    }
    json_decref(j);
    ingot_model_free(m);
    return rc;
}
