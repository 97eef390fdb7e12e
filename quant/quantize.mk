# quant/quantize.mk: ingot quantize -- int8, nf4, int4 (round to nearest)
# and awq4 (AWQ with calibration) from an artifact or a checkpoint.
libingot_la_SOURCES += quant/quantize.h quant/quantize.c quant/awq.h quant/awq.c quant/calib.c
ingot_SOURCES += cli/cmd_quantize.c

if HAVE_CHECK
check_PROGRAMS += tests/test_quantize
tests_test_quantize_SOURCES = tests/test_quantize.c
tests_test_quantize_CFLAGS = $(TEST_CFLAGS)
tests_test_quantize_LDADD = $(TEST_LDADD)
TESTS += tests/test_quantize
endif

check_SCRIPTS += tests/cli_quantize.sh
TESTS += tests/cli_quantize.sh
EXTRA_DIST += tests/cli_quantize.sh
