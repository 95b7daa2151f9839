// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_objs - create verbs or rdma_cm objects of one type until a count or a
 * failure.
 *
 *   rdma_objs <device> <type> <count> [hold-seconds]
 *
 * type: ctx pd cq qp srq mr mw ah, or
 *   mr:<bytes>       MRs of <bytes> each
 *   ah:<sl>[:<gid>[:<tc>]]     AHs on port 1 with that SL, from (and to) GID
 *                              index <gid> (default 0), GRH traffic class <tc>
 *                              (default 0)
 *   qprtr:<sl>[:<gid>[:<tc>]]  RC QPs taken to RTR with an address vector of
 *                              that SL, source GID index and traffic class
 *   cm_id:<ip>       rdma_cm IDs bound to local address <ip>
 *   tos:<ip>:<tos>   rdma_cm IDs with that type of service, address and route
 *                    resolved from and to <ip>
 *   listen:<addr>    rdma_cm IDs (TCP port space) listening on <addr>:
 *                    "<ipv4>[:<port>]", "<ipv6>" or "[<ipv6>]:<port>", port 0
 *                    (an ephemeral one) if not given; 0.0.0.0 or :: is a
 *                    wildcard listener, on every device
 *   udplisten:<addr> the same in the UDP port space (UD, SIDR)
 *   connect:<addr>   connection requests (TCP port space, no QP) to <addr>:
 *                    "created" counts the accepted ones; a REJECTED event is
 *                    errno ECONNREFUSED, no answer within 10 s ETIMEDOUT
 *   udpconnect:<addr> SIDR requests (UDP port space) to <addr>: an
 *                    UNREACHABLE event (the listener refused) is EHOSTUNREACH
 * Prints "created=N errno=E" (E = 0 if all were created) and, with
 * hold-seconds, keeps the objects that long before destroying them.
 * Exit status: 0 if all <count> were created, 1 otherwise, 2 on a setup
 * error unrelated to the type under test.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "open_dev.h"
#include "rc_qp.h"

#define MAXN 4096

/* "<sl>[:<gid index>[:<traffic class>]]" */
static struct ibv_ah_attr ah_attr(struct ibv_context *ctx, const char *arg)
{
	const char *g = strchr(arg, ':');
	const char *tc = g ? strchr(g + 1, ':') : NULL;
	struct ibv_ah_attr a = {
		.is_global = 1, .port_num = 1, .sl = atoi(arg),
		.grh = { .sgid_index = g ? atoi(g + 1) : 0, .hop_limit = 64,
			 .traffic_class = tc ? strtoul(tc + 1, NULL, 0) : 0 },
	};

	if (ibv_query_gid(ctx, 1, a.grh.sgid_index, &a.grh.dgid))
		exit(2);
	return a;
}

/* An RC QP taken to RTR towards itself with an address vector from arg. */
static struct ibv_qp *qp_rtr(struct ibv_pd *pd, struct ibv_cq *cq,
			    const char *arg)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_ah_attr av = ah_attr(pd->context, arg);
	struct ibv_qp *qp = ibv_create_qp(pd, &ia);
	int err;

	if (!qp || rc_qp_init(qp))
		exit(2);
	err = rc_qp_rtr(qp, &av);
	if (err) {
		ibv_destroy_qp(qp);
		errno = err;
		return NULL;
	}
	return qp;
}

/* A synchronous rdma_cm ID bound to ip; with tos >= 0, also routed to ip. */
static struct rdma_cm_id *cm_id(const char *ip, int tos)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rdma_cm_id *id;
	uint8_t t = tos;
	int e;

	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		exit(2);
	if (rdma_create_id(NULL, &id, NULL, RDMA_PS_TCP))
		return NULL;
	if (tos < 0) {
		if (rdma_bind_addr(id, (struct sockaddr *)&sin))
			goto fail;
		return id;
	}
	if (rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_TOS, &t,
			    sizeof(t)))
		goto fail;
	if (rdma_resolve_addr(id, NULL, (struct sockaddr *)&sin, 2000))
		goto fail;
	if (rdma_resolve_route(id, 2000))
		goto fail;
	return id;
fail:
	e = errno;
	rdma_destroy_id(id);
	errno = e;
	return NULL;
}

/* "<ipv4>[:<port>]", "<ipv6>" or "[<ipv6>]:<port>" */
static void parse_sa(const char *arg, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *c = strchr(arg, ':'), *port = NULL, *e;
	char ip[64];

	memset(ss, 0, sizeof(*ss));
	if (*arg == '[' && (e = strchr(arg, ']'))) {
		snprintf(ip, sizeof(ip), "%.*s", (int)(e - arg - 1), arg + 1);
		port = e[1] == ':' ? e + 2 : NULL;
	} else if (c && c == strrchr(arg, ':')) {
		snprintf(ip, sizeof(ip), "%.*s", (int)(c - arg), arg);
		port = c + 1;
	} else {
		snprintf(ip, sizeof(ip), "%s", arg);
	}
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port ? atoi(port) : 0);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port ? atoi(port) : 0);
	} else {
		exit(2);
	}
}

/* A synchronous rdma_cm ID of port space ps listening on arg. */
static struct rdma_cm_id *listener(const char *arg, enum rdma_port_space ps)
{
	struct sockaddr_storage ss;
	struct rdma_cm_id *id;
	int e;

	parse_sa(arg, &ss);
	if (rdma_create_id(NULL, &id, NULL, ps))
		return NULL;
	if (!rdma_bind_addr(id, (struct sockaddr *)&ss) && !rdma_listen(id, 4))
		return id;
	e = errno;
	rdma_destroy_id(id);
	errno = e;
	return NULL;
}

/*
 * The next event on ch within 10 s: 0 if it is want (or, for ESTABLISHED,
 * the CONNECT_RESPONSE that librdmacm reports to an ID without a QP), else
 * an errno.
 */
static int wait_event(struct rdma_event_channel *ch,
		      enum rdma_cm_event_type want)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	enum rdma_cm_event_type type;
	struct rdma_cm_event *ev;
	int status;

	if (poll(&p, 1, 10000) != 1)
		return ETIMEDOUT;
	if (rdma_get_cm_event(ch, &ev))
		return errno ? errno : EIO;
	type = ev->event;
	status = ev->status;
	rdma_ack_cm_event(ev);
	if (type == want || (want == RDMA_CM_EVENT_ESTABLISHED &&
			     type == RDMA_CM_EVENT_CONNECT_RESPONSE))
		return 0;
	fprintf(stderr, "%s status %d\n", rdma_event_str(type), status);
	if (type == RDMA_CM_EVENT_REJECTED)
		return ECONNREFUSED;
	if (type == RDMA_CM_EVENT_UNREACHABLE && status > 0)
		return EHOSTUNREACH;	/* a SIDR reply that refuses */
	return status < 0 ? -status : EPROTO;
}

/*
 * An rdma_cm ID of port space ps whose connection request (TCP) or SIDR
 * request (UDP) to arg was answered, not refused.  There is no QP: the
 * requests only show whether the listener's side refuses them.
 */
static struct rdma_cm_id *connector(const char *arg, enum rdma_port_space ps)
{
	static struct rdma_event_channel *ch;
	struct rdma_conn_param param = {
		.responder_resources = 1, .initiator_depth = 1,
		.retry_count = 7, .rnr_retry_count = 7,
	};
	struct sockaddr_storage ss;
	struct rdma_cm_id *id;
	int err;

	parse_sa(arg, &ss);
	if (!ch)
		ch = rdma_create_event_channel();
	if (!ch || rdma_create_id(ch, &id, NULL, ps))
		exit(2);
	err = rdma_resolve_addr(id, NULL, (struct sockaddr *)&ss, 2000) ?
	      errno : wait_event(ch, RDMA_CM_EVENT_ADDR_RESOLVED);
	if (!err)
		err = rdma_resolve_route(id, 2000) ? errno :
		      wait_event(ch, RDMA_CM_EVENT_ROUTE_RESOLVED);
	if (!err)
		err = rdma_connect(id, &param) ? errno :
		      wait_event(ch, RDMA_CM_EVENT_ESTABLISHED);
	if (!err)
		return id;
	rdma_destroy_id(id);
	errno = err;
	return NULL;
}

int main(int argc, char **argv)
{
	static void *objs[MAXN];
	static char buf[MAXN][64];
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	struct ibv_cq *cq = NULL;
	const char *type, *arg;
	int n, hold, i, made = 0, err = 0;
	char kind[16];
	size_t mrlen = 64;

	if (argc < 4) {
		fprintf(stderr, "usage: %s <device> <type> <count> [hold]\n", argv[0]);
		return 2;
	}
	type = argv[2];
	arg = strchr(type, ':');
	arg = arg ? arg + 1 : "";
	snprintf(kind, sizeof(kind), "%.*s", (int)strcspn(type, ":"), type);
	type = kind;
	n = atoi(argv[3]);
	hold = argc > 4 ? atoi(argv[4]) : 0;
	if (n < 0 || n > MAXN)
		return 2;

	if (!strcmp(type, "mr") && *arg)
		mrlen = strtoull(arg, NULL, 0);
	if (strcmp(type, "ctx") && strcmp(type, "cm_id") && strcmp(type, "tos") &&
	    !strstr(type, "listen") && !strstr(type, "connect")) {
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
		if (!strcmp(type, "qp") || !strcmp(type, "qprtr")) {
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
			void *m = mrlen <= sizeof(buf[i]) ? buf[i] :
				  aligned_alloc(4096, mrlen);

			o = m ? ibv_reg_mr(pd, m, mrlen, IBV_ACCESS_LOCAL_WRITE) :
				NULL;
		} else if (!strcmp(type, "qprtr")) {
			o = qp_rtr(pd, cq, arg);
		} else if (!strcmp(type, "cm_id")) {
			o = cm_id(arg, -1);
		} else if (!strcmp(type, "tos")) {
			char ip[64];

			snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(arg, ":"), arg);
			o = cm_id(ip, strchr(arg, ':') ? atoi(strchr(arg, ':') + 1) : 0);
		} else if (!strcmp(type, "listen") || !strcmp(type, "udplisten")) {
			o = listener(arg, *type == 'u' ? RDMA_PS_UDP : RDMA_PS_TCP);
		} else if (!strcmp(type, "connect") || !strcmp(type, "udpconnect")) {
			o = connector(arg, *type == 'u' ? RDMA_PS_UDP : RDMA_PS_TCP);
		} else if (!strcmp(type, "mw")) {
			o = ibv_alloc_mw(pd, IBV_MW_TYPE_1);
		} else if (!strcmp(type, "ah")) {
			struct ibv_ah_attr a = ah_attr(ctx, arg);

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
		else if (!strcmp(type, "qp") || !strcmp(type, "qprtr"))
			ibv_destroy_qp(objs[i]);
		else if (!strcmp(type, "cm_id") || !strcmp(type, "tos") ||
			 strstr(type, "listen") || strstr(type, "connect"))
			rdma_destroy_id(objs[i]);
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
