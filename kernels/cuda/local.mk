# kernels/cuda/: the CUDA device layer when configure found nvcc + cuBLAS, a stub otherwise.
CUDA_SRCS = kernels/cuda/cuda_device.cu kernels/cuda/matmul.cu kernels/cuda/ops.cu kernels/cuda/attention.cu
CUDA_HDRS = kernels/cuda/cuda_common.cuh kernels/cuda/cuda_formats.cuh
EXTRA_DIST += $(CUDA_SRCS) $(CUDA_HDRS) build-aux/nvcc-libtool
libingot_la_SOURCES += kernels/cuda/cuda_ops.h
if HAVE_CUDA
libingot_la_SOURCES += $(CUDA_SRCS)
libingot_la_LIBADD += $(CUDA_LIBS)
# nvcc writes no dependency files here: rebuild when the headers it includes change.
CUDA_DEPS = $(top_srcdir)/kernels/cuda/cuda_common.cuh $(top_srcdir)/kernels/cuda/cuda_formats.cuh \
	$(top_srcdir)/kernels/cuda/cuda_ops.h $(top_srcdir)/formats/formats.h $(top_srcdir)/util/util.h \
	$(top_srcdir)/include/ingot.h
kernels/cuda/cuda_device.lo kernels/cuda/matmul.lo kernels/cuda/ops.lo kernels/cuda/attention.lo: $(CUDA_DEPS)
# libtool knows no CUDA: compile through a wrapper that maps its PIC flags onto nvcc.
.cu.lo:
	$(AM_V_CC)$(LIBTOOL) $(AM_V_lt) --tag=CC --mode=compile \
	  $(top_srcdir)/build-aux/nvcc-libtool $(NVCC) $(NVCC_ARCH) -O3 -std=c++17 \
	  $(DEFAULT_INCLUDES) -I$(top_srcdir)/include -I$(top_srcdir) -I$(top_builddir) $(CUDA_CFLAGS) \
	  -c -o $@ $<
else
libingot_la_SOURCES += kernels/cuda/cuda_stub.c
endif
