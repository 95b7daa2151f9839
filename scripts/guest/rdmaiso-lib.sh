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

# Values of the key=value files of the rdma controller (rdma.max, rdma.current,
# rdma.peak, rdma.events: one line per device).
# rdmaiso_word <words> <key>: the value of <key>= among <words>.
rdmaiso_word() {
	local w
	for w in $1; do
		[[ $w == "$2="* ]] && { echo "${w#*=}"; return 0; }
	done
	return 1
}
# rdmaiso_val <file> <device> <key>: the value of <key> on <device>'s line.
rdmaiso_val() {
	local line
	line=$(grep "^$2 " "$1" 2>/dev/null) || return 1
	rdmaiso_word "$line" "$3"
}

# Waiting without starting a process (process start-up is slow under TCG).
# rdmaiso_nap <seconds>: sleep: a read that times out, from a fifo that
# nobody writes (made on first use, unlinked at once, kept open).
rdmaiso_nap() {
	if [ -z "${__rdmaiso_napfd:-}" ]; then
		local f=/tmp/rdmaiso-nap.$$.$RANDOM
		mkfifo "$f" && exec {__rdmaiso_napfd}<>"$f" && rm -f "$f" || return 1
	fi
	read -r -t "$1" -u "$__rdmaiso_napfd" _
	return 0
}

# rdmaiso_has <file> <text>: does a line of <file> contain <text>?
rdmaiso_has() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l; do [[ $l == *"$2"* ]] && return 0; done <"$1"
	return 1
}

# rdmaiso_waitfor <seconds> <text> <file...>: until every file has a line
# that contains <text>; 1 if the time runs out.
rdmaiso_waitfor() {
	local n=$(($1 * 5)) t=$2 f ok
	shift 2
	while :; do
		ok=1
		for f; do rdmaiso_has "$f" "$t" || { ok=0; break; }; done
		[ $ok = 1 ] && return 0
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		rdmaiso_nap 0.2
	done
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

# rdmaiso_rxe <rxe name> <netdev> [ns]: an rxe device on a netdev.  Tried
# three times: two first devices of a namespace added at once race in rxe
# (rxe_net_ipv4_init() looks for the namespace's UDP tunnel socket, then
# creates it; the loser's bind of port 4791 fails: "Failed to create IPv4
# UDP tunnel", EPERM).
rdmaiso_rxe() {
	local name=$1 netdev=$2 ns=${3:--} pfx=() i
	modprobe rdma_rxe || return 1
	[ "$ns" = - ] || pfx=(ip netns exec "$ns")
	for i in 1 2 3; do
		"${pfx[@]}" rdma link add "$name" type rxe netdev "$netdev" && return 0
		"${pfx[@]}" test -e "/sys/class/infiniband/$name" && return 1
		rdmaiso_nap 0.5
	done
	return 1
}

# rdmaiso_rxes <name>:<netdev>[:<ns>] ...: rxe devices, all at once (each
# takes seconds under TCG: in shared mode a device gets a sysfs copy in every
# namespace); 1 if any failed.
rdmaiso_rxes() {
	local a n d ns p rc=0 pids=()
	for a in "$@"; do
		IFS=: read -r n d ns <<<"$a"
		rdmaiso_rxe "$n" "$d" "${ns:--}" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

# rdmaiso_gid_entries <ns> <dir> [<n>]: "<index> <value>" for each file of a
# port's GID directory <dir> (gids/, gid_attrs/ndevs/, gid_attrs/types/) that
# a task of netns <ns> ("-": the initial one) can read in its sysfs, all of
# them or the first <n> indexes (reading 1024 sysfs files is slow under TCG).
rdmaiso_gid_entries() {
	local pfx=() files=("$2"/*)
	[ "$1" != - ] && pfx=(ip netns exec "$1")
	[ -n "${3:-}" ] && mapfile -t files < <(seq -f "$2/%g" 0 $(($3 - 1)))
	"${pfx[@]}" grep -H . "${files[@]}" 2>/dev/null | sed 's|^.*/\([0-9]*\):|\1 |'
}

# rdmaiso_two_containers <p> <sA> <sB>: two containers sharing one rxe
# device, as on one NIC behind a router: namespaces <p>_a and <p>_b, a veth
# <p>_v0/<p>_v1 in the initial one; VLAN 10 of <p>_v0 in <p>_a (10.<sA>.0.1/24)
# and VLAN 20 in <p>_b (10.<sB>.0.1/24), routed through <p>_v1.10/.20
# (10.<s>.0.254) in the initial namespace (IP forwarding is the caller's);
# rxe_<p> on <p>_v0.  rxe receives only in the namespaces of its devices'
# netdevs, so each container also gets rxe_<p>_sa/_sb on a dummy <p>_d.
rdmaiso_two_containers() {
	local p=$1 x n v s
	rdmaiso_netns "${p}_a" "${p}_b" || return 1
	ip link add "${p}_v0" type veth peer name "${p}_v1" && ip link set "${p}_v0" up &&
		ip link set "${p}_v1" up || return 1
	for x in "a:10:$2" "b:20:$3"; do
		IFS=: read -r n v s <<<"$x"
		ip link add link "${p}_v0" name "${p}_v0.$v" type vlan id "$v" &&
			ip link set "${p}_v0.$v" netns "${p}_$n" &&
			ip -n "${p}_$n" addr add "10.$s.0.1/24" dev "${p}_v0.$v" &&
			ip -n "${p}_$n" link set "${p}_v0.$v" up &&
			ip -n "${p}_$n" route add default via "10.$s.0.254" &&
			ip link add link "${p}_v1" name "${p}_v1.$v" type vlan id "$v" &&
			ip addr add "10.$s.0.254/24" dev "${p}_v1.$v" &&
			ip link set "${p}_v1.$v" up &&
			ip -n "${p}_$n" link add "${p}_d" type dummy &&
			ip -n "${p}_$n" link set "${p}_d" up || return 1
	done
	rdmaiso_rxes "rxe_$p:${p}_v0" "rxe_${p}_sa:${p}_d:${p}_a" "rxe_${p}_sb:${p}_d:${p}_b"
}

# rdmaiso_gid <rxe name> <netdev>: the index of the device's RoCE v2 GID of
# <netdev>'s IPv4 address, once the GID table has it (one grep and one awk
# per try: process start-up is slow under TCG).
rdmaiso_gid() {
	local d=/sys/class/infiniband/$1/ports/1 i
	for _ in $(seq 100); do
		i=$(grep -H . "$d"/gid_attrs/ndevs/* "$d"/gid_attrs/types/* "$d"/gids/* 2>/dev/null |
		    awk -v want="$2" '
			{ f = $0; sub(/:.*/, "", f); v = substr($0, length(f) + 2)
			  n = split(f, p, "/"); i = p[n]; k = p[n - 1] }
			k == "ndevs" && v == want { nd[i] = 1 }
			k == "types" && v == "RoCE v2" { t[i] = 1 }
			k == "gids" && v ~ /^0000:0000:0000:0000:0000:ffff:/ { g[i] = 1 }
			END { for (i in nd) if (t[i] && g[i]) { print i; exit } }')
		[ -n "$i" ] && { echo "$i"; return 0; }
		rdmaiso_nap 0.2
	done
	return 1
}

# rdmaiso_at_rest <line of rdma.current>: every count on the line is 0 and
# no SL or UP is in use (sl=none up=none); 1 otherwise, or if the line holds
# fewer than two keys.
rdmaiso_at_rest() {
	awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "=")
		if (kv[1] == "sl" || kv[1] == "up") { if (kv[2] != "none") bad = 1 }
		else if (kv[2] != "0") bad = 1 } }
	     END { exit bad || NF < 3 }' <<<"$1"
}

# rdmaiso_cleanup <ns...>: delete the rxe links the namespaces see, all at
# once (each takes seconds under TCG: in shared mode a device has a sysfs
# copy in every namespace), then the namespaces.  In shared mode that is
# every rxe link of the system.
rdmaiso_cleanup() {
	local ns l k shared='' pids=()
	local -A seen=()
	# in shared mode every namespace lists every device: delete each once
	rdma system show netns 2>/dev/null | grep -q shared && shared=1
	for ns in "$@"; do
		for l in $(ip netns exec "$ns" rdma link show 2>/dev/null |
			   sed -n 's@^link \([^/]*\)/.*@\1@p'); do
			k=$l
			[ -n "$shared" ] || k=$ns/$l
			[ -n "${seen[$k]:-}" ] && continue
			seen[$k]=1
			ip netns exec "$ns" rdma link del "$l" 2>/dev/null &
			pids+=($!)
		done
	done
	[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
	for ns in "$@"; do
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
