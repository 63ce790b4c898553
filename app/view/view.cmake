# app/view/view.cmake — the `moevk-view` SDL2 desktop app (included from the top
# CMakeLists.txt when MOEVK_BUILD_APP is ON).
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(MOEVK_SDL2 QUIET IMPORTED_TARGET sdl2 SDL2_ttf)
  pkg_check_modules(MOEVK_V4L2 QUIET IMPORTED_TARGET libv4l2)
endif()
if(NOT MOEVK_SDL2_FOUND)
  message(WARNING "moevk-view: SDL2 / SDL2_ttf not found (apt-get install libsdl2-dev libsdl2-ttf-dev); the app is not built")
  return()
endif()

file(GLOB VIEW_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/app/view/*.c)
if(NOT TARGET moevk_appcommon)
  # The shared drawing / JSON helpers; built here if no library target exists.
  file(GLOB VIEW_COMMON_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/app/common/*.c)
  list(APPEND VIEW_SOURCES ${VIEW_COMMON_SOURCES})
endif()
add_executable(moevk_view ${VIEW_SOURCES})
set_target_properties(moevk_view PROPERTIES OUTPUT_NAME moevk-view)
target_include_directories(moevk_view PRIVATE ${CMAKE_SOURCE_DIR}/app/view ${CMAKE_SOURCE_DIR}/app/common ${CMAKE_SOURCE_DIR}/backend)
target_compile_definitions(moevk_view PRIVATE MOEVK_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(moevk_view PRIVATE moevk PkgConfig::MOEVK_SDL2 pthread m)
if(TARGET moevk_appcommon)
  target_link_libraries(moevk_view PRIVATE moevk_appcommon)
endif()
if(MOEVK_V4L2_FOUND)
  target_compile_definitions(moevk_view PRIVATE MOEVK_HAVE_V4L2=1)
  target_link_libraries(moevk_view PRIVATE PkgConfig::MOEVK_V4L2)
else()
  message(STATUS "moevk-view: libv4l2 not found (apt-get install libv4l-dev); webcam support disabled")
endif()

# moevk-view's pure input parsers (camera frames, script text), tested without SDL
add_executable(test_view_inputs ${CMAKE_SOURCE_DIR}/tests/view/test_view_inputs.c ${CMAKE_SOURCE_DIR}/app/view/camera_convert.c
  ${CMAKE_SOURCE_DIR}/app/view/view_image.c ${CMAKE_SOURCE_DIR}/app/view/script_parse.c)
target_include_directories(test_view_inputs PRIVATE ${CMAKE_SOURCE_DIR}/app/view)
target_link_libraries(test_view_inputs PRIVATE ${CMOCKA_LIB} m)
add_test(NAME test_view_inputs COMMAND test_view_inputs)
