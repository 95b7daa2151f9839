#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run inside the VM by scripts/bench.sh: the rdma cgroup microbenchmark
# (rdmacg_bench.ko) for 1/2 threads, depth 1/4, 1/64 devices; two
# containers charging in parallel; the same with a task reading the interface
# files; then the end-to-end verbs loop on rxe.  Prints one result per line:
#   cg <threads> <depth> <devices> <ns per op per thread> <Mops/s total> <overlap>
#   ct <case> <workers> <ns per op per worker> <Mops/s total> <overlap>
#   rd <reader> <workers> <ns per op per worker> <Mops/s total> <overlap> <reads/s>
#   verbs <type> <ns per create+destroy>
#   verbs-ns <type> <ns per create+destroy>   (with rdma_ns loaded)
#   cmps-upstream|cmps-module <phase> <ns per ID>   (run-cm-bench.sh)
#
# usage: run-bench.sh <rdmacg_bench.ko> [iterations]
#   RDMAISO_BENCH_PARTS=cg: only the rdma cgroup microbenchmark
#   (RDMAISO_BENCH_THREADS, "1 2": the thread counts it runs);
#   RDMAISO_BENCH_PARTS=verbs: only the verbs loop, VERBS_ROUNDS (5) rounds of
#   unloaded/loaded (for the instruction-clocked run of scripts/bench.sh);
#   RDMAISO_BENCH_PARTS=cmtime: only rdma_cm set-up end to end (run-cm-time.sh).
set -eu -o pipefail
PARTS=${RDMAISO_BENCH_PARTS:-all}
case $PARTS in
all | cg | verbs) ;;
cmtime) exec "$(dirname "$0")/run-cm-time.sh" ;;
*) echo "run-bench.sh: unknown RDMAISO_BENCH_PARTS '$PARTS'" >&2; exit 1 ;;
esac
DIR=$(cd "$(dirname "$0")" && pwd)
KO=$1
ITERS=${2:-200000}
THREADS=${RDMAISO_BENCH_THREADS:-1 2}
CG=/sys/fs/cgroup

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q $CG || mount -t cgroup2 none $CG
insmod "$KO"
RUN=/sys/kernel/debug/rdmacg_bench/run

echo +rdma > $CG/cgroup.subtree_control
mkdir -p $CG/b1 $CG/b4/l2/l3/l4
echo +rdma > $CG/b4/cgroup.subtree_control
echo +rdma > $CG/b4/l2/cgroup.subtree_control
echo +rdma > $CG/b4/l2/l3/cgroup.subtree_control

# worker <cgroup> <devices> <tasks>: one task of charges in <cgroup>, after
# the module's start gate for <tasks> tasks; prints "<ns/op> <start> <end>".
# The first worker of a set starts from the gate in each of its runs.
worker() {
	python3 - "$1" "$2" "$ITERS" "$RUN" "$3" <<'PY'
import os, sys
cg, ndev, iters, run, tasks = sys.argv[1:]
with open(cg + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
fd = os.open(run, os.O_RDWR)
os.write(fd, f"{ndev} {iters} {tasks}".encode())
ns, fails, start, end = os.pread(fd, 96, 0).decode().split()
os.close(fd)
if fails != "0":
    sys.exit(f"{fails} charges failed")
print(ns, start, end)
PY
}

# measure <devices> <cgroup>...: one worker per cgroup (the same cgroup may
# come twice), started together; the best of three runs, as "<ns/op, mean of
# the workers> <Mops/s of all workers: their operations over the span from the
# first start to the last end> <overlap: the share of that span in which all
# of them ran>".
measure() {
	local devs=$1 best='' best_mops='' res mops t cg pids
	shift
	for _ in 1 2 3; do
		t=0 pids=()
		for cg in "$@"; do
			t=$((t + 1))
			worker "$cg" "$devs" $# > /tmp/bench.$t &
			pids+=($!)
		done
		wait "${pids[@]}"
		res=$(cat $(seq -f /tmp/bench.%g $#) | awk -v iters="$ITERS" '
			{ ns += $1; if (NR == 1 || $2 < s0) s0 = $2; if (NR == 1 || $3 > e1) e1 = $3
			  if (NR == 1 || $2 > s1) s1 = $2; if (NR == 1 || $3 < e0) e0 = $3 }
			END { span = e1 - s0; both = e0 - s1; if (both < 0) both = 0
			      printf "%.1f %.3f %.2f", ns / NR, NR * iters * 1000 / span, both / span }')
		mops=${res#* }
		mops=${mops%% *}
		if [ -z "$best" ] || awk "BEGIN { exit !($mops > $best_mops) }"; then
			best=$res best_mops=$mops
		fi
	done
	echo "$best"
}

bench_cg() {
	# Warm up: create the pools of every device in every level.
	for cg in $CG/b1 $CG/b4/l2/l3/l4; do
		worker $cg 64 1 > /dev/null
	done

	# "cg <threads> <depth> <devices> <measure's three figures>": all threads
	# in one cgroup.
	local depth devs threads cg t set
	for depth in 1 4; do
		cg=$CG/b1
		[ $depth = 4 ] && cg=$CG/b4/l2/l3/l4
		for devs in 1 64; do
			for threads in $THREADS; do
				set=()
				for t in $(seq "$threads"); do set+=("$cg"); done
				echo "cg $threads $depth $devs $(measure $devs "${set[@]}")"
			done
		done
	done
}

# Two containers, each in its own cgroup, charging one device:
#   a: siblings directly under the root;
#   b: siblings under a chain of unlimited parents as Kubernetes nests them
#      (kubepods/burstable/pod1/<container>: depth 4);
#   c: as b, with a limit on the shared parent pod1.
# "ct <case> <workers> <measure's three figures>"; one worker runs in the
# first container only.
bench_ct() {
	local K=$CG/kubepods/burstable/pod1 case c1 c2 d ITERS=$((ITERS * 10))
	mkdir -p $CG/ca1 $CG/ca2 $K/c1 $K/c2
	for d in $CG/kubepods $CG/kubepods/burstable $K; do
		echo +rdma > $d/cgroup.subtree_control
	done
	for c1 in $CG/ca1 $CG/ca2 $K/c1 $K/c2; do
		worker $c1 1 1 > /dev/null
	done
	for case in a b c; do
		c1=$CG/ca1 c2=$CG/ca2
		[ $case = a ] || c1=$K/c1 c2=$K/c2
		[ $case = c ] && echo "rdmacg_bench0 hca_object=1000000" > $K/rdma.max
		echo "ct $case 1 $(measure 1 $c1)"
		echo "ct $case 2 $(measure 1 $c1 $c2)"
	done
	echo "rdmacg_bench0 hca_object=max" > $K/rdma.max
}

# Readers: a task reads rdma.current, rdma.max, rdma.peak and rdma.events
# (those the kernel has) of the charging cgroup, which shows all 64 devices,
# in a tight loop while the workers of case a charge; the same without it,
# and with a control reader that reads four files of the cgroup core instead
# (cgroup.procs, .stat, .events, .type): what a busy reader costs the workers
# on this machine whatever it reads (under TCG the vCPUs share the host's
# cores with QEMU's other threads).
# "rd <none|files|ctl> <workers> <measure's three figures> <reads/s>".
bench_rd() {
	local w set reader rate kind ITERS=$((ITERS * 10))
	for w in 1 2; do
		set=($CG/ca1)
		[ $w = 2 ] && set+=($CG/ca2)
		echo "rd none $w $(measure 1 "${set[@]}") 0"
		for kind in files ctl; do
		python3 - $CG/ca1 /tmp/bench.reads $kind <<'PY' &
import os, signal, sys, time
cg, out, kind = sys.argv[1:]
names = (["rdma." + f for f in ("current", "max", "peak", "events")] if kind == "files"
         else ["cgroup." + f for f in ("procs", "stat", "events", "type")])
fds = [os.open(f"{cg}/{f}", os.O_RDONLY) for f in names if os.path.exists(f"{cg}/{f}")]
n, t0, stop = 0, time.monotonic(), False
def end(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, end)
while not stop:
    for fd in fds:
        os.pread(fd, 1 << 16, 0)
    n += len(fds)
with open(out, "w") as f:
    f.write(f"{n / (time.monotonic() - t0):.0f}\n")
PY
		reader=$!
		sleep 1
		res=$(measure 1 "${set[@]}")
		kill -TERM $reader
		wait $reader || true
		rate=$(cat /tmp/bench.reads)
		echo "rd $kind $w $res $rate"
		done
	done
}

# bench_verbs <rounds>
bench_verbs() {
	# End to end over libibverbs on rxe, from a cgroup with limits set.  qprtr
	# takes a QP to RTR towards its own IPv4 RoCE v2 GID (address resolution is
	# local), the path rdma_ns checks.
	ip link add bn0 type veth peer name bn1
	ip link set bn0 up && ip link set bn1 up && ip addr add 10.99.0.1/24 dev bn0
	modprobe rdma_rxe
	rdma link add rxe_bn type rxe netdev bn0
	gid=
	for _ in $(seq 100); do
		gid=$(grep -l ':ffff:0a63:0001$' /sys/class/infiniband/rxe_bn/ports/1/gids/* 2>/dev/null |
		      head -n 1 || true)
		[ -n "$gid" ] && break
		sleep 0.2
	done
	gid=${gid##*/}
	echo "rxe_bn hca_handle=100 hca_object=100000" > $CG/b1/rdma.max
	# Each loop starts after a pause, so that the teardown of the previous
	# process (deferred frees, RCU callbacks) is not timed with it.
	loop() {
		sleep 1
		sh -c "echo \$\$ > $CG/b1/cgroup.procs && exec $DIR/build/verbs_loop rxe_bn ${VERBS_ITERS:-2000} ${gid:-0}"
	}
	# Unloaded and loaded alternately, in ABBA order (bench.sh keeps the best
	# of each, or the median of the per-round ratios): the cost of rdma_ns's
	# tagging and checking, without a first-run or drift bias.  rdma_ns
	# exists on our kernel only, but the verbs part alone measures it: there
	# it must load.
	local r ns=1
	modprobe rdma_ns 2>/dev/null && rmmod rdma_ns || ns=
	if [ -z "$ns" ] && [ "$PARTS" = verbs ]; then
		echo "run-bench.sh: rdma_ns does not load" >&2
		exit 1
	fi
	for r in $(seq "$1"); do
		if [ $((r % 2)) = 1 ]; then loop | sed 's/^/verbs /'; fi
		if [ -n "$ns" ]; then
			modprobe rdma_ns
			loop | sed 's/^/verbs-ns /'
			rmmod rdma_ns
		fi
		if [ $((r % 2)) = 0 ]; then loop | sed 's/^/verbs /'; fi
	done
}

case $PARTS in
cg)
	bench_cg
	[ "$THREADS" = "1" ] || { bench_ct; bench_rd; }
	;;
verbs) bench_verbs "${VERBS_ROUNDS:-5}" ;;
*)
	bench_cg
	bench_ct
	bench_rd
	bench_verbs 2
	;;
esac
[ "$PARTS" = all ] || exit 0
# rdma_cm port spaces, 100 namespaces x 100 IDs: rdma_cm's own (both kernels)
# and, where the module exists, cm_portspace's.
"$DIR/run-cm-bench.sh" 100 100
