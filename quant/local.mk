# quant/: the quantized weight formats (int8, nf4, int4) -- reference
# quantize/dequantize in quant/, and the matmul kernels that dequantize inside
# the kernel in kernels/cpu/qmatmul_*.c (registered by qkernels_fill.c).
#
# Everything here builds with -ffp-contract=off: the reference arithmetic
# (e.g. nf4 double-quant absmax = code * absmax2, rounded, + offset, rounded,
# as bitsandbytes does it) must not be fused into FMAs by the compiler; the
# SIMD kernels use FMA only where they ask for it.  ISA flags go only on the
# SIMD convenience libraries.

noinst_LTLIBRARIES += libquant.la
libquant_la_SOURCES = quant/quant.h quant/quant.c quant/quant_int8.c quant/quant_nf4.c \
	quant/quant_int4.c kernels/cpu/qkernels.h kernels/cpu/qmatmul_ref.c kernels/cpu/qkernels_fill.c
libquant_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off
libingot_la_LIBADD += libquant.la

if HAVE_AVX2
noinst_LTLIBRARIES += libqkern_avx2.la
libqkern_avx2_la_SOURCES = kernels/cpu/qmatmul_avx2.c kernels/cpu/qmatmul_avx2dot.c
libqkern_avx2_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off -mavx2 -mfma -mf16c
libingot_la_LIBADD += libqkern_avx2.la
endif

if HAVE_AVX512
noinst_LTLIBRARIES += libqkern_avx512.la
libqkern_avx512_la_SOURCES = kernels/cpu/qmatmul_avx512.c
libqkern_avx512_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off -mavx512f -mavx512bw -mavx512vl \
	-mfma -mf16c
libingot_la_LIBADD += libqkern_avx512.la
endif

if HAVE_VNNI
noinst_LTLIBRARIES += libqkern_vnni.la
libqkern_vnni_la_SOURCES = kernels/cpu/qmatmul_vnni.c
libqkern_vnni_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off -mavx512f -mavx512bw -mavx512vl \
	-mavx512vnni -mfma -mf16c
libingot_la_LIBADD += libqkern_vnni.la
endif

if HAVE_CHECK
check_PROGRAMS += tests/test_quant
tests_test_quant_SOURCES = tests/test_quant.c
tests_test_quant_CFLAGS = $(TEST_CFLAGS)
tests_test_quant_LDADD = $(TEST_LDADD)
TESTS += tests/test_quant
endif

# Benchmark: built by make, never run by make check.
noinst_PROGRAMS += bench/bench_qkernels
bench_bench_qkernels_SOURCES = bench/bench_qkernels.c
bench_bench_qkernels_LDADD = libingot.la
bench_bench_qkernels_LDFLAGS = $(OPENMP_CFLAGS)

