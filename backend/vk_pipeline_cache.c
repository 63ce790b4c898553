/* vk_pipeline_cache.c — one VkPipelineCache per context, kept on disk so a
 * new process does not pay for compiling every pipeline again.
 *
 * File: <dir>/pipelines-<vendor>-<device>-<driverVersion>-<pipelineCacheUUID>.bin
 * (all hex), dir = $MOEVK_CACHE_DIR, else $XDG_CACHE_HOME/moevk, else
 * $HOME/.cache/moevk. MOEVK_PIPELINE_CACHE=0 disables loading and saving.
 *
 * The file is our own 32-byte header followed by the driver's blob:
 *   magic "MOEVKPC1", u64 payload size, u64 FNV-1a 64 of the payload, u64 0,
 * so a truncated or damaged file is recognised before the driver sees it.
 * The payload must also start with a VkPipelineCacheHeaderVersionOne that
 * matches this device (length, version, vendor, device, UUID). Anything that
 * does not check out is ignored: a cold start, never an error, and silent
 * unless MOEVK_VERBOSE is set. Saving writes a temporary file and renames it
 * over the old one; a failure to save is silent too. Before saving, a file
 * written meanwhile by another process is merged in, so concurrent runs
 * (e.g. ctest -j) add to one cache instead of overwriting each other. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "vk_internal.h"

#define PC_MAGIC "MOEVKPC1"
#define PC_HEADER_BYTES 32u
#define PC_MAX_BYTES (256ull << 20) /* files larger than this are ignored */

static int verbose(void) {
    const char *v = getenv("MOEVK_VERBOSE");
    return v && v[0] && strcmp(v, "0") != 0;
}

static void note(const char *fmt, ...) {
    if (!verbose()) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "moevk: pipeline cache: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Joins a..c into a malloc'ed string; NULL when out of memory. */
static char *join3(const char *a, const char *b, const char *c) {
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

static char *cache_dir(void) {
    const char *d = getenv("MOEVK_CACHE_DIR");
    if (d && d[0]) return join3(d, "", "");
    d = getenv("XDG_CACHE_HOME");
    if (d && d[0] == '/') return join3(d, "/moevk", "");
    d = getenv("HOME");
    if (d && d[0]) return join3(d, "/.cache/moevk", "");
    return NULL;
}

/* mkdir -p; returns 0 when the directory exists afterwards. */
static int mkdir_p(const char *path) {
    char *p = join3(path, "", "");
    if (!p) return -1;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) { free(p); return -1; }
        *c = '/';
    }
    int r = (mkdir(p, 0755) == 0 || errno == EEXIST) ? 0 : -1;
    free(p);
    struct stat st;
    return (r == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) ? 0 : -1;
}

/* Reads and checks a cache file. Returns the driver payload (malloc'ed) or
 * NULL, with *n its size and *hash its FNV-1a. */
static uint8_t *read_payload(const vk_ctx *ctx, const char *path, size_t *n, uint64_t *hash) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        note("%s: not present (cold start)", path);
        return NULL;
    }
    uint8_t *buf = NULL;
    const char *why = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) { why = "not a regular file"; goto out; }
    if ((uint64_t)st.st_size > PC_MAX_BYTES) { why = "larger than 256 MiB"; goto out; }
    if ((uint64_t)st.st_size < PC_HEADER_BYTES + 32u) { why = "truncated header"; goto out; }
    size_t size = (size_t)st.st_size;
    buf = malloc(size);
    if (!buf) { why = "out of host memory"; goto out; }
    if (fread(buf, 1, size, f) != size) { why = "read error"; goto out; }
    if (memcmp(buf, PC_MAGIC, 8) != 0) { why = "not a moevk pipeline cache"; goto out; }
    uint64_t len = get_u64(buf + 8);
    if (len != size - PC_HEADER_BYTES) { why = "truncated or padded"; goto out; }
    const uint8_t *pl = buf + PC_HEADER_BYTES;
    if (fnv1a64(pl, (size_t)len) != get_u64(buf + 16)) { why = "checksum mismatch"; goto out; }
    /* VkPipelineCacheHeaderVersionOne: u32 headerSize, u32 headerVersion,
     * u32 vendorID, u32 deviceID, u8 pipelineCacheUUID[16]. */
    uint32_t hsize = get_u32(pl), hver = get_u32(pl + 4);
    if (hsize < 32 || hsize > len) { why = "bad Vulkan header length"; goto out; }
    if (hver != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) { why = "unknown Vulkan header version"; goto out; }
    if (get_u32(pl + 8) != ctx->pipeline_cache_vendor || get_u32(pl + 12) != ctx->pipeline_cache_device) {
        why = "written for another device";
        goto out;
    }
    if (memcmp(pl + 16, ctx->pipeline_cache_uuid, VK_UUID_SIZE) != 0) { why = "written by another driver build"; goto out; }
    *hash = get_u64(buf + 16);
    memmove(buf, pl, (size_t)len);
    *n = (size_t)len;
out:
    fclose(f);
    if (why) {
        note("%s: ignored (%s)", path, why);
        free(buf);
        return NULL;
    }
    return buf;
}

void vk_pipeline_cache_init(vk_ctx *ctx) {
    const char *e = getenv("MOEVK_PIPELINE_CACHE");
    int enabled = !(e && !strcmp(e, "0"));
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    ctx->vki.vkGetPhysicalDeviceProperties2(ctx->phys, &p2);
    ctx->pipeline_cache_vendor = p2.properties.vendorID;
    ctx->pipeline_cache_device = p2.properties.deviceID;
    memcpy(ctx->pipeline_cache_uuid, p2.properties.pipelineCacheUUID, VK_UUID_SIZE);

    uint8_t *data = NULL;
    size_t n = 0;
    if (enabled) {
        char *dir = cache_dir();
        if (dir) {
            char name[128];
            int k = snprintf(name, sizeof name, "/pipelines-%08x-%08x-%08x-", p2.properties.vendorID,
                             p2.properties.deviceID, p2.properties.driverVersion);
            for (unsigned i = 0; i < VK_UUID_SIZE && k > 0 && (size_t)k + 3 < sizeof name; i++)
                k += snprintf(name + k, sizeof name - (size_t)k, "%02x", p2.properties.pipelineCacheUUID[i]);
            ctx->pipeline_cache_dir = dir;
            ctx->pipeline_cache_path = join3(dir, name, ".bin");
        } else {
            note("no cache directory (set MOEVK_CACHE_DIR or HOME)");
        }
        if (ctx->pipeline_cache_path)
            data = read_payload(ctx, ctx->pipeline_cache_path, &n, &ctx->pipeline_cache_hash);
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = data ? n : 0, .pInitialData = data};
    VkResult r = ctx->vkd.vkCreatePipelineCache(ctx->device, &ci, NULL, &ctx->pipeline_cache);
    if (r != VK_SUCCESS && data) { /* the driver refused the data: start empty */
        note("the driver refused %s (%s)", ctx->pipeline_cache_path, vk_result_str(r));
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        data = (free(data), NULL);
        r = ctx->vkd.vkCreatePipelineCache(ctx->device, &ci, NULL, &ctx->pipeline_cache);
    }
    if (r != VK_SUCCESS) {
        ctx->pipeline_cache = VK_NULL_HANDLE; /* pipelines are still created, uncached */
        note("vkCreatePipelineCache failed (%s); running without a cache", vk_result_str(r));
    }
    if (r == VK_SUCCESS && data) {
        ctx->pipeline_cache_loaded = n;
        note("loaded %zu bytes from %s", n, ctx->pipeline_cache_path);
    } else {
        ctx->pipeline_cache_hash = 0; /* nothing loaded: any data is news */
    }
    free(data);
}

/* Writes hdr+payload to a temporary file in the cache directory and renames it over path. */
static int write_atomic(const vk_ctx *ctx, const uint8_t *payload, size_t n) {
    if (mkdir_p(ctx->pipeline_cache_dir) != 0) return -1;
    size_t tn = strlen(ctx->pipeline_cache_path) + 48;
    char *tmp = malloc(tn);
    if (!tmp) return -1;
    static unsigned counter;
    snprintf(tmp, tn, "%s.tmp.%ld.%u", ctx->pipeline_cache_path, (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    uint8_t hdr[PC_HEADER_BYTES] = {0};
    memcpy(hdr, PC_MAGIC, 8);
    put_u64(hdr + 8, n);
    put_u64(hdr + 16, fnv1a64(payload, n));
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL;
    if (f) {
        ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr && fwrite(payload, 1, n, f) == n;
        ok = (fflush(f) == 0) && ok;
        ok = (fsync(fileno(f)) == 0) && ok;
        ok = (fclose(f) == 0) && ok;
    }
    if (ok) ok = rename(tmp, ctx->pipeline_cache_path) == 0;
    if (!ok) remove(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

/* Merges a cache file written by another process since we loaded ours. */
static void merge_from_disk(vk_ctx *ctx) {
    size_t n = 0;
    uint64_t h = 0;
    struct stat st;
    if (stat(ctx->pipeline_cache_path, &st) != 0) return; /* nobody saved one */
    uint8_t *data = read_payload(ctx, ctx->pipeline_cache_path, &n, &h);
    if (!data) return;
    if (h != ctx->pipeline_cache_hash) {
        VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                        .initialDataSize = n, .pInitialData = data};
        VkPipelineCache other = VK_NULL_HANDLE;
        if (ctx->vkd.vkCreatePipelineCache(ctx->device, &ci, NULL, &other) == VK_SUCCESS) {
            if (ctx->vkd.vkMergePipelineCaches(ctx->device, ctx->pipeline_cache, 1, &other) == VK_SUCCESS)
                note("merged %zu bytes written meanwhile by another process", n);
            ctx->vkd.vkDestroyPipelineCache(ctx->device, other, NULL);
        }
    }
    free(data);
}

void vk_pipeline_cache_save(vk_ctx *ctx) {
    if (!ctx || !ctx->device) return;
    pthread_mutex_lock(&ctx->lock);
    if (!ctx->pipeline_cache || !ctx->pipeline_cache_path || !ctx->pipeline_cache_dirty) goto out;
    merge_from_disk(ctx);
    size_t n = 0;
    if (ctx->vkd.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &n, NULL) != VK_SUCCESS || n < 32 ||
        n > PC_MAX_BYTES - PC_HEADER_BYTES)
        goto out;
    uint8_t *data = malloc(n);
    if (!data) goto out;
    VkResult r = ctx->vkd.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &n, data);
    if (r == VK_SUCCESS) {
        uint64_t h = fnv1a64(data, n);
        if (h == ctx->pipeline_cache_hash) {
            note("%s is up to date", ctx->pipeline_cache_path);
            ctx->pipeline_cache_dirty = 0;
        } else if (write_atomic(ctx, data, n) == 0) {
            note("wrote %zu bytes to %s", n, ctx->pipeline_cache_path);
            ctx->pipeline_cache_hash = h;
            ctx->pipeline_cache_dirty = 0;
        } else {
            note("could not write %s: %s", ctx->pipeline_cache_path, strerror(errno));
        }
    }
    free(data);
out:
    pthread_mutex_unlock(&ctx->lock);
}

void vk_pipeline_cache_destroy(vk_ctx *ctx) {
    if (ctx->device && ctx->pipeline_cache) {
        vk_pipeline_cache_save(ctx);
        ctx->vkd.vkDestroyPipelineCache(ctx->device, ctx->pipeline_cache, NULL);
    }
    ctx->pipeline_cache = VK_NULL_HANDLE;
    free(ctx->pipeline_cache_path);
    free(ctx->pipeline_cache_dir);
    ctx->pipeline_cache_path = ctx->pipeline_cache_dir = NULL;
}

size_t vk_ctx_pipeline_cache_loaded(const vk_ctx *ctx) { return ctx ? ctx->pipeline_cache_loaded : 0; }

void vk_ctx_pipeline_cache_save(vk_ctx *ctx) { vk_pipeline_cache_save(ctx); }
