# bench/: benchmark tools (built by make, never run by make check, not installed)
noinst_PROGRAMS += bench/make-random-model bench/bench_kernels bench/bench_qkernels
bench_make_random_model_SOURCES = bench/make_random_model.c
bench_make_random_model_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
bench_make_random_model_LDADD = libingot.la $(JANSSON_LIBS)
# kernel micro-benchmarks against the machine's measured limits
bench_bench_kernels_SOURCES = bench/bench_kernels.c
bench_bench_kernels_LDADD = libingot.la
bench_bench_kernels_LDFLAGS = $(OPENMP_CFLAGS)
bench_bench_qkernels_SOURCES = bench/bench_qkernels.c
bench_bench_qkernels_LDADD = libingot.la
bench_bench_qkernels_LDFLAGS = $(OPENMP_CFLAGS)
EXTRA_DIST += bench/run_benchmarks.sh bench/quality.sh
EXTRA_DIST += bench/device_check.sh bench/device_lib.sh bench/run_gpu_benchmarks.sh bench/hf_generate.py bench/hf_precision.py bench/compare_gpu_env.sh bench/device_profile.sh
EXTRA_DIST += bench/qkernels_bits.c bench/qkernels_bits.sh bench/compare_qkernels.sh
EXTRA_DIST += bench/run_quant_benchmarks.sh bench/compare_quant.sh bench/quality_curve.sh
# perplexity over every prediction and over llama-perplexity's second halves
# (scripts/check_exports.sh)
noinst_PROGRAMS += bench/eval_halves
bench_eval_halves_SOURCES = bench/eval_halves.c
bench_eval_halves_LDADD = libingot.la -lm
