/* stb_impl.c — the one translation unit that compiles stb_image_write
 * (Debian libstb-dev headers, <stb/...>) for our own PNG output (heatmaps,
 * test images). Everyone else includes the header for declarations only.
 * No input is decoded by stb: image_decode.c reads images through libjpeg-turbo,
 * libpng, libwebp, giflib and libheif.
 *
 * stb is third-party code: its warnings are silenced here so that
 * -Wall -Wextra -Werror stays meaningful for our own files. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#endif

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
