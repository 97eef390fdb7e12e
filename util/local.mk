# util/: errors, files, atomic output, hashing, float formats
libingot_la_SOURCES += util/util.h util/threads.h util/error.c util/files.c util/outfile.c \
	util/hash.c util/halfs.c util/dtype.c
