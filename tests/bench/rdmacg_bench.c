// SPDX-License-Identifier: GPL-2.0
/*
 * rdmacg_bench - cost of a charge + uncharge through the rdma cgroup C API.
 *
 * Uses only what upstream's kernel/cgroup/rdma.c exports, so the same source
 * builds and runs against an upstream kernel and against ours.  At load it
 * registers 64 accounting devices, rdmacg_bench0..63, that no driver backs.
 *
 * /sys/kernel/debug/rdmacg_bench/run: write "<devices> <iterations> [<tasks>]";
 * the writing task charges and uncharges one hca_object <iterations> times,
 * cycling over the first <devices> devices, in its own cgroup (so the depth
 * of the hierarchy is the writer's).  With <tasks> > 1 the writer first waits
 * at a gate until <tasks> writers arrived, so that their loops run at the
 * same time (processes started from a shell would otherwise hardly overlap).
 * Reading the file back (from offset 0, same open file) gives
 * "<ns per charge+uncharge> <failed charges> <start ns> <end ns>", the last
 * two on the monotonic clock, for the span of several tasks together.
 */
#include <linux/cgroup_rdma.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#define NDEV 64

static struct rdmacg_device devs[NDEV];
static char names[NDEV][24];
static struct dentry *dir;

struct result {
	char text[96];
	size_t len;
};

/* The start gate: the last of <tasks> writers to arrive opens it. */
static DEFINE_MUTEX(gate_lock);
static DECLARE_WAIT_QUEUE_HEAD(gate_wq);
static unsigned int gate_waiting;
static unsigned long gate_gen;

static int gate_pass(unsigned int tasks)
{
	unsigned long gen;
	int ret;

	mutex_lock(&gate_lock);
	gen = gate_gen;
	if (++gate_waiting >= tasks) {
		gate_waiting = 0;
		WRITE_ONCE(gate_gen, gen + 1);
		mutex_unlock(&gate_lock);
		wake_up_all(&gate_wq);
		return 0;
	}
	mutex_unlock(&gate_lock);
	ret = wait_event_killable(gate_wq, READ_ONCE(gate_gen) != gen);
	if (ret) {
		mutex_lock(&gate_lock);
		if (gate_gen == gen)
			gate_waiting--;
		else
			ret = 0;	/* opened meanwhile: run after all */
		mutex_unlock(&gate_lock);
	}
	return ret;
}

static int bench_open(struct inode *inode, struct file *file)
{
	file->private_data = kzalloc_obj(struct result);
	return file->private_data ? 0 : -ENOMEM;
}

static int bench_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	struct result *res = file->private_data;
	unsigned int ndev, i, tasks = 1;
	unsigned long iters, n, fails = 0;
	struct rdma_cgroup *cg;
	char buf[64];
	u64 start, end, ns;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%u %lu %u", &ndev, &iters, &tasks) < 2 || !ndev ||
	    ndev > NDEV || !iters || !tasks)
		return -EINVAL;

	if (tasks > 1) {
		ret = gate_pass(tasks);
		if (ret)
			return ret;
	}
	start = ktime_get_ns();
	for (n = 0, i = 0; n < iters; n++) {
		if (rdmacg_try_charge(&cg, &devs[i],
				      RDMACG_RESOURCE_HCA_OBJECT))
			fails++;
		else
			rdmacg_uncharge(cg, &devs[i],
					RDMACG_RESOURCE_HCA_OBJECT);
		if (++i == ndev)
			i = 0;
		if (!(n & 1023))
			cond_resched();
	}
	end = ktime_get_ns();
	ns = end - start;
	res->len = scnprintf(res->text, sizeof(res->text),
			     "%llu.%02llu %lu %llu %llu\n", div_u64(ns, iters),
			     div_u64((ns % iters) * 100, iters), fails, start,
			     end);
	return len;
}

static ssize_t bench_read(struct file *file, char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	struct result *res = file->private_data;

	return simple_read_from_buffer(ubuf, len, ppos, res->text, res->len);
}

static const struct file_operations bench_fops = {
	.owner = THIS_MODULE,
	.open = bench_open,
	.release = bench_release,
	.write = bench_write,
	.read = bench_read,
};

static int __init bench_init(void)
{
	int i;

	for (i = 0; i < NDEV; i++) {
		snprintf(names[i], sizeof(names[i]), "rdmacg_bench%d", i);
		devs[i].name = names[i];
		devs[i].index = 1000 + i;
		rdmacg_register_device(&devs[i]);
	}
	dir = debugfs_create_dir("rdmacg_bench", NULL);
	debugfs_create_file("run", 0600, dir, NULL, &bench_fops);
	return 0;
}

static void __exit bench_exit(void)
{
	int i;

	debugfs_remove_recursive(dir);
	for (i = 0; i < NDEV; i++)
		rdmacg_unregister_device(&devs[i]);
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_DESCRIPTION("rdma cgroup charge/uncharge microbenchmark");
MODULE_LICENSE("GPL");
