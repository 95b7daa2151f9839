// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup v2 "rdma" controller: the C side.
 *
 * Defines the cgroup subsystem and its files, and implements the C API that
 * ib_core calls (include/linux/cgroup_rdma.h).  Every function only finds
 * the css and hands over to the Rust side (rdma_cgroup.rs), where all
 * accounting and policy live.
 */

#include <linux/cgroup.h>
#include <linux/cgroup_rdma.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "rdma_cgroup.h"

static struct rdma_cgroup *css_rdmacg(struct cgroup_subsys_state *css)
{
	return container_of(css, struct rdma_cgroup, css);
}

void rdmacg_notify_events(struct rdma_cgroup *cg, bool local)
{
	cgroup_file_notify(&cg->events_file);
	if (local)
		cgroup_file_notify(&cg->events_local_file);
}

/**
 * rdmacg_try_charge_n - charge @amount of a resource to the current task's cgroup
 * @rdmacg: set to the charged cgroup on success; pass it to rdmacg_uncharge_n()
 * @device: the registered device
 * @index: the resource
 * @amount: how much (1 for objects; bytes for RDMACG_RESOURCE_MR_BYTES)
 *
 * Charges the cgroup and each ancestor, or nothing.  The charged cgroup is
 * pinned until the matching uncharge.
 *
 * Return: 0, -EAGAIN if a limit is reached, -ENOMEM, or -EINVAL.
 */
int rdmacg_try_charge_n(struct rdma_cgroup **rdmacg,
			struct rdmacg_device *device,
			enum rdmacg_resource_type index, u64 amount)
{
	struct rdma_cgroup *cg;
	int ret;

	if (index >= RDMACG_RESOURCE_MAX)
		return -EINVAL;

	cg = css_rdmacg(task_get_css(current, rdma_cgrp_id));
	ret = rdmacg_rs_try_charge(cg->state, device->slot, index, amount);
	if (ret) {
		css_put(&cg->css);
		return ret;
	}
	*rdmacg = cg;
	return 0;
}
EXPORT_SYMBOL(rdmacg_try_charge_n);

int rdmacg_try_charge(struct rdma_cgroup **rdmacg,
		      struct rdmacg_device *device,
		      enum rdmacg_resource_type index)
{
	return rdmacg_try_charge_n(rdmacg, device, index, 1);
}
EXPORT_SYMBOL(rdmacg_try_charge);

/**
 * rdmacg_uncharge_n - return a charge made by rdmacg_try_charge_n()
 * @cg: the cgroup that rdmacg_try_charge_n() returned
 * @device: the device
 * @index: the resource
 * @amount: the amount charged
 */
void rdmacg_uncharge_n(struct rdma_cgroup *cg, struct rdmacg_device *device,
		       enum rdmacg_resource_type index, u64 amount)
{
	if (index >= RDMACG_RESOURCE_MAX)
		return;

	rdmacg_rs_uncharge(cg->state, device->slot, index, amount);
	css_put(&cg->css);
}
EXPORT_SYMBOL(rdmacg_uncharge_n);

void rdmacg_uncharge(struct rdma_cgroup *cg, struct rdmacg_device *device,
		     enum rdmacg_resource_type index)
{
	rdmacg_uncharge_n(cg, device, index, 1);
}
EXPORT_SYMBOL(rdmacg_uncharge);

/**
 * rdmacg_get_current - the current task's rdma cgroup, pinned
 *
 * For charges made later on the task's behalf, from another context (rdma_cm
 * charges an ID when it binds to a device, possibly from a work item).
 * Release with rdmacg_put().
 */
struct rdma_cgroup *rdmacg_get_current(void)
{
	return css_rdmacg(task_get_css(current, rdma_cgrp_id));
}
EXPORT_SYMBOL(rdmacg_get_current);

void rdmacg_get(struct rdma_cgroup *cg)
{
	css_get(&cg->css);
}
EXPORT_SYMBOL(rdmacg_get);

void rdmacg_put(struct rdma_cgroup *cg)
{
	css_put(&cg->css);
}
EXPORT_SYMBOL(rdmacg_put);

/**
 * rdmacg_try_charge_cg - charge @amount of a resource to a given cgroup
 * @cg: a cgroup the caller holds (rdmacg_get_current())
 * @device: the registered device
 * @index: the resource
 * @amount: how much
 *
 * Like rdmacg_try_charge_n() for @cg instead of the current task's cgroup.
 * A successful charge pins @cg on its own; return it with rdmacg_uncharge_n().
 *
 * Return: 0, -EAGAIN if a limit is reached, -ENOMEM, or -EINVAL.
 */
int rdmacg_try_charge_cg(struct rdma_cgroup *cg, struct rdmacg_device *device,
			 enum rdmacg_resource_type index, u64 amount)
{
	int ret;

	if (index >= RDMACG_RESOURCE_MAX)
		return -EINVAL;

	ret = rdmacg_rs_try_charge(cg->state, device->slot, index, amount);
	if (!ret)
		css_get(&cg->css);
	return ret;
}
EXPORT_SYMBOL(rdmacg_try_charge_cg);

/**
 * rdmacg_prio_allowed - the Service Levels or User Priorities a cgroup may use
 * @cg: the cgroup
 * @device: the device
 * @kind: RDMACG_PRIO_SL (InfiniBand ports) or RDMACG_PRIO_UP (RoCE ports)
 *
 * Return: a bit mask, bit n set if SL/UP n is allowed by @cg and all its
 * ancestors.
 */
u32 rdmacg_prio_allowed(struct rdma_cgroup *cg, struct rdmacg_device *device,
			enum rdmacg_prio_kind kind)
{
	return rdmacg_rs_allowed(cg->state, device->slot, kind);
}
EXPORT_SYMBOL(rdmacg_prio_allowed);

/**
 * rdmacg_prio_check - may a cgroup use a Service Level or User Priority?
 * @cg: the cgroup
 * @device: the device
 * @kind: RDMACG_PRIO_SL or RDMACG_PRIO_UP
 * @prio: the SL (0-15) or UP (0-7)
 *
 * A refusal is counted in rdma.events (sl.denied, up.denied).
 *
 * Return: 0, -EPERM if @cg or an ancestor does not allow @prio, -EINVAL if
 * @prio is out of range.
 */
int rdmacg_prio_check(struct rdma_cgroup *cg, struct rdmacg_device *device,
		      enum rdmacg_prio_kind kind, u32 prio)
{
	return rdmacg_rs_prio(cg->state, device->slot, kind, prio,
			      RDMACG_PRIO_OP_CHECK);
}
EXPORT_SYMBOL(rdmacg_prio_check);

/**
 * rdmacg_prio_use - check a Service Level or User Priority and count it in use
 * @cg: the cgroup
 * @device: the device
 * @kind: RDMACG_PRIO_SL or RDMACG_PRIO_UP
 * @prio: the SL (0-15) or UP (0-7)
 *
 * Like rdmacg_prio_check(); on success @prio shows in @cg's rdma.current
 * (and its ancestors') until the matching rdmacg_prio_unuse().
 *
 * Return: 0, -EPERM, -EINVAL, or -ENOMEM.
 */
int rdmacg_prio_use(struct rdma_cgroup *cg, struct rdmacg_device *device,
		    enum rdmacg_prio_kind kind, u32 prio)
{
	return rdmacg_rs_prio(cg->state, device->slot, kind, prio,
			      RDMACG_PRIO_OP_USE);
}
EXPORT_SYMBOL(rdmacg_prio_use);

void rdmacg_prio_unuse(struct rdma_cgroup *cg, struct rdmacg_device *device,
		       enum rdmacg_prio_kind kind, u32 prio)
{
	rdmacg_rs_prio(cg->state, device->slot, kind, prio, RDMACG_PRIO_OP_UNUSE);
}
EXPORT_SYMBOL(rdmacg_prio_unuse);

/*
 * Resets @slot's pool in every cgroup, for a device slot being given to a
 * new device.  Cgroup states are freed an RCU grace period after their css
 * leaves the hierarchy, so the walk may visit dying ones.
 */
void rdmacg_reset_slot(u32 slot)
{
	struct cgroup_subsys_state *root = init_css_set.subsys[rdma_cgrp_id];
	struct cgroup_subsys_state *css;

	rcu_read_lock();
	css_for_each_descendant_pre(css, root)
		rdmacg_rs_reset_slot(css_rdmacg(css)->state, slot);
	rcu_read_unlock();
}

/*
 * Calls @fn with the state of every descendant of @cg (not @cg itself) and
 * @arg, under rcu_read_lock(): states are freed an RCU grace period after
 * their css leaves the hierarchy, and a css with charges stays in it.
 */
void rdmacg_walk_descendants(struct rdma_cgroup *cg,
			     void (*fn)(void *state, void *arg), void *arg)
{
	struct cgroup_subsys_state *css;

	rcu_read_lock();
	css_for_each_descendant_pre(css, &cg->css)
		if (css != &cg->css)
			fn(css_rdmacg(css)->state, arg);
	rcu_read_unlock();
}

void rdmacg_register_device(struct rdmacg_device *device)
{
	device->slot = rdmacg_rs_register_device(device);
}
EXPORT_SYMBOL(rdmacg_register_device);

void rdmacg_unregister_device(struct rdmacg_device *device)
{
	rdmacg_rs_unregister_device(device, device->slot);
}
EXPORT_SYMBOL(rdmacg_unregister_device);

static int rdmacg_show(struct seq_file *sf, void *v)
{
	return rdmacg_rs_show(css_rdmacg(seq_css(sf))->state, sf,
			      seq_cft(sf)->private);
}

static ssize_t rdmacg_write(struct kernfs_open_file *of, char *buf,
			    size_t nbytes, loff_t off)
{
	int ret = rdmacg_rs_write(css_rdmacg(of_css(of))->state, buf, nbytes);

	return ret ?: nbytes;
}

static struct cftype rdmacg_files[] = {
	{
		.name = "max",
		.write = rdmacg_write,
		.seq_show = rdmacg_show,
		.private = RDMACG_SHOW_MAX,
		.flags = CFTYPE_NOT_ON_ROOT,
	},
	{
		.name = "current",
		.seq_show = rdmacg_show,
		.private = RDMACG_SHOW_CURRENT,
		.flags = CFTYPE_NOT_ON_ROOT,
	},
	{
		.name = "peak",
		.seq_show = rdmacg_show,
		.private = RDMACG_SHOW_PEAK,
		.flags = CFTYPE_NOT_ON_ROOT,
	},
	{
		.name = "events",
		.seq_show = rdmacg_show,
		.private = RDMACG_SHOW_EVENTS,
		.file_offset = offsetof(struct rdma_cgroup, events_file),
		.flags = CFTYPE_NOT_ON_ROOT,
	},
	{
		.name = "events.local",
		.seq_show = rdmacg_show,
		.private = RDMACG_SHOW_EVENTS_LOCAL,
		.file_offset = offsetof(struct rdma_cgroup, events_local_file),
		.flags = CFTYPE_NOT_ON_ROOT,
	},
	{ }	/* terminate */
};

static struct cgroup_subsys_state *
rdmacg_css_alloc(struct cgroup_subsys_state *parent)
{
	struct rdma_cgroup *cg;
	void *pstate = NULL;

	cg = kzalloc_obj(*cg);
	if (!cg)
		return ERR_PTR(-ENOMEM);

	/* The root is not accounted: its children have no accounted parent. */
	if (parent && parent->parent)
		pstate = css_rdmacg(parent)->state;
	cg->state = rdmacg_rs_css_alloc(pstate, cg, !parent);
	if (!cg->state) {
		kfree(cg);
		return ERR_PTR(-ENOMEM);
	}
	return &cg->css;
}

static void rdmacg_css_offline(struct cgroup_subsys_state *css)
{
	rdmacg_rs_css_offline(css_rdmacg(css)->state);
}

static void rdmacg_css_free(struct cgroup_subsys_state *css)
{
	struct rdma_cgroup *cg = css_rdmacg(css);

	rdmacg_rs_css_free(cg->state);
	kfree(cg);
}

struct cgroup_subsys rdma_cgrp_subsys = {
	.css_alloc	= rdmacg_css_alloc,
	.css_free	= rdmacg_css_free,
	.css_offline	= rdmacg_css_offline,
	.legacy_cftypes	= rdmacg_files,
	.dfl_cftypes	= rdmacg_files,
};
