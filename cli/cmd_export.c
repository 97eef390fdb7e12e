/* cmd_export.c - ingot export <m.ingot> -o <dir|file> --format hf|awq|bnb|gguf */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define HELP_COL 25 /* where the option descriptions start */

static void help(void)
{
    fputs("usage: ingot export <in.ingot> -o <dir|file> [--format hf|awq|bnb|gguf] [options]\n"
          "\n"
          "Write an artifact back out as a checkpoint directory that other tools load\n"
          "(safetensors shards, config.json and the stored tokenizer files), or as one\n"
          "GGUF file for llama.cpp.\n"
          "\n"
          "  -o, --output PATH      directory (hf, awq, bnb) or file (gguf) to write\n"
          "                         (required)\n"
          "  -f, --format FORMAT    hf: plain HuggingFace checkpoint, tensors as stored\n"
          "                         (quantized ones dequantized to bf16, with a warning);\n"
          "                         awq: AutoAWQ GEMM checkpoint, from int4 or awq4\n"
          "                         artifacts; bnb: transformers + bitsandbytes\n"
          "                         checkpoint, from nf4 or int8 artifacts;\n"
          "                         gguf: GGUF v3 for llama.cpp, int4/awq4 as\n"
          "                         Q4_1, int8 as Q8_0, floats as stored, not from nf4\n"
          "                         (default: hf)\n"
          "      --max-shard-size N largest safetensors file in bytes, with an optional\n"
          "                         suffix kB, MB or GB (powers of 1000) or KiB, MiB,\n"
          "                         GiB (default: 5GB)\n",
          stdout);
    cli_output_help_tail(HELP_COL, "export");
}

enum { O_SHARD = 256 };

/* "5GB", "300MiB", "123456": bytes, > 0. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *s == '-' || v == 0)
        return -1;
    static const struct { const char *suf; unsigned long long mul; } units[] = {
        {"", 1},           {"B", 1},          {"kB", 1000ULL},     {"KB", 1000ULL},
        {"MB", 1000000ULL}, {"GB", 1000000000ULL}, {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20},
        {"GiB", 1ULL << 30},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].suf)) {
            if (v > UINT64_MAX / units[i].mul)
                return -1;
            *out = v * units[i].mul;
            return 0;
        }
    return -1;
}

static void on_note(void *user, const char *msg)
{
    cli_progress *p = user;
    if (p->enabled && p->last_draw > 0)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "ingot: warning: %s\n", msg);
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
        {"max-shard-size", required_argument, NULL, O_SHARD},
        {"quiet", no_argument, NULL, 'q'},        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    ingot_export_options o;
    ingot_export_options_init(&o);
    cli_output out = {.cmd = "export"};
    int c, rc;
    while ((c = getopt_long(argc, argv, "o:f:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'f': {
            int f = ingot_export_format_from_name(optarg);
            if (f < 0)
                return cli_usage_error("export", "--format: '%s' is not hf, awq, bnb or gguf", optarg);
            o.format = (ingot_export_format)f;
            break;
        }
        case O_SHARD:
            if (parse_size(optarg, &o.max_shard_bytes) != 0)
                return cli_usage_error("export", "--max-shard-size: '%s' is not a size such as 5GB",
                                       optarg);
            break;
        default:
            if ((rc = cli_output_option(&out, c, optarg, help)) != 0)
                return rc < 0 ? EXIT_OK : rc;
        }
    }
    if ((rc = cli_output_operands(&out, argc, argv, "expected exactly one artifact")) != 0)
        return rc;

    cli_progress prog;
    cli_progress_init(&prog, out.quiet || out.json);
    o.progress = cli_progress_cb;
    o.progress_user = &prog;
    o.note = on_note;
    o.note_user = &prog;
    o.cancel = &cli_interrupted;
    cli_install_signal_handlers();

    ingot_error err = {0};
    char *summary = NULL;
    rc = ingot_export(out.in, out.out, &o, &summary, &err);
    cli_progress_done(&prog);
    return cli_output_report(&out, rc, &err, summary);
}
