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

/* ---- thinking splitting ---------------------------------------------------- */

static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

static void out_ws(hr_think_filter *f, hr_chat_emit_fn emit, void *ud) {
    if (f->n_ws) emit(ud, f->ws, f->n_ws, f->thinking);
    f->n_ws = 0;
}

/* Ordinary text of the current segment, with the trimming rules applied. */
static void out_text(hr_think_filter *f, const char *s, size_t n, hr_chat_emit_fn emit, void *ud) {
    if (f->skip_ws) {
        while (n && is_ws(*s)) s++, n--;
        if (!n) return;
        f->skip_ws = false;
    }
    if (!f->trim || !f->thinking) {
        if (n) emit(ud, s, n, f->thinking);
        return;
    }
    /* Thinking: trailing white space waits for what follows (dropped before the close marker). */
    size_t body = n;
    while (body && is_ws(s[body - 1])) body--;
    if (body) {
        out_ws(f, emit, ud);
        emit(ud, s, body, true);
    }
    for (size_t i = body; i < n; i++) {
        if (f->n_ws == sizeof f->ws) out_ws(f, emit, ud);
        f->ws[f->n_ws++] = s[i];
    }
}

static void toggle(hr_think_filter *f) {
    f->thinking = !f->thinking;
    f->n_ws = 0; /* white space before a marker is dropped (trim only holds any) */
    f->skip_ws = f->trim || f->trim_markers;
}

void hr_think_init(hr_think_filter *f, const char *open, const char *close, bool thinking, bool trim) {
    *f = (hr_think_filter){.thinking = thinking, .trim = trim, .open = open, .close = close, .skip_ws = trim && thinking};
}

void hr_think_feed(hr_think_filter *f, const char *s, size_t n, hr_chat_emit_fn emit, void *ud) {
    const char *open = f->open ? f->open : "<think>", *close = f->close ? f->close : "</think>";
    while (n) {
        const char *tag = f->thinking ? close : open;
        size_t tl = strlen(tag);
        /* Held-back prefix plus new bytes: look for the marker in that window. */
        char win[sizeof f->pend + 64];
        size_t take = n < 64 ? n : 64, wn = f->n_pend + take;
        memcpy(win, f->pend, f->n_pend);
        memcpy(win + f->n_pend, s, take);
        const char *hit = memmem(win, wn, tag, tl);
        if (hit) {
            size_t before = (size_t)(hit - win), used = before + tl - f->n_pend;
            out_text(f, win, before, emit, ud);
            f->n_pend = 0;
            toggle(f);
            s += used;
            n -= used;
            continue;
        }
        /* Keep the longest tail of the window that could start the marker. */
        size_t keep = tl - 1 < wn ? tl - 1 : wn;
        while (keep && memcmp(win + wn - keep, tag, keep) != 0) keep--;
        out_text(f, win, wn - keep, emit, ud);
        memmove(f->pend, win + wn - keep, keep);
        f->n_pend = keep;
        s += take;
        n -= take;
    }
}

void hr_think_flush(hr_think_filter *f, hr_chat_emit_fn emit, void *ud) {
    if (f->n_pend) out_text(f, f->pend, f->n_pend, emit, ud);
    f->n_pend = 0;
    if (!f->trim) out_ws(f, emit, ud);
    f->n_ws = 0;
}
