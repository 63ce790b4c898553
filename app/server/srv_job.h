/* srv_job.h — one chat-completion request on its way through the server: the
 * HTTP side (srv_http.c) creates it from a parsed request and waits on it; the
 * model worker (srv_worker.c) runs it and appends what the client receives
 * (server-sent events for a stream, one JSON body otherwise). A job is shared
 * by both sides and freed by the last one to let go (refs). */
#ifndef MOEVK_SRV_JOB_H
#define MOEVK_SRV_JOB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "srv_request.h"

typedef enum srv_job_state {
    SRV_JOB_QUEUED = 0,
    SRV_JOB_RUNNING,    /* the worker took it */
    SRV_JOB_STREAMING,  /* the prompt was accepted: a stream's 200 may be sent, bytes follow */
    SRV_JOB_DONE        /* out holds everything (or err says why it failed) */
} srv_job_state;

typedef struct srv_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;               /* 2 while both sides hold it */
    srv_request req;
    char id[40];            /* "chatcmpl-..." */
    int64_t created;        /* unix seconds */
    srv_job_state state;
    int cancelled;          /* the client went away: the worker stops at the next token */
    srv_error err;          /* err.http != 0: the job failed with this before any byte was sent */
    char *out;              /* bytes for the client, appended by the worker */
    size_t out_len, out_cap, out_sent;
} srv_job;

srv_job *srv_job_new(srv_request *req); /* takes req's contents (req is zeroed) */
void srv_job_release(srv_job *j);       /* drops one reference, frees at the last */
/* appends n bytes for the client and wakes the reader (worker side, job unlocked) */
int srv_job_emit(srv_job *j, const char *s, size_t n);
void srv_job_set_state(srv_job *j, srv_job_state st);
void srv_job_fail(srv_job *j, const srv_error *e);
int srv_job_cancelled(srv_job *j);

#endif
