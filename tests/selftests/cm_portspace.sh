#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# cm_portspace over rxe in shared netns mode: rdma_cm port spaces per network
# namespace, without the module (upstream) and with it.
#
# Topology: three pairs of namespaces sN <-> cN (N = 1..3), each joined by a
# veth pair with the SAME addresses (sN 10.0.0.1, cN 10.0.0.2) and an rxe
# device on each end.  e1, e2 (ephemeral ports), p1, p2 (privileged ports),
# g1 (deleted under live IDs) and r1 (many IDs on one port) have no device.
#
#   a. a server on 10.0.0.1:2000 in s1, s2 and s3 at once; the client in cN
#      gets the name of sN's server (both modes);
#   b. ephemeral ports exhausted in e1 (range 50000-50009), e2 unaffected;
#   c. ip_local_reserved_ports skipped with the module (skip_reserved=0: not);
#   d. ip_unprivileged_port_start and the netns's owning user namespace;
#   e. /proc/net/rdma_cm_ports: format, per-netns contents;
#   f. modprobe with bound IDs lists them, rmmod refused while bound;
#   g. a netns deleted under live IDs, then its holders killed;
#   h. reuse rules (EADDRINUSE/EADDRNOTAVAIL) identical in both modes;
#   i. /proc/net/rdma_cm_ports with 20000 IDs on one port: every one listed,
#      no allocation failure or warning;
#   j. IDs whose creating threads exited, destroyed one by one while another
#      process reads the listing: the pid column shows their process;
#   k. rmmod and modprobe racing binds, privileged binds and readers;
#   l. a listing across 3001 ports of the range 1024-65535.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
CMP="$DIR/build/cm_ports"
MOD=cm_portspace
REFCNT=/sys/module/$MOD/refcnt
NSS=(s1 s2 s3 c1 c2 c3 e1 e2 p1 p2 g1 r1)
NB=(setpriv --reuid=65534 --regid=65534 --clear-groups)
HDR=$(printf '%-5s %5s %-17s %2s %2s %7s %-15s %s %s' \
	ps port state ra af pid comm local_address remote_address)

[ -x "$CMP" ] || { echo "SKIP: $CMP not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
modprobe rdma_rxe && modprobe rdma_ucm && modprobe ib_uverbs ||
	{ echo "SKIP: no rdma_rxe/rdma_ucm/ib_uverbs"; exit $KSFT_SKIP; }
if ! err=$(modprobe $MOD 2>&1); then
	echo "SKIP: modprobe $MOD failed: $err"
	exit $KSFT_SKIP
fi
rmmod $MOD || { echo "# cannot unload $MOD to start without it"; exit $KSFT_FAIL; }

TMP=$(mktemp -d /tmp/cm_portspace.XXXXXX) && chmod 755 "$TMP" || exit 1
# A copy that user nobody may run, whatever the permissions of the repository.
UCMP=$TMP/cm_ports
cp "$CMP" "$UCMP" && chmod 755 "$UCMP" || exit 1

# Holders: long-running cm_ports whose stdin is a fifo kept open by this
# script; closing it (release) makes them destroy their IDs and exit.
declare -A HPID HFD

# alive <pid>: does the process exist and is it not a zombie?
alive() {
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	[ "${s:0:1}" != Z ]
}

# hold <key> <output file> <command...>
hold() {
	local key=$1 out=$2 fifo=$TMP/$1.fifo fd
	shift 2
	rm -f "$fifo" && mkfifo "$fifo" || return 1
	(
		# other holders' fifos must not stay open in this one
		for fd in "${HFD[@]}"; do exec {fd}>&-; done
		exec "$@"
	) <"$fifo" >"$out" 2>&1 &
	HPID[$key]=$!
	exec {fd}>"$fifo"
	HFD[$key]=$fd
	rm -f "$fifo"
}

# stop <key> <seconds> [signal]: close the holder's stdin (or send it the
# signal) and wait for it to exit, at most <seconds>: 0 if it did
stop() {
	local key=$1 t=$2 pid=${HPID[$1]:-} fd=${HFD[$1]:-} i
	[ -n "$pid" ] || return 0
	[ -n "${3:-}" ] && kill -s "$3" "$pid" 2>/dev/null
	[ -n "$fd" ] && exec {fd}>&-
	unset "HFD[$key]"
	for ((i = 0; i < t * 5; i++)); do
		alive "$pid" || break
		rdmaiso_nap 0.2
	done
	if alive "$pid"; then
		echo "# $key (pid $pid) still there after ${t}s"
		return 1
	fi
	wait "$pid" 2>/dev/null
	unset "HPID[$key]"
	return 0
}

# wait_lines <file> <n> [seconds] [interval]: wait until the file has at
# least n lines, looking every interval (a whole number of seconds; default
# every 0.2 s)
wait_lines() {
	local i L t=${4:-0.2} n=$((${3:-30} * 5))
	[ -n "${4:-}" ] && n=$((${3:-30} / $4 + 1))
	for ((i = 0; i < n; i++)); do
		mapfile -t L <"$1" 2>/dev/null
		[ "${#L[@]}" -ge "$2" ] && return 0
		rdmaiso_nap "$t"
	done
	return 1
}

loaded() { [ -d /sys/module/$MOD ]; }

# wait_refcnt <value> [seconds]: wait until the module's refcnt is <value>
wait_refcnt() {
	local i r
	for ((i = 0; i < ${2:-20} * 5; i++)); do
		read -r r 2>/dev/null <$REFCNT
		[ "${r:-}" = "$1" ] && return 0
		rdmaiso_nap 0.2
	done
	return 1
}
refcnt() { local r=gone; read -r r 2>/dev/null <$REFCNT; echo "$r"; }

diag() {
	local l
	while IFS= read -r l; do echo "#   $l"; done <<<"$*"
}
# expect <description> <got> <want> [diagnostics]
expect() {
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
		return 0
	fi
	tap_fail "$1"
	echo "# want:"; diag "$3"
	echo "# got:"; diag "$2"
	[ -n "${4:-}" ] && { echo "# and:"; diag "$4"; }
	return 1
}

# ns_run <ns> <cm_ports args...>: a one-shot cm_ports in <ns> (stdin EOF:
# it releases its IDs as soon as it has printed)
ns_run() {
	local ns=$1
	shift
	timeout 60 ip netns exec "$ns" "$CMP" "$@" </dev/null 2>&1
}
# as_nobody <ns> <cm_ports args...>
as_nobody() {
	local ns=$1
	shift
	timeout 60 ip netns exec "$ns" "${NB[@]}" "$UCMP" "$@" </dev/null 2>&1
}

# rows <file>: the rows of a /proc/net/rdma_cm_ports file, single-spaced
rows() { awk 'NR > 1 { $1 = $1; print }' "$1" 2>&1; }

# port_rows <file> <port>: the distinct rows of <port> in a
# /proc/net/rdma_cm_ports file, single-spaced, each after its count
port_rows() {
	awk -v p="$2" 'NR > 1 && $2 == p { $1 = $1; c[$0]++ }
		END { for (l in c) print c[l], l }' "$1" 2>&1
}

# kmsg_mark <name>: mark the kernel log; kmsg_reports <name>: the warnings,
# allocation failures and KASAN or BUG reports logged since the mark
kmsg_mark() { echo "cm_portspace.sh: mark $1" >/dev/kmsg; }
kmsg_reports() {
	dmesg | sed -n "/cm_portspace.sh: mark $1\$/,\$p" |
		grep -E 'WARNING:|page allocation failure|KASAN|BUG:|Oops'
}

# reader <pid> <port> <stop file>: read /proc/<pid>/net/rdma_cm_ports in a
# loop until <stop file> exists or the file is gone; print each row of <port>
# whose pid is not <pid>, then "reads <n> rows <rows of port> bad <those>"
reader() {
	local n=0 r=0 b=0 fd ps port st ra af pid rest
	while [ ! -e "$3" ]; do
		exec {fd}<"/proc/$1/net/rdma_cm_ports" || break
		while read -r -u "$fd" ps port st ra af pid rest; do
			[ "$port" = "$2" ] || continue
			r=$((r + 1))
			[ "$pid" = "$1" ] && continue
			b=$((b + 1))
			echo "bad: $ps $port $st $ra $af $pid $rest"
		done
		exec {fd}<&-
		n=$((n + 1))
	done 2>/dev/null
	echo "reads $n rows $r bad $b"
}

# summary <file> <lo> <hi> [reserved]: what a "bind -n N 0.0.0.0 0" printed,
# as "<n> ok, <distinct> distinct, <in range> in lo-hi, <r> reserved; <other lines>"
summary() {
	awk -v lo="$2" -v hi="$3" -v res="${4:--1}" '
		/^ok [0-9]+$/ { n++; if (!seen[$2]++) d++
				if ($2 >= lo && $2 <= hi) r++
				if ($2 == res) rs++
				next }
		{ rest = rest (rest == "" ? "" : "|") $0 }
		END { printf "%d ok, %d distinct, %d in %d-%d, %d reserved; %s\n",
			     n, d, r, lo, hi, rs, rest == "" ? "-" : rest }' "$1"
}

cleanup() {
	local k
	for k in "${!HPID[@]}"; do stop "$k" 5 KILL; done
	rdmaiso_cleanup "${NSS[@]}"
	loaded && rmmod $MOD 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
rdmaiso_cleanup "${NSS[@]}"

rdmaiso_netns "${NSS[@]}" || exit 1
for i in 1 2 3; do
	rdmaiso_veth s$i cps$i 10.0.0.1/24 c$i cpc$i 10.0.0.2/24 || exit 1
done
rdmaiso_rxes rxe_cps1:cps1:s1 rxe_cpc1:cpc1:c1 rxe_cps2:cps2:s2 rxe_cpc2:cpc2:c2 \
	rxe_cps3:cps3:s3 rxe_cpc3:cpc3:c3 || exit 1
ip netns exec e1 sysctl -qw net.ipv4.ip_local_port_range="50000 50009" &&
	ip netns exec e2 sysctl -qw net.ipv4.ip_local_port_range="40000 40999" &&
	ip netns exec p2 sysctl -qw net.ipv4.ip_unprivileged_port_start=400 || exit 1
# The six devices must have their IPv4 (RoCE) GIDs before anything connects.
for ((i = 0; i < 150; i++)); do
	grep -H ':ffff:0a00:000[12]$' /sys/class/infiniband/rxe_cp[sc][123]/ports/1/gids/[0-9] 2>/dev/null |
		awk -F/ '{ d[$5] = 1 } END { n = 0; for (k in d) n++; exit n != 6 }' && break
	rdmaiso_nap 0.2
done

# three_way <mode>: servers srv1..3 (left running) on 10.0.0.1:2000 in
# s1..s3; clients in c2, c3, c1 connect to 10.0.0.1:2000.
three_way() {
	local m=$1 i got= l L
	for i in 1 2 3; do
		hold srv$i "$TMP/srv$i" ip netns exec s$i "$CMP" serve 10.0.0.1 2000 srv$i
	done
	for i in 1 2 3; do
		wait_lines "$TMP/srv$i" 1 60
		l=
		read -r l <"$TMP/srv$i"
		got+="$l "
	done
	expect "$m: servers listen on 10.0.0.1:2000 in s1, s2 and s3 at once" \
		"$got" "listening listening listening " || return 1
	got=
	for i in 2 3 1; do
		# Resolve the neighbours first: a CM REQ lost to a cold neighbour
		# table is only retried after seconds, which TCG stretches further.
		ip netns exec c$i ping -q -c 1 -W 10 10.0.0.1 >/dev/null 2>&1
		got+="c$i: $(timeout 90 ip netns exec c$i "$CMP" connect -t 30 10.0.0.1 2000 2>&1 </dev/null); "
	done
	expect "$m: the client in cN connects to 10.0.0.1:2000 and reaches sN's server" \
		"$got" "c2: reply srv2; c3: reply srv3; c1: reply srv1; "
	got=
	for i in 1 2 3; do
		wait_lines "$TMP/srv$i" 2 10
		mapfile -t L <"$TMP/srv$i"
		got+="s$i: ${L[*]:1}; "
	done
	expect "$m: each server served exactly one connection" \
		"$got" "s1: served 1; s2: served 1; s3: served 1; "
}

# reuse_table <mode>: the reuse rules, in s1 (address 10.0.0.1, rxe_cps1);
# prints what cm_ports printed, one row per line
reuse_table() {
	local r
	r=$(ns_run s1 bind 10.0.0.1 3000 10.0.0.1 3000 0.0.0.0 3001 10.0.0.1 3001 \
		10.0.0.1 3002 0.0.0.0 3002)
	echo "same address twice; any then specific; specific then any: ${r//$'\n'/ / }"
	r=$(ns_run s1 bind -r 0.0.0.0 3003 0.0.0.0 3003)
	echo "two REUSEADDR IDs on any: ${r//$'\n'/ / }"
	r=$(ns_run s1 bind -r -l 0.0.0.0 3004 0.0.0.0 3004)
	echo "REUSEADDR, the first listening: ${r//$'\n'/ / }"
	r=$(ns_run s1 bind -A 1 0.0.0.0 3005 :: 3005)
	echo "IPv4 any and IPv6 any, AFONLY: ${r//$'\n'/ / }"
	r=$(ns_run s1 bind -A 0 0.0.0.0 3006 :: 3006)
	echo "IPv4 any and IPv6 any, not AFONLY: ${r//$'\n'/ / }"
}
REUSE_WANT="same address twice; any then specific; specific then any: ok 3000 / err EADDRINUSE / ok 3001 / err EADDRNOTAVAIL / ok 3002 / err EADDRNOTAVAIL
two REUSEADDR IDs on any: ok 3003 / ok 3003
REUSEADDR, the first listening: ok 3004 / err EADDRNOTAVAIL
IPv4 any and IPv6 any, AFONLY: ok 3005 / ok 3005
IPv4 any and IPv6 any, not AFONLY: ok 3006 / err EADDRNOTAVAIL"

# privileged <mode>: ports below ip_unprivileged_port_start, as nobody
privileged() {
	local m=$1 out want500 wantns
	if [ "$m" = module ]; then want500="ok 500" wantns="ok 500"; else want500="err EACCES" wantns="err EACCES"; fi
	out=$(as_nobody p1 bind 0.0.0.0 0)
	if [[ $out != "ok "* ]]; then
		tap_skip "$m: privileged ports as nobody" "unprivileged rdma_cm impossible here: ${out//$'\n'/ }"
	else
		expect "$m: nobody in p2 (ip_unprivileged_port_start=400) binds port 500 ($want500)" \
			"$(as_nobody p2 bind 0.0.0.0 500)" "$want500"
		expect "$m: nobody in p2 binds port 300: EACCES" "$(as_nobody p2 bind 0.0.0.0 300)" "err EACCES"
		expect "$m: nobody in p1 (ip_unprivileged_port_start=1024) binds port 500: EACCES" \
			"$(as_nobody p1 bind 0.0.0.0 500)" "err EACCES"
		out=$(timeout 60 "${NB[@]}" unshare -Urn "$UCMP" bind 0.0.0.0 500 </dev/null 2>&1)
		if [[ $out != ok* && $out != err* ]]; then
			tap_skip "$m: nobody in its own user and network namespace binds port 500" \
				"no unprivileged user namespaces: ${out//$'\n'/ }"
		else
			expect "$m: nobody in its own user and network namespace (unshare -Urn) binds port 500 ($wantns)" \
				"$out" "$wantns"
			out=$(timeout 60 nsenter --net=/run/netns/p1 "${NB[@]}" unshare -Ur "$UCMP" bind 0.0.0.0 500 </dev/null 2>&1)
			expect "$m: nobody in its own user namespace but p1 (owned by the initial one) binds port 500: EACCES" \
				"$out" "err EACCES"
		fi
	fi
	expect "$m: root in p1 binds port 500" "$(ns_run p1 bind 0.0.0.0 500)" "ok 500"
}

tap_plan_begin

# ---- Without the module: upstream behaviour --------------------------------
three_way upstream
reuse_up=$(reuse_table)
expect "upstream: reuse rules" "$reuse_up" "$REUSE_WANT"
privileged upstream
ip netns exec e1 sysctl -qw net.ipv4.ip_local_reserved_ports=50003
ns_run e1 bind -n 10 0.0.0.0 0 >"$TMP/res"
expect "upstream: with 50003 reserved in e1, all 10 ports of the range are handed out, 50003 too" \
	"$(summary "$TMP/res" 50000 50009 50003)" "10 ok, 10 distinct, 10 in 50000-50009, 1 reserved; -"

# ---- modprobe with bound IDs: listed; rmmod refused while bound ------------
# srv1..3 still listen (bound without the module); three ephemeral IDs in e2.
hold imp "$TMP/imp" ip netns exec e2 "$CMP" bind -n 3 0.0.0.0 0
wait_lines "$TMP/imp" 3 60
mapfile -t IMP < <(sed -n 's/^ok //p' "$TMP/imp" | sort -n)
out=$(modprobe $MOD 2>&1)
rc=$?
expect "modprobe $MOD while IDs are bound" "$rc${out:+ $out}" 0
got= want=
for i in 1 2 3; do
	got+="s$i: $(rows "/proc/${HPID[srv$i]}/net/rdma_cm_ports"); "
	want+="s$i: TCP 2000 LISTEN 0 1 ${HPID[srv$i]} cm_ports 10.0.0.1:2000 0.0.0.0:0; "
done
expect "bound before modprobe: each of s1..s3 lists its own listener" "$got" "$want"
want=
for p in "${IMP[@]}"; do
	want+="TCP $p ADDR_BOUND 0 1 ${HPID[imp]} cm_ports 0.0.0.0:$p 0.0.0.0:0"$'\n'
done
expect "bound before modprobe: e2 lists its 3 ephemeral IDs" \
	"$(rows "/proc/${HPID[imp]}/net/rdma_cm_ports")" "${want%$'\n'}" "$(cat "$TMP/imp")"
expect "bound before modprobe: rebinding their ports conflicts (10.0.0.1:2000 in s1; 0.0.0.0:${IMP[0]:-?} in e2)" \
	"$(ns_run s1 bind 10.0.0.1 2000) / $(ns_run e2 bind 0.0.0.0 "${IMP[0]:-0}")" \
	"err EADDRINUSE / err EADDRNOTAVAIL"
r0=$(refcnt)
out=$(rmmod $MOD 2>&1)
rc=$?
expect "rmmod $MOD is refused while ports are bound (refcnt $r0)" \
	"$rc/$(loaded && echo loaded)/$(refcnt)" "1/loaded/$r0" "$out"
expect "the listener in s2 bound before modprobe still accepts after the refused rmmod" \
	"$(timeout 60 ip netns exec c2 "$CMP" connect -t 10 10.0.0.1 2000 </dev/null 2>&1)" "reply srv2"
got=
for k in srv1 srv2 srv3 imp; do stop $k 30 && got+="$k "; done
expect "the holders release their IDs bound before modprobe and exit" "$got" "srv1 srv2 srv3 imp "
wait_refcnt 0 20
out=$(rmmod $MOD 2>&1)
rc=$?
expect "once everything is released: refcnt 0, rmmod succeeds, /proc/net/rdma_cm_ports is gone" \
	"$rc/$(refcnt)/$(ls /proc/net/rdma_cm_ports 2>/dev/null)" "0/gone/" "$out"

# ---- With the module ----------------------------------------------------------
out=$(modprobe $MOD 2>&1)
rc=$?
expect "modprobe $MOD" "$rc${out:+ $out}" 0
BASE=$(refcnt)
expect "/proc/net/rdma_cm_ports: mode 0444, header line" \
	"$(stat -c %a /proc/net/rdma_cm_ports 2>&1) $(head -n 1 /proc/net/rdma_cm_ports 2>&1)" "444 $HDR"
three_way module
got= want=
for i in 1 2 3; do
	got+="s$i: $(rows "/proc/${HPID[srv$i]}/net/rdma_cm_ports"); "
	want+="s$i: TCP 2000 LISTEN 0 1 ${HPID[srv$i]} cm_ports 10.0.0.1:2000 0.0.0.0:0; "
done
expect "/proc/net/rdma_cm_ports: s1, s2, s3 each list their own listener only (pid, comm, state)" \
	"$got" "$want"
expect "/proc/net/rdma_cm_ports: pid 0 for a reader in another pid namespace" \
	"$(timeout 60 nsenter --net=/proc/${HPID[srv1]}/ns/net unshare -pf --mount-proc \
		awk 'NR > 1 { $1 = $1; print }' /proc/net/rdma_cm_ports 2>&1)" \
	"TCP 2000 LISTEN 0 1 0 cm_ports 10.0.0.1:2000 0.0.0.0:0"
expect "/proc/net/rdma_cm_ports: in c1 and in the initial netns, header only" \
	"$(ip netns exec c1 cat /proc/net/rdma_cm_ports 2>&1) / $(rows /proc/net/rdma_cm_ports)" "$HDR / "
got=
for k in srv1 srv2 srv3; do stop $k 30 && got+="$k "; done
expect "module: the servers exit" "$got" "srv1 srv2 srv3 "

# b. exhaustion in e1 leaves e2 alone
ip netns exec e1 sh -c 'echo > /proc/sys/net/ipv4/ip_local_reserved_ports'
hold exh "$TMP/exh" ip netns exec e1 "$CMP" bind -n 11 0.0.0.0 0
wait_lines "$TMP/exh" 11 60
expect "e1 (range 50000-50009): 10 distinct ephemeral ports in range, then EADDRNOTAVAIL" \
	"$(summary "$TMP/exh" 50000 50009)" "10 ok, 10 distinct, 10 in 50000-50009, 0 reserved; err EADDRNOTAVAIL"
want=
for p in $(sed -n 's/^ok //p' "$TMP/exh" | sort -n); do
	want+="TCP $p ADDR_BOUND 0 1 ${HPID[exh]} cm_ports 0.0.0.0:$p 0.0.0.0:0"$'\n'
done
expect "/proc/net/rdma_cm_ports: e1 lists its 10 IDs by port" \
	"$(rows "/proc/${HPID[exh]}/net/rdma_cm_ports")" "${want%$'\n'}"
ns_run e2 bind -n 100 0.0.0.0 0 >"$TMP/e2"
expect "e2 (range 40000-40999) binds 100 ephemeral IDs while e1 is exhausted" \
	"$(summary "$TMP/e2" 40000 40999)" "100 ok, 100 distinct, 100 in 40000-40999, 0 reserved; -"
stop exh 30

# c. reserved ports
ip netns exec e1 sysctl -qw net.ipv4.ip_local_reserved_ports=50003
ns_run e1 bind -n 10 0.0.0.0 0 >"$TMP/res"
expect "e1 with 50003 reserved: 9 ports, never 50003, then EADDRNOTAVAIL" \
	"$(summary "$TMP/res" 50000 50009 50003)" "9 ok, 9 distinct, 9 in 50000-50009, 0 reserved; err EADDRNOTAVAIL"

# d. privileged ports; h. reuse rules
privileged module
reuse_mod=$(reuse_table)
expect "module: reuse rules" "$reuse_mod" "$REUSE_WANT"
expect "reuse rules: identical with and without the module" "$reuse_mod" "$reuse_up"

# g. a netns deleted under live IDs
hold g_eph "$TMP/g_eph" ip netns exec g1 "$CMP" bind -n 10 0.0.0.0 0
hold g_lsn "$TMP/g_lsn" ip netns exec g1 "$CMP" bind -l 0.0.0.0 2000
wait_lines "$TMP/g_eph" 10 60
wait_lines "$TMP/g_lsn" 1 60
held=$(refcnt)
timeout 30 ip netns del g1
rc=$?
expect "ip netns del g1 under 11 bound IDs: their netns stays, listing them" \
	"$rc/$(rows "/proc/${HPID[g_eph]}/net/rdma_cm_ports" | grep -c ' cm_ports ')" "0/11" \
	"$(cat "$TMP/g_eph" "$TMP/g_lsn")"
got=
for k in g_eph g_lsn; do stop $k 30 KILL && got+="$k "; done
expect "the holders of the deleted netns, killed, exit" "$got" "g_eph g_lsn "
wait_refcnt "$BASE" 30
expect "refcnt: above its baseline $BASE with the IDs ($held), back to it after" \
	"$([ "$held" -gt "$BASE" ] 2>/dev/null && echo above)/$(refcnt)" "above/$BASE"
expect "rdma_cm still works afterwards (a bind in e2)" "$(ns_run e2 bind 0.0.0.0 0 | cut -d' ' -f1)" ok

# i. 20000 REUSEADDR IDs on port 4000 in r1, held by one process (they share
# its one rdma_cm file): the listing shows every one, reading the port in
# chunks, with no allocation of their size (so no allocation warning).
N=20000
kmsg_mark big
hold big "$TMP/big" ip netns exec r1 "$CMP" bind -r -n $N 0.0.0.0 4000
wait_lines "$TMP/big" $N 900 2
expect "r1: $N REUSEADDR IDs bound to 0.0.0.0:4000 by one process" \
	"$(summary "$TMP/big" 4000 4000)" "$N ok, 1 distinct, $N in 4000-4000, 0 reserved; -"
expect "/proc/net/rdma_cm_ports: r1 lists all $N IDs of port 4000" \
	"$(port_rows "/proc/${HPID[big]}/net/rdma_cm_ports" 4000)" \
	"$N TCP 4000 ADDR_BOUND 1 1 ${HPID[big]} cm_ports 0.0.0.0:4000 0.0.0.0:0"
expect "/proc/net/rdma_cm_ports: no allocation failure or warning in the kernel log" \
	"$(kmsg_reports big)" ""
stop big 300 KILL
wait_refcnt "$BASE" 300
expect "the holder of $N IDs, killed, releases port 4000" "$(refcnt)" "$BASE"

# j. 50 threads in turn each bind 2 REUSEADDR IDs to port 4001 in r1 and
# exit; then the process destroys the IDs one by one while a reader loops
# over the listing.  The pid column is the process's, recorded at bind,
# whatever became of the threads (the debug kernel's KASAN watches).
kmsg_mark threads
hold thr "$TMP/thr" ip netns exec r1 "$CMP" threads -t 50 -n 2 -r -d 20 0.0.0.0 4001
wait_lines "$TMP/thr" 100 120
tp=${HPID[thr]}
for ((i = 0; i < 50; i++)); do
	T=("/proc/$tp/task/"*)
	[ "${#T[@]}" -eq 1 ] && break
	rdmaiso_nap 0.2
done
expect "r1: 50 threads bound 100 IDs to 0.0.0.0:4001 and exited, leaving 1 thread" \
	"$(summary "$TMP/thr" 4001 4001) ${#T[@]} thread(s)" \
	"100 ok, 1 distinct, 100 in 4001-4001, 0 reserved; - 1 thread(s)"
expect "/proc/net/rdma_cm_ports: the IDs of the exited threads show their process ($tp)" \
	"$(port_rows "/proc/$tp/net/rdma_cm_ports" 4001)" \
	"100 TCP 4001 ADDR_BOUND 1 1 $tp cm_ports 0.0.0.0:4001 0.0.0.0:0"
rm -f "$TMP/thr.stop"
(
	# the holders' fifos must not stay open in the reader
	for fd in "${HFD[@]}"; do exec {fd}>&-; done
	reader "$tp" 4001 "$TMP/thr.stop"
) >"$TMP/reader" &
rpid=$!
rdmaiso_nap 1
stop thr 120
touch "$TMP/thr.stop"
wait "$rpid"
expect "a reader looping over the listing while the IDs are destroyed sees pid $tp in every row" \
	"$(awk '/^reads/ { print ($4 > 0 ? "rows seen" : "no rows seen"), "bad", $6 }' "$TMP/reader")" \
	"rows seen bad 0" "$(cat "$TMP/reader")"
expect "the listing of r1 is empty afterwards; nothing in the kernel log" \
	"$(ip netns exec r1 cat /proc/net/rdma_cm_ports 2>&1 | tail -n +2)/$(kmsg_reports threads)" "/"

# k. rmmod and modprobe in a loop while e1 binds ephemeral ports, e2 binds
# 0.0.0.0:2000 twice (the second must conflict: no binding is ever lost),
# nobody binds p2:500 and readers loop over the listings.  rmmod succeeds
# in the gaps between binds (its refusal while a port is bound is checked
# in f); every bind ends as one of the two policies allows; afterwards
# nothing is bound, the refcnt is 0 and the kernel log is clean.
SECS=${RDMAISO_CM_CHURN_SECS:-20}
kmsg_mark churn
rm -f "$TMP/k.stop"
churn() {
	# the holders' fifos must not stay open in the loops
	for fd in "${HFD[@]}"; do exec {fd}>&-; done
	while [ ! -e "$TMP/k.stop" ]; do "$@"; done
}
churn ns_run e1 bind -n 5 0.0.0.0 0 >"$TMP/k_e1" &
kp=($!)
churn ns_run e2 bind 0.0.0.0 2000 0.0.0.0 2000 >"$TMP/k_e2" &
kp+=($!)
churn as_nobody p2 bind 0.0.0.0 500 >"$TMP/k_p2" &
kp+=($!)
for ns in e1 p2; do
	churn ip netns exec $ns cat /proc/net/rdma_cm_ports >/dev/null 2>&1 &
	kp+=($!)
done
rm_ok=0 rm_no=0 mp_err=
for ((t = SECONDS + SECS; SECONDS < t; )); do
	if rmmod $MOD 2>/dev/null; then
		rm_ok=$((rm_ok + 1))
		out=$(modprobe $MOD 2>&1) || mp_err+="$out "
	else
		rm_no=$((rm_no + 1))
	fi
done
touch "$TMP/k.stop"
wait "${kp[@]}"
loaded || modprobe $MOD
expect "k: rmmod succeeds between binds, and modprobe never fails" \
	"$([ $rm_ok -gt 0 ] && echo unloaded)/$mp_err" "unloaded/" \
	"rmmod succeeded $rm_ok times, was refused $rm_no times in ${SECS}s"
expect "k: e1 gets only ephemeral ports in its range, e2's second bind of 2000 always conflicts, p2:500 is ok or EACCES" \
	"$(grep -cvE '^ok 5000[0-9]$' "$TMP/k_e1")/$(grep -cvE '^(ok 2000|err EADDRNOTAVAIL)$' "$TMP/k_e2")/$(grep -cvE '^(ok 500|err EACCES)$' "$TMP/k_p2")/$(grep -c '^err EADDRNOTAVAIL$' "$TMP/k_e2")" \
	"0/0/0/$(grep -c '^ok 2000$' "$TMP/k_e2")" \
	"e1 $(sort "$TMP/k_e1" | uniq -c | tr '\n' ' '); e2 $(sort "$TMP/k_e2" | uniq -c | tr '\n' ' '); p2 $(sort "$TMP/k_p2" | uniq -c | tr '\n' ' ')"
wait_refcnt 0 30
expect "k: afterwards nothing is bound in e1, e2, p2, the refcnt is 0 and the kernel log is clean" \
	"$(for ns in e1 e2 p2; do ip netns exec $ns cat /proc/net/rdma_cm_ports | tail -n +2; done)/$(refcnt)/$(kmsg_reports churn)" "/0/"

# l. The listing walks rdma_cm's port space: 3000 ephemeral ports of r1's
# range 1024-65535 and 65535 itself, each listed once, in ascending order.
ip netns exec r1 sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
hold top "$TMP/top" ip netns exec r1 "$CMP" bind 0.0.0.0 65535
hold wide "$TMP/wide" ip netns exec r1 "$CMP" bind -n 3000 0.0.0.0 0
wait_lines "$TMP/top" 1 60
wait_lines "$TMP/wide" 3000 300 1
sed -n 's/^ok //p' "$TMP/wide" "$TMP/top" | sort -n >"$TMP/wide.want"
awk 'NR > 1 { print $2 }' "/proc/${HPID[wide]}/net/rdma_cm_ports" >"$TMP/wide.got"
expect "l: r1 lists each of its $(wc -l <"$TMP/wide.want") bound ports once, ascending, 65535 last" \
	"$(cmp -s "$TMP/wide.want" "$TMP/wide.got" && echo same)/$(sort -un "$TMP/wide.got" | wc -l)/$(tail -n 1 "$TMP/wide.got")" \
	"same/3001/65535" "$(grep -hv '^ok' "$TMP/wide" "$TMP/top" | head -5)"
got=
for k in wide top; do stop $k 120 && got+="$k "; done
expect "l: the holders release their ports and exit" "$got" "wide top "

# c'. skip_reserved=0: reserved ports handed out as upstream does
out=$(rmmod $MOD 2>&1 && modprobe $MOD skip_reserved=0 2>&1)
rc=$?
expect "modprobe $MOD skip_reserved=0" "$rc${out:+ $out}" 0
ns_run e1 bind -n 10 0.0.0.0 0 >"$TMP/res"
expect "skip_reserved=0: e1 gets all 10 ports of its range, 50003 too" \
	"$(summary "$TMP/res" 50000 50009 50003)" "10 ok, 10 distinct, 10 in 50000-50009, 1 reserved; -"
out=$(rmmod $MOD 2>&1)
rc=$?
expect "rmmod $MOD at the end" "$rc${out:+ $out}" 0

tap_done
