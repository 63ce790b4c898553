/* routing_out.c — the routing telemetry of the conversation on screen (the
 * caption and the answers) as JSON, with
 * the shared writer (app/common/routing_json.h) that `moevk caption --routing`
 * uses, so both files have the same form. */
#include <stdlib.h>

#include "app.h"
#include "routing_json.h"

int view_write_routing_json(view_app *app, const char *path) {
    const view_routing *r = &app->cap.routing;
    int *kind = malloc(sizeof(int) * (size_t)(r->n_tok > 0 ? r->n_tok : 1));
    if (!kind) return 0;
    for (int i = 0; i < r->n_tok; i++) kind[i] = r->kind[i];
    routing_json_input in = {
        .n_tokens = (size_t)r->n_tok,
        .n_layers = r->n_layers > 0 ? r->n_layers : 1,
        .k = r->k > 0 ? r->k : 1,
        .pos = r->pos,
        .kind = kind,
        .token = r->token,
        .ids = r->ids,
        .weights = r->weights,
        .layer_ids = NULL,
        .turn = r->turn,
        .image = r->image,
        .reasoning = r->reasoning,
    };
    moevk_status st = routing_json_write_file(path, &in);
    free(kind);
    return st == MOEVK_OK;
}
