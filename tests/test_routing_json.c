/* test_routing_json.c — the routing telemetry JSON writer
 * (app/common/routing_json.c): written, then parsed back by Python's json
 * module (and a few plain string checks when Python is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "routing_json.h"
#include "test_util.h"

static int have_python(void) { return system("/usr/bin/python3 -c 'import json' >/dev/null 2>&1") == 0; }

static void json_round_trip(void **state) {
    (void)state;
    enum { NT = 4, NL = 2, K = 2 };
    const int32_t pos[NT] = {0, 1, 2, 3};
    const int kind[NT] = {1, 0, 0, 2}; /* prompt, image, image, generated */
    const int32_t tok[NT] = {297, -1, -1, 42};
    const int32_t ids[NT * NL * K] = {3, 1, 0, 7, 5, 2, 6, 4, 1, 0, 2, 3, 7, 6, 5, 4};
    const float w[NT * NL * K] = {0.75f, 0.25f, 0.5f, 0.5f, 0.6f, 0.4f, 0.123456789f, 0.876543211f,
                                  1.0f,  0.0f,  0.9f, 0.1f, 0.3f, 0.7f, 1e-7f,        NAN};
    const int32_t layer_ids[NL] = {0, 5};
    const int32_t turn[NT] = {0, 0, 1, 1}, image[NT] = {-1, 0, 1, -1}, reasoning[NT] = {0, 0, 0, 1};
    char path[] = "/tmp/moevk_test_routing_XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    routing_json_input rj = {.n_tokens = NT, .n_layers = NL, .k = K, .pos = pos, .kind = kind, .token = tok,
                             .ids = ids, .weights = w, .layer_ids = layer_ids, .turn = turn, .image = image,
                             .reasoning = reasoning};
    assert_int_equal(routing_json_write_file(path, &rj), MOEVK_OK);

    /* a few fields with plain string checks */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char text[8192];
    const size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    assert_non_null(strstr(text, "\"kind\":\"generated\""));
    assert_non_null(strstr(text, "\"token\":297"));
    assert_non_null(strstr(text, "\"layer\":5"));
    assert_non_null(strstr(text, "\"turn\":1,\"image\":1,\"reasoning\":false,"));
    assert_non_null(strstr(text, "\"image\":-1,\"reasoning\":true,"));
    assert_non_null(strstr(text, "0.123456791")); /* %.9g of the float nearest 0.123456789 */
    assert_null(strstr(text, "nan"));          /* JSON has no NaN: written as null */

    if (!have_python()) {
        tu_note_skip(1, "part of the test: /usr/bin/python3 not available to parse the JSON");
    } else {
        /* the JSON must parse, and the parsed values must be what we wrote */
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"\nimport json,sys\nd=json.load(open('%s'))\n"
                 "assert len(d)==4\n"
                 "assert [t['kind'] for t in d]==['prompt','image','image','generated']\n"
                 "assert [t['pos'] for t in d]==[0,1,2,3] and d[0]['token']==297 and d[1]['token']==-1\n"
                 "assert [t['turn'] for t in d]==[0,0,1,1] and [t['image'] for t in d]==[-1,0,1,-1]\n"
                 "assert [t['reasoning'] for t in d]==[False,False,False,True]\n"
                 "assert [l['layer'] for l in d[2]['layers']]==[0,5]\n"
                 "assert d[1]['layers'][1]['experts']==[6,4]\n"
                 "import struct\nf32=lambda x: struct.unpack('f', struct.pack('f', x))[0]\n"
                 "assert f32(d[1]['layers'][1]['weights'][0])==f32(0.123456789)\n"
                 "assert f32(d[3]['layers'][1]['weights'][0])==f32(1e-7) and d[3]['layers'][1]['weights'][1] is None\n"
                 "assert d[0]['layers'][0]=={'layer':0,'experts':[3,1],'weights':[0.75,0.25]}\n"
                 "\"",
                 path);
        assert_int_equal(system(cmd), 0);
    }
    unlink(path);

    /* bad input */
    rj.kind = (const int[NT]){1, 0, 9, 2};
    assert_int_equal(routing_json_write_file(path, &rj), MOEVK_ERR_INVALID_ARG);
    rj.kind = kind;
    assert_int_equal(routing_json_write_file("/nonexistent-dir/r.json", &rj), MOEVK_ERR_IO);
    unlink(path);
}

static void json_empty(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    routing_json_input rj = {.n_tokens = 0, .n_layers = 3, .k = 2};
    assert_int_equal(routing_json_write(f, &rj), MOEVK_OK);
    fclose(f);
    assert_string_equal(buf, "[]\n");
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_round_trip),
        cmocka_unit_test(json_empty),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
