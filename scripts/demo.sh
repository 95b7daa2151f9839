#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: build what is stale, boot the test kernel, play the demo.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
"$REPO/scripts/kbuild.sh" test
# The helpers (rdma_objs, cm_ports) run in the VM from the shared tree.
make -s -C "$REPO/tests/selftests"
exec "$REPO/scripts/vm.sh" scripts/guest/demo-guest.sh
