/* cli_util.c - error printing, progress bar and signals for the subcommands. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli/cli.h"

volatile int cli_interrupted;

int cli_error(const ingot_error *err)
{
    fprintf(stderr, "ingot: %s\n", err->message[0] ? err->message : "unknown error");
    return EXIT_FAIL;
}

int cli_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ingot: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ingot %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'ingot %s --help'.\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_version(void)
{
    printf("ingot %s\n", ingot_version());
    return EXIT_OK;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *p, bool quiet)
{
    memset(p, 0, sizeof *p);
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->start = cli_now();
}

void cli_progress_cb(void *user, const char *stage, uint64_t done, uint64_t total)
{
    cli_progress *p = user;
    if (!p->enabled)
        return;
    double t = cli_now();
    if (done < total && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    double frac = total ? (double)done / (double)total : 1.0;
    int width = 30, fill = (int)(frac * width);
    double el = t - p->start;
    double eta = frac > 0.01 ? el * (1 - frac) / frac : 0;
    fprintf(stderr, "\r%-10s [%.*s%*s] %3d%%  %5.1fs  ETA %4.0fs ", stage, fill,
            "##############################", width - fill, "", (int)(frac * 100 + 0.5), el,
            eta);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p)
{
    if (p->enabled && p->last_draw > 0)
        fputs("\r\033[K", stderr);
}

static void on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* past a file-size limit, write() must fail with EFBIG so that the
       temporary output is cleaned up, instead of the process dying */
    signal(SIGXFSZ, SIG_IGN);
}

/* write(2) of a NUL-terminated string, from a signal handler. */
static void write_str(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* An input shrank under its mapping: say which, clean up, exit 1. */
static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    const char *path = ingot_mapped_file_at(si->si_addr);
    write_str("ingot: ");
    write_str(path ? path : "an input file");
    write_str(": changed while being read (truncated by another process?)\n");
    ingot_remove_temporaries();
    _exit(EXIT_FAIL);
}

void cli_install_fault_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

bool cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_source_date_epoch(int64_t *out)
{
    *out = 0;
    const char *s = getenv("SOURCE_DATE_EPOCH");
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

void cli_help_row(int col, const char *opt, const char *what)
{
    printf("%-*s", col, opt);
    for (const char *nl; (nl = strchr(what, '\n')); what = nl + 1)
        printf("%.*s\n%*s", (int)(nl - what), what, col, "");
    printf("%s\n", what);
}

void cli_output_help_mtime(int col)
{
    cli_help_row(col, "      --mtime SECONDS",
                 "time stamp of the archive members (default:\n$SOURCE_DATE_EPOCH, else 0)");
}

void cli_output_help_tail(int col, const char *cmd)
{
    cli_help_row(col, "  -q, --quiet", "no progress bar");
    cli_help_row(col, "      --json", "print a JSON summary on stdout");
    cli_help_row(col, "  -h, --help", "this help");
    cli_help_row(col, "  -V, --version", "print the version");
    printf("\n"
           "The output is written to a temporary file and renamed into place: an error\n"
           "or an interrupt leaves no partial file.  See ingot-%s(1).\n", cmd);
}

int cli_standard_option(const char *cmd, int c, void (*help)(void))
{
    switch (c) {
    case 'h': help(); return -1;
    case 'V': cli_version(); return -1;
    default: return cli_usage_error(cmd, "invalid option");
    }
}

int cli_output_option(cli_output *o, int c, const char *arg, void (*help)(void))
{
    switch (c) {
    case 'o': o->out = arg; return 0;
    case CLI_OPT_MTIME: {
        char *end;
        long long v = strtoll(arg, &end, 10);
        if (*arg == '\0' || *end || v < 0)
            return cli_usage_error(o->cmd, "--mtime: '%s' is not a non-negative integer", arg);
        o->mtime = v;
        o->have_mtime = true;
        return 0;
    }
    case 'q': o->quiet = true; return 0;
    case CLI_OPT_JSON: o->json = true; return 0;
    default: return cli_standard_option(o->cmd, c, help);
    }
}

int cli_output_operands(cli_output *o, int argc, char **argv, const char *not_one)
{
    if (optind != argc - 1)
        return cli_usage_error(o->cmd, "%s", not_one);
    if (!o->out)
        return cli_usage_error(o->cmd, "missing -o <out.ingot>");
    o->in = argv[optind];
    if (!o->have_mtime && cli_source_date_epoch(&o->mtime) != 0)
        return cli_usage_error(o->cmd, "SOURCE_DATE_EPOCH is not a non-negative integer");
    return 0;
}

int cli_output_report(const cli_output *o, int rc, const ingot_error *err, char *summary)
{
    if (rc != 0)
        return cli_error(err);
    if (o->json)
        printf("%s\n", summary);
    else if (!o->quiet)
        fprintf(stderr, "ingot: wrote %s\n", o->out);
    free(summary);
    return EXIT_OK;
}

int cli_read_input(const char *path, char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        cli_errorf("%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap + 1);
    size_t r;
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *q = realloc(p, (cap *= 2) + 1);
            if (!q)
                free(p);
            p = q;
        }
    }
    int bad = p ? ferror(f) : 0;
    if (f != stdin)
        fclose(f);
    if (!p || bad) {
        free(p);
        cli_errorf("%s: %s", path, p ? "read error" : "out of memory");
        return -1;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

int cli_int_arg(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        cli_usage_error(cmd, "%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_float_arg(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) {
        cli_usage_error(cmd, "%s: '%s' is not a number in %g..%g", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

void cli_use_threads(long n)
{
#ifdef _OPENMP
    if (n > 0)
        omp_set_num_threads((int)n);
#else
    (void)n;
#endif
}

int cli_device_arg(const char *cmd, const char *s, ingot_context_params *p)
{
    long idx = 0;
    if (!strcmp(s, "auto"))
        p->device = INGOT_DEVICE_AUTO;
    else if (!strcmp(s, "cpu"))
        p->device = INGOT_DEVICE_CPU;
    else if (!strcmp(s, "cuda"))
        p->device = INGOT_DEVICE_CUDA;
    else if (!strncmp(s, "cuda:", 5) && s[5]) {
        if (cli_int_arg(cmd, "--device cuda:N", s + 5, 0, 1023, &idx) != 0)
            return -1;
        p->device = INGOT_DEVICE_CUDA;
    } else {
        cli_usage_error(cmd, "--device %s: expected auto, cpu, cuda or cuda:N", s);
        return -1;
    }
    p->device_index = (int)idx;
    return 0;
}

int cli_kv_type_arg(const char *cmd, const char *s, ingot_context_params *p)
{
    if (!strcmp(s, "f32"))
        p->kv_type = INGOT_DT_F32;
    else if (!strcmp(s, "f16"))
        p->kv_type = INGOT_DT_F16;
    else if (!strcmp(s, "bf16"))
        p->kv_type = INGOT_DT_BF16;
    else {
        cli_usage_error(cmd, "--kv-type %s: expected f32, f16 or bf16", s);
        return -1;
    }
    return 0;
}
