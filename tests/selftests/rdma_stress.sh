#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Concurrent stress of the three components, with chaos, on the debug kernel
# (issue 14, part 1).  `make stress` runs it for DURATION seconds (default
# 600); `make check` for RDMAISO_STRESS_SECS (default 60), and without the
# kmemleak scans of its own (RDMAISO_STRESS_KMEMLEAK=0: make check scans at
# its end).
#
# Topology: two rxe devices, rxe_st0 and rxe_st1, on veths st_a0 and st_b0 of
# the initial namespace (shared netns mode); network namespaces st1..st3 each
# hold a VLAN of both (10.71.k.1 and 10.72.k.1), so both devices' GID tables
# carry an address of every namespace.  Cgroups, two levels:
#
#   rdmaiso_st   P  fixed limits        rdmaiso_st2  Q  fixed limits, up=0-3
#     a             fixed limits          d             fixed limits, up=max
#     b, c          limits rewritten by the chaos loop; c removed and re-made
#
# Workers (build/rdma_stress), two per namespace: one in a, b or c (moved
# around by the chaos loop), one in d (never moved, checks that the
# effective up=0-3 governs every AV it gets through); each creates and
# destroys every object type on both devices, takes QPs to RTR with its own
# and other namespaces' GIDs, sends to itself over UD and over rdma_cm
# (every namespace on the same ports), and checks what must never happen.
#
# Chaos, until the time is up: rewrite rdma.max of b and c (below their
# usage too), move workers between a, b and c, kill -9 a worker and restart
# it, rdma link del/add rxe_st1 under load, delete a namespace with live
# objects and recreate it, rmmod/modprobe rdma_ns and cm_portspace, remove
# c with live objects and make it again; meanwhile a reader reads every
# rdma.* file, /proc/net/rdma_ns and /proc/net/rdma_cm_ports of every
# namespace and `rdma res show` in a loop.
#
# Invariants, checked after every chaos event and at the end:
#   - P, a, Q, d (limits never changed): usage <= limit for every key, and
#     at the end peak <= limit; rdma.max still reads as written (limits stay
#     with the device name across link del/add);
#   - b, c: once a rewrite has settled (2 s: a charge that read the old limit
#     may land just after it), no key grows above max(limit, usage then);
#   - Q, d: the UPs in use (rdma.current up=) stay within 0-3;
#   - the workers' own checks (priority and namespace policy, data intact);
#   - at the end: every key of every rdma.current is 0 and no SL/UP is in
#     use; after teardown as many network namespaces as before, module
#     reference counts back to their values before, no new kmemleak report,
#     no KASAN, lockdep, RCU, WARN, BUG or hung-task report.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
BIN=$DIR/build/rdma_stress
CG=/sys/fs/cgroup
P=$CG/rdmaiso_st
Q=$CG/rdmaiso_st2
SECS=${RDMAISO_STRESS_SECS:-60}
SEED=${RDMAISO_STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
DEVS=(rxe_st0 rxe_st1)
KL=/sys/kernel/debug/kmemleak
[ "${RDMAISO_STRESS_KMEMLEAK:-1}" = 0 ] && KL=/nonexistent
RT=/sys/kernel/debug/ref_tracker
MODS=(ib_core ib_uverbs rdma_cm rdma_ucm ib_cm iw_cm rdma_rxe rdma_ns cm_portspace)
GRACE=2

[ -x "$BIN" ] || { echo "SKIP: $BIN not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
for m in rdma_rxe ib_uverbs rdma_ucm 8021q rdma_ns cm_portspace; do
	modprobe $m || { echo "SKIP: modprobe $m failed"; exit $KSFT_SKIP; }
done
mountpoint -q $CG || mount -t cgroup2 none $CG
grep -qw rdma $CG/cgroup.controllers || { echo "SKIP: no rdma controller"; exit $KSFT_SKIP; }
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

W=$(mktemp -d /tmp/rdma_stress.XXXXXX) || exit 1
RANDOM=$SEED
echo "# seed $SEED (RDMAISO_STRESS_SEED=$SEED replays the chaos sequence), ${SECS}s"

declare -A WPID EV
now() { printf '%(%s)T\n' -1; }
VIOL=0
CHECKS=0
violation() {
	VIOL=$((VIOL + 1))
	echo "# VIOLATION: $*"
}
ev() { EV[$1]=$((${EV[$1]:-0} + 1)); }

netns_count() { find $RT -maxdepth 1 -name 'net_refcnt@*' 2>/dev/null | wc -l; }
refcnts() {
	local m
	for m in "${MODS[@]}"; do
		echo "$m=$(cat /sys/module/$m/refcnt 2>/dev/null || echo -)"
	done | tr '\n' ' '
}
kmemleak_objs() {	# the unreferenced objects kmemleak reports now
	[ -w $KL ] || return 0
	echo scan > $KL
	grep -o 'unreferenced object 0x[0-9a-f]*' $KL | sort -u
}

# The state before anything of this test exists.
T0=$(now)
NS0=$(netns_count)
REF0=$(refcnts)
kmemleak_objs > "$W/kl0"
DMESG0=$(dmesg | wc -l)

reader_pid=
cleanup() {
	[ -n "$reader_pid" ] && kill "$reader_pid" 2>/dev/null
	for p in "${WPID[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for d in "${DEVS[@]}"; do rdma link del "$d" 2>/dev/null; done
	for k in 1 2 3; do ip netns del st$k 2>/dev/null; done
	ip link del st_a0 2>/dev/null
	ip link del st_b0 2>/dev/null
	rmdir $P/a $P/b $P/c $Q/d $P $Q 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# --- topology ---------------------------------------------------------------
ns_up() {	# ns_up <k>: namespace stk with its two VLANs (retried while the
		# previous stk's VLANs of the same ids are still going away)
	local k=$1 i
	ip netns add st$k && ip -n st$k link set lo up || return 1
	for i in $(seq 100); do
		ip link add link st_a0 name st_a0.1$k type vlan id 1$k 2>/dev/null && break
		sleep 0.2
	done
	for i in $(seq 100); do
		ip link add link st_b0 name st_b0.2$k type vlan id 2$k 2>/dev/null && break
		sleep 0.2
	done
	ip link set st_a0.1$k netns st$k && ip link set st_b0.2$k netns st$k &&
		ip -n st$k addr add 10.71.$k.1/24 dev st_a0.1$k &&
		ip -n st$k addr add 10.72.$k.1/24 dev st_b0.2$k &&
		ip -n st$k link set st_a0.1$k up && ip -n st$k link set st_b0.2$k up
}
ip link add st_a0 type veth peer name st_a1 && ip link add st_b0 type veth peer name st_b1 &&
	ip link set st_a0 up && ip link set st_a1 up && ip link set st_b0 up &&
	ip link set st_b1 up || exit 1
rdmaiso_rxes rxe_st0:st_a0 rxe_st1:st_b0 || exit 1
for k in 1 2 3; do ns_up $k || exit 1; done

# --- cgroups ----------------------------------------------------------------
# Limits of P and a are tight enough that the workers meet them.
LIM_P="hca_handle=8 hca_object=400 pd=60 cq=80 qp=60 srq=20 mr=60 mw=30 ah=40 cm_id=12 mr_bytes=8388608"
LIM_A="hca_handle=3 hca_object=120 qp=16 mr=20 mr_bytes=2097152 cm_id=4"
LIM_Q="hca_handle=6 hca_object=300 qp=40 mr=40 mr_bytes=4194304 cm_id=8 up=0-3"
LIM_D="hca_handle=4 qp=30 cm_id=6 up=max"
echo +rdma > $CG/cgroup.subtree_control
mkdir $P $Q && echo +rdma > $P/cgroup.subtree_control && echo +rdma > $Q/cgroup.subtree_control &&
	mkdir $P/a $P/b $P/c $Q/d || exit 1
setlim() {	# setlim <cgroup> <limits>: on both devices
	local d
	for d in "${DEVS[@]}"; do echo "$d $2" > "$1/rdma.max" || return 1; done
}
setlim $P "$LIM_P" && setlim $P/a "$LIM_A" && setlim $Q "$LIM_Q" && setlim $Q/d "$LIM_D" || exit 1

# --- invariants -------------------------------------------------------------
declare -A KV
read_kv() {	# read_kv <file>: KV["dev key"]=value for every key of every line
	local dev rest kv
	KV=()
	while read -r dev rest; do
		for kv in $rest; do
			[[ $kv == index=* ]] && continue
			KV["$dev ${kv%%=*}"]=${kv#*=}
		done
	done < "$1"
}
is_count() { [[ $1 != sl && $1 != up ]]; }

# The limits as written, to compare rdma.max with.
declare -A WANT
want_limits() {	# want_limits <cgroup> <limits>
	local d kv
	for d in "${DEVS[@]}"; do
		for kv in $2; do WANT["$1 $d ${kv%%=*}"]=${kv#*=}; done
	done
}
want_limits $P "$LIM_P"; want_limits $P/a "$LIM_A"
want_limits $Q "$LIM_Q"; want_limits $Q/d "$LIM_D"

check_fixed() {	# check_fixed <cgroup>: usage within the limits; limits intact
	local cg=$1 k
	local -A M C
	read_kv "$cg/rdma.max" || return
	for k in "${!KV[@]}"; do M[$k]=${KV[$k]}; done
	read_kv "$cg/rdma.current" || return
	for k in "${!KV[@]}"; do C[$k]=${KV[$k]}; done
	for k in "${!C[@]}"; do
		is_count "${k#* }" || continue
		CHECKS=$((CHECKS + 1))
		[ "${M[$k]:-max}" = max ] || [ "${C[$k]}" -le "${M[$k]}" ] ||
			violation "${cg#$CG/} ${k}: usage ${C[$k]} above its limit ${M[$k]}"
	done
	for k in "${!WANT[@]}"; do
		[[ $k == "$cg "* ]] || continue
		# a device that is being re-added has no line yet
		[ -n "${M[${k#* }]+x}" ] || continue
		CHECKS=$((CHECKS + 1))
		[ "${M[${k#* }]}" = "${WANT[$k]}" ] ||
			violation "${cg#$CG/} ${k#* }: rdma.max reads ${M[${k#* }]}, written ${WANT[$k]}"
	done
}

up_within() {	# up_within <set> <max>: are all UPs of "0-1,3" / none <= max?
	local s=$1 r
	[ "$s" = none ] && return 0
	for r in ${s//,/ }; do [ "${r#*-}" -le "$2" ] || return 1; done
}
check_up() {	# check_up <cgroup>: UPs in use within 0-3
	local k
	read_kv "$1/rdma.current" || return
	for k in "${!KV[@]}"; do
		[[ $k == *" up" ]] || continue
		CHECKS=$((CHECKS + 1))
		up_within "${KV[$k]}" 3 || violation "${1#$CG/} ${k%% *}: UPs ${KV[$k]} in use, up=0-3"
	done
}

# b and c: the bound of each key once the last rewrite settled.
declare -A SETTLE BOUND
check_chaotic() {	# check_chaotic <cgroup>
	local cg=$1 k now
	local -A M
	now=$(now)
	[ -d "$cg" ] || return
	read_kv "$cg/rdma.max" || return
	for k in "${!KV[@]}"; do M[$k]=${KV[$k]}; done
	read_kv "$cg/rdma.current" || return
	[ "$now" -ge "${SETTLE[$cg]:-0}" ] || return
	for k in "${!KV[@]}"; do
		is_count "${k#* }" || continue
		[ "${M[$k]:-max}" = max ] && continue
		if [ -z "${BOUND[$cg $k]+x}" ]; then
			BOUND[$cg $k]=$(( KV[$k] > M[$k] ? KV[$k] : M[$k] ))
			continue
		fi
		CHECKS=$((CHECKS + 1))
		[ "${KV[$k]}" -le "${BOUND[$cg $k]}" ] ||
			violation "${cg#$CG/} $k: usage ${KV[$k]} grew above max(limit ${M[$k]}, usage when it settled) = ${BOUND[$cg $k]}"
	done
}
unsettle() {	# unsettle <cgroup>: its limits changed
	local k
	SETTLE[$1]=$(( $(now) + GRACE ))
	for k in "${!BOUND[@]}"; do [[ $k == "$1 "* ]] && unset "BOUND[$k]"; done
}
check_all() {
	check_fixed $P; check_fixed $P/a; check_fixed $Q; check_fixed $Q/d
	check_up $Q; check_up $Q/d
	check_chaotic $P/b; check_chaotic $P/c
}

# --- workers ----------------------------------------------------------------
END=$(( $(now) + SECS ))
home_cg() {	# home_cg <id>: the cgroup a worker starts in
	case $1 in
	*.1) echo $Q/d ;;
	1.0) echo $P/a ;;
	2.0) echo $P/b ;;
	*) echo $P/c ;;
	esac
}
start_worker() {	# start_worker <k.s>
	local id=$1 k=${1%.*} s=${1#*.} cg up=()
	cg=$(home_cg "$id")
	[ "$s" = 1 ] && up=(-u 3)
	# into the cgroup first: ip netns exec mounts a sysfs of its own
	sh -c "echo \$\$ > $cg/cgroup.procs && exec ip netns exec st$k $BIN -t $((SECS + 900)) \
		-s $RANDOM$RANDOM ${up[*]} -P $((7471 + s)) rxe_st0:10.71.$k.1 rxe_st1:10.72.$k.1" \
		>> "$W/w$id.out" 2>&1 &
	WPID[$id]=$!
}
kill_worker() {	# kill_worker <id>
	[ -n "${WPID[$1]:-}" ] || return 0
	kill -9 "${WPID[$1]}" 2>/dev/null
	wait "${WPID[$1]}" 2>/dev/null
	unset "WPID[$1]"
}
IDS=(1.0 1.1 2.0 2.1 3.0 3.1)
for id in "${IDS[@]}"; do start_worker "$id"; done

# --- the reader -------------------------------------------------------------
reader() {
	local f k
	while :; do
		for f in $P/rdma.* $P/*/rdma.* $Q/rdma.* $Q/*/rdma.* /proc/net/rdma_ns \
			 /proc/net/rdma_cm_ports; do
			cat "$f" > /dev/null 2>&1
		done
		for k in 1 2 3; do
			ip netns exec st$k cat /proc/net/rdma_ns /proc/net/rdma_cm_ports \
				> /dev/null 2>&1
		done
		rdma res show qp > /dev/null 2>&1
		rdma res show cm_id > /dev/null 2>&1
		rdma res show mr > /dev/null 2>&1
	done
}
reader &
reader_pid=$!

# --- chaos ------------------------------------------------------------------
rand_limits() {	# a random rewrite of 3 keys: 0, 1, small, below usage, max
	local keys=(hca_handle hca_object pd cq qp srq mr mw ah cm_id mr_bytes) out="" k i j v
	for i in 0 1 2; do
		# a key not taken yet (a repeated key is refused, rightly)
		j=$((i + RANDOM % (${#keys[@]} - i)))
		k=${keys[j]} keys[j]=${keys[i]} keys[i]=$k
		case $((RANDOM % 5)) in
		0) v=0 ;;
		1) v=1 ;;
		2) v=$((RANDOM % 8)) ;;
		3) v=$((RANDOM % 64)) ;;
		*) v=max ;;
		esac
		[ "$k" = mr_bytes ] && [ "$v" != max ] && v=$((v * 65536))
		out+=" $k=$v"
	done
	echo "$out"
}
chaos_max() {
	local cg=$P/b d=${DEVS[RANDOM % 2]}
	[ $((RANDOM % 2)) = 0 ] && cg=$P/c
	[ -d $cg ] || return
	local line err
	line="$d$(rand_limits)"
	if err=$( { echo "$line" > $cg/rdma.max; } 2>&1 ); then
		ev rdma.max-rewrite
	elif [[ $err == *"No such device"* ]] && [ ! -e /sys/class/infiniband/$d ]; then
		ev rdma.max-rewrite-ENODEV	# the device is being re-added
	else
		violation "rdma.max write '$line' to ${cg#$CG/} refused: $err"
	fi
	unsettle $cg
}
chaos_move() {
	local id=${IDS[(RANDOM % 3) * 2]} to
	to=$P/$(echo a b c | cut -d' ' -f$((RANDOM % 3 + 1)))
	[ -n "${WPID[$id]:-}" ] && [ -d "$to" ] || return
	echo "${WPID[$id]}" > "$to/cgroup.procs" 2>/dev/null && ev task-move
}
chaos_kill() {
	local id=${IDS[RANDOM % 6]}
	kill_worker "$id"
	start_worker "$id"
	ev worker-kill-9
}
chaos_link() {
	local t0
	t0=$(now)
	if ! timeout 110 rdma link del rxe_st1; then
		violation "rdma link del rxe_st1 failed or took more than 110 s"
		return
	fi
	ev "link-del"
	echo "# rdma link del rxe_st1 under load: $(( $(now) - t0 ))s"
	sleep 1
	rdma link add rxe_st1 type rxe netdev st_b0 || violation "rdma link add rxe_st1 failed"
	ev "link-add"
}
chaos_netns() {
	local k=$((RANDOM % 3 + 1))
	ip netns del st$k
	kill_worker $k.0
	kill_worker $k.1
	ev netns-delete
	ns_up $k || { violation "recreating netns st$k failed"; return; }
	ev netns-recreate
	start_worker $k.0
	start_worker $k.1
}
chaos_mod() {
	local m=cm_portspace
	[ $((RANDOM % 2)) = 0 ] && m=rdma_ns
	if rmmod $m 2>/dev/null; then ev "rmmod-$m"; else ev "rmmod-$m-refused"; fi
	modprobe $m || violation "modprobe $m failed"
}
chaos_rmdir() {
	local p k live
	[ -d $P/c ] || return
	for p in $(cat $P/c/cgroup.procs); do echo "$p" > $P/a/cgroup.procs 2>/dev/null; done
	read_kv $P/c/rdma.current
	live=0
	for k in "${!KV[@]}"; do
		is_count "${k#* }" && live=$((live + KV[$k]))
	done
	if rmdir $P/c 2>/dev/null; then
		if [ "$live" -gt 0 ]; then ev cgroup-rmdir-live-objects; else ev cgroup-rmdir-empty; fi
	else
		ev cgroup-rmdir-refused
		return
	fi
	mkdir $P/c || { violation "mkdir c again failed"; return; }
	unsettle $P/c
}

# Events come in decks: each deck is every kind once (rdma.max rewrites and
# moves twice), shuffled; the loop runs until the time is up and at least one
# deck is through, so that even a short run on a slow host sees each kind.
EVENTS=(chaos_max chaos_max chaos_move chaos_move chaos_kill chaos_link chaos_netns chaos_mod
	chaos_rmdir)
DECK=()
DECKS=0
next_event() {	# sets E to the next event of the deck
	local i j t
	if [ ${#DECK[@]} -eq 0 ]; then
		DECKS=$((DECKS + 1))
		DECK=("${EVENTS[@]}")
		for ((i = ${#DECK[@]} - 1; i > 0; i--)); do
			j=$((RANDOM % (i + 1)))
			t=${DECK[i]} DECK[i]=${DECK[j]} DECK[j]=$t
		done
	fi
	E=${DECK[0]}
	DECK=("${DECK[@]:1}")
}
T_SETUP=$(( $(now) - T0 ))
# (DECKS counts the decks begun: one is through when the second begins or
# the first is empty.)
while [ "$(now)" -lt "$END" ] || { [ "$DECKS" -le 1 ] && [ ${#DECK[@]} -gt 0 ]; } ||
	[ "$DECKS" = 0 ]; do
	next_event
	"$E"
	sleep 0.$((RANDOM % 10))
	check_all
done

# --- the end ----------------------------------------------------------------
kill "$reader_pid" 2>/dev/null
wait "$reader_pid" 2>/dev/null
reader_pid=
check_all
# The workers stop at SIGTERM, once their round is over; give them 60 s.
for p in "${WPID[@]}"; do kill -TERM "$p" 2>/dev/null; done
t0=$(now)
for id in "${!WPID[@]}"; do
	while kill -0 "${WPID[$id]}" 2>/dev/null && [ $(( $(now) - t0 )) -lt 60 ]; do
		sleep 0.5
	done
	kill -0 "${WPID[$id]}" 2>/dev/null && { violation "worker $id still running 60 s after the end"; kill_worker "$id"; }
done
wait
WPID=()

T_RUN=$(( $(now) - T0 - T_SETUP ))
tap_plan_begin
echo "# setup ${T_SETUP}s, stress ${T_RUN}s (workers stopping included)"
# Figures.
sum=$(cat "$W"/w*.out | grep '^ops=' | tr ' ' '\n' | awk -F= '{ s[$1] += $2 } END {
	n = split("ops ok eagain eperm eaddrnotavail nodev unsupported other rounds abandoned ud_sent ud_recv cm_conn cm_data cm_fail timeouts foreign foreign_stale violations", o, " ")
	for (i = 1; i <= n; i++) printf "%s=%d ", o[i], s[o[i]] }')
echo "# workers: $sum"
echo "# workers, other errors: $(cat "$W"/w*.out | grep '^errno' | tr ' ' '\n' | grep '=' |
	awk -F= '{ s[$1] += $2 } END { for (k in s) printf "%s=%d ", k, s[k] }')"
echo "# chaos events: $(for k in "${!EV[@]}"; do echo -n "$k=${EV[$k]} "; done)"
grep -h VIOLATION "$W"/w*.out | sort | uniq -c | sed 's/^/# worker /'
# Anything else a worker printed (errors of its start, crashes).
grep -hvE '^(ops|errno)|VIOLATION' "$W"/w*.out | sort | uniq -c | head -n 20 | sed 's/^/# worker: /'
wv=$(cat "$W"/w*.out | grep -c VIOLATION)
ops=$(echo "$sum" | tr ' ' '\n' | sed -n 's/^ops=//p')
tap_check "workers: operations done (${ops:-0}), every kind of refusal counted" test "${ops:-0}" -gt 0
tap_check "workers: no violation of the priority or namespace policy, no data altered ($wv)" test "$wv" = 0
foreign=$(echo "$sum" | tr ' ' '\n' | sed -n 's/^foreign=//p')
tap_check "workers: AHs and RTRs from another namespace's GID tried (${foreign:-0})" \
	test "${foreign:-0}" -gt 0
tap_check "chaos: every kind of event happened at least once (${#EV[@]} kinds)" \
	test -n "${EV[rdma.max-rewrite]:-}" -a -n "${EV[task-move]:-}" -a -n "${EV[worker-kill-9]:-}" \
	-a -n "${EV[link-del]:-}" -a -n "${EV[netns-recreate]:-}" -a \
	-n "${EV[cgroup-rmdir-live-objects]:-}${EV[cgroup-rmdir-empty]:-}" -a \
	-n "${EV[rmmod-rdma_ns]:-}${EV[rmmod-rdma_ns-refused]:-}${EV[rmmod-cm_portspace]:-}${EV[rmmod-cm_portspace-refused]:-}"
tap_check "invariants: $CHECKS checks while running and stopping, $VIOL violations" test "$VIOL" = 0

# Every charge returned: usage 0, no SL/UP in use, in every cgroup.
zero=""
for _ in $(seq 60); do
	zero=""
	for cg in $P $P/a $P/b $P/c $Q $Q/d; do
		[ -d $cg ] || continue
		read_kv $cg/rdma.current
		for k in "${!KV[@]}"; do
			v=${KV[$k]}
			if is_count "${k#* }"; then [ "$v" = 0 ] || zero+=" ${cg#$CG/}:$k=$v"
			else [ "$v" = none ] || zero+=" ${cg#$CG/}:$k=$v"; fi
		done
	done
	[ -z "$zero" ] && break
	sleep 0.5
done
tap_check "after the workers: every rdma.current key 0, no SL/UP in use${zero:+ (left:$zero)}" test -z "$zero"
peak=""
for cg in $P $P/a $Q $Q/d; do
	read_kv $cg/rdma.peak
	for k in "${!KV[@]}"; do
		w=${WANT[$cg $k]:-max}
		[ "$w" = max ] || [ "${KV[$k]}" -le "$w" ] || peak+=" ${cg#$CG/}:$k=${KV[$k]}>$w"
	done
done
tap_check "peaks of the cgroups whose limits never changed within their limits${peak:+ ($peak)}" test -z "$peak"
pk=$(grep . $P/rdma.peak $P/a/rdma.peak | sed "s@$CG/@@" | tr '\n' ';')
echo "# peaks: $pk"

# Teardown, then nothing left behind.
for d in "${DEVS[@]}"; do rdma link del "$d"; done
for k in 1 2 3; do ip netns del st$k; done
ip link del st_a0; ip link del st_b0
rmdir $P/a $P/b $P/c $Q/d $P $Q 2>/dev/null
settle() {	# settle <tries> <want> <command>: until its output is <want>
	local n=$1 want=$2 got
	shift 2
	for _ in $(seq "$n"); do
		got=$("$@")
		[ "$got" = "$want" ] && break
		sleep 0.5
	done
	echo "$got"
}
ns=$(settle 120 "$NS0" netns_count)
tap_check "network namespaces: as many as before ($NS0 -> $ns)" test "$ns" = "$NS0"
ref=$(settle 20 "$REF0" refcnts)
tap_check "module reference counts as before ($REF0 -> $ref)" test "$ref" = "$REF0"
if [ -w $KL ]; then
	sleep 5
	kmemleak_objs > /dev/null
	kmemleak_objs > "$W/kl1"
	new=$(comm -13 "$W/kl0" "$W/kl1" | wc -l)
	[ "$new" = 0 ] || grep -A12 -F -f <(comm -13 "$W/kl0" "$W/kl1") $KL | head -n 40 | sed 's/^/# /'
	tap_check "kmemleak: no new unreferenced object ($new)" test "$new" = 0
	echo "# teardown and leak checks: $(( $(now) - T0 - T_SETUP - T_RUN ))s"
else
	tap_skip "kmemleak" "no kmemleak, or RDMAISO_STRESS_KMEMLEAK=0 (make check scans at its end)"
fi
splat=$(dmesg | tail -n +$((DMESG0 + 1)) |
	grep -E 'BUG:|WARNING:|KASAN|lockdep|possible circular|possible recursive|INFO: task .* blocked|rcu.*(stall|detected)|suspicious RCU|Oops|UBSAN' |
	head -n 5)
[ -z "$splat" ] || echo "$splat" | sed 's/^/# /'
tap_check "no KASAN, lockdep, RCU, WARN, BUG or hung-task report" test -z "$splat"
tap_done
