#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An outside check: the kernel's own cgroup core selftests
# (tools/testing/selftests/cgroup test_core and test_kill, built by
# tests/selftests/Makefile from the kernel tree) with the rdma controller
# enabled: once with only rdma (and the memory controller test_core enables
# itself) in the root's cgroup.subtree_control, once with every controller
# the kernel has.  Each of their results is a TAP line here.  A test that
# fails on the pristine 7.3 kernel too is listed in KNOWN with the reason; it
# is reported, not hidden, and does not fail the script.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
CG=/sys/fs/cgroup
PROGS="test_core test_kill"
# <program>:<test> <reason>, one per line: failures of the pristine kernel.
KNOWN=""

for p in $PROGS; do
	[ -x "$DIR/build/$p" ] ||
		{ echo "SKIP: $DIR/build/$p not built (make -C tests/selftests; needs the kernel tree)"; exit $KSFT_SKIP; }
done
mountpoint -q $CG || mount -t cgroup2 none $CG
grep -qw rdma $CG/cgroup.controllers || { echo "SKIP: no rdma controller"; exit $KSFT_SKIP; }

before=$(cat $CG/cgroup.subtree_control)
cleanup() {
	local c
	# leave the root's controllers as they were
	for c in $(cat $CG/cgroup.subtree_control); do
		echo "$before" | grep -qw "$c" || echo "-$c" >$CG/cgroup.subtree_control 2>/dev/null
	done
}
trap cleanup EXIT

W=$(mktemp -d /tmp/rdmaiso-cgcore.XXXXXX) || exit 1
trap 'cleanup; rm -rf "$W"' EXIT

# run <label>: every program, its results as TAP lines of this script
run() {
	local label=$1 p line t reason rc t0
	for p in $PROGS; do
		t0=$(date +%s)
		(cd /tmp && timeout 300 "$DIR/build/$p") >"$W/$p.out" 2>&1
		rc=$?
		grep -vE '^(not )?ok [0-9]' "$W/$p.out" | sed "s/^/#   $label: $p: /"
		echo "#   $label: $p: exit $rc, $(( $(date +%s) - t0 )) s"
		while read -r line; do
			t=$(echo "$line" | sed -E 's/^(not )?ok [0-9]+ //')
			case $line in
			not\ ok*)
				reason=$(echo "$KNOWN" | sed -n "s/^$p:${t%% *} //p")
				if [ -n "$reason" ]; then
					tap_ok "$label: $p: $t (fails on the pristine kernel too: $reason)"
				else
					tap_fail "$label: $p: $t"
				fi ;;
			*)	tap_ok "$label: $p: $t" ;;
			esac
		done < <(grep -E '^(not )?ok [0-9]' "$W/$p.out")
		grep -qE '^(not )?ok [0-9]' "$W/$p.out" ||
			tap_fail "$label: $p: no result (exit $rc)"
	done
}

tap_plan_begin
echo +rdma >$CG/cgroup.subtree_control || { echo "cannot enable the rdma controller"; exit 1; }
echo "# root subtree_control: $(cat $CG/cgroup.subtree_control)"
run rdma
for c in $(cat $CG/cgroup.controllers); do
	echo "+$c" >$CG/cgroup.subtree_control 2>/dev/null || echo "# cannot enable $c in the root"
done
echo "# root subtree_control: $(cat $CG/cgroup.subtree_control)"
run every-controller
tap_done
