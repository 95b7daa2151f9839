#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rdma controller against a hostile tenant, over rxe.
#
# mr_bytes: one cgroup floods the device with registrations of absurd
# lengths while its sibling under the same limited parent registers 4 KiB
# MRs; lengths are checked before anything is charged, the sibling is never
# refused, nothing stays charged and the kernel does not warn.  Also the
# exact boundary of the limit and implicit ODP MRs, which charge nothing.
#
# up=: every priority an address vector puts on the wire is policed, the
# DSCP of its traffic class included, and rdma_cm's type of service through
# the SL the netdev's VLAN egress map makes of it.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
OBJS="$DIR/build/rdma_objs"
FLOOD="$DIR/build/mr_flood"
WR="$DIR/build/rdma_ns_wr"
CG=/sys/fs/cgroup
T=$CG/rdmaiso_mr
SECS=${RDMAISO_MR_FLOOD_SECS:-8}

for p in "$OBJS" "$FLOOD" "$WR"; do
	[ -x "$p" ] || { echo "SKIP: $p not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
done
mountpoint -q $CG || mount -t cgroup2 none $CG
grep -qw rdma $CG/cgroup.controllers || { echo "SKIP: no rdma controller"; exit $KSFT_SKIP; }

cleanup() {
	rmdir $T/a $T/b 2>/dev/null; rmdir $T 2>/dev/null
	rdma link del rxe_mr 2>/dev/null
	ip link del mr_v0.5 2>/dev/null
	ip link del mr_v0 2>/dev/null
	ip netns del mr_peer 2>/dev/null
}
trap cleanup EXIT
cleanup

# mr_v1, the wire seen from the other end, is in a namespace of its own.
ip netns add mr_peer && ip link add mr_v0 type veth peer name mr_v1 netns mr_peer &&
	ip link set mr_v0 up && ip -n mr_peer link set mr_v1 up &&
	ip addr add 10.78.0.1/24 dev mr_v0 && ip -n mr_peer addr add 10.78.0.2/24 dev mr_v1 || exit 1
rdmaiso_rxe rxe_mr mr_v0 || exit 1
# The index of rxe_mr's RoCEv2 GID of 10.78.0.1.
v4gid=""
for _ in $(seq 50); do
	for g in /sys/class/infiniband/rxe_mr/ports/1/gids/*; do
		[ "$(cat "$g" 2>/dev/null)" = 0000:0000:0000:0000:0000:ffff:0a4e:0001 ] &&
			v4gid=${g##*/} && break 2
	done
	sleep 0.1
done
[ -n "$v4gid" ] || { echo "no GID of 10.78.0.1 on rxe_mr"; exit 1; }
echo +rdma > $CG/cgroup.subtree_control
mkdir $T && echo +rdma > $T/cgroup.subtree_control && mkdir $T/a $T/b || exit 1

val() { rdmaiso_val "$1" rxe_mr "$2"; }	# val <file> <key>
run() {	# run <cgroup> <program> <args...>: run a program inside a cgroup
	local cg=$1
	shift
	sh -c "echo \$\$ > $cg/cgroup.procs && exec $*"
}
field() {	# field <output> <key>
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
warnings() { dmesg | grep -c 'WARNING:'; }

tap_plan_begin
echo "rxe_mr mr_bytes=1048576" > $T/rdma.max
w0=$(warnings)

# The flood: absurd lengths in a, 4 KiB MRs in b, at the same time.
run $T/a "$FLOOD" rxe_mr 0xfffffffffffff000 "$SECS" > /tmp/mr_huge.out &
huge=$!
run $T/a "$FLOOD" rxe_mr 0xffffffffffffffff "$SECS" > /tmp/mr_max.out &
max=$!
small=$(run $T/b "$FLOOD" rxe_mr 4096 "$SECS")
wait $huge $max
h=$(cat /tmp/mr_huge.out) m=$(cat /tmp/mr_max.out)
echo "# a (0xfffffffffffff000): $h"
echo "# a (0xffffffffffffffff): $m"
echo "# b (4096): $small"
tap_check "flood: the sibling's 4 KiB registrations are never refused ($small)" \
	test "$(field "$small" fail)" = 0 -a "$(field "$small" regs)" -gt 0
tap_check "flood: lengths that overflow the address space fail with EINVAL, before any charge ($h / $m)" \
	test "$(field "$h" regs)/$(field "$h" errno)/$(field "$h" eagain)/$(field "$m" regs)/$(field "$m" errno)/$(field "$m" eagain)" = 0/22/0/0/22/0
cur="$(val $T/rdma.current mr_bytes)/$(val $T/a/rdma.current mr_bytes)/$(val $T/b/rdma.current mr_bytes)"
tap_check "flood: every process gone, mr_bytes current is 0 at every level (parent/a/b: $cur)" \
	test "$cur" = 0/0/0
peak=$(val $T/rdma.peak mr_bytes)
tap_check "flood: the parent's peak never passed its limit (peak $peak)" test "$peak" -le 1048576
tap_check "flood: no kernel warning ($w0 -> $(warnings))" test "$(warnings)" = "$w0"

# The boundary: exactly the limit, then one byte more.
out=$(run $T/a "$OBJS" rxe_mr mr:1048576 1)
tap_check "mr_bytes=1048576: one MR of 1048576 bytes is registered ($out)" test "$out" = "created=1 errno=0"
out=$(run $T/a "$OBJS" rxe_mr mr:1048577 1)
tap_check "mr_bytes=1048576: one MR of 1048577 bytes fails with EAGAIN ($out)" test "$out" = "created=0 errno=11"
ev=$(val $T/rdma.events mr_bytes.max)
tap_check "the refusal is in the parent's rdma.events (mr_bytes.max=$ev)" test "$ev" -ge 1

# Implicit ODP (start 0, length SIZE_MAX) charges nothing: the same result in
# a limited cgroup as in the unlimited root (rxe may not support it at all).
root=$("$FLOOD" rxe_mr 0xffffffffffffffff 0 odp)
lim=$(run $T/a "$FLOOD" rxe_mr 0xffffffffffffffff 0 odp)
tap_check "implicit ODP: as in the root cgroup, never EAGAIN (root: $root, limited: $lim)" \
	test "$(field "$root" regs)/$(field "$root" errno)" = "$(field "$lim" regs)/$(field "$lim" errno)" -a "$(field "$lim" eagain)" = 0
tap_check "implicit ODP: nothing left charged" test "$(val $T/rdma.current mr_bytes)" = 0
echo "rxe_mr mr_bytes=max" > $T/rdma.max

# User Priorities: the SL's low 3 bits and the DSCP of the traffic class
# (IP precedence, DSCP >> 3, without a DCB APP table: veth has none).
echo "rxe_mr up=0-3" > $T/rdma.max
den0=$(val $T/rdma.events up.denied)
prio() {	# prio <expected output> <description> <rdma_objs type:arg>
	local out
	out=$(run $T/a "$OBJS" rxe_mr "$3" 1)
	tap_check "up=0-3: $2 ($out)" test "$out" = "$1"
}
prio "created=0 errno=1" "an AH with SL 0, traffic class 0xb8 (DSCP 46: UP 5) fails with EPERM" ah:0:0:0xb8
prio "created=1 errno=0" "an AH with SL 0, traffic class 0x40 (DSCP 16: UP 2) is created" ah:0:0:0x40
prio "created=0 errno=1" "an AH with SL 6, traffic class 0 fails with EPERM" ah:6:0:0
prio "created=0 errno=1" "QP to RTR with SL 0, traffic class 0xe0 (UP 7) fails with EPERM" qprtr:0:0:0xe0
prio "created=1 errno=0" "QP to RTR with SL 2, traffic class 0x60 (UP 3) works" qprtr:2:0:0x60
den1=$(val $T/rdma.events up.denied)
tap_check "up.denied counts the three refusals ($den0 -> $den1)" test "$den1" = $((den0 + 3))

# A UD work request that carries its own address vector (rxe's legacy ABI,
# written by user space into the send queue) goes past AH creation: its
# traffic class is checked when rxe sends it.
wr() { run $T/a "$WR" rxe_mr ud "$v4gid" "$v4gid" 10.78.0.2 "$1" | sed -n 's/.*status=//p'; }
st=$(wr 0xb8)
tap_check "up=0-3: a UD send with its own address, traffic class 0xb8 (UP 5), completes in error (status $st)" \
	test -n "$st" -a "$st" != 0 -a "$st" != none
st=$(wr 0x40)
tap_check "up=0-3: the same with traffic class 0x40 (UP 2) is sent (status $st)" test "$st" = 0

# What reaches the wire: every RoCEv2 packet the cgroup sends, captured at
# the other end of the veth, carries a DS field whose priority (IP
# precedence, no DCB APP table on veth) is allowed.  rxe's wire priority is
# the DS field (no VLAN here, the SL is not sent).
if command -v tcpdump >/dev/null; then
	ip netns exec mr_peer tcpdump -i mr_v1 -nn -v -l -p udp port 4791 >/tmp/mr_wire.txt 2>/dev/null &
	tcpd=$!
	sleep 2
	sent=""
	for tc in 0x00 0x40 0x60 0x80 0xb8 0xe0; do
		a=$(run $T/a "$WR" rxe_mr udah "$v4gid" 10.78.0.2 $tc | tr '\n' ' ')
		u=$(run $T/a "$WR" rxe_mr ud "$v4gid" "$v4gid" 10.78.0.2 $tc | tr '\n' ' ')
		sent="$sent $tc:[ah ${a% }][wr ${u% }]"
	done
	sleep 2
	kill $tcpd 2>/dev/null
	wait $tcpd 2>/dev/null
	echo "# sent:$sent"
	toss=$(grep -o 'tos 0x[0-9a-f]*' /tmp/mr_wire.txt | awk '{print $2}' | sort | uniq -c | tr '\n' ' ')
	echo "# on the wire (count tos): $toss"
	bad=""
	for t in $(grep -o 'tos 0x[0-9a-f]*' /tmp/mr_wire.txt | awk '{print $2}' | sort -u); do
		[ $((t >> 5)) -le 3 ] || bad="$bad$t "
	done
	tap_check "wire: every RoCE packet of a cgroup with up=0-3 has an allowed priority (forbidden seen: '${bad}')" \
		test -z "$bad"
	tap_check "wire: the allowed traffic classes 0x40 and 0x60 reach the wire, by AH and by a WR's own address" \
		sh -c "[ \$(grep -c 'tos 0x40' /tmp/mr_wire.txt) -ge 2 ] && [ \$(grep -c 'tos 0x60' /tmp/mr_wire.txt) -ge 2 ]"
	tap_check "wire: the forbidden ones were refused (AH: EPERM, WR: completion error)" \
		sh -c "echo '$sent' | grep -q '0xb8:\[ah errno=1\]\[wr status=[1-9]' && echo '$sent' | grep -q '0xe0:\[ah errno=1\]\[wr status=[1-9]'"
else
	tap_skip "wire capture" "no tcpdump"
fi

# rdma_cm programs the SL the netdev's priority maps make of the type of
# service: over a VLAN whose egress map sends priority 0 as PCP 5, TOS 0 is
# UP 5 on the wire.
if ip link add link mr_v0 name mr_v0.5 type vlan id 5 egress-qos-map 0:5 2>/dev/null &&
   ip addr add 10.79.0.1/24 dev mr_v0.5 && ip link set mr_v0.5 up; then
	sleep 1	# the GID of the new address
	prio "created=0 errno=1" "rdma_cm TOS 0 over a VLAN mapping priority 0 to PCP 5 fails with EPERM" tos:10.79.0.1:0
	prio "created=1 errno=0" "rdma_cm TOS 0 without the VLAN (PCP 0) resolves" tos:10.78.0.1:0
	prio "created=0 errno=1" "rdma_cm TOS 184 (DSCP 46: UP 5) fails with EPERM" tos:10.78.0.1:184
	tap_check "dmesg names the SL rdma_cm chose" \
		sh -c "dmesg | grep -q 'type of service 0x0 (SL 5, UP 5) not allowed'"
else
	tap_skip "rdma_cm over a VLAN" "no 802.1Q support"
fi
echo "rxe_mr up=max" > $T/rdma.max

# Limits kept for a device that goes away are keyed by its name and network
# namespace: in exclusive netns mode another namespace's device of the same
# name must not inherit them.
excl_cleanup() {
	ip netns exec mr_n1 rdma link del rxe_x 2>/dev/null
	rdma link del rxe_x 2>/dev/null
	ip netns del mr_n1 2>/dev/null
	ip link del xa0 2>/dev/null
	for _ in $(seq 50); do
		rdma system set netns shared 2>/dev/null && return 0
		sleep 0.2
	done
	echo "# could not go back to shared netns mode"
	return 1
}
# Switching modes needs no namespace but the initial one: mr_peer goes (and
# with its veth end, mr_v0 and rxe_mr); namespaces die asynchronously.
ip netns del mr_peer
excl=1
for _ in $(seq 50); do
	rdma system set netns exclusive 2>/dev/null && excl=0 && break
	sleep 0.2
done
if [ "$excl" = 0 ]; then
	ip link add xa0 type veth peer name xa1 && ip link set xa0 up && ip link set xa1 up &&
		ip netns add mr_n1 && rdma link add rxe_x type rxe netdev xa0 &&
		echo "rxe_x qp=3" > $T/rdma.max && rdma dev set rxe_x netns mr_n1 &&
		ip netns exec mr_n1 rdma link del rxe_x
	ok=$?
	rdma link add rxe_x type rxe netdev xa0
	got=$(rdmaiso_val $T/rdma.max rxe_x qp)
	tap_check "exclusive mode: rxe_x limited to qp=3 and deleted in another netns, a new rxe_x in the initial netns starts unlimited (setup $ok, qp=$got)" \
		test "$ok/$got" = 0/max
	echo "rxe_x qp=4" > $T/rdma.max && rdma link del rxe_x && rdma link add rxe_x type rxe netdev xa0
	tap_check "exclusive mode: the same name in the same netns gets its limits back (qp=$(rdmaiso_val $T/rdma.max rxe_x qp))" \
		test "$(rdmaiso_val $T/rdma.max rxe_x qp)" = 4
	excl_cleanup
	tap_check "back to shared netns mode" sh -c "rdma system show | grep -q 'netns shared'"
else
	tap_skip "exclusive netns mode" "rdma system set netns exclusive refused (other namespaces exist?)"
fi

tap_done
