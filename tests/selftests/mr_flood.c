// SPDX-License-Identifier: GPL-2.0
/*
 * mr_flood - register and deregister MRs of one length in a loop, as a
 * tenant trying to disturb the mr_bytes accounting of its siblings would.
 *
 *   mr_flood <device> <length> <seconds> [odp]
 *
 * <length> (strtoull, any base) is passed to the kernel as it is, whatever
 * memory backs it: lengths larger than the 64 KiB buffer only exist to be
 * refused.  With "odp", the registrations ask for IBV_ACCESS_ON_DEMAND and
 * the buffer address is NULL (an implicit ODP MR for SIZE_MAX).
 * Prints "regs=N fail=F errno=E eagain=A": registrations that succeeded, that
 * failed, the errno of the last failure (0 if none), and how many failures
 * were EAGAIN.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>

#include "open_dev.h"

int main(int argc, char **argv)
{
	static char buf[65536] __attribute__((aligned(4096)));
	unsigned long regs = 0, fail = 0, eagain = 0;
	int access = IBV_ACCESS_LOCAL_WRITE, last = 0;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	unsigned long long len;
	void *addr = buf;
	time_t end;

	if (argc < 4) {
		fprintf(stderr, "usage: %s <device> <length> <seconds> [odp]\n", argv[0]);
		return 2;
	}
	len = strtoull(argv[2], NULL, 0);
	end = time(NULL) + atoi(argv[3]);
	if (argc > 4 && !strcmp(argv[4], "odp")) {
		access |= IBV_ACCESS_ON_DEMAND;
		addr = NULL;
	}
	ctx = open_dev(argv[1]);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd) {
		fprintf(stderr, "no PD on %s\n", argv[1]);
		return 2;
	}
	do {
		for (int i = 0; i < 64; i++) {
			mr = ibv_reg_mr(pd, addr, (size_t)len, access);
			if (mr) {
				regs++;
				ibv_dereg_mr(mr);
				continue;
			}
			fail++;
			last = errno;
			eagain += errno == EAGAIN;
		}
	} while (time(NULL) < end);
	printf("regs=%lu fail=%lu errno=%d eagain=%lu\n", regs, fail, last, eagain);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return 0;
}
