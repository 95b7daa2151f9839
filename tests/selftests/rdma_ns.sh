#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rdma_ns over rxe in shared netns mode.  One rxe device, rxe_ns0, sits on
# veth ns_v0 in the initial namespace; VLANs of ns_v0 live in namespaces
# nsA and nsB, so rxe_ns0's GID table holds an address of each.  A QP or
# AH of nsA may use nsA's GID but not nsB's (nor the host's), also in the
# address vector that a legacy rxe UD work request carries itself.  Traffic
# runs between namespaces nsX and nsY, each with its own rxe on a veth end.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
OBJS="$DIR/build/rdma_objs"
WR="$DIR/build/rdma_ns_wr"
EADDRNOTAVAIL=99
EPERM=1
EOPNOTSUPP=95

for p in "$OBJS" "$WR"; do
	[ -x "$p" ] || { echo "SKIP: $p not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
done
modinfo rdma_ns >/dev/null 2>&1 || { echo "SKIP: no rdma_ns module"; exit $KSFT_SKIP; }
modprobe 8021q 2>/dev/null || { echo "SKIP: no 802.1Q VLAN support"; exit $KSFT_SKIP; }

cleanup() {
	rmmod rdma_ns 2>/dev/null
	rdma link del rxe_ns0 2>/dev/null
	ip link del ns_v0 2>/dev/null
	rdmaiso_cleanup nsA nsB nsX nsY
}
trap cleanup EXIT
cleanup

rdmaiso_netns nsA nsB nsX nsY || exit 1
ip link add ns_v0 type veth peer name ns_v1 && ip link set ns_v0 up &&
	ip link set ns_v1 up && ip addr add 10.80.0.1/24 dev ns_v0 || exit 1
rdmaiso_veth nsX ns_x 10.90.0.1/24 nsY ns_y 10.90.0.2/24 || exit 1
rdmaiso_rxes rxe_ns0:ns_v0 rxe_nsx:ns_x:nsX rxe_nsy:ns_y:nsY || exit 1
for x in A:10 B:20; do
	n=ns${x%:*} v=${x#*:}
	ip link add link ns_v0 name ns_v0.$v type vlan id "$v" &&
		ip link set ns_v0.$v netns "$n" &&
		ip -n "$n" addr add 10.8$((v / 10)).0.1/24 dev ns_v0.$v &&
		ip -n "$n" link set ns_v0.$v up || exit 1
	# a peer on each VLAN's subnet, so that a UD send leaves at once
	ip -n "$n" neigh replace 10.8$((v / 10)).0.2 lladdr 02:00:00:00:00:02 \
		dev ns_v0.$v nud permanent || exit 1
done
ip neigh replace 10.80.0.2 lladdr 02:00:00:00:00:02 dev ns_v0 nud permanent || exit 1

GA=$(rdmaiso_gid rxe_ns0 ns_v0.10) && GB=$(rdmaiso_gid rxe_ns0 ns_v0.20) &&
	GH=$(rdmaiso_gid rxe_ns0 ns_v0) ||
	{ echo "no GIDs for the VLANs in rxe_ns0"; exit 1; }
echo "# GID indexes: host $GH, nsA $GA, nsB $GB"

# probe <ns> <type> <sgid>: errno of one AH / QP-to-RTR from <ns> with <sgid>
probe() {
	local pfx=()
	[ "$1" != - ] && pfx=(ip netns exec "$1")
	"${pfx[@]}" "$OBJS" rxe_ns0 "$2:0:$3" 1 | sed -n 's/.*errno=//p'
}

# outreq <ns>: IPv4 packets the namespace has sent so far (no other IPv4
# traffic runs in nsA, nsB or the initial namespace's ns_v0 subnet)
outreq() {
	local pfx=()
	[ "$1" != - ] && pfx=(ip netns exec "$1")
	"${pfx[@]}" awk '$1 == "Ip:" { if (!c) { for (i = 2; i <= NF; i++)
		if ($i == "OutRequests") c = i } else print $c }' /proc/net/snmp
}

# The GID view.  P is rxe_ns0's port.
P=/sys/class/infiniband/rxe_ns0/ports/1
ZGID=0000:0000:0000:0000:0000:0000:0000:0000
# own <netdev...>: the GID indexes whose netdev is one of these (read in the
# initial namespace, which sees every entry)
own() {
	rdmaiso_gid_entries - $P/gid_attrs/ndevs | awk -v w=" $* " 'index(w, " " $2 " ") { print $1 }' |
		sort -n | xargs
}
# seen <ns>: the populated GID indexes as <ns> reads them in sysfs: gids/
# (not the zero GID), gid_attrs/ndevs/ and gid_attrs/types/ (readable)
seen() {
	echo "gids $(rdmaiso_gid_entries "$1" $P/gids | awk -v z=$ZGID '$2 != z { print $1 }' | sort -n | xargs)" \
	     "/ ndevs $(rdmaiso_gid_entries "$1" $P/gid_attrs/ndevs | awk '{ print $1 }' | sort -n | xargs)" \
	     "/ types $(rdmaiso_gid_entries "$1" $P/gid_attrs/types | awk '{ print $1 }' | sort -n | xargs)"
}
# devinfo <ns>: the indexes of the non-zero GIDs that ibv_devinfo -v prints
devinfo() {
	ip netns exec "$1" ibv_devinfo -v -d rxe_ns0 2>&1 |
		sed -n 's/.*GID\[ *\([0-9]*\)\]:[[:space:]]*\([^,[:space:]]*\).*/\1 \2/p' |
		awk '$2 !~ /^[0:]*$/ { print $1 }' | sort -n | xargs
}
# view <ns>: sysfs, ibv_devinfo and pyverbs, as <ns> sees the table
view() {
	echo "$(seen "$1") / devinfo $(devinfo "$1") /" \
	     "$(ip netns exec "$1" /usr/bin/python3 "$DIR/gid_view.py" rxe_ns0 2>&1 | xargs)"
}
# want <indexes> <first>: what view prints for these visible indexes
want() {
	echo "gids $1 / ndevs $1 / types $1 / devinfo $1 / table $1 entry $1 first $2"
}

# AVNS=<ns> udsend <ns'> <ah_gid> <av_gid> <dest>: one UD send from <ns'>
# whose WQE carries its own address vector with source GID <av_gid>; sets ST
# to its completion status and SENT to the IPv4 packets that <ns>, the
# namespace of <av_gid>'s netdev ("-": the initial one), sent meanwhile
udsend() {
	local before after
	before=$(outreq "$AVNS")
	ST=$(ip netns exec "$1" "$WR" rxe_ns0 ud "$2" "$3" "$4" | sed -n 's/.*status=//p')
	after=$(outreq "$AVNS")
	SENT=$((after - before))
}

tap_plan_begin

rmmod rdma_ns 2>/dev/null
ALL=$(seen -)
OA=$(own ns_v0.10) OB=$(own ns_v0.20)
gids_of() { ip netns exec "$1" ibv_devinfo -v -d rxe_ns0 2>&1 | grep 'GID\[' | sed "s/^[[:space:]]*/# $1: /"; }
echo "# ibv_devinfo -v in nsA without rdma_ns:"
gids_of nsA
tap_check "without rdma_ns, nsA reads every GID entry, nsB's and the host's too (the upstream view: $ALL)" \
	test "$(seen nsA)" = "$ALL"
tap_check "without rdma_ns, nsA may create an AH with nsB's GID (the upstream hole)" \
	test "$(probe nsA ah "$GB")" = 0
AVNS=nsB udsend nsA "$GA" "$GB" 10.82.0.2
tap_check "without rdma_ns, nsA's UD send with an inline address vector of nsB's GID leaves through nsB (the upstream hole; status $ST, nsB sent $SENT)" \
	sh -c "[ '$ST' = 0 ] && [ '$SENT' -ge 1 ]"

modprobe rdma_ns || exit 1
tap_check "/proc/net/rdma_ns exists in every namespace" \
	sh -c "[ -r /proc/net/rdma_ns ] && ip netns exec nsA test -r /proc/net/rdma_ns"
for ty in ah qprtr; do
	e=$(probe nsA $ty "$GB")
	tap_check "$ty: nsA with nsB's GID: EADDRNOTAVAIL ($e)" test "$e" = $EADDRNOTAVAIL
	e=$(probe nsA $ty "$GH")
	tap_check "$ty: nsA with the host's GID: EADDRNOTAVAIL ($e)" test "$e" = $EADDRNOTAVAIL
	e=$(probe nsA $ty "$GA")
	tap_check "$ty: nsA with its own GID works ($e)" test "$e" = 0
	e=$(probe nsB $ty "$GB")
	tap_check "$ty: nsB with its own GID works ($e)" test "$e" = 0
	e=$(probe - $ty "$GA")
	tap_check "$ty: the host with nsA's GID: EADDRNOTAVAIL ($e)" test "$e" = $EADDRNOTAVAIL
done
tap_check "dmesg names device, GID index, both namespaces and the caller" \
	sh -c "dmesg | grep -q 'rdma_ns: refused rxe_ns0 port 1 GID index $GB (netdev ns_v0.20 in net:\[[0-9]*\]) for ah of net:\[[0-9]*\] (pid [1-9][0-9]* rdma_objs)'"
tap_check "nsA's /proc/net/rdma_ns counts its refusals" \
	sh -c "ip netns exec nsA head -1 /proc/net/rdma_ns | grep -q 'denied 4 '"

# rxe's legacy UD work requests carry their own address vector: the same
# rule, checked when rxe sends; a refused WQE completes in error, unsent.
AVNS=nsA udsend nsA "$GA" "$GA" 10.81.0.2
tap_check "UD send, inline address vector: nsA with its own GID is sent (status $ST, nsA sent $SENT)" \
	sh -c "[ '$ST' = 0 ] && [ '$SENT' -ge 1 ]"
AVNS=nsB udsend nsA "$GA" "$GB" 10.82.0.2
tap_check "UD send, inline address vector: nsA with nsB's GID completes in error, nothing sent (status $ST, nsB sent $SENT)" \
	sh -c "[ -n '$ST' ] && [ '$ST' != 0 ] && [ '$ST' != none ] && [ '$SENT' = 0 ]"
AVNS=- udsend nsA "$GA" "$GH" 10.80.0.2
tap_check "UD send, inline address vector: nsA with the host's GID completes in error, nothing sent (status $ST, host sent $SENT)" \
	sh -c "[ -n '$ST' ] && [ '$ST' != 0 ] && [ '$ST' != none ] && [ '$SENT' = 0 ]"
tap_check "dmesg names the refused send's GID index, QP and both namespaces" \
	sh -c "dmesg | grep -q 'rdma_ns: refused rxe_ns0 port 1 GID index $GB (netdev ns_v0.20 in net:\[[0-9]*\]) for a send of qp [0-9]* of net:\[[0-9]*\]'"
tap_check "nsA's /proc/net/rdma_ns counts the refused sends" \
	sh -c "ip netns exec nsA head -1 /proc/net/rdma_ns | grep -q 'denied 6 '"

# Raw packet QPs: rxe has none (EOPNOTSUPP from the driver), so only the
# refusal ahead of the driver is visible here.
e=$(ip netns exec nsA "$WR" rxe_ns0 raw | sed -n 's/.*errno=//p')
tap_check "raw packet QP in nsA without deny_raw: up to the driver ($e)" \
	test "$e" = $EOPNOTSUPP

# The GID view: each namespace reads only the entries of its own netdevs,
# through sysfs, ibv_devinfo (uverbs) and pyverbs (ibv_query_gid_table,
# ibv_query_gid_ex); the first RoCE v2 IPv4 GID it finds is its own, and it
# works as a source GID.  The initial namespace reads everything.
echo "# ibv_devinfo -v in nsA with rdma_ns:"
gids_of nsA
tap_check "GID view: nsA reads only its own entries ($OA), nsB's and the host's read as empty" \
	test "$(view nsA)" = "$(want "$OA" "$GA")"
tap_check "GID view: nsB reads only its own entries ($OB)" \
	test "$(view nsB)" = "$(want "$OB" "$GB")"
tap_check "GID view: the initial namespace reads every entry, as without rdma_ns" \
	test "$(seen -)" = "$ALL"
sel=$(ip netns exec nsA /usr/bin/python3 "$DIR/gid_view.py" rxe_ns0 | sed -n 's/.* first //p')
e=$(probe nsA qprtr "$sel")
tap_check "GID view: the GID nsA's selector picks with no index given ($sel) is its own and works ($e)" \
	test "$sel/$e" = "$GA/0"
tap_check "GID view: a hidden index still refuses as before (nsA with nsB's $GB: $(probe nsA ah "$GB"))" \
	test "$(probe nsA ah "$GB")" = $EADDRNOTAVAIL
# Reads racing GID changes: ns_v0.20 moves from nsB to the host and back
# (its GIDs go and come) while nsA reads its view in a loop.
rm -f /tmp/gv.stop /tmp/gv.raw
# (the first 16 entries: rxe's table has 1024, and reading them all takes
# seconds under TCG)
ip netns exec nsA sh -c "while [ ! -e /tmp/gv.stop ]; do
	grep -H . $(echo $P/gid_attrs/ndevs/{0..15} $P/gids/{0..15}) 2>/dev/null
	echo iter; done" > /tmp/gv.raw &
rd=$!
for _ in $(seq 150); do grep -q '^iter$' /tmp/gv.raw 2>/dev/null && break; rdmaiso_nap 0.2; done
for _ in 1 2 3; do
	ip -n nsB link set ns_v0.20 netns 1 && ip link set ns_v0.20 up &&
		ip addr add 10.82.0.1/24 dev ns_v0.20 && rdmaiso_nap 1 &&
		ip link set ns_v0.20 netns nsB && ip -n nsB link set ns_v0.20 up
	rdmaiso_nap 1
done
touch /tmp/gv.stop
wait $rd
awk -F: -v z=$ZGID '{ n = split($1, p, "/"); v = substr($0, length($1) + 2) }
	p[n - 1] == "ndevs" { print "ndev", v }
	p[n - 1] == "gids" && v != z { print "gid", p[n] }' /tmp/gv.raw | sort | uniq -c > /tmp/gv.out
ip -n nsB addr add 10.82.0.1/24 dev ns_v0.20 &&
	ip -n nsB neigh replace 10.82.0.2 lladdr 02:00:00:00:00:02 dev ns_v0.20 nud permanent
GB=$(rdmaiso_gid rxe_ns0 ns_v0.20)
bad=$(awk -v ok=" $OA " '($2 == "ndev" && $3 != "ns_v0.10") || ($2 == "gid" && !index(ok, " " $3 " "))' /tmp/gv.out)
iters=$(grep -c '^iter$' /tmp/gv.raw)
tap_check "GID view: nsA's reads racing moves of nsB's VLAN never show a foreign entry ($iters reads of the table, $(awk '{ n += $1 } END { print n + 0 }' /tmp/gv.out) entries${bad:+; $bad})" \
	sh -c "[ $iters -ge 10 ] && [ -z '$bad' ] && [ -n '$GB' ]"

# Per-namespace view: nsA holds 3 QPs, nsB sees none of them.
: > /tmp/ns.out
ip netns exec nsA "$OBJS" rxe_ns0 qp 3 6 > /tmp/ns.out &
holder=$!
for _ in $(seq 300); do grep -q created= /tmp/ns.out && break; sleep 0.1; done
row() { ip netns exec "$1" awk '$1 == "rxe_ns0" { print $3 "/" $4 "/" $5 }' /proc/net/rdma_ns; }
a=$(row nsA) b=$(row nsB)
tap_check "/proc/net/rdma_ns: nsA shows its 3 QPs (qp/ah/cm_id $a), nsB none (${b:-no row})" \
	sh -c "[ '$a' = 3/0/0 ] && { [ -z '$b' ] || [ '$b' = 0/0/0 ]; }"
wait $holder
tap_check "/proc/net/rdma_ns: back to 0 after destroy ($(row nsA))" test "$(row nsA)" = 0/0/0

# Traffic between namespaces with the module loaded, and load/unload under it.
timeout 600 ip netns exec nsY rping -s -a 10.90.0.2 -C 1000 -S 64 -V >/dev/null 2>&1 &
srv=$!
sleep 2
timeout 600 ip netns exec nsX rping -c -a 10.90.0.2 -C 1000 -S 64 -V >/dev/null 2>&1 &
cli=$!
cycles=0
for _ in 1 2 3 4 5; do
	sleep 0.5
	rmmod rdma_ns && modprobe rdma_ns && cycles=$((cycles + 1))
done
running=0
kill -0 $cli 2>/dev/null && running=1
wait $cli; rc=$?
kill $srv 2>/dev/null
wait $srv
tap_check "rping nsX -> nsY (own GIDs) works while rdma_ns is unloaded and loaded $cycles times under it (exit $rc)" \
	test "$rc/$cycles/$running" = 0/5/1

# Objects across unload: created while loaded, destroyed after rmmod.
ip netns exec nsA "$OBJS" rxe_ns0 qp 2 4 > /tmp/ns.out &
holder=$!
for _ in $(seq 300); do grep -q created= /tmp/ns.out && break; sleep 0.1; done
rmmod rdma_ns
e=$(probe nsA ah "$GB")
wait $holder
tap_check "after rmmod: checks are off ($e) and objects tagged while loaded are destroyed cleanly" \
	test "$e/$(cat /tmp/ns.out)" = "0/created=2 errno=0"

# A namespace deleted while its objects live stays until they are gone.
modprobe rdma_ns
ip netns exec nsA "$OBJS" rxe_ns0 qp 2 4 > /tmp/ns.out &
holder=$!
for _ in $(seq 300); do grep -q created= /tmp/ns.out && break; sleep 0.1; done
ip netns del nsA
wait $holder
tap_check "netns deleted with live QPs: they are destroyed afterwards ($(cat /tmp/ns.out))" \
	test "$(cat /tmp/ns.out)" = "created=2 errno=0"

# deny_raw=1: no raw packet QP outside the initial namespace.
rmmod rdma_ns && modprobe rdma_ns deny_raw=1
e=$(ip netns exec nsB "$WR" rxe_ns0 raw | sed -n 's/.*errno=//p')
tap_check "deny_raw=1: raw packet QP in nsB: EPERM ($e), logged and counted" \
	sh -c "[ '$e' = $EPERM ] && dmesg | grep -q 'rdma_ns: refused raw packet QP on rxe_ns0 for net:\[[0-9]*\] (pid [1-9][0-9]* rdma_ns_wr): deny_raw' &&
	       ip netns exec nsB head -1 /proc/net/rdma_ns | grep -q '^mode enforce denied 1 audited 0 deny_raw 1'"
e=$("$WR" rxe_ns0 raw | sed -n 's/.*errno=//p')
tap_check "deny_raw=1: raw packet QP in the initial namespace: up to the driver ($e)" \
	test "$e" = $EOPNOTSUPP

# Audit mode logs and allows.
rmmod rdma_ns && modprobe rdma_ns audit=1
e=$(probe nsB ah "$GH")
tap_check "audit=1: nsB with the host's GID is allowed ($e) and logged" \
	sh -c "[ '$e' = 0 ] && dmesg | grep -q 'rdma_ns: audit: would refuse rxe_ns0 port 1 GID index $GH' &&
	       ip netns exec nsB head -1 /proc/net/rdma_ns | grep -q '^mode audit denied 0 audited 1'"
AVNS=- udsend nsB "$GB" "$GH" 10.80.0.2
tap_check "audit=1: nsB's UD send with an inline address vector of the host's GID is sent (status $ST, host sent $SENT) and logged" \
	sh -c "[ '$ST' = 0 ] && [ '$SENT' -ge 1 ] && dmesg | grep -q 'rdma_ns: audit: would refuse rxe_ns0 port 1 GID index $GH (netdev ns_v0 in net:\[[0-9]*\]) for a send of qp' &&
	       ip netns exec nsB head -1 /proc/net/rdma_ns | grep -q '^mode audit denied 0 audited 2'"

# The GID view follows the source-GID rule: audit mode hides nothing, and
# neither does gid_view=0; unloading the module restores the full view.
tap_check "audit=1: nsB reads every GID entry, as it may send from any" \
	test "$(seen nsB)" = "$(seen -)"
rmmod rdma_ns && modprobe rdma_ns gid_view=0
tap_check "gid_view=0: nsB reads every GID entry (the upstream view) while sources are still checked" \
	sh -c "[ '$(seen nsB)' = '$(seen -)' ] && [ '$(probe nsB ah "$GH")' = $EADDRNOTAVAIL ]"
rmmod rdma_ns && modprobe rdma_ns
OB=$(own ns_v0.20)
tap_check "GID view back on: nsB reads only its own entries ($OB)" \
	test "$(seen nsB)" = "gids $OB / ndevs $OB / types $OB"
rmmod rdma_ns
tap_check "after rmmod: nsB reads every GID entry again" \
	test "$(seen nsB)" = "$(seen -)"

tap_done
