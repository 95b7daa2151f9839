/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the rdma controller's C glue (glue.c) and its Rust
 * side (rdma_cgroup.rs).  Private to kernel/cgroup/rdma_cgroup/.
 */
#ifndef _KERNEL_CGROUP_RDMA_CGROUP_H
#define _KERNEL_CGROUP_RDMA_CGROUP_H

#include <linux/cgroup_rdma.h>
#include <linux/seq_file.h>

/* Operations of rdmacg_rs_prio() */
enum rdmacg_prio_op {
	RDMACG_PRIO_OP_CHECK,
	RDMACG_PRIO_OP_USE,
	RDMACG_PRIO_OP_UNUSE,
};

/* What rdmacg_rs_show() shows: the files' cftype::private */
enum rdmacg_show {
	RDMACG_SHOW_MAX,
	RDMACG_SHOW_CURRENT,
	RDMACG_SHOW_PEAK,
	RDMACG_SHOW_EVENTS,
	RDMACG_SHOW_EVENTS_LOCAL,
};

/*
 * Implemented in rdma_cgroup.rs, which #[export] checks against these
 * declarations (this header is in rust/bindings/bindings_helper.h).
 */
void *rdmacg_rs_css_alloc(void *parent, struct rdma_cgroup *cg, bool is_root);
void rdmacg_rs_css_offline(void *state);
void rdmacg_rs_css_free(void *state);
u32 rdmacg_rs_register_device(struct rdmacg_device *device);
void rdmacg_rs_unregister_device(struct rdmacg_device *device, u32 slot);
void rdmacg_rs_reset_slot(void *state, u32 slot);
int rdmacg_rs_try_charge(void *state, u32 slot,
			 enum rdmacg_resource_type index, u64 amount);
void rdmacg_rs_uncharge(void *state, u32 slot, enum rdmacg_resource_type index,
			u64 amount);
u32 rdmacg_rs_allowed(void *state, u32 slot, enum rdmacg_prio_kind kind);
int rdmacg_rs_prio(void *state, u32 slot, enum rdmacg_prio_kind kind, u32 prio,
		   enum rdmacg_prio_op op);
int rdmacg_rs_show(void *state, struct seq_file *sf, enum rdmacg_show what);
int rdmacg_rs_write(void *state, const char *buf, size_t len);

/* Called by the Rust side. */
void rdmacg_notify_events(struct rdma_cgroup *cg, bool local);
void rdmacg_reset_slot(u32 slot);
void rdmacg_walk_descendants(struct rdma_cgroup *cg,
			     void (*fn)(void *state, void *arg), void *arg);

#endif /* _KERNEL_CGROUP_RDMA_CGROUP_H */
