#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cli_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("hearth: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

bool cli_parse_i64(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max) {
        cli_die("%s expects an integer in [%lld, %lld], got '%s'", flag, (long long)min, (long long)max,
                s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_f32(const char *flag, const char *s, float *out) {
    char *end = NULL;
    errno = 0;
    float v = s ? strtof(s, &end) : 0;
    if (!s || !*s || *end || errno || !isfinite(v)) {
        cli_die("%s expects a number, got '%s'", flag, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}
