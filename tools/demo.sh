#!/usr/bin/env bash
# The README's first command: installs the Debian packages moevk needs (if
# missing), builds, and runs moevk-view on the embedded model with the sample
# images. Without a display it runs the CLI instead and writes a caption and
# an expert-routing heatmap PNG (app/view/run_demo.sh says which it does).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/install_deps.sh"
exec bash "$root/app/view/run_demo.sh" "$@"
