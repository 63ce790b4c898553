/* camera_test.h — the synthetic camera behind `--camera test:[OPTIONS]`: a
 * moving test pattern (colour bars scrolling by one bar a second, a white
 * square crossing the frame, a frame counter bar) produced as the bytes a
 * webcam would deliver and converted by view_camera_convert like a real one.
 * It can vanish and come back on a schedule, as an unplugged webcam does.
 *
 * OPTIONS, comma-separated key=value (all optional):
 *   fps=N      frames per second (default 30)
 *   on=S       seconds streaming before it vanishes (default 0: never vanishes)
 *   off=S      seconds gone before it comes back (default 3)
 *   fmt=yuyv|mjpeg   the bytes it produces (default yuyv)
 * e.g. --camera test:on=20,off=3. The size is --camera-size (default 640x480). */
#ifndef MOEVK_VIEW_CAMERA_TEST_H
#define MOEVK_VIEW_CAMERA_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "view_image.h"

typedef struct view_test_camera view_test_camera;

/* NULL with a message in err for a bad option. t0: now (monotonic seconds). */
view_test_camera *view_test_camera_new(const char *opts, int w, int h, double t0, char *err, size_t err_cap);
/* At time t: 1 with a new frame in *out when one is due, 0 if none is due,
 * -1 with a message while the camera is gone (every call; the caller reports
 * it once). */
int view_test_camera_poll(view_test_camera *c, double t, view_image *out, char *err, size_t err_cap);
int view_test_camera_is_up(const view_test_camera *c);
const char *view_test_camera_format(const view_test_camera *c);  // "YUYV" or "MJPG"
/* Times the camera came (back): 1 after the first frame, +1 per reconnection. */
uint64_t view_test_camera_connects(const view_test_camera *c);
void view_test_camera_free(view_test_camera *c);

#endif
