/* libFuzzer target: the input is a template, rendered with a chat-like context
 * (messages with content parts and tool calls, tools, special tokens) under
 * tight limits. Any crash, leak, hang or sanitizer report is a bug; errors
 * are expected. Built with HR_FUZZ_REPLAY it is a plain program that runs
 * the files named on its command line once each (the corpus replay in make test). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "text/jinja.h"

static const char context_json[] =
    "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_generation_prompt\": true,"
    " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
    "   \"parameters\": {\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"enum\": [\"x\", \"y\"]}},"
    "   \"required\": [\"a\"]}}}],"
    " \"messages\": [{\"role\": \"system\", \"content\": \"sys\"},"
    "  {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hi \\u00e9\"}, {\"type\": \"image\"}]},"
    "  {\"role\": \"assistant\", \"content\": \"\", \"reasoning_content\": \"think\","
    "   \"tool_calls\": [{\"id\": \"abcdefghi\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {\"a\": 1.5}}}]},"
    "  {\"role\": \"tool\", \"tool_call_id\": \"abcdefghi\", \"content\": \"ok\"},"
    "  {\"role\": \"user\", \"content\": \"bye\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static json_t *ctx;
    if (!ctx) ctx = json_loads(context_json, 0, NULL);
    hr_jinja *t;
    hearth_error err;
    if (hr_jinja_parse((const char *)data, size, &t, &err, NULL) != HEARTH_OK) return 0;
    hr_jinja_opts o = {.now = 1795521600, .utc = 1, .max_output = 1u << 20, .max_memory = 64u << 20, .max_steps = 200000};
    char *out = NULL;
    if (hr_jinja_render(t, ctx, &o, &out, NULL, &err, NULL) == HEARTH_OK) free(out);
    hr_jinja_free(t);
    return 0;
}

#ifdef HR_FUZZ_REPLAY
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
#endif
