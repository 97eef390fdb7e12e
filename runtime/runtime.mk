# runtime/: model loading, forward pass, sampling
libingot_la_SOURCES += runtime/model.h runtime/model.c runtime/forward.c runtime/rope.h \
	runtime/rope.c runtime/sampler.c
libingot_la_SOURCES += runtime/machine.c
