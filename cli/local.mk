# cli/: the ingot command, one file per subcommand
bin_PROGRAMS += ingot
ingot_SOURCES = cli/cli.h cli/main.c cli/cli_util.c cli/cmd_convert.c cli/cmd_inspect.c \
	cli/cmd_tokenize.c cli/cmd_run.c cli/cmd_eval.c cli/cmd_bench.c cli/cmd_quantize.c cli/cmd_export.c
ingot_LDADD = libingot.la $(JANSSON_LIBS)
ingot_LDFLAGS = $(OPENMP_CFLAGS)
