#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rdma cgroup benchmarks, ours against upstream, measured in one run:
# builds the bench kernel (this project, no debug options) and the upstream
# kernel (the pristine 7.3 source, same configuration), builds the benchmark
# module against each, boots each in turn, runs tests/bench/run-bench.sh, and
# prints both and the ratios.  Results also go to .bench/.
#
# usage: bench.sh [iterations]
#   RDMAISO_BENCH_PARTS=cg: only the rdma cgroup microbenchmark (a quicker run);
#   RDMAISO_BENCH_PARTS=nsov: only the instruction-clocked rdma_ns overhead
#   (RDMAISO_NSOV_ROUNDS rounds, 16);
#   RDMAISO_BENCH_PARTS=cmtime: only rdma_cm connection set-up end to end
#   (cmtime between two network namespaces, and two of them at once with
#   1,000 connections each), instruction-clocked, pristine kernel vs ours;
#   RDMAISO_KVM=1: the VMs run with KVM (a host that has it; see the operator's
#   guide): the cgroup microbenchmark on real cores.  QEMU's -icount needs TCG,
#   so the instruction-clocked parts run on the wall clock there, labelled so.
#   RDMAISO_BENCH_PLAIN=1: also the microbenchmark on kernels built without
#   CONFIG_RUST_INLINE_HELPERS (two more kernel builds, the -plain flavors).
#
# All kernels are built with the clang of rustc's LLVM (scripts/kbuild.sh).
set -euo pipefail
export LC_ALL=C
PARTS=${RDMAISO_BENCH_PARTS:-all}
case $PARTS in
all | cg | nsov | cmtime) ;;
*) echo "error: unknown RDMAISO_BENCH_PARTS '$PARTS' (all, cg, nsov or cmtime)" >&2; exit 1 ;;
esac
PLAIN=
if [ "$PARTS" != nsov ] && [ "${RDMAISO_BENCH_PLAIN:-0}" = 1 ]; then
	PLAIN=1
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/llvm-version.sh"
CACHE=${RDMAISO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdma-iso}
ITERS=${1:-200000}
OUTDIR="$REPO/.bench"
mkdir -p "$OUTDIR"

make -s -C "$REPO/tests/bench"

# build_flavor <flavor>: the kernel and the benchmark module.
build_flavor() {
	local mod="$CACHE/bench-mod-$1"

	"$REPO/scripts/kbuild.sh" "$1"
	rm -rf "$mod"
	mkdir -p "$mod"
	cp "$REPO/tests/bench/Kbuild" "$REPO/tests/bench/rdmacg_bench.c" "$mod/"
	make -s -C "$CACHE/build-$1" LLVM="-$RDMAISO_LLVM" M="$mod" modules
}

# run_vm <flavor> <name> <run-bench.sh environment>: boots the flavor, runs
# run-bench.sh and keeps its result lines in <name>.txt (the VM's console,
# which QEMU writes through the inherited stderr, in <name>.console).
run_vm() {
	"$REPO/scripts/vm.sh" -f "$1" \
		"$3 tests/bench/run-bench.sh $CACHE/bench-mod-$1/rdmacg_bench.ko $ITERS" \
		</dev/null 2>"$OUTDIR/$2.console" | tr -d '\r' |
		grep -E '^(cg|ct|rd|verbs|verbs-ns|cmps-upstream|cmps-module|cmt|cmtraw|mpi) ' >"$OUTDIR/$2.txt" || true
	[ -s "$OUTDIR/$2.txt" ] ||
		{ echo "error: no result from the $2 run (console: $OUTDIR/$2.console)" >&2; exit 1; }
}

# run_flavor <flavor> <parts>: the flavor's results in <flavor>.txt.
run_flavor() {
	echo "  VM      $1: run-bench.sh ($ITERS iterations per thread)"
	run_vm "$1" "$1" "RDMAISO_BENCH_PARTS=$2"
}

# cg_table <title> <ours.txt> <upstream.txt>: throughput ratio ours/upstream
# of the microbenchmark (higher is better for us), and for 2 threads the
# share of the run in which both ran (ours/upstream).
cg_table() {
	awk -v title="$1" '
	FNR == 1 { f++ }
	$1 == "cg" { k = $2 " " $3 " " $4; ns[f, k] = $5; mops[f, k] = $6; ovl[f, k] = $7
		     if (f == 1) keys[++n] = k }
	END {
		print title
		printf "%-8s %-6s %-8s %14s %14s %14s %14s %8s %10s\n", "threads", "depth", "devices",
			"ours ns/op", "upstream ns/op", "ours Mops/s", "upstr. Mops/s", "ratio", "overlap"
		for (i = 1; i <= n; i++) {
			split(keys[i], p, " ")
			o = p[1] > 1 ? ovl[1, keys[i]] "/" ovl[2, keys[i]] : "-"
			printf "%-8s %-6s %-8s %14s %14s %14s %14s %7.2fx %10s\n", p[1], p[2], p[3],
				ns[1, keys[i]], ns[2, keys[i]], mops[1, keys[i]], mops[2, keys[i]],
				mops[1, keys[i]] / mops[2, keys[i]], o
		}
	}' "$2" "$3"
}

# ct_tables <ours.txt> <upstream.txt>: containers in parallel (aggregate
# throughput, ours/upstream, ours with 2 workers / ours with 1) and the
# readers' effect on the charges (throughput lost while a task reads).
ct_tables() {
	awk '
	FNR == 1 { f++ }
	$1 == "ct" { k = $2 " " $3; m[f, k] = $5; ovl[f, k] = $6; if (f == 1) keys[++n] = k }
	$1 == "rd" { k = $2 " " $3; r[f, k] = $5; rate[f, k] = $7 }
	END {
		if (!n)
			exit
		print ""
		print "two containers, each in its own cgroup, charging one device (Mops/s of all workers, best of 3)"
		print "  a: siblings under the root; b: under kubepods/burstable/pod1 (depth 4, unlimited);"
		print "  c: as b with a limit on pod1"
		printf "%-5s %-8s %12s %14s %8s %10s %12s %10s\n", "case", "workers", "ours Mops/s",
			"upstr. Mops/s", "ratio", "ours 2/1", "upstr. 2/1", "overlap"
		for (i = 1; i <= n; i++) {
			split(keys[i], p, " ")
			one = p[1] " 1"
			s1 = p[2] > 1 ? sprintf("%9.2fx", m[1, keys[i]] / m[1, one]) : "-"
			s2 = p[2] > 1 ? sprintf("%11.2fx", m[2, keys[i]] / m[2, one]) : "-"
			o = p[2] > 1 ? ovl[1, keys[i]] "/" ovl[2, keys[i]] : "-"
			printf "%-5s %-8s %12s %14s %7.2fx %10s %12s %10s\n", p[1], p[2], m[1, keys[i]],
				m[2, keys[i]], m[1, keys[i]] / m[2, keys[i]], s1, s2, o
		}
		print ""
		print "charges while a task reads rdma.current/max/peak/events (64 devices) in a loop (case a);"
		print "  Mops/s alone, the loss with the reader, and with a control reader of 4 cgroup core files"
		printf "%-8s %11s %8s %8s %12s %8s %8s %14s\n", "workers", "ours alone", "loss",
			"control", "upstr. alone", "loss", "control", "reads/s o/u"
		for (w = 1; w <= 2; w++) {
			a = "none " w; b = "files " w; c = "ctl " w
			if (!((1, a) in r))
				continue
			printf "%-8s %11s %7.1f%% %7.1f%% %12s %7.1f%% %7.1f%% %14s\n", w, r[1, a],
				(1 - r[1, b] / r[1, a]) * 100, (1 - r[1, c] / r[1, a]) * 100, r[2, a],
				(1 - r[2, b] / r[2, a]) * 100, (1 - r[2, c] / r[2, a]) * 100,
				rate[1, b] "/" rate[2, b]
		}
	}' "$1" "$2"
}

# The instruction clock (QEMU -icount) needs TCG; with KVM those parts run on
# the wall clock.
ICOUNT="-icount shift=0,sleep=off"
CLOCK="instruction-clocked (QEMU -icount: ns = instructions executed)"
if [ "${RDMAISO_KVM:-0}" = 1 ]; then
	ICOUNT= CLOCK="wall clock (KVM)"
fi

build_flavor bench
[ "$PARTS" = nsov ] || build_flavor upstream
: >"$OUTDIR/table.txt"
if [ "$PARTS" = all ] || [ "$PARTS" = cg ]; then
	run_flavor bench "$PARTS"
	run_flavor upstream "$PARTS"
	cg_table "rdma cgroup charge+uncharge (in-kernel, C API), best of 3; 2 threads start at a gate" \
		"$OUTDIR/bench.txt" "$OUTDIR/upstream.txt" | tee -a "$OUTDIR/table.txt"
	ct_tables "$OUTDIR/bench.txt" "$OUTDIR/upstream.txt" | tee -a "$OUTDIR/table.txt"
	# The single-threaded rows again on an instruction clock (below): the
	# wall clock of TCG moves them by +-5% from run to run.
	for f in bench upstream; do
		echo "  VM      $f (QEMU -icount): run-bench.sh, 1 thread"
		RDMAISO_VM_QEMU_OPTS="$ICOUNT" \
			run_vm $f icount-cg-$f "RDMAISO_BENCH_PARTS=cg RDMAISO_BENCH_THREADS=1"
	done
	{
		echo
		cg_table "the same, 1 thread, $CLOCK" \
			"$OUTDIR/icount-cg-bench.txt" "$OUTDIR/icount-cg-upstream.txt"
	} | tee -a "$OUTDIR/table.txt"
fi

# The verbs loop (time ratio ours/upstream: lower is better for us) and the
# rdma_cm port spaces.  (rdma_ns's overhead is measured below, on an
# instruction clock: on the wall clock of TCG it drowns in run-to-run noise.)
if [ "$PARTS" = all ]; then
awk '
FNR == 1 { f++ }
$1 == "verbs" && !((f, $2) in v) && f == 1 { vk[++m] = $2 }
$1 == "verbs" && (!((f, $2) in v) || $3 < v[f, $2]) { v[f, $2] = $3 }
$1 == "cmps-upstream" { cu[f, $2] = $3; if (f == 1) ck[++c] = $2 }
$1 == "cmps-module" && f == 1 { cm[$2] = $3 }
END {
	print ""
	print "verbs create+destroy over libibverbs on rxe (ns per pair, best of 2)"
	printf "%-6s %12s %12s %10s\n", "type", "ours", "upstream", "ours/upstr"
	for (i = 1; i <= m; i++)
		printf "%-6s %12s %12s %10.3f\n", vk[i], v[1, vk[i]], v[2, vk[i]], v[1, vk[i]] / v[2, vk[i]]
	print ""
	print "rdma_cm port spaces, 10k IDs over 100 netns (ns per ID, median of 3)"
	printf "%-12s %12s %12s %12s %14s\n", "phase", "upstream", "ours, no mod", "cm_portspace", "cm_ps/upstream"
	for (i = 1; i <= c; i++)
		printf "%-12s %12s %12s %12s %14.3f\n", ck[i], cu[2, ck[i]], cu[1, ck[i]], cm[ck[i]], cm[ck[i]] / cu[2, ck[i]]
}' "$OUTDIR/bench.txt" "$OUTDIR/upstream.txt" | tee -a "$OUTDIR/table.txt"
fi

# The microbenchmark again without CONFIG_RUST_INLINE_HELPERS: each atomic
# and RCU operation of Rust code a call into a C helper, as in a kernel built
# without the option.  Two more kernels, so only when asked
# (RDMAISO_BENCH_PLAIN=1).
if [ -n "$PLAIN" ]; then
	for flavor in bench-plain upstream-plain; do
		build_flavor $flavor
		run_flavor $flavor cg
	done
	{
		echo
		cg_table "the same without CONFIG_RUST_INLINE_HELPERS (both kernels)" \
			"$OUTDIR/bench-plain.txt" "$OUTDIR/upstream-plain.txt"
	} | tee -a "$OUTDIR/table.txt"
fi

# rdma_ns overhead, instruction-clocked: under QEMU's -icount the guest clock
# advances with the instructions executed (shift=0: 1 ns each, single-threaded
# TCG), so neither host load nor the other vCPU's emulation enters it.  Each
# round runs the same loop with rdma_ns unloaded and loaded (ABBA order); the
# overhead is the median of the per-round ratios, with the middle half of them
# (from the first to the third quartile) as its spread.
if [ "$PARTS" = all ] || [ "$PARTS" = nsov ]; then
rounds=${RDMAISO_NSOV_ROUNDS:-16}
echo "  VM      bench (QEMU -icount): rdma_ns overhead, $rounds rounds"
RDMAISO_VM_QEMU_OPTS="$ICOUNT" \
	run_vm bench icount "RDMAISO_BENCH_PARTS=verbs VERBS_ROUNDS=$rounds"
{
	echo
	echo "rdma_ns overhead, $CLOCK: loaded/unloaded per round, $rounds rounds"
	echo "(unloaded, loaded: the median round, in instruction-clock ns per create+destroy)"
	printf "%-6s %12s %12s %10s %18s\n" type unloaded loaded overhead "middle half"
	awk '$1 == "verbs" && !s[$2]++ { print $2 }' "$OUTDIR/icount.txt" | while read -r t; do
		# Round i pairs the i-th unloaded and loaded runs: every round must
		# have both, or the pairs would shift.
		awk -v t="$t" -v rounds="$rounds" '
			$1 == "verbs" && $2 == t { u[++nu] = $3 }
			$1 == "verbs-ns" && $2 == t { l[++nl] = $3 }
			END {
				if (nu != rounds || nl != rounds) {
					printf "error: %s: %d unloaded and %d loaded runs, not %d\n", t, nu, nl, rounds > "/dev/stderr"
					exit 1
				}
				for (i = 1; i <= nu; i++) print l[i] / u[i], u[i], l[i]
			}' "$OUTDIR/icount.txt" | sort -g |
		awk -v t="$t" '
			{ r[NR] = $1; u[NR] = $2; l[NR] = $3 }
			END {
				if (!NR)
					exit 1
				h = int(NR / 2); q = int(NR / 4)
				med = NR % 2 ? r[h + 1] : (r[h] + r[h + 1]) / 2
				# unloaded, loaded: of the round at (or just below) the median
				m = NR % 2 ? h + 1 : h
				printf "%-6s %12s %12s %9.1f%% %7.1f%% .. %5.1f%%\n", t, u[m], l[m],
					(med - 1) * 100, (r[q + 1] - 1) * 100, (r[NR - q] - 1) * 100
			}'
	done
} | tee -a "$OUTDIR/table.txt"
fi

# rdma_cm connection set-up end to end (tests/bench/run-cm-time.sh), on the
# instruction clock: the pristine kernel against ours with rdma_ns and
# cm_portspace loaded and every resource of both containers limited.
if [ "$PARTS" = all ] || [ "$PARTS" = cmtime ]; then
	for f in upstream bench; do
		echo "  VM      $f (QEMU -icount): run-cm-time.sh"
		RDMAISO_VM_QEMU_OPTS="$ICOUNT" run_vm $f cmtime-$f "RDMAISO_BENCH_PARTS=cmtime"
	done
	{
		echo
		echo "rdma_cm set-up between two network namespaces on one rxe device, $CLOCK"
		echo "(cmtime -c ${CONNS:-100}, us per connection, median of 3; pristine kernel vs ours"
		echo " with rdma_ns, cm_portspace and limits on every resource)"
		awk '
		FNR == 1 { f++ }
		$1 == "cmt" { v[f, $2] = $3; if (f == 1) k[++n] = $2 }
		$1 == "mpi" { m[f] = $2 }
		END {
			printf "%-22s %12s %12s %10s\n", "step", "pristine", "ours", "overhead"
			for (i = 1; i <= n; i++)
				printf "%-22s %12s %12s %9.1f%%\n", k[i], v[1, k[i]], v[2, k[i]],
					v[1, k[i]] ? (v[2, k[i]] / v[1, k[i]] - 1) * 100 : 0
			printf "%-22s %12s %12s %9.1f%%\n", "MPI start-up (ms)", m[1], m[2],
				m[1] ? (m[2] / m[1] - 1) * 100 : 0
			print "(MPI start-up: two containers at once, each connecting 1,000 QPs to the other)"
		}' "$OUTDIR/cmtime-upstream.txt" "$OUTDIR/cmtime-bench.txt"
	} | tee -a "$OUTDIR/table.txt"
fi
