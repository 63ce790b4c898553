/* fuzz_script.c — libFuzzer harness: arbitrary bytes as a moevk-view --script
 * file (app/view/script_parse.c): split into commands (comments, blanks,
 * ${VAR} expansion), each command split into the words script.c acts on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "script_parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("MOEVK_FUZZ_X", "a value with ${MOEVK_FUZZ_X} in it", 1);  // expansion is not recursive
    setenv("IMG", "/tmp/some image.png", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // the text in a buffer of its own size, so any read past it is caught
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    char *lines[VIEW_SCRIPT_MAX_LINES];
    int n = 0;
    char err[256] = "";
    if (view_script_parse_text(text, size, "fuzz", lines, VIEW_SCRIPT_MAX_LINES, &n, err, sizeof err)) {
        for (int i = 0; i < n; i++) {
            size_t len = strlen(lines[i]);
            // (no checks on the line's text: ${VAR} may expand to anything, even "")
            view_script_words w;
            view_script_split(lines[i], &w);
            const char *end = lines[i] + len;
            if (w.rest < lines[i] || w.rest > end || w.tail < w.rest || w.tail > end) __builtin_trap();
            if (strlen(w.cmd) >= sizeof w.cmd || strlen(w.a1) >= sizeof w.a1 || strlen(w.a2) >= sizeof w.a2) __builtin_trap();
            free(lines[i]);
        }
    } else if (!err[0] || n != 0) {
        __builtin_trap();
    }
    free(text);
    return 0;
}
