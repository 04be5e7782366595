/*
 * hearth: a runtime for small language models on ordinary hardware.
 *
 * Public API of libhearth. Every handle is opaque. Every function that can
 * fail returns a hearth_status and, when given a hearth_error, leaves a
 * human-readable message in it (one line, no trailing newline).
 */
#ifndef HEARTH_H
#define HEARTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hearth_status {
    HEARTH_OK = 0,
    HEARTH_ERR_IO = 1,          /* file missing, unreadable, write failed */
    HEARTH_ERR_FORMAT = 2,      /* malformed or corrupt input (GGUF, JSON, ...) */
    HEARTH_ERR_UNSUPPORTED = 3, /* valid input we do not handle (architecture, type) */
    HEARTH_ERR_NOMEM = 4,       /* allocation failed or request exceeds memory */
    HEARTH_ERR_INVALID = 5,     /* invalid argument from the caller */
    HEARTH_ERR_RANGE = 6,       /* value out of range (token id, context length) */
    HEARTH_ERR_MISSING = 7,     /* a required key or tensor is absent */
    HEARTH_ERR_CANCELLED = 8,   /* the caller asked to stop */
} hearth_status;

/* Error message holder owned by the caller. */
typedef struct hearth_error {
    char message[512];
} hearth_error;

/* Short name of a status code ("format error", ...). */
const char *hearth_status_name(hearth_status st);

/* Library version string, e.g. "0.1.0". */
const char *hearth_version(void);

#ifdef __cplusplus
}
#endif
#endif /* HEARTH_H */
