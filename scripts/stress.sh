#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make stress`: build what is stale, boot the test (debug) kernel and run
# the concurrent stress test tests/selftests/rdma_stress.sh for DURATION
# seconds (default 600; SEED= replays a chaos sequence).  Its TAP report and
# figures go to stdout and .check/stress.tap, the kernel console to
# .check/stress-console.log.  Exit status 0 only if every check passed.
set -uo pipefail

main() {

REPO=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-600}
RES="$REPO/.check"
mkdir -p "$RES"
log="$RES/stress.tap"
rm -f "$log"

"$REPO/scripts/kbuild.sh" test || exit 1
make -s -C "$REPO/tests/selftests" || exit 1
echo "# booting the test kernel (TCG: ~2 min), then ${DURATION}s of stress"
RDMAISO_VM_VERBOSE=1 timeout $((DURATION + 1800)) "$REPO/scripts/vm.sh" \
	"RDMAISO_STRESS_SECS=$DURATION ${SEED:+RDMAISO_STRESS_SEED=$SEED} \
	 tests/selftests/rdma_stress.sh > '$log' 2>&1; echo \"# exit status \$?\" >> '$log'" \
	</dev/null >"$RES/stress-console.log" 2>&1
cat "$log" 2>/dev/null
grep -q '^# exit status 0$' "$log" 2>/dev/null || {
	echo "# stress failed; last kernel console lines (.check/stress-console.log):"
	tail -n 30 "$RES/stress-console.log" | sed 's/^/# /'
	exit 1
}
}

main "$@"; exit
