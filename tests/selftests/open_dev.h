/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening a verbs device by name, for the selftest helpers.
 */
#ifndef RDMAISO_OPEN_DEV_H
#define RDMAISO_OPEN_DEV_H

#include <errno.h>
#include <string.h>
#include <infiniband/verbs.h>

/* The context of the device called name, or NULL with errno set. */
static inline struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!ctx && !errno)
		errno = ENODEV;
	return ctx;
}

#endif /* RDMAISO_OPEN_DEV_H */
