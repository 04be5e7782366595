/* Shared helpers of the subcommands. */
#ifndef HR_CLI_H
#define HR_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Prints "hearth: MESSAGE" on stderr (one line) and returns exit status 1. */
int cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict number parsing for flags; print a clear error and return false on junk. */
bool cli_parse_i64(const char *flag, const char *s, int64_t min, int64_t max, int64_t *out);
bool cli_parse_f32(const char *flag, const char *s, float *out);

#endif
