#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Count, per leaf Rust file of the three components at a git revision, the
# unsafe blocks, unsafe impls, unsafe fns (not the #[export] entry points),
# calls to bindings:: functions and all bindings:: uses, outside the test
# modules; then #[export] entry points, C glue, rust/ overlay and patch sizes.
# The before/after figures of issue 16.
#
# usage: leaf-unsafe.sh [rev]   (default HEAD)
set -u
cd "$(dirname "$0")/.." || exit 1
rev=${1:-HEAD}
T=(0 0 0 0 0 0)
for f in $(git ls-tree -r --name-only "$rev" rdma_cgroup rdma_ns cm_portspace | grep '\.rs$'); do
	t=$(git show "$rev:$f" | sed '/^#\[cfg(not(rdmaiso_included))\]/,$d; /^mod tests {/,$d')
	blk=$(printf '%s\n' "$t" | grep -o 'unsafe {' | wc -l)
	imp=$(printf '%s\n' "$t" | grep -c 'unsafe impl')
	ufn=$(printf '%s\n' "$t" | grep 'unsafe fn' | grep -vc 'extern')
	call=$(printf '%s\n' "$t" | grep -oE 'bindings::[a-z_0-9]+\(' | wc -l)
	bnd=$(printf '%s\n' "$t" | grep -o 'bindings::' | wc -l)
	l=$(printf '%s\n' "$t" | wc -l)
	printf "%-36s unsafe-blocks=%3s unsafe-impl=%2s unsafe-fn=%2s bindings-calls=%2s bindings-all=%2s lines=%4s\n" "$f" "$blk" "$imp" "$ufn" "$call" "$bnd" "$l"
	i=0; for v in $blk $imp $ufn $call $bnd $l; do T[i]=$((T[i] + v)); i=$((i+1)); done
done
echo "TOTAL (non-test code): unsafe-blocks=${T[0]} unsafe-impl=${T[1]} unsafe-fn=${T[2]} bindings-calls=${T[3]} bindings-all=${T[4]} lines=${T[5]}"
printf "export=%s no_mangle=%s\n" "$(git grep -c '#\[export\]' "$rev" -- rdma_cgroup rdma_ns cm_portspace | awk -F: '{s+=$NF} END{print s}')" "$(git grep -c 'no_mangle' "$rev" -- rdma_cgroup rdma_ns cm_portspace | awk -F: '{s+=$NF} END{print s+0}')"
for f in $(git ls-tree -r --name-only "$rev" rdma_cgroup rdma_ns cm_portspace | grep '\.c$'); do printf "%s: %s C lines\n" "$f" "$(git show "$rev:$f" | wc -l)"; done
printf "rust/kernel + helpers lines: "; git ls-tree -r --name-only "$rev" rust | xargs -I{} git show "$rev":{} | wc -l
printf "patch lines: "; git ls-tree -r --name-only "$rev" patches | grep patch$ | xargs -I{} git show "$rev":{} | wc -l
