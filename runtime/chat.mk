# runtime/chat: HuggingFace chat templates (a Jinja2 subset) rendered in C,
# as transformers' apply_chat_template renders them.
#   chat_template.c   API: parse / render / free, the render context, finding a model's template
#   jinja_lex.c       source -> tokens, with all whitespace control
#   jinja_parse.c     tokens -> tree
#   jinja_scope.c     Jinja's compile-time scoping (which names start out undefined)
#   jinja_eval.c      tree -> text: statements, expressions, frames
#   jinja_ops.c       operators, item / attribute / slice access
#   jinja_builtins.c  filters, tests, methods, global functions
#   jinja_value.c     values and their Python-like printing
libingot_la_SOURCES += runtime/chat_template.h runtime/chat_template.c runtime/jinja.h \
	runtime/jinja_lex.c runtime/jinja_parse.c runtime/jinja_scope.c runtime/jinja_eval.c \
	runtime/jinja_ops.c runtime/jinja_builtins.c runtime/jinja_value.c

if HAVE_CHECK
check_PROGRAMS += tests/test_chat_template
tests_test_chat_template_SOURCES = tests/test_chat_template.c
tests_test_chat_template_CFLAGS = $(TEST_CFLAGS)
tests_test_chat_template_LDADD = $(TEST_LDADD)
TESTS += tests/test_chat_template
endif
