/* vk_shaders.h — the SPIR-V of every shader, embedded at build time.
 * Names are "<file stem>" or "<file stem>_<variant>", from the
 * "// variants:" line at the top of each shaders/NAME.comp (see CMakeLists.txt). */
#ifndef VK_SHADERS_H
#define VK_SHADERS_H
#include <stddef.h>
#include <stdint.h>

typedef struct vk_shader_blob {
    const char *name;
    const uint32_t *code;
    size_t size; /* bytes */
    uint32_t push_size; /* bytes of the shader's push-constant block (reflected by tools/embed_spv.c) */
} vk_shader_blob;

extern const vk_shader_blob vk_shader_blobs[]; /* terminated by name == NULL */

#endif
