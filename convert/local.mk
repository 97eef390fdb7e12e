# convert/: reading HuggingFace checkpoints -- safetensors (single file and
# sharded) plus a small single-file writer, config.json normalization, HF
# file validation -- and the conversion driver (plan + streaming writer).
libingot_la_SOURCES += convert/st_reader.h convert/st_reader.c \
	convert/st_set.h convert/st_set.c \
	convert/st_writer.h convert/st_writer.c \
	convert/hf_config.h convert/hf_config.c \
	convert/hf_files.h convert/hf_files.c \
	convert/st_quant.h convert/st_quant.c convert/st_quant_int4.c convert/st_quant_bnb.c \
	convert/plan.h convert/plan.c convert/convert.c
