# quant/: ingot quantize -- int8, nf4, int4 (round to nearest) and awq4
# (AWQ with calibration) from an artifact or a checkpoint.
libingot_la_SOURCES += quant/quantize.h quant/quantize.c quant/awq.h quant/awq.c quant/calib.c \
	quant/sensitivity.h quant/sensitivity.c quant/bitalloc.h quant/bitalloc.c
