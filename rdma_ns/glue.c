// SPDX-License-Identifier: GPL-2.0
/*
 * rdma_ns: the C side.
 *
 * Registers the policy with ib_core (rdma_ns_register()), a pernet
 * subsystem for the per-namespace state and /proc/net/rdma_ns, and turns
 * each callback into plain facts for the Rust side (rdma_ns_main.rs), where the
 * policy, the accounting and the file's contents live.
 */

#include <linux/netdevice.h>
#include <linux/proc_fs.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <rdma/ib_cache.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_ns.h>

#include "rdma_ns.h"

static unsigned int rdma_ns_net_id __read_mostly;

struct rdma_ns_net {
	void *state;		/* Rust, rdma_ns_rs_net_init() */
};

static void *net_state(struct net *net)
{
	return ((struct rdma_ns_net *)net_generic(net, rdma_ns_net_id))->state;
}

bool rdma_ns_glue_ratelimit(void)
{
	static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 10);

	return __ratelimit(&rs);
}

static bool rdma_ns_obj_add(void *priv, struct ib_device *dev,
			    enum rdma_ns_obj type, struct net *net, gfp_t gfp)
{
	return rdma_ns_rs_obj_add(net_state(net), dev->index,
				  dev_name(&dev->dev), type,
				  gfpflags_allow_blocking(gfp));
}

static void rdma_ns_obj_del(void *priv, struct ib_device *dev,
			    enum rdma_ns_obj type, struct net *net)
{
	rdma_ns_rs_obj_del(net_state(net), dev->index, type);
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

	return rdma_ns_rs_check(owner ? net_state(owner) : NULL, &f);
}

static int rdma_ns_vet_raw(void *priv, struct ib_device *dev,
			   struct net *net, enum rdma_ns_raw kind,
			   bool shared)
{
	return rdma_ns_rs_check_raw(net_state(net), dev_name(&dev->dev), kind,
				    shared, net_eq(net, &init_net),
				    net->ns.inum);
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
};

static int rdma_ns_proc_show(struct seq_file *m, void *v)
{
	rdma_ns_rs_show(net_state(seq_file_single_net(m)), m);
	return 0;
}

static int __net_init rdma_ns_net_init(struct net *net)
{
	struct rdma_ns_net *rn = net_generic(net, rdma_ns_net_id);

	rn->state = rdma_ns_rs_net_init();
	if (!rn->state)
		return -ENOMEM;
	if (!proc_create_net_single("rdma_ns", 0444, net->proc_net,
				    rdma_ns_proc_show, NULL)) {
		rdma_ns_rs_net_exit(rn->state);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit rdma_ns_net_exit(struct net *net)
{
	struct rdma_ns_net *rn = net_generic(net, rdma_ns_net_id);

	/* Waits for readers of the file */
	remove_proc_entry("rdma_ns", net->proc_net);
	rdma_ns_rs_net_exit(rn->state);
}

static struct pernet_operations rdma_ns_net_ops = {
	.init = rdma_ns_net_init,
	.exit = rdma_ns_net_exit,
	.id = &rdma_ns_net_id,
	.size = sizeof(struct rdma_ns_net),
};

/* Called by the Rust module's init; the policy is live when it returns 0 */
int rdma_ns_glue_register(void)
{
	int ret;

	ret = register_pernet_subsys(&rdma_ns_net_ops);
	if (ret)
		return ret;
	ret = rdma_ns_register(&rdma_ns_ops, NULL);
	if (ret)
		unregister_pernet_subsys(&rdma_ns_net_ops);
	return ret;
}

/*
 * Called by the Rust module's exit: after rdma_ns_unregister() no callback
 * runs or will run; then the per-netns state goes.
 */
void rdma_ns_glue_unregister(void)
{
	rdma_ns_unregister(&rdma_ns_ops);
	unregister_pernet_subsys(&rdma_ns_net_ops);
}
