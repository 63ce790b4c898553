#!/usr/bin/env bash
# check_layering.sh — the include layering of the sources (no build needed):
#  1. engine/ never includes vulkan.h, directly or through a header it
#     includes (backend headers included by engine/ must be Vulkan-free, as
#     vk_backend.h is; vk_internal.h / vk_loader.h are backend-only).
#  2. app/ reaches the library only through include/moevk.h, except for the
#     few internal headers listed in ALLOW below, each declared on purpose by
#     one file for the reason given there. Any other include of a backend/ or
#     engine/ header from app/ is a violation.
# Then it proves it can fail: a fabricated tree with one violation of each
# kind must be reported (exit 1). usage: check_layering.sh [ROOT]
set -u
. "$(dirname "$0")/lib.sh"
ROOT=${1:-$SRC}

# "app file|internal header|why". Paths relative to the root.
ALLOW=(
  "app/cli/cmd_devices.c|vk_backend.h|moevk devices lists Vulkan devices, their limits and memory model before any model is loaded"
  "app/cli/bench_ops.h|vk_backend.h|moevk bench ops times single backend ops on synthetic tensors (no model)"
  "app/cli/cmd_info.c|gguf.h|moevk info reads a GGUF's metadata without creating a device"
  "app/cli/cmd_info.c|model_hparams.h|moevk info prints the hyper-parameters the engine would use"
  "app/cli/cmd_tokenize.c|gguf.h|moevk tokenize reads the tokenizer from a GGUF without creating a device"
  "app/cli/cmd_tokenize.c|tokenizer.h|moevk tokenize runs the tokenizer alone"
  "app/view/view_image.c|image_guard.h|the header-only guard against inputs Debian's stb_image mishandles: the app decodes files and camera frames with its own stb copy and must refuse what the engine refuses"
  "app/common/heatmap.c|mvk_status.h|reports errors through moevk_last_error(), as the library does"
  "app/common/routing_json.c|mvk_status.h|reports errors through moevk_last_error(), as the library does"
)

# quoted includes of a file, one per line
quoted() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"; }
angled() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$1"; }

# resolve NAME included from FILE: its own directory, then the library's include dirs
resolve() {
    local file=$1 name=$2 d
    for d in "$(dirname "$file")" "$ROOT/include" "$ROOT/backend" "$ROOT/backend/ref" "$ROOT/engine"; do
        [ -f "$d/$name" ] && { echo "$d/$name"; return 0; }
    done
    return 1
}

# vulkan_path FILE: prints the include chain to vulkan.h if FILE reaches it
declare -A seen
vulkan_path() {
    local file=$1 chain=$2 inc path
    [ -n "${seen[$file]:-}" ] && return 1
    seen[$file]=1
    if angled "$file" | grep -qE '(^|/)vulkan(_core)?\.h$'; then echo "$chain -> <vulkan/vulkan.h>"; return 0; fi
    while read -r inc; do
        [ -n "$inc" ] || continue
        path=$(resolve "$file" "$inc") || continue
        vulkan_path "$path" "$chain -> $inc" && return 0
    done < <(quoted "$file")
    return 1
}

check_tree() {
    local root=$1 bad=0 f inc rel ok entry
    ROOT=$root
    for f in "$root"/engine/*.c "$root"/engine/*.h; do
        [ -f "$f" ] || continue
        seen=()
        local chain
        if chain=$(vulkan_path "$f" "${f#"$root"/}"); then
            echo "VIOLATION: engine/ must not see Vulkan: $chain"
            bad=1
        fi
    done
    while read -r f; do
        rel=${f#"$root"/}
        while read -r inc; do
            [ -n "$inc" ] || continue
            [ "$(basename "$inc")" = moevk.h ] && continue
            # the app's own headers: beside the file or in app/common (its include dirs)
            local d app=0
            for d in "$(dirname "$f")" "$root/app/common"; do
                [ -f "$d/$inc" ] && case "$(realpath -m "$d/$inc")" in "$root"/app/*) app=1 ;; esac
            done
            [ $app = 1 ] && continue
            ok=0
            for entry in "${ALLOW[@]}"; do
                IFS='|' read -r af ah _ <<<"$entry"
                [ "$af" = "$rel" ] && [ "$ah" = "$inc" ] && ok=1
            done
            if [ $ok = 0 ]; then
                echo "VIOLATION: $rel includes \"$inc\": app/ reaches the library through include/moevk.h (or a header declared in ALLOW)"
                bad=1
            fi
        done < <(quoted "$f")
    done < <(find "$root/app" -name '*.[ch]' 2>/dev/null | sort)
    return $bad
}

echo "== $ROOT"
check_tree "$ROOT"
real=$?
[ $real = 0 ] && echo "ok: engine/ is Vulkan-free and app/ uses moevk.h plus ${#ALLOW[@]} declared internal includes"

# The check must be able to fail: one violation of each kind in a scratch tree.
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/engine" "$T/backend" "$T/include" "$T/app/cli" "$T/app/view"
echo '#include <vulkan/vulkan.h>' >"$T/backend/vk_loader.h"
echo '#include "vk_loader.h"' >"$T/backend/vk_internal.h"
echo '#include "vk_internal.h"' >"$T/engine/sneaky.c"     # vulkan.h through a backend header
echo '#include "moevk.h"' >"$T/include/moevk.h"
printf '#include "moevk.h"\n#include "../../engine/lm.h"\n' >"$T/app/view/peek.c"  # engine internals from the app
printf '#include "moevk.h"\n#include "gguf.h"\n' >"$T/app/cli/cmd_new.c"          # not declared in ALLOW
out=$(check_tree "$T")
rc=$?
n=$(printf '%s\n' "$out" | grep -c VIOLATION)
if [ $rc = 0 ] || [ "$n" != 3 ]; then
    echo "FAIL: the fabricated tree has 3 violations but the check reported $n (rc $rc):"; printf '%s\n' "$out"
    exit 1
fi
echo "ok: a fabricated tree's 3 violations are all reported"
exit $real
