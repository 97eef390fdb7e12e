/* cmd_tokenize.c - ingot tokenize <model> (--text S | --file F) [--json] [--decode] */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void help(void)
{
    puts("usage: ingot tokenize <model.ingot> (--text S | --file F) [options]\n"
         "\n"
         "Print the token ids of a text with the model's tokenizer, or with --decode\n"
         "the text of a list of ids.\n"
         "\n"
         "  -t, --text S        the input text (or ids with --decode)\n"
         "  -f, --file F        read the input from F ('-' for stdin)\n"
         "      --decode        input is ids (space/comma separated or a JSON array)\n"
         "      --add-special   apply the tokenizer's post-processor (e.g. BOS)\n"
         "      --json          print {\"ids\": [...]} (or {\"text\": ...} with --decode)\n"
         "  -h, --help          this help\n"
         "\n"
         "See ingot-tokenize(1).");
}

static int parse_ids(const char *s, int32_t **ids, size_t *n)
{
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof **ids);
    while (*ids && *s) {
        /* skip separators and JSON syntax: accepts "1 2", "[1, 2]" and {"ids": [1, 2]} */
        while (*s && !isdigit((unsigned char)*s) && *s != '-')
            s++;
        if (!*s)
            break;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX)
            return -1;
        if (*n == cap)
            *ids = realloc(*ids, (cap *= 2) * sizeof **ids);
        if (!*ids)
            return -1;
        (*ids)[(*n)++] = (int32_t)v;
        s = end;
    }
    return *ids ? 0 : -1;
}

static int decode(ingot_model *m, const char *input, bool json)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (parse_ids(input, &ids, &n) != 0) {
        free(ids);
        return cli_errorf("--decode: input is not a list of non-negative token ids");
    }
    ingot_error err = {0};
    char *text = NULL;
    size_t len = 0;
    int rc = ingot_detokenize(m, ids, n, 0, &text, &len, &err);
    free(ids);
    if (rc != 0)
        return cli_error(&err);
    if (json) {
        json_t *j = json_pack("{s:s%}", "text", text, len);
        char *s = json_dumps(j, JSON_ENSURE_ASCII);
        puts(s);
        free(s);
        json_decref(j);
    } else {
        fwrite(text, 1, len, stdout);
        putchar('\n');
    }
    free(text);
    return EXIT_OK;
}

static int encode(ingot_model *m, const char *input, size_t len, bool add_special, bool json)
{
    ingot_error err = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    if (ingot_tokenize(m, input, len, add_special, &ids, &n, &err) != 0)
        return cli_error(&err);
    fputs(json ? "{\"ids\": [" : "", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? (json ? ", " : " ") : "", (int)ids[i]);
    puts(json ? "]}" : "");
    free(ids);
    return EXIT_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"text", required_argument, NULL, 't'}, {"file", required_argument, NULL, 'f'},
        {"decode", no_argument, NULL, 'd'},     {"add-special", no_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},       {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},    {NULL, 0, NULL, 0},
    };
    const char *text = NULL, *file = NULL;
    bool dec = false, add_special = false, json = false;
    int c;
    while ((c = getopt_long(argc, argv, "t:f:hV", opts, NULL)) != -1) {
        switch (c) {
        case 't': text = optarg; break;
        case 'f': file = optarg; break;
        case 'd': dec = true; break;
        case 'a': add_special = true; break;
        case 'j': json = true; break;
        default: return cli_standard_option("tokenize", c, help) < 0 ? EXIT_OK : EXIT_USAGE;
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("tokenize", "expected exactly one model");
    if (!text == !file)
        return cli_usage_error("tokenize", "give exactly one of --text and --file");
    char *buf = NULL;
    size_t len = text ? strlen(text) : 0;
    if (file && cli_read_input(file, &buf, &len) != 0)
        return EXIT_FAIL;
    ingot_error err = {0};
    ingot_model *m = ingot_model_open(argv[optind], &err);
    int rc;
    if (!m)
        rc = cli_error(&err);
    else if (dec)
        rc = decode(m, text ? text : buf, json);
    else
        rc = encode(m, text ? text : buf, len, add_special, json);
    ingot_model_free(m);
    free(buf);
    return rc;
}
