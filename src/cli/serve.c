/* hearth serve: OpenAI- and Ollama-compatible HTTP server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "serve/serve.h"

static void usage(void) {
    fputs("usage: hearth serve -m MODEL [--host 127.0.0.1] [--port 8080] [--parallel N] [--ctx-per-slot C]\n"
          "  [--queue N] [--api-key KEY | --api-key-file F] [--max-body BYTES] [--rate-limit N/min]\n"
          "  [--request-timeout SECONDS] [--alias NAME] [--log-format text|json] [-t THREADS] [--chat-template FILE]\n"
          "--port 0 picks a free port (printed on stderr). --request-timeout (30) bounds the time a client\n"
          "has to send a request body and how long a connection may sit idle.\n"
          "Tests only: HEARTH_FORCE_IDS=ID,ID,... makes every generation emit these token ids first.\n",
          stderr);
}

/* The key file's first line, without the line end. */
static char *read_key_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[4096];
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!line) return NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    return buf[0] ? strdup(buf) : NULL;
}

int cmd_serve(int argc, char **argv) {
    hs_config c = hs_config_default();
    char *key_owned = NULL;
    int64_t v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        }
        if (i + 1 >= argc) {
            usage();
            return cli_die("%s needs a value", a);
        }
        const char *val = argv[++i];
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) c.model_path = val;
        else if (!strcmp(a, "--host")) c.host = val;
        else if (!strcmp(a, "--port")) { if (!cli_parse_i64(a, val, 0, 65535, &v)) return 1; c.port = (int)v; }
        else if (!strcmp(a, "--parallel") || !strcmp(a, "-np")) { if (!cli_parse_i64(a, val, 1, 256, &v)) return 1; c.parallel = (int)v; }
        else if (!strcmp(a, "--ctx-per-slot") || !strcmp(a, "-c")) { if (!cli_parse_i64(a, val, 16, 1 << 24, &v)) return 1; c.ctx_per_slot = (int32_t)v; }
        else if (!strcmp(a, "--queue")) { if (!cli_parse_i64(a, val, 1, 1 << 20, &v)) return 1; c.queue_size = (int)v; }
        else if (!strcmp(a, "--max-body")) { if (!cli_parse_i64(a, val, 1024, INT64_C(1) << 40, &v)) return 1; c.max_body = (size_t)v; }
        else if (!strcmp(a, "--request-timeout")) { if (!cli_parse_i64(a, val, 1, 86400, &v)) return 1; c.request_timeout = (int)v; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!cli_parse_i64(a, val, 0, 1024, &v)) return 1; c.n_threads = (int)v; }
        else if (!strcmp(a, "--rate-limit")) {
            char num[32];
            size_t n = strcspn(val, "/");
            if (n >= sizeof num || (val[n] && strcmp(val + n, "/min") != 0)) return cli_die("--rate-limit takes N or N/min, not '%s'", val);
            memcpy(num, val, n);
            num[n] = 0;
            if (!cli_parse_i64(a, num, 0, 1000000, &v)) return 1;
            c.rate_limit = (int)v;
        } else if (!strcmp(a, "--api-key")) c.api_key = val;
        else if (!strcmp(a, "--api-key-file")) {
            free(key_owned);
            key_owned = read_key_file(val);
            if (!key_owned) return cli_die("cannot read an API key from %s", val);
            c.api_key = key_owned;
        } else if (!strcmp(a, "--alias")) c.alias = val;
        else if (!strcmp(a, "--chat-template")) c.chat_template = val;
        else if (!strcmp(a, "--log-format")) {
            if (strcmp(val, "json") && strcmp(val, "text")) return cli_die("--log-format is text or json, not '%s'", val);
            c.log_json = !strcmp(val, "json");
        } else {
            usage();
            free(key_owned);
            return cli_die("unknown option %s", a);
        }
    }
    if (!c.model_path) {
        usage();
        return cli_die("serve needs -m MODEL");
    }
    if (c.api_key && !c.api_key[0]) return cli_die("--api-key must not be empty");
    c.force_ids = getenv("HEARTH_FORCE_IDS");
    c.isa = getenv("HEARTH_ISA");
    hearth_error err = {0};
    hearth_status st = hs_serve(&c, &err);
    free(key_owned);
    if (st) return cli_die("%s", err.message);
    return 0;
}
