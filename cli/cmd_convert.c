/* cmd_convert.c - ingot convert <hf_dir> -o out.ingot */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define HELP_COL 25 /* where the option descriptions start */

static void help(void)
{
    fputs("usage: ingot convert <hf_dir> -o <out.ingot> [options]\n"
          "\n"
          "Convert a HuggingFace checkpoint (config.json, tokenizer.json, safetensors\n"
          "shards) into one checksummed .ingot artifact.\n"
          "\n"
          "  -o, --output FILE      artifact to write (required)\n"
          "      --dtype TYPE       bf16, f16 or f32 (default: the checkpoint's dtype)\n"
          "      --allow-nonfinite  accept NaN/Inf in weights\n",
          stdout);
    cli_output_help_mtime(HELP_COL);
    cli_output_help_tail(HELP_COL, "convert");
}

enum { O_DTYPE = 256, O_NONFINITE };

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"dtype", required_argument, NULL, O_DTYPE},
        {"allow-nonfinite", no_argument, NULL, O_NONFINITE}, {"mtime", required_argument, NULL, CLI_OPT_MTIME},
        {"quiet", no_argument, NULL, 'q'},          {"json", no_argument, NULL, CLI_OPT_JSON},
        {"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    ingot_convert_options o;
    ingot_convert_options_init(&o);
    cli_output out = {.cmd = "convert"};
    int c, rc;
    while ((c = getopt_long(argc, argv, "o:qhV", opts, NULL)) != -1) {
        switch (c) {
        case O_DTYPE:
            o.dtype = ingot_dtype_from_name(optarg);
            if (o.dtype != INGOT_DT_BF16 && o.dtype != INGOT_DT_F16 && o.dtype != INGOT_DT_F32)
                return cli_usage_error("convert", "--dtype: '%s' is not bf16, f16 or f32", optarg);
            break;
        case O_NONFINITE: o.allow_nonfinite = 1; break;
        default:
            if ((rc = cli_output_option(&out, c, optarg, help)) != 0)
                return rc < 0 ? EXIT_OK : rc;
        }
    }
    if ((rc = cli_output_operands(&out, argc, argv, "expected exactly one checkpoint directory")) != 0)
        return rc;
    o.mtime = out.mtime;

    cli_progress prog;
    cli_progress_init(&prog, out.quiet || out.json);
    o.progress = cli_progress_cb;
    o.progress_user = &prog;
    o.cancel = &cli_interrupted;
    cli_install_signal_handlers();

    ingot_error err = {0};
    char *summary = NULL;
    rc = ingot_convert(out.in, out.out, &o, &summary, &err);
    cli_progress_done(&prog);
    return cli_output_report(&out, rc, &err, summary);
}
