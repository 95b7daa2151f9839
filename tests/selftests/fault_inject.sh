#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Systematic fault injection into every create path (issue 14, part 3).
#
# What it proves: with rdma_ns and cm_portspace loaded, for each create path
# - every uverbs object type rxe supports (ucontext, PD, CQ, RC and UD QP,
#   QP modify to RTR with an address vector, SRQ, MR and its rereg, MW, AH,
#   XRCD if supported), rdma_cm create_id / bind / listen (also wildcard) /
#   resolve_addr / resolve_route / connect (a loopback connection), the
#   controller's pool creation (first charge in fresh nested cgroups, and an
#   rdma.max write there with a line for each of two devices), rdma_ns's per-netns tags (QP and cm_id created in
#   a fresh netns), cm_portspace's port binding (also in a fresh netns) -
#   a failure injected at fault point 1, 2, ... N of that one call
#   (/proc/thread-self/fail-nth, slab and page allocations, sleeping ones
#   too) makes it fail cleanly with an errno, or succeed; after destroying
#   what was made, rdma.current of the cgroup, the non-zero counts of
#   /proc/net/rdma_ns and /proc/net/rdma_cm_ports are what they were; a
#   failed rdma.max write left rdma.max unchanged, an accepted one set
#   both lines.  At the end kmemleak
#   (two scans) finds nothing new and the kernel log has no new report.
#   build/fail_nth does the injections and prints the fault points covered
#   per call.
#
# RDMAISO_FI_OPS: a space-separated subset of the ops (build/fail_nth list);
# netns_create (the modules' per-netns set-up: the last fault points of a
# netns creation, 3-7 s each under TCG) runs only when named there.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
FNTH=$DIR/build/fail_nth
CG=/sys/fs/cgroup
T=$CG/rdmaiso_fi
DBG=/sys/kernel/debug
KML=$DBG/kmemleak
OUT=$(mktemp)
# The splat pattern of scripts/guest/check-guest.sh.
PATTERN='BUG:|WARNING:|Oops|general protection|KASAN|UBSAN|kmemleak:.*new suspected|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|refcount_t:|list_add corruption|list_del corruption|Kernel panic|rust_panic|panicked at'

[ -x "$FNTH" ] || { echo "SKIP: $FNTH not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
mountpoint -q $DBG || mount -t debugfs none $DBG
if [ ! -d $DBG/failslab ] || [ ! -d $DBG/fail_page_alloc ]; then
	echo "SKIP: no failslab/fail_page_alloc in debugfs (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS)"
	exit $KSFT_SKIP
fi
[ -e /proc/thread-self/fail-nth ] || { echo "SKIP: no /proc/thread-self/fail-nth"; exit $KSFT_SKIP; }
mountpoint -q $CG || mount -t cgroup2 none $CG
grep -qw rdma $CG/cgroup.controllers || { echo "SKIP: no rdma controller"; exit $KSFT_SKIP; }

# The fault attributes changed here, and their values before.
saved=()
set_attr() {	# set_attr <file> <value>
	[ -e "$1" ] || return 0
	saved+=("$1=$(cat "$1")")
	echo "$2" > "$1"
}
cleanup() {
	local s
	for s in "${saved[@]}"; do
		echo "${s#*=}" > "${s%%=*}"
	done
	saved=()
	for d in "$T"/fi*/; do
		[ -d "$d" ] && rmdir "$d"child "$d" 2>/dev/null
	done
	rmdir $T/main $T 2>/dev/null
	rdma link del rxe_fi1 2>/dev/null
	rdma link del rxe_fi0 2>/dev/null
	ip link del fi_v0 2>/dev/null
	rmmod cm_portspace rdma_ns 2>/dev/null
}
trap 'cleanup; rm -f "$OUT"' EXIT
cleanup

ip link add fi_v0 type veth peer name fi_v1 && ip link set fi_v0 up && ip link set fi_v1 up &&
	ip addr add 10.81.0.1/24 dev fi_v0 || exit 1
rdmaiso_rxes rxe_fi0:fi_v0 rxe_fi1:fi_v1 || exit 1
modprobe rdma_ucm && modprobe rdma_ns && modprobe cm_portspace || exit 1
echo +rdma > $CG/cgroup.subtree_control
mkdir $T && echo +rdma > $T/cgroup.subtree_control && mkdir $T/main || exit 1
# Limits, so that charges take the limited path (none is reached).
echo "rxe_fi0 hca_handle=1000 qp=1000 mr_bytes=1073741824 cm_id=1000" > $T/rdma.max &&
	echo "rxe_fi0 hca_object=100000 cq=1000 sl=0-7" > $T/main/rdma.max || exit 1

# fail-nth fails the n-th fault point whatever the probability (0: no
# random failures elsewhere); sleeping allocations fail too, order-0 pages
# as well, user pages (highmem) never.  verbose=0: no "FAULT_INJECTION:
# forcing a failure" report and stack trace per injected fault.
for d in "$DBG"/fail*; do
	set_attr "$d/verbose" 0
done
set_attr $DBG/failslab/ignore-gfp-wait N
set_attr $DBG/fail_page_alloc/ignore-gfp-wait N
set_attr $DBG/fail_page_alloc/ignore-gfp-highmem Y
set_attr $DBG/fail_page_alloc/min-order 0

tap_plan_begin
# No "clear" of kmemleak: that would hide earlier tests' leaks from the
# final dmesg test; a leak found here may be older than this test.
dmesg_lines=$(dmesg | wc -l)
t0=$(date +%s)
# shellcheck disable=SC2086 # a list of op names
FAIL_NTH_DEV2=rxe_fi1 "$FNTH" rxe_fi0 10.81.0.1 $T ${RDMAISO_FI_OPS:-} 2>&1 | tee "$OUT" | sed -u 's/^/# /'
rc=${PIPESTATUS[0]}
echo "# fail_nth: $(( $(date +%s) - t0 ))s, exit status $rc"
while read -r _ name rest; do
	case $rest in
	points=*) tap_ok "$name: ${rest%% ms=*}" ;;
	unsupported*) tap_skip "$name" "$rest" ;;
	esac
done < <(grep '^op ' "$OUT")
grep '^not ok: ' "$OUT" | while read -r line; do
	echo "# $line"
done
if [ "$rc" -eq 0 ]; then
	tap_ok "fail_nth: every call failed cleanly or succeeded, state restored"
else
	tap_fail "fail_nth: $(grep -c '^not ok: ' "$OUT") failed checks (exit status $rc)"
fi

# No leak, no report: kmemleak twice (objects younger than 5 s are not
# reported), then the log since the start.
cleanup
if [ -w $KML ]; then
	echo scan > $KML
	sleep 6
	echo scan > $KML
	leaks=$(grep -c '^unreferenced object' $KML)
	[ "$leaks" -eq 0 ] || head -n 80 $KML | sed 's/^/# /'
	tap_check "kmemleak: no unreferenced object ($leaks)" test "$leaks" -eq 0
else
	tap_skip "kmemleak" "not available"
fi
new=$(dmesg | tail -n +$((dmesg_lines + 1)))
splats=$(grep -E "$PATTERN" <<<"$new" | grep -v 'kmemleak: Kernel memory leak detector')
[ -z "$splats" ] || grep -E -A 30 "$PATTERN" <<<"$new" | head -n 150 | sed 's/^/# /'
tap_check "no KASAN/lockdep/WARN/BUG report in the kernel log" test -z "$splats"
no_fi_report() { ! grep -q FAULT_INJECTION <<<"$new"; }
tap_check "no FAULT_INJECTION report in the kernel log" no_fi_report
tap_done
