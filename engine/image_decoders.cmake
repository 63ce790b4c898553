# engine/image_decoders.cmake — the image decoding libraries Debian ships
# (engine/image_decode.c): libjpeg-turbo, libpng, libwebp (+ demux for the
# EXIF chunk), giflib (no .pc file), libexif, libheif. One INTERFACE target,
# moevk_image_decoders, for the library and the fuzz build alike.
find_package(PkgConfig REQUIRED)
pkg_check_modules(MOEVK_IMGLIBS REQUIRED IMPORTED_TARGET libjpeg libpng libwebp libwebpdemux libexif libheif)
find_library(MOEVK_GIF_LIB gif REQUIRED)
find_path(MOEVK_GIF_INCLUDE gif_lib.h REQUIRED)
add_library(moevk_image_decoders INTERFACE)
target_include_directories(moevk_image_decoders INTERFACE ${MOEVK_GIF_INCLUDE})
target_link_libraries(moevk_image_decoders INTERFACE PkgConfig::MOEVK_IMGLIBS ${MOEVK_GIF_LIB})
