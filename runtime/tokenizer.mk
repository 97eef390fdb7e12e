# runtime/tokenizer: HuggingFace tokenizer.json (BPE) tokenizers (see Makefile.am)
libingot_la_SOURCES += runtime/tokenizer.h runtime/tok_internal.h runtime/tokenizer.c \
	runtime/tok_util.c runtime/tok_text.c runtime/tok_normalize.c runtime/tok_pretok.c \
	runtime/tok_bpe.c runtime/tok_decode.c

if HAVE_CHECK
check_PROGRAMS += tests/test_tokenizer
tests_test_tokenizer_SOURCES = tests/test_tokenizer.c
tests_test_tokenizer_CFLAGS = $(TEST_CFLAGS)
tests_test_tokenizer_LDADD = $(TEST_LDADD)
TESTS += tests/test_tokenizer
endif
