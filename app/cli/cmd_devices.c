/* cmd_devices.c — `moevk devices`: the Vulkan devices with their key limits and features. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "vk_backend.h"

int cmd_devices(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: moevk devices\n\nLists every Vulkan device with the limits moevk uses. The device moevk picks by\n"
               "default is marked '*': discrete > integrated > virtual > cpu; override with\n"
               "MOEVK_DEVICE=<index|name substring>. The memory model is 'unified' where device memory\n"
               "is host-visible (mapped directly) and 'staging' otherwise; MOEVK_FORCE_STAGING=1 forces\n"
               "staging, as on a discrete GPU, and shows 'staging (forced)'.\n");
        return 0;
    }
    vk_device_info infos[16];
    uint32_t n = 0;
    moevk_status s = vk_list_devices(infos, 16, &n);
    if (s != MOEVK_OK) {
        fprintf(stderr, "moevk devices: %s: %s\n", moevk_status_str(s), moevk_last_error());
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "moevk devices: no Vulkan device found (install a driver, e.g. mesa-vulkan-drivers)\n");
        return 1;
    }
    vk_ctx *ctx = NULL;
    vk_ctx_params p = {0};
    const char *chosen = NULL;
    if (vk_ctx_create(&p, &ctx) == MOEVK_OK) chosen = vk_ctx_info(ctx)->name;
    for (uint32_t i = 0; i < n && i < 16; i++) {
        const vk_device_info *d = &infos[i];
        printf("%c %u: %s (%s)\n", chosen && !strcmp(chosen, d->name) && vk_ctx_info(ctx)->index == i ? '*' : ' ', i, d->name,
               vk_device_kind_name(d->kind));
        printf("     driver: %s, Vulkan %u.%u.%u\n", d->driver, d->api_version >> 22, (d->api_version >> 12) & 0x3ff,
               d->api_version & 0xfff);
        printf("     subgroup size %u%s, shared memory %u KiB, workgroup <= %u invocations\n", d->subgroup_size,
               d->subgroup_arith ? " (arithmetic)" : "", d->max_shared_memory / 1024, d->max_workgroup_invocations);
        printf("     maxStorageBufferRange %llu MiB, maxMemoryAllocationSize %llu MiB, device-local %llu MiB%s\n",
               (unsigned long long)(d->max_storage_buffer_range >> 20), (unsigned long long)(d->max_memory_allocation_size >> 20),
               (unsigned long long)(d->device_local_bytes >> 20), d->uma ? " (host-visible)" : "");
        printf("     memory model: %s, %s\n", vk_memory_model_name(d),
               !d->staging         ? "device memory is mapped and written directly"
               : d->staging_forced ? "uploads and readbacks through staging buffers (MOEVK_FORCE_STAGING=1)"
                                   : "uploads and readbacks through staging buffers");
        printf("     maxComputeWorkGroupCount %u x %u x %u, push constants %u B\n", d->max_workgroup_count[0],
               d->max_workgroup_count[1], d->max_workgroup_count[2], d->max_push_constants_size);
        printf("     fp16 %s, int8 %s, 16-bit storage %s, 8-bit storage %s, timestamps %s\n", d->fp16 ? "yes" : "no",
               d->int8 ? "yes" : "no", d->storage16 ? "yes" : "no", d->storage8 ? "yes" : "no", d->timestamps ? "yes" : "no");
    }
    vk_ctx_destroy(ctx);
    return 0;
}
