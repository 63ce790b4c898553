#!/usr/bin/env bash
# app_bad_input.sh — moevk-view keeps running and names the problem in a banner
# for: an unreadable image, a huge image (downscaled), a missing model file, a
# GGUF of the wrong architecture, no Vulkan device, and no camera. Each case is
# a --headless scripted session (same drawing code as the window); it must end
# normally (exit 0: the app carried on), its screenshot's .view.json must list
# the banner, and the banner must be drawn (its red band at the top).
# ctest-labels: app
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_view
need_pil
pick_model
GOOD_IMAGE=$IMAGE

new_workdir
printf 'this is not a PNG at all\n' >"$WORK/broken.png"
$PY -c "
from PIL import Image
im = Image.linear_gradient('L').resize((6000, 4000)).convert('RGB')
im.save('$WORK/huge.png', compress_level=1)
"

FAILED=0
# run NAME EXPECT_TEXT [env VAR=... ...] -- APP ARGS ; script on stdin
run_case() {
    local name="$1" expect="$2"
    shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local d="$WORK/$name"
    mkdir -p "$d"
    cat >"$d/script.txt"
    local rc=0
    env "${envs[@]}" timeout 600 "$VIEW" --headless --out "$d" --script "$d/script.txt" "$@" \
        >"$d/stdout.txt" 2>"$d/stderr.txt" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL [$name]: moevk-view exited with $rc"
        sed 's/^/    /' "$d/stderr.txt"
        FAILED=1
        return
    fi
    if $PY - "$d/shot.view.json" "$d/shot.png" "$expect" "$name" <<'PYEOF'
import json, re, sys
from PIL import Image
view = json.load(open(sys.argv[1]))
img = Image.open(sys.argv[2]).convert("RGB")
expect, name = sys.argv[3], sys.argv[4]
ok = True
hits = [b for b in view["banners"] if re.search(expect, b)]
if not hits:
    print(f"FAIL [{name}]: no banner matches /{expect}/; banners: {view['banners']}")
    ok = False
else:
    print(f"ok [{name}]: banner \"{hits[0]}\"")
# the banner is drawn: a band of the banner red (178, 40, 48) near the top
red = sum(1 for x in range(0, img.width, 2) for y in range(4, 30)
          if img.getpixel((x, y)) == (178, 40, 48))
if red < 200:
    print(f"FAIL [{name}]: no banner drawn at the top ({red} banner pixels)")
    ok = False
extra = sys.argv[5:] if len(sys.argv) > 5 else []
if name == "huge_image":
    fw, fh = view["frame"]["w"], view["frame"]["h"]
    if max(fw, fh) > 2048 or fw <= 0:
        print(f"FAIL [{name}]: frame is {fw}x{fh}, expected downscaled to at most 2048")
        ok = False
    elif abs(fw / fh - 1.5) > 0.01:
        print(f"FAIL [{name}]: aspect not kept ({fw}x{fh})")
        ok = False
if name in ("missing_model", "wrong_arch", "no_vulkan", "no_camera"):
    if view["frame"]["w"] <= 0:
        print(f"FAIL [{name}]: the app did not go on to show an image after the problem")
        ok = False
sys.exit(0 if ok else 1)
PYEOF
    then :; else FAILED=1; fi
}

run_case unreadable_image "unreadable image .*broken\.png" -- -m "$MODEL" --mmproj "$MMPROJ" <<EOF
key space
load $WORK/broken.png
wait banner unreadable image
screenshot shot.png
EOF

run_case huge_image "huge\.png is 6000x4000: downscaled to 2048x1365" -- -m "$MODEL" --mmproj "$MMPROJ" <<EOF
key space
load $WORK/huge.png
wait banner downscaled
screenshot shot.png
EOF

run_case missing_model "cannot load model .*/no/such/model\.gguf" -- -m /no/such/model.gguf --mmproj "$MMPROJ" <<EOF
wait model 600
wait banner cannot load model
load $GOOD_IMAGE
screenshot shot.png
EOF

# the mmproj (arch "clip") given as the text model
run_case wrong_arch "cannot load model .*$(basename "$MMPROJ").*MOEVK_ERR_(UNSUPPORTED|FORMAT)" -- -m "$MMPROJ" <<EOF
wait model 600
wait banner cannot load model
load $GOOD_IMAGE
screenshot shot.png
EOF

run_case no_vulkan "cannot load model .*MOEVK_ERR_NO_(VULKAN|DEVICE)" \
    VK_ICD_FILENAMES="$WORK/none.json" VK_DRIVER_FILES="$WORK/none.json" VK_INSTANCE_LAYERS= MOEVK_VALIDATION=0 \
    -- -m "$MODEL" --mmproj "$MMPROJ" <<EOF
wait model 600
wait banner cannot load model
load $GOOD_IMAGE
screenshot shot.png
EOF

run_case no_camera "camera /dev/video-moevk-none: No such file" -- -m "$MODEL" --mmproj "$MMPROJ" --camera /dev/video-moevk-none <<EOF
wait banner camera
load $GOOD_IMAGE
key space
screenshot shot.png
EOF

if [ $FAILED -ne 0 ]; then
    echo "FAIL: some bad-input cases failed"
    exit 1
fi
echo "PASS: every bad input gave a banner naming it, and the app kept running"
