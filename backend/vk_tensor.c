/* vk_tensor.c — tensor views: shapes, strides and extents. */
#include "vk_backend.h"

mvk_tensor mvk_tensor_make(vk_buffer *buf, uint64_t off, mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
    mvk_tensor x = {.buf = buf, .off = off, .type = t, .ne = {ne0, ne1, ne2, ne3}};
    int64_t be = mvk_type_block_elems(t);
    x.nb[0] = mvk_type_block_bytes(t);
    x.nb[1] = be ? mvk_dev_row_bytes(t, ne0) : 0; /* quantised: the device layout (mvk_types.h) */
    x.nb[2] = x.nb[1] * ne1;
    x.nb[3] = x.nb[2] * ne2;
    return x;
}

mvk_tensor mvk_tensor_view(const mvk_tensor *t, uint64_t offset, const int64_t ne[4], const int64_t nb[4]) {
    mvk_tensor x = *t;
    x.off = t->off + offset;
    for (int i = 0; i < 4; i++) {
        x.ne[i] = ne[i];
        x.nb[i] = nb[i];
    }
    return x;
}

int64_t mvk_tensor_nelements(const mvk_tensor *t) { return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; }

uint64_t mvk_tensor_extent(const mvk_tensor *t) {
    int64_t be = mvk_type_block_elems(t->type);
    if (be == 0) return 0;
    for (int i = 0; i < 4; i++)
        if (t->ne[i] <= 0) return 0;
    /* last byte touched + 1: the last row's end plus the outer strides */
    int64_t row = mvk_dev_row_bytes(t->type, t->ne[0]);
    uint64_t e = row > 0 ? (uint64_t)row : (uint64_t)(t->ne[0] / be) * (uint64_t)t->nb[0];
    for (int i = 1; i < 4; i++) e += (uint64_t)(t->ne[i] - 1) * (uint64_t)t->nb[i];
    return e;
}

int mvk_tensor_is_contiguous(const mvk_tensor *t) {
    int64_t be = mvk_type_block_elems(t->type);
    if (be == 0 || t->nb[0] != mvk_type_block_bytes(t->type)) return 0;
    return t->nb[1] == mvk_dev_row_bytes(t->type, t->ne[0]) && t->nb[2] == t->nb[1] * t->ne[1] && t->nb[3] == t->nb[2] * t->ne[2];
}
