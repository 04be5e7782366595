#include "models/arch.h"

#include <string.h>

static const hr_arch arches[] = {
    {.name = "llama", .rope = HR_ROPE_NORM, .rope_freqs = true},
    {.name = "mistral3", .rope = HR_ROPE_NORM, .rope_freqs = true, .yarn_keys = true, .attn_temp = true},
    {.name = "qwen2", .rope = HR_ROPE_NEOX},
    {.name = "qwen3", .rope = HR_ROPE_NEOX, .qk_norm = true},
    {.name = "qwen3moe", .rope = HR_ROPE_NEOX, .qk_norm = true, .moe = true, .moe_norm_w = true},
    {.name = "qwen2moe", .rope = HR_ROPE_NEOX, .moe = true},
    {.name = "qwen35", .rope = HR_ROPE_NEOX, .qk_norm = true, .gdn = true},
    {.name = "qwen35moe", .rope = HR_ROPE_NEOX, .qk_norm = true, .gdn = true, .moe = true, .moe_norm_w = true},
    {.name = "nemotron_h", .rope = HR_ROPE_NEOX, .mamba2 = true},
    {.name = "nemotron_h_moe", .rope = HR_ROPE_NEOX, .mamba2 = true, .moe = true, .moe_sigmoid = true},
};

const hr_arch *hr_arch_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (!strcmp(arches[i].name, name)) return &arches[i];
    return NULL;
}

const char *hr_arch_supported_list(void) { return "llama, mistral3, qwen2, qwen3, qwen3moe, qwen2moe, qwen35, qwen35moe, nemotron_h, nemotron_h_moe"; }
