# kernels/cpu fragment (see Makefile.am)
