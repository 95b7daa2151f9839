// SPDX-License-Identifier: GPL-2.0
/*
 * fail_nth - systematic fault injection (/proc/thread-self/fail-nth) into
 * each create path of the verbs objects, rdma_cm, the rdma cgroup's pools
 * and the project's modules.
 *
 *   [FAIL_NTH_DEV2=<device 2>] fail_nth <device> <ip> <cgroup> [op...]
 *
 * <device> is an rxe device with IPv4 address <ip>; this process runs in
 * cgroup <cgroup>/main (limits on <device> set there and in <cgroup>, which
 * has rdma in its cgroup.subtree_control); the pool ops make fresh
 * <cgroup>/fiN/child cgroups.  For each op (all by
 * default; "list" prints them), attempts n = 1, 2, ...: set up what the
 * call needs (no injection), write n to fail-nth, make the one call, read
 * fail-nth back (0: the n-th fault point was reached and failed), tear
 * everything down.  After each attempt:
 *
 *  - the call failed with an errno or succeeded (it may succeed despite an
 *    injected failure: callers may fall back);
 *  - rdma.current of the cgroup, /proc/net/rdma_ns (counts other than 0)
 *    and /proc/net/rdma_cm_ports are what they were before the set-up;
 *  - a failed rdma.max write left rdma.max unchanged (with FAIL_NTH_DEV2,
 *    the write has a line for each device: all or nothing).
 *
 * The op is done when an attempt no longer reaches its n-th fault point and
 * succeeds; "points=n-1" is the number of fault points of that call.  A
 * call that fails without an injected fault is a failure of the test.
 * Prints one line per op: "op <name> points=N failed=F succeeded=S" or
 * "op <name> unsupported errno=E"; exit status 0 if no check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "rc_qp.h"

#define MAX_POINTS	3000
#define SNAP		(64 * 1024)
#define PORT_FIXED	7471
#define PORT_LISTEN	7472
#define BUFLEN		(64 * 1024)

enum need {
	N_CTX = 1 << 0, N_PD = 1 << 1, N_CQ = 1 << 2, N_QP = 1 << 3,
	N_MR = 1 << 4, N_CH = 1 << 5, N_ID = 1 << 6, N_BOUND = 1 << 7,
	N_ADDR = 1 << 8, N_ROUTE = 1 << 9, N_LISTEN = 1 << 10,
	N_NEWNS = 1 << 11, N_NEWCG = 1 << 12, N_BIND_ANY = 1 << 13,
	N_BIND_WILD = 1 << 14, N_MAXFD = 1 << 15,
};

struct st {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_srq *srq;
	struct ibv_mr *mr;
	struct ibv_mw *mw;
	struct ibv_ah *ah;
	struct ibv_xrcd *xrcd;
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id, *lid, *sid;
	union ibv_gid gid;
	int gid_index;
	bool in_newns, in_spare, in_newcg;
	char newcg[512];
	int maxfd;
	char max_before[4096];
};

static struct ibv_device *dev;
static const char *dev_name, *dev2_name, *cg;
static struct sockaddr_in addr;
static char *buf, *buf2;
static int fail_fd, init_ns_fd, cg_procs_fd;
static unsigned int cg_seq;
static int failures, spare_ns_fd = -1;
static const char *op_name;
static bool established;
/*
 * The state every attempt must come back to, taken at the start: rdma_cm
 * sends its MADs with address handles that it creates and destroys
 * asynchronously (rdma_ns counts them), so the state right before an
 * attempt may hold the last one's for a moment.
 */
static char *baseline;

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static struct sockaddr *sa(int port, bool any)
{
	static struct sockaddr_in s;

	s = addr;
	if (any)
		s.sin_addr.s_addr = htonl(INADDR_ANY);
	s.sin_port = htons(port);
	return (struct sockaddr *)&s;
}

static ssize_t slurp(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = 0, r;

	if (fd < 0) {
		out[0] = 0;
		return 0;
	}
	while ((r = read(fd, out + n, len - 1 - n)) > 0)
		n += r;
	close(fd);
	out[n] = 0;
	return n;
}

/* rdma.current, rdma_ns's non-zero rows, rdma_cm_ports: what must come back. */
static void snapshot(char *out)
{
	char p[600], *tmp = malloc(SNAP), *line, *save;
	size_t n;

	snprintf(p, sizeof(p), "%s/rdma.current", cg);
	n = slurp(p, out, SNAP / 4);
	n += snprintf(out + n, SNAP - n, "--- rdma_ns\n");
	slurp("/proc/net/rdma_ns", tmp, SNAP / 4);
	for (line = strtok_r(tmp, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned int idx;
		unsigned long long a = 0, b = 0, c = 0;

		/* Rows "<device> <index> <qp> <ah> <cm_id>" all zero are dropped. */
		if (sscanf(line, "%63s %u %llu %llu %llu", name, &idx, &a, &b,
			   &c) == 5 && !a && !b && !c)
			continue;
		n += snprintf(out + n, SNAP - n, "%s\n", line);
	}
	n += snprintf(out + n, SNAP - n, "--- rdma_cm_ports\n");
	slurp("/proc/net/rdma_cm_ports", out + n, SNAP - n);
	free(tmp);
}

static int set_fail_nth(unsigned int n)
{
	char s[16];
	int len = snprintf(s, sizeof(s), "%u", n);

	return pwrite(fail_fd, s, len, 0) == len ? 0 : errno;
}

static unsigned int get_fail_nth(void)
{
	char s[16] = "";

	if (pread(fail_fd, s, sizeof(s) - 1, 0) < 0)
		return ~0u;
	return strtoul(s, NULL, 10);
}

/* Waits up to 5 s for an event on the channel; the type or -1. */
static int cm_event(struct st *s, struct rdma_cm_id **idp, int *status)
{
	struct pollfd p = { .fd = s->ch->fd, .events = POLLIN };
	long long end = now_ms() + 5000;
	struct rdma_cm_event *ev;
	int type;

	while (rdma_get_cm_event(s->ch, &ev)) {
		long long left = end - now_ms();

		if (errno != EAGAIN || left <= 0)
			return -1;
		poll(&p, 1, left);
	}
	type = ev->event;
	if (idp)
		*idp = ev->id;
	if (status)
		*status = ev->status;
	if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
		/* A child ID: kept as the server side, or refused. */
		if (!s->sid) {
			s->sid = ev->id;
		} else {
			rdma_ack_cm_event(ev);
			rdma_reject(ev->id, NULL, 0);
			rdma_destroy_id(ev->id);
			return type;
		}
	}
	rdma_ack_cm_event(ev);
	return type;
}

/* Waits for event type want on id; 0 or an errno. */
static int cm_wait(struct st *s, struct rdma_cm_id *id, int want)
{
	for (;;) {
		struct rdma_cm_id *eid;
		int status, type = cm_event(s, &eid, &status);

		if (type < 0)
			return ETIMEDOUT;
		if (eid != id)
			continue;
		if (type == want)
			return 0;
		return status < 0 ? -status : EPROTO;
	}
}

/* The index of the IPv4-mapped GID of <ip> on port 1 (RoCEv2 if both). */
static int gid_index(struct ibv_context *ctx, union ibv_gid *gid)
{
	union ibv_gid want = { .raw = { [10] = 0xff, [11] = 0xff } };
	int i, found = -1;

	memcpy(&want.raw[12], &addr.sin_addr, 4);
	for (i = 0; i < 16; i++) {
		struct ibv_gid_entry e;

		if (ibv_query_gid_ex(ctx, 1, i, &e, 0) ||
		    memcmp(&e.gid, &want, sizeof(want)))
			continue;
		found = i;
		if (e.gid_type == IBV_GID_TYPE_ROCE_V2)
			break;
	}
	*gid = want;
	return found;
}

static int enter_newcg(struct st *s)
{
	char p[600];
	int fd, ret;

	/* <cgroup>/fiN/child: the first charge creates two pools. */
	snprintf(s->newcg, sizeof(s->newcg), "%s/fi%u", cg, ++cg_seq);
	if (mkdir(s->newcg, 0755))
		return errno;
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", s->newcg);
	fd = open(p, O_WRONLY);
	if (fd < 0)
		return errno;
	ret = write(fd, "+rdma", 5) == 5 ? 0 : errno;
	close(fd);
	if (ret)
		return ret;
	snprintf(p, sizeof(p), "%s/child", s->newcg);
	if (mkdir(p, 0755))
		return errno;
	snprintf(p, sizeof(p), "%s/child/cgroup.procs", s->newcg);
	fd = open(p, O_WRONLY);
	if (fd < 0)
		return errno;
	ret = write(fd, "0", 1) == 1 ? 0 : errno;
	close(fd);
	s->in_newcg = !ret;
	return ret;
}

static void leave_newcg(struct st *s)
{
	char p[600];

	if (!s->in_newcg)
		return;
	if (write(cg_procs_fd, "0", 1) != 1)
		perror("back to the cgroup");
	snprintf(p, sizeof(p), "%s/child", s->newcg);
	rmdir(p);
	rmdir(s->newcg);
	s->in_newcg = false;
}

static int setup(struct st *s, unsigned int need)
{
	memset(s, 0, sizeof(*s));
	s->maxfd = -1;
	if (need & N_NEWCG) {
		int e = enter_newcg(s);

		if (e)
			return e;
	}
	if (need & N_NEWNS) {
		/*
		 * A netns where nothing was tagged on the device yet: kept
		 * from the last attempt if that one tagged nothing (creating
		 * one takes 2 s under TCG).
		 */
		if (spare_ns_fd < 0) {
			if (unshare(CLONE_NEWNET))
				return errno;
			spare_ns_fd = open("/proc/self/ns/net", O_RDONLY);
			if (spare_ns_fd < 0)
				return errno;
		} else if (setns(spare_ns_fd, CLONE_NEWNET)) {
			return errno;
		}
		s->in_spare = true;
	}
	if (need & N_MAXFD) {
		char p[600];

		snprintf(p, sizeof(p), "%s/child/rdma.max", s->newcg);
		slurp(p, s->max_before, sizeof(s->max_before));
		s->maxfd = open(p, O_WRONLY);
		if (s->maxfd < 0)
			return errno;
	}
	if (need & (N_CTX | N_PD | N_CQ | N_QP | N_MR)) {
		s->ctx = ibv_open_device(dev);
		if (!s->ctx)
			return errno;
		/*
		 * In a new netns rdma_ns's GID view hides the initial one's
		 * GID; no operation there uses an address.
		 */
		s->gid_index = gid_index(s->ctx, &s->gid);
		if (s->gid_index < 0 && !(need & N_NEWNS))
			return ENOENT;
	}
	if (need & (N_PD | N_QP | N_MR)) {
		s->pd = ibv_alloc_pd(s->ctx);
		if (!s->pd)
			return errno;
	}
	if (need & (N_CQ | N_QP)) {
		s->cq = ibv_create_cq(s->ctx, 4, NULL, NULL, 0);
		if (!s->cq)
			return errno;
	}
	if (need & N_QP) {
		struct ibv_qp_init_attr ia = {
			.send_cq = s->cq, .recv_cq = s->cq,
			.qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = 4, .max_recv_wr = 4,
				 .max_send_sge = 1, .max_recv_sge = 1 },
		};
		int e;

		s->qp = ibv_create_qp(s->pd, &ia);
		if (!s->qp)
			return errno;
		e = rc_qp_init(s->qp);
		if (e)
			return e;
	}
	if (need & N_MR) {
		s->mr = ibv_reg_mr(s->pd, buf, BUFLEN, IBV_ACCESS_LOCAL_WRITE);
		if (!s->mr)
			return errno;
	}
	if (need & (N_CH | N_ID | N_BOUND | N_ADDR | N_ROUTE | N_LISTEN |
		    N_BIND_ANY | N_BIND_WILD)) {
		s->ch = rdma_create_event_channel();
		if (!s->ch)
			return errno;
		if (fcntl(s->ch->fd, F_SETFL, O_NONBLOCK))
			return errno;
	}
	if (need & N_LISTEN) {
		if (rdma_create_id(s->ch, &s->lid, NULL, RDMA_PS_TCP) ||
		    rdma_bind_addr(s->lid, sa(PORT_LISTEN, false)) ||
		    rdma_listen(s->lid, 8))
			return errno;
	}
	if (need & (N_ID | N_BOUND | N_ADDR | N_ROUTE | N_BIND_ANY |
		    N_BIND_WILD)) {
		if (rdma_create_id(s->ch, &s->id, NULL, RDMA_PS_TCP))
			return errno;
	}
	if ((need & N_BOUND) && rdma_bind_addr(s->id, sa(PORT_FIXED, false)))
		return errno;
	if ((need & N_BIND_WILD) && rdma_bind_addr(s->id, sa(PORT_FIXED, true)))
		return errno;
	if ((need & N_BIND_ANY) && rdma_bind_addr(s->id, sa(0, true)))
		return errno;
	if (need & (N_ADDR | N_ROUTE)) {
		int e;

		if (rdma_resolve_addr(s->id, NULL, sa(PORT_LISTEN, false), 2000))
			return errno;
		e = cm_wait(s, s->id, RDMA_CM_EVENT_ADDR_RESOLVED);
		if (e)
			return e;
	}
	if (need & N_ROUTE) {
		int e;

		if (rdma_resolve_route(s->id, 2000))
			return errno;
		e = cm_wait(s, s->id, RDMA_CM_EVENT_ROUTE_RESOLVED);
		if (e)
			return e;
	}
	return 0;
}

/*
 * Back to the initial netns from the spare one, which must count no object
 * any more; it is dropped if the device has a row there (tagged once).
 */
static void leave_spare(void)
{
	char *t = malloc(SNAP), *line, *save;
	bool fresh = true;

	slurp("/proc/self/net/rdma_ns", t, SNAP);
	line = strtok_r(t, "\n", &save);	/* mode ... */
	line = strtok_r(NULL, "\n", &save);	/* device index ... */
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned long long a = 1, b = 1, c = 1;
		char name[64];
		unsigned int idx;

		fresh = false;
		if (sscanf(line, "%63s %u %llu %llu %llu", name, &idx, &a, &b,
			   &c) != 5 || a || b || c) {
			printf("not ok: %s: objects still counted in the new netns: %s\n",
			       op_name, line);
			failures++;
		}
	}
	free(t);
	if (setns(init_ns_fd, CLONE_NEWNET))
		perror("setns");
	if (!fresh) {
		close(spare_ns_fd);
		spare_ns_fd = -1;
	}
}

static void teardown(struct st *s)
{
	if (s->sid)
		rdma_destroy_id(s->sid);
	if (s->id)
		rdma_destroy_id(s->id);
	if (s->lid)
		rdma_destroy_id(s->lid);
	if (s->ch) {
		struct rdma_cm_event *ev;

		while (!rdma_get_cm_event(s->ch, &ev)) {
			struct rdma_cm_id *child = ev->event ==
				RDMA_CM_EVENT_CONNECT_REQUEST ? ev->id : NULL;

			rdma_ack_cm_event(ev);
			if (child)
				rdma_destroy_id(child);
		}
		rdma_destroy_event_channel(s->ch);
	}
	if (s->ah)
		ibv_destroy_ah(s->ah);
	if (s->mw)
		ibv_dealloc_mw(s->mw);
	if (s->mr)
		ibv_dereg_mr(s->mr);
	if (s->srq)
		ibv_destroy_srq(s->srq);
	if (s->qp)
		ibv_destroy_qp(s->qp);
	if (s->cq)
		ibv_destroy_cq(s->cq);
	if (s->xrcd)
		ibv_close_xrcd(s->xrcd);
	if (s->pd)
		ibv_dealloc_pd(s->pd);
	if (s->ctx)
		ibv_close_device(s->ctx);
	if (s->maxfd >= 0)
		close(s->maxfd);
	if (s->in_spare)
		leave_spare();
	if (s->in_newns && setns(init_ns_fd, CLONE_NEWNET))
		perror("setns");
	leave_newcg(s);
	memset(s, 0, sizeof(*s));
	s->maxfd = -1;
}

/* ---- the calls: 0 or an errno ---- */

#define PTR_CALL(dst, expr) \
	do { dst = (expr); return dst ? 0 : (errno ? errno : EIO); } while (0)
#define INT_CALL(expr) \
	do { int __r = (expr); return __r ? (errno ? errno : EIO) : 0; } while (0)

static int c_open(struct st *s) { PTR_CALL(s->ctx, ibv_open_device(dev)); }
static int c_pd(struct st *s) { PTR_CALL(s->pd, ibv_alloc_pd(s->ctx)); }
static int c_cq(struct st *s)
{
	PTR_CALL(s->cq, ibv_create_cq(s->ctx, 16, NULL, NULL, 0));
}

static int c_qp(struct st *s)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = s->cq, .recv_cq = s->cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	PTR_CALL(s->qp, ibv_create_qp(s->pd, &ia));
}

static int c_ud_qp(struct st *s)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = s->cq, .recv_cq = s->cq, .qp_type = IBV_QPT_UD,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	PTR_CALL(s->qp, ibv_create_qp(s->pd, &ia));
}

static struct ibv_ah_attr av(struct st *s, int sl)
{
	struct ibv_ah_attr a = {
		.is_global = 1, .port_num = 1, .sl = sl,
		.grh = { .dgid = s->gid, .sgid_index = s->gid_index,
			 .hop_limit = 64 },
	};

	return a;
}

static int c_rtr(struct st *s)
{
	struct ibv_ah_attr a = av(s, 1);
	int r = rc_qp_rtr(s->qp, &a);

	return r;
}

static int c_srq(struct st *s)
{
	struct ibv_srq_init_attr a = { .attr = { .max_wr = 8, .max_sge = 1 } };

	PTR_CALL(s->srq, ibv_create_srq(s->pd, &a));
}

static int c_mr(struct st *s)
{
	PTR_CALL(s->mr, ibv_reg_mr(s->pd, buf, BUFLEN,
				   IBV_ACCESS_LOCAL_WRITE |
				   IBV_ACCESS_REMOTE_READ));
}

static int c_rereg_access(struct st *s)
{
	INT_CALL(ibv_rereg_mr(s->mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE));
}

static int c_rereg_trans(struct st *s)
{
	INT_CALL(ibv_rereg_mr(s->mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
			      buf2, BUFLEN / 2, 0));
}

static int c_mw(struct st *s) { PTR_CALL(s->mw, ibv_alloc_mw(s->pd, IBV_MW_TYPE_1)); }

static int c_ah(struct st *s)
{
	struct ibv_ah_attr a = av(s, 2);

	PTR_CALL(s->ah, ibv_create_ah(s->pd, &a));
}

static int c_xrcd(struct st *s)
{
	struct ibv_xrcd_init_attr a = {
		.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS,
		.fd = -1, .oflags = O_CREAT,
	};

	PTR_CALL(s->xrcd, ibv_open_xrcd(s->ctx, &a));
}

static int c_max_write(struct st *s)
{
	char line[256];

	/* With a second device, two lines: both pools made, or neither limit set. */
	if (dev2_name)
		snprintf(line, sizeof(line),
			 "%s qp=7 mr_bytes=65536 sl=0-3\n%s cq=9 up=1\n",
			 dev_name, dev2_name);
	else
		snprintf(line, sizeof(line), "%s qp=7 mr_bytes=65536 sl=0-3\n",
			 dev_name);
	INT_CALL(write(s->maxfd, line, strlen(line)) < 0);
}

/* Does the line of device dev in text contain kv? */
static bool has_kv(const char *text, const char *dev, const char *kv)
{
	char key[80];
	const char *l, *end;

	snprintf(key, sizeof(key), "%s ", dev);
	for (l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, strlen(key)))
			continue;
		end = strchr(l, '\n');
		end = end ? end + 1 : l + strlen(l);
		return memmem(l, end - l, kv, strlen(kv)) != NULL;
	}
	return false;
}

/* A failed write must have left rdma.max as it was. */
static void a_max_write(struct st *s, int e)
{
	char p[600], now[4096];

	snprintf(p, sizeof(p), "%s/child/rdma.max", s->newcg);
	slurp(p, now, sizeof(now));
	if (!e) {
		/* Accepted: every value written reads back. */
		if (!has_kv(now, dev_name, " qp=7 ") ||
		    !has_kv(now, dev_name, " sl=0-3 ") ||
		    (dev2_name && (!has_kv(now, dev2_name, " cq=9 ") ||
				   !has_kv(now, dev2_name, " up=1\n")))) {
			printf("not ok: an accepted rdma.max write is not what reads back\n#  %s",
			       now);
			failures++;
		}
		return;
	}
	if (strcmp(now, s->max_before)) {
		printf("not ok: a failed rdma.max write (%s) changed it\n#  before: %s#  after: %s",
		       strerror(e), s->max_before, now);
		failures++;
	}
}

static int c_netns(struct st *s)
{
	if (unshare(CLONE_NEWNET))
		return errno;
	s->in_newns = true;
	return 0;
}

static int c_create_id(struct st *s)
{
	INT_CALL(rdma_create_id(s->ch, &s->id, NULL, RDMA_PS_TCP));
}

static int c_bind(struct st *s) { INT_CALL(rdma_bind_addr(s->id, sa(0, false))); }
static int c_bind_fixed(struct st *s)
{
	INT_CALL(rdma_bind_addr(s->id, sa(PORT_FIXED, false)));
}
static int c_bind_any(struct st *s) { INT_CALL(rdma_bind_addr(s->id, sa(0, true))); }
static int c_listen(struct st *s) { INT_CALL(rdma_listen(s->id, 8)); }

static int c_resolve_addr(struct st *s)
{
	INT_CALL(rdma_resolve_addr(s->id, NULL, sa(PORT_LISTEN, false), 2000));
}

static int c_resolve_route(struct st *s) { INT_CALL(rdma_resolve_route(s->id, 2000)); }

static int c_connect(struct st *s)
{
	struct rdma_conn_param p = {
		.responder_resources = 1, .initiator_depth = 1,
		.retry_count = 7, .rnr_retry_count = 7, .qp_num = 0x1234,
	};

	INT_CALL(rdma_connect(s->id, &p));
}

/* After the call, outside the injection: let asynchronous work finish. */
static void a_resolve_addr(struct st *s, int e)
{
	if (e)
		return;
	cm_wait(s, s->id, RDMA_CM_EVENT_ADDR_RESOLVED);
}

static void a_resolve_route(struct st *s, int e)
{
	if (e)
		return;
	cm_wait(s, s->id, RDMA_CM_EVENT_ROUTE_RESOLVED);
}

static void a_connect(struct st *s, int e)
{
	struct rdma_conn_param p = {
		.responder_resources = 1, .initiator_depth = 1,
		.rnr_retry_count = 7, .qp_num = 0x4321,
	};
	long long end = now_ms() + 3000;
	bool client_done = false, server_done = false;
	bool client_ok = false, server_ok = false;

	if (e)
		return;

	while (now_ms() < end && !(client_done && server_done)) {
		struct rdma_cm_id *eid;
		int type = cm_event(s, &eid, NULL);

		if (type < 0)
			break;
		if (type == RDMA_CM_EVENT_CONNECT_REQUEST && eid == s->sid) {
			if (rdma_accept(s->sid, &p))
				server_done = true;
		} else if (eid == s->id) {
			/*
			 * Without a QP, librdmacm hands the REP to the caller,
			 * which completes the connection (RTU).
			 */
			client_done = true;
			client_ok = type == RDMA_CM_EVENT_ESTABLISHED ||
				    (type == RDMA_CM_EVENT_CONNECT_RESPONSE &&
				     !rdma_establish(s->id));
		} else if (eid == s->sid && type != RDMA_CM_EVENT_CONNECT_REQUEST) {
			server_done = true;
			server_ok = type == RDMA_CM_EVENT_ESTABLISHED;
		}
		if (client_done && !s->sid)
			break;
	}
	established = client_ok && server_ok;
}

struct op {
	const char *name;
	unsigned int need;
	int (*call)(struct st *s);
	void (*after)(struct st *s, int e);
	unsigned int last;	/* only the last this many points */
	bool named;		/* only when named on the command line */
};

static const struct op ops[] = {
	{ "open_device", 0, c_open, NULL, 0, false },
	{ "alloc_pd", N_CTX, c_pd, NULL, 0, false },
	{ "create_cq", N_CTX, c_cq, NULL, 0, false },
	{ "create_qp_rc", N_PD | N_CQ, c_qp, NULL, 0, false },
	{ "create_qp_ud", N_PD | N_CQ, c_ud_qp, NULL, 0, false },
	{ "modify_qp_rtr", N_QP, c_rtr, NULL, 0, false },
	{ "create_srq", N_PD, c_srq, NULL, 0, false },
	{ "reg_mr", N_PD, c_mr, NULL, 0, false },
	{ "rereg_mr_access", N_MR, c_rereg_access, NULL, 0, false },
	{ "rereg_mr_translation", N_MR, c_rereg_trans, NULL, 0, false },
	{ "alloc_mw", N_PD, c_mw, NULL, 0, false },
	{ "create_ah", N_PD, c_ah, NULL, 0, false },
	{ "open_xrcd", N_CTX, c_xrcd, NULL, 0, false },
	{ "pool_first_charge", N_NEWCG, c_open, NULL, 0, false },
	{ "pool_rdma_max_write", N_NEWCG | N_MAXFD, c_max_write, a_max_write, 0, false },
	/*
	 * The pernet init of the modules loaded last runs last.  A netns
	 * takes 3-7 s to make under TCG: only when named.
	 */
	{ "netns_create", 0, c_netns, NULL, 20, true },
	/*
	 * The first QP of a netns on a device makes rdma_ns's per-netns
	 * entry, after the driver made the QP: the last points (the others
	 * are create_qp_rc's).  Each attempt that tags needs a new netns.
	 */
	{ "create_qp_rc_newns", N_PD | N_CQ | N_NEWNS, c_qp, NULL, 10, false },
	{ "cm_create_id", N_CH, c_create_id, NULL, 0, false },
	{ "cm_create_id_newns", N_CH | N_NEWNS, c_create_id, NULL, 0, false },
	{ "cm_bind_ephemeral", N_ID, c_bind, NULL, 0, false },
	{ "cm_bind_port", N_ID, c_bind_fixed, NULL, 0, false },
	{ "cm_bind_any_newns", N_ID | N_NEWNS, c_bind_any, NULL, 0, false },
	{ "cm_bind_any", N_ID, c_bind_any, NULL, 0, false },
	{ "cm_listen", N_BOUND, c_listen, NULL, 0, false },
	{ "cm_listen_wildcard", N_BIND_WILD, c_listen, NULL, 0, false },
	{ "cm_resolve_addr", N_ID, c_resolve_addr, a_resolve_addr, 0, false },
	{ "cm_resolve_route", N_ADDR, c_resolve_route, a_resolve_route, 0, false },
	{ "cm_connect", N_LISTEN | N_ROUTE, c_connect, a_connect, 0, false },
};

static bool settle(const char *want, char *got)
{
	int i;

	for (i = 0; i < 100; i++) {
		snapshot(got);
		if (!strcmp(want, got))
			return true;
		usleep(50000);
	}
	return false;
}

#define COUNT_N	1000000

/* One uninjected run of op: 0, 1 if unsupported, -1 on a failed check. */
static int uninjected(const struct op *op, unsigned int *points,
		      char *before, char *after)
{
	unsigned int left;
	struct st s;
	int e;

	snapshot(before);
	e = setup(&s, op->need);
	if (e) {
		printf("not ok: %s: set-up failed: %s\n", op->name, strerror(e));
		failures++;
		teardown(&s);
		return -1;
	}
	established = false;
	set_fail_nth(COUNT_N);
	e = op->call(&s);
	left = get_fail_nth();
	set_fail_nth(0);
	*points = left && left <= COUNT_N ? COUNT_N - left : 0;
	if (op->after)
		op->after(&s, e);
	teardown(&s);
	if (e) {
		printf("op %s unsupported errno=%d (%s)\n", op->name, e,
		       strerror(e));
		return 1;
	}
	if (op->after == a_connect && !established) {
		printf("not ok: %s: no connection without injection\n",
		       op->name);
		failures++;
		return -1;
	}
	if (!settle(baseline, after)) {
		printf("not ok: %s: state not restored after an uninjected call\n#  expected:\n%s#  after:\n%s",
		       op->name, baseline, after);
		failures++;
		return -1;
	}
	return 0;
}

struct tally {
	unsigned int nfail, nok, errnos[256];
	int op_fail;
};

/*
 * One attempt with the n-th fault point failed: 1 if the call did not reach
 * it (done), -1 to stop, 0 to go on.
 */
static int attempt(const struct op *op, unsigned int n, struct tally *t,
		   char *before, char *after)
{
	unsigned int left;
	struct st s;
	int e;

	snapshot(before);
	e = setup(&s, op->need);
	if (e) {
		printf("not ok: %s: set-up failed at n=%u: %s\n", op->name, n,
		       strerror(e));
		failures++;
		t->op_fail++;
		teardown(&s);
		return -1;
	}
	if (set_fail_nth(n)) {
		perror("fail-nth");
		exit(2);
	}
	e = op->call(&s);
	left = get_fail_nth();
	set_fail_nth(0);
	if (op->after)
		op->after(&s, e);
	teardown(&s);
	if (!settle(baseline, after)) {
		printf("not ok: %s: n=%u (call %s, fault %s): state not restored\n#  expected:\n%s#  after:\n%s",
		       op->name, n, e ? strerror(e) : "succeeded",
		       left ? "not reached" : "injected", baseline, after);
		failures++;
		if (++t->op_fail > 3)
			return -1;
	}
	if (left) {
		if (e) {
			printf("not ok: %s: n=%u: failed (%s) without an injected fault\n",
			       op->name, n, strerror(e));
			failures++;
			t->op_fail++;
		}
		return 1;
	}
	if (e) {
		t->nfail++;
		if (e > 0 && e < 256)
			t->errnos[e]++;
	} else {
		t->nok++;
	}
	return 0;
}

static void run_op(const struct op *op)
{
	char *before = malloc(SNAP), *after = malloc(SNAP);
	unsigned int n, first, last, points;
	long long t0 = now_ms();
	struct tally t;
	int e, round, r = 0;

	op_name = op->name;
	memset(&t, 0, sizeof(t));
	/*
	 * Without injection first: the call must work; count its points (on
	 * the second run: the first may fill caches that later runs find).
	 */
	for (round = 0; round < 2; round++) {
		e = uninjected(op, &points, before, after);
		if (e)
			goto out;
	}
	first = op->last && points > op->last ? points - op->last + 1 : 1;
	for (n = first; n <= points + MAX_POINTS; n++) {
		r = attempt(op, n, &t, before, after);
		if (r)
			break;
	}
	last = n - 1;
	/*
	 * Only the last points wanted, and the call had fewer than counted
	 * (their number varies a little from call to call): go back from
	 * where the window started until it holds as many.
	 */
	while (r == 1 && op->last && first > 1 && last + 1 - first < op->last) {
		r = attempt(op, --first, &t, before, after);
		if (r == 1)	/* fewer points again: the window ends below */
			last = first - 1;
		if (r == 0)
			r = 1;
	}
	printf("op %s points=%u injected=%u (%u-%u) failed=%u succeeded=%u",
	       op->name, points, t.nfail + t.nok, first, last, t.nfail, t.nok);
	for (e = 1; e < 256; e++)
		if (t.errnos[e])
			printf(" %s=%u", strerrorname_np(e) ? strerrorname_np(e) : "?",
			       t.errnos[e]);
	printf(" ms=%lld\n", now_ms() - t0);
out:
	free(before);
	free(after);
}

int main(int argc, char **argv)
{
	struct ibv_device **list;
	char p[600];
	int i, j;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		for (i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
			printf("%s\n", ops[i].name);
		return 0;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: fail_nth <device> <ip> <cgroup> [op...]\n");
		return 2;
	}
	dev_name = argv[1];
	dev2_name = getenv("FAIL_NTH_DEV2");
	cg = argv[3];
	addr.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1)
		return 2;
	list = ibv_get_device_list(NULL);
	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev_name))
			dev = list[i];
	if (!dev) {
		fprintf(stderr, "fail_nth: no device %s\n", dev_name);
		return 2;
	}
	snprintf(p, sizeof(p), "%s/main/cgroup.procs", cg);
	cg_procs_fd = open(p, O_WRONLY);
	init_ns_fd = open("/proc/self/ns/net", O_RDONLY);
	fail_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (cg_procs_fd < 0 || init_ns_fd < 0 || fail_fd < 0) {
		perror("fail_nth: open");
		return 2;
	}
	if (write(cg_procs_fd, "0", 1) != 1) {
		perror("fail_nth: join the cgroup");
		return 2;
	}
	buf = aligned_alloc(4096, BUFLEN);
	buf2 = aligned_alloc(4096, BUFLEN);
	memset(buf, 1, BUFLEN);
	memset(buf2, 2, BUFLEN);
	/* No page fault of ours may take the injected fault. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		perror("mlockall");
	/*
	 * librdmacm opens the verbs device of the first address it binds to
	 * and keeps it open (one hca_handle) until exit: open it now.
	 */
	{
		struct rdma_cm_id *id;

		if (rdma_create_id(NULL, &id, NULL, RDMA_PS_TCP) ||
		    rdma_bind_addr(id, sa(0, false))) {
			perror("fail_nth: rdma_cm");
			return 2;
		}
		rdma_destroy_id(id);
	}
	sleep(1);
	baseline = malloc(SNAP);
	snapshot(baseline);
	for (i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++) {
		bool want = argc == 4 && !ops[i].named;

		for (j = 4; j < argc; j++)
			if (!strcmp(argv[j], ops[i].name))
				want = true;
		if (want)
			run_op(&ops[i]);
	}
	ibv_free_device_list(list);
	printf("failures=%d\n", failures);
	return failures ? 1 : 0;
}
