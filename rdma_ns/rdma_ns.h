/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the rdma_ns module's C glue (glue.c) and its Rust
 * side (rdma_ns_main.rs).  Private to the module.
 */
#ifndef _RDMAISO_RDMA_NS_H
#define _RDMAISO_RDMA_NS_H

#include <linux/types.h>
#include <rdma/rdma_ns.h>

struct net;

/* What the GID entry of a source GID tells about its owner */
enum rdma_ns_gid_kind {
	RDMA_NS_GID_NETDEV,	/* a netdev in netns gid_cookie */
	RDMA_NS_GID_NO_NETDEV,	/* InfiniBand / OPA: no netdev */
	RDMA_NS_GID_UNREADABLE,	/* entry gone or its netdev unregistering */
};

/* The facts of one source-GID check, gathered by the glue */
struct rdma_ns_facts {
	u64 owner_cookie;	/* 0: untagged kernel object */
	u64 gid_cookie;
	u32 owner_inum;
	u32 gid_inum;
	enum rdma_ns_gid_kind kind;
	enum rdma_ns_obj obj;
	bool shared;
	bool user;
	bool wr;		/* a work request's address, no caller */
	u32 port;
	u32 gid_index;
	u32 qpn;		/* wr: the sending QP */
	const char *dev_name;
	const char *ndev_name;	/* "" if none */
};

/*
 * Implemented in rdma_ns_main.rs, which #[export] checks against these
 * declarations (this header is in rust/bindings/bindings_helper.h).
 */
bool rdma_ns_rs_obj_add(struct net *net, u32 dev_index, const char *dev_name,
			enum rdma_ns_obj obj, bool may_sleep);
void rdma_ns_rs_obj_del(struct net *net, u32 dev_index, enum rdma_ns_obj obj);
int rdma_ns_rs_check(struct net *owner, const struct rdma_ns_facts *facts);
int rdma_ns_rs_check_raw(struct net *net, const char *dev_name,
			 enum rdma_ns_raw kind, bool shared, bool initial, u32 inum);
bool rdma_ns_rs_gid_visible(u64 viewer, bool initial, bool shared,
			    enum rdma_ns_gid_kind kind, u64 gid_cookie);

/* Called by the Rust side */
bool rdma_ns_glue_ratelimit(void);
int rdma_ns_glue_caller(char *comm, size_t len);
int rdma_ns_glue_register(void);
void rdma_ns_glue_unregister(void);

#endif /* _RDMAISO_RDMA_NS_H */
