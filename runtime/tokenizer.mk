# runtime fragment (see Makefile.am)
