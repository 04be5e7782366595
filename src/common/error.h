/* Status and error-message helpers shared by every module. */
#ifndef HR_ERROR_H
#define HR_ERROR_H

#include "hearth.h"

/* Formats a message into err (when non-NULL) and returns st, so that a
 * failing path reads: return hr_fail(err, HEARTH_ERR_FORMAT, "...", ...). */
hearth_status hr_fail(hearth_error *err, hearth_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to an existing message (for adding the file name etc.). */
void hr_error_prefix(hearth_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
