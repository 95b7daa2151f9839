#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An outside check: rdma-core's own test suite (pyverbs; Debian's
# python3-pyverbs ships it in /usr/share/doc/rdma-core/tests) over rxe, in the
# situations this project creates, each its own TAP line:
#
#   plain      no module of the project loaded;
#   modules    rdma_ns and cm_portspace loaded;
#   contained  modules loaded, the suite in a network namespace of its own
#              whose veth carries its rxe device's addresses, in a cgroup
#              two levels deep with a finite limit on every key and an up=
#              set that holds the priorities the suite uses.
#
# The plain run passes when every test that passes on the pristine 7.3 kernel
# (tests/selftests/pyverbs-upstream.pass, recorded by
# scripts/pyverbs-upstream.sh) passes here too; a situation passes when every
# test that passes both on the pristine kernel and in the plain run passes in
# it too (a test that fails on the pristine kernel, such as test_resize_cq
# over rxe, is listed as such but not compared). A test lost to a timeout
# (its report names one: the suite resolves addresses with a 1 s timeout,
# which a loaded host can miss) is run once more on its own before it
# counts, and the output says so; one lost otherwise is not retried. After
# the contained run every key of rdma.current is back to 0. Skips keep the suite's reasons (rxe lacks
# mlx5, EFA, ODP, ...). "modules" and "contained" run at the same time, on
# two devices: the VM has two CPUs.
#
# usage: pyverbs.sh                 the three situations
#        pyverbs.sh --plain <file>  only the plain one; its passing tests to <file>
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
SRC=/usr/share/doc/rdma-core/tests
PY=/usr/bin/python3
BASE=$DIR/pyverbs-upstream.pass
CG=/sys/fs/cgroup
T=$CG/rdmaiso_py
NS=rdmaiso_py
PLAIN_OUT=
[ "${1:-}" = --plain ] && PLAIN_OUT=${2:?"--plain needs a file"}

skip() { echo "SKIP: $*"; exit "$KSFT_SKIP"; }
[ -f $SRC/run_tests.py ] || skip "no $SRC/run_tests.py (Debian package python3-pyverbs)"
$PY -c 'import pyverbs' 2>/dev/null || skip "python3 cannot import pyverbs (python3-pyverbs)"
if [ -z "$PLAIN_OUT" ]; then
	mountpoint -q $CG || mount -t cgroup2 none $CG
	grep -qw rdma $CG/cgroup.controllers || skip "no rdma controller"
fi

W=$(mktemp -d /tmp/rdmaiso-pyverbs.XXXXXX) || exit 1
loaded=
cleanup() {
	rdma link del rxe_py 2>/dev/null
	ip netns exec $NS rdma link del rxe_pyc 2>/dev/null
	ip link del py_v0 2>/dev/null
	ip netns del $NS 2>/dev/null
	rmdir $T/outer/inner $T/outer $T 2>/dev/null
	[ -n "$loaded" ] && { rmmod cm_portspace; rmmod rdma_ns; } 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# The suite, unpacked (34 of its files are gzipped in the package).
cp -r $SRC "$W/tests" && gunzip -f "$W"/tests/*.gz || exit 1

# suite <label> <device> [command prefix...]: run the whole suite on a device;
# $W/<label>.pass and .fail get the names of the tests that passed and
# failed (or errored), one per line, sorted.
suite() {
	local label=$1 dev=$2 t0
	shift 2
	t0=$(date +%s)
	"$@" $PY "$W/tests/run_tests.py" --dev "$dev" -v >"$W/$label.out" 2>&1
	# unittest -v: "test_x (tests.mod.Class.test_x) ... ok", the verdict
	# sometimes on the line after the test's name (its docstring's).
	awk -v pass="$W/$label.pass.u" -v fail="$W/$label.fail.u" -v skip="$W/$label.skip.u" '
		match($0, /^test[^ ]* \([^)]*\)/) { id = substr($0, RSTART, RLENGTH) }
		id != "" && / \.\.\. ok$/ { print id > pass; id = "" }
		id != "" && / \.\.\. (FAIL|ERROR)$/ { print id > fail; id = "" }
		id != "" && / \.\.\. skipped / { print id > skip; id = "" }
		id != "" && / \.\.\. (expected failure|unexpected success)$/ { id = "" }
	' "$W/$label.out"
	for k in pass fail skip; do
		touch "$W/$label.$k.u"
		sort -u "$W/$label.$k.u" >"$W/$label.$k"
	done
	echo "# $label: $(wc -l <"$W/$label.pass") passed, $(wc -l <"$W/$label.skip") skipped," \
		"$(wc -l <"$W/$label.fail") failed ($(( $(date +%s) - t0 )) s)"
	sed 's/^/#   FAIL /' "$W/$label.fail"
	tail -n 3 "$W/$label.out" | sed "s/^/#   $label: /"
}

# retry <label> <device> [command prefix...]: of the tests of $W/<label>.lost,
# run once more, each on its own, those that failed with a timeout (the
# suite resolves addresses with a 1 s timeout, which a loaded host can miss:
# not this project's); those that pass then leave the file.  Every retry and
# its outcome is printed; a test lost for another reason is not retried.
retry() {
	local label=$1 dev=$2 t k
	shift 2
	[ -s "$W/$label.lost" ] || return 0
	# the tests whose FAIL/ERROR report mentions a timeout
	awk '/^(FAIL|ERROR): test/ { id = ""; if (match($0, /test[^ ]* \([^)]*\)/)) id = substr($0, RSTART, RLENGTH); next }
	     /^====/ { id = "" }
	     id != "" && /Errno:? 110|ETIMEDOUT|[Tt]imed out|[Tt]imeout/ { print id; id = "" }' \
		"$W/$label.out" | sort -u >"$W/$label.tmo"
	comm -23 "$W/$label.lost" "$W/$label.tmo" |
		sed "s/^/#   $label: not retried (no timeout in its report): /"
	: >"$W/$label.again"
	while read -r t; do
		# "test_x (tests.mod.Class.test_x)": match "Class.test_x"
		k=${t#*(}
		k=${k%)}
		"$@" $PY "$W/tests/run_tests.py" --dev "$dev" -v -k "${k#*.*.}" \
			>"$W/$label.retry.out" 2>&1
		if awk -v want="$t" 'match($0, /^test[^ ]* \([^)]*\)/) { id = substr($0, RSTART, RLENGTH) }
			id == want && / \.\.\. ok$/ { found = 1 } END { exit !found }' "$W/$label.retry.out"; then
			echo "#   $label: timed out, passed when run again on its own: $t"
			echo "$t" >>"$W/$label.again"
		else
			echo "#   $label: timed out, failed again when run on its own: $t"
			grep -E '^(FAIL|ERROR):|Error' "$W/$label.retry.out" | head -n 5 | sed "s/^/#     /"
		fi
	done < <(comm -12 "$W/$label.lost" "$W/$label.tmo")
	sort -u -o "$W/$label.pass" "$W/$label.pass" "$W/$label.again"
	sort -u -o "$W/$label.again" "$W/$label.again"
	comm -23 "$W/$label.lost" "$W/$label.again" >"$W/$label.lost2"
	mv "$W/$label.lost2" "$W/$label.lost"
}

# known <label>: the failures of <label> that do not pass on the pristine
# kernel either (rxe's test_resize_cq): listed, not compared.
known() {
	comm -23 "$W/$1.fail" "$BASE" |
		sed "s/^/#   $1: fails, does not pass on the pristine kernel either (not compared): /"
}

# same <label> <description> <device> [command prefix...]: the tests that pass
# both on the pristine kernel and in the plain run pass here too (tests that
# fail on the pristine kernel, such as rxe's test_resize_cq, are not
# compared: they are not this project's to fix).
same() {
	local label=$1 what=$2
	shift 2
	comm -12 "$BASE" "$W/plain.pass" | comm -23 - "$W/$label.pass" >"$W/$label.lost"
	retry "$label" "$@"
	known "$label"
	if [ ! -s "$W/$label.lost" ] && [ -s "$W/$label.pass" ]; then
		tap_ok "$what"
	else
		sed 's/^/#   passes in the plain run, not here: /' "$W/$label.lost"
		grep -B2 -A25 -E '^(FAIL|ERROR):' "$W/$label.out" | head -n 120 | sed 's/^/#   /'
		tap_fail "$what"
	fi
	comm -13 "$BASE" "$W/$label.pass" | sed "s/^/#   $label: passes, not compared (not on the pristine kernel): /"
}

# gids <device>: wait until its GID table holds an IPv4 and a link-local entry.
gids() {
	for _ in $(seq 100); do
		grep -qs '^0000:0000:0000:0000:0000:ffff:' /sys/class/infiniband/"$1"/ports/1/gids/[0-9] &&
			grep -qs '^fe80:' /sys/class/infiniband/"$1"/ports/1/gids/[0-9] && return 0
		sleep 0.2
	done
	echo "# $1: GID table not filled"
	return 1
}
# No duplicate address detection: a tentative link-local address would make
# the suite's first address resolutions time out on a slow VM.
ip link add py_v0 type veth peer name py_v1 &&
	sysctl -qw net.ipv6.conf.py_v0.accept_dad=0 net.ipv6.conf.py_v1.accept_dad=0 &&
	ip link set py_v0 up && ip link set py_v1 up &&
	ip addr add 10.79.0.1/24 dev py_v0 && ip addr add 10.79.0.2/24 dev py_v1 || exit 1
rdmaiso_rxe rxe_py py_v0 && gids rxe_py || exit 1

if [ -n "$PLAIN_OUT" ]; then
	suite plain rxe_py
	cp "$W/plain.pass" "$PLAIN_OUT"
	exit 0
fi

tap_plan_begin
for m in rdma_ns cm_portspace; do
	if grep -q "^$m " /proc/modules; then
		echo "# $m is loaded: the plain run needs it unloaded"
		exit 1
	fi
done

# 1. plain
suite plain rxe_py
if [ -f "$BASE" ]; then
	comm -23 "$BASE" "$W/plain.pass" >"$W/plain.lost"
	retry plain rxe_py
	known plain
	lost=$(cat "$W/plain.lost")
	if [ -z "$lost" ] && [ -s "$W/plain.pass" ]; then
		tap_ok "plain: every test that passes on the pristine kernel passes" \
			"($(wc -l <"$BASE") of them)"
	else
		echo "$lost" | sed 's/^/#   passes on the pristine kernel, not here: /'
		grep -A12 -E '^(FAIL|ERROR):' "$W/plain.out" | grep -E '^(FAIL|ERROR):|Error' |
			head -n 200 | sed 's/^/#   /'
		tap_fail "plain: every test that passes on the pristine kernel passes"
	fi
else
	tap_fail "plain: no record of the pristine kernel ($BASE: scripts/pyverbs-upstream.sh)"
fi

# 2 and 3, at the same time.
modprobe rdma_ns && modprobe cm_portspace && loaded=1 || exit 1
ip netns add $NS && ip -n $NS link set lo up &&
	ip -n $NS link add pyc_v0 type veth peer name pyc_v1 &&
	ip netns exec $NS sysctl -qw net.ipv6.conf.pyc_v0.accept_dad=0 \
		net.ipv6.conf.pyc_v1.accept_dad=0 &&
	ip -n $NS link set pyc_v0 up && ip -n $NS link set pyc_v1 up &&
	ip -n $NS addr add 10.79.1.1/24 dev pyc_v0 && ip -n $NS addr add 10.79.1.2/24 dev pyc_v1 &&
	rdmaiso_rxe rxe_pyc pyc_v0 $NS && gids rxe_pyc || exit 1
echo +rdma >$CG/cgroup.subtree_control
mkdir -p $T/outer/inner && echo +rdma >$T/cgroup.subtree_control &&
	echo +rdma >$T/outer/cgroup.subtree_control || exit 1
# Every key finite; generous for the suite (its largest MR is some MiB).
lim="hca_handle=64 hca_object=20000 pd=2000 cq=2000 qp=2000 srq=2000 mr=2000 mw=2000"
lim="$lim ah=2000 xrcd=200 wq=200 flow=200 cm_id=2000 mr_bytes=4294967296"
echo "rxe_pyc $lim up=0-3" >$T/outer/rdma.max &&
	echo "rxe_pyc $lim up=0-3" >$T/outer/inner/rdma.max || exit 1

suite modules rxe_py &
mpid=$!
# Into the cgroup first: "ip netns exec" mounts a sysfs of the netns, without cgroupfs.
suite contained rxe_pyc \
	sh -c "echo \$\$ >$T/outer/inner/cgroup.procs && exec ip netns exec $NS \"\$@\"" sh &
cpid=$!
wait $mpid $cpid

same modules "modules: the same tests pass with rdma_ns and cm_portspace loaded" rxe_py
same contained "contained: the same tests pass in a netns and a limited cgroup" rxe_pyc \
	sh -c "echo \$\$ >$T/outer/inner/cgroup.procs && exec ip netns exec $NS \"\$@\"" sh
bad=
for c in $T/outer $T/outer/inner; do
	cur=$(grep "^rxe_pyc " $c/rdma.current)
	echo "# ${c#"$CG"/} after: $cur"
	rdmaiso_at_rest "$cur" || bad="$bad ${c#"$CG"/}"
done
if [ -z "${bad// /}" ]; then
	tap_ok "contained: every key of rdma.current back to 0, no priority in use"
else
	tap_fail "contained: every key of rdma.current back to 0, no priority in use ($bad)"
fi
tap_done
