#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

hearth_status hr_fail(hearth_error *err, hearth_status st, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

void hr_error_prefix(hearth_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the old message right and put the prefix in front; truncation
     * is acceptable, the message stays one readable line. */
    size_t cap = sizeof err->message - 1;
    size_t plen = strlen(prefix), olen = strnlen(err->message, cap);
    if (plen + 2 > cap) plen = cap - 2;
    if (plen + 2 + olen > cap) olen = cap - plen - 2;
    memmove(err->message + plen + 2, err->message, olen);
    memcpy(err->message, prefix, plen);
    memcpy(err->message + plen, ": ", 2);
    err->message[plen + 2 + olen] = '\0';
}

const char *hearth_status_name(hearth_status st) {
    switch (st) {
    case HEARTH_OK: return "ok";
    case HEARTH_ERR_IO: return "I/O error";
    case HEARTH_ERR_FORMAT: return "format error";
    case HEARTH_ERR_UNSUPPORTED: return "unsupported";
    case HEARTH_ERR_NOMEM: return "out of memory";
    case HEARTH_ERR_INVALID: return "invalid argument";
    case HEARTH_ERR_RANGE: return "out of range";
    case HEARTH_ERR_MISSING: return "missing";
    case HEARTH_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

const char *hearth_version(void) { return "0.1.0"; }
