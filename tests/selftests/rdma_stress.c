// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_stress - one worker of the concurrent stress test (rdma_stress.sh).
 *
 *   rdma_stress [-t SECONDS] [-s SEED] [-u MAXUP] [-P PORT] DEV:IP...
 *
 * Until SECONDS have passed (default 60) or SIGTERM, it runs rounds: open a
 * context on one of the devices DEV (rxe over a VLAN whose address in this
 * network namespace is IP), then a random sequence of creations and
 * destructions of every verbs object type (PD, CQ, RC and UD QPs taken to
 * RTR with this namespace's GID or another namespace's and a random Service
 * Level, SRQ, MR with rereg, MW, AH, XRCD, WQ, flow), UD sends to itself,
 * rdma_cm rounds (listen on IP:PORT, connect to it, one message each way,
 * disconnect), then destroy what is left, or close the context with its
 * objects alive (the kernel cleans up), or leave it to exit.
 *
 * Refusals are expected (the stress test lowers limits, deletes devices and
 * namespaces, unloads modules): they are counted by kind.  Violations are
 * what must never happen, and are counted and printed:
 *   - with -u MAXUP (the worker stays in a cgroup whose effective up= set is
 *     0-MAXUP): an AH or an RTR with this namespace's GID succeeds with an SL
 *     whose UP (SL & 7) is above MAXUP, or fails with EPERM with one below;
 *   - an AH or an RTR with another namespace's GID succeeds while rdma_ns was
 *     loaded the whole time (same /sys/module/rdma_ns inode before and after)
 *     and the entry was that GID the whole time (read before and after);
 *   - a message (UD send to itself, rdma_cm send) arrives altered.
 *
 * rdma_ns shows a task only its own namespace's GID entries, so the worker
 * reads the table from the initial network namespace (setns() there and
 * back) to find another namespace's GID; it must run as root.
 *
 * Prints one line of counts at the end: "ops=N ok=N eagain=N ...", then
 * "errno E=N ..." for the other errors.  Exit status: 0, 1 if a violation
 * was seen, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "xorshift.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_DEVS	4
#define MAX_OBJS	16
#define MAX_ERRNO	256
#define MSG_LEN		64
#define UD_GRH		40

static volatile sig_atomic_t stop;
static int max_up = -1;
static unsigned short cm_port = 7471;
/* This task's network namespace and the initial one (/proc/1/ns/net). */
static int own_net = -1, init_net = -1;

static struct {
	const char *name;
	struct in_addr ip;
} devs[MAX_DEVS];
static int ndevs;

/*
 * Counters, printed at the end; shared with the child that runs an rdma_cm
 * round (the parent waits for it).
 */
struct counters {
	unsigned long ops, ok, eagain, eperm, eaddrnotavail, nodev, unsup,
		other, rounds, abandoned, ud_sent, ud_recv, cm_conn, cm_data,
		cm_fail, timeouts, foreign, foreign_stale, violations;
	unsigned long errs[MAX_ERRNO];
};

static struct counters *cnt;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* A number in [0, m): the high half of a 64 x 32 bit product. */
static unsigned int below(unsigned int m)
{
	return (unsigned int)(((rnd() >> 32) * m) >> 32);
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void __attribute__((format(printf, 1, 2))) violation(const char *fmt, ...)
{
	va_list ap;

	cnt->violations++;
	printf("VIOLATION ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Counts the outcome of one call: err is 0 or an errno. */
static int count(int err)
{
	cnt->ops++;
	switch (err) {
	case 0:
		cnt->ok++;
		break;
	case EAGAIN:
		cnt->eagain++;
		break;
	case EPERM:
		cnt->eperm++;
		break;
	case EADDRNOTAVAIL:
		cnt->eaddrnotavail++;
		break;
	case ENODEV: case EIO: case ENXIO: case ENETDOWN: case ENETUNREACH:
		cnt->nodev++;
		break;
	case EOPNOTSUPP: case ENOSYS: case EPROTONOSUPPORT:
		cnt->unsup++;
		break;
	default:
		cnt->other++;
		if (err > 0 && err < MAX_ERRNO)
			cnt->errs[err]++;
	}
	return err;
}

static int err_of(int ret)
{
	return ret ? (errno ? errno : EIO) : 0;
}

/* The inode of /sys/module/rdma_ns, 0 if the module is not loaded. */
static ino_t rdma_ns_ino(void)
{
	struct stat st;

	return stat("/sys/module/rdma_ns", &st) ? 0 : st.st_ino;
}

/*
 * The GIDs of a round: this namespace's address and another's, and the
 * other's entry as the initial namespace read it.
 */
struct gids {
	int own, foreign;
	struct ibv_gid_entry fe;
};

/* Enters network namespace fd; a failure ends the worker. */
static void enter_net(int fd)
{
	if (setns(fd, CLONE_NEWNET)) {
		perror("setns");
		exit(2);
	}
}

/* Reads GID entry idx as a task of the initial namespace sees it. */
static int query_gid_init(struct ibv_context *ctx, int idx,
			  struct ibv_gid_entry *e)
{
	int ret;

	enter_net(init_net);
	ret = ibv_query_gid_ex(ctx, 1, idx, e, 0);
	enter_net(own_net);
	return ret;
}

/* Finds the RoCE v2 GIDs of the device's table (-1: none). */
static struct gids find_gids(struct ibv_context *ctx, struct in_addr ip)
{
	struct gids g = { .own = -1, .foreign = -1 };
	struct ibv_port_attr pa;
	int i, nf = 0;

	if (ibv_query_port(ctx, 1, &pa))
		return g;
	for (i = 0; i < pa.gid_tbl_len; i++) {
		struct ibv_gid_entry e;
		const uint8_t *r;

		if (query_gid_init(ctx, i, &e))
			continue;
		if (e.gid_type != IBV_GID_TYPE_ROCE_V2)
			continue;
		r = e.gid.raw;
		/* IPv4-mapped: ::ffff:a.b.c.d */
		if (r[10] != 0xff || r[11] != 0xff || r[0] || r[8])
			continue;
		if (!memcmp(r + 12, &ip.s_addr, 4)) {
			g.own = i;
		} else if (below(++nf) == 0) {
			g.foreign = i;
			g.fe = e;
		}
	}
	return g;
}

/* The objects of one round. */
struct round {
	struct ibv_context *ctx;
	struct gids gid;
	struct ibv_pd *pd[MAX_OBJS];
	struct ibv_cq *cq[MAX_OBJS];
	struct ibv_qp *qp[MAX_OBJS];
	struct ibv_srq *srq[MAX_OBJS];
	struct ibv_mr *mr[MAX_OBJS];
	void *buf[MAX_OBJS];
	struct ibv_mw *mw[MAX_OBJS];
	struct ibv_ah *ah[MAX_OBJS];
	struct ibv_xrcd *xrcd[MAX_OBJS];
	struct ibv_wq *wq[MAX_OBJS];
	struct ibv_flow *flow[MAX_OBJS];
};

/* A free slot of an array of pointers, or -1. */
static int slot(void **a)
{
	int i;

	for (i = 0; i < MAX_OBJS; i++)
		if (!a[i])
			return i;
	return -1;
}

/* A random live entry of an array of pointers, or -1. */
static int pick(void **a)
{
	int i, k = 0, found = -1;

	for (i = 0; i < MAX_OBJS; i++)
		if (a[i] && below(++k) == 0)
			found = i;
	return found;
}

#define SLOT(arr)	slot((void **)(arr))
#define PICK(arr)	pick((void **)(arr))

/*
 * An address vector from this namespace's GID (own) or another's, with
 * SL sl; -1 if the table has no such GID.
 */
static int make_av(struct round *r, int own, int sl, struct ibv_ah_attr *av)
{
	int idx = own ? r->gid.own : r->gid.foreign;

	if (idx < 0)
		return -1;
	memset(av, 0, sizeof(*av));
	av->is_global = 1;
	av->port_num = 1;
	av->sl = sl;
	av->grh.sgid_index = idx;
	av->grh.hop_limit = 64;
	if (!own) {
		av->grh.dgid = r->gid.fe.gid;
		return 0;
	}
	if (ibv_query_gid(r->ctx, 1, idx, &av->grh.dgid))
		return -1;
	return 0;
}

/*
 * Whether entry idx still holds the other namespace's GID that the round
 * found: only then does a success with it mean a violation.  The chaos
 * deletes and re-creates namespaces and devices, and an index may be reused.
 */
static int foreign_unchanged(struct round *r)
{
	struct ibv_gid_entry e;

	if (query_gid_init(r->ctx, r->gid.foreign, &e))
		return 0;
	return !memcmp(&e.gid, &r->gid.fe.gid, sizeof(e.gid)) &&
	       e.gid_type == r->gid.fe.gid_type &&
	       e.ndev_ifindex == r->gid.fe.ndev_ifindex;
}

/*
 * Checks the outcome of an AH or RTR with an address vector: the priority
 * policy for this namespace's GID, the namespace policy for another's.
 */
static void check_av(struct round *r, const char *what, int own, int sl,
		     int err, ino_t ns_before)
{
	ino_t ns_after = rdma_ns_ino();

	if (own && max_up >= 0) {
		if (!err && (sl & 7) > max_up)
			violation("%s with SL %d allowed (up=0-%d)", what, sl,
				  max_up);
		if (err == EPERM && (sl & 7) <= max_up)
			violation("%s with SL %d refused (up=0-%d)", what, sl,
				  max_up);
	}
	if (own)
		return;
	cnt->foreign++;
	if (!err && ns_before && ns_before == ns_after) {
		char a[INET6_ADDRSTRLEN];

		if (!foreign_unchanged(r)) {
			cnt->foreign_stale++;
			return;
		}
		inet_ntop(AF_INET6, r->gid.fe.gid.raw, a, sizeof(a));
		violation("%s from another namespace's GID %d (%s, ifindex %u) allowed",
			  what, sl, a, r->gid.fe.ndev_ifindex);
	}
}

static void op_pd(struct round *r)
{
	int i = SLOT(r->pd);

	if (i < 0)
		return;
	r->pd[i] = ibv_alloc_pd(r->ctx);
	count(r->pd[i] ? 0 : err_of(1));
}

static void op_cq(struct round *r)
{
	int i = SLOT(r->cq);

	if (i < 0)
		return;
	r->cq[i] = ibv_create_cq(r->ctx, 1 + below(64), NULL, NULL, 0);
	count(r->cq[i] ? 0 : err_of(1));
}

static struct ibv_qp *new_qp(struct round *r, enum ibv_qp_type type,
			     struct ibv_srq *srq)
{
	struct ibv_qp_init_attr ia;
	int p = PICK(r->pd), c = PICK(r->cq);
	struct ibv_qp *qp;

	if (p < 0 || c < 0)
		return NULL;
	memset(&ia, 0, sizeof(ia));
	ia.send_cq = r->cq[c];
	ia.recv_cq = r->cq[PICK(r->cq)];
	ia.srq = srq;
	ia.qp_type = type;
	ia.cap.max_send_wr = 4;
	ia.cap.max_recv_wr = srq ? 0 : 4;
	ia.cap.max_send_sge = 1;
	ia.cap.max_recv_sge = 1;
	qp = ibv_create_qp(r->pd[p], &ia);
	count(qp ? 0 : err_of(1));
	return qp;
}

static int qp_init(struct ibv_qp *qp, enum ibv_qp_type type)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .port_num = 1,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE,
		.qkey = 0x11111111,
	};
	int mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT;

	mask |= type == IBV_QPT_UD ? IBV_QP_QKEY : IBV_QP_ACCESS_FLAGS;
	return count(err_of(ibv_modify_qp(qp, &a, mask)));
}

/* An RC QP (on an SRQ, sometimes) taken to RTR towards itself. */
static void op_rc_qp(struct round *r)
{
	int i = SLOT(r->qp), s = PICK(r->srq), own = below(4) != 0;
	int sl = below(8), err, mask;
	struct ibv_qp_attr a;
	ino_t ns;

	if (i < 0)
		return;
	r->qp[i] = new_qp(r, IBV_QPT_RC, s >= 0 && below(2) ? r->srq[s] : NULL);
	if (!r->qp[i] || qp_init(r->qp[i], IBV_QPT_RC))
		return;
	memset(&a, 0, sizeof(a));
	if (make_av(r, own, sl, &a.ah_attr))
		return;
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = r->qp[i]->qp_num;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	ns = rdma_ns_ino();
	mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
	       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	err = count(err_of(ibv_modify_qp(r->qp[i], &a, mask)));
	check_av(r, "RTR", own, own ? sl : a.ah_attr.grh.sgid_index, err, ns);
}

static void op_ah(struct round *r)
{
	int i = SLOT(r->ah), p = PICK(r->pd), own = below(4) != 0;
	int sl = below(8), err;
	struct ibv_ah_attr av;
	ino_t ns;

	if (i < 0 || p < 0 || make_av(r, own, sl, &av))
		return;
	ns = rdma_ns_ino();
	r->ah[i] = ibv_create_ah(r->pd[p], &av);
	err = count(r->ah[i] ? 0 : err_of(1));
	check_av(r, "AH", own, own ? sl : av.grh.sgid_index, err, ns);
}

static void op_srq(struct round *r)
{
	struct ibv_srq_init_attr a = { .attr = { .max_wr = 8, .max_sge = 1 } };
	int i = SLOT(r->srq), p = PICK(r->pd);

	if (i < 0 || p < 0)
		return;
	r->srq[i] = ibv_create_srq(r->pd[p], &a);
	count(r->srq[i] ? 0 : err_of(1));
}

static void op_mr(struct round *r)
{
	int i = SLOT(r->mr), p = PICK(r->pd), flags;
	size_t len = 4096 << below(7);

	if (i < 0 || p < 0)
		return;
	r->buf[i] = aligned_alloc(4096, len);
	if (!r->buf[i])
		return;
	flags = IBV_ACCESS_LOCAL_WRITE |
		(below(2) ? IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_MW_BIND : 0);
	r->mr[i] = ibv_reg_mr(r->pd[p], r->buf[i], len, flags);
	if (count(r->mr[i] ? 0 : err_of(1))) {
		free(r->buf[i]);
		r->buf[i] = NULL;
		return;
	}
	if (below(3) == 0) {
		/* A new range within the buffer: mr_bytes moves. */
		int e = ibv_rereg_mr(r->mr[i], IBV_REREG_MR_CHANGE_TRANSLATION,
				     NULL, r->buf[i], len / 2, 0);

		count(e ? (errno ? errno : EOPNOTSUPP) : 0);
	}
}

static void op_mw(struct round *r)
{
	int i = SLOT(r->mw), p = PICK(r->pd);

	if (i < 0 || p < 0)
		return;
	r->mw[i] = ibv_alloc_mw(r->pd[p], below(2) ? IBV_MW_TYPE_1 :
				IBV_MW_TYPE_2);
	count(r->mw[i] ? 0 : err_of(1));
}

static void op_xrcd(struct round *r)
{
	struct ibv_xrcd_init_attr a = {
		.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS,
		.fd = -1, .oflags = O_CREAT,
	};
	int i = SLOT(r->xrcd);

	if (i < 0)
		return;
	r->xrcd[i] = ibv_open_xrcd(r->ctx, &a);
	count(r->xrcd[i] ? 0 : err_of(1));
}

static void op_wq(struct round *r)
{
	int i = SLOT(r->wq), p = PICK(r->pd), c = PICK(r->cq);
	struct ibv_wq_init_attr a;

	if (i < 0 || p < 0 || c < 0)
		return;
	memset(&a, 0, sizeof(a));
	a.wq_type = IBV_WQT_RQ;
	a.max_wr = 4;
	a.max_sge = 1;
	a.pd = r->pd[p];
	a.cq = r->cq[c];
	r->wq[i] = ibv_create_wq(r->ctx, &a);
	count(r->wq[i] ? 0 : err_of(1));
}

static void op_flow(struct round *r)
{
	struct {
		struct ibv_flow_attr attr;
		struct ibv_flow_spec_eth eth;
	} f;
	int i = SLOT(r->flow), q = PICK(r->qp);

	if (i < 0 || q < 0)
		return;
	memset(&f, 0, sizeof(f));
	f.attr.type = IBV_FLOW_ATTR_NORMAL;
	f.attr.size = sizeof(f);
	f.attr.num_of_specs = 1;
	f.attr.port = 1;
	f.eth.type = IBV_FLOW_SPEC_ETH;
	f.eth.size = sizeof(f.eth);
	r->flow[i] = ibv_create_flow(r->qp[q], &f.attr);
	count(r->flow[i] ? 0 : err_of(1));
}

/*
 * A UD QP to RTS, an AH to this namespace's GID, a message to itself: it
 * must arrive unaltered (after the 40-byte GRH).
 */
static void op_ud_data(struct round *r)
{
	int i = SLOT(r->qp), p = PICK(r->pd), sl = below(8), err;
	uint8_t *buf = NULL, pat = (uint8_t)rnd();
	struct ibv_qp_init_attr ia;
	struct ibv_ah *ah = NULL;
	struct ibv_mr *mr = NULL;
	struct ibv_cq *cq = NULL;
	struct ibv_ah_attr av;
	struct ibv_qp_attr a;
	struct ibv_qp *qp;
	long long end;
	ino_t ns;

	if (i < 0 || p < 0 || make_av(r, 1, sl, &av))
		return;
	cq = ibv_create_cq(r->ctx, 8, NULL, NULL, 0);
	if (count(cq ? 0 : err_of(1)))
		return;
	memset(&ia, 0, sizeof(ia));
	ia.send_cq = cq;
	ia.recv_cq = cq;
	ia.qp_type = IBV_QPT_UD;
	ia.cap.max_send_wr = 1;
	ia.cap.max_recv_wr = 1;
	ia.cap.max_send_sge = 1;
	ia.cap.max_recv_sge = 1;
	qp = ibv_create_qp(r->pd[p], &ia);
	r->qp[i] = qp;
	if (count(qp ? 0 : err_of(1)) || qp_init(qp, IBV_QPT_UD))
		goto out;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	if (count(err_of(ibv_modify_qp(qp, &a, IBV_QP_STATE))))
		goto out;
	a.qp_state = IBV_QPS_RTS;
	if (count(err_of(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN))))
		goto out;
	ns = rdma_ns_ino();
	ah = ibv_create_ah(r->pd[p], &av);
	err = count(ah ? 0 : err_of(1));
	check_av(r, "AH", 1, sl, err, ns);
	if (err)
		goto out;
	buf = aligned_alloc(4096, 4096);
	if (!buf)
		goto out;
	memset(buf, pat, MSG_LEN);
	memset(buf + 1024, 0, UD_GRH + MSG_LEN);
	mr = ibv_reg_mr(r->pd[p], buf, 4096, IBV_ACCESS_LOCAL_WRITE);
	if (count(mr ? 0 : err_of(1)))
		goto out;
	{
		struct ibv_sge rs = { (uintptr_t)buf + 1024, UD_GRH + MSG_LEN,
				      mr->lkey };
		struct ibv_sge ss = { (uintptr_t)buf, MSG_LEN, mr->lkey };
		struct ibv_recv_wr rw = { .wr_id = 1, .sg_list = &rs,
					  .num_sge = 1 }, *brw;
		struct ibv_send_wr sw = { .wr_id = 2, .sg_list = &ss,
					  .num_sge = 1, .opcode = IBV_WR_SEND,
					  .send_flags = IBV_SEND_SIGNALED },
				   *bsw;
		int got_recv = 0, got_send = 0;

		sw.wr.ud.ah = ah;
		sw.wr.ud.remote_qpn = qp->qp_num;
		sw.wr.ud.remote_qkey = 0x11111111;
		if (count(ibv_post_recv(qp, &rw, &brw)) ||
		    count(ibv_post_send(qp, &sw, &bsw)))
			goto out;
		cnt->ud_sent++;
		end = now_ms() + 2000;
		while ((!got_recv || !got_send) && now_ms() < end) {
			struct ibv_wc wc;
			int k = ibv_poll_cq(cq, 1, &wc);

			if (k < 0)
				break;
			if (!k) {
				usleep(1000);
				continue;
			}
			if (wc.status != IBV_WC_SUCCESS) {
				count(EIO);
				break;
			}
			if (wc.wr_id == 1)
				got_recv = 1;
			else
				got_send = 1;
		}
		if (got_recv) {
			cnt->ud_recv++;
			if (memcmp(buf + 1024 + UD_GRH, buf, MSG_LEN))
				violation("UD message to QP %u altered",
					  qp->qp_num);
		} else if (!got_send || now_ms() >= end) {
			cnt->timeouts++;
		}
	}
out:
	if (r->qp[i]) {
		ibv_destroy_qp(r->qp[i]);
		r->qp[i] = NULL;
	}
	if (ah)
		ibv_destroy_ah(ah);
	if (mr)
		ibv_dereg_mr(mr);
	free(buf);
	if (cq)
		ibv_destroy_cq(cq);
}

/* Destroys one random object that nothing else of the round depends on. */
static void op_destroy(struct round *r)
{
	int i;

	switch (below(6)) {
	case 0:
		i = PICK(r->qp);
		if (i >= 0) {
			count(ibv_destroy_qp(r->qp[i]));
			r->qp[i] = NULL;
		}
		break;
	case 1:
		i = PICK(r->ah);
		if (i >= 0) {
			count(ibv_destroy_ah(r->ah[i]));
			r->ah[i] = NULL;
		}
		break;
	case 2:
		i = PICK(r->mw);
		if (i >= 0) {
			count(ibv_dealloc_mw(r->mw[i]));
			r->mw[i] = NULL;
		}
		break;
	case 3:
		i = PICK(r->mr);
		if (i >= 0) {
			count(ibv_dereg_mr(r->mr[i]));
			free(r->buf[i]);
			r->mr[i] = NULL;
			r->buf[i] = NULL;
		}
		break;
	case 4:
		i = PICK(r->flow);
		if (i >= 0) {
			count(ibv_destroy_flow(r->flow[i]));
			r->flow[i] = NULL;
		}
		break;
	default:
		i = PICK(r->wq);
		if (i >= 0) {
			count(ibv_destroy_wq(r->wq[i]));
			r->wq[i] = NULL;
		}
	}
}

/* Destroys everything of the round, dependants first. */
static void round_end(struct round *r)
{
	int i;

	for (i = 0; i < MAX_OBJS; i++) {
		if (r->flow[i])
			ibv_destroy_flow(r->flow[i]);
		if (r->ah[i])
			ibv_destroy_ah(r->ah[i]);
		if (r->mw[i])
			ibv_dealloc_mw(r->mw[i]);
		if (r->qp[i])
			ibv_destroy_qp(r->qp[i]);
		if (r->wq[i])
			ibv_destroy_wq(r->wq[i]);
	}
	for (i = 0; i < MAX_OBJS; i++) {
		if (r->srq[i])
			ibv_destroy_srq(r->srq[i]);
		if (r->mr[i])
			ibv_dereg_mr(r->mr[i]);
		if (r->xrcd[i])
			ibv_close_xrcd(r->xrcd[i]);
	}
	for (i = 0; i < MAX_OBJS; i++) {
		if (r->cq[i])
			ibv_destroy_cq(r->cq[i]);
		if (r->pd[i])
			ibv_dealloc_pd(r->pd[i]);
	}
}

/* The next event on the nonblocking channel within ms; 0 if it is want. */
static int cm_wait(struct rdma_event_channel *ch, enum rdma_cm_event_type want,
		   int ms, struct rdma_cm_id **id)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	long long end = now_ms() + ms, left;
	enum rdma_cm_event_type type;
	struct rdma_cm_event *ev;
	int status;

	while (rdma_get_cm_event(ch, &ev)) {
		if (errno != EAGAIN)
			return errno;
		left = end - now_ms();
		if (left <= 0 || stop)
			return ETIMEDOUT;
		poll(&p, 1, left > 200 ? 200 : left);
	}
	type = ev->event;
	status = ev->status;
	if (id)
		*id = ev->id;
	rdma_ack_cm_event(ev);
	if (type == want)
		return 0;
	switch (type) {
	case RDMA_CM_EVENT_REJECTED:
		return ECONNREFUSED;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		return ENODEV;
	default:
		return status < 0 ? -status : EPROTO;
	}
}

static struct rdma_event_channel *cm_channel(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	int fl;

	if (!ch)
		return NULL;
	fl = fcntl(ch->fd, F_GETFL);
	fcntl(ch->fd, F_SETFL, fl | O_NONBLOCK);
	return ch;
}

/* A PD, CQ and RC QP on an rdma_cm ID; 0 or an errno. */
static int cm_qp(struct rdma_cm_id *id, struct ibv_pd **pd, struct ibv_cq **cq)
{
	struct ibv_qp_init_attr qa;

	*pd = ibv_alloc_pd(id->verbs);
	if (count(*pd ? 0 : err_of(1)))
		return EIO;
	*cq = ibv_create_cq(id->verbs, 4, NULL, NULL, 0);
	if (count(*cq ? 0 : err_of(1)))
		return EIO;
	memset(&qa, 0, sizeof(qa));
	qa.send_cq = *cq;
	qa.recv_cq = *cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 2;
	qa.cap.max_recv_wr = 2;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	return count(err_of(rdma_create_qp(id, *pd, &qa)));
}

static void cm_free(struct rdma_cm_id *id, struct ibv_pd *pd,
		    struct ibv_cq *cq, struct ibv_mr *mr)
{
	if (!id)
		return;
	if (id->qp)
		rdma_destroy_qp(id);
	if (mr)
		ibv_dereg_mr(mr);
	if (cq)
		ibv_destroy_cq(cq);
	if (pd)
		ibv_dealloc_pd(pd);
	rdma_destroy_id(id);
}

/* Polls cq for one completion of wr_id within ms: 0 or an errno. */
static int poll_one(struct ibv_cq *cq, uint64_t wr_id, int ms)
{
	long long end = now_ms() + ms;
	struct ibv_wc wc;
	int k;

	while (now_ms() < end && !stop) {
		k = ibv_poll_cq(cq, 1, &wc);
		if (k < 0)
			return EIO;
		if (!k) {
			usleep(1000);
			continue;
		}
		if (wc.status != IBV_WC_SUCCESS)
			return EIO;
		if (wc.wr_id == wr_id)
			return 0;
	}
	return ETIMEDOUT;
}

/*
 * rdma_cm: listen on IP:PORT, connect to it, a message from the client to
 * the server, disconnect.  Each step waits at most 5 s.
 */
static void op_cm(struct in_addr ip)
{
	struct rdma_conn_param param = {
		.responder_resources = 1, .initiator_depth = 1,
		.retry_count = 7, .rnr_retry_count = 7,
	};
	struct rdma_cm_id *lid = NULL, *cid = NULL, *sid = NULL;
	struct ibv_pd *cpd = NULL, *spd = NULL;
	struct ibv_cq *ccq = NULL, *scq = NULL;
	struct ibv_mr *cmr = NULL, *smr = NULL;
	struct rdma_event_channel *lch, *cch;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = ip,
				  .sin_port = htons(cm_port) };
	uint8_t cbuf[MSG_LEN], sbuf[MSG_LEN], pat = (uint8_t)rnd();
	int err;

	lch = cm_channel();
	cch = cm_channel();
	if (!lch || !cch)
		goto out;
	if (count(err_of(rdma_create_id(lch, &lid, NULL, RDMA_PS_TCP))))
		goto out;
	if (count(err_of(rdma_bind_addr(lid, (struct sockaddr *)&sa))) ||
	    count(err_of(rdma_listen(lid, 4))))
		goto out;
	if (count(err_of(rdma_create_id(cch, &cid, NULL, RDMA_PS_TCP))))
		goto out;
	err = rdma_resolve_addr(cid, NULL, (struct sockaddr *)&sa, 2000) ?
	      err_of(1) : cm_wait(cch, RDMA_CM_EVENT_ADDR_RESOLVED, 5000, NULL);
	if (!count(err))
		err = rdma_resolve_route(cid, 2000) ? err_of(1) :
		      cm_wait(cch, RDMA_CM_EVENT_ROUTE_RESOLVED, 5000, NULL);
	if (count(err) || cm_qp(cid, &cpd, &ccq))
		goto fail;
	if (count(err_of(rdma_connect(cid, &param))))
		goto fail;
	err = cm_wait(lch, RDMA_CM_EVENT_CONNECT_REQUEST, 5000, &sid);
	if (count(err)) {
		sid = NULL;
		goto fail;
	}
	if (cm_qp(sid, &spd, &scq))
		goto fail;
	smr = ibv_reg_mr(spd, sbuf, sizeof(sbuf), IBV_ACCESS_LOCAL_WRITE);
	cmr = ibv_reg_mr(cpd, cbuf, sizeof(cbuf), IBV_ACCESS_LOCAL_WRITE);
	if (count(smr ? 0 : err_of(1)) || count(cmr ? 0 : err_of(1)))
		goto fail;
	memset(sbuf, 0, sizeof(sbuf));
	memset(cbuf, pat, sizeof(cbuf));
	{
		struct ibv_sge rs = { (uintptr_t)sbuf, sizeof(sbuf),
				      smr->lkey };
		struct ibv_sge ss = { (uintptr_t)cbuf, sizeof(cbuf),
				      cmr->lkey };
		struct ibv_recv_wr rw = { .wr_id = 1, .sg_list = &rs,
					  .num_sge = 1 }, *brw;
		struct ibv_send_wr sw = { .wr_id = 2, .sg_list = &ss,
					  .num_sge = 1, .opcode = IBV_WR_SEND,
					  .send_flags = IBV_SEND_SIGNALED },
				   *bsw;

		if (count(ibv_post_recv(sid->qp, &rw, &brw)))
			goto fail;
		if (count(err_of(rdma_accept(sid, &param))))
			goto fail;
		err = cm_wait(cch, RDMA_CM_EVENT_ESTABLISHED, 5000, NULL);
		if (count(err))
			goto fail;
		cnt->cm_conn++;
		if (count(ibv_post_send(cid->qp, &sw, &bsw)))
			goto fail;
		err = poll_one(scq, 1, 5000);
		if (count(err))
			goto fail;
		cnt->cm_data++;
		if (memcmp(sbuf, cbuf, sizeof(sbuf)))
			violation("rdma_cm message altered on port %u",
				  cm_port);
	}
	rdma_disconnect(cid);
	cm_wait(cch, RDMA_CM_EVENT_DISCONNECTED, 2000, NULL);
	goto out;
fail:
	cnt->cm_fail++;
out:
	cm_free(sid, spd, scq, smr);
	cm_free(cid, cpd, ccq, cmr);
	if (lid)
		rdma_destroy_id(lid);
	if (cch)
		rdma_destroy_event_channel(cch);
	if (lch)
		rdma_destroy_event_channel(lch);
}

/*
 * An rdma_cm round in a child process: librdmacm keeps the verbs context of
 * every device it used open until it notices that the device is gone, and
 * rxe cannot unregister while a context is open.  The child's exit closes
 * them; it dies with its parent.
 */
static void cm_round(struct in_addr ip)
{
	pid_t pid = fork();

	if (pid < 0) {
		count(errno);
		return;
	}
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		rng_state ^= (uint64_t)getpid() << 32;
		op_cm(ip);
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	errno = ENODEV;
	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

static void one_round(void)
{
	static void (*const ops[])(struct round *) = {
		op_pd, op_cq, op_cq, op_rc_qp, op_rc_qp, op_rc_qp, op_ah,
		op_ah, op_srq, op_mr, op_mr, op_mw, op_xrcd, op_wq, op_flow,
		op_ud_data, op_destroy, op_destroy, op_destroy,
	};
	int d = below(ndevs), steps, k;
	struct round *r;

	cnt->rounds++;
	if (below(4) == 0) {
		cm_round(devs[d].ip);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->ctx = open_dev(devs[d].name);
	if (count(r->ctx ? 0 : err_of(1))) {
		free(r);
		usleep(50000);
		return;
	}
	r->gid = find_gids(r->ctx, devs[d].ip);
	op_pd(r);
	op_cq(r);
	steps = 4 + below(16);
	for (k = 0; k < steps && !stop; k++)
		ops[below(ARRAY_SIZE(ops))](r);
	if (below(8) == 0) {
		/* Close with everything alive: the kernel destroys it all. */
		cnt->abandoned++;
	} else {
		round_end(r);
	}
	for (k = 0; k < MAX_OBJS; k++)
		free(r->buf[k]);
	ibv_close_device(r->ctx);
	free(r);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: rdma_stress [-t SECONDS] [-s SEED] [-u MAXUP] [-P PORT] DEV:IP...\n");
	return 2;
}

int main(int argc, char **argv)
{
	long long end;
	int secs = 60, opt, i;
	struct sigaction sa;

	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED)
		return 2;
	rng_state = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)time(NULL);
	while ((opt = getopt(argc, argv, "t:s:u:P:")) != -1) {
		switch (opt) {
		case 't':
			secs = atoi(optarg);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0);
			break;
		case 'u':
			max_up = atoi(optarg);
			break;
		case 'P':
			cm_port = atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	if (!rng_state)
		rng_state = 1;
	for (i = optind; i < argc && ndevs < MAX_DEVS; i++) {
		char *c = strchr(argv[i], ':');

		if (!c)
			return usage();
		*c = '\0';
		devs[ndevs].name = argv[i];
		if (inet_pton(AF_INET, c + 1, &devs[ndevs].ip) != 1)
			return usage();
		ndevs++;
	}
	if (!ndevs)
		return usage();
	own_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	init_net = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);
	if (own_net < 0 || init_net < 0) {
		perror("/proc/*/ns/net");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	end = now_ms() + secs * 1000LL;
	while (!stop && now_ms() < end)
		one_round();

	printf("ops=%lu ok=%lu eagain=%lu eperm=%lu eaddrnotavail=%lu nodev=%lu "
	       "unsupported=%lu other=%lu rounds=%lu abandoned=%lu ud_sent=%lu "
	       "ud_recv=%lu cm_conn=%lu cm_data=%lu cm_fail=%lu timeouts=%lu "
	       "foreign=%lu foreign_stale=%lu violations=%lu\n",
	       cnt->ops, cnt->ok, cnt->eagain, cnt->eperm, cnt->eaddrnotavail, cnt->nodev,
	       cnt->unsup, cnt->other, cnt->rounds, cnt->abandoned, cnt->ud_sent, cnt->ud_recv,
	       cnt->cm_conn, cnt->cm_data, cnt->cm_fail, cnt->timeouts, cnt->foreign,
	       cnt->foreign_stale, cnt->violations);
	printf("errno");
	for (i = 0; i < MAX_ERRNO; i++)
		if (cnt->errs[i])
			printf(" %s=%lu", strerrorname_np(i) ?: "?", cnt->errs[i]);
	printf("\n");
	return cnt->violations ? 1 : 0;
}
