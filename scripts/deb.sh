#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make deb`: Debian packages of the project, collected in .deb/:
#
#   linux-image-<release>      the kernel (the rdma cgroup controller built in)
#                              and its modules, rdma_ns and cm_portspace among
#                              them; made by the kernel's own bindeb-pkg, with
#   linux-headers-<release>    (for out-of-tree modules) and linux-libc-dev
#                              (user-space API headers; not for a Debian host)
#   rdmaiso-tools (all)        /etc/modules-load.d/rdmaiso.conf, which loads
#                              rdma_ns and cm_portspace at boot, and the docs
#
# By default the kernel is the bench flavour (tinyconfig + configs/common.config
# + configs/bench.config: the project's features without debug options), built
# by `scripts/kbuild.sh bench` in $RDMAISO_CACHE/build-bench exactly as for
# `make bench`.  That configuration has only the drivers of the project's VM
# (virtio, 9p): it is right for trying the packages in such a VM, not for
# booting a real machine.  For a real host, start from a distribution
# configuration:
#
#   RDMAISO_BASE_CONFIG=/boot/config-$(uname -r) make deb
#
# which builds that configuration plus the options listed in deploy_fragment
# below, in $RDMAISO_CACHE/build-deb (the same overlaid source tree as the
# bench kernel).  See Documentation/admin-guide/deploy.rst.
#
# Environment:
#   RDMAISO_CACHE          cache directory (as for the other scripts)
#   RDMAISO_BASE_CONFIG    a distribution .config to build over (see above)
#   RDMAISO_LOCALVERSION   release suffix of such a build (default -rdmaiso)
#   RDMAISO_TOOLS_VERSION  version of rdmaiso-tools (default 0.<date>+g<commit>)
#   JOBS                   parallel jobs (default: nproc)
#   KDEB_PKGVERSION, KDEB_CHANGELOG_DIST, DEBEMAIL, DEBFULLNAME: as for the
#                          kernel's bindeb-pkg
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${RDMAISO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdma-iso}
PRISTINE="$CACHE/linux-7.3"
TREE="$CACHE/tree-bench"
JOBS=${JOBS:-$(nproc)}
. "$REPO/scripts/llvm-version.sh"
LLVM_SUFFIX=-$RDMAISO_LLVM
DEBDIR="$REPO/.deb"
BASE=${RDMAISO_BASE_CONFIG:-}
export PATH="$HOME/.cargo/bin:$PATH"
export KDEB_SOURCENAME=${KDEB_SOURCENAME:-linux-rdmaiso}
umask 022

say() { printf '  %-7s %s\n' "$1" "$2"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

for t in dpkg-buildpackage:dpkg-dev dh_testdir:debhelper dpkg-deb:dpkg; do
	command -v "${t%%:*}" >/dev/null ||
		die "'${t%%:*}' is missing. Run scripts/setup.sh (it installs the Debian package ${t#*:})."
done

# The options a deployable kernel needs on top of a distribution
# configuration.  Debug information is dropped: Rust modules with
# MODVERSIONS need gendwarfksyms, which needs it, and the packages stay small.
# The distribution's signing keys are not available: the build signs its
# modules with a key it generates (when the base configuration signs modules).
# The C helpers are inlined into Rust code (CONFIG_RUST_INLINE_HELPERS, which
# EXPERT shows): the rdma controller's charge path calls one per atomic.
deploy_fragment() {
	cat <<-EOF
		CONFIG_LOCALVERSION="${RDMAISO_LOCALVERSION--rdmaiso}"
		CONFIG_LOCALVERSION_AUTO=n
		CONFIG_SYSTEM_TRUSTED_KEYS=""
		CONFIG_SYSTEM_REVOCATION_KEYS=""
		CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"
		CONFIG_MODULE_SIG_ALL=y
		CONFIG_DEBUG_INFO_NONE=y
		CONFIG_MODVERSIONS=n
		CONFIG_RANDSTRUCT_NONE=y
		CONFIG_RUST=y
		CONFIG_EXPERT=y
		CONFIG_RUST_INLINE_HELPERS=y
		CONFIG_CGROUPS=y
		CONFIG_CGROUP_RDMA=y
		CONFIG_CGROUP_RDMA_RUST=y
		CONFIG_NET_NS=y
		CONFIG_INFINIBAND=m
		CONFIG_INFINIBAND_USER_ACCESS=m
		CONFIG_INFINIBAND_ADDR_TRANS=y
		CONFIG_RDMA_RXE=m
		CONFIG_VLAN_8021Q=m
		CONFIG_RDMAISO_RDMA_NS=m
		CONFIG_RDMAISO_CM_PORTSPACE=m
		CONFIG_RDMAISO_KUNIT_TEST=n
		CONFIG_RDMAISO_RDMA_NS_KUNIT_TEST=n
		CONFIG_RDMAISO_CM_PORTSPACE_KUNIT_TEST=n
	EOF
}
# What must hold after Kconfig had its say (y, m, or y|m).
REQUIRED="CONFIG_RUST=y CONFIG_CGROUP_RDMA=y CONFIG_CGROUP_RDMA_RUST=y CONFIG_NET_NS=y CONFIG_INFINIBAND=y|m
CONFIG_INFINIBAND_USER_ACCESS=y|m CONFIG_INFINIBAND_ADDR_TRANS=y
CONFIG_RDMAISO_RDMA_NS=m CONFIG_RDMAISO_CM_PORTSPACE=m"

mk() { make -C "$TREE" O="$OUT" LLVM=$LLVM_SUFFIX -j"$JOBS" "$@"; }

# 1. The kernel build tree.
if [ -z "$BASE" ]; then
	"$REPO/scripts/kbuild.sh" bench
	OUT="$CACHE/build-bench"
else
	[ -f "$BASE" ] || die "RDMAISO_BASE_CONFIG=$BASE: no such file"
	[ -f "$PRISTINE/Makefile" ] || die "no Linux 7.3 source in $PRISTINE. Run scripts/setup.sh."
	for t in clang$LLVM_SUFFIX ld.lld$LLVM_SUFFIX rustc bindgen pahole; do
		command -v "$t" >/dev/null || die "'$t' is missing. Run scripts/setup.sh."
	done
	"$REPO/scripts/overlay.sh" "$REPO" "$PRISTINE" "$TREE"
	OUT="$CACHE/build-deb"
	mkdir -p "$OUT"
	deploy_fragment >"$OUT/rdmaiso-deploy.config"
	# shellcheck disable=SC2046
	stamp=$({ echo "LLVM=$LLVM_SUFFIX"; cat "$BASE" "$OUT/rdmaiso-deploy.config" \
		"$REPO"/patches/*.patch $(find "$REPO" -name Kconfig -not -path "*/.git/*") \
		2>/dev/null; } | sha256sum | cut -c1-16)
	if [ ! -f "$OUT/.config" ] || [ "$(cat "$OUT/.rdmaiso-config" 2>/dev/null)" != "$stamp" ]; then
		say CONFIG "$BASE + the project's options (scripts/deb.sh)"
		cp "$BASE" "$OUT/.config"
		(cd "$TREE" && LLVM=$LLVM_SUFFIX scripts/kconfig/merge_config.sh -m -O "$OUT" \
			"$OUT/.config" "$OUT/rdmaiso-deploy.config" >/dev/null)
		mk -s olddefconfig >/dev/null
		echo "$stamp" >"$OUT/.rdmaiso-config"
	fi
fi
bad=
for r in $REQUIRED; do
	key=${r%%=*}
	grep -qE "^$key=(${r#*=})\$" "$OUT/.config" || bad="$bad $r"
done
[ -z "$bad" ] || die "Kconfig refused:$bad (in $OUT/.config; missing dependency?)"

# 2. bindeb-pkg: builds what is stale, then the packages (in $OUT/..).
release=$(mk -s kernelrelease)
log="$OUT/deb.log"
say DEB "$release: bindeb-pkg in ${OUT#"$CACHE"/} (log: $log)"
rm -f "$OUT/debian/files"
start=$(date +%s)
if ! DEB_BUILD_OPTIONS="terse${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" mk bindeb-pkg >"$log" 2>&1; then
	echo "error: bindeb-pkg failed; first errors from $log:" >&2
	grep -n -m 20 -E '(error|Error)[: []' "$log" >&2 || tail -n 30 "$log" >&2
	exit 1
fi
say DONE "bindeb-pkg in $(($(date +%s) - start))s"

mkdir -p "$DEBDIR"
rm -f "$DEBDIR"/*.deb "$DEBDIR"/*.buildinfo "$DEBDIR"/*.changes
version=$(dpkg-parsechangelog -l "$OUT/debian/changelog" -S Version)
# dpkg-buildpackage runs in $OUT and writes to its parent directory.
parent=$(dirname "$OUT")
[ -s "$OUT/debian/files" ] || die "bindeb-pkg listed no package ($OUT/debian/files)"
while read -r f _; do
	case $f in
	*.deb | *.buildinfo)
		if [ -f "$parent/$f" ]; then
			mv "$parent/$f" "$DEBDIR/"
		elif [ -f "$OUT/$f" ]; then
			mv "$OUT/$f" "$DEBDIR/"
		else
			die "bindeb-pkg made $f, but it is neither in $parent nor in $OUT"
		fi ;;
	esac
done <"$OUT/debian/files"
for f in "$parent/${KDEB_SOURCENAME}_${version}"_*.changes; do
	if [ -f "$f" ]; then mv "$f" "$DEBDIR/"; fi
done

image=
for f in "$DEBDIR"/linux-image-"$release"_*.deb; do
	if [ -f "$f" ]; then image=$f; fi
done
[ -n "$image" ] || die "no linux-image-$release package in $DEBDIR"
contents=$(dpkg-deb -c "$image")
for m in rdma_ns cm_portspace; do
	grep -qE "/$m\.ko(\.[a-z]+)?\$" <<<"$contents" ||
		die "$(basename "$image") has no $m module"
done

# 3. rdmaiso-tools (architecture all), with dpkg-deb.
if [ -n "${RDMAISO_TOOLS_VERSION:-}" ]; then
	tver=$RDMAISO_TOOLS_VERSION
else
	commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
	tver="0.$(date -u +%Y%m%d%H%M)+g$commit"
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/rdmaiso-tools"
doc="$root/usr/share/doc/rdmaiso-tools"
mkdir -p "$root/DEBIAN" "$root/etc/modules-load.d" "$doc"
cat >"$root/etc/modules-load.d/rdmaiso.conf" <<EOF
# RDMA container isolation (rdmaiso-tools): loaded at boot by
# systemd-modules-load.service.  See /usr/share/doc/rdmaiso-tools/deploy.rst.
#
# Network-namespace tags on QPs, AHs and rdma_cm IDs; RoCE source GIDs are
# restricted to the creator's namespace (audit instead: "options rdma_ns
# audit=1" in /etc/modprobe.d/).
rdma_ns
# rdma_cm port spaces per network namespace, /proc/net/rdma_cm_ports.
cm_portspace
EOF
for f in "$REPO"/README.md "$REPO"/Documentation/admin-guide/*.rst \
	 "$REPO"/Documentation/rdma_ns.rst "$REPO"/Documentation/cm_portspace.rst; do
	if [ -f "$f" ]; then cp "$f" "$doc/"; fi
done
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: rdmaiso (RDMA container isolation for Linux)

Files: *
License: GPL-2.0
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in /usr/share/common-licenses/GPL-2.
EOF
printf '%s\n' /etc/modules-load.d/rdmaiso.conf >"$root/DEBIAN/conffiles"
cat >"$root/DEBIAN/control" <<EOF
Package: rdmaiso-tools
Version: $tver
Architecture: all
Section: admin
Priority: optional
Maintainer: ${DEBFULLNAME:-rdmaiso} <${DEBEMAIL:-root@localhost}>
Depends: kmod
Recommends: rdma-core
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: RDMA container isolation: module loading and documentation
 Loads the rdma_ns (network-namespace tags, RoCE source-GID enforcement) and
 cm_portspace (per-namespace rdma_cm port spaces) kernel modules at boot
 through /etc/modules-load.d/rdmaiso.conf, and documents them, the rdma
 cgroup controller and their deployment.  The kernel that provides them is
 a linux-image package built by the project's "make deb".
EOF
tools="$DEBDIR/rdmaiso-tools_${tver}_all.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$tools" >/dev/null

# 4. What was made.
grep -q '^CONFIG_CGROUP_RDMA_RUST=y' "$OUT/.config" && echo "  kernel $release: rdma controller built in; rdma_ns, cm_portspace modules"
for f in "$DEBDIR"/*.deb; do
	say DEB "${f#"$REPO"/} ($(du -h "$f" | cut -f1))"
done
if [ -z "$BASE" ]; then
	echo "  note: the bench configuration boots the project's VM, not a real machine;"
	echo "        for a host: RDMAISO_BASE_CONFIG=/boot/config-\$(uname -r) make deb"
fi
