// SPDX-License-Identifier: GPL-2.0
/*
 * verbs_loop - end-to-end cost of creating and destroying verbs objects.
 *
 *   verbs_loop <device> <iterations> [gid index]
 *
 * Prints "<type> <ns per create+destroy>" for pd, cq, mr (4 KiB), qp, and
 * qprtr (an RC QP created, taken to INIT and RTR with an address vector from
 * and to the GID of that index, default 0, destroyed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>

#include "../selftests/rc_qp.h"

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int to_rtr(struct ibv_qp *qp, int gid)
{
	struct ibv_ah_attr av = {
		.is_global = 1, .port_num = 1,
		.grh = { .hop_limit = 64, .sgid_index = gid },
	};

	if (ibv_query_gid(qp->context, 1, gid, &av.grh.dgid))
		return -1;
	return rc_qp_init(qp) || rc_qp_rtr(qp, &av);
}

int main(int argc, char **argv)
{
	static char buf[4096] __attribute__((aligned(4096)));
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	const char *types[] = { "pd", "cq", "mr", "qp", "qprtr" };
	int i, t, n, gid = 0;

	if (argc != 3 && argc != 4)
		return 2;
	n = atoi(argv[2]);
	if (argc == 4)
		gid = atoi(argv[3]);
	list = ibv_get_device_list(NULL);
	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), argv[1]))
			ctx = ibv_open_device(list[i]);
	if (!ctx)
		return 2;
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!pd || !cq)
		return 2;

	for (t = 0; t < 5; t++) {
		double start = now_ns();

		for (i = 0; i < n; i++) {
			void *o = NULL;

			switch (t) {
			case 0:
				o = ibv_alloc_pd(ctx);
				if (o)
					ibv_dealloc_pd(o);
				break;
			case 1:
				o = ibv_create_cq(ctx, 16, NULL, NULL, 0);
				if (o)
					ibv_destroy_cq(o);
				break;
			case 2:
				o = ibv_reg_mr(pd, buf, sizeof(buf),
					       IBV_ACCESS_LOCAL_WRITE);
				if (o)
					ibv_dereg_mr(o);
				break;
			case 3:
			case 4: {
				struct ibv_qp_init_attr a = {
					.send_cq = cq, .recv_cq = cq,
					.qp_type = IBV_QPT_RC,
					.cap = { .max_send_wr = 4,
						 .max_recv_wr = 4,
						 .max_send_sge = 1,
						 .max_recv_sge = 1 },
				};

				o = ibv_create_qp(pd, &a);
				if (o && t == 4 && to_rtr(o, gid)) {
					ibv_destroy_qp(o);
					o = NULL;
				}
				if (o)
					ibv_destroy_qp(o);
				break;
			}
			}
			if (!o) {
				perror(types[t]);
				return 1;
			}
		}
		printf("%s %.0f\n", types[t], (now_ns() - start) / n);
	}
	return 0;
}
