// SPDX-License-Identifier: GPL-2.0

#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/seq_file_net.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#ifdef CONFIG_NET

__rust_helper struct net *rust_helper_get_net(struct net *net)
{
	return get_net(net);
}

__rust_helper void rust_helper_put_net(struct net *net)
{
	put_net(net);
}

/*
 * The network namespace of the current task, without taking a reference, or
 * NULL once an exiting task has released its namespaces.  Only the task itself
 * changes its nsproxy, so the result stays valid while the caller runs in the
 * task's context and takes a reference before leaving it.
 */
__rust_helper struct net *rust_helper_current_net_ns(void)
{
	struct nsproxy *nsproxy = current->nsproxy;

	return nsproxy ? nsproxy->net_ns : NULL;
}

__rust_helper void *rust_helper_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

__rust_helper struct net *rust_helper_seq_file_single_net(struct seq_file *seq)
{
	return seq_file_single_net(seq);
}

#endif
