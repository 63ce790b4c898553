#!/usr/bin/env bash
# tools/mesa_backports.sh [--prefix DIR] [--suite SUITE] — a second lavapipe beside the system's: downloads Debian's
# mesa-vulkan-drivers from SUITE (default bookworm-backports: Mesa 25.0 on Debian 12, whose own is 22.3) and the
# libraries it needs newer than the system has (libdrm2, libdrm-amdgpu1), extracts them with dpkg -x under DIR
# (default /opt/mesa25), writes DIR/etc/lvp_icd.json with an absolute library path, and prints the environment
# lines that select it:
#   eval "$(tools/mesa_backports.sh --prefix /opt/mesa25)"
#   vulkaninfo --summary     # driverInfo = Mesa 25.0.x (LLVM 15.0.6)
# Installs nothing: the system's Mesa, which CI and the tests use, is untouched (apt-get update and download run
# on a private sources list and package lists under DIR/apt). Not used by CI or the tests; measured in
# docs/PERFORMANCE.md ("Session 13: Mesa 25.0 lavapipe from bookworm-backports"). Progress goes to stderr, the
# env lines to stdout.
set -euo pipefail
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
prefix=/opt/mesa25
suite=bookworm-backports
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --suite) suite=${2:?--suite needs a suite name}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "mesa_backports: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for t in apt-get dpkg ldd; do command -v "$t" >/dev/null || { echo "mesa_backports: $t is missing" >&2; exit 1; }; done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
apt_dir=$prefix/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$prefix/etc"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
  >"$apt_dir/sources.list"
# apt on the private list only: the system's sources, lists and cache are not read or written
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
echo "mesa_backports: apt-get update ($suite, private lists in $apt_dir)" >&2
apt-get "${apt_opts[@]}" update -qq >&2
# the suite's version of each package (the candidate on the private list; the system's own is never newer)
pkgs=(mesa-vulkan-drivers libdrm2 libdrm-amdgpu1)
want=()
for p in "${pkgs[@]}"; do
  v=$(apt-cache "${apt_opts[@]}" madison "$p" | awk -v s="$suite" '$0 ~ s {print $3; exit}')
  [ -n "$v" ] || { echo "mesa_backports: $p is not in $suite" >&2; exit 1; }
  want+=("$p=$v")
done
echo "mesa_backports: downloading ${want[*]}" >&2
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download -qq "${want[@]}" >&2)
for p in "${pkgs[@]}"; do
  for f in "$apt_dir/debs/${p}"_*.deb; do dpkg -x "$f" "$prefix"; done
done
libdir=$prefix/usr/lib/x86_64-linux-gnu
lvp=$libdir/libvulkan_lvp.so
[ -f "$lvp" ] || { echo "mesa_backports: $lvp missing after extraction" >&2; exit 1; }
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$prefix/usr/share/vulkan/icd.d/lvp_icd.json")
cat >"$prefix/etc/lvp_icd.json" <<EOF
{
    "ICD": {
        "api_version": "$api",
        "library_path": "$lvp"
    },
    "file_format_version": "1.0.0"
}
EOF
# every library the driver needs must resolve, from DIR first and then the system (libLLVM-15 is the system's)
if LD_LIBRARY_PATH=$libdir ldd "$lvp" | grep -q 'not found'; then
  echo "mesa_backports: libraries not found for $lvp:" >&2
  LD_LIBRARY_PATH=$libdir ldd "$lvp" | grep 'not found' >&2
  exit 1
fi
echo "mesa_backports: Mesa $(dpkg-deb -f "$apt_dir"/debs/mesa-vulkan-drivers_*.deb Version) (Vulkan $api) in $prefix" >&2
echo "export VK_ICD_FILENAMES=$prefix/etc/lvp_icd.json"
echo "export LD_LIBRARY_PATH=$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
