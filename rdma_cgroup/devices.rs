// SPDX-License-Identifier: GPL-2.0

//! The device registry: an accounting slot per registered device, kept (with the limits written
//! for it) after the device unregisters and given to the next device of the same name in the same
//! network namespace ([`slots`] has the rule). Registration, unregistration, `rdma.max` writes and
//! the listings take [`DEVICES`]; charges never do.

use super::slots;
use core::ptr::NonNull;
use kernel::{
    bindings,
    prelude::*,
    str::{
        BStr,
        CStr, //
    },
};

/// A slot number that is not assigned (registration ran out of memory).
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// A device slot: accounting identity of a device, kept (with the limits configured for it)
/// after the device unregisters, and given again to the next device with the same name in the
/// same network namespace (see [`slots`] for the rule and its bound).
pub(crate) struct Slot {
    /// The registered device, or `None` once it has unregistered.
    dev: Option<NonNull<bindings::rdmacg_device>>,
    /// The device's name when it unregistered (matched on re-registration).
    saved: KVec<u8>,
    /// The device's network namespace (cookie) when it unregistered.
    net: u64,
    /// A limit was written for the slot since it was assigned.
    limited: bool,
    /// When the device unregistered, in the order of [`Slot::seq`] values.
    seq: u64,
}

// SAFETY: `dev` is only dereferenced with `DEVICES` held, while the device is registered: ib_core
// keeps a registered `rdmacg_device` alive until `rdmacg_unregister_device()` returns, and that
// clears `dev` under the same lock.
unsafe impl Send for Slot {}

kernel::sync::global_lock! {
    // SAFETY: Initialized by `rdmacg_rs_css_alloc()` for the root cgroup, which cgroup_init()
    // runs before any device can register or any cgroupfs file can be opened.
    pub(crate) unsafe(uninit) static DEVICES: Mutex<KVec<Slot>> = KVec::new();
}

impl Slot {
    /// The slot of a device registering on it afresh.
    fn new(dev: NonNull<bindings::rdmacg_device>) -> Self {
        Slot {
            dev: Some(dev),
            saved: KVec::new(),
            net: 0,
            limited: false,
            seq: 0,
        }
    }

    /// Marks the slot as one whose limits were written.
    pub(crate) fn mark_limited(&mut self) {
        self.limited = true;
    }

    fn view(&self) -> slots::View<'_> {
        slots::View {
            live: self.dev.is_some(),
            name: &self.saved,
            net: self.net,
            limited: self.limited,
            seq: self.seq,
        }
    }

    /// The live device's name and index.
    pub(crate) fn key(&self) -> Option<(&BStr, u32)> {
        let dev = self.dev?;
        // SAFETY: See `impl Send for Slot`: the device is registered and `DEVICES` is held by
        // the caller (it holds `&self` through the guard). `name` points at the NUL-terminated
        // `ib_device::name`.
        let (name, index) = unsafe {
            let d = dev.as_ref();
            (CStr::from_char_ptr(d.name), d.index)
        };
        Some((BStr::from_bytes(name.to_bytes()), index))
    }
}

/// Registers a device and returns its accounting slot, or [`NO_SLOT`] if out of memory.
///
/// # Safety
///
/// `dev` is valid and stays valid until [`unregister`] returns.
pub(crate) unsafe fn register(dev: NonNull<bindings::rdmacg_device>) -> u32 {
    // SAFETY: `dev` is valid (safety requirements); its name is NUL-terminated.
    let (name, net) = unsafe {
        let d = dev.as_ref();
        (CStr::from_char_ptr(d.name).to_bytes(), d.net_cookie)
    };
    let mut slots = DEVICES.lock();
    match slots::choose(slots.iter().map(Slot::view), name, net) {
        // Limits configured for this device's previous incarnation apply to it.
        slots::Choice::Keep(i) => {
            slots[i].dev = Some(dev);
            return i as u32;
        }
        slots::Choice::Reclaim(i) => {
            // SAFETY: No device is registered on slot `i`, so nothing charges it; `DEVICES`,
            // held, keeps writers of `rdma.max` away.
            unsafe { bindings::rdmacg_reset_slot(i as u32) };
            slots[i] = Slot::new(dev);
            return i as u32;
        }
        slots::Choice::New => {}
    }
    match slots.push(Slot::new(dev), GFP_KERNEL) {
        Ok(()) => (slots.len() - 1) as u32,
        Err(_) => {
            pr_warn!("rdma cgroup: out of memory registering a device: it is not accounted\n");
            NO_SLOT
        }
    }
}

/// Unregisters a device: its slot keeps the limits, under the device's current name.
///
/// # Safety
///
/// `dev` was registered with [`register`], which returned `slot`.
pub(crate) unsafe fn unregister(dev: *mut bindings::rdmacg_device, slot: u32) {
    let mut slots = DEVICES.lock();
    let seq = slots.iter().map(|s| s.seq).max().unwrap_or(0) + 1;
    let Some(s) = slots.get_mut(slot as usize) else {
        return;
    };
    if s.dev.map(NonNull::as_ptr) != Some(dev) {
        return;
    }
    let mut saved = KVec::new();
    if let Some((name, _)) = s.key() {
        // On allocation failure the slot is simply not matched by name again.
        let _ = saved.extend_from_slice(name, GFP_KERNEL);
    }
    s.saved = saved;
    // SAFETY: `dev` is still registered (safety requirements); ib_core set its namespace.
    s.net = unsafe { (*dev).net_cookie };
    s.seq = seq;
    s.dev = None;
}

/// Finds the slot of the live device `name` (`index` to pick one of several with that name).
pub(crate) fn find_slot(slots: &[Slot], name: &[u8], index: Option<u32>) -> Result<u32> {
    let mut found = None;
    for (i, s) in slots.iter().enumerate() {
        let Some((n, idx)) = s.key() else {
            continue;
        };
        if &**n != name {
            continue;
        }
        match index {
            Some(want) if want == idx => return Ok(i as u32),
            Some(_) => {}
            None if found.is_some() => return Err(ENOTUNIQ),
            None => found = Some(i as u32),
        }
    }
    found.ok_or(ENODEV)
}
