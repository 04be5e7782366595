#include <criterion/criterion.h>
#include <string.h>

#include "common/error.h"

Test(error, fail_formats_and_returns_status) {
    hearth_error err = {{0}};
    hearth_status st = hr_fail(&err, HEARTH_ERR_FORMAT, "bad magic at offset %d", 0);
    cr_assert_eq(st, HEARTH_ERR_FORMAT);
    cr_assert_str_eq(err.message, "bad magic at offset 0");
}

Test(error, prefix_keeps_message_and_bounds) {
    hearth_error err = {{0}};
    hr_fail(&err, HEARTH_ERR_IO, "cannot open");
    hr_error_prefix(&err, "%s", "model.gguf");
    cr_assert_str_eq(err.message, "model.gguf: cannot open");
    char longp[1000];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    hr_error_prefix(&err, "%s", longp);
    cr_assert_lt(strlen(err.message), sizeof err.message);
}

Test(error, fail_accepts_null) { cr_assert_eq(hr_fail(NULL, HEARTH_ERR_IO, "x"), HEARTH_ERR_IO); }
