/* mtmd_chat_ref.c — llama.cpp's own multimodal prompt evaluation (libmtmd + its helper, built from the source
 * bundled in npm node-llama-cpp by build_mtmd.sh) on a prompt with any number of images, then greedy decoding:
 * the reference for where moevk places several images and which positions their tokens get.
 *
 *   mtmd_chat_ref TEXT.gguf MMPROJ.gguf PROMPT.txt N_GREEDY OUT.i32 [IMAGE_RGB.u8 W H]... [--min-tokens N]
 *                 [--all-logits LOGITS.f32]
 *
 * PROMPT.txt is the prompt as the chat template renders it, with mtmd's default marker (<__media__>) where each
 * image goes, in order; mtmd_tokenize wraps each image in the model's image start/end tokens and
 * mtmd_helper_eval_chunks evaluates the chunks (text by token, images through the encoder) with the positions
 * llama.cpp assigns. OUT.i32 = the N_GREEDY greedy tokens (int32), each decoded one at a time. --all-logits: the
 * prompt's last chunk (text after the last image) is decoded as one batch with logits at every token, written as
 * float32 [n_tokens_of_that_chunk][n_vocab]; the chunks before it through the helper as usual. Prints JSON:
 * prompt positions used (n_past), prompt tokens, image tokens per image, and the chunks (a text chunk's ids, an
 * image chunk's token count). CPU only, f32 KV cache.
 * GGML_BACKEND_DIR = directory of the prebuilt libggml-cpu-*.so (build_mtmd.sh's wrapper sets it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

#define MAX_IMAGES 8

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
    if (!b || fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    b[sz] = 0;
    *n = (size_t)sz;
    return b;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s TEXT.gguf MMPROJ.gguf PROMPT.txt N_GREEDY OUT.i32 [IMAGE_RGB.u8 W H]... [--min-tokens N]\n",
                argv[0]);
        return 2;
    }
    const char *text_path = argv[1], *mmproj_path = argv[2], *prompt_path = argv[3], *out_path = argv[5];
    int n_greedy = atoi(argv[4]), min_tokens = -1, n_img = 0;
    const char *all_logits = NULL;
    mtmd_bitmap *bmps[MAX_IMAGES];
    for (int i = 6; i < argc; i++) {
        if (!strcmp(argv[i], "--min-tokens") && i + 1 < argc) {
            min_tokens = atoi(argv[++i]);
            continue;
        }
        if (!strcmp(argv[i], "--all-logits") && i + 1 < argc) {
            all_logits = argv[++i];
            continue;
        }
        if (i + 2 >= argc || n_img == MAX_IMAGES) {
            fprintf(stderr, "images come as IMAGE_RGB.u8 W H (at most %d)\n", MAX_IMAGES);
            return 2;
        }
        int w = atoi(argv[i + 1]), h = atoi(argv[i + 2]);
        size_t n = 0;
        unsigned char *rgb = (unsigned char *)read_all(argv[i], &n);
        if (!rgb || w <= 0 || h <= 0 || n != (size_t)w * (size_t)h * 3) {
            fprintf(stderr, "cannot read a %dx%d RGB image from %s\n", w, h, argv[i]);
            return 1;
        }
        bmps[n_img++] = mtmd_bitmap_init((uint32_t)w, (uint32_t)h, rgb);
        free(rgb);
        i += 2;
    }
    size_t plen = 0;
    char *prompt = read_all(prompt_path, &plen);
    if (!prompt || n_greedy < 0) {
        fprintf(stderr, "cannot read %s\n", prompt_path);
        return 1;
    }
    /* node-llama-cpp's prebuilt ggml loads its CPU backend variants (libggml-cpu-*.so) at run time */
    const char *bdir = getenv("GGML_BACKEND_DIR");
    if (bdir) ggml_backend_load_all_from_path(bdir);
    else ggml_backend_load_all();
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(text_path, mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", text_path);
        return 1;
    }
    struct llama_context_params lp = llama_context_default_params();
    lp.n_ctx = 1024;
    lp.n_batch = 512;
    lp.n_threads = lp.n_threads_batch = 1;
    lp.type_k = lp.type_v = GGML_TYPE_F32;
    struct llama_context *lctx = llama_init_from_model(model, lp);
    struct mtmd_context_params cp = mtmd_context_params_default();
    cp.use_gpu = false;
    cp.n_threads = 1;
    cp.print_timings = false;
    cp.warmup = false;
    if (min_tokens > 0) cp.image_min_tokens = min_tokens;
    mtmd_context *ctx = lctx ? mtmd_init_from_file(mmproj_path, model, cp) : NULL;
    if (!ctx) {
        fprintf(stderr, "cannot make the llama / mtmd contexts for %s\n", mmproj_path);
        return 1;
    }
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    mtmd_input_text txt = {.text = prompt, .text_len = plen, .add_special = false, .parse_special = true};
    if (mtmd_tokenize(ctx, chunks, &txt, (const mtmd_bitmap **)bmps, (size_t)n_img) != 0) {
        fprintf(stderr, "mtmd_tokenize failed (markers vs %d images?)\n", n_img);
        return 1;
    }
    llama_pos n_past = 0;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);
    size_t n_chunks = mtmd_input_chunks_size(chunks);
    if (!all_logits) {
        if (mtmd_helper_eval_chunks(ctx, lctx, chunks, 0, 0, 512, true, &n_past) != 0) {
            fprintf(stderr, "mtmd_helper_eval_chunks failed\n");
            return 1;
        }
    } else {
        const mtmd_input_chunk *last = n_chunks ? mtmd_input_chunks_get(chunks, n_chunks - 1) : NULL;
        if (!last || mtmd_input_chunk_get_type(last) != MTMD_INPUT_CHUNK_TYPE_TEXT) {
            fprintf(stderr, "--all-logits: the prompt must end with text\n");
            return 1;
        }
        for (size_t i = 0; i + 1 < n_chunks; i++)
            if (mtmd_helper_eval_chunk_single(ctx, lctx, mtmd_input_chunks_get(chunks, i), n_past, 0, 512, false, &n_past) != 0) {
                fprintf(stderr, "mtmd_helper_eval_chunk_single failed at chunk %zu\n", i);
                return 1;
            }
        size_t nt = 0;
        const llama_token *toks = mtmd_input_chunk_get_tokens_text(last, &nt);
        struct llama_batch b = llama_batch_init((int32_t)nt, 0, 1);
        for (size_t i = 0; i < nt; i++) {
            b.token[i] = toks[i];
            b.pos[i] = n_past + (llama_pos)i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        b.n_tokens = (int32_t)nt;
        if (llama_decode(lctx, b) != 0) {
            fprintf(stderr, "llama_decode of the last text chunk failed\n");
            return 1;
        }
        n_past += (llama_pos)nt;
        FILE *lf = fopen(all_logits, "wb");
        for (size_t i = 0; lf && i < nt; i++)
            if (fwrite(llama_get_logits_ith(lctx, (int32_t)i), sizeof(float), (size_t)n_vocab, lf) != (size_t)n_vocab) {
                fclose(lf);
                lf = NULL;
            }
        if (!lf || fclose(lf) != 0) {
            fprintf(stderr, "cannot write %s\n", all_logits);
            return 1;
        }
        llama_batch_free(b);
    }
    size_t n_tokens = mtmd_helper_get_n_tokens(chunks);
    int32_t *out = malloc(sizeof(int32_t) * (size_t)(n_greedy + 1));
    int n_out = 0;
    for (int i = 0; i < n_greedy; i++) {
        const float *lg = llama_get_logits_ith(lctx, -1);
        int best = 0;
        for (int v = 1; v < n_vocab; v++)
            if (lg[v] > lg[best]) best = v;
        out[n_out++] = best;
        if (llama_vocab_is_eog(vocab, best) || i + 1 == n_greedy) break;
        llama_token t = best;
        struct llama_batch b = llama_batch_get_one(&t, 1);
        llama_pos pos = n_past++;
        b.pos = &pos; /* one position per text token: llama.cpp fills the other M-RoPE sections */
        if (llama_decode(lctx, b) != 0) {
            fprintf(stderr, "llama_decode failed at step %d\n", i);
            return 1;
        }
    }
    FILE *o = fopen(out_path, "wb");
    if (!o || fwrite(out, sizeof(int32_t), (size_t)n_out, o) != (size_t)n_out) {
        fprintf(stderr, "cannot write %s\n", out_path);
        return 1;
    }
    fclose(o);
    printf("{\"n_prompt_tokens\": %zu, \"n_past\": %d, \"n_generated\": %d, \"image_tokens\": [", n_tokens, (int)n_past,
           n_out);
    int k = 0;
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
        const mtmd_input_chunk *c = mtmd_input_chunks_get(chunks, i);
        if (mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_IMAGE)
            printf("%s%zu", k++ ? ", " : "", mtmd_input_chunk_get_n_tokens(c));
    }
    printf("], \"chunks\": ["); /* every chunk in order: a text chunk's token ids, an image chunk's token count */
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
        const mtmd_input_chunk *c = mtmd_input_chunks_get(chunks, i);
        printf("%s", i ? ", " : "");
        if (mtmd_input_chunk_get_type(c) != MTMD_INPUT_CHUNK_TYPE_TEXT) {
            printf("%zu", mtmd_input_chunk_get_n_tokens(c));
            continue;
        }
        size_t nt = 0;
        const llama_token *toks = mtmd_input_chunk_get_tokens_text(c, &nt);
        printf("[");
        for (size_t j = 0; j < nt; j++) printf("%s%d", j ? ", " : "", (int)toks[j]);
        printf("]");
    }
    printf("]}\n");
    free(out);
    free(prompt);
    mtmd_input_chunks_free(chunks);
    for (int i = 0; i < n_img; i++) mtmd_bitmap_free(bmps[i]);
    mtmd_free(ctx);
    llama_free(lctx);
    llama_model_free(model);
    return 0;
}
