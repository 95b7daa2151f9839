// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_ns: the C side.
 *
 * Registers the policy with ib_core (rdma_ns_register()) and turns each
 * callback into plain facts for the Rust side (rdma_ns_main.rs), where the
 * policy, the per-namespace accounting and /proc/net/rdma_ns live.
 */

#include <linux/netdevice.h>
#include <linux/ratelimit.h>
#include <net/net_namespace.h>
#include <rdma/ib_cache.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_ns.h>

#include "rdma_ns.h"

bool rdma_ns_glue_ratelimit(void)
{
	static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 10);

	return __ratelimit(&rs);
}

static bool rdma_ns_obj_add(void *priv, struct ib_device *dev,
			    enum rdma_ns_obj type, struct net *net, gfp_t gfp)
{
	return rdma_ns_rs_obj_add(net, dev->index,
				  dev_name(&dev->dev), type,
				  gfpflags_allow_blocking(gfp));
}

static void rdma_ns_obj_del(void *priv, struct ib_device *dev,
			    enum rdma_ns_obj type, struct net *net)
{
	rdma_ns_rs_obj_del(net, dev->index, type);
}

static int rdma_ns_check_sgid(void *priv, const struct rdma_ns_sgid *sgid)
{
	const struct ib_gid_attr *attr = sgid->attr;
	struct rdma_ns_facts f = {
		.obj = sgid->type,
		.shared = sgid->shared,
		.user = sgid->user,
		.wr = sgid->wr,
		.port = attr->port_num,
		.gid_index = attr->index,
		.qpn = sgid->qpn,
		.dev_name = dev_name(&attr->device->dev),
		.ndev_name = "",
	};
	struct net *owner = sgid->net;
	char ndev_name[IFNAMSIZ] = "";
	struct net_device *ndev;

	/* An untagged user object (created before the module was loaded) is
	 * judged as belonging to the caller's netns.  A work request has no
	 * caller (a driver's work item sends it): untagged, it is refused.
	 */
	if (!owner && sgid->user && !sgid->wr)
		owner = current->nsproxy->net_ns;

	rcu_read_lock();
	ndev = rdma_read_gid_attr_ndev_rcu(attr);
	if (IS_ERR(ndev)) {
		f.kind = PTR_ERR(ndev) == -ENODEV ? RDMA_NS_GID_NO_NETDEV :
						    RDMA_NS_GID_UNREADABLE;
	} else {
		struct net *gnet = dev_net(ndev);

		f.kind = RDMA_NS_GID_NETDEV;
		f.gid_cookie = gnet->net_cookie;
		f.gid_inum = gnet->ns.inum;
		strscpy(ndev_name, ndev->name);
	}
	rcu_read_unlock();
	f.ndev_name = ndev_name;
	if (owner) {
		f.owner_cookie = owner->net_cookie;
		f.owner_inum = owner->ns.inum;
	}

	return rdma_ns_rs_check(owner, &f);
}

static int rdma_ns_vet_raw(void *priv, struct ib_device *dev,
			   struct net *net, enum rdma_ns_raw kind,
			   bool shared)
{
	return rdma_ns_rs_check_raw(net, dev_name(&dev->dev), kind,
				    shared, net_eq(net, &init_net),
				    net->ns.inum);
}

/* The GID view: may a task of @viewer see an entry of @gid_net's netdev? */
static bool rdma_ns_gid_visible(void *priv, const struct net *gid_net,
				struct net *viewer, bool shared)
{
	enum rdma_ns_gid_kind kind = RDMA_NS_GID_NETDEV;
	u64 cookie = 0;

	if (!gid_net)
		kind = RDMA_NS_GID_NO_NETDEV;
	else if (IS_ERR(gid_net))
		kind = RDMA_NS_GID_UNREADABLE;
	else
		cookie = gid_net->net_cookie;
	return rdma_ns_rs_gid_visible(viewer->net_cookie,
				      net_eq(viewer, &init_net), shared, kind,
				      cookie);
}

/* For a log line only: the caller's comm and its pid in its pid namespace. */
int rdma_ns_glue_caller(char *comm, size_t len)
{
	strscpy_pad(comm, current->comm, len);
	return task_tgid_vnr(current);
}

static const struct rdma_ns_ops rdma_ns_ops = {
	.obj_add = rdma_ns_obj_add,
	.obj_del = rdma_ns_obj_del,
	.check_sgid = rdma_ns_check_sgid,
	.check_raw = rdma_ns_vet_raw,
	.gid_visible = rdma_ns_gid_visible,
};

/*
 * Called by the Rust module's init, once the per-namespace state is
 * registered: the policy is live when it returns 0.
 */
int rdma_ns_glue_register(void)
{
	return rdma_ns_register(&rdma_ns_ops, NULL);
}

/*
 * Called by the Rust module's exit: after rdma_ns_unregister() no callback
 * runs or will run; then the Rust side unregisters the per-namespace state.
 */
void rdma_ns_glue_unregister(void)
{
	rdma_ns_unregister(&rdma_ns_ops);
}
