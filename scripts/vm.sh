#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a built kernel under QEMU with virtme-ng: the host's root file system
# read-only over 9p, this repository writable (and the working directory),
# the project's modules available to modprobe.
#
# usage: vm.sh [-f test|bench] [command...]
#   Without a command, opens a root shell.  With one, runs it and returns its
#   exit status.  KVM is used only if RDMAISO_KVM=1 (nested KVM does not
#   work on this project's machines: see README).  RDMAISO_VM_CPUS: vCPUs (2).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${RDMAISO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdma-iso}
FLAVOR=test
if [ "${1:-}" = "-f" ]; then
	FLAVOR=$2
	shift 2
fi
OUT="$CACHE/build-$FLAVOR"
VNG="$CACHE/venv/bin/vng"

[ -x "$VNG" ] || { echo "error: virtme-ng missing; run scripts/setup.sh" >&2; exit 1; }
[ -f "$OUT/arch/x86/boot/bzImage" ] ||
	{ echo "error: no $FLAVOR kernel in $OUT; run make" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "error: qemu-system-x86_64 missing; run scripts/setup.sh" >&2; exit 1; }

accel=--disable-kvm
[ "${RDMAISO_KVM:-0}" = 1 ] && accel=

args=(--run "$OUT" $accel --force-9p --user root --cpus "${RDMAISO_VM_CPUS:-2}" --memory "${RDMAISO_VM_MEM:-3G}"
      --rwdir "$REPO" --cwd "$REPO"
      --append "panic_on_oops=1 kunit.stats_enabled=1 ${RDMAISO_VM_APPEND:-}")
# RDMAISO_VM_VERBOSE=1: also print the kernel console (boot messages, panics).
[ "${RDMAISO_VM_VERBOSE:-0}" = 1 ] && args+=(--verbose)
# RDMAISO_VM_QEMU_OPTS: extra QEMU options (scripts/bench.sh: -icount).
[ -n "${RDMAISO_VM_QEMU_OPTS:-}" ] && args+=(--qemu-opts "$RDMAISO_VM_QEMU_OPTS")

export PATH="$CACHE/venv/bin:$PATH"
if [ $# -eq 0 ]; then
	exec "$VNG" "${args[@]}"
fi
# vng passes --exec to a shell inside the guest; keep the caller's quoting.
exec "$VNG" "${args[@]}" --exec "$*"
