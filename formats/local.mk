# formats/: what a stored weight is -- one table entry per weight format
# (parts, shapes, bits per weight, reference quantize and dequantize).
#
# Built with -ffp-contract=off: the reference arithmetic (e.g. nf4
# double-quant absmax = code * absmax2, rounded, + offset, rounded, as
# bitsandbytes does it) must not be fused into FMAs by the compiler.
noinst_LTLIBRARIES += libformats.la
libformats_la_SOURCES = formats/formats.h formats/formats.c formats/float.c \
	formats/quant_int8.c formats/quant_nf4.c formats/quant_int4.c \
	formats/quant_intb.c \
	formats/quant_search.c
libformats_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=off
libingot_la_LIBADD += libformats.la
