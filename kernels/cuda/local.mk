# kernels/cuda/: the CUDA backend when configure found nvcc + cuBLAS, a stub otherwise.
EXTRA_DIST += kernels/cuda/cuda_backend.cu build-aux/nvcc-libtool
libingot_la_SOURCES += kernels/cuda/backend.h
if HAVE_CUDA
libingot_la_SOURCES += kernels/cuda/cuda_backend.cu
libingot_la_LIBADD += $(CUDA_LIBS)
# nvcc writes no dependency files here: rebuild when the headers it includes change.
kernels/cuda/cuda_backend.lo: $(top_srcdir)/kernels/cuda/backend.h $(top_srcdir)/util/util.h $(top_srcdir)/include/ingot.h
# libtool knows no CUDA: compile through a wrapper that maps its PIC flags onto nvcc.
.cu.lo:
	$(AM_V_CC)$(LIBTOOL) $(AM_V_lt) --tag=CC --mode=compile \
	  $(top_srcdir)/build-aux/nvcc-libtool $(NVCC) $(NVCC_ARCH) -O3 -std=c++17 \
	  $(DEFAULT_INCLUDES) -I$(top_srcdir)/include -I$(top_srcdir) -I$(top_builddir) $(CUDA_CFLAGS) \
	  -c -o $@ $<
else
libingot_la_SOURCES += kernels/cuda/cuda_stub.c
endif
