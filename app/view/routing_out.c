/* routing_out.c — the routing telemetry of the caption on screen as JSON, in
 * the form `moevk caption --routing` writes: one object per token
 * {pos, kind, token, layers:[{layer, experts:[...], weights:[...]}]}. */
#include <stdio.h>

#include "app.h"

int view_write_routing_json(view_app *app, const char *path) {
    const view_routing *r = &app->cap.routing;
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    static const char *kinds[] = {"image", "prompt", "generated"};
    fprintf(f, "[");
    for (int i = 0; i < r->n_tok; i++) {
        fprintf(f, "%s\n{\"pos\": %d, \"kind\": \"%s\", \"token\": %d, \"layers\": [", i ? "," : "", r->pos[i],
                r->kind[i] < 3 ? kinds[r->kind[i]] : "?", r->token[i]);
        for (int l = 0; l < r->n_layers; l++) {
            const int32_t *ids = r->ids + ((size_t)i * r->n_layers + l) * r->k;
            const float *ws = r->weights + ((size_t)i * r->n_layers + l) * r->k;
            fprintf(f, "%s{\"layer\": %d, \"experts\": [", l ? ", " : "", l);
            for (int j = 0; j < r->k; j++) fprintf(f, "%s%d", j ? ", " : "", ids[j]);
            fprintf(f, "], \"weights\": [");
            for (int j = 0; j < r->k; j++) fprintf(f, "%s%.6g", j ? ", " : "", ws[j]);
            fprintf(f, "]}");
        }
        fprintf(f, "]}");
    }
    fprintf(f, "\n]\n");
    return fclose(f) == 0;
}
