#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# AF_IB (native ServiceID) requests reach the listener of the network
# namespace they arrived in (patch 0012 with cm_portspace loaded).
#
# An AF_IB request carries no IP header, so rdma_cm looks its listener up by
# ServiceID alone, and upstream does so in init_net: an AF_IB listener in a
# container never gets its requests, and a listener in init_net gets the
# requests that arrive on a container's interface.  With cm_portspace loaded
# the lookup uses the netns of the receiving RoCE GID's netdev.
#
# af_c -> af_s2 over a veth with an rxe on each end; AF_IB listeners on the
# same ServiceID in af_s1, af_s2, af_s3 and init_net (all see every device:
# shared mode).  The test module cm_afib_req sends a CM REQ or SIDR REQ with
# no private data from af_c to af_s2's address.  The tracepoint
# rdma_cma:cm_req_handler fires when rdma_cm has found a listener and shows
# its type of service, which each netns's listener sets to its own value.
# (rdma_cm then fails the connection: it cannot take an AF_IB connection
# over RoCE, so the listener's process never sees it.)
#
# Both modes run on this kernel: without the module (rdma_cm's built-in port
# spaces and lookup, as upstream) and with it.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
NSS=(af_s1 af_s2 af_s3 af_c)
CMP=$DIR/build/cm_ports
CTL=/sys/kernel/debug/cm_afib_req/ctl
TR=/sys/kernel/tracing
EV=$TR/events/rdma_cma/cm_req_handler
TMP=$(mktemp -d)
SID_IB=0x13f07d0	# RDMA_PS_IB, port 2000
SID_UDP=0x1111c06	# RDMA_PS_UDP, port 7174 (SIDR)

[ -x "$CMP" ] || { echo "SKIP: $CMP not built (make -C tests/selftests)"; exit $KSFT_SKIP; }
modprobe cm_afib_req 2>/dev/null ||
	{ echo "SKIP: no cm_afib_req module (CONFIG_RDMAISO_CM_AFIB_TEST)"; exit $KSFT_SKIP; }
modprobe rdma_ucm || exit 1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q $TR || mount -t tracefs nodev $TR 2>/dev/null
[ -d "$EV" ] || { echo "SKIP: no tracepoint rdma_cma:cm_req_handler"; exit $KSFT_SKIP; }
if [ -d /sys/module/cm_portspace ]; then
	rmmod cm_portspace || { echo "# cannot unload cm_portspace for the upstream mode"; exit $KSFT_FAIL; }
fi

pids=()
stop_listeners() {
	[ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	pids=()
}
cleanup() {
	stop_listeners
	echo 0 >"$EV/enable"
	rdmaiso_cleanup "${NSS[@]}"
	rmmod cm_afib_req cm_portspace 2>/dev/null
	exec 9>&-
	rm -rf "$TMP"
}
trap cleanup EXIT
rdmaiso_cleanup "${NSS[@]}"

# Listeners hold their IDs until stdin ends: this FIFO, kept open here.
mkfifo "$TMP/hold" && exec 9<>"$TMP/hold" || exit 1
rdmaiso_netns "${NSS[@]}" || exit 1
rdmaiso_veth af_s2 afs2 10.0.0.1/24 af_c afc 10.0.0.2/24 || exit 1
rdmaiso_rxes rxe_afs2:afs2:af_s2 rxe_afc:afc:af_c || exit 1
ip netns exec af_c ping -q -c 1 -W 10 10.0.0.1 >/dev/null 2>&1

# Each netns's listeners carry a type of service of their own.
declare -A TOS=([af_s1]=4 [-]=8 [af_s3]=12 [af_s2]=16)

# listen <netns|-> <ps> <port>: an AF_IB listener (any GID) in the netns.
listen() {
	local ns=$1 ps=$2 port=$3 out=$TMP/l.$1 pfx=()
	[ "$ns" != - ] && pfx=(ip netns exec "$ns")
	"${pfx[@]}" "$CMP" bind -l -T "${TOS[$ns]}" -p "$ps" ib "$port" \
		<"$TMP/hold" >"$out" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		grep -q . "$out" && break
		sleep 0.2
	done
	grep -q "^ok $port\$" "$out" || { echo "# listener in $ns: $(cat "$out")"; return 1; }
}

# send <req|sidr> <sid>: send from af_c to 10.0.0.1; sets RESULT (the CM
# answer), HIT (the netns whose listener rdma_cm chose, or "none") and KIND.
send() {
	local tos ns
	KIND=$1
	echo >"$TR/trace"
	if nsenter --net=/run/netns/af_c sh -c "echo '$1 10.0.0.1 $2' >$CTL" 2>"$TMP/err"; then
		RESULT=$(cat $CTL)
	else
		RESULT="error: $(cat "$TMP/err")"
	fi
	# "cm_req_handler: cm.id=3 src=(einval) dst=(einval) tos=16 REQ_RECEIVED (1)"
	tos=$(sed -n 's/.*cm_req_handler: .* tos=\([0-9]*\) .*/\1/p' "$TR/trace")
	HIT=none
	[ -z "$tos" ] && return
	HIT="tos $tos"
	for ns in "${!TOS[@]}"; do
		[ "${TOS[$ns]}" = "$tos" ] && HIT=$ns
	done
}

# expect <description> <netns|none>: rdma_cm chose that netns's listener
# (exactly once), or none.  Either way the request must have reached rdma_cm
# and been refused by it (ib_cm's listener for the ServiceID exists on the
# device): REJ reason 28, SIDR status 2 (rdma_cm cannot take an AF_IB
# connection over RoCE even when it finds the listener).  Anything else (no
# answer, a failed write) means the request never got that far.
expect() {
	local what="$1 -> ${2/#-/init_net}" answer="rej 28"

	[ "$KIND" = sidr ] && answer="sidr 2"
	if [ "$HIT" = "$2" ] && [ "$RESULT" = "$answer" ]; then
		tap_ok "$what"
	else
		tap_fail "$what"
		echo "# listener chosen: $HIT, wanted: $2; CM answer: $RESULT, wanted: $answer"
		grep cm_req_handler "$TR/trace" | sed 's/^/# /'
	fi
}

tap_plan_begin
echo 1 >"$EV/enable"

# The module sends what it claims: with no listener at all, the receiving
# ib_cm rejects the ServiceID (REJ reason 8, SIDR status 1).
send req $SID_IB
tap_check "no listener: the REQ is answered 'rej 8' ($RESULT)" [ "$RESULT" = "rej 8" ]
send sidr $SID_UDP
tap_check "no listener: the SIDR REQ is answered 'sidr 1' ($RESULT)" [ "$RESULT" = "sidr 1" ]

for mode in upstream module; do
	if [ $mode = module ]; then
		modprobe cm_portspace || { tap_fail "modprobe cm_portspace"; break; }
		# upstream: the lookup runs in init_net whatever the interface.
		c_only=af_s2 i_only=none all=af_s2
	else
		c_only=none i_only=- all=-
	fi

	listen af_s2 ib 2000 || { tap_fail "$mode: AF_IB listener in af_s2"; break; }
	send req $SID_IB
	expect "$mode: REQ on af_s2's interface, listener only in af_s2" $c_only
	stop_listeners

	listen - ib 2000 || { tap_fail "$mode: AF_IB listener in init_net"; break; }
	send req $SID_IB
	expect "$mode: REQ on af_s2's interface, listener only in init_net" $i_only
	stop_listeners

	ok=1
	for ns in af_s1 - af_s3 af_s2; do
		listen $ns ib 2000 || ok=
	done
	[ -n "$ok" ] || { tap_fail "$mode: AF_IB listeners in af_s1, af_s2, af_s3 and init_net"; break; }
	send req $SID_IB
	expect "$mode: REQ on af_s2's interface, listeners in four netns" $all
	stop_listeners

	listen af_s2 udp 7174 || { tap_fail "$mode: AF_IB UDP listener in af_s2"; break; }
	send sidr $SID_UDP
	expect "$mode: SIDR REQ on af_s2's interface, UDP listener only in af_s2" $c_only
	stop_listeners
done
tap_done
