#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rdma_ns over rxe in shared netns mode.  One rxe device, rxe_ns0, sits on
# veth ns_v0 in the initial namespace; VLANs of ns_v0 live in namespaces
# nsA and nsB, so rxe_ns0's GID table holds an address of each.  A QP or
# AH of nsA may use nsA's GID but not nsB's (nor the host's).  Traffic runs
# between namespaces nsX and nsY, each with its own rxe on a veth end.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
OBJS="$DIR/build/rdma_objs"
EADDRNOTAVAIL=99

[ -x "$OBJS" ] || { echo "SKIP: $OBJS not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
modinfo rdma_ns >/dev/null 2>&1 || { echo "SKIP: no rdma_ns module"; exit $KSFT_SKIP; }
modprobe 8021q 2>/dev/null || { echo "SKIP: no 802.1Q VLAN support"; exit $KSFT_SKIP; }

cleanup() {
	rmmod rdma_ns 2>/dev/null
	rdma link del rxe_ns0 2>/dev/null
	ip link del ns_v0 2>/dev/null
	rdmaiso_cleanup nsA nsB nsX nsY
}
trap cleanup EXIT
cleanup

rdmaiso_netns nsA nsB nsX nsY || exit 1
ip link add ns_v0 type veth peer name ns_v1 && ip link set ns_v0 up &&
	ip link set ns_v1 up && ip addr add 10.80.0.1/24 dev ns_v0 || exit 1
rdmaiso_rxe rxe_ns0 ns_v0 || exit 1
for x in A:10 B:20; do
	n=ns${x%:*} v=${x#*:}
	ip link add link ns_v0 name ns_v0.$v type vlan id "$v" &&
		ip link set ns_v0.$v netns "$n" &&
		ip -n "$n" addr add 10.8$((v / 10)).0.1/24 dev ns_v0.$v &&
		ip -n "$n" link set ns_v0.$v up || exit 1
done
rdmaiso_veth nsX ns_x 10.90.0.1/24 nsY ns_y 10.90.0.2/24 || exit 1
rdmaiso_rxe rxe_nsx ns_x nsX && rdmaiso_rxe rxe_nsy ns_y nsY || exit 1

# gid <netdev>: the index of rxe_ns0's RoCE v2 GID of <netdev>'s IPv4 address
# (one grep and one awk per try: process start-up is slow under TCG)
gid() {
	local d=/sys/class/infiniband/rxe_ns0/ports/1 i
	for _ in $(seq 100); do
		i=$(grep -H . $d/gid_attrs/ndevs/* $d/gid_attrs/types/* $d/gids/* 2>/dev/null |
		    awk -v want="$1" '
			{ f = $0; sub(/:.*/, "", f); v = substr($0, length(f) + 2)
			  n = split(f, p, "/"); i = p[n]; k = p[n - 1] }
			k == "ndevs" && v == want { nd[i] = 1 }
			k == "types" && v == "RoCE v2" { t[i] = 1 }
			k == "gids" && v ~ /^0000:0000:0000:0000:0000:ffff:/ { g[i] = 1 }
			END { for (i in nd) if (t[i] && g[i]) { print i; exit } }')
		[ -n "$i" ] && { echo "$i"; return 0; }
		sleep 0.2
	done
	return 1
}
GA=$(gid ns_v0.10) && GB=$(gid ns_v0.20) && GH=$(gid ns_v0) ||
	{ echo "no GIDs for the VLANs in rxe_ns0"; exit 1; }
echo "# GID indexes: host $GH, nsA $GA, nsB $GB"

# probe <ns> <type> <sgid>: errno of one AH / QP-to-RTR from <ns> with <sgid>
probe() {
	local pfx=()
	[ "$1" != - ] && pfx=(ip netns exec "$1")
	"${pfx[@]}" "$OBJS" rxe_ns0 "$2:0:$3" 1 | sed -n 's/.*errno=//p'
}

tap_plan_begin

rmmod rdma_ns 2>/dev/null
tap_check "without rdma_ns, nsA may create an AH with nsB's GID (the upstream hole)" \
	test "$(probe nsA ah "$GB")" = 0

modprobe rdma_ns || exit 1
tap_check "/proc/net/rdma_ns exists in every namespace" \
	sh -c "[ -r /proc/net/rdma_ns ] && ip netns exec nsA test -r /proc/net/rdma_ns"
for ty in ah qprtr; do
	e=$(probe nsA $ty "$GB")
	tap_check "$ty: nsA with nsB's GID: EADDRNOTAVAIL ($e)" test "$e" = $EADDRNOTAVAIL
	e=$(probe nsA $ty "$GH")
	tap_check "$ty: nsA with the host's GID: EADDRNOTAVAIL ($e)" test "$e" = $EADDRNOTAVAIL
	e=$(probe nsA $ty "$GA")
	tap_check "$ty: nsA with its own GID works ($e)" test "$e" = 0
	e=$(probe nsB $ty "$GB")
	tap_check "$ty: nsB with its own GID works ($e)" test "$e" = 0
	e=$(probe - $ty "$GA")
	tap_check "$ty: the host with nsA's GID: EADDRNOTAVAIL ($e)" test "$e" = $EADDRNOTAVAIL
done
tap_check "dmesg names device, GID index, both namespaces and the caller" \
	sh -c "dmesg | grep -q 'rdma_ns: refused rxe_ns0 port 1 GID index $GB (netdev ns_v0.20 in net:\[[0-9]*\]) for ah of net:\[[0-9]*\] (pid [1-9][0-9]* rdma_objs)'"
tap_check "nsA's /proc/net/rdma_ns counts its refusals" \
	sh -c "ip netns exec nsA head -1 /proc/net/rdma_ns | grep -q 'denied 4 '"

# Per-namespace view: nsA holds 3 QPs, nsB sees none of them.
: > /tmp/ns.out
ip netns exec nsA "$OBJS" rxe_ns0 qp 3 6 > /tmp/ns.out &
holder=$!
for _ in $(seq 300); do grep -q created= /tmp/ns.out && break; sleep 0.1; done
row() { ip netns exec "$1" awk '$1 == "rxe_ns0" { print $3 "/" $4 "/" $5 }' /proc/net/rdma_ns; }
a=$(row nsA) b=$(row nsB)
tap_check "/proc/net/rdma_ns: nsA shows its 3 QPs (qp/ah/cm_id $a), nsB none (${b:-no row})" \
	sh -c "[ '$a' = 3/0/0 ] && { [ -z '$b' ] || [ '$b' = 0/0/0 ]; }"
wait $holder
tap_check "/proc/net/rdma_ns: back to 0 after destroy ($(row nsA))" test "$(row nsA)" = 0/0/0

# Traffic between namespaces with the module loaded, and load/unload under it.
timeout 600 ip netns exec nsY rping -s -a 10.90.0.2 -C 1000 -S 64 -V >/dev/null 2>&1 &
srv=$!
sleep 2
timeout 600 ip netns exec nsX rping -c -a 10.90.0.2 -C 1000 -S 64 -V >/dev/null 2>&1 &
cli=$!
cycles=0
for _ in 1 2 3 4 5; do
	sleep 0.5
	rmmod rdma_ns && modprobe rdma_ns && cycles=$((cycles + 1))
done
running=0
kill -0 $cli 2>/dev/null && running=1
wait $cli; rc=$?
kill $srv 2>/dev/null
wait $srv
tap_check "rping nsX -> nsY (own GIDs) works while rdma_ns is unloaded and loaded $cycles times under it (exit $rc)" \
	test "$rc/$cycles/$running" = 0/5/1

# Objects across unload: created while loaded, destroyed after rmmod.
ip netns exec nsA "$OBJS" rxe_ns0 qp 2 4 > /tmp/ns.out &
holder=$!
for _ in $(seq 300); do grep -q created= /tmp/ns.out && break; sleep 0.1; done
rmmod rdma_ns
e=$(probe nsA ah "$GB")
wait $holder
tap_check "after rmmod: checks are off ($e) and objects tagged while loaded are destroyed cleanly" \
	test "$e/$(cat /tmp/ns.out)" = "0/created=2 errno=0"

# A namespace deleted while its objects live stays until they are gone.
modprobe rdma_ns
ip netns exec nsA "$OBJS" rxe_ns0 qp 2 4 > /tmp/ns.out &
holder=$!
for _ in $(seq 300); do grep -q created= /tmp/ns.out && break; sleep 0.1; done
ip netns del nsA
wait $holder
tap_check "netns deleted with live QPs: they are destroyed afterwards ($(cat /tmp/ns.out))" \
	test "$(cat /tmp/ns.out)" = "created=2 errno=0"

# Audit mode logs and allows.
rmmod rdma_ns && modprobe rdma_ns audit=1
e=$(probe nsB ah "$GH")
tap_check "audit=1: nsB with the host's GID is allowed ($e) and logged" \
	sh -c "[ '$e' = 0 ] && dmesg | grep -q 'rdma_ns: audit: would refuse rxe_ns0 port 1 GID index $GH' &&
	       ip netns exec nsB head -1 /proc/net/rdma_ns | grep -q '^mode audit denied 0 audited 1'"
rmmod rdma_ns

tap_done
