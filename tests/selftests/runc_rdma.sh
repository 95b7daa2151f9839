#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A real container runtime: runc (Debian's package, cgroupfs driver) runs a
# container from an OCI bundle whose linux.resources.rdma limits an rxe
# device to {"hcaHandles": 2, "hcaObjects": 10}.  runc writes the upstream
# syntax ("<dev> hca_handle=2 hca_object=10") into the container's
# rdma.max; a process in the container is refused verbs objects with EAGAIN
# exactly at the limit, while the host is not limited.
#
# The bundle's root file system is the VM's / (the host's, read-only),
# bind-mounted without its submounts; the helpers are bind-mounted on /mnt,
# and the device's uverbs node is created by runc (linux.devices) and
# allowed in the device controller.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DIR/../.." && pwd)
# shellcheck source=scripts/guest/rdmaiso-lib.sh
. "$REPO/scripts/guest/rdmaiso-lib.sh"
OBJS="$DIR/build/rdma_objs"
CG=/sys/fs/cgroup
DEV=rxe_runc
CT=rdmaiso_runc
CGPATH=/rdmaiso_runc
export PATH="$PATH:/usr/sbin:/sbin"

skip() { echo "SKIP: $*"; exit "$KSFT_SKIP"; }
RUNC=$(command -v runc) || skip "runc is not installed (Debian package runc; scripts/setup.sh installs it)"
[ -x "$OBJS" ] || skip "$OBJS not built (make -C tests/selftests)"
command -v python3 >/dev/null || skip "python3 is needed to edit the OCI config"
mountpoint -q $CG || mount -t cgroup2 none $CG
[ "$(stat -f -c %T $CG)" = cgroup2fs ] || skip "$CG is not cgroup v2"
grep -qw rdma $CG/cgroup.controllers || skip "no rdma controller"

SUBTREE0=$(cat $CG/cgroup.subtree_control)
W=$(mktemp -d /tmp/rdmaiso-runc.XXXXXX) || exit 1
B=$W/bundle
STATE=$W/state
runc_() { "$RUNC" --root "$STATE" "$@"; }

cleanup() {
	runc_ kill "$CT" KILL >/dev/null 2>&1
	runc_ delete -f "$CT" >/dev/null 2>&1
	mountpoint -q "$B/rootfs" && { umount "$B/rootfs" || umount -l "$B/rootfs"; }
	mountpoint -q "$STATE" && umount "$STATE"
	rmdir "$CG$CGPATH" 2>/dev/null
	rdma link del $DEV 2>/dev/null
	ip link del rc_v0 2>/dev/null
	# Never remove through the bind mount of /.
	mountpoint -q "$B/rootfs" || rm -rf --one-file-system "$W"
	# runc enabled controllers in the root cgroup for the container's path.
	# shellcheck disable=SC2013
	for c in $(cat $CG/cgroup.subtree_control); do
		[[ " $SUBTREE0 " == *" $c "* ]] || echo "-$c" >$CG/cgroup.subtree_control 2>/dev/null
	done
}
trap cleanup EXIT
rdma link del $DEV 2>/dev/null
ip link del rc_v0 2>/dev/null
rmdir "$CG$CGPATH" 2>/dev/null
# runc keeps its state (--root) in a tmpfs of its own.
mkdir -p "$STATE" "$B/rootfs" && mount -t tmpfs -o size=16m,mode=0700 rdmaiso-runc "$STATE" || exit 1

ip link add rc_v0 type veth peer name rc_v1 && ip link set rc_v0 up && ip link set rc_v1 up || exit 1
rdmaiso_rxe $DEV rc_v0 || exit 1

# The uverbs character device of $DEV.
uv=
for d in /sys/class/infiniband_verbs/uverbs*; do
	[ "$(cat "$d/ibdev" 2>/dev/null)" = $DEV ] && uv=$d
done
[ -n "$uv" ] || { echo "no uverbs device for $DEV"; exit 1; }
IFS=: read -r MAJ MIN <"$uv/dev"
UVNODE=/dev/infiniband/$(basename "$uv")
echo "# $DEV: $UVNODE ($MAJ:$MIN); $("$RUNC" --version | head -n 1)"

# The bundle: `runc spec`, then edited.  The container runs the probes and
# reports on stdout (runc create passes its stdio through); the first one
# holds its objects for a while so that the host can read rdma.current.
mount --bind / "$B/rootfs" && mount -o remount,bind,ro "$B/rootfs" || exit 1
(cd "$B" && runc_ spec) || exit 1
python3 - "$B/config.json" "$DEV" "$UVNODE" "$MAJ" "$MIN" "$DIR/build" "$CGPATH" <<'EOF' || exit 1
import json, sys
path, dev, node, major, minor, build, cgpath = sys.argv[1:]
major, minor = int(major), int(minor)
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c",
    f"/mnt/rdma_objs {dev} qp 20 10; /mnt/rdma_objs {dev} ctx 3; echo done"]
c["root"] = {"path": "rootfs", "readonly": True}
c["hostname"] = "rdmaiso-runc"
c["mounts"].append({"destination": "/mnt", "type": "bind", "source": build,
                    "options": ["rbind", "ro", "nosuid", "nodev"]})
lx = c["linux"]
lx["cgroupsPath"] = cgpath
lx["devices"] = [{"path": node, "type": "c", "major": major, "minor": minor,
                  "fileMode": 0o666, "uid": 0, "gid": 0}]
res = lx.setdefault("resources", {})
res.setdefault("devices", []).append(
    {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rw"})
res["rdma"] = {dev: {"hcaHandles": 2, "hcaObjects": 10}}
json.dump(c, open(path, "w"), indent=2)
EOF
echo "# linux.resources.rdma: $(python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["linux"]["resources"]["rdma"]))' "$B/config.json")"

line() { grep "^$DEV " "$1" 2>/dev/null; }
val() { rdmaiso_val "$1" "$DEV" "$2"; }
tap_plan_begin

# runc create sets the cgroup up (limits included) before the process runs.
created=0
runc_ create --bundle "$B" "$CT" </dev/null >"$W/out" 2>&1 && created=1
if [ $created = 0 ] && grep -q pivot_root "$W/out"; then
	echo "# pivot_root refused; retrying with --no-pivot"
	runc_ delete -f "$CT" >/dev/null 2>&1
	runc_ create --no-pivot --bundle "$B" "$CT" </dev/null >"$W/out" 2>&1 && created=1
fi
[ $created = 1 ] || sed 's/^/# /' "$W/out"
tap_check "runc create: container $CT in cgroup $CGPATH" test $created = 1
[ $created = 1 ] || { tap_done; exit "$KSFT_FAIL"; }

l=$(line "$CG$CGPATH/rdma.max")
echo "# $CGPATH/rdma.max: $l"
tap_check "runc wrote the upstream syntax: rdma.max has hca_handle=2 hca_object=10 for $DEV" \
	test "$(val "$CG$CGPATH/rdma.max" hca_handle)/$(val "$CG$CGPATH/rdma.max" hca_object)" = 2/10
tap_check "the keys runc did not name stay max" \
	test "$(echo "$l" | tr ' ' '\n' | grep -v -e "^$DEV\$" -e hca_handle= -e hca_object= | grep -vc '=max$')" = 0

runc_ start "$CT" >>"$W/out" 2>&1 || echo "# runc start failed"
rdmaiso_waitfor 120 created= "$W/out" || true
cur_obj=$(val "$CG$CGPATH/rdma.current" hca_object)
cur_qp=$(val "$CG$CGPATH/rdma.current" qp)
rdmaiso_waitfor 120 done "$W/out" || true
sed 's/^/# container: /' "$W/out"
res=$(grep -m1 created= "$W/out")
n=${res#created=}
n=${n%% *}
tap_check "in the container, QPs are refused with EAGAIN at hcaObjects=10 ($res)" \
	test "${res#created=* }" = errno=11 -a "${n:-0}" -gt 0
tap_check "rdma.current showed hca_object=10 (the limit) and qp=$n while they were held (hca_object=$cur_obj qp=$cur_qp)" \
	test "$cur_obj/$cur_qp" = "10/$n"
ev=$(val "$CG$CGPATH/rdma.events" hca_object.max)
tap_check "rdma.events counts the refusal (hca_object.max=$ev)" test "${ev:-0}" -ge 1
res=$(grep created= "$W/out" | sed -n 2p)
tap_check "in the container, a third user context is refused with EAGAIN at hcaHandles=2 ($res)" \
	test "$res" = "created=2 errno=11"
out=$("$OBJS" $DEV ctx 3)
tap_check "outside the container $DEV is not limited ($out)" test "$out" = "created=3 errno=0"

runc_ delete -f "$CT" >/dev/null 2>&1
tap_check "runc delete removes the container's cgroup" test ! -d "$CG$CGPATH"

tap_done
