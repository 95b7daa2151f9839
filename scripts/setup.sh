#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One-shot, idempotent set-up of a fresh Debian 12 (bookworm) machine for
# building and testing the project: Debian packages, the Linux 7.3 source
# (from trixie-backports, pinned low), rust-src, bindgen-cli and virtme-ng.
#
# Environment:
#   RDMAISO_CACHE  cache directory (default: ${XDG_CACHE_HOME:-~/.cache}/rdma-iso)
set -euo pipefail

CACHE=${RDMAISO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdma-iso}
SERIES=7.3
BINDGEN_VERSION=0.73.2
VNG_VERSION=1.42

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

SUDO=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || die "run as root or install sudo"
	SUDO=sudo
fi

mkdir -p "$CACHE"

# 1. trixie-backports, pinned low so nothing else is upgraded from it, and
#    bookworm-backports (the machine image's qemu-utils comes from there, and
#    qemu-system-x86 must match it).
src=/etc/apt/sources.list.d/rdmaiso-trixie-backports.sources
pin=/etc/apt/preferences.d/rdmaiso-trixie-backports
if [ ! -f "$src" ]; then
	say "adding trixie-backports (pin 100) for linux-source-$SERIES"
	$SUDO tee "$src" >/dev/null <<EOT
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	$SUDO tee "$pin" >/dev/null <<EOT
Package: *
Pin: release n=trixie-backports
Pin-Priority: 100
EOT
	stamp_update=1
fi

# clang, lld and llvm of rustc's LLVM major version (scripts/llvm-version.sh).
. "$(dirname "$0")/llvm-version.sh"
L=$RDMAISO_LLVM
PKGS="build-essential flex bison bc libelf-dev libssl-dev cpio kmod dwarves
python3-venv libclang-$L-dev clang-$L lld-$L llvm-$L rdma-core ibverbs-utils rdmacm-utils ibverbs-providers
libibverbs-dev librdmacm-dev perftest iproute2 busybox-static xz-utils rsync tcpdump
iputils-ping procps runc debhelper libdw-dev python3-pyverbs"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ] || [ -n "${stamp_update:-}" ]; then
	say "apt-get update"
	$SUDO apt-get update -qq
fi
if [ -n "$missing" ]; then
	apt-cache show "clang-$L" >/dev/null 2>&1 ||
		die "no Debian package clang-$L (LLVM $L is the LLVM of rustc; see scripts/llvm-version.sh)"
	say "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null
fi

# qemu-system-x86 must be of the same release as any qemu-utils present.
if ! command -v qemu-system-x86_64 >/dev/null; then
	qv=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
	case "$qv" in
	*bpo12*) qt="-t bookworm-backports" ;;
	*) qt= ;;
	esac
	say "installing qemu-system-x86 ${qt}"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends $qt qemu-system-x86 qemu-system-data >/dev/null
fi

# 2. The Linux 7.3 source, any 7.3.y revision the suite serves today.
SRC="$CACHE/linux-$SERIES"
if [ ! -f "$SRC/Makefile" ]; then
	say "fetching linux-source-$SERIES"
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -qq "linux-source-$SERIES") ||
		die "apt-get download linux-source-$SERIES failed (is trixie-backports reachable?)"
	dpkg -x "$tmp"/linux-source-"$SERIES"_*.deb "$tmp/x"
	rm -rf "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	say "unpacking into $SRC"
	tar -xJf "$tmp"/x/usr/src/linux-source-"$SERIES".tar.xz -C "$SRC.tmp" \
		--strip-components=1
	grep -q "^PATCHLEVEL = ${SERIES#*.}\$" "$SRC.tmp/Makefile" ||
		die "unpacked source is not $SERIES"
	rm -rf "$SRC"
	mv "$SRC.tmp" "$SRC"
	rm -rf "$tmp"
fi

# 3. Rust: rust-src for core, and a recent bindgen.
command -v rustup >/dev/null || [ -x "$HOME/.cargo/bin/rustup" ] ||
	die "rustup not found (install Rust with rustup first)"
export PATH="$HOME/.cargo/bin:$PATH"
rustup component list --installed | grep -q '^rust-src' ||
	{ say "rustup component add rust-src"; rustup component add rust-src; }
rustup component list --installed | grep -q '^clippy' ||
	rustup component add clippy rustfmt
if ! bindgen --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	say "cargo install bindgen-cli $BINDGEN_VERSION (~2 min)"
	cargo install --locked --quiet "bindgen-cli@$BINDGEN_VERSION"
fi

# 4. virtme-ng in a venv.
VENV="$CACHE/venv"
if ! "$VENV/bin/vng" --version >/dev/null 2>&1; then
	say "installing virtme-ng $VNG_VERSION into $VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q "virtme-ng==$VNG_VERSION"
fi

say "done: source in $SRC, vng in $VENV/bin"
