#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lay the project onto the cached kernel tree: copy the pristine files the
# hook patches touch into a staging area, apply patches/series there, add the
# project's directories as mapped in scripts/overlay.map, then copy into the
# tree only the files whose contents changed, so that make's timestamps stay
# meaningful and builds stay incremental.  Files placed by an earlier run and
# no longer produced are restored from the pristine tree (or removed).
#
# usage: overlay.sh <repo> <pristine> <tree>
set -euo pipefail

# Absolute paths; the pristine one with symlinks resolved, or "cp -a" below
# would copy a symlink and the overlay would write into the pristine source.
REPO=$(cd "$1" && pwd) PRISTINE=$(cd "$2" && pwd -P) TREE=$(realpath -m "$3")
STAGE="$TREE.stage"
MANIFEST="$TREE.manifest"

if [ ! -f "$TREE/Makefile" ]; then
	echo "  TREE    $TREE (first copy of the pristine source)"
	rm -rf "$TREE.tmp"
	cp -a "$PRISTINE" "$TREE.tmp"
	mv "$TREE.tmp" "$TREE"
fi

rm -rf "$STAGE"
mkdir -p "$STAGE"

series="$REPO/patches/series"
if [ -f "$series" ]; then
	{ grep -v '^\s*\(#\|$\)' "$series" || true; } | while read -r p; do
		sed -n 's@^+++ b/\([^\t ]*\).*@\1@p' "$REPO/patches/$p" |
		while read -r f; do
			if [ -f "$PRISTINE/$f" ] && [ ! -f "$STAGE/$f" ]; then
				mkdir -p "$STAGE/$(dirname "$f")"
				cp "$PRISTINE/$f" "$STAGE/$f"
			fi
		done
		patch -s -p1 -d "$STAGE" --no-backup-if-mismatch -r - <"$REPO/patches/$p" ||
			{ echo "error: patch $p does not apply to $PRISTINE" >&2; exit 1; }
	done
fi

grep -v '^\s*\(#\|$\)' "$REPO/scripts/overlay.map" | while read -r src dst; do
	[ -e "$REPO/$src" ] || continue
	if [ -d "$REPO/$src" ]; then
		mkdir -p "$STAGE/$dst"
		# Drop build products that a previous in-repo build may have left.
		(cd "$REPO/$src" && find . -type f ! -name '*.o' ! -name '*.ko' \
			! -name '*.cmd' ! -name '*.mod*' ! -name '.*' -print0 |
			cpio -0pdm --quiet "$STAGE/$dst")
	else
		mkdir -p "$STAGE/$(dirname "$dst")"
		cp -p "$REPO/$src" "$STAGE/$dst"
	fi
done

(cd "$STAGE" && find . -type f | sed 's@^\./@@' | sort) >"$MANIFEST.new"

changed=0
while read -r f; do
	if ! cmp -s "$STAGE/$f" "$TREE/$f"; then
		mkdir -p "$TREE/$(dirname "$f")"
		cp "$STAGE/$f" "$TREE/$f"
		changed=$((changed + 1))
	fi
done <"$MANIFEST.new"

if [ -f "$MANIFEST" ]; then
	comm -23 "$MANIFEST" "$MANIFEST.new" | while read -r f; do
		if [ -f "$PRISTINE/$f" ]; then
			cmp -s "$PRISTINE/$f" "$TREE/$f" || cp "$PRISTINE/$f" "$TREE/$f"
		else
			rm -f "$TREE/$f"
		fi
	done
fi
mv "$MANIFEST.new" "$MANIFEST"
rm -rf "$STAGE"
echo "  OVERLAY $(wc -l <"$MANIFEST") files, $changed updated"
