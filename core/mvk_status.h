/* mvk_status.h — setting the thread-local error detail behind moevk_last_error().
 *
 * Every layer reports failure the same way:
 *     return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': offset %llu beyond file", name, off);
 * which records the message and returns the status, so call sites stay one line. */
#ifndef MVK_STATUS_H
#define MVK_STATUS_H

#include "moevk.h"

#if defined(__GNUC__)
#define MVK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MVK_PRINTF(a, b)
#endif

/* Records a printf-style message for moevk_last_error() and returns s. */
moevk_status mvk_fail(moevk_status s, const char *fmt, ...) MVK_PRINTF(2, 3);

/* Prefixes the current message with context ("loading text model: ...") and returns s. */
moevk_status mvk_fail_ctx(moevk_status s, const char *fmt, ...) MVK_PRINTF(2, 3);

/* Clears the message (used at the start of top-level API calls). */
void mvk_clear_error(void);

/* The one set of status-propagation macros (no file defines its own):
 *   MVK_TRY(expr)              return a failing status unchanged;
 *   MVK_TRY_GOTO(label, expr)  in a function with a `moevk_status s` local
 *                              and a cleanup label: keep the failing status
 *                              in s and jump to the label;
 *   TRY(expr)                  MVK_TRY_GOTO(done, expr), the engine's usual
 *                              "one cleanup path" form. */
#define MVK_TRY(expr)                          \
    do {                                       \
        moevk_status mvk_try_s_ = (expr);      \
        if (mvk_try_s_ != MOEVK_OK) return mvk_try_s_; \
    } while (0)

#define MVK_TRY_GOTO(label, expr)      \
    do {                               \
        s = (expr);                    \
        if (s != MOEVK_OK) goto label; \
    } while (0)

#define TRY(expr) MVK_TRY_GOTO(done, expr)

#endif
