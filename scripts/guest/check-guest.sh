#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test run inside the VM (started by scripts/check.sh): report the KUnit
# suites that ran at boot, run the upstream rdma selftests and ours, then fail
# on any KASAN, lockdep, kmemleak, WARN or BUG report in the kernel log.
#
# usage: check-guest.sh <kernel tree> [glob[|glob...]]
#   Only tests whose name matches a glob run (default: all).
set -u

TREE=$1
GLOB=${2:-*}
# Run from scripts/guest/, or as the copy that check.sh makes in .check/.
REPO=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$REPO/scripts/guest/rdmaiso-lib.sh" ] || REPO=$(cd "$REPO/.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"

# want <name>: does the name match one of the '|'-separated globs?
IFS='|' read -r -a GLOBS <<<"$GLOB"
want() {
	local g
	for g in "${GLOBS[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $g ]] && return 0
	done
	return 1
}

tap_plan_begin
echo "# kernel $(uname -r), $(nproc) CPUs"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
# udevd spends most of the (emulated) CPU on the uevents of rxe devices
# coming and going; nothing here needs it (devtmpfs makes the nodes).
udevadm control --exit 2>/dev/null

# 1. KUnit suites (built in: they ran at boot; modules: loaded here, with the
# parameters of their line in tests/kunit/modules; "@SEED@" becomes a random
# 64-bit number, printed).  A line ending in "&" loads its module in the
# background: its suites (rdma_cgroup_max_fuzz, 10^6 cases, minutes under
# TCG, no device used) run on one CPU while the selftests run on the other,
# and are reported at the end.
kunit_report() {	# kunit_report <suite directory>
	local suite res pass skip fail status
	suite=$(basename "$1")
	want "kunit: $suite" || return 0
	res="$1/results"
	pass=$(grep -cE '^    ok [0-9]+ ' "$res")
	skip=$(grep -cE '^    ok [0-9]+ .*# SKIP' "$res")
	fail=$(grep -cE '^    not ok [0-9]+ ' "$res")
	status=$(grep -E '^(not )?ok [0-9]+ ' "$res" | tail -n 1)
	sed 's/^/# /' "$res"
	if [ "$fail" -gt 0 ] || [[ $status == not* ]] || [ -z "$status" ]; then
		tap_fail "kunit: $suite ($fail of $((pass + fail)) cases failed)"
	elif [ "$pass" -eq "$skip" ]; then
		tap_skip "kunit: $suite" "every case skipped"
	else
		tap_ok "kunit: $suite ($((pass - skip)) cases passed, $skip skipped)"
	fi
}
kunit_wanted() {	# does a glob ask for KUnit suites at all?
	local g
	for g in "${GLOBS[@]}"; do
		[[ $g == '*' || $g == kunit* ]] && return 0
	done
	return 1
}
bg_pids=()
if kunit_wanted; then
	# A case may run longer than KUnit's default 300 s when the host is busy.
	echo 900 >/sys/module/kunit/parameters/timeout
	seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
	echo "# KUnit seed: $seed (modprobe <module> seed=$seed replays a run)"
	while read -r m args; do
		args=${args//@SEED@/$seed}
		if [[ $args == *'&' ]]; then
			args=${args%&}
			# shellcheck disable=SC2086 # the parameters are words
			modprobe "$m" $args &
			bg_pids+=($!)
		else
			# shellcheck disable=SC2086
			modprobe "$m" $args
		fi
	done < <(sed "/^#/d; /^\s*$/d" "$REPO/tests/kunit/modules" 2>/dev/null)
fi
declare -A reported=()
for d in /sys/kernel/debug/kunit/*/; do
	# A background module's suite may be registered already: not yet.
	grep -qE '^(not )?ok [0-9]+ ' "$d/results" 2>/dev/null || continue
	reported[$d]=1
	kunit_report "$d"
done

# 2. Selftests: upstream's rdma ones (from the kernel tree), then ours.
run_selftest() {	# run_selftest <name> <script>
	local name=$1 script=$2 out rc
	want "$name" || return 0
	out=$(mktemp)
	t0=$(date +%s)
	timeout -k 10 "${RDMAISO_TEST_TIMEOUT:-1200}" "$script" >"$out" 2>&1
	rc=$?
	sed 's/^/# /' "$out"
	echo "# $name: $(( $(date +%s) - t0 ))s"
	case $rc in
	0) tap_ok "$name" ;;
	"$KSFT_SKIP") tap_skip "$name" "$(grep -i skip "$out" | tail -n 1)" ;;
	124 | 137) tap_fail "$name (timed out after ${RDMAISO_TEST_TIMEOUT:-1200}s)" ;;
	*) tap_fail "$name (exit status $rc)" ;;
	esac
	rm -f "$out"
}

up="$TREE/tools/testing/selftests/rdma"
ups=$(sed -n 's/^\(TEST_PROGS :=\)\?[[:space:]]*\([a-zA-Z0-9_]*\.sh\).*/\2/p' "$up/Makefile")
# Upstream's tests run once, with the project's modules loaded (rdma_ns
# enforcing, cm_portspace owning the port spaces): they must see no
# difference.  The patched kernel without the modules is what every other
# test starts from.  rxe_netns_names.sh (device names only, which neither
# module touches; the longest, 7-12 minutes under TCG) runs without them.
mods=()
for t in $ups; do
	if [ "$t" = rxe_netns_names.sh ]; then
		run_selftest "selftests: rdma: $t" "$up/$t"
	elif want "selftests: rdma+modules: $t"; then
		mods+=("$t")
	fi
done
if [ ${#mods[@]} -gt 0 ]; then
	if out=$({ modprobe rdma_ns && modprobe cm_portspace; } 2>&1); then
		for t in "${mods[@]}"; do
			run_selftest "selftests: rdma+modules: $t" "$up/$t"
		done
		out=$({ rmmod cm_portspace && rmmod rdma_ns; } 2>&1) ||
			tap_fail "selftests: rdma+modules: unload rdma_ns and cm_portspace afterwards ($out)"
	else
		tap_fail "selftests: rdma+modules: load rdma_ns and cm_portspace ($out)"
	fi
fi
# The stress test leaves its kmemleak scans to the end of this run (3 below).
export RDMAISO_STRESS_KMEMLEAK=0
for t in "$REPO"/tests/selftests/*.sh; do
	[ -x "$t" ] || continue
	run_selftest "selftests: rdmaiso: $(basename "$t")" "$t"
done

# The background KUnit modules, once they are done.
if [ ${#bg_pids[@]} -gt 0 ]; then
	t0=$(date +%s)
	wait "${bg_pids[@]}"
	echo "# waited $(( $(date +%s) - t0 ))s for the background KUnit modules"
	for d in /sys/kernel/debug/kunit/*/; do
		[ -n "${reported[$d]:-}" ] || kunit_report "$d"
	done
fi

# 3. The kernel log must be free of splats (kmemleak: after two scans).
if want "dmesg"; then
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan >/sys/kernel/debug/kmemleak
		sleep 6
		echo scan >/sys/kernel/debug/kmemleak
		leaks=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
		[ "$leaks" -eq 0 ] || head -n 60 /sys/kernel/debug/kmemleak | sed 's/^/# /'
	else
		leaks=0
		echo "# kmemleak not available"
	fi
	pattern='BUG:|WARNING:|Oops|general protection|KASAN|UBSAN|kmemleak:.*new suspected|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|refcount_t:|list_add corruption|list_del corruption|Kernel panic|rust_panic|panicked at'
	# Known upstream reports that no project code can cause are dropped here,
	# each matched narrowly and listed in Documentation/foundation.rst:
	# - KASAN wild-memory-access in handle_edge_irq interrupting identify_cpu
	#   at early boot under TCG (a spurious interrupt before its irq_desc is
	#   set up; seen once in several boots, before any project code runs).
	log=$(dmesg | awk '
		{ sub(/\r$/, "") }
		/^\[[ 0-9.]*\] =+$/ {
			if (inrep) { rep = rep $0 "\n"; flush(); inrep = 0; next }
			inrep = 1; rep = $0 "\n"; next
		}
		inrep { rep = rep $0 "\n"; next }
		{ print }
		function flush() {
			if (rep ~ /handle_edge_irq/ && rep ~ /RIP: 0010:identify_cpu/ &&
			    rep ~ /wild-memory-access/) {
				print "rdmaiso-ignored: known early-boot TCG report (identify_cpu)"
			} else {
				printf "%s", rep
			}
		}
		END { if (inrep) printf "%s", rep }')
	echo "$log" | grep 'rdmaiso-ignored' | sed 's/^/# /'
	dmesg | grep -q 'Disabling lock debugging' &&
		echo '# note: lockdep was disabled by a report (ignored or not) in this boot'
	splats=$(echo "$log" | grep -E "$pattern" | grep -v 'kmemleak: Kernel memory leak detector')
	if [ -n "$splats" ] || [ "$leaks" -gt 0 ]; then
		echo "$splats" | head -n 40 | sed 's/^/# /'
		echo "$log" | grep -E -A 30 "$pattern" | head -n 200 | sed 's/^/# /'
		tap_fail "dmesg: no KASAN/lockdep/kmemleak/WARN/BUG report ($leaks leaks)"
	else
		tap_ok "dmesg: no KASAN/lockdep/kmemleak/WARN/BUG report"
	fi
fi
tap_done
