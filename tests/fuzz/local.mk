# tests/fuzz/: one fuzz harness per parser of untrusted input.  With
# --enable-fuzzing (CC=clang) each links libFuzzer and `make fuzz` runs them;
# otherwise each links replay_main.c.  Either way `make check` replays every
# corpus in tests/fuzz/corpus/<name>/ (tests/fuzz/replay.sh).
FUZZ_NAMES = safetensors hf_config tokenizer chat_template artifact calib
FUZZ_PROGS = tests/fuzz/fuzz_safetensors tests/fuzz/fuzz_hf_config tests/fuzz/fuzz_tokenizer \
	tests/fuzz/fuzz_chat_template tests/fuzz/fuzz_artifact tests/fuzz/fuzz_calib
check_PROGRAMS += $(FUZZ_PROGS)
TESTS += tests/fuzz/replay.sh
check_SCRIPTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/replay.sh tests/fuzz/corpus tests/fuzz/make_seeds.sh

FUZZ_CFLAGS = $(AM_CFLAGS) -DFUZZ_MODEL='"$(abs_top_srcdir)/tests/fuzz/corpus/artifact/tiny-bf16.ingot"'
FUZZ_LDADD = libingot.la $(JANSSON_LIBS) $(OPENMP_CFLAGS)
if ENABLE_FUZZING
FUZZ_MAIN =
else
FUZZ_MAIN = tests/fuzz/replay_main.c
endif

tests_fuzz_fuzz_safetensors_SOURCES = tests/fuzz/fuzz_safetensors.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_safetensors_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_safetensors_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_safetensors_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_hf_config_SOURCES = tests/fuzz/fuzz_hf_config.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_hf_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_hf_config_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_hf_config_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_tokenizer_SOURCES = tests/fuzz/fuzz_tokenizer.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_tokenizer_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_tokenizer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_tokenizer_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_chat_template_SOURCES = tests/fuzz/fuzz_chat_template.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_chat_template_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_chat_template_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_chat_template_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_artifact_SOURCES = tests/fuzz/fuzz_artifact.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_artifact_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_artifact_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_artifact_LDADD = $(FUZZ_LDADD)
tests_fuzz_fuzz_calib_SOURCES = tests/fuzz/fuzz_calib.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_calib_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_calib_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_calib_LDADD = $(FUZZ_LDADD)

# make fuzz [FUZZ_SECONDS=60] [FUZZ_ONLY="tokenizer calib"] [FUZZ_FLAGS=...]:
# each harness for FUZZ_SECONDS under ASan+UBSan, one after the other, from
# the seed corpus; new inputs go to fuzz-corpus/<name>/ in the build
# directory, crashes to fuzz-crashes/.  Fails at the first crash.
FUZZ_SECONDS = 60
FUZZ_ONLY = $(FUZZ_NAMES)
FUZZ_FLAGS =
if ENABLE_FUZZING
fuzz: $(FUZZ_PROGS)
	@mkdir -p fuzz-crashes; \
	for h in $(FUZZ_ONLY); do \
	  mkdir -p fuzz-corpus/$$h; \
	  echo "fuzz: $$h for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1:$${ASAN_OPTIONS:-} UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ./tests/fuzz/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix=fuzz-crashes/$$h- $(FUZZ_FLAGS) \
	    fuzz-corpus/$$h $(srcdir)/tests/fuzz/corpus/$$h || exit 1; \
	done
else
fuzz:
	@echo "make fuzz: configure with CC=clang --enable-fuzzing (docs/RELIABILITY.md)" >&2; exit 2
endif
.PHONY: fuzz
