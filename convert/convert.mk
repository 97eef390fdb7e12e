# convert/: the conversion driver (plan + streaming writer)
libingot_la_SOURCES += convert/plan.h convert/plan.c convert/convert.c
