# tests/fuzz/fuzz.cmake — libFuzzer harnesses (included instead of the normal
# build when MOEVK_FUZZ=ON; needs clang: CC=clang-15, Debian's clang-15 and
# libfuzzer-15-dev). Everything here is built with ASan + UBSan and coverage
# instrumentation; only the sources the harnesses reach are compiled (no
# Vulkan, no shaders). Run them with tools/fuzz.sh.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MOEVK_FUZZ=ON needs clang (e.g. CC=clang-15 cmake -DMOEVK_FUZZ=ON ...)")
endif()
set(FUZZ_SAN -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)

set(MOEVK_UNICODE_DIR /usr/share/unicode CACHE PATH "directory with UnicodeData.txt, PropList.txt, DerivedAge.txt")
add_compile_options(-Wall -Wextra -Wshadow -Wno-unused-parameter -D_GNU_SOURCE -g -O1)
if(MOEVK_WERROR)
  add_compile_options(-Werror)
endif()
# host tools, not instrumented
add_executable(gen_unicode_tables tools/gen_unicode_tables.c)
set(UNICODE_TABLES_C ${CMAKE_BINARY_DIR}/unicode_tables.c)
add_custom_command(OUTPUT ${UNICODE_TABLES_C}
  COMMAND gen_unicode_tables ${MOEVK_UNICODE_DIR}/UnicodeData.txt ${MOEVK_UNICODE_DIR}/PropList.txt
          ${MOEVK_UNICODE_DIR}/DerivedAge.txt ${UNICODE_TABLES_C}
  DEPENDS gen_unicode_tables
  COMMENT "generating Unicode tables" VERBATIM)

include(engine/image_decoders.cmake)
file(GLOB FUZZ_IMAGE_SOURCES CONFIGURE_DEPENDS engine/image*.c)
add_library(moevk_fuzzcore STATIC
  engine/gguf.c engine/model_hparams.c ${FUZZ_IMAGE_SOURCES} engine/tokenizer.c engine/unicode_flags.c engine/stb_impl.c
  engine/arch/families.c engine/arch/tensor_walk.c engine/arch/clip_qwen3vl_merger.c engine/arch/qwen3vlmoe.c
  engine/arch/qwen3vl.c engine/arch/qwen3moe.c engine/arch/qwen3.c engine/arch/qwen35.c engine/arch/gemma4.c
  engine/arch/clip_gemma4v.c
  tests/fuzz/fuzz_no_layers.c
  core/mvk_status.c core/mvk_types.c core/mvk_dequant.c ${UNICODE_TABLES_C}
  app/view/camera_convert.c app/view/view_image.c app/view/script_parse.c)
target_include_directories(moevk_fuzzcore PUBLIC include core engine backend backend/ref app/view ${CMAKE_BINARY_DIR})
target_compile_options(moevk_fuzzcore PRIVATE ${FUZZ_SAN} -fsanitize=fuzzer-no-link)
# view_image.c compiles stb_image_resize (vendored, not ours to explore): comparison tracing in its filter set-up
# took 77 % of fuzz_camera's time (a wide frame is downscaled per input). The file stays under ASan + UBSan and
# keeps edge coverage; only the comparison operands are not traced.
set_source_files_properties(app/view/view_image.c PROPERTIES COMPILE_OPTIONS "-fno-sanitize-coverage=trace-cmp")
target_link_libraries(moevk_fuzzcore PUBLIC m moevk_image_decoders)
# smaller frames and display size in the fuzz build (see app/view/view_image.h): 1M executions in minutes, not hours
target_compile_definitions(moevk_fuzzcore PUBLIC "VIEW_FRAME_MAX_PIXELS=(512LL * 512LL)" VIEW_FRAME_MAX_SIDE=4096
                           VIEW_IMAGE_MAX_SIDE=256)

find_package(PkgConfig REQUIRED)
pkg_check_modules(MOEVK_FUZZ_CJSON REQUIRED IMPORTED_TARGET libcjson)
add_library(moevk_fuzzserver STATIC app/server/srv_request.c)
target_include_directories(moevk_fuzzserver PUBLIC app/server include)
target_compile_options(moevk_fuzzserver PRIVATE ${FUZZ_SAN} -fsanitize=fuzzer-no-link)
target_link_libraries(moevk_fuzzserver PUBLIC PkgConfig::MOEVK_FUZZ_CJSON)

foreach(t gguf image tokenizer camera script request)
  add_executable(fuzz_${t} tests/fuzz/fuzz_${t}.c)
  target_compile_options(fuzz_${t} PRIVATE ${FUZZ_SAN} -fsanitize=fuzzer)
  target_link_options(fuzz_${t} PRIVATE ${FUZZ_SAN} -fsanitize=fuzzer)
  target_link_libraries(fuzz_${t} PRIVATE moevk_fuzzcore)
endforeach()
target_link_libraries(fuzz_request PRIVATE moevk_fuzzserver)
target_compile_definitions(fuzz_tokenizer PRIVATE
  MOEVK_FUZZ_DEFAULT_VOCAB="${CMAKE_SOURCE_DIR}/assets/models/moevk-tiny.gguf")
