/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Taking an RC QP through INIT to RTR towards itself, for the selftest and
 * benchmark helpers (rdma_objs.c, tests/bench/verbs_loop.c).
 */
#ifndef RDMAISO_RC_QP_H
#define RDMAISO_RC_QP_H

#include <string.h>
#include <infiniband/verbs.h>

/* RESET -> INIT on port 1; 0 or an errno. */
static inline int rc_qp_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .port_num = 1,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

/* INIT -> RTR with address vector av, towards the QP itself; 0 or an errno. */
static inline int rc_qp_rtr(struct ibv_qp *qp, const struct ibv_ah_attr *av)
{
	struct ibv_qp_attr a;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = qp->qp_num;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr = *av;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
			     IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			     IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			     IBV_QP_MIN_RNR_TIMER);
}

#endif /* RDMAISO_RC_QP_H */
