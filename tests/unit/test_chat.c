/* Conversation logic without a model: prefix comparison, message checks,
 * turn boundaries for drop-oldest/summarize, the <think> splitter. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/chat.h"
#include "chat/family.h"

Test(chat, common_prefix) {
    int32_t a[] = {1, 2, 3, 4}, b[] = {1, 2, 9, 4}, c[] = {1, 2};
    cr_assert_eq(hr_chat_common_prefix(a, 4, b, 4), 2);
    cr_assert_eq(hr_chat_common_prefix(a, 4, c, 2), 2);
    cr_assert_eq(hr_chat_common_prefix(c, 2, a, 4), 2);
    cr_assert_eq(hr_chat_common_prefix(a, 4, a, 4), 4);
    cr_assert_eq(hr_chat_common_prefix(NULL, 0, a, 4), 0);
    cr_assert_eq(hr_chat_common_prefix(b + 2, 1, a, 4), 0);
}

static json_t *parse(const char *s) {
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    cr_assert_not_null(j, "%s", s);
    return j;
}

Test(chat, messages_check) {
    hearth_error err = {{0}};
    json_t *ok = parse("[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"u\"}]");
    cr_assert_eq(hr_chat_messages_check(ok, &err), HEARTH_OK);
    json_decref(ok);
    const char *bad[][2] = {
        {"{}", "array"},
        {"[1]", "message 0 is not a JSON object"},
        {"[{\"content\":\"x\"}]", "message 0 has no string \"role\""},
        {"[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"bot\",\"content\":\"x\"}]", "message 1 has role 'bot'"},
        {"[{\"role\":\"user\",\"content\":3}]", "message 0 has no string \"content\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = parse(bad[i][0]);
        cr_assert_eq(hr_chat_messages_check(j, &err), HEARTH_ERR_FORMAT, "%s", bad[i][0]);
        cr_assert(strstr(err.message, bad[i][1]), "%s -> %s", bad[i][0], err.message);
        json_decref(j);
    }
}

Test(chat, messages_load_save_round_trip) {
    char path[] = "/tmp/hearth_chat_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    hearth_error err = {{0}};
    json_t *m = parse("[{\"role\":\"user\",\"content\":\"h\\u00e9 \\\"q\\\"\\n<|im_end|>\"},"
                      "{\"role\":\"assistant\",\"content\":\"\"}]");
    cr_assert_eq(hr_chat_messages_save(m, path, &err), HEARTH_OK);
    json_t *back = NULL;
    cr_assert_eq(hr_chat_messages_load(path, &back, &err), HEARTH_OK, "%s", err.message);
    cr_assert(json_equal(m, back));
    json_decref(back);
    /* An object with "messages" is accepted too (the --messages format of hearth template). */
    FILE *f = fopen(path, "w");
    fputs("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", f);
    fclose(f);
    cr_assert_eq(hr_chat_messages_load(path, &back, &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(json_array_size(back), 1);
    json_decref(back);
    f = fopen(path, "w");
    fputs("[{\"role\":\"user\",\n\"content\":}]", f);
    fclose(f);
    cr_assert_eq(hr_chat_messages_load(path, &back, &err), HEARTH_ERR_FORMAT);
    cr_assert(strstr(err.message, "invalid JSON at line 2"), "%s", err.message);
    cr_assert_null(back);
    unlink(path);
    cr_assert_eq(hr_chat_messages_load(path, &back, &err), HEARTH_ERR_IO);
    json_decref(m);
}

static void turn_is(const char *msgs, bool want, size_t first, size_t end) {
    json_t *j = parse(msgs);
    size_t f = 99, e = 99;
    bool got = hr_chat_oldest_turn(j, &f, &e);
    cr_assert_eq(got, want, "%s", msgs);
    if (want) {
        cr_assert_eq(f, first, "%s: first %zu", msgs, f);
        cr_assert_eq(e, end, "%s: end %zu", msgs, e);
    }
    json_decref(j);
}

#define S "{\"role\":\"system\",\"content\":\"\"}"
#define U "{\"role\":\"user\",\"content\":\"\"}"
#define A "{\"role\":\"assistant\",\"content\":\"\"}"
#define T "{\"role\":\"tool\",\"content\":\"\"}"

Test(chat, oldest_turn) {
    turn_is("[" S "," U "]", false, 0, 0);            /* only the turn being answered */
    turn_is("[" U "]", false, 0, 0);
    turn_is("[" S "," U "," A "," U "]", true, 1, 3); /* keeps the system message */
    turn_is("[" U "," A "," U "," A "," U "]", true, 0, 2);
    /* A turn is a user message with everything up to the next user message (tool calls included). */
    turn_is("[" S "," U "," A "," T "," A "," U "]", true, 1, 5);
    /* A summary left as a second system message is old too. */
    turn_is("[" S "," S "," U "," A "," U "]", true, 1, 2);
    turn_is("[" S "]", false, 0, 0);
}

typedef struct {
    char text[256], think[256];
} split;

static void collect(void *ud, const char *s, size_t n, bool thinking) {
    split *o = ud;
    char *dst = thinking ? o->think : o->text;
    strncat(dst, s, n);
}

Test(chat, think_filter_any_split) {
    const char *in = "<think>why < not</thi</think>A <b> </think x<thin";
    for (size_t cut1 = 0; cut1 <= strlen(in); cut1++)
        for (size_t cut2 = cut1; cut2 <= strlen(in); cut2++) {
            split o = {{0}, {0}};
            hr_think_filter f = {0};
            hr_think_feed(&f, in, cut1, collect, &o);
            hr_think_feed(&f, in + cut1, cut2 - cut1, collect, &o);
            hr_think_feed(&f, in + cut2, strlen(in) - cut2, collect, &o);
            hr_think_flush(&f, collect, &o);
            cr_assert_str_eq(o.think, "why < not</thi", "cuts %zu %zu", cut1, cut2);
            cr_assert_str_eq(o.text, "A <b> </think x<thin", "cuts %zu %zu", cut1, cut2);
        }
    /* A prompt that opens <think> starts the answer inside it. */
    split o = {{0}, {0}};
    hr_think_filter f = {.thinking = true};
    hr_think_feed(&f, "plan</think>done", 16, collect, &o);
    hr_think_flush(&f, collect, &o);
    cr_assert_str_eq(o.think, "plan");
    cr_assert_str_eq(o.text, "done");
}

/* Gemma 4's thought channel, cut at every pair of places, with the API trimming. */
Test(chat, think_filter_gemma_trim_any_split) {
    const char *in = "<|channel>thought\n  Two plus <b> two.\n\n<channel|>\n Four <|chan";
    for (size_t cut1 = 0; cut1 <= strlen(in); cut1++)
        for (size_t cut2 = cut1; cut2 <= strlen(in); cut2++) {
            split o = {{0}, {0}};
            hr_think_filter f;
            hr_think_init(&f, "<|channel>thought", "<channel|>", false, true);
            hr_think_feed(&f, in, cut1, collect, &o);
            hr_think_feed(&f, in + cut1, cut2 - cut1, collect, &o);
            hr_think_feed(&f, in + cut2, strlen(in) - cut2, collect, &o);
            hr_think_flush(&f, collect, &o);
            cr_assert_str_eq(o.think, "Two plus <b> two.", "cuts %zu %zu", cut1, cut2);
            cr_assert_str_eq(o.text, "Four <|chan", "cuts %zu %zu", cut1, cut2);
        }
}

/* Qwen 3.5: the prompt opened <think>; trim_markers keeps the thinking as is but drops the
 * layout after </think>; a thinking cut short (no close marker) stays thinking. */
Test(chat, think_filter_trim_markers) {
    split o = {{0}, {0}};
    hr_think_filter f;
    hr_think_init(&f, "<think>", "</think>", true, false);
    f.trim_markers = true;
    const char *in = " plan\n</think>\n\nFour.\n";
    hr_think_feed(&f, in, strlen(in), collect, &o);
    hr_think_flush(&f, collect, &o);
    cr_assert_str_eq(o.think, " plan\n");
    cr_assert_str_eq(o.text, "Four.\n");
    split p = {{0}, {0}};
    hr_think_init(&f, "<think>", "</think>", true, true);
    hr_think_feed(&f, "\n still thinking  \n", 19, collect, &p);
    hr_think_flush(&f, collect, &p);
    cr_assert_str_eq(p.think, "still thinking");
    cr_assert_str_eq(p.text, "");
}

Test(chat, policy_names) {
    hr_ctx_policy p;
    cr_assert(hr_ctx_policy_from_name("drop-oldest", &p) && p == HR_CTX_DROP_OLDEST);
    cr_assert(hr_ctx_policy_from_name("summarize", &p) && p == HR_CTX_SUMMARIZE);
    cr_assert(hr_ctx_policy_from_name("error", &p) && p == HR_CTX_ERROR);
    cr_assert(!hr_ctx_policy_from_name("truncate", &p));
}

Test(chat, family_prompt_thinking_and_force_ids) {
    hr_chat_family g = {.open = "<|channel>thought", .close = "<channel|>"}, q = {.open = "<think>", .close = "</think>"};
    /* Gemma 4 without enable_thinking closes an empty channel; Qwen 3.5 leaves <think> open. */
    const char *gp = "<|turn>model\n<|channel>thought\n<channel|>", *qp = "<think>\nx\n</think>\n\nA<|im_start|>assistant\n<think>\n";
    cr_assert(!hr_chat_family_prompt_thinking(&g, gp, strlen(gp)));
    cr_assert(hr_chat_family_prompt_thinking(&q, qp, strlen(qp)));
    cr_assert(!hr_chat_family_prompt_thinking(&q, qp, strlen(qp) - 8));
    cr_assert(!hr_chat_family_prompt_thinking(&q, "", 0));
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_error err;
    cr_assert_eq(hr_force_ids_parse("3, 1,4", 10, &ids, &n, &err), HEARTH_OK);
    cr_assert(n == 3 && ids[0] == 3 && ids[1] == 1 && ids[2] == 4);
    free(ids);
    cr_assert_neq(hr_force_ids_parse("3,10", 10, &ids, &n, &err), HEARTH_OK);
    cr_assert_neq(hr_force_ids_parse("3,x", 10, &ids, &n, &err), HEARTH_OK);
    cr_assert_neq(hr_force_ids_parse("-1", 10, &ids, &n, &err), HEARTH_OK);
    cr_assert_eq(hr_force_ids_parse(NULL, 10, &ids, &n, &err), HEARTH_OK);
    cr_assert(n == 0 && ids == NULL);
}
