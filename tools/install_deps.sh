#!/usr/bin/env bash
# Installs the Debian packages moevk needs (listed in .ci/packages.txt) when
# any is missing. Uses sudo when not root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
missing=()
while read -r p; do
  [ -z "$p" ] || [ "${p#\#}" != "$p" ] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done < "$root/.ci/packages.txt"
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)  # a machine's own Node.js is fine
[ ${#missing[@]} -eq 0 ] && exit 0
echo "moevk: installing Debian packages: ${missing[*]}" >&2
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
