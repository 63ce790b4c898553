/* srv_worker.h — the one thread that runs the model: requests run one at a
 * time, in arrival order, from a bounded queue (a full queue is a 503 at
 * once). It keeps the last conversation in the model's KV cache and continues
 * it when a request extends it (the prompt cache). */
#ifndef MOEVK_SRV_WORKER_H
#define MOEVK_SRV_WORKER_H

#include "moevk.h"
#include "srv_job.h"

typedef struct srv_worker srv_worker;

/* model: loaded (the worker owns it from here and frees it at stop);
 * model_id: the id /v1/models lists; queue_cap: requests waiting at most;
 * think, reasoning_budget: what a request that does not say gets (--reasoning, --reasoning-budget). */
srv_worker *srv_worker_start(moevk_model *model, const char *model_id, int queue_cap, int think, int reasoning_budget);
void srv_worker_stop(srv_worker *w);
/* 0: queued (the worker holds a reference); -1: the queue is full */
int srv_worker_submit(srv_worker *w, srv_job *j);
/* requests waiting + running */
int srv_worker_load(srv_worker *w);
const char *srv_worker_model_id(const srv_worker *w);
/* the model's info as of the last finished request (device memory, validation messages), the requests
 * waiting + running, and those finished (load, n_done may be NULL) */
void srv_worker_get_info(srv_worker *w, moevk_model_info *out, int *load, long long *n_done);
/* The last finished request's routing as JSON for the page at /:
 * {"id", "n_layers", "n_expert", "kinds": {"image": [[count per expert] per layer], "text": ..., "generated": ...}}
 * (malloc'd; "{}" before the first). */
char *srv_worker_last_routing(srv_worker *w);

#endif
