# export/: ingot export -- an artifact back into a checkpoint directory
# (plain HF safetensors, AutoAWQ GEMM), written atomically.
libingot_la_SOURCES += export/export.h export/export.c export/awq_pack.c export/outdir.c
