# bench/: benchmark tools (built by make, not installed)
noinst_PROGRAMS += bench/make-random-model
bench_make_random_model_SOURCES = bench/make_random_model.c
bench_make_random_model_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
bench_make_random_model_LDADD = libingot.la $(JANSSON_LIBS)
EXTRA_DIST += bench/run_benchmarks.sh
EXTRA_DIST += bench/cuda_smoke.c bench/device_check.sh
