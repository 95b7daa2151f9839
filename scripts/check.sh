#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: build what is stale, boot the test kernel once, run every
# KUnit suite and selftest in it (scripts/guest/check-guest.sh), and print a
# TAP report whose last line is "N passed, N failed, N skipped".
#
# usage: check.sh [glob]     e.g. check.sh 'kunit:*'  or  check.sh '*rping*'
set -uo pipefail

# Everything is in main(), so that bash has read the whole file before it
# runs: editing this file during a run cannot break the run.
main() {

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${RDMAISO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdma-iso}
GLOB=${1:-*}
RES="$REPO/.check"
mkdir -p "$RES"
log="$RES/results.tap"
rm -f "$log"

t0=$(date +%s)
"$REPO/scripts/kbuild.sh" test || { echo "0 passed, 1 failed"; exit 1; }
make -s -C "$REPO/tests/selftests" KSFT="$CACHE/tree/tools/testing/selftests" || { echo "0 passed, 1 failed"; exit 1; }
t1=$(date +%s)
echo "# build: $((t1 - t0))s; booting the test kernel (TCG: ~4 min)"

# The guest runs a copy of the test driver: edits during a run cannot break it.
cp "$REPO/scripts/guest/check-guest.sh" "$RES/check-guest.sh"
# The kernel console goes to .check/console.log (shown if the run breaks).
RDMAISO_VM_VERBOSE=1 timeout "${RDMAISO_VM_TIMEOUT:-3000}" "$REPO/scripts/vm.sh" \
	"bash .check/check-guest.sh '$CACHE/tree' '$GLOB' > '$log' 2>&1" \
	</dev/null >"$RES/console.log" 2>&1
vmrc=$?
t2=$(date +%s)
[ -f "$log" ] && cat "$log"
echo "# vm: $((t2 - t1))s, exit status $vmrc"

count() { grep -cE "$1" "$log" 2>/dev/null || true; }
pass=$(count '^ok [0-9]+ ')
skip=$(count '^ok [0-9]+ .*# SKIP')
fail=$(count '^not ok [0-9]+ ')
pass=${pass:-0} skip=${skip:-0} fail=${fail:-0}
pass=$((pass - skip))
# A run that did not reach its plan line (crash, hang, timeout) is a failure.
if ! grep -qE '^1\.\.[0-9]+$' "$log" 2>/dev/null; then
	echo "# last kernel console lines (full log: .check/console.log):"
	tail -n 40 "$RES/console.log" | sed 's/^/# /'
	echo "not ok - the VM run did not complete (exit status $vmrc)"
	fail=$((fail + 1))
fi
# A run in which no test ran proves nothing.
if [ $((pass + fail + skip)) -eq 0 ]; then
	echo "not ok - no test ran (T='$GLOB' matched nothing?)"
	fail=1
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
}

main "$@"; exit
