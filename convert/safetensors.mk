# convert fragment (see Makefile.am): safetensors reading (single file and
# sharded checkpoints) and a small single-file writer.
libingot_la_SOURCES += convert/st_reader.h convert/st_reader.c \
	convert/st_set.h convert/st_set.c \
	convert/st_writer.h convert/st_writer.c

if HAVE_CHECK
check_PROGRAMS += tests/test_safetensors
tests_test_safetensors_SOURCES = tests/test_safetensors.c
tests_test_safetensors_CFLAGS = $(TEST_CFLAGS)
tests_test_safetensors_LDADD = $(TEST_LDADD)
TESTS += tests/test_safetensors
endif
