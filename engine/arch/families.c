/* families.c — the text model families moevk runs, one descriptor each (engine/arch/<arch>.c). */
#include <string.h>

#include "family.h"

extern const mvk_family mvk_family_qwen3vlmoe, mvk_family_qwen3vl, mvk_family_qwen3moe, mvk_family_qwen3;
extern const mvk_family mvk_family_qwen35moe, mvk_family_qwen35, mvk_family_gemma4;

static const mvk_family *const g_families[] = {&mvk_family_qwen3vlmoe, &mvk_family_qwen3vl, &mvk_family_qwen3moe,
                                               &mvk_family_qwen3,      &mvk_family_qwen35moe, &mvk_family_qwen35,
                                               &mvk_family_gemma4};

/* Qwen's ChatML (the Qwen3 / Qwen3-VL chat templates, no system turn, no thinking block) */
const mvk_prompt_format mvk_prompt_chatml_qwen_vl = {
    .system_open = "<|im_start|>system\n",
    .turn_end = "<|im_end|>\n",
    .user_open = "<|im_start|>user\n",
    .assistant_open = "<|im_end|>\n<|im_start|>assistant\n",
    .image_start = "<|vision_start|>",
    .image_pad = "<|image_pad|>",
    .image_end = "<|vision_end|>",
};

const mvk_family *mvk_family_find(const char *arch, size_t len) {
    for (size_t i = 0; i < sizeof g_families / sizeof g_families[0]; i++)
        if (strlen(g_families[i]->arch) == len && !memcmp(g_families[i]->arch, arch, len)) return g_families[i];
    return NULL;
}

void mvk_family_list(char *buf, size_t cap) {
    size_t o = 0;
    if (!cap) return;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof g_families / sizeof g_families[0]; i++) {
        size_t n = strlen(g_families[i]->arch);
        if (o + n + 3 > cap) break;
        if (i) memcpy(buf + o, ", ", 2), o += 2;
        memcpy(buf + o, g_families[i]->arch, n + 1);
        o += n;
    }
}
