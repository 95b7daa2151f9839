// SPDX-License-Identifier: GPL-2.0
/*
 * cm_ports - rdma_cm IDs bound, listening and connecting, for the
 * cm_portspace selftest.
 *
 *   cm_ports bind [-n N] [-l] [-r] [-A 0|1] [-T TOS] [-p tcp|udp|ipoib|ib]
 *                 ADDR PORT [ADDR PORT...]
 *	For each ADDR PORT pair in turn, N IDs (default 1) bound to ADDR:PORT
 *	(PORT 0: an ephemeral port; ADDR "ib": AF_IB, any GID, the ServiceID
 *	of PORT in the port space); -r sets REUSEADDR, -A AFONLY and -T the
 *	type of service (which listeners pass on) before the bind, -l listens
 *	after it.  Prints "ok <port>" or "err <ERRNO>"
 *	per ID, then holds the IDs until stdin reaches EOF.
 *   cm_ports threads [-t T] [-n N] [-r] [-d MS] ADDR PORT
 *	T threads (default 1) in turn each create N IDs (default 1) bound to
 *	ADDR:PORT (-r: REUSEADDR) and exit; once the last has exited, prints
 *	"ok <port>" or "err <ERRNO>" per ID, holds the IDs until stdin reaches
 *	EOF, then destroys them one by one, MS milliseconds apart (default 0).
 *   cm_ports serve ADDR PORT NAME
 *	Listens on ADDR:PORT ("listening", or "err <ERRNO>" and exit 2) and
 *	accepts every connection with NAME (up to 32 bytes) as private data,
 *	printing "served <n>" as the n-th is established (or disconnected
 *	after its accept, if the RTU was lost), until stdin EOF.
 *   cm_ports connect [-t SECONDS] ADDR PORT
 *	Resolves ADDR, connects an RC QP to ADDR:PORT, prints "reply <NAME>"
 *	with the server's private data and disconnects; on failure prints
 *	"err <ERRNO>" and exits 2.  Each step times out after SECONDS (5).
 *
 * IDs belong to the network namespace of the process.  Exit status: 0 done,
 * 1 usage or set-up error, 2 serve or connect failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <infiniband/ib.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define MAX_IDS		1048576
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN	32
#ifndef RDMA_IB_IP_PS_IB	/* the kernel's; librdmacm 44 lacks it */
#define RDMA_IB_IP_PS_IB	0x00000000013F0000ULL
#endif

#define E(x) { x, #x }
static const struct {
	int num;
	const char *name;
} enames[] = {
	E(EPERM), E(ENOENT), E(EINTR), E(EIO), E(ENXIO), E(EAGAIN),
	E(ENOMEM), E(EACCES), E(EBUSY), E(EEXIST), E(ENODEV), E(EINVAL),
	E(ENOSPC), E(ENODATA), E(EPROTO), E(EOPNOTSUPP), E(EAFNOSUPPORT),
	E(EADDRINUSE), E(EADDRNOTAVAIL), E(ENETUNREACH), E(ECONNABORTED),
	E(ECONNRESET), E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTUNREACH),
};

static const char *ename(int err)
{
	static char buf[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(enames); i++)
		if (enames[i].num == err)
			return enames[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: cm_ports bind [-n N] [-l] [-r] [-A 0|1] [-T TOS] [-p tcp|udp|ipoib|ib] ADDR|ib PORT [ADDR|ib PORT...]\n"
		"       cm_ports threads [-t T] [-n N] [-r] [-d MS] ADDR PORT\n"
		"       cm_ports serve ADDR PORT NAME\n"
		"       cm_ports connect [-t SECONDS] ADDR PORT\n");
	return 1;
}

/* A port number, 0-65535: 0, or -1 if it does not parse. */
static int parse_port(const char *port, unsigned long *p)
{
	char *end;

	*p = strtoul(port, &end, 0);
	return !*port || *end || *p > 65535 ? -1 : 0;
}

/* An IPv4 or IPv6 address and a port: 0, or -1 if they do not parse. */
static int parse_addr(const char *addr, const char *port,
		      struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	unsigned long p;

	if (parse_port(port, &p))
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		return 0;
	}
	return -1;
}

static int parse_ps(const char *s, enum rdma_port_space *ps)
{
	if (!strcmp(s, "tcp"))
		*ps = RDMA_PS_TCP;
	else if (!strcmp(s, "udp"))
		*ps = RDMA_PS_UDP;
	else if (!strcmp(s, "ipoib"))
		*ps = RDMA_PS_IPOIB;
	else if (!strcmp(s, "ib"))
		*ps = RDMA_PS_IB;
	else
		return -1;
	return 0;
}

/*
 * ADDR "ib": an AF_IB address on any GID whose ServiceID is PORT in the port
 * space @ps (librdmacm's mapping, e.g. TCP 2000 -> 0x10607d0); otherwise as
 * parse_addr().  0, or -1 if they do not parse.
 */
static int parse_bind_addr(const char *addr, const char *port,
			   enum rdma_port_space ps, struct sockaddr_storage *ss)
{
	struct sockaddr_ib *sib = (struct sockaddr_ib *)ss;
	uint64_t prefix;
	unsigned long p;

	if (strcmp(addr, "ib"))
		return parse_addr(addr, port, ss);
	if (parse_port(port, &p))
		return -1;
	switch (ps) {
	case RDMA_PS_TCP:
		prefix = RDMA_IB_IP_PS_TCP;
		break;
	case RDMA_PS_UDP:
		prefix = RDMA_IB_IP_PS_UDP;
		break;
	case RDMA_PS_IB:
		prefix = RDMA_IB_IP_PS_IB;
		break;
	default:
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	sib->sib_family = AF_IB;
	sib->sib_sid = htobe64(prefix | p);
	sib->sib_sid_mask = htobe64(RDMA_IB_IP_PS_MASK | RDMA_IB_IP_PORT_MASK);
	return 0;
}

static struct rdma_event_channel *channel(int nonblock)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();

	if (!ch) {
		perror("rdma_create_event_channel");
		return NULL;
	}
	if (nonblock &&
	    fcntl(ch->fd, F_SETFL, fcntl(ch->fd, F_GETFL) | O_NONBLOCK)) {
		perror("fcntl");
		rdma_destroy_event_channel(ch);
		return NULL;
	}
	return ch;
}

/* Blocks until stdin reaches EOF (or fails). */
static void hold(void)
{
	char buf[256];

	while (read(0, buf, sizeof(buf)) > 0)
		;
}

/* A new ID bound to @sa (and listening with @lsn): 0 or an errno. */
static int bind_one(struct rdma_event_channel *ch, enum rdma_port_space ps,
		    struct sockaddr_storage *sa, int reuse, int afonly, int tos,
		    int lsn, struct rdma_cm_id **idp)
{
	uint8_t tos8 = tos;
	struct rdma_cm_id *id;
	int one = 1, err;

	if (rdma_create_id(ch, &id, NULL, ps))
		return errno ? errno : EIO;
	if ((reuse && rdma_set_option(id, RDMA_OPTION_ID,
				      RDMA_OPTION_ID_REUSEADDR,
				      &one, sizeof(one))) ||
	    (afonly >= 0 && rdma_set_option(id, RDMA_OPTION_ID,
					     RDMA_OPTION_ID_AFONLY,
					     &afonly, sizeof(afonly))) ||
	    (tos >= 0 && rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_TOS,
					  &tos8, sizeof(tos8))) ||
	    rdma_bind_addr(id, (struct sockaddr *)sa) ||
	    (lsn && rdma_listen(id, 16))) {
		err = errno ? errno : EIO;
		rdma_destroy_id(id);
		return err;
	}
	*idp = id;
	return 0;
}

static int cmd_bind(int argc, char **argv)
{
	int n = 1, lsn = 0, reuse = 0, afonly = -1, tos = -1, nids = 0, opt, i;
	int k;
	enum rdma_port_space ps = RDMA_PS_TCP;
	struct rdma_event_channel *ch;
	struct sockaddr_storage ss;
	struct rdma_cm_id **ids;

	while ((opt = getopt(argc, argv, "n:lrA:T:p:")) != -1) {
		switch (opt) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'l':
			lsn = 1;
			break;
		case 'r':
			reuse = 1;
			break;
		case 'A':
			afonly = !!atoi(optarg);
			break;
		case 'T':
			tos = atoi(optarg);
			if (tos < 0 || tos > 255)
				return usage();
			break;
		case 'p':
			if (parse_ps(optarg, &ps))
				return usage();
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (n < 1 || argc < 2 || argc % 2 || (long)n * (argc / 2) > MAX_IDS)
		return usage();
	for (k = 0; k < argc; k += 2)
		if (parse_bind_addr(argv[k], argv[k + 1], ps, &ss))
			return usage();

	ch = channel(0);
	ids = calloc((size_t)n * (argc / 2), sizeof(*ids));
	if (!ch || !ids)
		return 1;
	for (k = 0; k < argc; k += 2) {
		parse_bind_addr(argv[k], argv[k + 1], ps, &ss);
		for (i = 0; i < n; i++) {
			struct rdma_cm_id *id = NULL;
			int err = bind_one(ch, ps, &ss, reuse, afonly, tos,
					   lsn, &id);

			if (err)
				printf("err %s\n", ename(err));
			else
				printf("ok %u\n", ntohs(rdma_get_src_port(id)));
			ids[nids++] = id;
		}
	}
	fflush(stdout);
	hold();
	while (nids--)
		if (ids[nids])
			rdma_destroy_id(ids[nids]);
	free(ids);
	rdma_destroy_event_channel(ch);
	return 0;
}

/* What one thread of "threads" binds: n IDs, their errnos in err[]. */
struct binder {
	struct rdma_event_channel *ch;
	struct sockaddr_storage *ss;
	int reuse, n;
	struct rdma_cm_id **ids;
	int *err;
};

static void *binder_run(void *arg)
{
	struct binder *b = arg;
	int i;

	for (i = 0; i < b->n; i++)
		b->err[i] = bind_one(b->ch, RDMA_PS_TCP, b->ss, b->reuse, -1, -1,
				     0, &b->ids[i]);
	return NULL;
}

static int cmd_threads(int argc, char **argv)
{
	int t = 1, n = 1, reuse = 0, delay = 0, opt, i, k, err;
	struct rdma_event_channel *ch;
	struct sockaddr_storage ss;
	struct rdma_cm_id **ids;
	int *errs;

	while ((opt = getopt(argc, argv, "t:n:rd:")) != -1) {
		switch (opt) {
		case 't':
			t = atoi(optarg);
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'r':
			reuse = 1;
			break;
		case 'd':
			delay = atoi(optarg);
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (t < 1 || n < 1 || delay < 0 || (long)t * n > MAX_IDS ||
	    argc != 2 || parse_addr(argv[0], argv[1], &ss))
		return usage();

	ch = channel(0);
	ids = calloc((size_t)t * n, sizeof(*ids));
	errs = calloc((size_t)t * n, sizeof(*errs));
	if (!ch || !ids || !errs)
		return 1;
	for (k = 0; k < t; k++) {
		struct binder b = {
			.ch = ch, .ss = &ss, .reuse = reuse, .n = n,
			.ids = ids + (size_t)k * n, .err = errs + (size_t)k * n,
		};
		pthread_t th;

		err = pthread_create(&th, NULL, binder_run, &b);
		if (!err)
			err = pthread_join(th, NULL);
		if (err) {
			fprintf(stderr, "pthread: %s\n", strerror(err));
			return 1;
		}
	}
	for (i = 0; i < t * n; i++) {
		if (errs[i])
			printf("err %s\n", ename(errs[i]));
		else
			printf("ok %u\n", ntohs(rdma_get_src_port(ids[i])));
	}
	fflush(stdout);
	hold();
	for (i = 0; i < t * n; i++) {
		if (!ids[i])
			continue;
		rdma_destroy_id(ids[i]);
		if (delay)
			usleep(delay * 1000);
	}
	free(errs);
	free(ids);
	rdma_destroy_event_channel(ch);
	return 0;
}

/* A connection: its ID and the PD and CQ of its RC QP. */
struct conn {
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct conn *next;
	int accepted, counted;
};

/* A small RC QP for c->id, on its device: 0 or an errno. */
static int conn_qp(struct conn *c)
{
	struct ibv_qp_init_attr qa;

	c->pd = ibv_alloc_pd(c->id->verbs);
	if (!c->pd)
		return errno ? errno : ENOMEM;
	c->cq = ibv_create_cq(c->id->verbs, 4, NULL, NULL, 0);
	if (!c->cq)
		return errno ? errno : ENOMEM;
	memset(&qa, 0, sizeof(qa));
	qa.send_cq = c->cq;
	qa.recv_cq = c->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 1;
	qa.cap.max_recv_wr = 1;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(c->id, c->pd, &qa))
		return errno ? errno : EIO;
	return 0;
}

static void conn_release(struct conn *c)
{
	if (c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	rdma_destroy_id(c->id);
}

static void conn_drop(struct conn **list, struct conn *c)
{
	struct conn **p;

	for (p = list; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			conn_release(c);
			free(c);
			return;
		}
	}
}

static void serve_event(struct rdma_cm_event *ev, struct rdma_cm_id *lid,
			const char *name, int *served, struct conn **conns)
{
	enum rdma_cm_event_type type = ev->event;
	struct rdma_cm_id *id = ev->id;
	struct rdma_conn_param param;
	struct conn *c;
	int err;

	if (id == lid || type == RDMA_CM_EVENT_TIMEWAIT_EXIT) {
		rdma_ack_cm_event(ev);
		return;
	}
	switch (type) {
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		c = calloc(1, sizeof(*c));
		if (!c) {
			rdma_reject(id, NULL, 0);
			rdma_ack_cm_event(ev);
			rdma_destroy_id(id);
			return;
		}
		c->id = id;
		id->context = c;
		c->next = *conns;
		*conns = c;
		err = conn_qp(c);
		if (!err) {
			memset(&param, 0, sizeof(param));
			param.private_data = name;
			param.private_data_len = strlen(name) + 1;
			param.responder_resources = 1;
			param.initiator_depth = 1;
			param.rnr_retry_count = 7;
			if (rdma_accept(id, &param))
				err = errno ? errno : EIO;
		}
		if (err) {
			fprintf(stderr, "accept: %s\n", ename(err));
			rdma_reject(id, NULL, 0);
		}
		c->accepted = !err;
		rdma_ack_cm_event(ev);
		if (err)
			conn_drop(conns, c);
		return;
	case RDMA_CM_EVENT_ESTABLISHED:
		c = id->context;
		rdma_ack_cm_event(ev);
		if (c && !c->counted) {
			c->counted = 1;
			printf("served %d\n", ++*served);
			fflush(stdout);
		}
		return;
	case RDMA_CM_EVENT_DISCONNECTED:
		/*
		 * The client had the reply (it rides on the accept); if the RTU
		 * got lost (a slow or throttled host), the CM goes from REP
		 * sent straight to disconnected: the connection was served.
		 */
		c = id->context;
		if (c && c->accepted && !c->counted) {
			c->counted = 1;
			printf("served %d\n", ++*served);
			fflush(stdout);
		}
		rdma_ack_cm_event(ev);
		conn_drop(conns, c);
		return;
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		c = id->context;
		rdma_ack_cm_event(ev);
		conn_drop(conns, c);
		return;
	default:
		rdma_ack_cm_event(ev);
	}
}

static int cmd_serve(int argc, char **argv)
{
	struct rdma_event_channel *ch;
	struct sockaddr_storage ss;
	struct rdma_cm_event *ev;
	struct conn *conns = NULL;
	struct rdma_cm_id *lid;
	int served = 0, ret = 0;
	char buf[256];

	if (argc != 4 || parse_addr(argv[1], argv[2], &ss) ||
	    strlen(argv[3]) > NAME_MAX_LEN)
		return usage();
	ch = channel(1);
	if (!ch)
		return 1;
	if (rdma_create_id(ch, &lid, NULL, RDMA_PS_TCP)) {
		perror("rdma_create_id");
		return 1;
	}
	if (rdma_bind_addr(lid, (struct sockaddr *)&ss) || rdma_listen(lid, 8)) {
		printf("err %s\n", ename(errno));
		ret = 2;
		goto out;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = ch->fd, .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			ret = 1;
			break;
		}
		if (p[1].revents && read(0, buf, sizeof(buf)) <= 0)
			break;
		if (p[0].revents)
			while (!rdma_get_cm_event(ch, &ev))
				serve_event(ev, lid, argv[3], &served, &conns);
	}
	while (conns)
		conn_drop(&conns, conns);
out:
	rdma_destroy_id(lid);
	rdma_destroy_event_channel(ch);
	return ret;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/*
 * Waits up to @secs for the next event on the nonblocking channel @ch: 0 if
 * it is @want (its private data, as a string, in @pdata), else an errno.
 */
static int wait_event(struct rdma_event_channel *ch,
		      enum rdma_cm_event_type want, int secs, char *pdata,
		      size_t len)
{
	long long end = now_ms() + secs * 1000LL, left;
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	enum rdma_cm_event_type type;
	struct rdma_cm_event *ev;
	size_t i, n;
	int status;

	while (rdma_get_cm_event(ch, &ev)) {
		if (errno != EAGAIN)
			return errno;
		left = end - now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		poll(&p, 1, left);
	}
	type = ev->event;
	status = ev->status;
	if (type == want && pdata) {
		n = ev->param.conn.private_data_len;
		if (n > len - 1)
			n = len - 1;
		if (!ev->param.conn.private_data)
			n = 0;
		memcpy(pdata, ev->param.conn.private_data, n);
		pdata[n] = '\0';
		for (i = 0; i < n && pdata[i]; i++)
			if (pdata[i] < '!' || pdata[i] > '~')
				pdata[i] = '?';
	}
	rdma_ack_cm_event(ev);
	if (type == want)
		return 0;
	fprintf(stderr, "event %s status %d\n", rdma_event_str(type), status);
	switch (type) {
	case RDMA_CM_EVENT_REJECTED:
		return ECONNREFUSED;
	case RDMA_CM_EVENT_DISCONNECTED:
		return ECONNRESET;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		return ENODEV;
	case RDMA_CM_EVENT_UNREACHABLE:
		return status < 0 ? -status : ETIMEDOUT;
	default:
		return status < 0 ? -status : EPROTO;
	}
}

static int cmd_connect(int argc, char **argv)
{
	struct rdma_conn_param param = {
		.responder_resources = 1, .initiator_depth = 1,
		.retry_count = 7, .rnr_retry_count = 7,
	};
	char reply[NAME_MAX_LEN + 1] = "";
	struct rdma_event_channel *ch;
	struct conn c = { .id = NULL };
	struct sockaddr_storage ss;
	int secs = 5, opt, err;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			return usage();
		secs = atoi(optarg);
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || secs < 1 || parse_addr(argv[0], argv[1], &ss))
		return usage();
	ch = channel(1);
	if (!ch)
		return 1;
	if (rdma_create_id(ch, &c.id, NULL, RDMA_PS_TCP)) {
		perror("rdma_create_id");
		return 1;
	}

	err = rdma_resolve_addr(c.id, NULL, (struct sockaddr *)&ss,
				secs * 1000) ? errno :
	      wait_event(ch, RDMA_CM_EVENT_ADDR_RESOLVED, secs, NULL, 0);
	if (!err)
		err = rdma_resolve_route(c.id, secs * 1000) ? errno :
		      wait_event(ch, RDMA_CM_EVENT_ROUTE_RESOLVED, secs,
				 NULL, 0);
	if (!err)
		err = conn_qp(&c);
	if (!err)
		err = rdma_connect(c.id, &param) ? errno :
		      wait_event(ch, RDMA_CM_EVENT_ESTABLISHED, secs, reply,
				 sizeof(reply));
	if (err) {
		printf("err %s\n", ename(err));
	} else {
		printf("reply %s\n", reply);
		fflush(stdout);
		if (!rdma_disconnect(c.id))
			wait_event(ch, RDMA_CM_EVENT_DISCONNECTED, secs,
				   NULL, 0);
	}
	fflush(stdout);
	conn_release(&c);
	rdma_destroy_event_channel(ch);
	return err ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "bind"))
		return cmd_bind(argc - 1, argv + 1);
	if (!strcmp(argv[1], "threads"))
		return cmd_threads(argc - 1, argv + 1);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "connect"))
		return cmd_connect(argc - 1, argv + 1);
	return usage();
}
