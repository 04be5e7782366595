/* hearth chat: an interactive conversation (libedit line editing and history,
 * streamed answers, commands) or, when stdin is not a terminal, one message
 * per input line with plain answers on stdout (scriptable). */
#include <editline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat/chat.h"
#include "chat/family.h"
#include "cli/cli.h"
#include "hearth.h"
#include "text/chat_template.h"

static void usage(FILE *f) {
    fputs("usage: hearth chat -m FILE [options]\n"
          "  --chat-template FILE  Jinja chat template (default: the model's, else a built-in)\n"
          "  --system TEXT         system message\n"
          "  --messages FILE       start from this conversation (JSON, OpenAI message format)\n"
          "  --context-policy P    when the conversation outgrows the context: error (default),\n"
          "                        drop-oldest (drop whole old turns, keep the system message)\n"
          "                        or summarize (the model summarises the oldest turns)\n"
          "  --think show|hide     a reasoning model's thinking: shown (dimmed on a terminal) or hidden\n"
          "  --chat-template-kwargs JSON  extra template variables, e.g. '{\"enable_thinking\": true}'\n"
          "                        (Gemma 4 thinks only with it; Qwen 3.5 and Nemotron 3 stop with false)\n"
          "  -n N                  tokens per answer at most (default 512; also kept free for the answer)\n"
          "  -c CTX  -t THREADS  --cache-type T  --temp T  --top-k K  --top-p P  --min-p P\n"
          "  --repeat-penalty R  --repeat-last-n N  --seed S   as for hearth run\n"
          "Commands: /system TEXT, /clear, /save FILE, /load FILE, /stats, /exit.\n"
          "On a terminal a line ending in \\ continues the message; Ctrl-C stops an answer.\n"
          "Tests only: HEARTH_FORCE_IDS=ID,ID,... makes every answer emit these token ids first.\n",
          f);
}

typedef struct {
    const char *model, *tmpl, *system, *messages, *cache, *kwargs;
    int64_t n_gen, n_ctx, n_threads, last_n, top_k;
    float temp, top_p, min_p, rep;
    uint64_t seed;
    bool seed_set, hide_think;
    hr_ctx_policy policy;
} chat_opts;

static int parse_args(int argc, char **argv, chat_opts *o) {
    *o = (chat_opts){.n_gen = 512, .last_n = 64, .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
                     .rep = 1.0f, .cache = "f16"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            if (a[0] == '-') return cli_die("%s needs a value (see hearth chat --help)", a);
            return cli_die("unexpected argument '%s' (see hearth chat --help)", a);
        }
        const char *v = argv[++i];
        bool ok = true;
        int64_t seed;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--chat-template")) o->tmpl = v;
        else if (!strcmp(a, "--system")) o->system = v;
        else if (!strcmp(a, "--messages")) o->messages = v;
        else if (!strcmp(a, "--cache-type")) o->cache = v;
        else if (!strcmp(a, "--chat-template-kwargs")) o->kwargs = v;
        else if (!strcmp(a, "--context-policy")) {
            if (!hr_ctx_policy_from_name(v, &o->policy))
                return cli_die("--context-policy expects error, drop-oldest or summarize, got '%s'", v);
        } else if (!strcmp(a, "--think")) {
            if (strcmp(v, "show") && strcmp(v, "hide")) return cli_die("--think expects show or hide, got '%s'", v);
            o->hide_think = !strcmp(v, "hide");
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) ok = cli_parse_i64(a, v, 1, 1 << 24, &o->n_gen);
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) ok = cli_parse_i64(a, v, 8, 1 << 24, &o->n_ctx);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) ok = cli_parse_i64(a, v, 1, 1024, &o->n_threads);
        else if (!strcmp(a, "--top-k")) ok = cli_parse_i64(a, v, 0, INT32_MAX, &o->top_k);
        else if (!strcmp(a, "--repeat-last-n")) ok = cli_parse_i64(a, v, 0, 1 << 20, &o->last_n);
        else if (!strcmp(a, "--temp")) ok = cli_parse_f32(a, v, &o->temp);
        else if (!strcmp(a, "--top-p")) ok = cli_parse_f32(a, v, &o->top_p);
        else if (!strcmp(a, "--min-p")) ok = cli_parse_f32(a, v, &o->min_p);
        else if (!strcmp(a, "--repeat-penalty")) ok = cli_parse_f32(a, v, &o->rep);
        else if (!strcmp(a, "--seed")) {
            ok = cli_parse_i64(a, v, 0, INT64_MAX, &seed);
            o->seed = (uint64_t)seed;
            o->seed_set = true;
        } else return cli_die("unknown option '%s' (see hearth chat --help)", a);
        if (!ok) return 1;
    }
    if (!o->model) return cli_die("chat: -m FILE is required (see hearth chat --help)");
    if (o->top_p < 0 || o->top_p > 1) return cli_die("--top-p expects a number in [0, 1], got %g", o->top_p);
    if (o->min_p < 0 || o->min_p > 1) return cli_die("--min-p expects a number in [0, 1], got %g", o->min_p);
    if (o->rep <= 0) return cli_die("--repeat-penalty expects a positive number, got %g", o->rep);
    if (o->temp < 0) return cli_die("--temp expects a non-negative number, got %g", o->temp);
    return -1;
}

/* Set by SIGINT; the answer loop polls it. */
static volatile sig_atomic_t g_interrupted;
static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
}

typedef struct {
    bool tty, hide;
    bool dim_on;
    bool any;          /* something of this answer was printed */
    bool shown_think;  /* thinking was printed and the answer not yet */
    char last;         /* last byte printed */
} out_state;

static void emit(void *ud, const char *s, size_t n, bool thinking) {
    out_state *o = ud;
    if (thinking && o->hide) return;
    if (!n) return;
    if (!thinking && o->shown_think && o->last != '\n') {
        /* the markers are not printed: a line break keeps the answer apart from the thinking */
        if (o->dim_on) fputs("\033[0m", stdout);
        o->dim_on = false;
        fputc('\n', stdout);
    }
    o->shown_think = thinking;
    o->last = s[n - 1];
    o->any = true;
    bool dim = thinking && o->tty;
    if (dim != o->dim_on) {
        fputs(dim ? "\033[2m" : "\033[0m", stdout);
        o->dim_on = dim;
    }
    fwrite(s, 1, n, stdout);
    fflush(stdout);
}

static void on_notice(void *ud, const char *line) {
    (void)ud;
    fprintf(stderr, "hearth: %s\n", line);
}

static void print_stats(const hr_chat *c) {
    hr_chat_stats st = hr_chat_get_stats(c);
    double ptps = st.prompt_ms > 0 ? st.processed_tokens * 1e3 / st.prompt_ms : 0;
    double gtps = st.answer_ms > 0 && st.answer_tokens ? st.answer_tokens * 1e3 / st.answer_ms : 0;
    printf("context: %d/%d tokens; messages: %zu; last turn: prompt %zu tokens (%zu reused, %zu processed, "
           "%.1f tok/s), answer %zu tokens (%.1f tok/s)\n",
           st.n_past, st.n_ctx, json_array_size(hr_chat_messages(c)), st.prompt_tokens, st.reused_tokens,
           st.processed_tokens, ptps, st.answer_tokens, gtps);
    fflush(stdout);
}

/* Runs a /command; false when the session should end. *failed: the command failed. */
static bool command(hr_chat *c, char *line, bool *failed) {
    hearth_error err = {{0}};
    char *arg = line + strcspn(line, " \t");
    if (*arg) *arg++ = 0;
    while (*arg == ' ' || *arg == '\t') arg++;
    *failed = false;
    if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) return false;
    if (!strcmp(line, "/stats")) print_stats(c);
    else if (!strcmp(line, "/clear")) hr_chat_clear(c);
    else if (!strcmp(line, "/system")) {
        if (hr_chat_set_system(c, arg, &err)) *failed = true;
    } else if (!strcmp(line, "/save") || !strcmp(line, "/load")) {
        if (!*arg) {
            snprintf(err.message, sizeof err.message, "%s needs a file name", line);
            *failed = true;
        } else if (line[1] == 's') {
            *failed = hr_chat_messages_save(hr_chat_messages(c), arg, &err) != HEARTH_OK;
        } else {
            json_t *msgs = NULL;
            *failed = hr_chat_messages_load(arg, &msgs, &err) || hr_chat_set_messages(c, msgs, &err);
            json_decref(msgs);
        }
    } else {
        snprintf(err.message, sizeof err.message, "unknown command '%.100s' (/system, /clear, /save, /load, /stats, /exit)",
                 line);
        *failed = true;
    }
    if (*failed) fprintf(stderr, "hearth: %s\n", err.message);
    return true;
}

/* Reads one message from the terminal; a trailing backslash continues it. NULL at end of input. */
static char *read_tty_message(void) {
    char *msg = NULL;
    size_t len = 0;
    for (;;) {
        char *line = readline(msg ? ". " : "> ");
        if (!line) {
            if (g_interrupted && !msg) { /* Ctrl-C at the prompt: a fresh prompt, not an exit */
                g_interrupted = 0;
                fputc('\n', stdout);
                continue;
            }
            return msg;
        }
        size_t n = strlen(line);
        bool more = n && line[n - 1] == '\\';
        if (more) line[--n] = 0;
        char *nm = realloc(msg, len + n + 2);
        if (!nm) {
            free(line);
            free(msg);
            return NULL;
        }
        msg = nm;
        memcpy(msg + len, line, n);
        len += n;
        if (more) msg[len++] = '\n';
        msg[len] = 0;
        free(line);
        if (!more) {
            if (len) add_history(msg);
            return msg;
        }
    }
}

static char *read_pipe_line(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    return line;
}

int cmd_chat(int argc, char **argv) {
    chat_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    hearth_cache_type ctype;
    if (!hearth_cache_type_from_name(o.cache, &ctype))
        return cli_die("--cache-type expects f16, q8_0 or f32, got '%s'", o.cache);
    hearth_error err = {{0}};
    json_t *initial = NULL, *kwargs = NULL;
    if (o.kwargs) {
        json_error_t je;
        kwargs = json_loads(o.kwargs, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(kwargs)) {
            json_decref(kwargs);
            return cli_die("--chat-template-kwargs expects a JSON object, got '%.60s'", o.kwargs);
        }
    }
    if (o.messages && hr_chat_messages_load(o.messages, &initial, &err)) {
        json_decref(kwargs);
        return cli_die("%s", err.message);
    }
    int32_t *force = NULL;
    size_t n_force = 0;

    hearth_model *m = NULL;
    hearth_session *s = NULL;
    hearth_sampler *smp = NULL;
    hr_chat_template *ct = NULL;
    hr_chat *c = NULL;
    rc = 1;
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = (int)o.n_threads;
    mp.isa = getenv("HEARTH_ISA");
    if (hearth_model_load(o.model, &mp, &m, &err) || hr_chat_template_load(o.model, o.tmpl, &ct, &err)) {
        cli_die("%s", err.message);
        goto done;
    }
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = (int32_t)o.n_ctx;
    sp.cache_type = ctype;
    hearth_sampler_params pp = hearth_sampler_default_params();
    pp.temperature = o.temp;
    pp.top_k = (int32_t)o.top_k;
    pp.top_p = o.top_p;
    pp.min_p = o.min_p;
    pp.repeat_penalty = o.rep;
    pp.penalty_last_n = (int32_t)o.last_n;
    pp.seed = o.seed_set ? o.seed : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    if (hr_force_ids_parse(getenv("HEARTH_FORCE_IDS"), hearth_model_n_vocab(m), &force, &n_force, &err)) {
        cli_die("%s", err.message);
        goto done;
    }
    hr_chat_params cp = {.policy = o.policy, .n_predict = (int32_t)o.n_gen, .notice = on_notice,
                         .template_kwargs = kwargs, .force_ids = force, .n_force = n_force};
    if (hearth_session_new(m, &sp, &s, &err) || hearth_sampler_new(&pp, &smp, &err) ||
        hr_chat_new(m, s, smp, ct, &cp, &c, &err) || (initial && hr_chat_set_messages(c, initial, &err)) ||
        (o.system && hr_chat_set_system(c, o.system, &err))) {
        cli_die("%s", err.message);
        goto done;
    }

    bool tty = isatty(STDIN_FILENO);
    out_state os = {.tty = tty && isatty(STDOUT_FILENO), .hide = o.hide_think};
    struct sigaction sa = {0}, old_sa;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    if (tty) {
        sigaction(SIGINT, &sa, &old_sa);
        fprintf(stderr, "hearth chat (%s, context %d, template %s). /exit or Ctrl-D to leave.\n",
                hearth_model_arch(m), hearth_session_n_ctx(s), hr_chat_template_origin(ct));
    }
    rc = 0;
    for (;;) {
        char *msg = tty ? read_tty_message() : read_pipe_line();
        if (!msg) break;
        if (!tty && !*msg) {
            free(msg);
            continue;
        }
        if (msg[0] == '/') {
            bool failed;
            bool go = command(c, msg, &failed);
            free(msg);
            if (failed && !tty) rc = 1;
            if (!go || (failed && !tty)) break;
            continue;
        }
        g_interrupted = 0;
        os.any = false;
        os.shown_think = false;
        os.last = 0;
        hearth_status st = hr_chat_turn(c, msg, emit, &os, &g_interrupted, &err);
        free(msg);
        if (os.dim_on) {
            fputs("\033[0m", stdout);
            os.dim_on = false;
        }
        /* A refused turn prints nothing on stdout, so scripts see answers only. */
        if (!st || os.any) fputc('\n', stdout);
        fflush(stdout);
        if (g_interrupted) fprintf(stderr, "hearth: answer stopped (Ctrl-C)\n");
        g_interrupted = 0;
        if (st) {
            fprintf(stderr, "hearth: %s\n", err.message);
            /* A script cannot see a refused turn otherwise. */
            if (!tty) {
                rc = 1;
                break;
            }
        }
    }
    if (tty) sigaction(SIGINT, &old_sa, NULL);
done:
    json_decref(initial);
    json_decref(kwargs);
    free(force);
    hr_chat_free(c);
    hr_chat_template_free(ct);
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    return rc;
}
