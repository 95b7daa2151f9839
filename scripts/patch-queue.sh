#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Edit the hook patches as a git branch.
#
#   patch-queue.sh init <dir> [file...]   git repo of the pristine files that
#                                         the series (and each extra file)
#                                         touch, base commit tagged "pristine",
#                                         then one commit per patch (git am)
#   patch-queue.sh export <dir>           rewrite patches/ and patches/series
#                                         from the commits after "pristine"
#
# Edit, `git commit --amend` or `git rebase -i pristine` in <dir>, export,
# and check the result: <tree>/scripts/checkpatch.pl --strict patches/*.patch
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PRISTINE=${RDMAISO_CACHE:-$HOME/.cache/rdma-iso}/linux-7.3
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '5,13p' "$0" >&2; exit 2; }
shift 2

patches() { grep -v '^\s*\(#\|$\)' "$REPO/patches/series"; }

case $cmd in
init)
	[ ! -e "$dir" ] || { echo "error: $dir exists" >&2; exit 1; }
	mkdir -p "$dir"
	{
		patches | while read -r p; do
			sed -n 's@^+++ b/\([^\t ]*\).*@\1@p' "$REPO/patches/$p"
		done
		printf '%s\n' "$@"
	} | sort -u | while read -r f; do
		if [ -f "$PRISTINE/$f" ]; then
			mkdir -p "$dir/$(dirname "$f")"
			cp "$PRISTINE/$f" "$dir/$f"
		fi
	done
	git -C "$dir" init -q
	for k in user.name user.email; do
		git -C "$dir" config "$k" "$(git -C "$REPO" config "$k")"
	done
	git -C "$dir" add -A
	git -C "$dir" commit -qm "pristine linux-7.3 files"
	git -C "$dir" tag pristine
	patches | while read -r p; do
		git -C "$dir" am -q "$REPO/patches/$p"
	done
	git -C "$dir" log --oneline pristine..
	;;
export)
	rm -f "$REPO"/patches/[0-9][0-9][0-9][0-9]-*.patch
	git -C "$dir" format-patch -q -N --no-signature --zero-commit \
		-o "$REPO/patches" pristine..
	{
		echo "# Hook patches, applied in this order with patch -p1 onto linux-source-7.3."
		(cd "$REPO/patches" && ls [0-9][0-9][0-9][0-9]-*.patch)
	} >"$REPO/patches/series"
	cat "$REPO/patches/series"
	;;
*)
	sed -n '5,13p' "$0" >&2
	exit 2
	;;
esac
