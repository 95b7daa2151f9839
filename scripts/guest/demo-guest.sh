#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demonstration run by `make demo` inside the VM: three applications in
# three containers (a network namespace and a cgroup each) share ONE
# soft-RoCE device, rxe_demo, in shared netns mode, with the rdma cgroup
# controller, rdma_ns and cm_portspace all active:
#
#   app  netns   address      cpu.max        rdma.max
#   A    demo_a  10.61.11.1   10% of a CPU   qp=10  cq=10  up=0-3
#   B    demo_b  10.61.12.1   (none)         qp=50  cq=50
#   C    demo_c  10.61.13.1   30% of a CPU   qp=100 cq=100
#
# Each app listens on rdma_cm port 2000 (0.0.0.0:2000, all at once) and
# answers every connection with its name; clients in a fourth namespace
# connect to each.  Then each app tries to exceed its qp and cq limits, A
# tries to use B's source GID, and A tries a User Priority outside its set;
# each app reads only its own entries of rxe_demo's GID table (rdma_ns).
# A table shows what each app got; the exit status is 0 only if every
# isolation property held, otherwise the failing ones are named
# ("DEMO FAILED: <property>").
#
# Topology: rxe_demo sits on veth dm_v0 in the initial namespace; VLANs
# dm_v0.11/.12/.13 live in demo_a/b/c, so rxe_demo's GID table holds one
# address of each app.  The other veth end, dm_v1, and its VLANs are in
# demo_cli with the clients' rxe device, rxe_cli.  rxe receives RoCE
# (UDP 4791) only in namespaces that hold an rxe netdev, so each app
# namespace also gets a helper rxe_h_<app> on a dummy netdev: it only opens
# that socket; the packets it receives are handed to rxe_demo (the real
# device of the VLAN), and the apps use nothing but rxe_demo.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
BUILD=$REPO/tests/selftests/build
OBJS=$BUILD/rdma_objs
CMP=$BUILD/cm_ports
DEV=rxe_demo
PORT=2000
CG=/sys/fs/cgroup
CGP=$CG/rdmaiso_demo
CLI=demo_cli
APPS="A B C"
declare -A NS=([A]=demo_a [B]=demo_b [C]=demo_c)
declare -A VID=([A]=11 [B]=12 [C]=13)
declare -A CPU=([A]="10000 100000" [B]="max 100000" [C]="30000 100000")
declare -A QPL=([A]=10 [B]=50 [C]=100)
declare -A CQL=([A]=10 [B]=50 [C]=100)
declare -A UPL=([A]=0-3 [B]=max [C]=max)
declare -A CGD SRV SRVJOB GID
for a in $APPS; do CGD[$a]=$CGP/app_${a,,}; done
W=
FAILED=()
LOADED=
SUBTREE0=-

say() { printf '\n== %s  [%ss]\n' "$*" "$SECONDS"; }
# A property that did not hold: remembered, reported at the end.
bad() { FAILED+=("$*"); echo "   FAILED: $*"; }
# A set-up step that failed: nothing else can be shown.
die() {
	echo "DEMO FAILED: setup: $*"
	exit 1
}

cleanup() {
	local a
	trap - EXIT
	for a in $APPS; do
		[ -e "${CGD[$a]}/cgroup.kill" ] && echo 1 >"${CGD[$a]}/cgroup.kill"
	done 2>/dev/null
	# shellcheck disable=SC2046
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	rdma -force -batch - >/dev/null 2>&1 <<-EOF
		link delete $DEV
		link delete rxe_cli
		link delete rxe_h_a
		link delete rxe_h_b
		link delete rxe_h_c
	EOF
	ip -force -batch - >/dev/null 2>&1 <<-EOF
		link delete dm_v0
		netns delete ${NS[A]}
		netns delete ${NS[B]}
		netns delete ${NS[C]}
		netns delete $CLI
	EOF
	rmdir "${CGD[@]}" "$CGP" 2>/dev/null
	[ "$SUBTREE0" != - ] && [[ " $SUBTREE0 " != *" cpu "* ]] &&
		echo -cpu >$CG/cgroup.subtree_control 2>/dev/null
	# shellcheck disable=SC2086
	[ -n "$LOADED" ] && rmmod $LOADED 2>/dev/null
	[ -n "$W" ] && rm -rf "$W"
	return 0
}

# Waiting helpers that start no process (process start-up is slow under
# TCG): rdmaiso_nap, rdmaiso_has, rdmaiso_waitfor (scripts/guest/rdmaiso-lib.sh).

# kv <file> <key>: the value of <key> on $DEV's line of an rdma.* file, or "?".
kv() { rdmaiso_val "$1" "$DEV" "$2" || { echo "?"; return 1; }; }

# keys <file> <key...>: "k1=v1 k2=v2 ..." from $DEV's line of an rdma.* file.
keys() {
	local f=$1 k out=
	shift
	for k; do out+="$k=$(kv "$f" "$k") "; done
	echo "${out% }"
}

# field <file> <n>: word <n> (from 1) of the first line of a file.
field() {
	local -a w
	read -r -a w <"$1" || true
	echo "${w[$(($2 - 1))]:-?}"
}

# res <file>: "created errno" from an rdma_objs output file ("? ?" if none).
res() {
	local l c='' e=''
	while IFS= read -r l; do
		[[ $l == created=* ]] || continue
		c=${l#created=}; c=${c%% *}; e=${l##*errno=}
	done <"$1"
	echo "${c:-?} ${e:-?}"
}

ename() {
	case $1 in
	0) echo ok ;; 1) echo EPERM ;; 11) echo EAGAIN ;; 99) echo EADDRNOTAVAIL ;;
	*) echo "errno $1" ;;
	esac
}

# The command that moves itself into the cgroup open on fd 9 and then
# becomes the program: only the program runs under the app's cpu.max (not
# `ip netns exec` nor sh).  Used as: ip netns exec NS sh -c "$INCG" - PROG ARGS 9>CG/cgroup.procs
# shellcheck disable=SC2016
INCG='echo $$ >&9 && exec "$@" 9>&-'

# in_app <app> <program> <args...>: run a program in the app's netns and cgroup.
in_app() {
	local a=$1
	shift
	ip netns exec "${NS[$a]}" sh -c "$INCG" - "$@" 9>"${CGD[$a]}/cgroup.procs"
}

# gids: "<netdev> <index>" for each IPv4 RoCE v2 GID of $DEV (one grep and
# one awk; the GIDs of new addresses appear asynchronously).  The table has
# 1024 entries; the few addresses here take the first free ones.
gids() {
	local d=/sys/class/infiniband/$DEV/ports/1
	grep -H . $d/gid_attrs/ndevs/{0..63} $d/gid_attrs/types/{0..63} $d/gids/{0..63} 2>/dev/null |
	awk '{ f = $0; sub(/:.*/, "", f); v = substr($0, length(f) + 2)
	       n = split(f, p, "/"); i = p[n]; k = p[n - 1] }
	     k == "ndevs" { nd[i] = v }
	     k == "types" && v == "RoCE v2" { t[i] = 1 }
	     k == "gids" && v ~ /^0000:0000:0000:0000:0000:ffff:/ { g[i] = 1 }
	     END { for (i in nd) if (t[i] && g[i]) print nd[i], i }'
}

# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (in the VM: make demo)"
mountpoint -q $CG || mount -t cgroup2 none $CG || die "cannot mount cgroup2"
grep -qw rdma $CG/cgroup.controllers || die "no rdma cgroup controller in this kernel"
grep -qw cpu $CG/cgroup.controllers || die "no cpu cgroup controller in this kernel"
# Stale state of an interrupted run.
cleanup
trap cleanup EXIT
if [ ! -x "$OBJS" ] || [ ! -x "$CMP" ] ||
   [ "$REPO/tests/selftests/rdma_objs.c" -nt "$OBJS" ] ||
   [ "$REPO/tests/selftests/cm_ports.c" -nt "$CMP" ]; then
	echo "building the selftest helpers (make -C tests/selftests)"
	make -s -C "$REPO/tests/selftests" >/dev/null || die "cannot build rdma_objs and cm_ports"
fi
W=$(mktemp -d /tmp/rdmaiso-demo.XXXXXX) || die "mktemp"
# The servers' stdin: a fifo that nobody writes (they serve until killed).
mkfifo "$W/idle" || die "mkfifo"
# udevd spends most of the emulated CPU on the uevents of rxe devices; the
# demo needs none of it (devtmpfs makes the device nodes).
udevadm control --exit 2>/dev/null

say "set-up: modules, namespaces, one shared rxe device, cgroups"
for m in rdma_ns cm_portspace; do
	[ -d /sys/module/$m ] || LOADED="$m $LOADED"
done
modprobe -a rdma_rxe rdma_ucm 8021q dummy || die "modprobe rdma_rxe rdma_ucm 8021q dummy"
modprobe rdma_ns || die "modprobe rdma_ns"
modprobe cm_portspace || die "modprobe cm_portspace"
mode=$(rdma system show netns 2>&1)
[[ $mode == *"netns shared"* ]] || die "RDMA netns mode is not shared ($mode)"
echo "   loaded: rdma_rxe, rdma_ns, cm_portspace; RDMA $mode  [${SECONDS}s]"

for n in "${NS[@]}" $CLI; do ip netns add "$n" || die "ip netns add $n"; done
{
	echo "link add dm_v0 type veth peer name dm_v1"
	echo "link set dm_v1 netns $CLI"
	echo "link set dm_v0 up"
	for a in $APPS; do
		v=${VID[$a]}
		echo "link add link dm_v0 name dm_v0.$v type vlan id $v"
		echo "link set dm_v0.$v netns ${NS[$a]}"
		echo "link add dm_h_${a,,} type dummy"
		echo "link set dm_h_${a,,} netns ${NS[$a]}"
	done
} | ip -batch - || die "veth, VLANs and dummies"
for a in $APPS; do
	v=${VID[$a]}
	ip -n "${NS[$a]}" -batch - <<-EOF || die "addresses in ${NS[$a]}"
		link set lo up
		addr add 10.61.$v.1/24 dev dm_v0.$v
		link set dm_v0.$v up
		link set dm_h_${a,,} up
	EOF
done
{
	echo "link set lo up"
	echo "link set dm_v1 up"
	for a in $APPS; do
		v=${VID[$a]}
		echo "link add link dm_v1 name dm_v1.$v type vlan id $v"
		echo "addr add 10.61.$v.2/24 dev dm_v1.$v"
		echo "link set dm_v1.$v up"
	done
} | ip -n $CLI -batch - || die "client VLANs"
rdma link add $DEV type rxe netdev dm_v0 || die "rdma link add $DEV"
ip netns exec $CLI rdma link add rxe_cli type rxe netdev dm_v1 || die "rdma link add rxe_cli"
for a in $APPS; do
	ip netns exec "${NS[$a]}" rdma link add "rxe_h_${a,,}" type rxe netdev "dm_h_${a,,}" ||
		die "rdma link add rxe_h_${a,,}"
done

# The GID index of each app's address in rxe_demo's one table.
for ((try = 0; try < 50; try++)); do
	while read -r nd idx; do
		for a in $APPS; do [ "$nd" = "dm_v0.${VID[$a]}" ] && GID[$a]=$idx; done
	done < <(gids)
	[ -n "${GID[A]:-}" ] && [ -n "${GID[B]:-}" ] && [ -n "${GID[C]:-}" ] && break
	rdmaiso_nap 0.2
done
[ -n "${GID[A]:-}" ] && [ -n "${GID[B]:-}" ] && [ -n "${GID[C]:-}" ] ||
	die "$DEV has no GID for the VLANs of the apps"

SUBTREE0=$(<$CG/cgroup.subtree_control)
echo "+cpu +rdma" >$CG/cgroup.subtree_control || die "enabling cpu and rdma in $CG"
mkdir "$CGP" && echo "+cpu +rdma" >"$CGP/cgroup.subtree_control" || die "cgroup $CGP"
for a in $APPS; do
	mkdir "${CGD[$a]}" || die "mkdir ${CGD[$a]}"
	echo "${CPU[$a]}" >"${CGD[$a]}/cpu.max" || die "cpu.max of app $a"
	echo "$DEV qp=${QPL[$a]} cq=${CQL[$a]} up=${UPL[$a]}" >"${CGD[$a]}/rdma.max" ||
		die "rdma.max of app $a"
done
for a in $APPS; do
	printf '   app %s: netns %s, VLAN dm_v0.%s 10.61.%s.1 = %s GID index %s, cgroup %s\n' \
		"$a" "${NS[$a]}" "${VID[$a]}" "${VID[$a]}" $DEV "${GID[$a]}" "${CGD[$a]#$CG}"
done

# ---------------------------------------------------------------------------
say "1. every app listens on rdma_cm port $PORT (0.0.0.0:$PORT in its namespace)"
for a in $APPS; do
	ip netns exec "${NS[$a]}" sh -c "$INCG" - "$CMP" serve 0.0.0.0 $PORT "app-$a" \
		9>"${CGD[$a]}/cgroup.procs" <>"$W/idle" >"$W/srv.$a" 2>&1 &
	SRVJOB[$a]=$!
done
files=()
for a in $APPS; do files+=("$W/srv.$a"); done
rdmaiso_waitfor 120 listening "${files[@]}" || true
for a in $APPS; do
	if rdmaiso_has "$W/srv.$a" listening; then
		read -r "SRV[$a]" <"${CGD[$a]}/cgroup.procs"
		echo "   app $a: listening on 0.0.0.0:$PORT (pid ${SRV[$a]})"
	else
		SRV[$a]=
		bad "app $a listens on port $PORT ($(tr '\n' ' ' <"$W/srv.$a"))"
	fi
done
# The port is taken inside A's namespace: a second wildcard bind conflicts.
dup=$(ip netns exec "${NS[A]}" "$CMP" bind 0.0.0.0 $PORT </dev/null 2>&1)
echo "   a second bind of 0.0.0.0:$PORT in ${NS[A]}: $dup"
[ "$dup" = "err EADDRNOTAVAIL" ] ||
	bad "port $PORT is taken within ${NS[A]} (a second wildcard bind gave '$dup')"

# ---------------------------------------------------------------------------
say "2. clients (in $CLI, over rxe_cli) connect to each app twice"
pids=()
for a in $APPS; do
	for k in 1 2; do
		ip netns exec $CLI "$CMP" connect -t 60 "10.61.${VID[$a]}.1" $PORT \
			>"$W/cli.$a.$k" 2>&1 &
		pids+=($!)
	done
done
wait "${pids[@]}"
for a in $APPS; do
	for k in 1 2; do
		r=$(<"$W/cli.$a.$k")
		echo "   client -> 10.61.${VID[$a]}.1:$PORT: $r"
		[ "$r" = "reply app-$a" ] ||
			bad "connection $k to app $a answered by app $a (got '${r//$'\n'/ }')"
	done
done

# The servers release each connection when the client disconnects.
for a in $APPS; do
	for ((try = 0; try < 150; try++)); do
		[ "$(kv "${CGD[$a]}/rdma.current" qp)/$(kv "${CGD[$a]}/rdma.current" cq)" = 0/0 ] &&
			break
		rdmaiso_nap 0.2
	done
done

# ---------------------------------------------------------------------------
# limit_round <qp|cq> <assoc array of limits>: every app at once creates one
# object more than its limit and holds what it got; the usage is read while
# all hold, then they are stopped.
declare -A HELD_QP HELD_CQ
limit_round() {
	local ty=$1 a n files=() held
	declare -n lim=$2
	declare -A pid
	for a in $APPS; do
		n=$((lim[$a] + 1))
		ip netns exec "${NS[$a]}" sh -c "$INCG" - "$OBJS" $DEV "$ty" $n 600 \
			9>"${CGD[$a]}/cgroup.procs" >"$W/$ty.$a" 2>&1 &
		pid[$a]=$!
		files+=("$W/$ty.$a")
	done
	rdmaiso_waitfor 300 created= "${files[@]}" || true
	for a in $APPS; do
		held=$(kv "${CGD[$a]}/rdma.current" "$ty")
		if [ "$ty" = qp ]; then HELD_QP[$a]=$held; else HELD_CQ[$a]=$held; fi
	done
	kill "${pid[@]}" 2>/dev/null
	wait "${pid[@]}" 2>/dev/null
	for a in $APPS; do
		read -r c e < <(res "$W/$ty.$a")
		if [ "$ty" = qp ]; then held=${HELD_QP[$a]}; else held=${HELD_CQ[$a]}; fi
		printf '   app %s: %s %s objects of limit %s: created %s, then %s; held while all held: %s\n' \
			"$a" "$((lim[$a] + 1))" "$ty" "${lim[$a]}" "$c" "$(ename "$e")" "$held"
		[ "$c $e" = "${lim[$a]} 11" ] ||
			bad "app $a refused at exactly its $ty limit ${lim[$a]} with EAGAIN (created=$c errno=$e)"
		[ "$held" = "${lim[$a]}" ] ||
			bad "app $a holds ${lim[$a]} ${ty}s while the others hold theirs (rdma.current $ty=$held)"
	done
}

say "3. every app, at the same time, tries one QP more than its limit"
limit_round qp QPL
say "4. every app, at the same time, tries one CQ more than its limit"
limit_round cq CQL

# ---------------------------------------------------------------------------
say "5. A tries B's source GID; A and B try User Priorities"
pids=()
# (A runs at 10% of a CPU: its own-GID and allowed-UP controls are one AH.)
for p in "A ah:0:${GID[B]} gidb_ah" "A qprtr:0:${GID[B]} gidb_qp" \
	 "A ah:5:${GID[A]} up5" "A ah:2:${GID[A]} own" "B ah:5:${GID[B]} up5" \
	 "A ah:0:${GID[A]}:0xb8 dscp46"; do
	read -r a ty tag <<<"$p"
	in_app "$a" "$OBJS" $DEV "$ty" 1 >"$W/probe.$a.$tag" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
pr() {
	local c e
	read -r c e < <(res "$W/probe.$1.$2")
	echo "$e"
}
# expect_probe <var> <app> <probe> <errno wanted> <what was tried> <property>:
# show a probe's result, keep it in <var>, and name the property if it failed.
expect_probe() {
	local e
	e=$(pr "$2" "$3")
	echo "   $2: $5: $(ename "$e")"
	[ "$e" = "$4" ] || bad "$6 ($(ename "$4") expected, got $(ename "$e"))"
	printf -v "$1" '%s' "$e"
}
expect_probe GIDB_AH A gidb_ah 99 "AH with B's GID (index ${GID[B]})" \
	"A cannot make an AH with B's GID"
expect_probe GIDB_QP A gidb_qp 99 "QP to RTR with B's GID" \
	"A cannot take a QP to RTR with B's GID"
expect_probe OWN_A A own 0 "AH with its own GID (index ${GID[A]}) and UP 2" \
	"A may use its own GID with an allowed UP"
expect_probe UP5_A A up5 1 "AH with its own GID and SL 5 = UP 5 (allowed: ${UPL[A]})" \
	"UP 5 is refused to A"
expect_probe UP5_B B up5 0 "AH with UP 5 (no UP restriction)" "UP 5 is allowed to B"
expect_probe DSCP_A A dscp46 1 "AH with SL 0 but traffic class 0xb8 (DSCP 46 = UP 5 on the wire)" \
	"A cannot reach UP 5 through the traffic class either"

# ---------------------------------------------------------------------------
# What each namespace sees, read through the servers' /proc/<pid>/net.
declare -A LISTEN NSDENIED SERVED
for a in $APPS; do
	LISTEN[$a]="none" NSDENIED[$a]="?"
	[ -n "${SRV[$a]}" ] || continue
	n=0 who=
	while read -r ps port state _ _ pid _; do
		[ "$ps $port $state" = "TCP $PORT LISTEN" ] && { n=$((n + 1)); who+="$pid "; }
	done <"/proc/${SRV[$a]}/net/rdma_cm_ports"
	LISTEN[$a]="$n (pid ${who% })"
	[ "$n/${who% }" = "1/${SRV[$a]}" ] ||
		bad "${NS[$a]}'s /proc/net/rdma_cm_ports lists app $a's listener only (LISTEN on $PORT: ${LISTEN[$a]})"
	NSDENIED[$a]=$(field "/proc/${SRV[$a]}/net/rdma_ns" 4)
done
[ "${NSDENIED[A]}/${NSDENIED[B]}/${NSDENIED[C]}" = 2/0/0 ] ||
	bad "rdma_ns counts A's two refusals in A's namespace only (denied A/B/C: ${NSDENIED[A]}/${NSDENIED[B]}/${NSDENIED[C]})"

# Stop the servers (the kernel releases what they hold); count what they served.
for a in $APPS; do [ -n "${SRV[$a]}" ] && kill "${SRV[$a]}" 2>/dev/null; done
wait "${SRVJOB[@]}" 2>/dev/null
for a in $APPS; do
	SERVED[$a]=0
	while read -r w n; do [ "$w" = served ] && SERVED[$a]=$n; done <"$W/srv.$a"
	[ "${SERVED[$a]}" = 2 ] || bad "app $a served its 2 connections (served ${SERVED[$a]})"
done

# The cgroups' own account.
declare -A CUR PEAK EV THR
for a in $APPS; do
	d=${CGD[$a]}
	CUR[$a]=$(keys "$d/rdma.current" qp cq up)
	PEAK[$a]=$(keys "$d/rdma.peak" qp cq)
	EV[$a]=$(keys "$d/rdma.events" qp.max cq.max up.denied)
	THR[$a]="?"
	while read -r k v; do [ "$k" = nr_throttled ] && THR[$a]=$v; done <"$d/cpu.stat"
	[ "$(<"$d/cpu.max")" = "${CPU[$a]}" ] || bad "cpu.max of app $a is ${CPU[$a]}"
	[ "${CUR[$a]}" = "qp=0 cq=0 up=none" ] ||
		bad "app $a's objects are all released at the end (rdma.current ${CUR[$a]})"
	[ "${PEAK[$a]}" = "qp=${QPL[$a]} cq=${CQL[$a]}" ] ||
		bad "app $a's rdma.peak is its limits (${PEAK[$a]})"
	up=0
	[ "$a" = A ] && up=2
	[ "${EV[$a]}" = "qp.max=1 cq.max=1 up.denied=$up" ] ||
		bad "app $a's rdma.events count its refusals (${EV[$a]})"
done

# The GID view (rdma_ns): each app reads in sysfs only the GID entries of its
# own VLAN; the host reads all of them.
# (The first 64 entries of rxe's 1024.)
declare -A GIDS
vis() {	# vis <ns|->: the indexes of the non-zero GIDs that <ns> reads
	rdmaiso_gid_entries "$1" /sys/class/infiniband/$DEV/ports/1/gids 64 |
		awk '$2 != "0000:0000:0000:0000:0000:0000:0000:0000" { print $1 }' | sort -n | xargs
}
ALLG=$(vis -)
for a in $APPS; do
	GIDS[$a]=$(vis "${NS[$a]}")
	want=$(rdmaiso_gid_entries - /sys/class/infiniband/$DEV/ports/1/gid_attrs/ndevs 64 |
		awk -v nd="dm_v0.${VID[$a]}" '$2 == nd { print $1 }' | sort -n | xargs)
	[ -n "$want" ] && [ "${GIDS[$a]}" = "$want" ] ||
		bad "app $a reads the GID entries of its own VLAN only (${GIDS[$a]}, want $want)"
done
echo "   GID entries the host reads: $ALLG"

# ---------------------------------------------------------------------------
say "summary: one device ($DEV), three apps"
row() { printf '%-24s %-22s %-22s %s\n' "$@"; }
row "" "app A" "app B" "app C"
row "netns / address" "${NS[A]} 10.61.${VID[A]}.1" "${NS[B]} 10.61.${VID[B]}.1" "${NS[C]} 10.61.${VID[C]}.1"
row "$DEV GID index" "${GID[A]}" "${GID[B]}" "${GID[C]}"
row "GIDs visible (of $(wc -w <<<"$ALLG"))" "${GIDS[A]}" "${GIDS[B]}" "${GIDS[C]}"
row "cpu.max" "${CPU[A]}" "${CPU[B]}" "${CPU[C]}"
row "  periods throttled" "${THR[A]}" "${THR[B]}" "${THR[C]}"
row "rdma.max" "qp=${QPL[A]} cq=${CQL[A]} up=${UPL[A]}" "qp=${QPL[B]} cq=${CQL[B]}" "qp=${QPL[C]} cq=${CQL[C]}"
row "port $PORT listeners" "${LISTEN[A]}" "${LISTEN[B]}" "${LISTEN[C]}"
row "connections served" "${SERVED[A]}" "${SERVED[B]}" "${SERVED[C]}"
declare -A REFUSED=([A]=0 [B]=0 [C]=0)
for ty in qp cq; do
	cells=()
	for a in $APPS; do
		read -r c e < <(res "$W/$ty.$a")
		cells+=("$c, #$((c + 1)): $(ename "$e")")
		[ "$e" = 0 ] || REFUSED[$a]=$((REFUSED[$a] + 1))
	done
	row "$ty: created, next" "${cells[@]}"
done
for e in "$GIDB_AH" "$GIDB_QP" "$UP5_A" "$DSCP_A"; do [ "$e" = 0 ] || REFUSED[A]=$((REFUSED[A] + 1)); done
[ "$UP5_B" = 0 ] || REFUSED[B]=$((REFUSED[B] + 1))
row "qp / cq held at once" "${HELD_QP[A]} / ${HELD_CQ[A]}" "${HELD_QP[B]} / ${HELD_CQ[B]}" "${HELD_QP[C]} / ${HELD_CQ[C]}"
row "refusals seen" "${REFUSED[A]}" "${REFUSED[B]}" "${REFUSED[C]}"
row "B's GID: AH" "$(ename "$GIDB_AH")" "-" "-"
row "B's GID: QP to RTR" "$(ename "$GIDB_QP")" "-" "-"
row "own GID, UP 2: AH" "$(ename "$OWN_A")" "-" "-"
row "own GID, UP 5: AH" "$(ename "$UP5_A")" "$(ename "$UP5_B")" "-"
row "SL 0, DSCP 46 (UP 5): AH" "$(ename "$DSCP_A")" "-" "-"
row "rdma.current (end)" "${CUR[A]}" "${CUR[B]}" "${CUR[C]}"
row "rdma.peak" "${PEAK[A]}" "${PEAK[B]}" "${PEAK[C]}"
row "rdma.events" "${EV[A]% up.denied=*}" "${EV[B]% up.denied=*}" "${EV[C]% up.denied=*}"
row "" "up.denied=${EV[A]##*=}" "up.denied=${EV[B]##*=}" "up.denied=${EV[C]##*=}"
row "rdma_ns denied" "${NSDENIED[A]}" "${NSDENIED[B]}" "${NSDENIED[C]}"
echo

if [ ${#FAILED[@]} -gt 0 ]; then
	for f in "${FAILED[@]}"; do echo "DEMO FAILED: $f"; done
	exit 1
fi
echo "DEMO PASSED: one rxe device, three apps on port $PORT each, every limit enforced at"
echo "exactly its value, no app could use or see another's GID, A's User Priorities confined"
exit 0
