#include "models/arch.h"

#include <string.h>

static const hr_arch arches[] = {
    {.name = "llama", .rope = HR_ROPE_NORM, .rope_freqs = true},
    {.name = "mistral3", .rope = HR_ROPE_NORM, .rope_freqs = true, .yarn_keys = true, .attn_temp = true},
    {.name = "qwen2", .rope = HR_ROPE_NEOX},
    {.name = "qwen3", .rope = HR_ROPE_NEOX, .qk_norm = true},
};

const hr_arch *hr_arch_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (!strcmp(arches[i].name, name)) return &arches[i];
    return NULL;
}

const char *hr_arch_supported_list(void) { return "llama, mistral3, qwen2, qwen3"; }
