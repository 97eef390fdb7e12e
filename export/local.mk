# export/: ingot export -- an artifact back into a checkpoint directory
# (plain HF safetensors, AutoAWQ GEMM) or one GGUF file, written atomically.
libingot_la_SOURCES += export/export.h export/export.c export/awq_pack.c export/bnb_pack.c export/outdir.c \
	export/gguf.h export/gguf_writer.c export/gguf_quant.c export/gguf_vocab.c export/export_gguf.c
