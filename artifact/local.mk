# artifact/: the .ingot container (a pax tar) -- writer, reader, verify
libingot_la_SOURCES += artifact/artifact.h artifact/artifact_reader.c \
	artifact/artifact_writer.c artifact/artifact_verify.c
