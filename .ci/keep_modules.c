/* keep_modules.c — LD_PRELOADed into the sanitizer pass's tests: dlclose does
 * nothing, so the Vulkan loader's ICD and layer libraries stay mapped until
 * exit. Why: LeakSanitizer cannot name a library that was unloaded before the
 * leak check, so .ci/lsan.supp (which names them) cannot match, and memory
 * that such a library still held through its own globals is reported as a
 * leak of "<unknown module>" (seen: 128 bytes realloc'ed in test_backend and
 * test_api). Our own leaks are still found: this only keeps libraries loaded. */
int dlclose(void *handle);
int dlclose(void *handle) {
    (void)handle;
    return 0;
}
