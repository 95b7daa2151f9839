# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for tests that run inside the VM: TAP output, network namespaces
# joined by veth pairs, and rxe devices on them.  Source this file.

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4
__tap_n=0
__tap_fail=0

tap_plan_begin() { echo "TAP version 13"; }
tap_ok() { __tap_n=$((__tap_n + 1)); echo "ok $__tap_n $*"; }
tap_fail() {
	__tap_n=$((__tap_n + 1)); __tap_fail=$((__tap_fail + 1))
	echo "not ok $__tap_n $*"
}
tap_skip() { __tap_n=$((__tap_n + 1)); echo "ok $__tap_n $1 # SKIP ${2:-}"; }
tap_check() {	# tap_check <description> <command...>: pass if the command succeeds
	local what=$1
	shift
	if "$@"; then tap_ok "$what"; else tap_fail "$what"; fi
}
tap_done() {
	echo "1..$__tap_n"
	[ "$__tap_fail" -eq 0 ]
}

# rdmaiso_netns <ns...>: create network namespaces with loopback up.
rdmaiso_netns() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	done
}

# rdmaiso_veth <nsA> <ifA> <addrA/len> <nsB> <ifB> <addrB/len>
# A veth pair between two namespaces ("-" means the initial one), addressed
# and up.
rdmaiso_veth() {
	local nsa=$1 ifa=$2 ada=$3 nsb=$4 ifb=$5 adb=$6
	ip link add "$ifa" type veth peer name "$ifb" || return 1
	__rdmaiso_place "$nsa" "$ifa" "$ada" && __rdmaiso_place "$nsb" "$ifb" "$adb"
}

__rdmaiso_place() {
	local ns=$1 ifn=$2 addr=$3 pfx=()
	if [ "$ns" != - ]; then
		ip link set "$ifn" netns "$ns" || return 1
		pfx=(ip netns exec "$ns")
	fi
	"${pfx[@]}" ip addr add "$addr" dev "$ifn" &&
		"${pfx[@]}" ip link set "$ifn" up
}

# rdmaiso_rxe <rxe name> <netdev> [ns]: an rxe device on a netdev.
rdmaiso_rxe() {
	local name=$1 netdev=$2 ns=${3:--}
	modprobe rdma_rxe || return 1
	if [ "$ns" = - ]; then
		rdma link add "$name" type rxe netdev "$netdev"
	else
		ip netns exec "$ns" rdma link add "$name" type rxe netdev "$netdev"
	fi
}

# rdmaiso_cleanup <ns...>: delete rxe links, then the namespaces.
rdmaiso_cleanup() {
	local ns l
	for ns in "$@"; do
		for l in $(ip netns exec "$ns" rdma link show 2>/dev/null |
			   sed -n 's@^link \([^/]*\)/.*@\1@p'); do
			ip netns exec "$ns" rdma link del "$l" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
