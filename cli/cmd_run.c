/* cmd_run.c - ingot run <model> -p PROMPT: generate text, streamed as it comes. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static void help(void)
{
    puts("usage: ingot run <model.ingot> -p PROMPT [options]\n"
         "\n"
         "Generate text from a prompt; the text is streamed to stdout, timings go to stderr.\n"
         "\n"
         "  -p, --prompt S         the prompt (required)\n"
         "  -n, --n-predict N      tokens to generate at most (default 128)\n"
         "      --temp T           temperature, 0 = greedy (default 0.8)\n"
         "      --top-k K          keep the K most likely tokens, 0 = off (default 40)\n"
         "      --top-p P          nucleus sampling, 1 = off (default 0.95)\n"
         "      --min-p P          drop tokens below P x the best one (default 0.05)\n"
         "      --repeat-penalty R penalize recent tokens, 1 = off (default 1.0)\n"
         "      --seed S           random seed (default: from the clock)\n"
         "      --chat             apply the model's chat template to the prompt\n"
         "      --system S         system message for --chat\n"
         "  -c, --ctx N            context size (default: prompt + n, at most the model's)\n"
         "      --truncate         keep the end of a prompt longer than the context\n"
         "  -t, --threads N        CPU threads (default: all)\n"
         CLI_DEVICE_HELP
         "  -h, --help             this help\n"
         "\n"
         "See ingot-run(1).");
}

struct run_opts {
    const char *prompt, *system;
    long n_predict, ctx, threads;
    bool chat, truncate, have_seed;
    ingot_sampler_params sp;
    ingot_context_params cp;
};

static int parse(int argc, char **argv, struct run_opts *o)
{
    static const struct option opts[] = {
        {"prompt", required_argument, NULL, 'p'}, {"n-predict", required_argument, NULL, 'n'},
        {"temp", required_argument, NULL, 1},     {"top-k", required_argument, NULL, 2},
        {"top-p", required_argument, NULL, 3},    {"min-p", required_argument, NULL, 4},
        {"repeat-penalty", required_argument, NULL, 5}, {"seed", required_argument, NULL, 6},
        {"chat", no_argument, NULL, 7},           {"system", required_argument, NULL, 8},
        {"ctx", required_argument, NULL, 'c'},    {"truncate", no_argument, NULL, 9},
        {"threads", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"device", required_argument, NULL, 10},  {"kv-type", required_argument, NULL, 11},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    ingot_context_params_init(&o->cp);
    o->n_predict = 128;
    ingot_sampler_params_init(&o->sp);
    int c;
    double d;
    long l;
    while ((c = getopt_long(argc, argv, "p:n:c:t:hV", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'p': o->prompt = optarg; break;
        case 'n': bad = cli_int_arg("run", "-n", optarg, 0, 1 << 24, &o->n_predict); break;
        case 1: bad = cli_float_arg("run", "--temp", optarg, 0, 100, &d); o->sp.temperature = (float)d; break;
        case 2: bad = cli_int_arg("run", "--top-k", optarg, 0, 1 << 24, &l); o->sp.top_k = (int)l; break;
        case 3: bad = cli_float_arg("run", "--top-p", optarg, 1e-6, 1, &d); o->sp.top_p = (float)d; break;
        case 4: bad = cli_float_arg("run", "--min-p", optarg, 0, 1, &d); o->sp.min_p = (float)d; break;
        case 5: bad = cli_float_arg("run", "--repeat-penalty", optarg, 1e-3, 100, &d); o->sp.repeat_penalty = (float)d; break;
        case 6: bad = cli_int_arg("run", "--seed", optarg, 0, 0x7fffffffL, &l); o->sp.seed = (uint64_t)l; o->have_seed = true; break;
        case 7: o->chat = true; break;
        case 8: o->system = optarg; break;
        case 'c': bad = cli_int_arg("run", "--ctx", optarg, 1, 1 << 24, &o->ctx); break;
        case 9: o->truncate = true; break;
        case 't': bad = cli_int_arg("run", "--threads", optarg, 1, 1024, &o->threads); break;
        case 10: bad = cli_device_arg("run", optarg, &o->cp); break;
        case 11: bad = cli_kv_type_arg("run", optarg, &o->cp); break;
        default: return cli_standard_option("run", c, help) < 0 ? 1 : -1;
        }
        if (bad)
            return -1;
    }
    if (optind != argc - 1) {
        cli_usage_error("run", "expected exactly one model");
        return -1;
    }
    if (!o->prompt) {
        cli_usage_error("run", "missing -p PROMPT");
        return -1;
    }
    if (o->system && !o->chat) {
        cli_usage_error("run", "--system needs --chat");
        return -1;
    }
    if (!o->have_seed)
        o->sp.seed = (uint64_t)time(NULL);
    return 0;
}

static bool is_eos(const ingot_model_info *info, int32_t t)
{
    for (int i = 0; i < info->n_eos; i++)
        if (info->eos_ids[i] == t)
            return true;
    return false;
}

/* Prints the part of the decoded text not printed yet, holding back an incomplete character. */
static void stream_text(ingot_model *m, const int32_t *gen, size_t n, size_t *printed)
{
    char *text = NULL;
    size_t len = 0;
    if (ingot_detokenize(m, gen, n, 1, &text, &len, NULL) != 0)
        return;
    size_t end = len;
    if (end >= 3 && !memcmp(text + end - 3, "\xef\xbf\xbd", 3))
        end -= 3; /* U+FFFD: a multi-byte character split across tokens */
    if (end > *printed) {
        fwrite(text + *printed, 1, end - *printed, stdout);
        fflush(stdout);
        *printed = end;
    }
    free(text);
}

/* Tokenizes the prompt (through the chat template with --chat). */
static int prompt_ids(ingot_model *m, const struct run_opts *o, int32_t **ids, size_t *n)
{
    ingot_error err = {0};
    size_t bad = 0;
    if (!ingot_utf8_check(o->prompt, strlen(o->prompt), &bad))
        return cli_errorf("prompt: invalid UTF-8 at byte %zu", bad);
    if (o->system && !ingot_utf8_check(o->system, strlen(o->system), &bad))
        return cli_errorf("system prompt: invalid UTF-8 at byte %zu", bad);
    if (!o->chat)
        return ingot_tokenize(m, o->prompt, strlen(o->prompt), 1, ids, n, &err) ? cli_error(&err) : 0;
    char *text = ingot_chat_prompt(m, o->system, o->prompt, &err);
    if (!text)
        return cli_error(&err);
    int rc = ingot_tokenize(m, text, strlen(text), 0, ids, n, &err);
    free(text);
    return rc ? cli_error(&err) : 0;
}

static int generate(ingot_model *m, const struct run_opts *o, int32_t *ids, size_t n_prompt)
{
    ingot_model_info info;
    ingot_model_get_info(m, &info);
    long max_ctx = o->ctx ? o->ctx : info.max_pos;
    if (max_ctx > info.max_pos)
        return cli_errorf("--ctx %ld: beyond the model's %d positions", max_ctx, info.max_pos);
    size_t start = 0;
    if ((long)n_prompt >= max_ctx) {
        if (!o->truncate)
            return cli_errorf("prompt: %zu tokens do not fit the context of %ld (use --truncate or a larger --ctx)",
                              n_prompt, max_ctx);
        /* keep the end of the prompt, leaving room for -n tokens (at most half the context) */
        long room = o->n_predict < max_ctx / 2 ? o->n_predict : max_ctx / 2;
        size_t keep = (size_t)(max_ctx - (room > 0 ? room : 1));
        start = n_prompt - keep;
        n_prompt = keep;
        fprintf(stderr, "ingot: prompt truncated to its last %zu tokens\n", keep);
    }
    long n_gen = o->n_predict;
    if ((long)n_prompt + n_gen > max_ctx)
        n_gen = max_ctx - (long)n_prompt;
    ingot_error err = {0};
    cli_use_threads(o->threads);
    ingot_context_params cp = o->cp;
    cp.n_ctx = (int)(n_prompt + (size_t)n_gen);
    cp.n_threads = (int)o->threads;
    ingot_context *c = ingot_context_create_with(m, &cp, &err);
    ingot_sampler *s = c ? ingot_sampler_create(&o->sp, info.vocab_size, &err) : NULL;
    float *logits = malloc((size_t)info.vocab_size * sizeof *logits);
    int32_t *hist = malloc((n_prompt + (size_t)n_gen + 1) * sizeof *hist);
    if (!c || !s || !logits || !hist) {
        ingot_context_free(c);
        ingot_sampler_free(s);
        free(logits);
        free(hist);
        return err.message[0] ? cli_error(&err) : cli_errorf("out of memory");
    }
    memcpy(hist, ids + start, n_prompt * sizeof *hist);
    double t0 = cli_now();
    int rc = ingot_context_eval(c, hist, (int)n_prompt, 0, logits, 0, &err);
    double t_prompt = cli_now() - t0, t_first = 0;
    size_t n_hist = n_prompt, printed = 0;
    long made = 0;
    while (rc == 0 && made < n_gen && !cli_interrupted) {
        int32_t t = ingot_sampler_sample(s, logits, hist, (int)n_hist);
        if (made == 0)
            t_first = cli_now() - t0;
        if (is_eos(&info, t))
            break;
        hist[n_hist++] = t;
        made++;
        stream_text(m, hist + n_prompt, n_hist - n_prompt, &printed);
        if (made < n_gen)
            rc = ingot_context_eval(c, &t, 1, (int)n_hist - 1, logits, 0, &err);
    }
    double t_all = cli_now() - t0;
    putchar('\n');
    if (rc != 0)
        cli_error(&err);
    else if (cli_interrupted)
        rc = cli_errorf("interrupted");
    else
        fprintf(stderr,
                "ingot: %s: prompt %zu tokens, %.1f tok/s; time to first token %.1f ms; "
                "generated %ld tokens, %.1f tok/s\n",
                ingot_context_device(c), n_prompt, n_prompt / (t_prompt > 0 ? t_prompt : 1e-9), t_first * 1e3, made,
                made > 1 ? (made - 1) / (t_all - t_first > 0 ? t_all - t_first : 1e-9) : 0.0);
    ingot_sampler_free(s);
    ingot_context_free(c);
    free(logits);
    free(hist);
    return rc ? EXIT_FAIL : EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    int p = parse(argc, argv, &o);
    if (p != 0)
        return p > 0 ? EXIT_OK : EXIT_USAGE;
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(argv[optind], &err);
    if (!m)
        return cli_error(&err);
    cli_install_signal_handlers();
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = prompt_ids(m, &o, &ids, &n);
    if (rc == 0 && n == 0)
        rc = cli_errorf("prompt: empty after tokenization");
    if (rc == 0)
        rc = generate(m, &o, ids, n);
    free(ids);
    ingot_model_free(m);
    return rc;
}
