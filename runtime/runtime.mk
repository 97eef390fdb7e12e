# runtime/: model loading, forward pass, sampling
libingot_la_SOURCES += runtime/model.h runtime/model.c runtime/forward.c runtime/rope.h runtime/forward.h \
	runtime/rope.c runtime/sampler.c
libingot_la_SOURCES += runtime/machine.c

if HAVE_CHECK
check_PROGRAMS += tests/test_runtime
tests_test_runtime_SOURCES = tests/test_runtime.c
tests_test_runtime_CFLAGS = $(TEST_CFLAGS)
tests_test_runtime_LDADD = $(TEST_LDADD)
TESTS += tests/test_runtime
endif
