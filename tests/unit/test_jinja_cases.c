/* Every real chat template in ../shared/templates rendered with every context
 * of cases.json must equal, byte for byte, what @huggingface/jinja 0.5.11
 * rendered (NAME.expected.json), or raise the same error message. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/chat_template.h"
#include "text/jinja.h"

#define DIR_T "../shared/templates"
/* The expected files were rendered on 2026-11-24 (Mistral's template prints
 * strftime_now("%Y-%m-%d")): pin the clock to that day, noon UTC. */
#define RENDER_DAY 1795521600

static int check_template(const char *name, json_t *cases, int *total) {
    char path[512];
    snprintf(path, sizeof path, DIR_T "/%s.jinja", name);
    char *src;
    size_t len;
    hearth_error err = {{0}};
    cr_assert_eq(hr_read_file(path, &src, &len, &err), HEARTH_OK, "%s", err.message);
    hr_jinja *t;
    int line = 0;
    cr_assert_eq(hr_jinja_parse(src, len, &t, &err, &line), HEARTH_OK, "%s: line %d: %s", name, line, err.message);
    free(src);
    snprintf(path, sizeof path, DIR_T "/%s.expected.json", name);
    json_error_t je;
    json_t *expected = json_load_file(path, 0, &je);
    cr_assert(expected, "%s: %s", path, je.text);
    int failures = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *cname = json_string_value(json_object_get(c, "name"));
        json_t *exp = NULL, *e;
        size_t k;
        json_array_foreach(expected, k, e) {
            if (!strcmp(json_string_value(json_object_get(e, "name")), cname)) exp = e;
        }
        cr_assert(exp, "%s: no expectation for case %s", name, cname);
        hr_jinja_opts o = {.now = RENDER_DAY, .utc = 1};
        char *out = NULL;
        size_t n = 0;
        hearth_status st = hr_jinja_render(t, json_object_get(c, "context"), &o, &out, &n, &err, &line);
        const char *want_err = json_string_value(json_object_get(exp, "error"));
        json_t *want_out = json_object_get(exp, "output");
        (*total)++;
        if (want_err) {
            if (st == HEARTH_OK || strcmp(err.message, want_err)) {
                failures++;
                cr_log_error("%s / %s: expected error \"%s\", got %s", name, cname, want_err,
                             st == HEARTH_OK ? "output" : err.message);
            }
        } else if (st != HEARTH_OK) {
            failures++;
            cr_log_error("%s / %s: line %d: %s", name, cname, line, err.message);
        } else if (n != json_string_length(want_out) || memcmp(out, json_string_value(want_out), n)) {
            failures++;
            cr_log_error("%s / %s: output differs", name, cname);
        }
        free(out);
    }
    json_decref(expected);
    hr_jinja_free(t);
    return failures;
}

Test(jinja_cases, every_template_every_case_matches_hugging_face) {
    json_error_t je;
    json_t *cases = json_load_file(DIR_T "/cases.json", JSON_DECODE_INT_AS_REAL, &je);
    cr_assert(cases, "cases.json: %s", je.text);
    DIR *d = opendir(DIR_T);
    cr_assert(d);
    struct dirent *ent;
    int failures = 0, total = 0, templates = 0;
    while ((ent = readdir(d))) {
        size_t l = strlen(ent->d_name);
        if (l < 7 || strcmp(ent->d_name + l - 6, ".jinja")) continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(l - 6), ent->d_name);
        failures += check_template(name, cases, &total);
        templates++;
    }
    closedir(d);
    json_decref(cases);
    cr_log_info("%d templates, %d renders, %d differ", templates, total, failures);
    cr_assert_geq(templates, 6);
    cr_assert_eq(failures, 0, "%d of %d renders differ from Hugging Face", failures, total);
}
