# runtime/: model binding, the inference context, the forward graph, its CPU and CUDA backends, sampling
libingot_la_SOURCES += runtime/model.h runtime/model.c runtime/backend.h runtime/backend_cpu.c \
	runtime/forward.h runtime/forward.c \
	runtime/rope.h runtime/rope.c runtime/sampler.c runtime/machine.c
if HAVE_CUDA
libingot_la_SOURCES += runtime/backend_cuda.c
else
EXTRA_DIST += runtime/backend_cuda.c
endif
