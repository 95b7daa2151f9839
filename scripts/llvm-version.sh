# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by the build scripts: RDMAISO_LLVM, the major version of the clang,
# lld and llvm tools the kernels are built with (make LLVM=-$RDMAISO_LLVM).
# It is the LLVM of rustc unless set in the environment: cross-language
# inlining of the C helpers into Rust code (CONFIG_RUST_INLINE_HELPERS)
# needs clang and rustc of the same LLVM major version.  Debian 12 carries
# clang 22 (bookworm-security) for rustc 1.95's LLVM 22.
if [ -z "${RDMAISO_LLVM:-}" ]; then
	RDMAISO_LLVM=$(PATH="$HOME/.cargo/bin:$PATH" rustc -vV 2>/dev/null |
		sed -n 's/^LLVM version: \([0-9][0-9]*\)\..*/\1/p')
	[ -n "$RDMAISO_LLVM" ] || {
		echo "error: cannot tell rustc's LLVM version (rustc -vV); set RDMAISO_LLVM" >&2
		exit 1
	}
fi
