# tokenizer/: HuggingFace tokenizer.json (BPE) tokenizers
libingot_la_SOURCES += tokenizer/tokenizer.h tokenizer/tok_internal.h tokenizer/tokenizer.c \
	tokenizer/tok_util.c tokenizer/tok_text.c tokenizer/tok_normalize.c tokenizer/tok_pretok.c \
	tokenizer/tok_bpe.c tokenizer/tok_decode.c
