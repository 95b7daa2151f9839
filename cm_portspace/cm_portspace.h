/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the cm_portspace module's C glue (glue.c) and its
 * Rust side (cm_portspace_main.rs).  Private to the module.
 */
#ifndef _RDMAISO_CM_PORTSPACE_H
#define _RDMAISO_CM_PORTSPACE_H

#include <linux/sched.h>
#include <linux/types.h>

struct net;
struct seq_file;
struct cm_ps_try;		/* one bind_any() call, glue.c */
struct cm_ps_chunk;		/* one show's IDs read from rdma_cm, glue.c */

/* One ID bound to a port, as shown in /proc/net/rdma_cm_ports */
struct cm_ps_row {
	char local[64];		/* "addr:port", "[addr]:port", "sid:0x..." */
	char remote[64];
	char comm[TASK_COMM_LEN];
	int pid;		/* in the reader's pid namespace; 0: kernel */
	u8 state;		/* enum rdma_cm_state */
	u8 reuseaddr;
	u8 afonly;
};

/*
 * Implemented in cm_portspace_main.rs, which #[export] checks against these
 * declarations (this header is in rust/bindings/bindings_helper.h).
 */
int cm_ps_rs_bind_any(struct net *net, u16 low, u16 high, u16 start,
		      struct cm_ps_try *try);
int cm_ps_rs_bind_check(u16 port, int unprivileged_start, struct net *net);

/* Called by the Rust side */
int cm_ps_glue_try_port(struct cm_ps_try *try, u16 port);
bool cm_ps_glue_reserved(struct cm_ps_try *try, u16 port);
bool cm_ps_glue_capable(struct net *net);
int cm_ps_glue_next_port(struct net *net, u32 ps, unsigned int from);
int cm_ps_glue_owners(struct cm_ps_chunk *chunk, struct net *net, u32 ps,
		      u16 port, unsigned int skip, struct cm_ps_row *rows,
		      unsigned int max);
bool cm_ps_glue_seq_full(struct seq_file *m);
struct cm_ps_chunk *cm_ps_glue_chunk_alloc(unsigned int *max);
void cm_ps_glue_chunk_free(struct cm_ps_chunk *chunk);
int cm_ps_glue_register(void);
void cm_ps_glue_unregister(void);

#endif /* _RDMAISO_CM_PORTSPACE_H */
