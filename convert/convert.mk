# convert/: the conversion driver (plan + streaming writer)
libingot_la_SOURCES += convert/plan.h convert/plan.c convert/convert.c

if HAVE_CHECK
check_PROGRAMS += tests/test_convert
tests_test_convert_SOURCES = tests/test_convert.c
tests_test_convert_CFLAGS = $(TEST_CFLAGS)
tests_test_convert_LDADD = $(TEST_LDADD)
TESTS += tests/test_convert
endif
