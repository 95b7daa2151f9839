#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# gid_view.py <device>: port 1's GID table of <device> as this process sees it
# through rdma-core (pyverbs), on two lines:
#   table <indexes>      ibv_query_gid_table(): the entries returned
#   entry <indexes> first <index|none>
#                        ibv_query_gid_ex() on every index below gid_tbl_len:
#                        the ones that answer, and the first RoCE v2 entry
#                        with an IPv4-mapped GID, the GID an NCCL-style
#                        selector picks when no GID index is given
import sys

import pyverbs.device as d
from pyverbs.pyverbs_error import PyverbsError

ROCE_V2 = 2     # IBV_GID_TYPE_ROCE_V2


def ipv4_mapped(gid):
    return gid.replace(':', '').lower().startswith('0' * 20 + 'ffff')


ctx = d.Context(name=sys.argv[1])
n = ctx.query_port(1).gid_tbl_len
table = sorted(e.gid_index for e in ctx.query_gid_table(n) if e.port_num == 1)
entries, first = [], None
for i in range(n):
    try:
        e = ctx.query_gid_ex(1, i)
    except PyverbsError:
        continue
    entries.append(i)
    if first is None and e.gid_type == ROCE_V2 and ipv4_mapped(e.gid_str()):
        first = i
print('table', *table)
print('entry', *entries, 'first', 'none' if first is None else first)
