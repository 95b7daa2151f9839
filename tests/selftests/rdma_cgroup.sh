#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rdma cgroup controller over rxe: per-type limits, rdma.current/peak/
# events, the upstream (runc) syntax, atomic rejection of bad writes,
# hierarchy, and limits kept across `rdma link del/add`.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
OBJS="$DIR/build/rdma_objs"
CG=/sys/fs/cgroup
T=$CG/rdmaiso_cg

[ -x "$OBJS" ] || { echo "SKIP: $OBJS not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
mountpoint -q $CG || mount -t cgroup2 none $CG
grep -qw rdma $CG/cgroup.controllers || { echo "SKIP: no rdma controller"; exit $KSFT_SKIP; }

cleanup() {
	rmdir $T/child 2>/dev/null; rmdir $T 2>/dev/null
	rdma link del rxe_cg 2>/dev/null
	ip link del cg_v0 2>/dev/null
}
trap cleanup EXIT
cleanup

ip link add cg_v0 type veth peer name cg_v1 && ip link set cg_v0 up && ip link set cg_v1 up &&
	ip addr add 10.77.0.1/24 dev cg_v0 || exit 1
rdmaiso_rxe rxe_cg cg_v0 || exit 1
echo +rdma > $CG/cgroup.subtree_control
mkdir $T || exit 1

line() { grep "^rxe_cg " "$1"; }
val() {	# val <file> <key>: the value of key on rxe_cg's line
	line "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
# run <cgroup> <args...>: run rdma_objs inside a cgroup
run() {
	local cg=$1
	shift
	sh -c "echo \$\$ > $cg/cgroup.procs && exec $OBJS rxe_cg $*"
}

tap_plan_begin

l=$(line $T/rdma.max)
tap_check "rdma.max lists every key, no trailing space" \
	test "$l" = "rxe_cg hca_handle=max hca_object=max pd=max cq=max qp=max srq=max mr=max mw=max ah=max xrcd=max wq=max flow=max cm_id=max mr_bytes=max sl=max up=max"
for f in current peak events events.local; do
	tap_check "rdma.$f has a line for rxe_cg without trailing space" \
		sh -c "grep -q '^rxe_cg ' $T/rdma.$f && ! grep -q ' \$' $T/rdma.$f"
done

for ty in pd cq qp srq mr mw ah; do
	ev0=$(val $T/rdma.events "$ty.max")
	echo "rxe_cg $ty=3" > $T/rdma.max
	: > /tmp/objs.out
	run $T $ty 4 5 > /tmp/objs.out &
	pid=$!
	# rdma_objs prints its result once the objects exist, then holds them.
	for _ in $(seq 600); do
		grep -q created= /tmp/objs.out && break
		sleep 0.1
	done
	cur=$(val $T/rdma.current $ty)
	wait $pid
	out=$(cat /tmp/objs.out)
	ev1=$(val $T/rdma.events "$ty.max")
	tap_check "$ty: 3 created at limit 3, the 4th fails with EAGAIN ($out)" test "$out" = "created=3 errno=11"
	tap_check "$ty: rdma.current showed $ty=3 while held (saw $cur)" test "$cur" = 3
	tap_check "$ty: rdma.current back to 0, peak 3" \
		test "$(val $T/rdma.current $ty)/$(val $T/rdma.peak $ty)" = "0/3"
	tap_check "$ty: rdma.events $ty.max went up by one ($ev0 -> $ev1)" test "$ev1" = $((ev0 + 1))
	echo "rxe_cg $ty=max" > $T/rdma.max
done
tap_check "hca_object counted every object (current back to 0)" test "$(val $T/rdma.current hca_object)" = 0

echo "rxe_cg hca_handle=1" > $T/rdma.max
out=$(run $T ctx 2)
tap_check "hca_handle=1: the second context fails with EAGAIN ($out)" test "$out" = "created=1 errno=11"

echo "rxe_cg hca_handle=2 hca_object=2000" > $T/rdma.max
tap_check "upstream (runc) syntax is accepted" \
	test "$(val $T/rdma.max hca_handle)/$(val $T/rdma.max hca_object)" = "2/2000"

before=$(cat $T/rdma.max)
bad=0
for w in "rxe_cg qp=5 bogus=1" "rxe_cg qp=5 qp=6" "rxe_cg qp=-1" "rxe_cg qp=5x" \
	 "rxe_cg qp=18446744073709551616" "rxe_cg up=8" "qp=5" "rxe_cg qp=5
rxe_cg junk"; do
	# One write(2) per case: shells may split a multi-line printf.
	if python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, sys.argv[2].encode())' $T/rdma.max "$w" 2>/dev/null; then
		echo "# accepted: $w"
		bad=1
	fi
done
after=$(cat $T/rdma.max)
[ "$after" = "$before" ] || printf '# before: %s\n# after:  %s\n' "$before" "$after"
tap_check "malformed writes fail and change nothing" test "$bad/$after" = "0/$before"
tap_check "unknown device: ENODEV" sh -c "! echo 'nodev0 qp=1' > $T/rdma.max 2>/dev/null"

# A cgroup with controllers enabled for its children holds no processes.
echo +rdma > $T/cgroup.subtree_control
mkdir $T/child
echo "rxe_cg qp=2" > $T/rdma.max
out=$(run $T/child qp 3)
tap_check "hierarchy: the parent's qp=2 limits the child ($out)" test "$out" = "created=2 errno=11"
tap_check "hierarchy: events count the parent's limit" \
	sh -c "[ $(val $T/child/rdma.events.local qp.alloc_fail) = 1 ] && [ $(val $T/rdma.events.local qp.max) -ge 1 ]"
rmdir $T/child
echo -rdma > $T/cgroup.subtree_control

echo "rxe_cg qp=7 up=0-3" > $T/rdma.max
rdma link del rxe_cg && rdmaiso_rxe rxe_cg cg_v0
tap_check "limits survive rdma link del/add ($(line $T/rdma.max | cut -c1-60)...)" \
	sh -c "[ $(val $T/rdma.max qp) = 7 ] && [ $(val $T/rdma.max up) = 0-3 ]"

tap_done
