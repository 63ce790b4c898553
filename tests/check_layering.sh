#!/usr/bin/env bash
# check_layering.sh — the include layering of the sources, room by room (no build needed).
# Every C file of every room is checked; a room may include only from the rooms below it:
#
#   core/     (status codes, the weight-type table, dequantisers: no Vulkan)  -> core, include
#   backend/  (Vulkan, CPU references in backend/ref)                          -> backend, core, include
#   engine/   (with engine/arch, the model families)                           -> engine, backend, core, include
#   app/      -> include/moevk.h and its own headers only (see 3.)
#
#  1. a quoted include that resolves into a room the file's room may not use is a violation;
#  2. core/ and engine/ never include vulkan.h, directly or through a header they include
#     (backend headers included by engine/ must be Vulkan-free, as vk_backend.h is;
#     vk_internal.h / vk_loader.h are backend-only);
#  3. app/ reaches the library only through include/moevk.h, except for the few internal
#     headers listed in ALLOW below, each declared on purpose by one file for the reason
#     given there. Any other include of a core/, backend/ or engine/ header from app/ is a violation.
# Then it proves it can fail: a fabricated tree with a violation in every room must be
# reported, room by room (exit 1). usage: check_layering.sh [ROOT]
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
  "app/common/heatmap.c|mvk_status.h|reports errors through moevk_last_error(), as the library does"
  "app/common/routing_json.c|mvk_status.h|reports errors through moevk_last_error(), as the library does"
)

# quoted includes of a file, one per line
quoted() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"; }
angled() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$1"; }

# resolve NAME included from FILE: its own directory, then the library's include dirs
resolve() {
    local file=$1 name=$2 d
    for d in "$(dirname "$file")" "$ROOT/include" "$ROOT/core" "$ROOT/backend" "$ROOT/backend/ref" "$ROOT/engine" "$ROOT/engine/arch"; do
        [ -f "$d/$name" ] && { realpath -m "$d/$name"; return 0; }
    done
    return 1
}

# room_of PATH (absolute, under $ROOT): core, backend, engine, include, app or other
room_of() {
    local rel=${1#"$ROOT"/}
    case "$rel" in core/*) echo core ;; backend/*) echo backend ;; engine/*) echo engine ;; include/*) echo include ;;
        app/*) echo app ;; *) echo other ;; esac
}

# "room|the rooms it may include from"
ROOMS=(
  "core|core include"
  "backend|backend core include"
  "engine|engine backend core include"
)

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
    local root=$1 bad=0 f inc rel ok entry room allowed path to chain
    ROOT=$(realpath -m "$root")
    root=$ROOT
    for entry in "${ROOMS[@]}"; do
        IFS='|' read -r room allowed <<<"$entry"
        while read -r f; do
            rel=${f#"$root"/}
            while read -r inc; do
                [ -n "$inc" ] || continue
                path=$(resolve "$f" "$inc") || continue # a generated header (build dir) or a system one
                to=$(room_of "$path")
                case " $allowed " in *" $to "*) ;; *)
                    echo "VIOLATION: $rel includes \"$inc\" ($to/): $room/ may include only from ${allowed// /, }"
                    bad=1 ;;
                esac
            done < <(quoted "$f")
            if [ "$room" != backend ]; then
                seen=()
                if chain=$(vulkan_path "$f" "$rel"); then
                    echo "VIOLATION: $room/ must not see Vulkan: $chain"
                    bad=1
                fi
            fi
        done < <(find "$root/$room" -name '*.[ch]' 2>/dev/null | sort)
    done
    while read -r f; do
        rel=${f#"$root"/}
        while read -r inc; do
            [ -n "$inc" ] || continue
            [ "$(basename "$inc")" = moevk.h ] && continue
            # the app's own headers: beside the file, in app/common or app/server (its include dirs)
            local d app=0
            for d in "$(dirname "$f")" "$root/app/common" "$root/app/server"; do
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
[ $real = 0 ] && echo "ok: core/, backend/ and engine/ include only from the rooms below them, core/ and engine/ are Vulkan-free, and app/ uses moevk.h plus ${#ALLOW[@]} declared internal includes"

# The check must be able to fail: a violation in every room of a scratch tree, each reported.
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/core" "$T/engine/arch" "$T/backend/ref" "$T/include" "$T/app/cli" "$T/app/view" "$T/app/common"
echo '#include <vulkan/vulkan.h>' >"$T/backend/vk_loader.h"
echo '#include "vk_loader.h"' >"$T/backend/vk_internal.h"
echo '#include "moevk.h"' >"$T/include/moevk.h"
echo '#include "moevk.h"' >"$T/core/mvk_status.h"
echo '#include "mvk_status.h"' >"$T/engine/engine_internal.h"
echo '#include "moevk.h"' >"$T/app/common/heatmap.h"
printf '#include "mvk_status.h"\n#include "vk_internal.h"\n' >"$T/core/mvk_types.c"   # core/ -> backend/ (and Vulkan)
printf '#include "mvk_status.h"\n#include "engine_internal.h"\n' >"$T/backend/ref/ref_x.c" # backend/ -> engine/
echo '#include "vk_internal.h"' >"$T/engine/sneaky.c"     # vulkan.h through a backend header
echo '#include "../../app/common/heatmap.h"' >"$T/engine/arch/fam.c" # engine/ -> app/
printf '#include "moevk.h"\n#include "../../engine/lm.h"\n' >"$T/app/view/peek.c"  # engine internals from the app
printf '#include "moevk.h"\n#include "gguf.h"\n' >"$T/app/cli/cmd_new.c"          # not declared in ALLOW
out=$(check_tree "$T")
rc=$?
want=(
  "core/mvk_types.c includes \"vk_internal.h\" (backend/)"
  "core/ must not see Vulkan: core/mvk_types.c -> vk_internal.h"
  "backend/ref/ref_x.c includes \"engine_internal.h\" (engine/)"
  "engine/ must not see Vulkan: engine/sneaky.c -> vk_internal.h"
  "engine/arch/fam.c includes \"../../app/common/heatmap.h\" (app/)"
  "app/view/peek.c includes \"../../engine/lm.h\""
  "app/cli/cmd_new.c includes \"gguf.h\""
)
n=$(printf '%s\n' "$out" | grep -c VIOLATION)
miss=0
for w in "${want[@]}"; do
    printf '%s\n' "$out" | grep -qF "$w" || { echo "FAIL: the fabricated violation was not reported: $w"; miss=1; }
done
if [ $rc = 0 ] || [ "$n" != ${#want[@]} ] || [ $miss = 1 ]; then
    echo "FAIL: the fabricated tree has ${#want[@]} violations (core, backend, engine, engine/arch, app) but the check reported $n (rc $rc):"
    printf '%s\n' "$out"
    exit 1
fi
echo "ok: a fabricated tree's ${#want[@]} violations (core, backend, engine, engine/arch, app) are all reported"
exit $real
