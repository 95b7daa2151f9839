// SPDX-License-Identifier: GPL-2.0

//! The privileged-port rule of `cm_portspace`, as TCP's `inet_bind`: pure, so that KUnit can check
//! it (`tests/kunit/cm_portspace_test.rs` includes this file).

use kernel::prelude::*;

/// May the caller bind `port`?
///
/// A port below `unprivileged_start` (the namespace's `net.ipv4.ip_unprivileged_port_start`) needs
/// `CAP_NET_BIND_SERVICE` in the user namespace that owns the network namespace: `capable` asks
/// that, and is only called for such a port (it marks the task as having used a privilege).
/// Upstream rdma_cm instead asks for the capability in the initial user namespace for every port
/// below 1024, whatever the namespace's setting.
///
/// Returns `EACCES` when the port is privileged and the caller is not capable.
pub(crate) fn bind_check(
    port: u16,
    unprivileged_start: i32,
    capable: impl FnOnce() -> bool,
) -> Result {
    if i32::from(port) < unprivileged_start && !capable() {
        return Err(EACCES);
    }
    Ok(())
}
