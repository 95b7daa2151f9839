#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run inside the VM: the rdma_cm port-space benchmark (build/cm_ps_bench),
# RUNS times (default 3) without cm_portspace (upstream port spaces), then
# RUNS times with `modprobe cm_portspace`, in the same boot.  Prints the
# median per phase:
#   cmps-upstream <phase> <ns per id>
#   cmps-module <phase> <ns per id>
# (phases: create+bind, listen, destroy).  Each run's raw output is kept in
# $OUT (default /tmp/cm-bench).
#
# usage: run-cm-bench.sh [netns count] [IDs per netns] [extra cm_ps_bench args]
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
BIN=$DIR/build/cm_ps_bench
NNS=${1:-100}
NIDS=${2:-100}
shift $(($# < 2 ? $# : 2))
RUNS=${RUNS:-3}
OUT=${OUT:-/tmp/cm-bench}
MOD=cm_portspace

[ -x "$BIN" ] || { echo "$BIN not built (make -C tests/bench)" >&2; exit 1; }
modprobe rdma_ucm && modprobe ib_uverbs || exit 1
mkdir -p "$OUT" && rm -f "$OUT"/*.txt

# librdmacm does not start without an RDMA device: one rxe on a veth, unless
# there is a device already.  The same device is there in both modes.
made_dev=
if [ -z "$(ls /sys/class/infiniband 2>/dev/null)" ]; then
	ip link add cmb0 type veth peer name cmb1 && ip link set cmb0 up &&
		ip link set cmb1 up && modprobe rdma_rxe &&
		rdma link add rxe_cmb type rxe netdev cmb0 || exit 1
	made_dev=1
fi
cleanup() {
	[ -d /sys/module/$MOD ] && rmmod $MOD 2>/dev/null
	if [ -n "$made_dev" ]; then
		rdma link del rxe_cmb 2>/dev/null
		ip link del cmb0 2>/dev/null
	fi
}
trap cleanup EXIT

# runs <mode> [cm_ps_bench args]: RUNS runs into $OUT/<mode>.<n>.txt
runs() {
	local m=$1 r
	shift
	for r in $(seq "$RUNS"); do
		"$BIN" -n "$NNS" -i "$NIDS" "$@" >"$OUT/$m.$r.txt" 2>&1 ||
			{ cat "$OUT/$m.$r.txt" >&2; return 1; }
		# let the namespaces of this run be cleaned up before the next
		sleep 2
	done
}
# report <mode>: the median of the runs, per phase
report() {
	local phase
	for phase in create+bind listen destroy; do
		cat "$OUT/$1".*.txt | awk -v p="$phase" '$1 == "cmps" && $2 == p { print $4 }' |
			sort -g | awk -v m="$1" -v p="$phase" '
				{ v[NR] = $1 }
				END { if (NR) printf "cmps-%s %s %s\n", m, p, v[int((NR + 1) / 2)] }'
	done
}

if [ -d /sys/module/$MOD ]; then
	rmmod $MOD || { echo "cannot unload $MOD for the upstream runs" >&2; exit 1; }
fi
runs upstream "$@" || exit 1
report upstream
if modprobe $MOD; then
	runs module "$@" || exit 1
	report module
	rmmod $MOD
else
	echo "# no $MOD module: upstream only"
fi
