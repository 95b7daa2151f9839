// SPDX-License-Identifier: GPL-2.0
/*
 * cm_ps_bench - end-to-end cost of rdma_cm port-space operations over many
 * network namespaces.
 *
 *   cm_ps_bench [-n NETNS] [-i IDS] [-b BASE]
 *
 * Creates NETNS network namespaces (default 100) with unshare(CLONE_NEWNET),
 * each kept by an fd, and in each IDS rdma_cm IDs (default 100).  An ID
 * belongs to the netns of the process that creates it, so the process
 * setns()es into each namespace in turn, with one event channel per
 * namespace.  Three phases are timed:
 *   create+bind  rdma_create_id and rdma_bind_addr to 0.0.0.0, port 0
 *                (ephemeral), or BASE + i for the i-th ID with -b;
 *   listen       rdma_listen on every ID;
 *   destroy      rdma_destroy_id on every ID.
 * Prints "cmps <phase> <ids> <ns per id>" per phase.  Needs root and at
 * least one RDMA device (librdmacm refuses to start without).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <rdma/rdma_cma.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what, int k, int i)
{
	fprintf(stderr, "cm_ps_bench: %s (netns %d, id %d): %s\n", what, k, i,
		strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	int nns = 100, nids = 100, base = 0, opt, k, i, orig;
	struct rdma_event_channel **ch;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rdma_cm_id **ids;
	double t, bind_ns = 0, listen_ns, destroy_ns;
	long total, j;
	int *nsfd;

	while ((opt = getopt(argc, argv, "n:i:b:")) != -1) {
		switch (opt) {
		case 'n':
			nns = atoi(optarg);
			break;
		case 'i':
			nids = atoi(optarg);
			break;
		case 'b':
			base = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || nns < 1 || nids < 1 || base < 0 ||
	    (base && base + nids - 1 > 65535))
		goto usage;
	total = (long)nns * nids;
	nsfd = calloc(nns, sizeof(*nsfd));
	ch = calloc(nns, sizeof(*ch));
	ids = calloc(total, sizeof(*ids));
	if (!nsfd || !ch || !ids)
		die("calloc", -1, -1);

	orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		die("open /proc/self/ns/net", -1, -1);
	for (k = 0; k < nns; k++) {
		if (unshare(CLONE_NEWNET))
			die("unshare", k, -1);
		nsfd[k] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (nsfd[k] < 0)
			die("open /proc/self/ns/net", k, -1);
		ch[k] = rdma_create_event_channel();
		if (!ch[k])
			die("rdma_create_event_channel", k, -1);
	}

	for (k = 0; k < nns; k++) {
		if (setns(nsfd[k], CLONE_NEWNET))
			die("setns", k, -1);
		t = now_ns();
		for (i = 0; i < nids; i++) {
			struct rdma_cm_id **id = &ids[(long)k * nids + i];

			sin.sin_port = htons(base ? base + i : 0);
			if (rdma_create_id(ch[k], id, NULL, RDMA_PS_TCP))
				die("rdma_create_id", k, i);
			if (rdma_bind_addr(*id, (struct sockaddr *)&sin))
				die("rdma_bind_addr", k, i);
		}
		bind_ns += now_ns() - t;
	}

	t = now_ns();
	for (j = 0; j < total; j++)
		if (rdma_listen(ids[j], 0))
			die("rdma_listen", j / nids, j % nids);
	listen_ns = now_ns() - t;

	t = now_ns();
	for (j = 0; j < total; j++)
		if (rdma_destroy_id(ids[j]))
			die("rdma_destroy_id", j / nids, j % nids);
	destroy_ns = now_ns() - t;

	printf("cmps create+bind %ld %.1f\n", total, bind_ns / total);
	printf("cmps listen %ld %.1f\n", total, listen_ns / total);
	printf("cmps destroy %ld %.1f\n", total, destroy_ns / total);

	if (setns(orig, CLONE_NEWNET))
		die("setns back", -1, -1);
	for (k = 0; k < nns; k++) {
		rdma_destroy_event_channel(ch[k]);
		close(nsfd[k]);
	}
	free(ids);
	free(ch);
	free(nsfd);
	return 0;
usage:
	fprintf(stderr, "usage: %s [-n NETNS] [-i IDS] [-b BASE]\n", argv[0]);
	return 2;
}
