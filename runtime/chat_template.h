/*
 * chat_template.h - renders HuggingFace chat templates in C.
 *
 * A chat template is Jinja2 text (tokenizer_config.json "chat_template", or a
 * chat_template.jinja file) that turns a conversation into the model's prompt.
 * ingot renders it as transformers' apply_chat_template does: trim_blocks and
 * lstrip_blocks on, the loopcontrols extension, tojson without ASCII escaping,
 * the raise_exception() and strftime_now() globals, and these variables:
 *   messages               list of {"role": ..., "content": ...}
 *   add_generation_prompt  bool
 *   bos_token, eos_token   strings, undefined when NULL is passed
 *   tools, documents       none (transformers passes None when there are none)
 *
 * The engine covers the Jinja subset real templates use (Llama 2/3/3.1/3.2,
 * Mistral, Qwen2/2.5, DeepSeek, ...): see docs in runtime/jinja.h.  Anything
 * outside it fails with a one-line message naming the construct and the line
 * ("chat template: line 3: unsupported filter 'wordwrap'"), never with
 * made-up output.  Error codes: INGOT_ERR_FORMAT for malformed templates and
 * runtime type errors, INGOT_ERR_UNSUPPORTED for valid Jinja the engine does
 * not handle and for raise_exception() (the template refusing the
 * conversation: the message carries the template's own words).
 */
#ifndef INGOT_CHAT_TEMPLATE_H
#define INGOT_CHAT_TEMPLATE_H

#include "ingot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ingot_chat_message {
    const char *role;
    const char *content; /* NULL renders as none (an assistant turn with only tool calls) */
} ingot_chat_message;

/** A parsed template: parse once, render many times (also from several threads). */
typedef struct ingot_chat_template ingot_chat_template;

/** Parses tmpl (NUL-terminated).  @return a template (ingot_chat_template_free) or NULL. */
ingot_chat_template *ingot_chat_template_parse(const char *tmpl, ingot_error *err);

/** Frees t; NULL is a no-op. */
void ingot_chat_template_free(ingot_chat_template *t);

/**
 * Renders t for a conversation with the variables listed above.
 * @return malloc'ed text (caller frees), or NULL with err filled.
 */
char *ingot_chat_template_render(const ingot_chat_template *t, const ingot_chat_message *msgs, int n_msgs,
                                 int add_generation_prompt, const char *bos_token, const char *eos_token,
                                 ingot_error *err);

/**
 * Renders t with the members of the JSON object context_json as its variables
 * (for tools, tool calls, documents or template-specific switches such as
 * "enable_thinking"); nothing else is defined except the global functions.
 * @return malloc'ed text, or NULL with err filled.
 */
char *ingot_chat_template_render_json(const ingot_chat_template *t, const char *context_json, ingot_error *err);

/**
 * Parses and renders in one call.  bos/eos may be NULL (undefined).
 * @return malloc'ed text or NULL with err.
 */
char *ingot_chat_render(const char *tmpl, const ingot_chat_message *msgs, int n_msgs, int add_generation_prompt,
                        const char *bos_token, const char *eos_token, ingot_error *err);

/**
 * Picks the chat template out of a tokenizer_config.json text: its
 * "chat_template" string, or from a list of {"name", "template"} the one named
 * "default".  @return malloc'ed template text, or NULL (INGOT_ERR_UNSUPPORTED
 * when the config has no template, INGOT_ERR_FORMAT when it is malformed).
 */
char *ingot_chat_template_from_config(const char *tokenizer_config_json, ingot_error *err);

/**
 * Loads a model directory's chat template as transformers does: the file
 * chat_template.jinja when present (it overrides the config), else the
 * template in tokenizer_config.json.  @return malloc'ed text or NULL.
 */
char *ingot_chat_template_load(const char *model_dir, ingot_error *err);

#ifdef __cplusplus
}
#endif
#endif /* INGOT_CHAT_TEMPLATE_H */
