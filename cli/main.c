/*
 * main.c - the ingot command: git-style subcommands, one file each.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_command commands[] = {
    {"convert", "convert a HuggingFace checkpoint into an .ingot artifact", cmd_convert},
    {"inspect", "describe an .ingot artifact or a HuggingFace checkpoint", cmd_inspect},
    {"tokenize", "print the token ids of a text (or the text of ids)", cmd_tokenize},
    {"run", "generate text from a prompt", cmd_run},
    {"eval", "perplexity, KL divergence and activation ranges on a text", cmd_eval},
    {"bench", "prompt-processing and generation speed", cmd_bench},
    {"quantize", "quantize an artifact: int8, nf4, int4 or awq4", cmd_quantize},
    {"export", "write an artifact back out as a HuggingFace or AutoAWQ checkpoint", cmd_export},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ingot [--version] [--help] <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'ingot <command> --help' for a command's options; see ingot(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V"))
        return cli_version();
    cli_install_fault_handler();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ingot: '%s' is not an ingot command; see 'ingot --help'\n", name);
    return EXIT_USAGE;
}
