/* Conversation helpers without a model: prefix comparison, message arrays,
 * turn boundaries, the <think> splitter. */
#include <errno.h>
#include <string.h>

#include "chat/chat.h"
#include "common/error.h"

size_t hr_chat_common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

bool hr_ctx_policy_from_name(const char *name, hr_ctx_policy *out) {
    if (!strcmp(name, "error")) *out = HR_CTX_ERROR;
    else if (!strcmp(name, "drop-oldest")) *out = HR_CTX_DROP_OLDEST;
    else if (!strcmp(name, "summarize")) *out = HR_CTX_SUMMARIZE;
    else return false;
    return true;
}

static const char *role_of(const json_t *msg) {
    return json_string_value(json_object_get(msg, "role"));
}

hearth_status hr_chat_messages_check(const json_t *msgs, hearth_error *err) {
    if (!json_is_array(msgs)) return hr_fail(err, HEARTH_ERR_FORMAT, "messages must be a JSON array of {role, content}");
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (!json_is_object(m)) return hr_fail(err, HEARTH_ERR_FORMAT, "message %zu is not a JSON object", i);
        const char *r = role_of(m);
        if (!r) return hr_fail(err, HEARTH_ERR_FORMAT, "message %zu has no string \"role\"", i);
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "tool"))
            return hr_fail(err, HEARTH_ERR_FORMAT, "message %zu has role '%.40s' (expected system, user, assistant or tool)",
                           i, r);
        if (!json_is_string(json_object_get(m, "content")))
            return hr_fail(err, HEARTH_ERR_FORMAT, "message %zu has no string \"content\"", i);
    }
    return HEARTH_OK;
}

hearth_status hr_chat_messages_load(const char *path, json_t **out, hearth_error *err) {
    *out = NULL;
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line <= 0) return hr_fail(err, HEARTH_ERR_IO, "%s: %s", path, je.text);
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: invalid JSON at line %d column %d: %s", path, je.line, je.column,
                       je.text);
    }
    json_t *msgs = root;
    if (json_is_object(root)) {
        msgs = json_object_get(root, "messages");
        if (!msgs) {
            json_decref(root);
            return hr_fail(err, HEARTH_ERR_FORMAT, "%s: expected an array of messages or an object with \"messages\"",
                           path);
        }
    }
    hearth_error e2;
    if (hr_chat_messages_check(msgs, &e2)) {
        json_decref(root);
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: %s", path, e2.message);
    }
    json_incref(msgs);
    json_decref(root);
    *out = msgs;
    return HEARTH_OK;
}

hearth_status hr_chat_messages_save(const json_t *msgs, const char *path, hearth_error *err) {
    if (json_dump_file(msgs, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return hr_fail(err, HEARTH_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    return HEARTH_OK;
}

bool hr_chat_oldest_turn(const json_t *msgs, size_t *first, size_t *end) {
    size_t n = json_array_size(msgs);
    size_t start = 0;
    const char *r0 = n ? role_of(json_array_get(msgs, 0)) : NULL;
    if (r0 && !strcmp(r0, "system")) start = 1;
    size_t last_user = n;
    for (size_t i = n; i-- > start;) {
        const char *r = role_of(json_array_get(msgs, i));
        if (r && !strcmp(r, "user")) {
            last_user = i;
            break;
        }
    }
    if (start >= last_user) return false;
    size_t e = start + 1;
    while (e < last_user) {
        const char *r = role_of(json_array_get(msgs, e));
        if (r && !strcmp(r, "user")) break;
        e++;
    }
    *first = start;
    *end = e;
    return true;
}

/* ---- <think> splitting ----------------------------------------------------- */

static const char OPEN[] = "<think>", CLOSE[] = "</think>";

void hr_think_feed(hr_think_filter *f, const char *s, size_t n, hr_chat_emit_fn emit, void *ud) {
    for (size_t i = 0; i < n; i++) {
        const char *tag = f->thinking ? CLOSE : OPEN;
        size_t tl = strlen(tag);
        char ch = s[i];
        if (ch == tag[f->n_pend]) {
            f->pend[f->n_pend++] = ch;
            if (f->n_pend == tl) {
                f->n_pend = 0;
                f->thinking = !f->thinking;
            }
            continue;
        }
        /* Not the tag after all: what was held back is ordinary text. The
         * tags start with '<' and have no other '<', so restarting only needs
         * to consider the current character. */
        if (f->n_pend) {
            emit(ud, f->pend, f->n_pend, f->thinking);
            f->n_pend = 0;
        }
        if (ch == tag[0]) {
            f->pend[f->n_pend++] = ch;
            continue;
        }
        size_t j = i + 1;
        while (j < n && s[j] != '<') j++;
        emit(ud, s + i, j - i, f->thinking);
        i = j - 1;
    }
}

void hr_think_flush(hr_think_filter *f, hr_chat_emit_fn emit, void *ud) {
    if (f->n_pend) emit(ud, f->pend, f->n_pend, f->thinking);
    f->n_pend = 0;
}
