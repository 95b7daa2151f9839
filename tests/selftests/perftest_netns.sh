#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An outside check: perftest and rdmacm-utils, run as users run them, between
# two containers that share one rxe device, with rdma_ns and cm_portspace
# loaded and every resource of both containers limited by the rdma cgroup.
#
#   pt_a (cgroup rdmaiso_pt/a)         pt_b (cgroup rdmaiso_pt/b)
#   pt_v0.10  10.61.0.1/24             pt_v0.20  10.62.0.1/24
#           \______ rxe_pt on veth pt_v0 ______/
#                          |
#   initial netns: pt_v1.10 10.61.0.254, pt_v1.20 10.62.0.254, forwarding
#
# The two VLANs of pt_v0 put an address of each container in rxe_pt's GID
# table; their traffic leaves through the veth and comes back routed by the
# initial namespace, as between two containers on one NIC behind a router
# (not a namespace of its own: every namespace costs a copy of every RDMA
# device's sysfs tree in shared mode, seconds under TCG).  rxe receives only
# in the namespaces of its devices' netdevs (a hardware NIC has no such
# limit), so a second rxe device on a dummy netdev in each container opens
# rxe's UDP port there; all traffic runs on rxe_pt.
#
# Checked: ib_write_bw and ib_send_bw over rdma_cm (-R), ib_read_lat and
# ib_write_bw with explicit GID indexes (-x) complete and move data (rxe_pt's
# packet counters, read with `rdma stat` from the initial namespace, go up);
# ib_write_bw with the GID index of the other container fails in perftest
# (the entry reads as empty) or, with gid_view=0, is refused with perftest's
# error and rdma_ns's reason in the kernel log; rping (data
# verified), ucmatose and udaddy (UD over rdma_cm) complete; `rdma res`
# from the initial namespace lists a container's listener; both cgroups were
# charged (peaks) and are back to 0.  With rdma_ns's GID view, the first
# RoCE v2 IPv4 GID that each container finds by scanning its GID table is its
# own, and ib_write_bw connects with those.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
CG=/sys/fs/cgroup
T=$CG/rdmaiso_pt
DEV=rxe_pt
SRV=10.62.0.1

skip() { echo "SKIP: $*"; exit "$KSFT_SKIP"; }
for c in ib_write_bw ib_send_bw ib_read_lat rping ucmatose udaddy rdma ss; do
	command -v $c >/dev/null || skip "$c not installed (perftest, rdmacm-utils, iproute2)"
done
modinfo rdma_ns >/dev/null 2>&1 && modinfo cm_portspace >/dev/null 2>&1 ||
	skip "no rdma_ns or cm_portspace module"
modprobe 8021q 2>/dev/null || skip "no 802.1Q VLAN support"
mountpoint -q $CG || mount -t cgroup2 none $CG
grep -qw rdma $CG/cgroup.controllers || skip "no rdma controller"

W=
cleanup() {
	local p
	for p in $(cat $T/a/cgroup.procs $T/b/cgroup.procs 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for d in $DEV rxe_pt_sa rxe_pt_sb; do rdma link del $d 2>/dev/null; done
	ip link del pt_v0 2>/dev/null
	rdmaiso_cleanup pt_a pt_b
	[ -n "${FWD:-}" ] && sysctl -qw net.ipv4.ip_forward="$FWD"
	rmdir $T/a $T/b $T 2>/dev/null
	rmmod cm_portspace rdma_ns 2>/dev/null
	[ -n "$W" ] && rm -rf "$W"
}
trap cleanup EXIT
cleanup
W=$(mktemp -d /tmp/rdmaiso-pt.XXXXXX) || exit 1

# --- topology, modules, cgroups ----------------------------------------------
modprobe rdma_ns && modprobe cm_portspace || exit 1
rdmaiso_two_containers pt 61 62 || exit 1
FWD=$(sysctl -n net.ipv4.ip_forward) && sysctl -qw net.ipv4.ip_forward=1 || exit 1
GA=$(rdmaiso_gid $DEV pt_v0.10) && GB=$(rdmaiso_gid $DEV pt_v0.20) ||
	{ echo "no GIDs of the containers in $DEV"; exit 1; }
echo "# $DEV GID indexes: pt_a $GA, pt_b $GB"

LIM="hca_handle=4 hca_object=200 pd=16 cq=32 qp=32 srq=8 mr=32 mw=8 ah=32 cm_id=16 mr_bytes=268435456 up=0-3"
echo +rdma > $CG/cgroup.subtree_control && mkdir -p $T &&
	echo +rdma > $T/cgroup.subtree_control && mkdir -p $T/a $T/b &&
	echo "$DEV $LIM" > $T/a/rdma.max && echo "$DEV $LIM" > $T/b/rdma.max || exit 1

# inside <a|b> <command...>: run a command in container pt_<a|b> (its netns and
# its cgroup), at most 120 s.
inside() {
	local c=$1
	shift
	(echo $BASHPID > $T/$c/cgroup.procs && exec ip netns exec pt_$c timeout 120 "$@")
}

# listening <port>: wait until pt_b listens on <port> (TCP, or an rdma_cm ID
# in /proc/net/rdma_cm_ports), at most 60 s.
listening() {
	for _ in $(seq 300); do
		[ -n "$(ip netns exec pt_b ss -Hltn "sport = :$1")" ] && return 0
		ip netns exec pt_b awk -v p="$1" '$2 == p && $3 == "LISTEN" { f = 1 } END { exit !f }' \
			/proc/net/rdma_cm_ports && return 0
		rdmaiso_nap 0.2
	done
	return 1
}

# pkts: rxe_pt's sent and received packets, read with `rdma stat` from the
# initial namespace.
pkts() {
	rdma statistic show link $DEV/1 | awk '{ for (i = 1; i < NF; i++)
		if ($i == "sent_pkts" || $i == "rcvd_pkts") s += $(i + 1) } END { print s + 0 }'
}

# pair <label> <port> "<server command>" "<client command>" [<command>]: the
# server in pt_b, then (and, if given, <command> once it listens) the client
# in pt_a; SRC and CRC their exit statuses, MOVED the packets rxe_pt sent and
# received meanwhile; $W/<label>.{srv,cli} the output.
pair() {
	local label=$1 port=$2 spid p0
	p0=$(pkts)
	# shellcheck disable=SC2086 # the commands are word lists
	inside b $3 >"$W/$label.srv" 2>&1 &
	spid=$!
	if listening "$port"; then
		[ -n "${5:-}" ] && eval "$5"
		# shellcheck disable=SC2086
		inside a $4 >"$W/$label.cli" 2>&1
		CRC=$?
	else
		echo "pt_b never listened on port $port" >"$W/$label.cli"
		CRC=255
	fi
	timeout 60 tail --pid=$spid -f /dev/null
	kill $spid 2>/dev/null
	wait $spid
	SRC=$?
	MOVED=$(($(pkts) - p0))
}

# report <label> <description> <test>: a TAP line; on failure, both outputs.
report() {
	local label=$1 what=$2
	shift 2
	if "$@"; then
		tap_ok "$what"
	else
		tap_fail "$what"
		for s in srv cli; do sed "s/^/#   $label.$s: /" "$W/$label.$s" | tail -n 25; done
	fi
}

# bw_ok <file>: perftest's result line ("#bytes #iterations ...") has a
# positive number in its fourth column (peak bandwidth or t_max).
bw_ok() {
	awk '/^ *#bytes/ { h = 1; next } h && NF >= 4 && $1 ~ /^[0-9]+$/ && $4 + 0 > 0 { f = 1 }
	     END { exit !f }' "$1"
}
both_ok() { [ "$SRC" = 0 ] && [ "$CRC" = 0 ] && [ "$MOVED" -ge "$1" ]; }

tap_plan_begin
tap_check "rdma stat from the initial namespace shows $DEV's packet counters" \
	sh -c "rdma statistic show link $DEV/1 | grep -q ' sent_pkts [0-9]* .*rcvd_pkts '"

# --- perftest ----------------------------------------------------------------
# Each tool over rdma_cm (-R) and with each side's own GID index (-x): 20
# iterations of 4 KiB (rxe under TCG is slow), at least one packet each.
PT="-d $DEV -F -n 20 -s 4096"
for tool in ib_write_bw ib_read_lat ib_send_bw; do
	pair "$tool.R" 18515 "$tool $PT -R" "$tool $PT -R $SRV"
	report "$tool.R" "$tool -R (rdma_cm) pt_a -> pt_b: both exit 0, a result reported, $MOVED packets on $DEV" \
		eval 'both_ok 20 && bw_ok "$W/$tool.R.cli"'
	pair "$tool.x" 18515 "$tool $PT -x $GB" "$tool $PT -x $GA $SRV"
	report "$tool.x" "$tool -x (own GID indexes $GA / $GB) pt_a -> pt_b: both exit 0, a result reported, $MOVED packets on $DEV" \
		eval 'both_ok 20 && bw_ok "$W/$tool.x.cli"'
done

# The GID view: with no index given, a scan for the first RoCE v2 IPv4 GID
# (gid_view.py, as NCCL picks one) finds each container's own, and connects.
SA=$(ip netns exec pt_a /usr/bin/python3 "$DIR/gid_view.py" $DEV | sed -n 's/.* first //p')
SB=$(ip netns exec pt_b /usr/bin/python3 "$DIR/gid_view.py" $DEV | sed -n 's/.* first //p')
pair sel 18515 "ib_write_bw $PT -x $SB" "ib_write_bw $PT -x $SA $SRV"
report sel "ib_write_bw with the GIDs each container's scan picks ($SA / $SB; own: $GA / $GB): both exit 0, a result reported, $MOVED packets on $DEV" \
	eval '[ "$SA/$SB" = "$GA/$GB" ] && both_ok 20 && bw_ok "$W/sel.cli"'

# pt_a names pt_b's GID index.  With the GID view, the entry reads as empty
# in pt_a, so perftest gives up before the kernel is asked: nothing reaches
# rdma_ns.
m=$(dmesg | wc -l)
pair hidden 18515 "ib_write_bw $PT -x $GB" "ib_write_bw $PT -x $GB $SRV"
report hidden "ib_write_bw -x $GB (pt_b's GID) from pt_a with the GID view: the entry reads as empty, perftest fails (client exit $CRC), nothing reaches rdma_ns" \
	eval '[ "$CRC" != 0 ] && grep -qi "GID types" "$W/hidden.cli" &&
	      ! dmesg | tail -n +$((m + 1)) | grep -q "rdma_ns: refused $DEV port 1 GID index $GB "'
# Without the view (gid_view=0) pt_a reads pt_b's GID, and rdma_ns refuses
# the QP's move to RTR.
rmmod rdma_ns && modprobe rdma_ns gid_view=0 || exit 1
m=$(dmesg | wc -l)
pair foreign 18515 "ib_write_bw $PT -x $GB" "ib_write_bw $PT -x $GB $SRV"
report foreign "ib_write_bw -x $GB (pt_b's GID) from pt_a: refused, perftest says it cannot move its QP to RTR (client exit $CRC)" \
	eval '[ "$CRC" != 0 ] && grep -qi "RTR" "$W/foreign.cli"'
tap_check "... and the kernel log says why (rdma_ns: refused $DEV port 1 GID index $GB ... ib_write_bw)" \
	sh -c "dmesg | tail -n +$((m + 1)) | grep -q 'rdma_ns: refused $DEV port 1 GID index $GB (netdev pt_v0.20 in net:\[[0-9]*\]) for qp of net:\[[0-9]*\] (pid [1-9][0-9]* ib_write_bw)'"
rmmod rdma_ns && modprobe rdma_ns || exit 1

# --- rdmacm-utils --------------------------------------------------------------
pair rping 7174 "rping -s -a $SRV -C 20 -S 128 -V" "rping -c -a $SRV -C 20 -S 128 -V -v"
report rping "rping pt_a -> pt_b: 20 pings, data verified, both exit 0 ($MOVED packets)" \
	eval 'both_ok 20 && [ "$(grep -c "ping data: rdma-ping-" "$W/rping.cli")" = 20 ]'

pair ucm 7471 "ucmatose -b $SRV -c 2 -C 10" "ucmatose -s $SRV -c 2 -C 10" \
	'rdma res show cm_id >"$W/res" 2>&1'
tap_check "rdma res show cm_id from the initial namespace lists pt_b's listener on $SRV:7471" \
	grep -q "$DEV/1 .*state LISTEN .*src-addr $SRV:7471" "$W/res"
report ucm "ucmatose pt_a -> pt_b: 2 connections, 10 messages each, both exit 0 ($MOVED packets)" \
	eval 'both_ok 40 && grep -q "return status 0" "$W/ucm.cli"'

pair udaddy 7174 "udaddy -b $SRV -c 2 -C 10" "udaddy -s $SRV -c 2 -C 10"
report udaddy "udaddy (UD over rdma_cm) pt_a -> pt_b: 2 endpoints, 10 messages each, both exit 0 ($MOVED packets)" \
	eval 'both_ok 20 && grep -q "return status 0" "$W/udaddy.cli"'

tap_check "rdma res show from the initial namespace still works afterwards" \
	sh -c "rdma res show | grep -q '^[0-9]*: $DEV:'"

# --- the containers were charged, and are back to 0 ---------------------------
# peaked <line>: its qp, cm_id and mr_bytes are positive
peaked() {
	awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
	     END { exit !(v["qp"] > 0 && v["cm_id"] > 0 && v["mr_bytes"] > 0) }' <<<"$1"
}
for c in a b; do
	peak=$(grep "^$DEV " $T/$c/rdma.peak)
	tap_check "cgroup $c was charged by the tools (rdma.peak: $peak)" peaked "$peak"
	cur=$(grep "^$DEV " $T/$c/rdma.current)
	tap_check "cgroup $c: every key of rdma.current back to 0 ($cur)" rdmaiso_at_rest "$cur"
done
tap_done
