#!/usr/bin/env bash
# goldens_in_repo.sh — tests/goldens is a copy of ../shared/goldens (golden set A, made independently
# of moevk: see its README.md), kept in the repository so that a user's clone runs the golden tests too.
# Where ../shared/goldens exists (CI), every file of both trees must be the same, byte for byte
# (sha256), and neither may hold a file the other lacks. A user's clone has no ../shared: there the
# comparison is skipped, naming why (under CI=true that is a failure).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
shared=$SRC/../shared/goldens
[ -d "$shared" ] || skip "no ../shared/goldens beside this checkout (a user's clone has none): the in-repository copy tests/goldens is not compared"
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
new_workdir
sums "$SRC/tests/goldens" >"$WORK/repo"
sums "$shared" >"$WORK/shared"
n=$(wc -l <"$WORK/shared")
[ "$n" -gt 10 ] || die "../shared/goldens holds only $n files"
if ! diff -u "$WORK/shared" "$WORK/repo"; then
    die "tests/goldens differs from ../shared/goldens (lines above: - shared, + repository); copy it again: cp -r ../shared/goldens/. tests/goldens/"
fi
echo "tests/goldens equals ../shared/goldens: $n files, sha256 identical"
