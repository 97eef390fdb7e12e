# runtime/: chat templates (Jinja subset)
libingot_la_SOURCES += runtime/chat_template.h runtime/chat_template.c runtime/jinja.h \
	runtime/jinja_lex.c runtime/jinja_parse.c runtime/jinja_eval.c runtime/jinja_value.c \
	runtime/jinja_ops.c runtime/jinja_builtins.c
