# quant fragment (see Makefile.am)
