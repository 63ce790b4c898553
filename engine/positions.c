/* positions.c — rope positions as llama.cpp's mtmd assigns them
 * (spec qwen3vl-moe.md §4): text tokens (p, p, p, 0); the image run starting
 * at position P gives token (row, col) = (P, P + row, P + col, 0) and
 * consumes max(nx, ny) positions. Planar layout [t… | h… | w… | e…]. */
#include "engine_internal.h"

int mvk_prompt_positions(int n, int img_start, int nx, int ny, int pos0, int32_t *pos) {
    int p = pos0;
    int n_img = nx * ny;
    for (int i = 0; i < n;) {
        if (n_img > 0 && i == img_start) {
            for (int j = 0; j < n_img; j++) {
                pos[i + j] = p;
                pos[n + i + j] = p + j / nx;
                pos[2 * n + i + j] = p + j % nx;
                pos[3 * n + i + j] = 0;
            }
            p += nx > ny ? nx : ny;
            i += n_img;
            continue;
        }
        pos[i] = pos[n + i] = pos[2 * n + i] = p;
        pos[3 * n + i] = 0;
        p++;
        i++;
    }
    return p;
}

int mvk_prompt_positions_hp(const mvk_text_hparams *hp, int n, int img_start, int nx, int ny, int pos0, int32_t *pos) {
    /* without M-RoPE an image row is one more position, like a text token (mtmd: the chunk's n_pos = n_tokens) */
    return mvk_prompt_positions(n, hp->rope_mode == MVK_ROPE_IMROPE ? img_start : -1, nx, ny, pos0, pos);
}
