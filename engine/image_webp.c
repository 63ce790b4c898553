/* image_webp.c — WebP through libwebp (Debian libwebp7, libwebpdemux2): lossy
 * and lossless stills, alpha dropped as for PNG. Animated files are refused
 * (moevk takes one frame; say which). The size comes from the bitstream
 * header before any pixel buffer; the EXIF chunk's orientation is applied. */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "image_decode.h"
#include "mvk_status.h"

moevk_status mvk_decode_webp(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                             mvk_image *out, int *orientation) {
    *orientation = 1;
    WebPBitstreamFeatures f;
    VP8StatusCode vs = WebPGetFeatures(data, size, &f);
    if (vs != VP8_STATUS_OK)
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': damaged or unsupported WebP (header: status %d)", name, (int)vs);
    if (f.has_animation)
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': animated WebP is not supported: save one frame as PNG or JPEG", name);
    MVK_TRY(mvk_decode_check_size(name, "WebP", f.width, f.height, lim));
    WebPData wd = {data, size};
    WebPDemuxer *dmx = WebPDemux(&wd);
    if (dmx) {
        WebPChunkIterator it;
        if (WebPDemuxGetChunk(dmx, "EXIF", 1, &it)) {
            *orientation = mvk_exif_orientation(it.chunk.bytes, it.chunk.size);
            WebPDemuxReleaseChunkIterator(&it);
        }
        WebPDemuxDelete(dmx);
    }
    const size_t stride = (size_t)f.width * 3, bytes = stride * (size_t)f.height;
    uint8_t *px = malloc(bytes);
    if (!px) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory for %dx%d pixels", name, f.width, f.height);
    if (!WebPDecodeRGBInto(data, size, px, bytes, (int)stride)) {
        free(px);
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': damaged WebP (decoding failed)", name);
    }
    out->rgb = px;
    out->w = f.width;
    out->h = f.height;
    return MOEVK_OK;
}
