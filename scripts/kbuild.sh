#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel and the project's modules in the cached tree.
#
# usage: kbuild.sh {test|bench|upstream|bench-plain|upstream-plain} [make targets...]
#
# The source tree lives in $RDMAISO_CACHE/tree (a copy of the pristine
# linux-source-7.3 with the project laid on top by overlay.sh; the bench
# flavor has its own, tree-bench, so that a test build and a bench build can
# run at the same time); objects go to $RDMAISO_CACHE/build-<flavor>.
# Everything is incremental.
#
# "upstream" builds the pristine source itself (no patch, no project
# directory) with the bench configuration: the reference the benchmarks
# compare the bench kernel with.
#
# Every flavor is built with the clang of rustc's LLVM major version (22 for
# rustc 1.95; scripts/llvm-version.sh) and
# CONFIG_RUST_INLINE_HELPERS (configs/inline.config): the C helpers that Rust
# code calls for atomics, RCU, refcounts are inlined into it by cross-language
# LTO instead of being a function call each.  The -plain flavors of bench and
# upstream leave that option out (same compiler), for the benchmark's "without
# inlined helpers" table (scripts/bench.sh, RDMAISO_BENCH_PLAIN=1).
set -euo pipefail

FLAVOR=${1:?"usage: kbuild.sh test|bench|upstream|bench-plain|upstream-plain [targets]"}
shift
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${RDMAISO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdma-iso}
PRISTINE="$CACHE/linux-7.3"
TREE="$CACHE/tree"
OUT="$CACHE/build-$FLAVOR"
JOBS=${JOBS:-$(nproc)}
export PATH="$HOME/.cargo/bin:$PATH"
. "$REPO/scripts/llvm-version.sh"
LLVM_SUFFIX=-$RDMAISO_LLVM
INLINE=1
case $FLAVOR in
*-plain) INLINE= ;;
esac

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# 1. Tools.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' is missing. Run scripts/setup.sh (it installs $2)."
}
need clang$LLVM_SUFFIX "the Debian package clang$LLVM_SUFFIX"
need ld.lld$LLVM_SUFFIX "the Debian package lld$LLVM_SUFFIX"
need llvm-ar$LLVM_SUFFIX "the Debian package llvm$LLVM_SUFFIX"
need flex "the Debian package flex"
need bison "the Debian package bison"
need bc "the Debian package bc"
need pahole "the Debian package dwarves"
need rustc "Rust through rustup"
need bindgen "bindgen-cli through cargo"
[ -f "$PRISTINE/Makefile" ] ||
	die "no Linux 7.3 source in $PRISTINE. Run scripts/setup.sh."
[ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ] ||
	die "rust-src is missing. Run scripts/setup.sh (rustup component add rust-src)."

# 2. Overlay.
CFG=${FLAVOR%-plain}
[ "$CFG" = bench ] && TREE="$CACHE/tree-bench"
if [ "$CFG" = upstream ]; then
	TREE=$PRISTINE
	CFG=bench
else
	"$REPO/scripts/overlay.sh" "$REPO" "$PRISTINE" "$TREE"
fi

mk() { make -C "$TREE" O="$OUT" LLVM=$LLVM_SUFFIX -j"$JOBS" "$@"; }

# 3. Configuration, regenerated when a fragment (or a Kconfig we add) changes.
[ -f "$REPO/configs/$CFG.config" ] || die "unknown flavor '$FLAVOR'"
mkdir -p "$OUT"
frags="$REPO/configs/common.config $REPO/configs/$CFG.config"
[ -n "$INLINE" ] && frags="$frags $REPO/configs/inline.config"
if [ "${FLAVOR%-plain}" = upstream ]; then
	# The project's own options do not exist upstream.
	grep -hv 'RDMAISO\|CGROUP_RDMA_RUST' $frags >"$OUT/rdmaiso-upstream.config"
	frags="$OUT/rdmaiso-upstream.config"
fi
# shellcheck disable=SC2046,SC2086
stamp=$({ echo "LLVM=$LLVM_SUFFIX"; cat $frags "$REPO"/patches/*.patch \
	$(find "$REPO" -name Kconfig -not -path "*/.git/*") 2>/dev/null; } | sha256sum | cut -c1-16)
if [ ! -f "$OUT/.config" ] || [ "$(cat "$OUT/.rdmaiso-config" 2>/dev/null)" != "$stamp" ]; then
	echo "  CONFIG  $FLAVOR (tinyconfig + ${frags//$REPO\//})"
	mk -s tinyconfig >/dev/null
	# shellcheck disable=SC2086
	(cd "$TREE" && LLVM=$LLVM_SUFFIX scripts/kconfig/merge_config.sh -m -O "$OUT" \
		"$OUT/.config" $frags >/dev/null)
	mk -s olddefconfig >/dev/null
	# merge_config.sh silently drops what Kconfig refuses: check it all.
	bad=
	# shellcheck disable=SC2086
	while IFS='=' read -r key val; do
		case "$val" in
		n) grep -q "^$key=" "$OUT/.config" && bad="$bad $key=n" ;;
		*) grep -qx "$key=$val" "$OUT/.config" || bad="$bad $key=$val" ;;
		esac
	done < <(grep -h '^CONFIG_' $frags)
	[ -z "$bad" ] || die "Kconfig refused:$bad (missing dependency?)"
	echo "$stamp" >"$OUT/.rdmaiso-config"
fi

# 4. Build.
[ $# -gt 0 ] || set -- bzImage modules
log="$OUT/build.log"
echo "  MAKE    $FLAVOR: $* (log: $log)"
start=$(date +%s)
if ! mk "$@" >"$log" 2>&1; then
	echo "error: the $FLAVOR build failed; first errors from $log:" >&2
	grep -n -m 20 -E '(error|Error)[: []' "$log" >&2 || tail -n 30 "$log" >&2
	exit 1
fi
echo "  DONE    $FLAVOR in $(( $(date +%s) - start ))s"
