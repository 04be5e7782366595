/* Server pieces that need no model: key comparison, rate limiting, metrics text, buffers. */
#include <criterion/criterion.h>
#include <string.h>

#include "serve/request.h"

Test(serve, key_equal) {
    cr_assert(hs_key_equal("abc", "abc"));
    cr_assert(!hs_key_equal("abd", "abc"));
    cr_assert(!hs_key_equal("ab", "abc"));
    cr_assert(!hs_key_equal("abcd", "abc"));
    cr_assert(!hs_key_equal("", "abc"));
}

Test(serve, ratelimit_bucket) {
    hs_ratelimit *r = hs_ratelimit_new(60); /* one per second, burst 60 */
    int retry = 0;
    for (int i = 0; i < 60; i++) cr_assert(hs_ratelimit_take(r, "a", 100.0, &retry));
    cr_assert(!hs_ratelimit_take(r, "a", 100.0, &retry));
    cr_assert_eq(retry, 1);
    cr_assert(hs_ratelimit_take(r, "b", 100.0, &retry), "clients have separate buckets");
    cr_assert(!hs_ratelimit_take(r, "a", 100.5, &retry));
    cr_assert(hs_ratelimit_take(r, "a", 101.01, &retry), "refilled after a second");
    cr_assert(!hs_ratelimit_take(r, "a", 101.02, &retry));
    hs_ratelimit_free(r);
    cr_assert(hs_ratelimit_take(NULL, "a", 0, &retry), "no limiter: always allowed");
}

Test(serve, metrics_text) {
    hs_metrics *mx = hs_metrics_new();
    hs_metrics_request(mx, "/v1/chat/completions", 200);
    hs_metrics_request(mx, "/v1/chat/completions", 200);
    hs_metrics_request(mx, "/v1/chat/completions", 400);
    hs_metrics_tokens(mx, 10, 5);
    hs_metrics_ttft(mx, 0.03);  /* bucket le=0.05 */
    hs_metrics_ttft(mx, 100.0); /* only +Inf */
    hs_gauges g = {.queue_depth = 2, .active_slots = 3, .n_slots = 4, .kv_used = 25, .kv_total = 100};
    hs_buf b = {0};
    cr_assert(hs_metrics_render(mx, &g, &b));
    const char *want[] = {"hearth_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 2\n",
                          "hearth_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"} 1\n",
                          "hearth_prompt_tokens_total 10\n", "hearth_generated_tokens_total 5\n",
                          "hearth_time_to_first_token_seconds_bucket{le=\"0.025\"} 0\n",
                          "hearth_time_to_first_token_seconds_bucket{le=\"0.05\"} 1\n",
                          "hearth_time_to_first_token_seconds_bucket{le=\"60\"} 1\n",
                          "hearth_time_to_first_token_seconds_bucket{le=\"+Inf\"} 2\n",
                          "hearth_time_to_first_token_seconds_count 2\n", "hearth_queue_depth 2\n",
                          "hearth_active_slots 3\n", "hearth_kv_cache_usage_ratio 0.250000\n"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) cr_assert(strstr(b.p, want[i]), "missing: %s", want[i]);
    hs_buf_free(&b);
    hs_metrics_free(mx);
}

Test(serve, buffers_and_lossy_json) {
    hs_buf b = {0};
    for (int i = 0; i < 1000; i++) hs_buf_printf(&b, "%d,", i);
    cr_assert_eq(b.len, strlen(b.p));
    cr_assert(!strncmp(b.p, "0,1,2,", 6));
    hs_buf_free(&b);
    json_t *j = hs_json_lossy("a\xff" "b", 3);
    cr_assert_str_eq(json_string_value(j), "a\xEF\xBF\xBD" "b");
    json_decref(j);
}

Test(serve, error_shape) {
    hs_reply r = hs_reply_error(400, "invalid_request_error", NULL, "bad %s", "thing");
    cr_assert_eq(r.status, 400);
    json_t *o = json_loads(r.body, 0, NULL);
    json_t *e = json_object_get(o, "error");
    cr_assert_str_eq(json_string_value(json_object_get(e, "message")), "bad thing");
    cr_assert_str_eq(json_string_value(json_object_get(e, "type")), "invalid_request_error");
    cr_assert(json_is_null(json_object_get(e, "param")) && json_is_null(json_object_get(e, "code")));
    json_decref(o);
    free(r.body);
}
