/* cmd_quantize.c - ingot quantize <in.ingot|hf_dir> -o out.ingot --type T */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_KEEP 256
#define HELP_COL 26 /* where the option descriptions start */

static void help(void)
{
    fputs("usage: ingot quantize <in.ingot|hf_dir> -o <out.ingot> --type TYPE [options]\n"
          "\n"
          "Quantize the linear layers of an artifact (a HuggingFace checkpoint directory\n"
          "is converted first).\n"
          "\n"
          "  -o, --output FILE       artifact to write (required)\n"
          "      --type TYPE         int8 (absmax per output channel), nf4 (bitsandbytes,\n"
          "                          blocks of 64), int4 (asymmetric, per group) or awq4\n"
          "                          (int4 after AWQ; needs --calib)\n"
          "      --group-size N      int4/awq4: inputs per scale, a multiple of 32 (default 128)\n"
          "      --double-quant      nf4: also quantize the block maxima (bitsandbytes)\n"
          "      --mse-scales        int4/awq4: each group's scale and zero point by a search\n"
          "                          for the least squared error, not from its min and max\n"
          "      --target-bpw X      pick each weight matrix's format (int4/int5/int6 at\n"
          "                          groups of 128/64/32, int8 or as stored; embeddings and\n"
          "                          head too) for the least KL divergence on --calib at X\n"
          "                          bits per weight of the whole model; --type int4 and\n"
          "                          --mse-scales (weighted by the calibration inputs) implied\n"
          "      --target-measure M  exact (the KL divergence of every format of every tensor)\n"
          "                          or proxy (of one format per tensor, the others scaled by\n"
          "                          their activation-weighted error); default: exact below\n"
          "                          50 M parameters\n"
          "      --calib PATH        awq4, --target-bpw: calibration text: a text file, a\n"
          "                          .jsonl file of {\"text\": ...} lines, or a directory\n"
          "      --calib-samples N   calibration sequences (default awq4 128, target 8)\n"
          "      --calib-len N       tokens per sequence (default awq4 512, target 256)\n"
          "      --loss-samples N    awq4: sequences the scale search scores (default 16)\n"
          "      --keep PATTERN      leave tensors matching the glob as they are, e.g.\n"
          "                          'blk.0.*' (repeatable)\n"
          "      --embed-type TYPE   token_embd.weight: bf16, f16, f32, int8, nf4, int4, int5\n"
          "                          or int6\n"
          "                          (default: as stored)\n"
          "      --head-type TYPE    output.weight, likewise; with tied embeddings, stores a\n"
          "                          separate output.weight\n",
          stdout);
    cli_output_help_mtime(HELP_COL);
    cli_help_row(HELP_COL, "  -t, --threads N", "CPU threads (default: all)");
    cli_output_help_tail(HELP_COL, "quantize");
}

struct q_args {
    ingot_quantize_options o;
    cli_output out;
    const char *keep[MAX_KEEP + 1];
    int n_keep;
    bool have_type, have_group, have_calib_sizes, have_target;
};

enum { O_TYPE = 256, O_GROUP, O_DQ, O_CALIB, O_CSAMPLES, O_CLEN, O_LOSS, O_KEEP, O_EMBED, O_HEAD, O_MSE, O_TARGET, O_MEASURE };

static int weight_type_arg(const char *opt, const char *s, int *out)
{
    int t = ingot_dtype_from_name(s);
    if (t != INGOT_DT_BF16 && t != INGOT_DT_F16 && t != INGOT_DT_F32 && t != INGOT_DT_Q8 &&
        t != INGOT_DT_NF4 && t != INGOT_DT_Q4 && t != INGOT_DT_Q5 && t != INGOT_DT_Q6)
        return cli_usage_error("quantize", "%s: '%s' is not bf16, f16, f32, int8, nf4, int4, int5 or int6", opt, s);
    *out = t;
    return 0;
}

/* The integer options. */
static int int_option(int c, struct q_args *a)
{
    long v;
    switch (c) {
    case O_GROUP:
        if (cli_int_arg("quantize", "--group-size", optarg, 32, 65536, &v) != 0)
            return EXIT_USAGE;
        if (v % 32)
            return cli_usage_error("quantize", "--group-size: %ld is not a multiple of 32", v);
        a->o.group_size = (int)v;
        a->have_group = true;
        return 0;
    case 't':
        if (cli_int_arg("quantize", "--threads", optarg, 1, 1024, &v) != 0)
            return EXIT_USAGE;
        a->o.n_threads = (int)v;
        return 0;
    default: { /* the calibration sizes */
        const char *name = c == O_CSAMPLES ? "--calib-samples" : c == O_CLEN ? "--calib-len" : "--loss-samples";
        if (cli_int_arg("quantize", name, optarg, c == O_CLEN ? 2 : 1, 1 << 24, &v) != 0)
            return EXIT_USAGE;
        *(c == O_CSAMPLES ? &a->o.calib_samples : c == O_CLEN ? &a->o.calib_len : &a->o.loss_samples) = (int)v;
        a->have_calib_sizes = true;
        return 0;
    }
    }
}

/* One option; @return 0, EXIT_USAGE, or -1 for --help/--version (already handled). */
static int take_option(int c, struct q_args *a)
{
    switch (c) {
    case O_TYPE: {
        int t = ingot_quant_type_from_name(optarg);
        if (t < 0)
            return cli_usage_error("quantize", "--type: '%s' is not int8, nf4, int4 or awq4", optarg);
        a->o.type = (ingot_quant_type)t;
        a->have_type = true;
        return 0;
    }
    case O_GROUP: case 't': case O_CSAMPLES: case O_CLEN: case O_LOSS: return int_option(c, a);
    case O_DQ: a->o.double_quant = 1; return 0;
    case O_MSE: a->o.mse_scales = 1; return 0;
    case O_CALIB: a->o.calib_path = optarg; return 0;
    case O_TARGET: {
        char *end;
        double v = strtod(optarg, &end);
        if (end == optarg || *end || !(v > 0 && v <= 32))
            return cli_usage_error("quantize", "--target-bpw: '%s' is not a number of bits in (0, 32]", optarg);
        a->o.target_bpw = v;
        a->have_target = true;
        return 0;
    }
    case O_MEASURE:
        if (!strcmp(optarg, "exact") || !strcmp(optarg, "proxy")) {
            a->o.target_measure = optarg[0] == 'e' ? INGOT_MEASURE_EXACT : INGOT_MEASURE_PROXY;
            return 0;
        }
        return cli_usage_error("quantize", "--target-measure: '%s' is not exact or proxy", optarg);
    case O_KEEP:
        if (a->n_keep == MAX_KEEP)
            return cli_usage_error("quantize", "--keep: at most %d patterns", MAX_KEEP);
        a->keep[a->n_keep++] = optarg;
        return 0;
    case O_EMBED: return weight_type_arg("--embed-type", optarg, &a->o.embed_type) ? EXIT_USAGE : 0;
    case O_HEAD: return weight_type_arg("--head-type", optarg, &a->o.head_type) ? EXIT_USAGE : 0;
    default: return cli_output_option(&a->out, c, optarg, help);
    }
}

static bool uses(const struct q_args *a, ingot_quant_type qt, ingot_dtype dt)
{
    return a->o.type == qt || (qt == INGOT_QUANT_INT4 && a->o.type == INGOT_QUANT_AWQ4) ||
           a->o.embed_type == (int)dt || a->o.head_type == (int)dt;
}

/* Options that only some types use are usage errors elsewhere: they would be silently ignored. */
static int check_combination(const struct q_args *a)
{
    bool awq = a->o.type == INGOT_QUANT_AWQ4, target = a->have_target;
    if (target && a->have_type && a->o.type != INGOT_QUANT_INT4)
        return cli_usage_error("quantize", "--target-bpw chooses among int4 and int8 formats: "
                                           "use it with --type int4 or without --type");
    if (target && !a->o.calib_path)
        return cli_usage_error("quantize", "--target-bpw needs --calib FILE");
    if (a->o.target_measure && !target)
        return cli_usage_error("quantize", "--target-measure is only used by --target-bpw");
    if (target && a->have_group)
        return cli_usage_error("quantize", "--target-bpw picks each tensor's group size: drop --group-size");
    if (!a->have_type && !target)
        return cli_usage_error("quantize", "missing --type (int8, nf4, int4 or awq4)");
    if (awq && !a->o.calib_path)
        return cli_usage_error("quantize", "--type awq4 needs --calib FILE");
    if (!awq && !target && (a->o.calib_path || a->have_calib_sizes))
        return cli_usage_error("quantize", "--calib and its sizes are only used by --type awq4 and --target-bpw");
    if (a->have_group && !uses(a, INGOT_QUANT_INT4, INGOT_DT_Q4))
        return cli_usage_error("quantize", "--group-size is only used by int4 and awq4");
    if (a->o.double_quant && !uses(a, INGOT_QUANT_NF4, INGOT_DT_NF4))
        return cli_usage_error("quantize", "--double-quant is only used by nf4");
    if (a->o.mse_scales && !uses(a, INGOT_QUANT_INT4, INGOT_DT_Q4))
        return cli_usage_error("quantize", "--mse-scales is only used by int4 and awq4");
    return 0;
}

static int parse(int argc, char **argv, struct q_args *a)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},     {"type", required_argument, NULL, O_TYPE},
        {"group-size", required_argument, NULL, O_GROUP}, {"double-quant", no_argument, NULL, O_DQ},
        {"mse-scales", no_argument, NULL, O_MSE},     {"target-bpw", required_argument, NULL, O_TARGET},
        {"target-measure", required_argument, NULL, O_MEASURE},
        {"calib", required_argument, NULL, O_CALIB},  {"calib-samples", required_argument, NULL, O_CSAMPLES},
        {"calib-len", required_argument, NULL, O_CLEN}, {"loss-samples", required_argument, NULL, O_LOSS},
        {"keep", required_argument, NULL, O_KEEP},    {"embed-type", required_argument, NULL, O_EMBED},
        {"head-type", required_argument, NULL, O_HEAD}, {"mtime", required_argument, NULL, CLI_OPT_MTIME},
        {"threads", required_argument, NULL, 't'},    {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, CLI_OPT_JSON},    {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},          {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    ingot_quantize_options_init(&a->o);
    a->out.cmd = "quantize";
    int c;
    while ((c = getopt_long(argc, argv, "o:t:qhV", opts, NULL)) != -1) {
        int rc = take_option(c, a);
        if (rc != 0)
            return rc;
    }
    int rc = cli_output_operands(&a->out, argc, argv,
                                 "expected exactly one input (an .ingot file or a checkpoint directory)");
    if (rc != 0)
        return rc;
    a->o.mtime = a->out.mtime;
    a->keep[a->n_keep] = NULL;
    a->o.keep = a->keep;
    if (a->have_target && !a->have_type)
        a->o.type = INGOT_QUANT_INT4;
    return check_combination(a);
}

/* The bar's ETA is per stage: restart its clock when the stage changes
 * ("layer L/N" is one stage, the AWQ work of all layers). */
struct stage_bar {
    cli_progress bar;
    const char *stage;
};

static void on_progress(void *user, const char *stage, uint64_t done, uint64_t total)
{
    struct stage_bar *s = user;
    bool layers = !strncmp(stage, "layer ", 6);
    if (!s->stage || (layers ? strncmp(s->stage, "layer ", 6) : strcmp(s->stage, stage)) != 0) {
        s->bar.start = cli_now();
    }
    s->stage = layers ? "layer " : stage;
    cli_progress_cb(&s->bar, stage, done, total);
}

static void on_note(void *user, const char *msg)
{
    struct stage_bar *s = user;
    if (s->bar.enabled && s->bar.last_draw > 0)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "ingot: note: %s\n", msg);
}

int cmd_quantize(int argc, char **argv)
{
    struct q_args a;
    int rc = parse(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    struct stage_bar sb = {0};
    cli_progress_init(&sb.bar, a.out.quiet || a.out.json);
    a.o.progress = on_progress;
    a.o.progress_user = &sb;
    a.o.note = on_note;
    a.o.note_user = &sb;
    a.o.cancel = &cli_interrupted;
    cli_install_signal_handlers();

    ingot_error err = {0};
    char *summary = NULL;
    rc = ingot_quantize(a.out.in, a.out.out, &a.o, &summary, &err);
    cli_progress_done(&sb.bar);
    return cli_output_report(&a.out, rc, &err, summary);
}
