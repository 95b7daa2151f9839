#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Record which tests of rdma-core's suite (pyverbs) pass on the pristine 7.3
# kernel over rxe: boot the "upstream" kernel of make bench (built if stale)
# and write the names of the passing tests to
# tests/selftests/pyverbs-upstream.pass, the reference of
# tests/selftests/pyverbs.sh.  Run it again when Debian's python3-pyverbs or
# the kernel changes, and commit the file.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=tests/selftests/pyverbs-upstream.pass
"$REPO/scripts/kbuild.sh" upstream
cd "$REPO"
rm -f "$OUT.new"
"$REPO/scripts/vm.sh" -f upstream "tests/selftests/pyverbs.sh --plain $OUT.new" 2>&1 | cat
[ -s "$OUT.new" ] || { echo "error: no passing test recorded" >&2; exit 1; }
mv "$OUT.new" "$OUT"
echo "$(wc -l <"$OUT") tests pass on the pristine kernel: $OUT"
