/* reasoning.c — reasoning blocks in generated text (reasoning.h). */
#include "reasoning.h"

#include <stdlib.h>
#include <string.h>

#include "mvk_status.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

void mvk_reasoning_init(mvk_reasoning *r, int32_t open_id, int32_t close_id, const char *label, int starts_inside,
                        int budget) {
    memset(r, 0, sizeof *r);
    r->open_id = open_id;
    r->close_id = close_id;
    r->label = label && label[0] ? label : NULL;
    r->budget = budget;
    if (starts_inside && close_id >= 0) {
        r->in = 1;
        r->lead = 1; /* the prompt opened the block (its label, if any, is the prompt's too) */
    }
}

void mvk_reasoning_free(mvk_reasoning *r) {
    free(r->hold);
    free(r->out);
    memset(r, 0, sizeof *r);
}

int mvk_reasoning_prompt_state(const int32_t *ids, size_t n, int32_t open_id, int32_t close_id) {
    for (size_t i = n; i-- > 0;) {
        if (open_id >= 0 && ids[i] == open_id) return 1;
        if (close_id >= 0 && ids[i] == close_id) return 0;
    }
    return 0;
}

int32_t mvk_reasoning_forced(const mvk_reasoning *r) {
    return r->in && r->budget >= 0 && r->n_in >= r->budget ? r->close_id : -1;
}

int mvk_reasoning_is_tag(const mvk_reasoning *r, int32_t tok) {
    return tok >= 0 && (tok == r->open_id || tok == r->close_id);
}

/* out = a[0..na) + b[0..nb) */
static moevk_status set_out(mvk_reasoning *r, const char *a, size_t na, const char *b, size_t nb) {
    if (na + nb + 1 > r->cap_out) {
        size_t c = (na + nb + 1) * 2;
        char *t = realloc(r->out, c);
        if (!t) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory (reasoning text)");
        r->out = t;
        r->cap_out = c;
    }
    if (na) memmove(r->out, a, na);
    if (nb) memcpy(r->out + na, b, nb);
    r->out[na + nb] = '\0';
    return MOEVK_OK;
}

static moevk_status hold_push(mvk_reasoning *r, const char *s, size_t n) {
    if (r->n_hold + n + 1 > r->cap_hold) {
        size_t c = (r->n_hold + n + 1) * 2;
        char *t = realloc(r->hold, c);
        if (!t) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory (reasoning text)");
        r->hold = t;
        r->cap_hold = c;
    }
    memcpy(r->hold + r->n_hold, s, n);
    r->n_hold += n;
    return MOEVK_OK;
}

/* The held text that is reasoning after all (a label that did not match), less its trailing whitespace. */
static size_t held_reasoning(const mvk_reasoning *r) {
    if (!r->labelling) return 0; /* only trailing whitespace is held: dropped */
    size_t n = r->n_hold;
    while (n && is_space(r->hold[n - 1])) n--;
    size_t b = 0;
    while (b < n && is_space(r->hold[b])) b++;
    return n > b ? n : 0;
}

unsigned mvk_reasoning_step(mvk_reasoning *r, int32_t tok, const char **text, size_t *n) {
    *text = "";
    *n = 0;
    if (tok >= 0 && tok == r->open_id) {
        r->in = 1;
        r->lead = 1;
        r->labelling = r->label != NULL;
        r->label_got = 0;
        r->n_hold = 0;
        r->n_in = 0;
        r->n_tokens++;
        return MVK_RS_REASONING | MVK_RS_TAG;
    }
    if (tok >= 0 && tok == r->close_id) {
        int was_in = r->in;
        size_t h = was_in ? held_reasoning(r) : 0;
        if (h) { /* valid until the next call: hold is not written before */
            size_t b = 0;
            while (b < h && is_space(r->hold[b])) b++;
            r->hold[h] = '\0';
            *text = r->hold + b;
            *n = h - b;
        }
        r->in = 0;
        r->lead = 1; /* the answer starts at its first character after the block */
        r->labelling = 0;
        r->n_hold = 0;
        r->n_tokens++;
        return MVK_RS_REASONING | MVK_RS_TAG;
    }
    if (r->in) {
        r->n_in++;
        r->n_tokens++;
        return MVK_RS_REASONING;
    }
    return 0;
}

moevk_status mvk_reasoning_filter(mvk_reasoning *r, const char *piece, size_t n, const char **out, size_t *n_out) {
    *out = "";
    *n_out = 0;
    const char *p = piece; /* the text to emit, after the label check: hold[0..nh) + p[0..np) */
    size_t np = n, nh = 0;
    if (r->in && r->labelling) {
        size_t L = strlen(r->label), i = 0;
        while (i < n && r->label_got < L && piece[i] == r->label[r->label_got]) i++, r->label_got++;
        if (r->label_got == L) { /* the whole label: dropped, the block's text starts after it */
            r->labelling = 0;
            r->n_hold = 0;
            p = piece + i;
            np = n - i;
        } else if (i == n) { /* still a prefix of the label: hold it */
            return hold_push(r, piece, n);
        } else { /* no label: what was held is reasoning text */
            r->labelling = 0;
            nh = r->n_hold;
            r->n_hold = 0;
        }
    }
    /* hold[0..nh) + p[0..np): drop leading whitespace at an edge */
    const char *h = r->hold;
    if (r->lead) {
        while (nh && is_space(*h)) h++, nh--;
        if (!nh)
            while (np && is_space(*p)) p++, np--;
        if (!nh && !np) return MOEVK_OK;
        r->lead = 0;
    }
    if (!r->in) {
        MVK_TRY(set_out(r, h, nh, p, np));
        *out = r->out;
        *n_out = nh + np;
        return MOEVK_OK;
    }
    /* reasoning: earlier held whitespace, then this text up to its last other character; its trailing
     * whitespace is held (dropped if the block closes next) */
    size_t keep = np;
    while (keep && is_space(p[keep - 1])) keep--;
    if (!keep && !nh) return hold_push(r, p, np);
    size_t held = r->n_hold;
    if (nh) held = 0; /* hold[0..nh) was the label prefix: it is the text now */
    MVK_TRY(set_out(r, nh ? h : r->hold, nh ? nh : held, p, keep));
    *out = r->out;
    *n_out = (nh ? nh : held) + keep;
    r->n_hold = 0;
    return hold_push(r, p + keep, np - keep);
}
