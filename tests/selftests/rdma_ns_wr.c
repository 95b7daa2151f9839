// SPDX-License-Identifier: GPL-2.0
/*
 * Side paths of rdma_ns's source-GID check, for rdma_ns.sh (rxe only).
 *
 *   rdma_ns_wr <dev> ud <ah_gid> <av_gid> <dest_ipv4> [<traffic_class>]
 *	A UD QP on port 1 posts one send whose WQE carries its own address
 *	vector (the legacy rxe ABI, ah_num 0): source GID index <av_gid>,
 *	destination <dest_ipv4>.  The AH handed to ibv_post_send() is created
 *	with <ah_gid> (a GID the caller may use) towards itself, then turned
 *	into a legacy one in the provider's private struct.  Prints
 *	"status=N" (the completion's ibv_wc_status, or "status=none" after
 *	20 s), or "errno=N" if the set-up fails.
 *
 *   rdma_ns_wr <dev> udah <gid> <dest_ipv4> <traffic_class>
 *	The same send through an ordinary AH (ah_num set) from GID index <gid>
 *	to <dest_ipv4> with that traffic class; "errno=N" if the AH is refused.
 *
 *   rdma_ns_wr <dev> raw
 *	Creates a raw packet QP; prints "errno=N" (0: created).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <infiniband/verbs.h>

#include "open_dev.h"

#define QKEY 0x11111111

/* The traffic class of the legacy address vector of "ud" */
static unsigned int wr_tclass;

/*
 * rdma-core's providers/rxe/rxe.h (v22 .. v60): the provider's AH, and the
 * address vector of include/uapi/rdma/rdma_user_rxe.h that it copies into
 * a UD WQE when ah_num is 0.
 */
struct urxe_global_route {
	union ibv_gid dgid;
	uint32_t flow_label;
	uint8_t sgid_index;
	uint8_t hop_limit;
	uint8_t traffic_class;
};

struct urxe_av {
	uint8_t port_num;
	uint8_t network_type;	/* RXE_NETWORK_TYPE_IPV4 = 1 */
	uint8_t dmac[6];
	struct urxe_global_route grh;
	union {
		struct sockaddr_in _sockaddr_in;
		struct sockaddr_in6 _sockaddr_in6;
	} sgid_addr, dgid_addr;
};

struct urxe_ah {
	struct ibv_ah ibv_ah;
	struct urxe_av av;
	int ah_num;
};

static int fail(const char *what)
{
	int e = errno ? errno : EIO;

	fprintf(stderr, "rdma_ns_wr: %s: %s\n", what, strerror(e));
	printf("errno=%d\n", e);
	return 1;
}

static int raw(struct ibv_context *ctx)
{
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	struct ibv_cq *cq = pd ? ibv_create_cq(ctx, 4, NULL, NULL, 0) : NULL;
	struct ibv_qp_init_attr a = {
		.qp_type = IBV_QPT_RAW_PACKET,
		.cap = { .max_send_wr = 1, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_qp *qp;
	int e;

	if (!cq)
		return fail("pd/cq");
	a.send_cq = a.recv_cq = cq;
	errno = 0;
	qp = ibv_create_qp(pd, &a);
	e = qp ? 0 : (errno ? errno : EIO);
	if (qp)
		ibv_destroy_qp(qp);
	printf("errno=%d\n", e);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	return 0;
}

static int ud_qp_to_rts(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .port_num = 1, .qkey = QKEY,
	};

	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_QKEY))
		return -1;
	a.qp_state = IBV_QPS_RTR;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE))
		return -1;
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = 0;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
}

static int ud(struct ibv_context *ctx, int ah_gid, int av_gid,
	      const char *dest, int legacy)
{
	static char buf[64];
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	struct ibv_cq *cq = pd ? ibv_create_cq(ctx, 4, NULL, NULL, 0) : NULL;
	struct ibv_mr *mr = cq ? ibv_reg_mr(pd, buf, sizeof(buf),
					    IBV_ACCESS_LOCAL_WRITE) : NULL;
	struct ibv_qp_init_attr qa = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_UD,
		.cap = { .max_send_wr = 2, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_ah_attr aa = {
		.is_global = 1, .port_num = 1,
		.grh = { .sgid_index = ah_gid, .hop_limit = 64 },
	};
	struct ibv_sge sge = { .length = 16 };
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	union ibv_gid sgid;
	struct urxe_ah *pah;
	struct ibv_qp *qp;
	struct ibv_ah *ah;
	struct ibv_wc wc;
	struct in_addr d;
	time_t end;
	int n;

	if (!mr)
		return fail("pd/cq/mr");
	if (inet_pton(AF_INET, dest, &d) != 1) {
		errno = EINVAL;
		return fail(dest);
	}
	qp = ibv_create_qp(pd, &qa);
	if (!qp)
		return fail("create UD QP");
	if (ud_qp_to_rts(qp))
		return fail("UD QP to RTS");

	if (!legacy) {
		/* An ordinary AH to dest: its traffic class is policed */
		aa.grh.dgid.raw[10] = 0xff;
		aa.grh.dgid.raw[11] = 0xff;
		memcpy(&aa.grh.dgid.raw[12], &d, 4);
		aa.grh.traffic_class = wr_tclass;
		ah = ibv_create_ah(pd, &aa);
		if (!ah)
			return fail("create AH");
		goto post;
	}

	/* An AH the caller may create: from ah_gid to itself */
	if (ibv_query_gid(ctx, 1, ah_gid, &aa.grh.dgid))
		return fail("query AH GID");
	ah = ibv_create_ah(pd, &aa);
	if (!ah)
		return fail("create AH");

	/* Now make it a legacy AH whose address vector goes into the WQE */
	if (ibv_query_gid(ctx, 1, av_gid, &sgid))
		return fail("query AV GID");
	pah = (struct urxe_ah *)ah;
	memset(&pah->av, 0, sizeof(pah->av));
	pah->av.port_num = 1;
	pah->av.network_type = 1;
	memcpy(pah->av.dmac, "\x02\x00\x00\x00\x00\x0b", 6);
	pah->av.grh.dgid.raw[10] = 0xff;
	pah->av.grh.dgid.raw[11] = 0xff;
	memcpy(&pah->av.grh.dgid.raw[12], &d, 4);
	pah->av.grh.sgid_index = av_gid;
	pah->av.grh.hop_limit = 64;
	pah->av.grh.traffic_class = wr_tclass;
	pah->av.sgid_addr._sockaddr_in.sin_family = AF_INET;
	memcpy(&pah->av.sgid_addr._sockaddr_in.sin_addr, &sgid.raw[12], 4);
	pah->av.dgid_addr._sockaddr_in.sin_family = AF_INET;
	pah->av.dgid_addr._sockaddr_in.sin_addr = d;
	pah->ah_num = 0;

post:
	sge.addr = (uintptr_t)buf;
	sge.lkey = mr->lkey;
	wr.wr.ud.ah = ah;
	wr.wr.ud.remote_qpn = 0x123;
	wr.wr.ud.remote_qkey = QKEY;
	if (ibv_post_send(qp, &wr, &bad))
		return fail("post send");

	end = time(NULL) + 20;
	do {
		n = ibv_poll_cq(cq, 1, &wc);
		if (n < 0) {
			errno = EIO;
			return fail("poll CQ");
		}
		if (!n)
			usleep(10000);
	} while (!n && time(NULL) < end);
	if (n)
		printf("status=%d\n", wc.status);
	else
		printf("status=none\n");

	ibv_destroy_qp(qp);
	ibv_destroy_ah(ah);
	ibv_dereg_mr(mr);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	return 0;
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;

	if (argc < 3 || (strcmp(argv[2], "raw") && argc != 6 && argc != 7)) {
		fprintf(stderr, "usage: %s <dev> ud <ah_gid> <av_gid> <ipv4> [<tclass>]\n"
			"       %s <dev> udah <gid> <ipv4> <tclass>\n"
			"       %s <dev> raw\n", argv[0], argv[0], argv[0]);
		return 2;
	}
	ctx = open_dev(argv[1]);
	if (!ctx)
		return fail(argv[1]);
	if (!strcmp(argv[2], "raw"))
		return raw(ctx);
	if (!strcmp(argv[2], "udah")) {
		wr_tclass = strtoul(argv[5], NULL, 0);
		return ud(ctx, atoi(argv[3]), 0, argv[4], 0);
	}
	if (argc == 7)
		wr_tclass = strtoul(argv[6], NULL, 0);
	if (!strcmp(argv[2], "ud"))
		return ud(ctx, atoi(argv[3]), atoi(argv[4]), argv[5], 1);
	fprintf(stderr, "rdma_ns_wr: unknown mode %s\n", argv[2]);
	return 2;
}
