# runtime/artifact: the .ingot container (pax tar) - writer, reader, verify
libingot_la_SOURCES += runtime/artifact.h runtime/artifact_reader.c \
	runtime/artifact_writer.c runtime/artifact_verify.c

if HAVE_CHECK
check_PROGRAMS += tests/test_artifact
tests_test_artifact_SOURCES = tests/test_artifact.c
tests_test_artifact_CFLAGS = $(TEST_CFLAGS)
tests_test_artifact_LDADD = $(TEST_LDADD)
TESTS += tests/test_artifact
endif
