/* quantize.c — llama.cpp's own quantizer (llama_model_quantize in node-llama-cpp's prebuilt libllama),
 * driven from C, for any llama_ftype by name. Built at test time by tools/llamacpp/build_quantize.sh.
 *
 *   quantize IN.gguf OUT.gguf FTYPE [threads]      FTYPE: F32 F16 BF16 Q4_0 ... Q4_K_M ... MXFP4_MOE
 *
 * allow_requantize is on, so a quantized IN converts too: FTYPE F32 (LLAMA_FTYPE_ALL_F32) turns every
 * quantized tensor into llama.cpp's exact f32 dequantization of it (the end-to-end reference of issue 9).
 * Works on text GGUFs and on mmproj ("clip") GGUFs; llama.cpp picks the per-tensor types of the mixture
 * (e.g. Q4_K_M keeps some tensors Q6_K) and falls back where a row is not a multiple of the block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static const struct { const char *name; enum llama_ftype ftype; } FTYPES[] = {
    {"F32", LLAMA_FTYPE_ALL_F32},         {"F16", LLAMA_FTYPE_MOSTLY_F16},
    {"BF16", LLAMA_FTYPE_MOSTLY_BF16},    {"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},
    {"Q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},    {"Q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},
    {"Q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},    {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
    {"Q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},    {"Q2_K_S", LLAMA_FTYPE_MOSTLY_Q2_K_S},
    {"Q3_K_S", LLAMA_FTYPE_MOSTLY_Q3_K_S}, {"Q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M},
    {"Q3_K_L", LLAMA_FTYPE_MOSTLY_Q3_K_L}, {"Q4_K_S", LLAMA_FTYPE_MOSTLY_Q4_K_S},
    {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M}, {"Q5_K_S", LLAMA_FTYPE_MOSTLY_Q5_K_S},
    {"Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M}, {"Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},
    {"IQ4_NL", LLAMA_FTYPE_MOSTLY_IQ4_NL}, {"IQ4_XS", LLAMA_FTYPE_MOSTLY_IQ4_XS},
    {"MXFP4_MOE", LLAMA_FTYPE_MOSTLY_MXFP4_MOE},
};

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s IN.gguf OUT.gguf FTYPE [threads]\n  FTYPE:", argv[0]);
        for (size_t i = 0; i < sizeof FTYPES / sizeof FTYPES[0]; i++) fprintf(stderr, " %s", FTYPES[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    size_t i = 0;
    while (i < sizeof FTYPES / sizeof FTYPES[0] && strcmp(FTYPES[i].name, argv[3])) i++;
    if (i == sizeof FTYPES / sizeof FTYPES[0]) {
        fprintf(stderr, "quantize: unknown FTYPE '%s' (run without arguments for the list)\n", argv[3]);
        return 2;
    }
    llama_backend_init();
    struct llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = FTYPES[i].ftype;
    p.allow_requantize = true;
    p.nthread = argc > 4 ? atoi(argv[4]) : 1;
    uint32_t rc = llama_model_quantize(argv[1], argv[2], &p);
    llama_backend_free();
    if (rc) fprintf(stderr, "quantize: llama_model_quantize(%s -> %s, %s) failed\n", argv[1], argv[2], argv[3]);
    return rc ? 1 : 0;
}
