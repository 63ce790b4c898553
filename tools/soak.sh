#!/usr/bin/env bash
# tools/soak.sh SECONDS [OUT_DIR] — leaves moevk-view captioning the synthetic
# camera for SECONDS (headless, embedded model, validation layer on) and checks
# that it stays healthy:
#   - host memory (RSS) and device memory do not grow between the first report
#     after warm-up (2 captions done) and the last one by more than
#     MOEVK_SOAK_RSS_MIB (default 24) MiB and MOEVK_SOAK_DEVICE_MIB (default 0) MiB;
#   - the validation layer reports nothing, no caption fails, and no banner
#     appears but the camera's own "stopped" ones;
#   - the camera vanishes and comes back on its schedule (test:on=ON,off=OFF,
#     MOEVK_SOAK_CAMERA, default on=20,off=4) and every reconnection while the
#     model is ready is followed by a caption of a frame taken after it.
# Writes OUT_DIR/{stdout,stderr}.txt and OUT_DIR/summary.json (default: a temp
# dir, removed on success). 1 hour for the record (docs/RELIABILITY.md), about
# 2 minutes in CI (tests/app_soak.sh). Run it niced: nice -n 10 tools/soak.sh 3600 soak-1h
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: tools/soak.sh SECONDS [OUT_DIR]" >&2; exit 2; }
secs=$1
out=${2:-}
keep=1
if [ -z "$out" ]; then out=$(mktemp -d); keep=0; fi
mkdir -p "$out"
build=${MOEVK_BUILD_DIR:-$root/build}
view=${MOEVK_VIEW:-$build/moevk-view}
[ -x "$view" ] || { echo "FAIL: $view not built" >&2; exit 1; }
cam=${MOEVK_SOAK_CAMERA:-on=20,off=4}
export MOEVK_VALIDATION=1 VK_INSTANCE_LAYERS=${VK_INSTANCE_LAYERS:-VK_LAYER_KHRONOS_validation}
# 320x240 with at most 64 image tokens: a caption takes about a second on lavapipe
rc=0
timeout $((${secs%.*} + 600)) "$view" --headless --camera "test:$cam" --camera-size 320x240 --image-max-tokens 64 \
  --soak "$secs" --out "$out" >"$out/stdout.txt" 2>"$out/stderr.txt" || rc=$?
st=0
/usr/bin/python3 - "$out" "$rc" "${MOEVK_SOAK_RSS_MIB:-24}" "${MOEVK_SOAK_DEVICE_MIB:-0}" <<'PY' || st=$?
import json, re, sys
out, rc, rss_mib, dev_mib = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
lines = [json.loads(l) for l in open(out + "/stdout.txt") if l.startswith("{\"soak\"")]
err = open(out + "/stderr.txt", encoding="utf-8", errors="replace").read().splitlines()
fails = []
if rc != 0:
    fails.append(f"moevk-view exited with {rc}")
if not lines:
    fails.append("no soak reports")
    lines = [{}]
warm = [l for l in lines if l.get("captions", 0) >= 2]
start = warm[0] if warm else lines[0]
end = lines[-1]
banners = [l for l in err if l.startswith("moevk-view: ") and "camera test: stopped" not in l
           and "warm-up" not in l]
validation = [l for l in err if l.startswith("moevk: validation")]
s = {
    "seconds": end.get("soak"),
    "start": start, "end": end,
    "rss_growth_kb": end.get("rss_kb", 0) - start.get("rss_kb", 0),
    "device_growth_bytes": end.get("device_bytes", 0) - start.get("device_bytes", 0),
    "captions": end.get("captions"), "failed": end.get("failed"),
    "reconnects": end.get("reconnects", 0),
    "reconnects_captioned": end.get("reconnects_captioned"), "reconnects_missed": end.get("reconnects_missed"),
    "validation_messages": max(end.get("validation", 0), len(validation)),
    "other_banners": banners[:10],
}
if not warm: fails.append("fewer than 2 captions")
if s["rss_growth_kb"] > rss_mib * 1024: fails.append(f"RSS grew {s['rss_growth_kb']} KiB (bound {rss_mib} MiB)")
if s["device_growth_bytes"] > dev_mib * 1048576: fails.append(f"device memory grew {s['device_growth_bytes']} bytes (bound {dev_mib} MiB)")
if s["validation_messages"]: fails.append(f"{s['validation_messages']} validation messages")
if end.get("failed"): fails.append(f"{end['failed']} captions failed")
if banners: fails.append(f"unexpected banners: {banners[:3]}")
if s["reconnects"] < 1: fails.append("the camera never came back (no reconnection)")
if end.get("reconnects_missed"): fails.append(f"{end['reconnects_missed']} reconnections without a caption")
json.dump(s, open(out + "/summary.json", "w"), indent=1)
print(json.dumps(s, indent=1))
if fails:
    print("soak FAILED: " + "; ".join(fails))
    sys.exit(1)
print(f"soak ok: {s['seconds']} s, {s['captions']} captions, {s['reconnects']} reconnections all captioned, "
      f"RSS {start.get('rss_kb')} -> {end.get('rss_kb')} KiB, device {start.get('device_bytes')} -> {end.get('device_bytes')} bytes")
PY
[ $st = 0 ] && [ $keep = 0 ] && rm -rf "$out"
exit $st
