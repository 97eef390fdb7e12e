/* cli.h - shared pieces of the ingot command's subcommands. */
#ifndef INGOT_CLI_H
#define INGOT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <stddef.h>

#include "ingot.h"

/* Exit statuses of every subcommand. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* Subcommands (one file each). */
int cmd_convert(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_export(int argc, char **argv);

/** Prints "ingot: <message>" on stderr.  @return EXIT_FAIL. */
int cli_error(const ingot_error *err);
/** Prints "ingot: <printf message>" on stderr.  @return EXIT_FAIL. */
int cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Prints "ingot <cmd>: <message>" and a hint to --help.  @return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Prints the version line for a subcommand.  @return EXIT_OK. */
int cli_version(void);

/** Progress bar on stderr, drawn only when stderr is a terminal and not quiet. */
typedef struct cli_progress {
    bool enabled;
    double start;
    double last_draw;
    const char *label;
} cli_progress;
void cli_progress_init(cli_progress *p, bool quiet);
void cli_progress_cb(void *user, const char *stage, uint64_t done, uint64_t total);
void cli_progress_done(cli_progress *p);

/** Set by SIGINT/SIGTERM; library calls poll it through their cancel option. */
extern volatile int cli_interrupted;
void cli_install_signal_handlers(void);
/* SIGBUS (an input truncated under its mapping): a one-line error naming it, exit 1. */
void cli_install_fault_handler(void);

/** Makes n (> 0) the process's OpenMP thread count, for the command's own loops. */
void cli_use_threads(long n);

/** Monotonic seconds. */
double cli_now(void);

/** @return true if path is a directory. */
bool cli_is_dir(const char *path);

/**
 * Reads a whole text file ('-' = stdin) into a malloc'ed NUL-terminated
 * buffer; prints the error itself.  @return 0 or -1.
 */
int cli_read_input(const char *path, char **buf, size_t *len);

/**
 * Parses --device: auto, cpu, cuda or cuda:N into p->device and
 * p->device_index; prints a usage error.  @return 0 or -1.
 */
int cli_device_arg(const char *cmd, const char *s, ingot_context_params *p);
/** Parses --kv-type: f32, f16 or bf16 into p->kv_type; prints a usage error.  @return 0 or -1. */
int cli_kv_type_arg(const char *cmd, const char *s, ingot_context_params *p);
/** The help lines of --device and --kv-type. */
#define CLI_DEVICE_HELP                                                                             \
    "      --device D         auto, cpu, cuda or cuda:N (default auto: the CPU for now)\n" \
    "      --kv-type T        KV cache elements: f32 (default), f16 or bf16 (GPU only)\n"

/** Parses an integer option in [lo, hi]; prints a usage error.  @return 0 or -1. */
int cli_int_arg(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
/** Parses a float option in [lo, hi]; prints a usage error.  @return 0 or -1. */
int cli_float_arg(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);

/**
 * The end of every subcommand's option switch: -h (calls help), -V (prints
 * the version) or an invalid option (prints the usage error).
 * @return -1 after -h or -V (the command is done: exit 0), else EXIT_USAGE.
 */
int cli_standard_option(const char *cmd, int c, void (*help)(void));

/** Parses SOURCE_DATE_EPOCH (0 when unset).  @return -1 when it is set but invalid. */
int cli_source_date_epoch(int64_t *out);

/**
 * Prints one row of an option list: opt (with its leading spaces), padded
 * to column col, then what; a newline in what starts a line indented to col.
 */
void cli_help_row(int col, const char *opt, const char *what);

/* ---- the options of the commands that write an artifact (convert, quantize) ---- */

/** getopt_long values of --mtime and --json; -o, -q, -h and -V use their letters. */
enum { CLI_OPT_MTIME = 0x1000, CLI_OPT_JSON };

/** What the output options and the one operand say. */
typedef struct cli_output {
    const char *cmd; /* the subcommand, for usage errors */
    const char *in;  /* the one operand */
    const char *out; /* -o */
    int64_t mtime;   /* --mtime, else $SOURCE_DATE_EPOCH, else 0 */
    bool have_mtime, quiet, json;
} cli_output;

/** Prints the help row of --mtime, the description column at col. */
void cli_output_help_mtime(int col);
/**
 * Prints the help rows of -q, --json, -h and -V and the paragraph on atomic
 * output, which ends in a pointer to the man page ingot-<cmd>(1).
 */
void cli_output_help_tail(int col, const char *cmd);

/**
 * Takes option c (from getopt_long, argument arg) when it is -o, --mtime, -q,
 * --json, -h (calls help) or -V; anything else is an invalid option.
 * @return 0 when taken, -1 after --help or --version (the command is done:
 *         exit 0), or EXIT_USAGE (the usage error is printed).
 */
int cli_output_option(cli_output *o, int c, const char *arg, void (*help)(void));

/**
 * After the options: takes the one operand (else the usage error
 * not_one), requires -o and, without --mtime, reads $SOURCE_DATE_EPOCH.
 * @return 0 or EXIT_USAGE (the usage error is printed).
 */
int cli_output_operands(cli_output *o, int argc, char **argv, const char *not_one);

/**
 * Ends the command after the library call that wrote o->out returned rc:
 * prints err on failure; else prints summary on stdout (--json) or
 * "ingot: wrote <out>" on stderr (unless -q), and frees summary.
 * @return the exit status.
 */
int cli_output_report(const cli_output *o, int rc, const ingot_error *err, char *summary);

#endif
