/* cmd_info.c — `moevk info FILE.gguf`: header, metadata, tensor table and,
 * for a recognised architecture, the derived hyper-parameters. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "gguf.h"
#include "model_hparams.h"
#include "moevk.h"

#define MAX_STR 80   /* longer strings are truncated */
#define MAX_ELEMS 8  /* array elements shown */

static void usage(FILE *o) {
    fprintf(o,
            "usage: moevk info [options] FILE.gguf...\n\n"
            "Prints a GGUF file's version, alignment, all metadata (arrays abbreviated,\n"
            "long strings truncated), the tensor table (name, type, ne, bytes, offset) and,\n"
            "if the architecture is recognised (qwen3vlmoe, qwen3vl, qwen3moe, qwen3, clip),\n"
            "the derived hyper-parameters with a check of every tensor shape. Given a text\n"
            "model and its mmproj, it also checks that the two belong together.\n\n"
            "options:\n"
            "  --no-tensors   skip the tensor table\n"
            "  -h, --help     this text\n\n"
            "exit code: 0 ok, 1 unreadable or invalid file, 2 usage error\n");
}

static void print_str(const char *s, uint64_t len) {
    putchar('"');
    uint64_t n = len > MAX_STR ? MAX_STR : len;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (len > MAX_STR) printf("... (%" PRIu64 " bytes)", len);
}

static void print_value(const gguf_file *f, const gguf_value *v, int depth) {
    switch (v->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64: printf("%" PRIu64, v->u); break;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: printf("%" PRId64, v->i); break;
    case GGUF_F32: case GGUF_F64: printf("%.9g", v->f); break;
    case GGUF_BOOL: printf("%s", v->u ? "true" : "false"); break;
    case GGUF_STRING: print_str(v->str, v->len); break;
    case GGUF_ARRAY: {
        printf("%s[%" PRIu64 "] [", gguf_vtype_name(v->elem), v->n);
        uint64_t n = v->n > MAX_ELEMS ? MAX_ELEMS : v->n;
        if (depth > 2) n = 0;
        for (uint64_t j = 0; j < n; j++) {
            gguf_value e;
            if (gguf_arr_elem(f, v, j, &e) != MOEVK_OK) break;
            if (j) printf(", ");
            print_value(f, &e, depth + 1);
        }
        if (v->n > n) printf("%s...", n ? ", " : "");
        printf("]");
        break;
    }
    }
}

static const char *type_name(const gguf_tensor_info *t) {
    const char *n = gguf_ggml_type_name(t->ggml_type);
    return n ? n : "?";
}

/* Tensor counts and bytes per ggml type, in type-id order. */
static void print_type_summary(const gguf_file *f) {
    enum { NT = 64 };
    int64_t count[NT] = {0};
    uint64_t bytes[NT] = {0};
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor_info *t = gguf_tensor(f, i);
        if (t->ggml_type >= NT) continue;
        count[t->ggml_type]++;
        bytes[t->ggml_type] += t->size;
    }
    int any = 0;
    for (int k = 0; k < NT; k++) {
        if (!count[k]) continue;
        if (!any) printf("\ntensor types:\n");
        any = 1;
        const char *n = gguf_ggml_type_name((uint32_t)k);
        char unk[16];
        if (!n) {
            snprintf(unk, sizeof unk, "type %d", k);
            n = unk;
        }
        if (mvk_type_is_weight((mvk_type)k))
            printf("  %-8s %6" PRId64 " tensors %14" PRIu64 " bytes\n", n, count[k], bytes[k]);
        else
            printf("  %-8s %6" PRId64 " tensors %14s bytes  (unsupported type)\n", n, count[k], "?");
    }
}

static void print_text_hparams(const mvk_text_hparams *h) {
    printf("\ntext model (%s):\n", h->arch_name);
    printf("  n_layer %d, n_ctx_train %" PRId64 ", n_embd %d, n_vocab %d%s\n", h->n_layer, h->n_ctx_train, h->n_embd,
           h->n_vocab, h->tied_output ? " (tied output)" : "");
    printf("  heads %d (kv %d), head_dim %d (v %d), n_rot %d, rms_eps %g\n", h->n_head, h->n_head_kv, h->head_dim,
           h->head_dim_v, h->n_rot, (double)h->rms_eps);
    if (h->is_moe)
        printf("  MoE: %d experts, top-%d, n_ff_exp %d\n", h->n_expert, h->n_expert_used, h->n_ff_exp);
    else
        printf("  dense FFN: n_ff %d\n", h->n_ff);
    printf("  rope %s, freq_base %g", h->rope_mode == MVK_ROPE_IMROPE ? "IMROPE" : "NEOX", (double)h->rope_freq_base);
    if (h->rope_mode == MVK_ROPE_IMROPE)
        printf(", sections [%d, %d, %d, %d]", h->rope_sections[0], h->rope_sections[1], h->rope_sections[2],
               h->rope_sections[3]);
    printf("\n");
    if (h->has_vision_input) printf("  deepstack layers %d, n_embd_inp %d\n", h->n_deepstack, h->n_embd_inp);
}

static void print_vision_hparams(const mvk_vision_hparams *v) {
    static const char *const acts[] = {"gelu_quick (use_gelu missing!)", "gelu (tanh)", "silu"};
    printf("\nvision tower (clip, %s):\n", v->projector);
    printf("  width %d, ffn %d, depth %d, heads %d (head_dim %d), eps %g, activation %s\n", v->n_embd, v->n_ff,
           v->n_layer, v->n_head, v->head_dim, (double)v->eps, acts[v->act]);
    printf("  patch %d, image_size %d, spatial_merge %d, position grid %dx%d\n", v->patch_size, v->image_size,
           v->spatial_merge, v->n_pos_side, v->n_pos_side);
    printf("  image_mean [%g, %g, %g], image_std [%g, %g, %g]\n", (double)v->image_mean[0], (double)v->image_mean[1],
           (double)v->image_mean[2], (double)v->image_std[0], (double)v->image_std[1], (double)v->image_std[2]);
    printf("  merger out %d, deepstack taps %d [", v->n_mmproj_embd, v->n_deepstack);
    for (int i = 0; i < v->n_deepstack; i++) printf("%s%d", i ? ", " : "", v->deepstack_layers[i]);
    printf("], output row %d (projection_dim %d)\n", v->n_embd_out, v->projection_dim);
}

/* Hyper-parameters seen so far, for the text/mmproj pair check. */
typedef struct seen {
    int has_text, has_vision;
    mvk_text_hparams th;
    mvk_vision_hparams vh;
    char text_path[512], vision_path[512];
} seen;

static int info_one(const char *path, int show_tensors, seen *sn) {
    gguf_file *f = NULL;
    moevk_status s = gguf_open_ex(path, GGUF_OPEN_ANY_TYPE, &f);
    if (s != MOEVK_OK) {
        fprintf(stderr, "moevk info: %s: %s\n", moevk_status_str(s), moevk_last_error());
        return 1;
    }
    printf("%s: GGUF v%u, %" PRIu64 " bytes, alignment %u, data at %" PRIu64 ", %" PRId64 " keys, %" PRId64 " tensors\n",
           path, gguf_version(f), gguf_file_size(f), gguf_alignment(f), gguf_data_offset(f), gguf_n_kv(f),
           gguf_n_tensors(f));
    printf("\nmetadata:\n");
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        gguf_value v;
        if (gguf_kv_value(f, i, &v) != MOEVK_OK) continue;
        printf("  %-44s %-7s ", gguf_key_name(f, i), gguf_vtype_name(v.type));
        print_value(f, &v, 0);
        printf("\n");
    }
    int n_unsupported = 0;
    uint64_t total = 0;
    if (show_tensors) {
        printf("\ntensors:\n  %-36s %-6s %-28s %12s %12s\n", "name", "type", "ne", "bytes", "offset");
        for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
            const gguf_tensor_info *t = gguf_tensor(f, i);
            char ne[96];
            int o = snprintf(ne, sizeof ne, "[");
            for (int d = 0; d < t->n_dims && o < (int)sizeof ne; d++)
                o += snprintf(ne + o, sizeof ne - (size_t)o, "%s%" PRId64, d ? ", " : "", t->ne[d]);
            if (o < (int)sizeof ne) snprintf(ne + o, sizeof ne - (size_t)o, "]");
            if (t->supported)
                printf("  %-36s %-6s %-28s %12" PRIu64 " %12" PRIu64 "\n", t->name, type_name(t), ne, t->size, t->offset);
            else
                printf("  %-36s %-6s %-28s %12s %12" PRIu64 "  (unsupported type)\n", t->name, type_name(t), ne, "?",
                       t->offset);
            total += t->size;
        }
        printf("  total %" PRIu64 " bytes in %" PRId64 " tensors\n", total, gguf_n_tensors(f));
    }
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) n_unsupported += !gguf_tensor(f, i)->supported;
    print_type_summary(f);

    int rc = 0;
    if (gguf_has_key(f, "general.architecture")) {
        if (gguf_str_eq(f, "general.architecture", "clip")) {
            mvk_vision_hparams vh;
            s = mvk_vision_hparams_load(f, &vh);
            if (s == MOEVK_OK) {
                print_vision_hparams(&vh);
                s = mvk_vision_check_tensors(f, &vh);
            }
            if (s == MOEVK_OK) {
                printf("  all vision tensors present with the expected shapes\n");
                sn->has_vision = 1;
                sn->vh = vh;
                snprintf(sn->vision_path, sizeof sn->vision_path, "%s", path);
            }
        } else {
            mvk_text_hparams th;
            s = mvk_text_hparams_load(f, &th);
            if (s == MOEVK_OK) {
                print_text_hparams(&th);
                s = mvk_text_check_tensors(f, &th);
            }
            if (s == MOEVK_OK) {
                printf("  all text tensors present with the expected shapes\n");
                sn->has_text = 1;
                sn->th = th;
                snprintf(sn->text_path, sizeof sn->text_path, "%s", path);
            }
        }
        if (s == MOEVK_ERR_UNSUPPORTED) {
            /* a valid file moevk does not run (other architecture or projector): not an error for `info` */
            printf("\nnot runnable by moevk: %s\n", moevk_last_error());
        } else if (s != MOEVK_OK) {
            fprintf(stderr, "moevk info: %s: invalid model: %s: %s\n", path, moevk_status_str(s), moevk_last_error());
            rc = 1;
        }
    }
    if (n_unsupported) printf("\n%d tensor(s) have a type moevk cannot compute with (see the tensor types above)\n", n_unsupported);
    gguf_close(f);
    return rc;
}

int cmd_info(int argc, char **argv) {
    int show_tensors = 1, n_files = 0, rc = 0;
    seen sn;
    memset(&sn, 0, sizeof sn);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--no-tensors")) {
            show_tensors = 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "moevk info: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) continue;
        if (n_files++) printf("\n");
        if (info_one(argv[i], show_tensors, &sn) != 0) rc = 1;
    }
    if (n_files == 0) {
        usage(stderr);
        return 2;
    }
    if (sn.has_text && sn.has_vision) { /* spec §6 trap 20 */
        moevk_status s = mvk_check_text_vision_pair(&sn.th, &sn.vh);
        if (s == MOEVK_OK) {
            printf("\npair: %s + %s belong together (image rows of %d floats)\n", sn.text_path, sn.vision_path,
                   sn.th.n_embd_inp);
        } else {
            fprintf(stderr, "moevk info: %s + %s: %s: %s\n", sn.text_path, sn.vision_path, moevk_status_str(s),
                    moevk_last_error());
            rc = 1;
        }
    }
    return rc;
}
