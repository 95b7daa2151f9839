// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_objs - create verbs objects of one type until a count or a failure.
 *
 *   rdma_objs <device> <type> <count> [hold-seconds]
 *
 * type: ctx pd cq qp srq mr mw ah
 * Prints "created=N errno=E" (E = 0 if all were created) and, with
 * hold-seconds, keeps the objects that long before destroying them.
 * Exit status: 0 if all <count> were created, 1 otherwise, 2 on a setup
 * error unrelated to the type under test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#define MAXN 4096

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

int main(int argc, char **argv)
{
	static void *objs[MAXN];
	static char buf[MAXN][64];
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	struct ibv_cq *cq = NULL;
	const char *type;
	int n, hold, i, made = 0, err = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: %s <device> <type> <count> [hold]\n", argv[0]);
		return 2;
	}
	type = argv[2];
	n = atoi(argv[3]);
	hold = argc > 4 ? atoi(argv[4]) : 0;
	if (n < 0 || n > MAXN)
		return 2;

	if (strcmp(type, "ctx")) {
		ctx = open_dev(argv[1]);
		if (!ctx) {
			perror("ibv_open_device");
			return 2;
		}
		if (strcmp(type, "pd")) {
			pd = ibv_alloc_pd(ctx);
			if (!pd) {
				perror("ibv_alloc_pd");
				return 2;
			}
		}
		if (!strcmp(type, "qp")) {
			cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
			if (!cq) {
				perror("ibv_create_cq");
				return 2;
			}
		}
	}

	for (i = 0; i < n; i++) {
		void *o = NULL;

		errno = 0;
		if (!strcmp(type, "ctx")) {
			o = open_dev(argv[1]);
		} else if (!strcmp(type, "pd")) {
			o = ibv_alloc_pd(ctx);
		} else if (!strcmp(type, "cq")) {
			o = ibv_create_cq(ctx, 16, NULL, NULL, 0);
		} else if (!strcmp(type, "qp")) {
			struct ibv_qp_init_attr a = {
				.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
				.cap = { .max_send_wr = 4, .max_recv_wr = 4,
					 .max_send_sge = 1, .max_recv_sge = 1 },
			};
			o = ibv_create_qp(pd, &a);
		} else if (!strcmp(type, "srq")) {
			struct ibv_srq_init_attr a = {
				.attr = { .max_wr = 4, .max_sge = 1 },
			};
			o = ibv_create_srq(pd, &a);
		} else if (!strcmp(type, "mr")) {
			o = ibv_reg_mr(pd, buf[i], sizeof(buf[i]),
				       IBV_ACCESS_LOCAL_WRITE);
		} else if (!strcmp(type, "mw")) {
			o = ibv_alloc_mw(pd, IBV_MW_TYPE_1);
		} else if (!strcmp(type, "ah")) {
			struct ibv_ah_attr a = {
				.is_global = 1, .port_num = 1,
				.grh = { .sgid_index = 0, .hop_limit = 64 },
			};
			union ibv_gid gid;

			if (ibv_query_gid(ctx, 1, 0, &gid))
				return 2;
			a.grh.dgid = gid;
			o = ibv_create_ah(pd, &a);
		} else {
			fprintf(stderr, "unknown type %s\n", type);
			return 2;
		}
		if (!o) {
			err = errno ? errno : EIO;
			break;
		}
		objs[made++] = o;
	}
	printf("created=%d errno=%d\n", made, err);
	fflush(stdout);
	if (hold)
		sleep(hold);
	/* Destroy in reverse; process exit would release them too. */
	for (i = made - 1; i >= 0; i--) {
		if (!strcmp(type, "ctx"))
			ibv_close_device(objs[i]);
		else if (!strcmp(type, "pd"))
			ibv_dealloc_pd(objs[i]);
		else if (!strcmp(type, "cq"))
			ibv_destroy_cq(objs[i]);
		else if (!strcmp(type, "qp"))
			ibv_destroy_qp(objs[i]);
		else if (!strcmp(type, "srq"))
			ibv_destroy_srq(objs[i]);
		else if (!strcmp(type, "mr"))
			ibv_dereg_mr(objs[i]);
		else if (!strcmp(type, "mw"))
			ibv_dealloc_mw(objs[i]);
		else if (!strcmp(type, "ah"))
			ibv_destroy_ah(objs[i]);
	}
	return made == n ? 0 : 1;
}
