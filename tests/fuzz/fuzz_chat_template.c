/*
 * fuzz_chat_template.c - the chat-template parser and renderer (chat/) on
 * fuzzed templates and conversations.  Input: the template, a NUL byte, then
 * the render context as JSON (messages, tools, ...); without a NUL, a fixed
 * conversation.  The limits are on, lowered so that each input runs in
 * milliseconds: a render that goes over one must end with that error.
 */
#include "config.h"

#include "chat/chat_template.h"
#include "tests/fuzz/fuzz.h"

static const ingot_chat_message CONVERSATION[] = {
    {"system", "You are a helpful assistant."},
    {"user", "What is 2+2?"},
    {"assistant", "<think>\nAdd them.\n</think>\n\n2+2 is 4."},
    {"user", "  And times 3?  "},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *tmpl, *ctx;
    size_t tlen, clen;
    fuzz_split(data, size, &tmpl, &tlen, &ctx, &clen);
    ingot_chat_limits lim = ingot_chat_limits_default();
    lim.max_iterations = 20000;
    lim.max_steps = 1000000;
    lim.max_output = 1 << 20;
    lim.max_memory = 16 << 20;
    ingot_error err = {0};
    ingot_chat_template *t = ingot_chat_template_parse_limited(tmpl, &lim, &err);
    if (!t) {
        fuzz_check_error(&err);
    } else {
        char *out = ctx ? ingot_chat_template_render_json(t, ctx, &err)
                        : ingot_chat_template_render(t, CONVERSATION, 4, 1, "<s>", "</s>", &err);
        if (out)
            FUZZ_CHECK(strlen(out) <= lim.max_output);
        else
            fuzz_check_error(&err);
        free(out);
        /* a parsed template renders many times: once more, differently */
        out = ingot_chat_template_render(t, CONVERSATION, 1, 0, NULL, NULL, &err);
        if (!out)
            fuzz_check_error(&err);
        free(out);
        ingot_chat_template_free(t);
    }
    free(tmpl);
    free(ctx);
    return 0;
}
