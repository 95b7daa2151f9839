#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Neighbour events reach only the rdma_cm IDs of their own network namespace
# (patch 0010).  rdma_cm keys its table of RoCE IDs to notify by (ifindex,
# destination IP), but an ifindex only names a netdev within its netns: on
# upstream 7.3 a neighbour update for the same IP on a netdev with the same
# ifindex in *another* netns sends RDMA_CM_EVENT_UNREACHABLE to the ID (an
# rping client here) and breaks its connection.
#
# ne_a <-> ne_a2 over a veth with an rxe on each end, an rping connection
# from ne_a to ne_a2; ne_b has a dummy netdev with the ifindex of ne_a's end.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
NSS=(ne_a ne_a2 ne_b)
CLI=/tmp/cm_netevent.cli

command -v rping >/dev/null || { echo "SKIP: rping not installed (rdmacm-utils)"; exit $KSFT_SKIP; }
modprobe dummy 2>/dev/null || { echo "SKIP: no dummy netdev"; exit $KSFT_SKIP; }

srv= cli=
cleanup() {
	[ -n "$cli" ] && kill "$cli" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	rdmaiso_cleanup "${NSS[@]}"
}
trap cleanup EXIT
rdmaiso_cleanup "${NSS[@]}"

rdmaiso_netns "${NSS[@]}" || exit 1
rdmaiso_veth ne_a nea0 10.9.0.1/24 ne_a2 nea1 10.9.0.2/24 || exit 1
rdmaiso_rxes rxe_nea0:nea0:ne_a rxe_nea1:nea1:ne_a2 || exit 1
ifx=$(ip -n ne_a -o link show nea0 | cut -d: -f1)
ip -n ne_b link add neb0 index "$ifx" type dummy && ip -n ne_b link set neb0 up || {
	echo "# cannot create a netdev with ifindex $ifx in ne_b"
	exit $KSFT_FAIL
}

tap_plan_begin
ip netns exec ne_a2 rping -s -a 10.9.0.2 -p 7471 >/dev/null 2>&1 &
srv=$!
ip netns exec ne_a ping -q -c 1 -W 10 10.9.0.2 >/dev/null 2>&1
sleep 2
# An endless ping-pong: it only ends on an error (or when killed).
ip netns exec ne_a rping -c -a 10.9.0.2 -p 7471 >"$CLI" 2>&1 &
cli=$!
connected=
for _ in $(seq 100); do
	if rdma res show cm_id 2>/dev/null | grep -q 'state CONNECT.*dst-addr 10.9.0.2:7471'; then
		connected=1
		break
	fi
	kill -0 "$cli" 2>/dev/null || break
	sleep 0.2
done
if [ -z "$connected" ]; then
	tap_fail "rping connects from ne_a to ne_a2"
	sed 's/^/# /' "$CLI"
	tap_done
	exit
fi
tap_ok "rping connects from ne_a to ne_a2"

# The same ifindex and IP in ne_b, with another MAC: NONE -> PERMANENT.
ip -n ne_b neigh add 10.9.0.2 lladdr 02:00:00:00:00:99 dev neb0 nud permanent
sleep 5
if kill -0 "$cli" 2>/dev/null; then
	tap_ok "a neighbour update in another netns (same ifindex and IP) leaves the connection alone"
else
	tap_fail "a neighbour update in another netns (same ifindex and IP) leaves the connection alone"
	sed 's/^/# /' "$CLI"
fi

# Control: the same update in ne_a itself must reach the ID.
ip -n ne_a neigh replace 10.9.0.2 lladdr 02:00:00:00:00:98 dev nea0 nud permanent
for _ in $(seq 75); do
	kill -0 "$cli" 2>/dev/null || break
	sleep 0.2
done
if ! kill -0 "$cli" 2>/dev/null && grep -q UNREACHABLE "$CLI"; then
	tap_ok "the same update in the ID's own netns reports RDMA_CM_EVENT_UNREACHABLE"
else
	tap_fail "the same update in the ID's own netns reports RDMA_CM_EVENT_UNREACHABLE"
	sed 's/^/# /' "$CLI"
fi
wait "$cli" 2>/dev/null
cli=
tap_done
