/* Prefix reuse for the recurrent hybrids: a recurrent state summarises every
 * token so far and cannot be cut back to a shorter prefix the way a KV cache
 * can, so sessions keep a few snapshots of it at token positions and restore
 * the latest one at or before the prefix a caller wants to keep; the caller
 * then re-evaluates from there (hearth_session_reusable). */
#include <stdlib.h>
#include <string.h>

#include "models/hybrid_internal.h"

void hr_hy_checkpoint(hearth_session *s) {
    hr_qwen35_session *qs = s->qwen35;
    if (!qs || !qs->state_floats) return;
    int slot = -1;
    for (int i = 0; i < HR_HY_CKPT; i++)
        if (qs->ckpt_pos[i] == s->n_past) slot = i;
    for (int i = 0; i < HR_HY_CKPT && slot < 0; i++)
        if (qs->ckpt_pos[i] < 0) slot = i;
    if (slot < 0) { /* all in use: replace the oldest */
        slot = 0;
        for (int i = 1; i < HR_HY_CKPT; i++)
            if (qs->ckpt_age[i] < qs->ckpt_age[slot]) slot = i;
    }
    if (!qs->ckpt[slot] && !(qs->ckpt[slot] = malloc(qs->state_floats * sizeof(float)))) return;
    memcpy(qs->ckpt[slot], qs->state, qs->state_floats * sizeof(float));
    qs->ckpt_pos[slot] = s->n_past;
    qs->ckpt_age[slot] = ++qs->ckpt_clock;
}

int32_t hr_hy_reusable(const hearth_session *s, int32_t n_keep) {
    const hr_qwen35_session *qs = s->qwen35;
    if (n_keep >= s->n_past) return s->n_past;
    int32_t best = 0;
    for (int i = 0; i < HR_HY_CKPT; i++)
        if (qs->ckpt_pos[i] <= n_keep && qs->ckpt_pos[i] > best) best = qs->ckpt_pos[i];
    return best;
}

bool hr_hy_restore(hearth_session *s, int32_t n_keep) {
    hr_qwen35_session *qs = s->qwen35;
    if (n_keep == s->n_past) return true;
    int from = -1;
    for (int i = 0; i < HR_HY_CKPT; i++)
        if (qs->ckpt_pos[i] == n_keep) from = i;
    if (n_keep != 0 && from < 0) return false;
    if (from >= 0) memcpy(qs->state, qs->ckpt[from], qs->state_floats * sizeof(float));
    else hr_qwen35_session_reset(qs);
    /* later snapshots belong to the tokens being dropped */
    for (int i = 0; i < HR_HY_CKPT; i++)
        if (qs->ckpt_pos[i] > n_keep) qs->ckpt_pos[i] = -1;
    return true;
}
