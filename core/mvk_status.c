/* mvk_status.c — status names and the thread-local error message. */
#include "mvk_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_msg[1024];

const char *moevk_status_str(moevk_status s) {
    switch (s) {
    case MOEVK_OK: return "MOEVK_OK";
    case MOEVK_ERR_INVALID_ARG: return "MOEVK_ERR_INVALID_ARG";
    case MOEVK_ERR_IO: return "MOEVK_ERR_IO";
    case MOEVK_ERR_FORMAT: return "MOEVK_ERR_FORMAT";
    case MOEVK_ERR_UNSUPPORTED: return "MOEVK_ERR_UNSUPPORTED";
    case MOEVK_ERR_SHAPE: return "MOEVK_ERR_SHAPE";
    case MOEVK_ERR_NO_VULKAN: return "MOEVK_ERR_NO_VULKAN";
    case MOEVK_ERR_NO_DEVICE: return "MOEVK_ERR_NO_DEVICE";
    case MOEVK_ERR_OUT_OF_HOST_MEMORY: return "MOEVK_ERR_OUT_OF_HOST_MEMORY";
    case MOEVK_ERR_OUT_OF_DEVICE_MEMORY: return "MOEVK_ERR_OUT_OF_DEVICE_MEMORY";
    case MOEVK_ERR_DEVICE_LIMIT: return "MOEVK_ERR_DEVICE_LIMIT";
    case MOEVK_ERR_DEVICE_LOST: return "MOEVK_ERR_DEVICE_LOST";
    case MOEVK_ERR_VULKAN: return "MOEVK_ERR_VULKAN";
    case MOEVK_ERR_IMAGE: return "MOEVK_ERR_IMAGE";
    case MOEVK_ERR_CONTEXT_FULL: return "MOEVK_ERR_CONTEXT_FULL";
    case MOEVK_ERR_CANCELLED: return "MOEVK_ERR_CANCELLED";
    case MOEVK_ERR_INTERNAL: return "MOEVK_ERR_INTERNAL";
    }
    return "MOEVK_ERR_UNKNOWN";
}

const char *moevk_last_error(void) { return g_msg; }

const char *moevk_version(void) { return "0.1.0"; }

void mvk_clear_error(void) { g_msg[0] = '\0'; }

moevk_status mvk_fail(moevk_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return s;
}

moevk_status mvk_fail_ctx(moevk_status s, const char *fmt, ...) {
    char prefix[512], old[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    /* prefix, ": ", then as much of the old message as fits */
    size_t n = strlen(prefix);
    if (n > sizeof g_msg - 3) n = sizeof g_msg - 3;
    memcpy(g_msg, prefix, n);
    memcpy(g_msg + n, ": ", 2);
    size_t room = sizeof g_msg - n - 3, m = strlen(old);
    if (m > room) m = room;
    memcpy(g_msg + n + 2, old, m);
    g_msg[n + 2 + m] = '\0';
    return s;
}
