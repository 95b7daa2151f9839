#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: build what is stale, boot the test kernel, play the demo.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
"$REPO/scripts/kbuild.sh" test
exec "$REPO/scripts/vm.sh" scripts/guest/demo.sh
