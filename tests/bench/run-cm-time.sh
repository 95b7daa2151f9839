#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run inside the VM by scripts/bench.sh (RDMAISO_BENCH_PARTS=cmtime, under
# QEMU -icount): rdma_cm connection set-up end to end between two network
# namespaces that share one rxe device, each in its own cgroup, as two
# containers on one NIC (the topology of tests/selftests/perftest_netns.sh):
#
#   cm_a (cgroup cmt/a) cm_v0.10 10.81.0.1   cm_b (cgroup cmt/b) cm_v0.20 10.82.0.1
#                \______ rxe_cm on veth cm_v0 ______/   (routed by the initial netns)
#
# On a kernel with this project's modules, rdma_ns and cm_portspace are loaded
# and both cgroups have limits on every resource; the pristine kernel runs
# the same commands.  Prints:
#   cmt <step> <us per connection>   cmtime's steps, median of ROUNDS runs
#                                    of cmtime -c CONNS from cm_a to cm_b
#   mpi <ms>                         two clients at once (cm_a -> cm_b and
#                                    cm_b -> cm_a), MPI_CONNS connections
#                                    each: time until both are done,
#                                    median of ROUNDS
#
# usage: run-cm-time.sh   (CONNS=100 MPI_CONNS=1000 ROUNDS=3)
# Not set -e: the library's helpers (rdmaiso_gid) end pipelines early.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
CONNS=${CONNS:-100}
MPI_CONNS=${MPI_CONNS:-1000}
ROUNDS=${ROUNDS:-3}
CG=/sys/fs/cgroup
T=$CG/cmt
DEV=rxe_cm

die() { echo "run-cm-time.sh: $*" >&2; exit 1; }
mountpoint -q $CG || mount -t cgroup2 none $CG
modprobe 8021q || die "no 802.1Q VLAN support"
ours=
# RDMAISO_CMT_NOMOD=1: on our kernel, limits but neither module (to tell the
# modules' share of an overhead from the controller's).
if [ "${RDMAISO_CMT_NOMOD:-0}" = 1 ]; then
	ours=1
elif modinfo rdma_ns >/dev/null 2>&1; then
	modprobe rdma_ns && modprobe cm_portspace || die "modprobe failed"
	ours=1
fi
rdmaiso_two_containers cm 81 82 || die "topology"
sysctl -qw net.ipv4.ip_forward=1
rdmaiso_gid $DEV cm_v0.10 >/dev/null && rdmaiso_gid $DEV cm_v0.20 >/dev/null ||
	die "no GIDs of the containers"

echo +rdma > $CG/cgroup.subtree_control
mkdir -p $T/a $T/b
echo +rdma > $T/cgroup.subtree_control
if [ -n "$ours" ]; then
	LIM="hca_handle=8 hca_object=20000 pd=4000 cq=4000 qp=4000 mr=4000 cm_id=4000 mr_bytes=1073741824 up=0-7"
else
	LIM="hca_handle=8 hca_object=20000"
fi
# RDMAISO_CMT_NOLIMIT=1: no rdma.max written (the cgroups still charge).
if [ "${RDMAISO_CMT_NOLIMIT:-0}" != 1 ]; then
	for c in a b; do echo "$DEV $LIM" > $T/$c/rdma.max || die "rdma.max"; done
fi

# inside <a|b> <command...>: in container cm_<a|b> (its netns and cgroup).
inside() {
	local c=$1
	shift
	(echo $BASHPID > $T/$c/cgroup.procs && exec ip netns exec cm_$c "$@")
}

# A server in each container (cmtime serves one client run, then exits).
server() {	# server <a|b> <port>: started in the background, its pid in SPID
	local c=$1 ip=10.81.0.1
	[ "$c" = b ] && ip=10.82.0.1
	inside "$c" cmtime -b $ip -p "$2" >/dev/null 2>&1 &
	SPID=$!
	sleep 2
}

median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Neighbours resolved before the timed runs (else the first connection's
# address resolution waits for ARP through the router).
ip netns exec cm_a ping -c 1 -W 5 10.82.0.1 >/dev/null || die "no route from cm_a to cm_b"
ip netns exec cm_b ping -c 1 -W 5 10.81.0.1 >/dev/null || die "no route from cm_b to cm_a"

W=$(mktemp -d)
for r in $(seq "$ROUNDS"); do
	server b 7000
	inside a cmtime -s 10.82.0.1 -b 10.81.0.1 -p 7000 -c "$CONNS" > "$W/cmt.$r" ||
		echo "run-cm-time.sh: cmtime failed" >&2
	kill "$SPID" 2>/dev/null || true
	wait "$SPID" || true
	sed 's/^/cmtraw /' "$W/cmt.$r"
done
# cmtime prints a header "step <column names>" (their names and order differ
# between rdma-core versions: "total ms ... us / conn", "us/conn sum(us) ..."),
# then "<step name>: <values>" per step: keep us per connection.
usconn() {	# usconn <file>: "<step_name> <us per connection>" per step
	awk '/^step/ { h = $0; gsub(/us \/ conn/, "us/conn", h); gsub(/total ms/, "total_ms", h)
		gsub(/max ms/, "max_ms", h); gsub(/min us/, "min_us", h); n = split(h, f, " ")
		for (i = 2; i <= n; i++) if (f[i] == "us/conn") col = i - 1; next }
	     col && index($0, ":") { name = substr($0, 1, index($0, ":") - 1)
		gsub(/^ +| +$/, "", name); gsub(/ +/, "_", name)
		split(substr($0, index($0, ":") + 1), v, " "); print name, v[col] }' "$1"
}
for r in $(seq "$ROUNDS"); do usconn "$W/cmt.$r" > "$W/us.$r"; done
for s in $(awk '{ print $1 }' "$W/us.1"); do
	v=$(for r in $(seq "$ROUNDS"); do awk -v s="$s" '$1 == s { print $2 }' "$W/us.$r"; done | median)
	echo "cmt $s $v"
done

for r in $(seq "$ROUNDS"); do
	server b 7001
	spb=$SPID
	server a 7002
	spa=$SPID
	t0=$(date +%s%N)
	inside a cmtime -s 10.82.0.1 -b 10.81.0.1 -p 7001 -c "$MPI_CONNS" >/dev/null &
	ca=$!
	inside b cmtime -s 10.81.0.1 -b 10.82.0.1 -p 7002 -c "$MPI_CONNS" >/dev/null &
	cb=$!
	wait $ca && wait $cb || echo "run-cm-time.sh: an MPI client failed" >&2
	echo $((($(date +%s%N) - t0) / 1000000))
	kill $spa $spb 2>/dev/null || true
	wait $spa $spb || true
done | median | sed 's/^/mpi /'
rm -rf "$W"
