/* routing_json.c — routing telemetry to JSON (see routing_json.h). */
#include "routing_json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "mvk_status.h"

static const char *kind_name(int k) {
    switch (k) {
    case 0: return "image";
    case 1: return "prompt";
    case 2: return "generated";
    }
    return NULL;
}

static moevk_status check(const routing_json_input *in) {
    if (!in) return mvk_fail(MOEVK_ERR_INVALID_ARG, "routing JSON: input is NULL");
    if (in->n_layers <= 0 || in->k <= 0)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "routing JSON: %d layers, k = %d", in->n_layers, in->k);
    if (in->n_tokens == 0) return MOEVK_OK;
    if (!in->pos || !in->kind || !in->token || !in->ids || !in->weights)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "routing JSON: NULL array for %zu tokens", in->n_tokens);
    for (size_t t = 0; t < in->n_tokens; t++)
        if (!kind_name(in->kind[t]))
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "routing JSON: token %zu has unknown kind %d", t, in->kind[t]);
    return MOEVK_OK;
}

moevk_status routing_json_write(FILE *f, const routing_json_input *in) {
    if (!f) return mvk_fail(MOEVK_ERR_INVALID_ARG, "routing JSON: stream is NULL");
    MVK_TRY(check(in));
    const size_t per_tok = (size_t)in->n_layers * (size_t)in->k;
    fputs("[", f);
    for (size_t t = 0; t < in->n_tokens; t++) {
        fprintf(f, "%s\n{\"pos\":%d,\"kind\":\"%s\",\"token\":%d,", t ? "," : "", (int)in->pos[t], kind_name(in->kind[t]),
                (int)in->token[t]);
        if (in->turn) fprintf(f, "\"turn\":%d,", (int)in->turn[t]);
        if (in->image) fprintf(f, "\"image\":%d,", (int)in->image[t]);
        if (in->reasoning) fprintf(f, "\"reasoning\":%s,", in->reasoning[t] ? "true" : "false");
        fputs("\"layers\":[", f);
        for (int l = 0; l < in->n_layers; l++) {
            const int32_t *ids = in->ids + t * per_tok + (size_t)l * in->k;
            const float *w = in->weights + t * per_tok + (size_t)l * in->k;
            fprintf(f, "%s{\"layer\":%d,\"experts\":[", l ? "," : "", in->layer_ids ? (int)in->layer_ids[l] : l);
            for (int r = 0; r < in->k; r++) fprintf(f, "%s%d", r ? "," : "", (int)ids[r]);
            fputs("],\"weights\":[", f);
            for (int r = 0; r < in->k; r++) {
                if (r) fputc(',', f);
                if (isfinite(w[r]))
                    fprintf(f, "%.9g", (double)w[r]);
                else
                    fputs("null", f);
            }
            fputs("]}", f);
        }
        fputs("]}", f);
    }
    fputs(in->n_tokens ? "\n]\n" : "]\n", f);
    if (ferror(f)) return mvk_fail(MOEVK_ERR_IO, "routing JSON: write failed");
    return MOEVK_OK;
}

moevk_status routing_json_write_file(const char *path, const routing_json_input *in) {
    if (!path) return mvk_fail(MOEVK_ERR_INVALID_ARG, "routing JSON: path is NULL");
    MVK_TRY(check(in));
    FILE *f = fopen(path, "wb");
    if (!f) return mvk_fail(MOEVK_ERR_IO, "routing JSON: cannot create '%s': %s", path, strerror(errno));
    moevk_status st = routing_json_write(f, in);
    if (fclose(f) != 0 && st == MOEVK_OK)
        st = mvk_fail(MOEVK_ERR_IO, "routing JSON: writing '%s' failed: %s", path, strerror(errno));
    if (st != MOEVK_OK) remove(path);
    return st;
}
