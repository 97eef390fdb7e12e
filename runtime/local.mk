# runtime/: model binding, the inference context, the forward graph, its CPU backend, sampling
libingot_la_SOURCES += runtime/model.h runtime/model.c runtime/backend.h runtime/backend_cpu.c \
	runtime/forward.h runtime/forward.c \
	runtime/rope.h runtime/rope.c runtime/sampler.c runtime/machine.c
