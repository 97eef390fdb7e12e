# kernels/cpu/: the CPU compute kernels.  A portable reference is always
# built; the AVX2 and AVX-512 builds of the same templates are convenience
# libraries so that only their files get the ISA flags, and dispatch.c picks
# among them at run time by CPUID.
libingot_la_SOURCES += kernels/cpu/kernels.h kernels/cpu/matmul_ref.c kernels/cpu/dispatch.c \
	kernels/cpu/ops.c kernels/cpu/machine.c

KERN_TMPL = kernels/cpu/matmul_tmpl.h kernels/cpu/ops_tmpl.h

if HAVE_AVX2
noinst_LTLIBRARIES += libkern_avx2.la
libkern_avx2_la_SOURCES = kernels/cpu/matmul_avx2.c kernels/cpu/vec_avx2.h $(KERN_TMPL)
libkern_avx2_la_CFLAGS = $(AM_CFLAGS) -mavx2 -mfma -mf16c
libingot_la_LIBADD += libkern_avx2.la
endif

if HAVE_AVX512
noinst_LTLIBRARIES += libkern_avx512.la
libkern_avx512_la_SOURCES = kernels/cpu/matmul_avx512.c kernels/cpu/vec_avx512.h $(KERN_TMPL)
libkern_avx512_la_CFLAGS = $(AM_CFLAGS) -mavx512f -mavx512bw -mavx512vl -mfma -mf16c
libingot_la_LIBADD += libkern_avx512.la
endif

if HAVE_CHECK
check_PROGRAMS += tests/test_kernels
tests_test_kernels_SOURCES = tests/test_kernels.c
tests_test_kernels_CFLAGS = $(TEST_CFLAGS)
tests_test_kernels_LDADD = $(TEST_LDADD)
TESTS += tests/test_kernels
endif

# Kernel micro-benchmark against the machine's measured limits (not run by make check).
noinst_PROGRAMS += bench/bench_kernels
bench_bench_kernels_SOURCES = bench/bench_kernels.c
bench_bench_kernels_LDADD = libingot.la
bench_bench_kernels_LDFLAGS = $(OPENMP_CFLAGS)
