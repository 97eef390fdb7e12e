/* cmd_convert.c - ingot convert <hf_dir> -o out.ingot */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void help(void)
{
    puts("usage: ingot convert <hf_dir> -o <out.ingot> [options]\n"
         "\n"
         "Convert a HuggingFace checkpoint (config.json, tokenizer.json, safetensors\n"
         "shards) into one checksummed .ingot artifact.\n"
         "\n"
         "  -o, --output FILE      artifact to write (required)\n"
         "      --dtype TYPE       bf16, f16 or f32 (default: the checkpoint's dtype)\n"
         "      --allow-nonfinite  accept NaN/Inf in weights\n"
         "      --mtime SECONDS    time stamp of the archive members (default:\n"
         "                         $SOURCE_DATE_EPOCH, else 0)\n"
         "  -q, --quiet            no progress bar\n"
         "      --json             print a JSON summary on stdout\n"
         "  -h, --help             this help\n"
         "  -V, --version          print the version\n"
         "\n"
         "The output is written to a temporary file and renamed into place: an error\n"
         "or an interrupt leaves no partial file.  See ingot-convert(1).");
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"dtype", required_argument, NULL, 'd'},
        {"allow-nonfinite", no_argument, NULL, 'a'}, {"mtime", required_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},          {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    ingot_convert_options o;
    ingot_convert_options_init(&o);
    const char *out = NULL;
    bool quiet = false, json = false, have_mtime = false;
    int c;
    while ((c = getopt_long(argc, argv, "o:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'd':
            o.dtype = ingot_dtype_from_name(optarg);
            if (o.dtype != INGOT_DT_BF16 && o.dtype != INGOT_DT_F16 && o.dtype != INGOT_DT_F32)
                return cli_usage_error("convert", "--dtype: '%s' is not bf16, f16 or f32", optarg);
            break;
        case 'a': o.allow_nonfinite = 1; break;
        case 'm': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 0)
                return cli_usage_error("convert", "--mtime: '%s' is not a non-negative integer", optarg);
            o.mtime = v;
            have_mtime = true;
            break;
        }
        case 'q': quiet = true; break;
        case 'j': json = true; break;
        case 'h': help(); return EXIT_OK;
        case 'V': return cli_version();
        default: return cli_usage_error("convert", "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("convert", "expected exactly one checkpoint directory");
    if (!out)
        return cli_usage_error("convert", "missing -o <out.ingot>");
    if (!have_mtime && cli_source_date_epoch(&o.mtime) != 0)
        return cli_usage_error("convert", "SOURCE_DATE_EPOCH is not a non-negative integer");

    cli_progress prog;
    cli_progress_init(&prog, quiet || json);
    o.progress = cli_progress_cb;
    o.progress_user = &prog;
    o.cancel = &cli_interrupted;
    cli_install_signal_handlers();

    ingot_error err = {0};
    char *summary = NULL;
    int rc = ingot_convert(argv[optind], out, &o, &summary, &err);
    cli_progress_done(&prog);
    if (rc != 0)
        return cli_error(&err);
    if (json)
        printf("%s\n", summary);
    else if (!quiet)
        fprintf(stderr, "ingot: wrote %s\n", out);
    free(summary);
    return EXIT_OK;
}
