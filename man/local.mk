# man/: reference manual pages (mdoc).  Makefile.am defines dist_man_MANS and
# includes this fragment, so the pages are installed by "make install" (into
# $(man1dir) and $(man5dir), by their suffix) and shipped by "make dist".
dist_man_MANS += man/ingot-quantize.1 man/ingot.1 man/ingot-convert.1 man/ingot-inspect.1 \
	man/ingot-tokenize.1 man/ingot-run.1 man/ingot-eval.1 man/ingot-bench.1 man/ingot-export.1 \
	man/ingot.5
