/* selftest.c — `moevk-view --selftest [FILE.jpg R G B]`: checks the camera
 * frame conversions that need no camera: YUYV (BT.601 limited range) to RGB on
 * reference colours, odd widths and row padding, and an MJPEG frame decoded
 * from memory (a JPEG file of one solid colour made by the test). Prints what
 * it checked; returns the process exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view_image.h"

int view_selftest(int argc, char **argv);

static int near(int a, int b, int tol) { return a - b <= tol && b - a <= tol; }

static int check_yuyv(void) {
    // Y, U, V of BT.601 limited-range reference colours and the RGB they encode
    static const struct { int y, u, v, r, g, b; } k[] = {
        {16, 128, 128, 0, 0, 0},       {235, 128, 128, 255, 255, 255}, {81, 90, 240, 255, 0, 0},
        {145, 54, 34, 0, 255, 0},      {41, 240, 110, 0, 0, 255},      {126, 128, 128, 128, 128, 128},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        // a 3x2 frame (odd width) with 4 padding bytes per row
        const int w = 3, h = 2, stride = 12;
        uint8_t src[24], dst[3 * 2 * 3];
        memset(src, 0xAB, sizeof src);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < 2; x++) {
                uint8_t *p = src + y * stride + x * 4;
                p[0] = (uint8_t)k[i].y, p[1] = (uint8_t)k[i].u, p[2] = (uint8_t)k[i].y, p[3] = (uint8_t)k[i].v;
            }
        view_yuyv_to_rgb(src, w, h, stride, dst);
        for (int px = 0; px < w * h; px++)
            if (!near(dst[px * 3], k[i].r, 2) || !near(dst[px * 3 + 1], k[i].g, 2) || !near(dst[px * 3 + 2], k[i].b, 2)) {
                printf("FAIL yuyv (%d,%d,%d) pixel %d -> (%d,%d,%d), expected (%d,%d,%d)\n", k[i].y, k[i].u, k[i].v, px,
                       dst[px * 3], dst[px * 3 + 1], dst[px * 3 + 2], k[i].r, k[i].g, k[i].b);
                fails++;
                break;
            }
    }
    if (!fails) printf("ok yuyv: %zu reference colours, odd width, padded rows\n", sizeof k / sizeof k[0]);
    return fails;
}

static int check_jpeg(const char *path, int r, int g, int b) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = n > 0 ? malloc((size_t)n) : NULL;
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(data);
        printf("FAIL cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    view_image img;
    char err[256];
    int ok = view_image_decode_jpeg(data, (size_t)n, &img, err, sizeof err);
    int fails = 0;
    if (!ok) {
        printf("FAIL mjpeg: %s\n", err);
        fails++;
    } else {
        long sum[3] = {0, 0, 0};
        for (int i = 0; i < img.w * img.h; i++)
            for (int c = 0; c < 3; c++) sum[c] += img.rgb[i * 3 + c];
        int m[3];
        for (int c = 0; c < 3; c++) m[c] = (int)(sum[c] / (img.w * img.h));
        if (!near(m[0], r, 6) || !near(m[1], g, 6) || !near(m[2], b, 6)) {
            printf("FAIL mjpeg: mean colour (%d,%d,%d), expected (%d,%d,%d)\n", m[0], m[1], m[2], r, g, b);
            fails++;
        } else {
            printf("ok mjpeg: %dx%d frame decoded from memory, mean colour (%d,%d,%d)\n", img.w, img.h, m[0], m[1], m[2]);
        }
        view_image_free(&img);
    }
    // a truncated frame (a camera can deliver one) must fail cleanly
    if (view_image_decode_jpeg(data, (size_t)n / 3, &img, err, sizeof err)) view_image_free(&img);
    if (view_image_decode_jpeg(data, 3, &img, err, sizeof err)) {
        printf("FAIL mjpeg: a 3-byte frame decoded\n");
        fails++;
        view_image_free(&img);
    }
    free(data);
    return fails;
}

int view_selftest(int argc, char **argv) {
    int fails = check_yuyv();
    if (argc >= 5) fails += check_jpeg(argv[1], atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    printf("%s\n", fails ? "FAIL" : "PASS");
    return fails ? 1 : 0;
}
