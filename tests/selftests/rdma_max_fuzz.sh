#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fuzzing the writable files of the project (issue 14, part 2b).
#
# What it proves:
#  1. rdma.max of a child cgroup, with two rxe devices present: at least
#     10^5 random and mutated writes (valid lines with every key and every
#     number form the parser accepts or rejects, byte flips, truncations,
#     duplicated keys and lines, unknown keys and devices, index= edge
#     cases, NUL and CR bytes, inputs of a page and more, thousands of lines
#     in one write) are each answered as a reference model of the syntax
#     predicts (accepted, EINVAL, ENODEV or E2BIG); after every write
#     rdma.max reads back byte for byte as the model renders it (a rejected
#     write changes nothing at all, an accepted one sets exactly the keys it
#     names, normalised), and a rejected write leaves rdma.current,
#     rdma.peak and rdma.events unchanged (build/max_fuzz does the checks).
#  2. The module parameters of rdma_ns and cm_portspace that are writable
#     in /sys/module/*/parameters, every writable /proc/net file of the
#     modules and the test module cm_afib_req's debugfs file: 10^4 random
#     writes each; a rejected write leaves what the file reads unchanged.
#     Files the project creates read-only must refuse writes.
#
# RDMAISO_FUZZ_SEED sets the seed (default: random, printed), and
# RDMAISO_FUZZ_COUNT / RDMAISO_FUZZ_FILE_COUNT the numbers of writes
# (default 100000 / 10000).
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
FUZZ=$DIR/build/max_fuzz
CG=/sys/fs/cgroup
T=$CG/rdmaiso_fz
SEED=${RDMAISO_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
COUNT=${RDMAISO_FUZZ_COUNT:-100000}
FCOUNT=${RDMAISO_FUZZ_FILE_COUNT:-10000}
TMP=$(mktemp)

[ -x "$FUZZ" ] || { echo "SKIP: $FUZZ not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
mountpoint -q $CG || mount -t cgroup2 none $CG
grep -qw rdma $CG/cgroup.controllers || { echo "SKIP: no rdma controller"; exit $KSFT_SKIP; }
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

cleanup() {
	rmdir $T/child 2>/dev/null; rmdir $T 2>/dev/null
	rdma link del rxe_fz1 2>/dev/null
	rdma link del rxe_fz0 2>/dev/null
	ip link del fz_v0 2>/dev/null
	rmmod cm_afib_req 2>/dev/null
	rm -f "$TMP"
}
trap cleanup EXIT
cleanup

ip link add fz_v0 type veth peer name fz_v1 && ip link set fz_v0 up && ip link set fz_v1 up &&
	ip addr add 10.79.0.1/24 dev fz_v0 && ip addr add 10.79.0.2/24 dev fz_v1 || exit 1
rdmaiso_rxes rxe_fz0:fz_v0 rxe_fz1:fz_v1 || exit 1
echo +rdma > $CG/cgroup.subtree_control
mkdir $T && echo +rdma > $T/cgroup.subtree_control && mkdir $T/child || exit 1

tap_plan_begin
echo "# seed $SEED (RDMAISO_FUZZ_SEED=$SEED reproduces this run)"

# Every RDMA device with its index ("0: rxe_fz0: node_type ...").
mapfile -t devs < <(rdma dev show | sed -n 's/^\([0-9]*\): \([^:]*\):.*/\2:\1/p')
echo "# devices: ${devs[*]}"

t0=$(date +%s)
"$FUZZ" $T/child "$COUNT" "$SEED" "${devs[@]}" >"$TMP" 2>&1
rc=$?
sed 's/^/# /' "$TMP"
sum=$(grep '^seed=' "$TMP")
if [ $rc -eq 0 ]; then
	tap_ok "rdma.max: $COUNT writes match the model ($(( $(date +%s) - t0 ))s; ${sum#seed=* })"
else
	tap_fail "rdma.max: $COUNT writes match the model (exit status $rc; ${sum:-no summary})"
fi

# The limits are still enforced after the fuzzing: a fresh write works.
reset="rxe_fz0 hca_handle=max hca_object=max pd=max cq=max qp=5 srq=max mr=max mw=max ah=max xrcd=max wq=max flow=max cm_id=max mr_bytes=max sl=1 up=max"
tap_check "rdma.max still takes a plain write afterwards" \
	sh -c "echo '$reset' > $T/child/rdma.max && grep -qx '$reset' $T/child/rdma.max"

# fuzz_file <name> <file> [token...]
fuzz_file() {
	local name=$1 f=$2 r
	shift 2
	"$FUZZ" -f "$f" "$FCOUNT" "$SEED" "$@" >"$TMP" 2>&1
	r=$?
	sed 's/^/# /' "$TMP"
	if [ $r -eq 0 ]; then
		tap_ok "$name: $(grep '^seed=' "$TMP")"
	else
		tap_fail "$name (exit status $r)"
	fi
}

# 2. Module parameters and procfs/debugfs files.
for m in rdma_ns cm_portspace; do
	modprobe $m || { tap_fail "modprobe $m"; continue; }
	params=$(find /sys/module/$m/parameters -type f 2>/dev/null)
	writable=$(find /sys/module/$m/parameters -type f -perm /222 2>/dev/null)
	if [ -z "$writable" ]; then
		tap_skip "$m: fuzz writable module parameters" \
			"none writable ($(echo "$params" | grep -c .) in sysfs)"
	fi
	for p in $writable; do
		old=$(cat "$p")
		fuzz_file "$m: parameter $(basename "$p")" "$p" Y N 0 1
		echo "$old" > "$p"
	done
done
for f in /proc/net/rdma_ns /proc/net/rdma_cm_ports; do
	if [ -n "$(find "$f" -perm /222 2>/dev/null)" ]; then
		fuzz_file "$f" "$f"
	else
		# shellcheck disable=SC2016 # expanded by sh -c
		tap_check "$f is read-only and refuses a write unchanged" \
			sh -c '! { echo 1 >"$1"; } 2>/dev/null && test "$(cat "$1")" = "$2"' \
			_ "$f" "$(cat "$f")"
	fi
done
if modprobe cm_afib_req 2>/dev/null; then
	# Syntax "req|sidr <address> <service id>"; the addresses are ones that
	# fail fast (no CM exchange is waited for).
	fuzz_file "debugfs cm_afib_req/ctl" /sys/kernel/debug/cm_afib_req/ctl \
		req sidr "req 300.1.1.1 1" "sidr fe80::zz 0x10" 1.2.3 ::g 0x106
else
	tap_skip "debugfs cm_afib_req/ctl" "no cm_afib_req module"
fi
rmmod cm_portspace rdma_ns 2>/dev/null

tap_done
