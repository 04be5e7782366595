/* hearth command line: dispatches to one file per subcommand (src/cli/NAME.c).
 * A subcommand whose file is not in the build is reported as such, so the
 * table can list every planned command without stubs. */
#include <stdio.h>
#include <string.h>

#include "hearth.h"
#include "cli/cli.h"

#define WEAK __attribute__((weak))
WEAK int cmd_run(int argc, char **argv);
WEAK int cmd_chat(int argc, char **argv);
WEAK int cmd_serve(int argc, char **argv);
WEAK int cmd_tokenize(int argc, char **argv);
WEAK int cmd_detokenize(int argc, char **argv);
WEAK int cmd_info(int argc, char **argv);
WEAK int cmd_bench(int argc, char **argv);
WEAK int cmd_quantize(int argc, char **argv);
WEAK int cmd_template(int argc, char **argv);
WEAK int cmd_perplexity(int argc, char **argv);

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"run", cmd_run, "generate text from a prompt"},
    {"chat", cmd_chat, "interactive chat with the model's template"},
    {"serve", cmd_serve, "OpenAI- and Ollama-compatible HTTP server"},
    {"tokenize", cmd_tokenize, "text to token ids"},
    {"detokenize", cmd_detokenize, "token ids to text"},
    {"info", cmd_info, "describe a GGUF file and the memory it needs"},
    {"bench", cmd_bench, "measure prompt and generation speed"},
    {"quantize", cmd_quantize, "convert a GGUF file to another tensor type"},
    {"template", cmd_template, "render a chat template"},
    {"perplexity", cmd_perplexity, "measure perplexity on a text"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: hearth COMMAND [options]   (hearth COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn) fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-12s %s\n", "version", "print the version");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "version") || !strcmp(name, "--version")) {
        printf("hearth %s\n", hearth_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name)) continue;
        if (!commands[i].fn) {
            fprintf(stderr, "hearth: command '%s' is not available in this build\n", name);
            return 2;
        }
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "hearth: unknown command '%s' (try: hearth --help)\n", name);
    return 2;
}
