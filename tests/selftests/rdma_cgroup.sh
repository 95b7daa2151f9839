#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rdma cgroup controller over rxe: per-type limits, rdma.current/peak/
# events, cm_id against a hostile tenant's wildcard listeners and incoming
# connections, the upstream (runc) syntax, atomic rejection of bad writes,
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
	rmdir $T/child $T/other 2>/dev/null; rmdir $T 2>/dev/null
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
val() { rdmaiso_val "$1" rxe_cg "$2"; }	# val <file> <key>
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

# hold <cgroup> <type> <count> <seconds>: run rdma_objs in the background
# until it has created its objects; its output is in /tmp/objs.out, the
# background job in $pid (to wait for), rdma_objs itself in $objpid.
hold() {
	: > /tmp/objs.out
	run "$1" "$2" "$3" "$4" > /tmp/objs.out &
	pid=$!
	for _ in $(seq 600); do
		if grep -q created= /tmp/objs.out; then
			objpid=$(cat "$1/cgroup.procs")
			return 0
		fi
		sleep 0.1
	done
	return 1
}

for ty in pd cq qp srq mr mw ah; do
	ev0=$(val $T/rdma.events "$ty.max")
	echo "rxe_cg $ty=3" > $T/rdma.max
	hold $T $ty 4 5
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

# Types charged with an amount or outside uverbs: MR bytes and rdma_cm IDs.
echo "rxe_cg mr_bytes=1048576" > $T/rdma.max
ev0=$(val $T/rdma.events mr_bytes.max)
hold $T mr:262144 5 5
cur=$(val $T/rdma.current mr_bytes)
wait $pid
tap_check "mr_bytes=1M: four 256K MRs, the fifth fails with EAGAIN ($(cat /tmp/objs.out))" \
	test "$(cat /tmp/objs.out)" = "created=4 errno=11"
tap_check "mr_bytes: rdma.current showed 1048576 while held (saw $cur)" test "$cur" = 1048576
tap_check "mr_bytes: current back to 0, peak 1048576, one mr_bytes.max event" \
	test "$(val $T/rdma.current mr_bytes)/$(val $T/rdma.peak mr_bytes)/$(val $T/rdma.events mr_bytes.max)" = "0/1048576/$((ev0 + 1))"
echo "rxe_cg mr_bytes=max" > $T/rdma.max

echo "rxe_cg cm_id=3" > $T/rdma.max
hold $T cm_id:10.77.0.1 4 5
cur=$(val $T/rdma.current cm_id)
wait $pid
tap_check "cm_id=3: three bound rdma_cm IDs, the fourth fails with EAGAIN ($(cat /tmp/objs.out))" \
	test "$(cat /tmp/objs.out)" = "created=3 errno=11"
tap_check "cm_id: rdma.current showed 3 while held (saw $cur), back to 0 after" \
	test "$cur/$(val $T/rdma.current cm_id)/$(val $T/rdma.peak cm_id)" = "3/0/3"
echo "rxe_cg cm_id=max" > $T/rdma.max

# A hostile tenant's wildcard listeners: rdma_listen on 0.0.0.0 or :: gives
# the ID no device, it listens through one internal ID per device, each of
# which can receive and counts one cm_id.  An ID listening on one address
# counts once.  res_cm_ids <pid>: the rdma_cm IDs on rxe_cg that `rdma res`
# lists for a process, "-" if iproute2's rdma cannot list them.
res_cm_ids() {
	local out
	out=$(rdma res show cm_id link rxe_cg 2>/dev/null) || { echo -; return; }
	echo "$out" | grep -cw "pid $1"
}
# stop: end the rdma_objs that hold() started, once it has been looked at.
stop() {
	kill "$objpid"
	wait "$pid"
}
echo "rxe_cg cm_id=2" > $T/rdma.max
ev0=$(val $T/rdma.events cm_id.max)
hold $T listen:0.0.0.0 20 60
cur=$(val $T/rdma.current cm_id)
res=$(res_cm_ids "$objpid")
stop
tap_check "cm_id=2: two wildcard listeners (0.0.0.0), the third fails with EAGAIN ($(cat /tmp/objs.out))" \
	test "$(cat /tmp/objs.out)" = "created=2 errno=11"
tap_check "cm_id=2: rdma.current showed cm_id=2 while they listened (saw $cur), 0 once the process exited" \
	test "$cur/$(val $T/rdma.current cm_id)" = "2/0"
tap_check "cm_id=2: rdma.events cm_id.max went up by one" \
	test "$(val $T/rdma.events cm_id.max)" = $((ev0 + 1))
if [ "$res" = - ]; then
	tap_skip "rdma res lists as many cm_ids of the listeners on rxe_cg as rdma.current counts" \
		"no 'rdma res show cm_id' in this VM"
else
	tap_check "rdma res lists as many cm_ids of the listeners on rxe_cg as rdma.current counts ($res/$cur)" \
		test "$res" = "$cur"
fi
out=$(run $T listen::: 20)
tap_check "cm_id=2: two wildcard listeners (::), the third fails with EAGAIN ($out)" \
	test "$out" = "created=2 errno=11"

echo "rxe_cg cm_id=1" > $T/rdma.max
hold $T listen:10.77.0.1 2 60
cur=$(val $T/rdma.current cm_id)
res=$(res_cm_ids "$objpid")
stop
tap_check "cm_id=1: a listener on 10.77.0.1 counts once, a second fails with EAGAIN ($(cat /tmp/objs.out); current $cur)" \
	test "$(cat /tmp/objs.out)/$cur" = "created=1 errno=11/1"
[ "$res" = - ] || tap_check "rdma res lists one cm_id for it ($res)" test "$res" = 1

# Incoming connections are charged to the listener's cgroup: at its limit
# the request is refused (connected: REJECTED, ECONNREFUSED; UD: the SIDR
# reply refuses, UNREACHABLE, EHOSTUNREACH) and the cgroup stays within its
# limit.  The client runs outside the cgroup.
for ps in tcp:7471:111 udp:7472:113; do
	IFS=: read -r p port want <<< "$ps"
	pfx=${p%tcp}
	ev0=$(val $T/rdma.events cm_id.max)
	hold $T "${pfx}listen:0.0.0.0:$port" 1 60
	out=$("$OBJS" rxe_cg "${pfx}connect:10.77.0.1:$port" 1 2>/dev/null)
	cur=$(val $T/rdma.current cm_id)
	stop
	ev1=$(val $T/rdma.events cm_id.max)
	tap_check "cm_id=1, a wildcard $p listener: a request to it is refused ($out)" \
		test "$out" = "created=0 errno=$want"
	tap_check "cm_id=1, $p: the listener's cgroup stayed at cm_id=1 (saw $cur), one cm_id.max event ($ev0 -> $ev1)" \
		test "$cur/$ev1" = "1/$((ev0 + 1))"
done
echo "rxe_cg cm_id=max" > $T/rdma.max

# User Priorities (rxe is RoCE): an address vector's UPs are its SL's low 3
# bits and the one the DSCP of its traffic class selects (traffic class 0
# here: UP 0); rdma_cm's are those of the SL it derives from the type of
# service through the netdev's maps (0 on this veth) and of the TOS's DSCP.
# rdma_cgroup_hostile.sh tests the traffic class and the netdev's maps.
echo "rxe_cg up=0-3" > $T/rdma.max
den0=$(val $T/rdma.events up.denied)
out=$(run $T ah:2 1)
tap_check "up=0-3: an AH with SL 2 is created ($out)" test "$out" = "created=1 errno=0"
out=$(run $T ah:5 1)
tap_check "up=0-3: an AH with SL 5 fails with EPERM ($out)" test "$out" = "created=0 errno=1"
out=$(run $T ah:13 1)
tap_check "up=0-3: SL 13 is UP 5 on RoCE, EPERM ($out)" test "$out" = "created=0 errno=1"
out=$(run $T qprtr:6 1)
tap_check "up=0-3: QP modify to RTR with SL 6 fails with EPERM ($out)" test "$out" = "created=0 errno=1"
hold $T qprtr:3 2 4
cur=$(val $T/rdma.current up)
wait $pid
tap_check "up=0-3: QPs at RTR with SL 3 work ($(cat /tmp/objs.out)); rdma.current up=3 while held (saw $cur)" \
	test "$(cat /tmp/objs.out)/$cur" = "created=2 errno=0/3"
tap_check "rdma.current up=none once the QPs are gone" test "$(val $T/rdma.current up)" = none
out=$(run $T tos:10.77.0.1:224 1)
tap_check "up=0-3: rdma_cm type of service 224 (DSCP 56: UP 7) fails route resolution with EPERM ($out)" \
	test "$out" = "created=0 errno=1"
out=$(run $T tos:10.77.0.1:64 1)
tap_check "up=0-3: rdma_cm type of service 64 (DSCP 16: UP 2) resolves ($out)" test "$out" = "created=1 errno=0"
den1=$(val $T/rdma.events up.denied)
tap_check "rdma.events up.denied counts the four refusals ($den0 -> $den1)" test "$den1" = $((den0 + 4))
tap_check "dmesg names the refused UP and the cgroup" \
	sh -c "dmesg | grep -q 'UP 5 not allowed by rdma cgroup /rdmaiso_cg'"
echo "rxe_cg up=max" > $T/rdma.max

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

# Migration: objects stay charged to the cgroup that created them.
mkdir $T/other
hold $T/child qp 2 6
mv_ok=0
echo "$objpid" > $T/other/cgroup.procs && [ -z "$(cat $T/child/cgroup.procs)" ] && mv_ok=1
cur="$(val $T/child/rdma.current qp)/$(val $T/other/rdma.current qp)"
wait $pid
tap_check "migration: 2 QPs stay charged to the creating cgroup (child/other: $cur)" \
	test "$mv_ok/$cur" = "1/2/0"
tap_check "migration: the uncharge after the move reaches the creating cgroup" \
	test "$(val $T/child/rdma.current qp)/$(val $T/other/rdma.current qp)/$(val $T/rdma.current qp)" = "0/0/0"

# Removal: a cgroup removed while its objects live drains into its parent.
hold $T/child qp 2 6
echo "$objpid" > $T/other/cgroup.procs
rm_ok=0
rmdir $T/child && rm_ok=1
cur=$(val $T/rdma.current qp)
wait $pid
tap_check "removal: rmdir with live objects succeeds; the parent still counts them ($cur)" \
	test "$rm_ok/$cur" = "1/2"
tap_check "removal: the parent's current drops to 0 when they are destroyed" \
	test "$(val $T/rdma.current qp)" = 0

# A parent without a limit keeps no count of its own: its rdma.current is the
# sum over its subtree (a removed child with live objects included), and a
# limit set on it starts from that sum.
echo "rxe_cg qp=max" > $T/rdma.max
mkdir $T/child
hold $T/child qp 3 8
echo "$objpid" > $T/other/cgroup.procs
rmdir $T/child
cur1=$(val $T/rdma.current qp)
echo "rxe_cg qp=4" > $T/rdma.max
cur2="$(val $T/rdma.current qp)/$(val $T/rdma.peak qp)"
out=$(run $T/other qp 2)
wait $pid
tap_check "unlimited parent: current sums the subtree, a removed child included ($cur1)" \
	test "$cur1" = 3
tap_check "a limit set on it counts what is charged (current/peak $cur2), room for one more ($out)" \
	test "$cur2/$out" = "3/3/created=1 errno=11"
tap_check "... and its current drops to 0 when they are destroyed" \
	test "$(val $T/rdma.current qp)" = 0
rmdir $T/other
echo -rdma > $T/cgroup.subtree_control

echo "rxe_cg qp=7 up=0-3" > $T/rdma.max
rdma link del rxe_cg && rdmaiso_rxe rxe_cg cg_v0
tap_check "limits survive rdma link del/add ($(line $T/rdma.max | cut -c1-60)...)" \
	sh -c "[ $(val $T/rdma.max qp) = 7 ] && [ $(val $T/rdma.max up) = 0-3 ]"

tap_done
