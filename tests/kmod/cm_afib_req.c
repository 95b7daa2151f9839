// SPDX-License-Identifier: GPL-2.0
/*
 * cm_afib_req - a test-only sender of native (AF_IB) CM requests.
 *
 * rdma_cm cannot complete an AF_IB connection over RoCE (address resolution
 * of a GID needs an IB SA), so no user-space tool can send the request the
 * cm_portspace selftest needs: a CM REQ or SIDR REQ whose private data has no
 * rdma_cm IP header.  The receiving rdma_cm then takes it for an AF_IB
 * request and looks its listener up by ServiceID alone.
 *
 * Writing "req DST SID" or "sidr DST SID" to debugfs cm_afib_req/ctl, in the
 * network namespace to send from:
 *  1. resolves the address and the route to DST (IPv4 or IPv6) with a kernel
 *     rdma_cm ID in the writer's netns, which yields the RoCE path record and
 *     source GID of an ordinary connection;
 *  2. sends an ib_cm REQ (RC, no QP behind it) or a SIDR REQ for ServiceID SID
 *     (hex) with no private data, on that path;
 *  3. waits for the answer and returns (or fails with the rdma_cm error of
 *     step 1: -ETIMEDOUT, -ENETUNREACH, ...).
 * Reading ctl gives the last answer: "rep", "rej <reason>" (IB CM REJ reason:
 * 8 no listener for the ServiceID, 28 refused by rdma_cm), "sidr <status>"
 * (1 no listener, 2 refused) or "timeout".
 *
 * Root only (0600).  Not for production kernels: see CONFIG_RDMAISO_CM_AFIB_TEST.
 */
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/inet.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>
#include <rdma/ib_cm.h>
#include <rdma/rdma_cm.h>

#define AFIB_RESOLVE_MS		5000
#define AFIB_WAIT		(20 * HZ)
#define AFIB_CM_TIMEOUT		18	/* 4.096 us * 2^18: about 1 s */
#define AFIB_CM_RETRIES		2
#define AFIB_RESULT_LEN		32

/*
 * The rdma_cm ID may still get events (ADDR_CHANGE, UNREACHABLE on a
 * neighbour update, DEVICE_REMOVAL) while the CM request is out: they
 * complete @done, which nobody waits for by then, and never @cm_done.
 */
struct afib_req {
	struct completion done;		/* rdma_cm: the awaited step */
	enum rdma_cm_event_type expect;
	int status;
	struct completion cm_done;	/* ib_cm: the answer */
	char result[AFIB_RESULT_LEN];
};

static DEFINE_MUTEX(afib_lock);		/* one request at a time */
static char afib_last[AFIB_RESULT_LEN] = "none\n";	/* under afib_lock */
static struct dentry *afib_dir;

static int afib_cma_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct afib_req *r = id->context;

	if (completion_done(&r->done))
		return 0;
	r->status = ev->event == r->expect ? 0 : (ev->status ?: -EIO);
	complete(&r->done);
	return 0;
}

static int afib_cm_handler(struct ib_cm_id *cm_id,
			   const struct ib_cm_event *ev)
{
	struct afib_req *r = cm_id->context;

	if (completion_done(&r->cm_done))
		return 0;
	switch (ev->event) {
	case IB_CM_REP_RECEIVED:
		strscpy(r->result, "rep", sizeof(r->result));
		break;
	case IB_CM_REJ_RECEIVED:
		snprintf(r->result, sizeof(r->result), "rej %u",
			 ev->param.rej_rcvd.reason);
		break;
	case IB_CM_SIDR_REP_RECEIVED:
		snprintf(r->result, sizeof(r->result), "sidr %u",
			 ev->param.sidr_rep_rcvd.status);
		break;
	case IB_CM_REQ_ERROR:
	case IB_CM_SIDR_REQ_ERROR:
		strscpy(r->result, "timeout", sizeof(r->result));
		break;
	default:
		return 0;
	}
	complete(&r->cm_done);
	return 0;
}

/*
 * Waits for @c; killable, since the destroy calls that follow wait for the
 * handlers anyway.  0, -ETIMEDOUT or -EINTR.
 */
static int afib_wait(struct completion *c)
{
	long left = wait_for_completion_killable_timeout(c, AFIB_WAIT);

	if (left < 0)
		return -EINTR;
	return left ? 0 : -ETIMEDOUT;
}

/* One rdma_cm step started with @ret: 0 once r->expect arrives, or -errno. */
static int afib_step(struct afib_req *r, int ret)
{
	if (ret)
		return ret;
	ret = afib_wait(&r->done);
	return ret ?: r->status;
}

static int afib_send(struct rdma_cm_id *id, struct afib_req *r, bool sidr,
		     u64 sid)
{
	struct rdma_route *route = &id->route;
	struct ib_cm_id *cm_id;
	int ret;

	cm_id = ib_create_cm_id(id->device, afib_cm_handler, r);
	if (IS_ERR(cm_id))
		return PTR_ERR(cm_id);
	if (sidr) {
		struct ib_cm_sidr_req_param p = {
			.path = &route->path_rec[0],
			.sgid_attr = route->addr.dev_addr.sgid_attr,
			.service_id = cpu_to_be64(sid),
			.timeout_ms = 1000,
			.max_cm_retries = AFIB_CM_RETRIES,
		};

		ret = ib_send_cm_sidr_req(cm_id, &p);
	} else {
		struct ib_cm_req_param p = {
			.primary_path = &route->path_rec[0],
			.ppath_sgid_attr = route->addr.dev_addr.sgid_attr,
			.service_id = cpu_to_be64(sid),
			/* No QP behind it; random, so that a receiver's
			 * timewait entry of an earlier one does not match.
			 */
			.qp_num = get_random_u32_inclusive(1, 0xffffff),
			.qp_type = IB_QPT_RC,
			.remote_cm_response_timeout = AFIB_CM_TIMEOUT,
			.local_cm_response_timeout = AFIB_CM_TIMEOUT,
			.retry_count = 7,
			.rnr_retry_count = 7,
			.max_cm_retries = AFIB_CM_RETRIES,
		};

		ret = ib_send_cm_req(cm_id, &p);
	}
	if (!ret)
		ret = afib_wait(&r->cm_done);
	/* Waits for the handler; a connection that got a REP is rejected. */
	ib_destroy_cm_id(cm_id);
	return ret;
}

static int afib_run(bool sidr, const char *dst, u64 sid, char *result)
{
	struct net *net = current->nsproxy->net_ns;
	struct sockaddr_storage ss;
	struct rdma_cm_id *id;
	struct afib_req *r;
	int ret;

	ret = inet_pton_with_scope(net, AF_UNSPEC, dst, NULL, &ss);
	if (ret)
		return ret;
	r = kzalloc_obj(*r);
	if (!r)
		return -ENOMEM;
	init_completion(&r->done);
	init_completion(&r->cm_done);
	id = rdma_create_id(net, afib_cma_handler, r, RDMA_PS_TCP, IB_QPT_RC);
	if (IS_ERR(id)) {
		ret = PTR_ERR(id);
		goto out_free;
	}
	r->expect = RDMA_CM_EVENT_ADDR_RESOLVED;
	ret = afib_step(r, rdma_resolve_addr(id, NULL, (struct sockaddr *)&ss,
					     AFIB_RESOLVE_MS));
	if (ret)
		goto out_destroy;
	reinit_completion(&r->done);
	r->expect = RDMA_CM_EVENT_ROUTE_RESOLVED;
	ret = afib_step(r, rdma_resolve_route(id, AFIB_RESOLVE_MS));
	if (ret)
		goto out_destroy;
	if (!rdma_protocol_roce(id->device, id->port_num) ||
	    !id->route.path_rec) {
		ret = -EPROTONOSUPPORT;
		goto out_destroy;
	}
	ret = afib_send(id, r, sidr, sid);
	if (!ret)
		strscpy(result, r->result, AFIB_RESULT_LEN);
out_destroy:
	rdma_destroy_id(id);
out_free:
	kfree(r);
	return ret;
}

static ssize_t afib_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	char buf[96], kind[8], dst[64], result[AFIB_RESULT_LEN];
	u64 sid;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%7s %63s %llx", kind, dst, &sid) != 3 ||
	    (strcmp(kind, "req") && strcmp(kind, "sidr")))
		return -EINVAL;

	ret = mutex_lock_interruptible(&afib_lock);
	if (ret)
		return ret;
	ret = afib_run(!strcmp(kind, "sidr"), dst, sid, result);
	if (!ret)
		snprintf(afib_last, sizeof(afib_last), "%s\n", result);
	mutex_unlock(&afib_lock);
	return ret ?: len;
}

static ssize_t afib_read(struct file *file, char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	char last[AFIB_RESULT_LEN];
	int ret;

	ret = mutex_lock_interruptible(&afib_lock);
	if (ret)
		return ret;
	strscpy(last, afib_last, sizeof(last));
	mutex_unlock(&afib_lock);
	return simple_read_from_buffer(ubuf, len, ppos, last, strlen(last));
}

static const struct file_operations afib_fops = {
	.owner = THIS_MODULE,
	.read = afib_read,
	.write = afib_write,
	.llseek = default_llseek,
};

static int __init afib_init(void)
{
	afib_dir = debugfs_create_dir("cm_afib_req", NULL);
	debugfs_create_file("ctl", 0600, afib_dir, NULL, &afib_fops);
	return 0;
}

static void __exit afib_exit(void)
{
	debugfs_remove_recursive(afib_dir);
}

module_init(afib_init);
module_exit(afib_exit);
MODULE_DESCRIPTION("Test-only sender of AF_IB CM requests (rdmaiso selftests)");
MODULE_LICENSE("GPL");
