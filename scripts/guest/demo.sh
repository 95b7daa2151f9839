#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demonstration run by `make demo` inside the VM.
#
# Today (foundation): two containers' network namespaces joined by a veth
# pair, one soft-RoCE (rxe) device in each, and an rdma_cm ping-pong (rping)
# between them; a table of what each namespace sees.  The full isolation
# scenario (cgroup limits, per-netns port spaces, GID enforcement) grows here
# as the components land.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"

A=demo_a B=demo_b
trap 'rdmaiso_cleanup $A $B' EXIT
fail() { echo "DEMO FAILED: $*"; exit 1; }

rdmaiso_netns $A $B || fail "cannot create network namespaces"
rdmaiso_veth $A va 10.10.0.1/24 $B vb 10.10.0.2/24 || fail "cannot create veth pair"
rdmaiso_rxe rxe_a va $A || fail "cannot add rxe on va in $A"
rdmaiso_rxe rxe_b vb $B || fail "cannot add rxe on vb in $B"

ip netns exec $A rping -s -a 10.10.0.1 -C 10 -v >/tmp/rping_srv.log 2>&1 &
srv=$!
sleep 2
ip netns exec $B timeout 60 rping -c -a 10.10.0.1 -C 10 -v >/tmp/rping_cli.log 2>&1
cli=$?
wait $srv
srvrc=$?
pings=$(grep -c 'ping data' /tmp/rping_cli.log)

printf '\n%-8s %-10s %-14s %-10s %s\n' netns netdev address rdma_dev "rping"
printf '%-8s %-10s %-14s %-10s %s\n' $A va 10.10.0.1 rxe_a "server exit $srvrc"
printf '%-8s %-10s %-14s %-10s %s\n' $B vb 10.10.0.2 rxe_b "client exit $cli, $pings pings"
echo
[ "$cli" -eq 0 ] && [ "$srvrc" -eq 0 ] && [ "$pings" -eq 10 ] ||
	fail "rping between $B and $A (client $cli, server $srvrc, $pings/10 pings)"
echo "DEMO PASSED: RDMA traffic between two network namespaces over rxe"
