# chat/: HuggingFace chat templates (a Jinja2 subset) rendered in C,
# as transformers' apply_chat_template renders them.
#   chat_template.c   API: parse / render / free, the render context, finding a model's template
#   jinja_lex.c       source -> tokens, with all whitespace control
#   jinja_parse.c     tokens -> tree
#   jinja_scope.c     Jinja's compile-time scoping (which names start out undefined)
#   jinja_eval.c      tree -> text: statements, expressions, frames
#   jinja_ops.c       operators, item / attribute / slice access
#   jinja_builtins.c  filters, tests, methods, global functions
#   jinja_value.c     values and their Python-like printing
libingot_la_SOURCES += chat/chat_template.h chat/chat_template.c chat/jinja.h \
	chat/jinja_lex.c chat/jinja_parse.c chat/jinja_scope.c chat/jinja_eval.c \
	chat/jinja_ops.c chat/jinja_builtins.c chat/jinja_value.c
