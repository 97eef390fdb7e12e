# util/: errors, files, atomic output, hashing, float formats
libingot_la_SOURCES += util/util.h util/error.c util/files.c util/outfile.c \
	util/hash.c util/halfs.c util/dtype.c

if HAVE_CHECK
check_PROGRAMS += tests/test_util
tests_test_util_SOURCES = tests/test_util.c
tests_test_util_CFLAGS = $(TEST_CFLAGS)
tests_test_util_LDADD = $(TEST_LDADD)
TESTS += tests/test_util
endif
