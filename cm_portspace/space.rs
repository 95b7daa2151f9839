// SPDX-License-Identifier: GPL-2.0

//! The port spaces of one network namespace: a map from port to bind list per rdma_cm port space,
//! and the namespace's last used ephemeral port. Generic over what is stored, so that KUnit can
//! exercise it without rdma_cm (`tests/kunit/cm_portspace_test.rs` includes this file).

use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    types::ForeignOwnable,
    xarray::{
        AllocKind,
        XArray, //
    },
};

/// rdma_cm's port spaces of one network namespace.
#[pin_data]
pub(crate) struct NetPorts<T: ForeignOwnable> {
    #[pin]
    ipoib: XArray<T>,
    #[pin]
    tcp: XArray<T>,
    #[pin]
    udp: XArray<T>,
    #[pin]
    ib: XArray<T>,
    /// The last ephemeral port handed out in this namespace; 0 for none. rdma_cm serialises
    /// every call that reads or writes it (its `lock` mutex), so relaxed accesses suffice.
    last_used: Atomic<u32>,
}

impl<T: ForeignOwnable> NetPorts<T> {
    /// Empty port spaces.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(NetPorts {
            ipoib <- XArray::new(AllocKind::Alloc),
            tcp <- XArray::new(AllocKind::Alloc),
            udp <- XArray::new(AllocKind::Alloc),
            ib <- XArray::new(AllocKind::Alloc),
            last_used: Atomic::new(0),
        })
    }

    /// The map of port space `ps` (`enum rdma_ucm_port_space`); `EINVAL` for an unknown one.
    fn space(&self, ps: u32) -> Result<&XArray<T>> {
        match ps {
            0x0002 => Ok(&self.ipoib),
            0x0106 => Ok(&self.tcp),
            0x0111 => Ok(&self.udp),
            0x013f => Ok(&self.ib),
            _ => Err(EINVAL),
        }
    }

    /// Stores `value` for `port` of `ps` if the port is free: `EBUSY` (the entry stays as it
    /// was) or `ENOMEM` otherwise, and the value is dropped.
    pub(crate) fn insert(&self, ps: u32, port: u16, value: T) -> Result {
        self.space(ps)?
            .lock()
            .insert(port.into(), value, GFP_KERNEL)
            .map_err(|e| e.error)
    }

    /// Calls `f` with the entry of `port` of `ps`, under the map's lock (a spinlock: `f` must
    /// not sleep); `None` if the port is free.
    pub(crate) fn find<R>(
        &self,
        ps: u32,
        port: u16,
        f: impl FnOnce(T::Borrowed<'_>) -> R,
    ) -> Option<R> {
        let guard = self.space(ps).ok()?.lock();
        guard.get(port.into()).map(f)
    }

    /// Removes the entry of `port` of `ps` and returns it.
    pub(crate) fn remove(&self, ps: u32, port: u16) -> Option<T> {
        self.space(ps).ok()?.lock().remove(port.into())
    }

    /// The lowest bound port of `ps` that is `>= from`.
    pub(crate) fn next_port(&self, ps: u32, from: usize) -> Option<u16> {
        let guard = self.space(ps).ok()?.lock();
        let (port, _) = guard.find(from)?;
        u16::try_from(port).ok()
    }

    /// Whether no port of any space is bound.
    pub(crate) fn is_empty(&self) -> bool {
        [&self.ipoib, &self.tcp, &self.udp, &self.ib]
            .iter()
            .all(|xa| xa.lock().find(0).is_none())
    }

    /// The last ephemeral port handed out in this namespace (0: none yet).
    pub(crate) fn last_used(&self) -> u16 {
        // Only ports (u16) are ever stored.
        self.last_used.load(Relaxed) as u16
    }

    /// Records the last ephemeral port handed out.
    pub(crate) fn set_last_used(&self, port: u16) {
        self.last_used.store(port.into(), Relaxed);
    }
}
