/* srv_job.c — the job shared by the HTTP side and the model worker (srv_job.h). */
#include "srv_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

srv_job *srv_job_new(srv_request *req) {
    static unsigned long long counter;
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 2;
    j->req = *req;
    memset(req, 0, sizeof *req);
    j->created = (int64_t)time(NULL);
    snprintf(j->id, sizeof j->id, "chatcmpl-%llx%llx", (unsigned long long)j->created,
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    return j;
}

void srv_job_release(srv_job *j) {
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last) return;
    srv_request_free(&j->req);
    free(j->out);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

int srv_job_emit(srv_job *j, const char *s, size_t n) {
    pthread_mutex_lock(&j->mu);
    int ok = 1;
    if (j->out_len + n + 1 > j->out_cap) {
        size_t cap = j->out_cap ? j->out_cap : 4096;
        while (cap < j->out_len + n + 1) cap *= 2;
        char *o = realloc(j->out, cap);
        if (o) j->out = o, j->out_cap = cap;
        else ok = 0;
    }
    if (ok) {
        memcpy(j->out + j->out_len, s, n);
        j->out_len += n;
        j->out[j->out_len] = '\0';
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return ok;
}

void srv_job_set_state(srv_job *j, srv_job_state st) {
    pthread_mutex_lock(&j->mu);
    j->state = st;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

void srv_job_fail(srv_job *j, const srv_error *e) {
    pthread_mutex_lock(&j->mu);
    j->err = *e;
    j->state = SRV_JOB_DONE;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

int srv_job_cancelled(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    int c = j->cancelled;
    pthread_mutex_unlock(&j->mu);
    return c;
}
