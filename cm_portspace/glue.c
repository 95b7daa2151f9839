// SPDX-License-Identifier: GPL-2.0
/*
 * cm_portspace: the C side.
 *
 * Sets rdma_cm's port-space policy (rdma_cm_ps_register()) once the Rust
 * side has registered its per-namespace state and /proc/net/rdma_cm_ports.
 * The bind lists stay in rdma_cm; each call from it becomes plain arguments
 * for cm_portspace_main.rs, where the ephemeral port choice, the
 * privileged-port rule and the listing live.
 */

#include <linux/capability.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <rdma/ib.h>
#include <rdma/rdma_cm_ps.h>

#include "cm_portspace.h"

/* One bind_any() call: what cm_ps_glue_try_port() needs */
struct cm_ps_try {
	struct net *net;
	struct rdma_id_private *id;
	enum rdma_ucm_port_space ps;
	rdma_cm_try_port_t try_port;
};

int cm_ps_glue_try_port(struct cm_ps_try *try, u16 port)
{
	return try->try_port(try->id, try->ps, port);
}

bool cm_ps_glue_reserved(struct cm_ps_try *try, u16 port)
{
	return inet_is_local_reserved_port(try->net, port);
}

/* CAP_NET_BIND_SERVICE in the user namespace that owns @net, as inet_bind */
bool cm_ps_glue_capable(struct net *net)
{
	return ns_capable(net->user_ns, CAP_NET_BIND_SERVICE);
}

static void cm_ps_addr(char *buf, size_t len,
		       const struct sockaddr_storage *ss)
{
	const struct sockaddr_ib *sib = (const struct sockaddr_ib *)ss;

	switch (ss->ss_family) {
	case AF_INET:
	case AF_INET6:
		snprintf(buf, len, "%pISpc", ss);
		break;
	case AF_IB:
		snprintf(buf, len, "sid:0x%016llx", be64_to_cpu(sib->sib_sid));
		break;
	default:
		strscpy(buf, "*", len);
	}
}

/* IDs of a port read from rdma_cm at a time, for /proc/net/rdma_cm_ports */
#define CM_PS_CHUNK 32

/* What cm_ps_glue_owners() reads from rdma_cm: one per show of the file */
struct cm_ps_chunk {
	struct rdma_cm_ps_owner o[CM_PS_CHUNK];
};

/* The buffer of one listing, with room for *@max IDs; NULL if out of memory */
struct cm_ps_chunk *cm_ps_glue_chunk_alloc(unsigned int *max)
{
	*max = CM_PS_CHUNK;
	return kmalloc_obj(struct cm_ps_chunk);
}

void cm_ps_glue_chunk_free(struct cm_ps_chunk *chunk)
{
	kfree(chunk);
}

/*
 * Rows of the IDs [@skip, @skip + @max) bound to @port, @max at most
 * CM_PS_CHUNK: how many IDs are bound to @port, or a -errno.
 */
int cm_ps_glue_owners(struct cm_ps_chunk *chunk, struct net *net, u32 ps,
		      u16 port, unsigned int skip, struct cm_ps_row *rows,
		      unsigned int max)
{
	struct rdma_cm_ps_owner *o = chunk->o;
	unsigned int i;
	int n;

	if (max > CM_PS_CHUNK)
		return -EINVAL;
	n = rdma_cm_ps_owners(net, ps, port, skip, o, max);
	if (n < 0)
		return n;
	for (i = 0; i < max && skip + i < n; i++) {
		cm_ps_addr(rows[i].local, sizeof(rows[i].local),
			   &o[i].src_addr);
		cm_ps_addr(rows[i].remote, sizeof(rows[i].remote),
			   &o[i].dst_addr);
		strscpy(rows[i].comm, o[i].comm);
		rows[i].pid = o[i].pid;
		rows[i].state = o[i].state;
		rows[i].reuseaddr = o[i].reuseaddr;
		rows[i].afonly = o[i].afonly;
	}
	return n;
}

/* The lowest port >= @from bound in @ps of @net, -ENOENT or -EINVAL */
int cm_ps_glue_next_port(struct net *net, u32 ps, unsigned int from)
{
	return rdma_cm_ps_next_port(net, ps, from);
}

/* Is @m's buffer full?  seq_file then shows again into a larger one. */
bool cm_ps_glue_seq_full(struct seq_file *m)
{
	return seq_has_overflowed(m);
}

static int cm_ps_bind_any(struct net *net, enum rdma_ucm_port_space ps,
			  struct rdma_id_private *id,
			  rdma_cm_try_port_t try_port)
{
	struct cm_ps_try try = {
		.net = net,
		.id = id,
		.ps = ps,
		.try_port = try_port,
	};
	int low, high;

	inet_get_local_port_range(net, &low, &high);
	return cm_ps_rs_bind_any(net, low, high,
				 get_random_u32_inclusive(low, high), &try);
}

static int cm_ps_bind_check(struct net *net, u16 port)
{
	int start = PROT_SOCK;

#ifdef CONFIG_SYSCTL
	start = READ_ONCE(net->ipv4.sysctl_ip_prot_sock);
#endif
	return cm_ps_rs_bind_check(port, start, net);
}

static const struct rdma_cm_ps_ops cm_ps_ops = {
	.owner = THIS_MODULE,
	.bind_any = cm_ps_bind_any,
	.bind_check = cm_ps_bind_check,
	.flags = RDMA_CM_PS_AF_IB_RECV_NET,
};

/*
 * Called last by the Rust module's init, once every namespace has its
 * state.  From here on, rdma_cm holds a reference on the module while any
 * port is bound, in any namespace.
 */
int cm_ps_glue_register(void)
{
	return rdma_cm_ps_register(&cm_ps_ops);
}

/*
 * Called first by the Rust module's exit, which runs only when no port is
 * bound: when it returns, rdma_cm calls nothing here any more.
 */
void cm_ps_glue_unregister(void)
{
	rdma_cm_ps_unregister(&cm_ps_ops);
}
