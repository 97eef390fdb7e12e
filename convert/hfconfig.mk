# hfconfig fragment (see Makefile.am): the normalized model config, HF
# config.json parsing, the canonical tensor list and HF file validation.
libingot_la_SOURCES += runtime/model_config.h runtime/model_config.c \
	convert/hf_config.h convert/hf_config.c \
	convert/tensor_map.h convert/tensor_map.c \
	convert/hf_files.h convert/hf_files.c

if HAVE_CHECK
check_PROGRAMS += tests/test_hf_config
tests_test_hf_config_SOURCES = tests/test_hf_config.c
tests_test_hf_config_CFLAGS = $(TEST_CFLAGS)
tests_test_hf_config_LDADD = $(TEST_LDADD)
TESTS += tests/test_hf_config
endif
EXTRA_DIST += tests/data/configs
