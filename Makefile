# SPDX-License-Identifier: GPL-2.0
#
# Developer entry points of the RDMA container isolation project.  The kernel
# build itself is Kbuild's: scripts/kbuild.sh lays this repository onto the
# cached Linux 7.3 tree (see scripts/overlay.map) and runs make there.
#
#   make setup          install everything on a fresh Debian 12 machine
#   make                build the test kernel and the project's modules
#   make bench          benchmarks: ours vs upstream (scripts/bench.sh)
#   make vm [CMD=...]   boot the test kernel; a shell, or run CMD and exit
#   make demo           build, boot, play the demonstration
#   make check [T=glob] build, boot once, run KUnit + selftests, report TAP
#   make stress [DURATION=s] [SEED=n]  concurrent stress with chaos (600 s)
#   make pyverbs-upstream  record which rdma-core tests pass on pristine 7.3
#   make deb            Debian packages in .deb/ (scripts/deb.sh)
#   make clean          forget the build outputs (keeps the source cache)

export CMD T DURATION SEED

.PHONY: all kernel bench setup vm check stress pyverbs-upstream demo deb clean

all: kernel

setup:
	@scripts/setup.sh

kernel:
	@scripts/kbuild.sh test

bench:
	@scripts/bench.sh

vm: kernel
	@scripts/vm.sh $${CMD:+"$$CMD"}

check:
	@scripts/check.sh "$${T:-*}"

stress:
	@scripts/stress.sh

pyverbs-upstream:
	@scripts/pyverbs-upstream.sh

demo:
	@scripts/demo.sh

deb:
	@scripts/deb.sh

clean:
	@rm -rf "$${RDMAISO_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/rdma-iso}"/build-* .check
