/*
 * libFuzzer target for the server's request-body parser (hs_post): each input
 * is posted as the body of every generation endpoint (OpenAI chat and
 * completions, Ollama chat, generate and show) of a server set up on a tiny
 * model with a chat template, named by $HEARTH_FUZZ_MODEL (make fuzz-request
 * generates one). Any input ends in a reply whose body is a JSON object with
 * a 2xx/4xx status, or in a job whose prompt fits the slot; nothing is ever
 * submitted. Built with HR_FUZZ_REPLAY it is a plain program that runs the
 * files named on its command line once each (the corpus replay in make test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"
#include "text/chat_template.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

#define FUZZ_CTX 128

static hs_server *sv;
static unsigned long n_jobs, n_errors, n_other; /* what the replay saw, to show it reaches every outcome */

static void die(const char *what, const hearth_error *e) {
    fprintf(stderr, "fuzz_request: %s: %s\n", what, e->message);
    exit(1);
}

static void setup(void) {
    const char *path = getenv("HEARTH_FUZZ_MODEL");
    if (!path) {
        fprintf(stderr, "fuzz_request: set HEARTH_FUZZ_MODEL to a model with a tokenizer and chat template\n");
        exit(1);
    }
    hearth_error e = {0};
    sv = calloc(1, sizeof *sv);
    if (!sv) exit(1);
    sv->cfg = hs_config_default();
    sv->cfg.model_path = path;
    snprintf(sv->model_name, sizeof sv->model_name, "tiny");
    atomic_init(&sv->ready, true);
    atomic_init(&sv->next_id, 1);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 1;
    if (hearth_model_load(path, &mp, &sv->model, &e)) die("model", &e);
    sv->max_piece = hs_max_piece(sv->model);
    if (hr_chat_template_load(path, NULL, &sv->tmpl, &e)) die("chat template", &e);
    if (hr_chat_family_detect(sv->model, sv->tmpl, &sv->family, &e)) die("chat family", &e);
    sv->mx = hs_metrics_new();
    if (hs_sched_new(sv->model, 1, FUZZ_CTX, 1, sv->mx, &sv->sched, &e)) die("scheduler", &e);
    if (hs_sched_set_family(sv->sched, &sv->family, NULL, 0, &e)) die("scheduler family", &e);
}

static void check_reply(hs_reply *r) {
    if (r->job) {
        hs_job *j = r->job;
        CHECK(r->status == 200 && !r->body);
        CHECK(j->prompt && j->n_prompt > 0 && j->n_prompt < (size_t)hs_sched_n_ctx(sv->sched));
        int32_t nv = hearth_model_n_vocab(sv->model);
        for (size_t i = 0; i < j->n_prompt; i++) CHECK(j->prompt[i] >= 0 && j->prompt[i] < nv);
        CHECK(j->max_tokens >= -1);
        CHECK(j->n_stop >= 0 && j->n_stop <= 16);
        CHECK(j->top_logprobs >= 0 && j->top_logprobs <= HS_MAX_TOP_LOGPROBS);
        CHECK(j->ops && j->m == sv->model);
        hs_job_release(j);
        n_jobs++;
        return;
    }
    CHECK(r->body);
    CHECK((r->status >= 200 && r->status < 300) || (r->status >= 400 && r->status < 500));
    json_error_t je;
    json_t *b = json_loads(r->body, 0, &je);
    CHECK(json_is_object(b));
    if (r->status >= 400) {
        json_t *msg = json_object_get(json_object_get(b, "error"), "message");
        CHECK(json_is_string(msg) && json_string_length(msg) > 0);
    }
    json_decref(b);
    free(r->body);
    if (r->status >= 400) n_errors++;
    else n_other++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!sv) setup();
    static const hs_post_endpoint eps[] = {HS_POST_CHAT, HS_POST_COMPLETIONS, HS_POST_OLLAMA_CHAT,
                                           HS_POST_OLLAMA_GENERATE, HS_POST_OLLAMA_SHOW};
    for (size_t i = 0; i < sizeof eps / sizeof *eps; i++) {
        hs_reply r = hs_post(sv, eps[i], (const char *)data, size);
        check_reply(&r);
    }
    return 0;
}

#ifdef HR_FUZZ_REPLAY
int main(int argc, char **argv) {
    static uint8_t buf[1 << 20];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("replayed %d inputs on 5 endpoints: %lu jobs, %lu error replies, %lu other replies\n", argc - 1, n_jobs,
           n_errors, n_other);
    if (sv) { /* freed so that the sanitizers' leak check sees only real leaks */
        hs_sched_free(sv->sched);
        hr_chat_template_free(sv->tmpl);
        hearth_model_free(sv->model);
        hs_metrics_free(sv->mx);
        free(sv);
    }
    return 0;
}
#endif
