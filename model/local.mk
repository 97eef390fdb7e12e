# model/: what describes a model -- the normalized config and its JSON form,
# and the canonical tensor list that convert, quant and runtime all bind by.
libingot_la_SOURCES += model/model_config.h model/model_config.c \
	model/tensor_map.h model/tensor_map.c
