# kernels/cpu/: the CPU compute kernels.  A portable reference is always
# built; the AVX2 and AVX-512 builds of the same templates are convenience
# libraries so that only their files get the ISA flags, and dispatch.c picks
# among them at run time by CPUID.
#
# The quantized-format kernels (qmatmul_*.c) build with -ffp-contract=off
# like formats/: they must reproduce the reference arithmetic, and use FMA
# only where they ask for it.  The exact-f32 ones (qmatmul_avx2.c,
# qmatmul_avx512.c) instantiate qmatmul_tmpl.h over the same vector layer,
# the integer-dot decodes (qmatmul_avx2dot.c, qmatmul_vnni.c) qdot_tmpl.h
# over it and an integer-dot layer (vec_dot_avx2.h, vec_dot_vnni.h).
libingot_la_SOURCES += kernels/cpu/kernels.h kernels/cpu/matmul_ref.c kernels/cpu/dispatch.c \
	kernels/cpu/ops.c kernels/cpu/machine.c kernels/cpu/attention.c

noinst_LTLIBRARIES += libqkern.la
libqkern_la_SOURCES = kernels/cpu/qkernels.h kernels/cpu/qmatmul_ref.c kernels/cpu/qkernels_fill.c
libqkern_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off
libingot_la_LIBADD += libqkern.la

KERN_TMPL = kernels/cpu/matmul_tmpl.h kernels/cpu/ops_tmpl.h kernels/cpu/isa_tmpl.h
QKERN_TMPL = kernels/cpu/qmatmul_tmpl.h kernels/cpu/qdot_tmpl.h

if HAVE_AVX2
noinst_LTLIBRARIES += libkern_avx2.la libqkern_avx2.la
libkern_avx2_la_SOURCES = kernels/cpu/matmul_avx2.c kernels/cpu/vec_avx2.h $(KERN_TMPL)
libkern_avx2_la_CFLAGS = $(AM_CFLAGS) -mavx2 -mfma -mf16c
libqkern_avx2_la_SOURCES = kernels/cpu/qmatmul_avx2.c kernels/cpu/qmatmul_avx2dot.c \
	kernels/cpu/vec_256.h kernels/cpu/vec_avx2.h kernels/cpu/vec_dot_avx2.h $(QKERN_TMPL)
libqkern_avx2_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off -mavx2 -mfma -mf16c
libingot_la_LIBADD += libkern_avx2.la libqkern_avx2.la
endif

if HAVE_AVX512
noinst_LTLIBRARIES += libkern_avx512.la libqkern_avx512.la
libkern_avx512_la_SOURCES = kernels/cpu/matmul_avx512.c kernels/cpu/vec_avx512.h $(KERN_TMPL)
libkern_avx512_la_CFLAGS = $(AM_CFLAGS) -mavx512f -mavx512bw -mavx512vl -mfma -mf16c
libqkern_avx512_la_SOURCES = kernels/cpu/qmatmul_avx512.c kernels/cpu/vec_256.h \
	kernels/cpu/vec_avx512.h kernels/cpu/qmatmul_tmpl.h
libqkern_avx512_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off -mavx512f -mavx512bw -mavx512vl \
	-mfma -mf16c
libingot_la_LIBADD += libkern_avx512.la libqkern_avx512.la
endif

if HAVE_VNNI
noinst_LTLIBRARIES += libqkern_vnni.la
libqkern_vnni_la_SOURCES = kernels/cpu/qmatmul_vnni.c kernels/cpu/vec_256.h \
	kernels/cpu/vec_avx512.h kernels/cpu/vec_dot_vnni.h kernels/cpu/qdot_tmpl.h
libqkern_vnni_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off -mavx512f -mavx512bw -mavx512vl \
	-mavx512vnni -mfma -mf16c
libingot_la_LIBADD += libqkern_vnni.la
endif
