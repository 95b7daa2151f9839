// SPDX-License-Identifier: GPL-2.0

//! The cgroup v2 `rdma` controller.
//!
//! `glue.c` defines the `struct cgroup_subsys` and the C API that ib_core calls; it calls the
//! `extern "C"` functions of this file. The accounting engine is in [`engine`], the `rdma.max`
//! parser in [`parse`]. The controller's `unsafe` code is here (the entry points, the device
//! table's raw `rdmacg_device` pointers, the state behind `struct rdma_cgroup::rs`) and in
//! [`engine`] (the lock-free tables of pool pointers); [`parse`], [`res`] and [`slots`] have
//! none. See
//! `Documentation/rdma_cgroup-design.rst` in the project.

use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_result,
    ffi::{
        c_char,
        c_int,
        c_void, //
    },
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    str::{
        BStr,
        CStr, //
    },
    sync::{
        atomic::Relaxed,
        Arc,
        ArcBorrow, //
    },
    types::ForeignOwnable,
};

mod engine;
mod parse;
mod res;
mod slots;

/// Prefix of this crate's log messages (the `pr_*!` macros need it outside a module).
const __LOG_PREFIX: &[u8] = b"rdma_cgroup\0";

use engine::{
    Hierarchy,
    Prio,
    RdmaCgroup,
    Refused,
    MAX,
    NR_SL,
    NR_UP, //
};
use res::{
    Resource,
    NR_RESOURCES, //
};

// `Resource` is in the order of C's `enum rdmacg_resource_type`: the compiler checks it against
// the bindings.
const _: () = {
    use bindings::*;
    assert!(Resource::HcaHandle as u32 == rdmacg_resource_type_RDMACG_RESOURCE_HCA_HANDLE);
    assert!(Resource::HcaObject as u32 == rdmacg_resource_type_RDMACG_RESOURCE_HCA_OBJECT);
    assert!(Resource::Pd as u32 == rdmacg_resource_type_RDMACG_RESOURCE_PD);
    assert!(Resource::Cq as u32 == rdmacg_resource_type_RDMACG_RESOURCE_CQ);
    assert!(Resource::Qp as u32 == rdmacg_resource_type_RDMACG_RESOURCE_QP);
    assert!(Resource::Srq as u32 == rdmacg_resource_type_RDMACG_RESOURCE_SRQ);
    assert!(Resource::Mr as u32 == rdmacg_resource_type_RDMACG_RESOURCE_MR);
    assert!(Resource::Mw as u32 == rdmacg_resource_type_RDMACG_RESOURCE_MW);
    assert!(Resource::Ah as u32 == rdmacg_resource_type_RDMACG_RESOURCE_AH);
    assert!(Resource::Xrcd as u32 == rdmacg_resource_type_RDMACG_RESOURCE_XRCD);
    assert!(Resource::Wq as u32 == rdmacg_resource_type_RDMACG_RESOURCE_WQ);
    assert!(Resource::Flow as u32 == rdmacg_resource_type_RDMACG_RESOURCE_FLOW);
    assert!(Resource::CmId as u32 == rdmacg_resource_type_RDMACG_RESOURCE_CM_ID);
    assert!(Resource::MrBytes as u32 == rdmacg_resource_type_RDMACG_RESOURCE_MR_BYTES);
    assert!(NR_RESOURCES == rdmacg_resource_type_RDMACG_RESOURCE_MAX as usize);
};

/// A slot number that is not assigned (registration ran out of memory).
const NO_SLOT: u32 = u32::MAX;

/// A device slot: accounting identity of a device, kept (with the limits configured for it)
/// after the device unregisters, and given again to the next device with the same name in the
/// same network namespace (see [`slots`] for the rule and its bound).
struct Slot {
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
    unsafe(uninit) static DEVICES: Mutex<KVec<Slot>> = KVec::new();
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
    fn key(&self) -> Option<(&BStr, u32)> {
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

/// Links a cgroup's state to its C `struct rdma_cgroup` and its parent's state.
struct CgroupLinks {
    parent: Option<Arc<RdmaCgroup>>,
    cg: NonNull<bindings::rdma_cgroup>,
}

// SAFETY: `cg` is the C structure that embeds the css owning this state, which outlives the
// state; it is only passed to `rdmacg_notify_events()`, which may be called from any thread.
unsafe impl Send for CgroupLinks {}
// SAFETY: As above.
unsafe impl Sync for CgroupLinks {}

impl Hierarchy for CgroupLinks {
    fn parent(&self) -> Option<&RdmaCgroup> {
        self.parent.as_deref()
    }

    fn notify_events(&self, local: bool) {
        // SAFETY: `cg` embeds the css that owns this state, alive as long as the state.
        unsafe { bindings::rdmacg_notify_events(self.cg.as_ptr(), local) }
    }
}

/// Borrows the state stored in `struct rdma_cgroup::rs`.
///
/// # Safety
///
/// `state` must come from [`rdmacg_rs_css_alloc`] and not yet be passed to
/// [`rdmacg_rs_css_free`].
unsafe fn state<'a>(state: *mut c_void) -> ArcBorrow<'a, RdmaCgroup> {
    // SAFETY: By the function's safety requirements.
    unsafe { <Arc<RdmaCgroup> as ForeignOwnable>::borrow(state) }
}

/// Allocates the state of a new cgroup: `parent` is the parent's state, or NULL for the root
/// and its children (the root is not accounted: it has no limits and no files).
///
/// # Safety
///
/// `parent` is NULL or the live state of the parent cgroup; `cg` is the cgroup's C structure.
#[export]
pub unsafe extern "C" fn rdmacg_rs_css_alloc(
    parent: *mut c_void,
    cg: *mut bindings::rdma_cgroup,
    is_root: bool,
) -> *mut c_void {
    if is_root {
        // SAFETY: Called once, for the root cgroup, before anything else uses `DEVICES`.
        unsafe { DEVICES.init() };
    }
    let Some(cg) = NonNull::new(cg) else {
        return core::ptr::null_mut();
    };
    let parent = NonNull::new(parent).map(|p| {
        // SAFETY: `parent` is a live state by the safety requirements.
        Arc::from(unsafe { state(p.as_ptr()) })
    });
    let hier = match KBox::new(CgroupLinks { parent, cg }, GFP_KERNEL) {
        Ok(h) => h,
        Err(_) => return core::ptr::null_mut(),
    };
    match Arc::pin_init(RdmaCgroup::new(Some(hier)), GFP_KERNEL) {
        Ok(s) => s.into_foreign().cast(),
        Err(_) => core::ptr::null_mut(),
    }
}

/// The cgroup goes offline: drop its limits so that its remaining objects can drain.
///
/// # Safety
///
/// `st` is a live state.
#[export]
pub unsafe extern "C" fn rdmacg_rs_css_offline(st: *mut c_void) {
    // SAFETY: By the safety requirements.
    unsafe { state(st) }.reset_limits();
}

/// Frees the state of a cgroup.
///
/// # Safety
///
/// `st` is a live state, no longer used by anyone (no charge holds the css).
#[export]
pub unsafe extern "C" fn rdmacg_rs_css_free(st: *mut c_void) {
    // SAFETY: By the safety requirements, ownership returns to us.
    drop(unsafe { <Arc<RdmaCgroup> as ForeignOwnable>::from_foreign(st) });
}

/// Registers a device and returns its accounting slot.
///
/// # Safety
///
/// `dev` is valid and stays valid until [`rdmacg_rs_unregister_device`] returns.
#[export]
pub unsafe extern "C" fn rdmacg_rs_register_device(dev: *mut bindings::rdmacg_device) -> u32 {
    let Some(dev) = NonNull::new(dev) else {
        return NO_SLOT;
    };
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
/// `dev` was registered with [`rdmacg_rs_register_device`], which returned `slot`.
#[export]
pub unsafe extern "C" fn rdmacg_rs_unregister_device(dev: *mut bindings::rdmacg_device, slot: u32) {
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

/// Resets the pool of `slot` of the cgroup of `st` to a new device's defaults; called by
/// `rdmacg_reset_slot()` for every cgroup.
///
/// # Safety
///
/// `st` is a live state; no device is registered on `slot`.
#[export]
pub unsafe extern "C" fn rdmacg_rs_reset_slot(st: *mut c_void, slot: u32) {
    // SAFETY: By the safety requirements.
    unsafe { state(st) }.reset_slot(slot);
}

/// Charges `n` of resource `res` on `slot` to the cgroup of `st` and its ancestors.
///
/// # Safety
///
/// `st` is a live state whose css the caller holds.
#[export]
pub unsafe extern "C" fn rdmacg_rs_try_charge(
    st: *mut c_void,
    slot: u32,
    res: bindings::rdmacg_resource_type,
    n: u64,
) -> c_int {
    from_result(|| {
        let r = Resource::from_index(res).ok_or(EINVAL)?;
        if slot != NO_SLOT {
            // SAFETY: By the safety requirements.
            unsafe { state(st) }.try_charge(slot, r, n)?;
        }
        Ok(0)
    })
}

impl From<Refused<'_>> for Error {
    fn from(r: Refused<'_>) -> Error {
        match r {
            Refused::NoMem => ENOMEM,
            Refused::Limit { .. } => EAGAIN,
        }
    }
}

/// Returns a charge made by [`rdmacg_rs_try_charge`].
///
/// # Safety
///
/// `st` is a live state, charged earlier with the same arguments.
#[export]
pub unsafe extern "C" fn rdmacg_rs_uncharge(
    st: *mut c_void,
    slot: u32,
    res: bindings::rdmacg_resource_type,
    n: u64,
) {
    let Some(r) = Resource::from_index(res) else {
        return;
    };
    if slot == NO_SLOT {
        return;
    }
    // SAFETY: By the safety requirements.
    unsafe { state(st) }.uncharge(slot, r, n);
}

/// Whether C's `enum rdmacg_prio_kind` names Service Levels (`true`) or User Priorities.
fn prio_is_sl(kind: bindings::rdmacg_prio_kind) -> Result<bool> {
    match kind {
        bindings::rdmacg_prio_kind_RDMACG_PRIO_SL => Ok(true),
        bindings::rdmacg_prio_kind_RDMACG_PRIO_UP => Ok(false),
        _ => Err(EINVAL),
    }
}

/// The Service Levels or User Priorities (`kind`) allowed to the cgroup of `st` on `slot`; none
/// for an unknown kind.
///
/// # Safety
///
/// `st` is a live state.
#[export]
pub unsafe extern "C" fn rdmacg_rs_allowed(
    st: *mut c_void,
    slot: u32,
    kind: bindings::rdmacg_prio_kind,
) -> u32 {
    let Ok(ib) = prio_is_sl(kind) else {
        return 0;
    };
    if slot == NO_SLOT {
        return u32::MAX;
    }
    // SAFETY: By the safety requirements.
    unsafe { state(st) }.allowed(slot, ib)
}

/// What [`rdmacg_rs_prio`] does: C's `enum rdmacg_prio_op` (`rdma_cgroup.h`).
#[derive(Clone, Copy)]
enum PrioOp {
    Check,
    Use,
    Unuse,
}

impl TryFrom<bindings::rdmacg_prio_op> for PrioOp {
    type Error = Error;

    fn try_from(op: bindings::rdmacg_prio_op) -> Result<Self> {
        match op {
            bindings::rdmacg_prio_op_RDMACG_PRIO_OP_CHECK => Ok(PrioOp::Check),
            bindings::rdmacg_prio_op_RDMACG_PRIO_OP_USE => Ok(PrioOp::Use),
            bindings::rdmacg_prio_op_RDMACG_PRIO_OP_UNUSE => Ok(PrioOp::Unuse),
            _ => Err(EINVAL),
        }
    }
}

/// Checks, uses or unuses (`op`) a Service Level or User Priority (`kind`) for the cgroup of
/// `st` on `slot`; see `rdmacg_prio_check()` in `glue.c`.
///
/// # Safety
///
/// `st` is a live state; an unuse matches an earlier successful use.
#[export]
pub unsafe extern "C" fn rdmacg_rs_prio(
    st: *mut c_void,
    slot: u32,
    kind: bindings::rdmacg_prio_kind,
    prio: u32,
    op: bindings::rdmacg_prio_op,
) -> c_int {
    from_result(|| {
        let (ib, op) = (prio_is_sl(kind)?, PrioOp::try_from(op)?);
        let p = Prio::new(ib, prio).ok_or(EINVAL)?;
        if slot == NO_SLOT {
            return Ok(0);
        }
        // SAFETY: By the safety requirements.
        let cg = unsafe { state(st) };
        match op {
            PrioOp::Check => cg.prio_check(slot, p)?,
            PrioOp::Use => cg.prio_use(slot, p)?,
            PrioOp::Unuse => cg.prio_unuse(slot, p),
        }
        Ok(0)
    })
}

/// What a cgroupfs file shows: C's `enum rdmacg_show` (`rdma_cgroup.h`), the files'
/// `cftype::private` in `glue.c`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    Max,
    Current,
    Peak,
    Events,
    EventsLocal,
}

impl TryFrom<bindings::rdmacg_show> for Show {
    type Error = Error;

    fn try_from(what: bindings::rdmacg_show) -> Result<Self> {
        match what {
            bindings::rdmacg_show_RDMACG_SHOW_MAX => Ok(Show::Max),
            bindings::rdmacg_show_RDMACG_SHOW_CURRENT => Ok(Show::Current),
            bindings::rdmacg_show_RDMACG_SHOW_PEAK => Ok(Show::Peak),
            bindings::rdmacg_show_RDMACG_SHOW_EVENTS => Ok(Show::Events),
            bindings::rdmacg_show_RDMACG_SHOW_EVENTS_LOCAL => Ok(Show::EventsLocal),
            _ => Err(EINVAL),
        }
    }
}

/// Prints ` key=<set>`: `max` for all `bits` (if `all_is_max`), `none`, or a list of ranges.
fn write_set(m: &SeqFile, key: &str, mask: u32, bits: u32, all_is_max: bool) {
    seq_print!(m, " {}=", key);
    let all = (1u32 << bits) - 1;
    if all_is_max && mask & all == all {
        seq_print!(m, "max");
        return;
    }
    let mut first = true;
    let mut v = 0;
    while v < bits {
        if mask & (1 << v) == 0 {
            v += 1;
            continue;
        }
        let start = v;
        while v + 1 < bits && mask & (1 << (v + 1)) != 0 {
            v += 1;
        }
        let sep = if first { "" } else { "," };
        if start == v {
            seq_print!(m, "{}{}", sep, start);
        } else {
            seq_print!(m, "{}{}-{}", sep, start, v);
        }
        first = false;
        v += 1;
    }
    if first {
        seq_print!(m, "none");
    }
}

fn show(cg: &RdmaCgroup, m: &SeqFile, what: Show) {
    let slots = DEVICES.lock();
    for (slot, s) in slots.iter().enumerate() {
        let Some((name, index)) = s.key() else {
            continue;
        };
        seq_print!(m, "{}", name);
        let unique = slots
            .iter()
            .filter_map(Slot::key)
            .filter(|(n, _)| *n == name)
            .count()
            == 1;
        if !unique {
            seq_print!(m, " index={}", index);
        }
        let pool = cg.pool(slot as u32);
        for r in Resource::ALL {
            let c = pool.map(|p| p.get(r));
            let get = |f: fn(&engine::Counter) -> u64, default: u64| c.map_or(default, f);
            match what {
                Show::Max => {
                    let v = get(|c| c.max.load(Relaxed), MAX);
                    if v == MAX {
                        seq_print!(m, " {}=max", r.name());
                    } else {
                        seq_print!(m, " {}={}", r.name(), v);
                    }
                }
                Show::Current => {
                    seq_print!(m, " {}={}", r.name(), get(|c| c.usage.load(Relaxed), 0))
                }
                Show::Peak => seq_print!(m, " {}={}", r.name(), get(|c| c.peak.load(Relaxed), 0)),
                Show::Events | Show::EventsLocal => {
                    let (mx, fail) = if what == Show::Events {
                        (
                            get(|c| c.ev_max.load(Relaxed), 0),
                            get(|c| c.ev_fail.load(Relaxed), 0),
                        )
                    } else {
                        (
                            get(|c| c.ev_local_max.load(Relaxed), 0),
                            get(|c| c.ev_local_fail.load(Relaxed), 0),
                        )
                    };
                    seq_print!(m, " {0}.max={1} {0}.alloc_fail={2}", r.name(), mx, fail);
                }
            }
        }
        if what == Show::Max {
            let (sl, up) = pool.map_or((u32::MAX, u32::MAX), |p| {
                (p.sl.load(Relaxed), p.up.load(Relaxed))
            });
            write_set(m, "sl", sl, NR_SL, true);
            write_set(m, "up", up, NR_UP, true);
        }
        if what == Show::Current {
            let (sl, up) = pool.map_or((0, 0), |p| (p.in_use(true), p.in_use(false)));
            write_set(m, "sl", sl, NR_SL, false);
            write_set(m, "up", up, NR_UP, false);
        }
        if what == Show::Events || what == Show::EventsLocal {
            let ev = |i: usize| {
                pool.map_or(0, |p| {
                    if what == Show::Events {
                        p.ev_denied[i].load(Relaxed)
                    } else {
                        p.ev_local_denied[i].load(Relaxed)
                    }
                })
            };
            seq_print!(m, " sl.denied={} up.denied={}", ev(0), ev(1));
        }
        seq_print!(m, "\n");
    }
}

/// Shows one of the controller's files.
///
/// # Safety
///
/// `st` is a live state and `sf` a valid seq_file being shown.
#[export]
pub unsafe extern "C" fn rdmacg_rs_show(
    st: *mut c_void,
    sf: *mut bindings::seq_file,
    what: bindings::rdmacg_show,
) -> c_int {
    from_result(|| {
        let what = Show::try_from(what)?;
        // SAFETY: By the safety requirements.
        let (cg, m) = unsafe { (state(st), SeqFile::from_raw(sf)) };
        show(&cg, m, what);
        Ok(0)
    })
}

/// Finds the slot of the live device `name` (`index` to pick one of several with that name).
fn find_slot(slots: &[Slot], name: &[u8], index: Option<u32>) -> Result<u32> {
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

fn write(cg: &RdmaCgroup, buf: &[u8]) -> Result {
    let mut slots = DEVICES.lock();
    // Every line is parsed and resolved, then all are applied or none.
    let plan = parse::plan(buf, |name, index| find_slot(&slots, name, index))?;
    cg.apply(&plan)?;
    for (slot, _) in plan.iter() {
        if let Some(s) = slots.get_mut(*slot as usize) {
            s.limited = true;
        }
    }
    Ok(())
}

/// Writes `rdma.max`.
///
/// # Safety
///
/// `st` is a live state; `buf` is valid for reading `len` bytes.
#[export]
pub unsafe extern "C" fn rdmacg_rs_write(st: *mut c_void, buf: *const c_char, len: usize) -> c_int {
    // SAFETY: By the safety requirements.
    let (cg, buf) = unsafe {
        (
            state(st),
            core::slice::from_raw_parts(buf.cast::<u8>(), len),
        )
    };
    from_result(|| write(&cg, buf).map(|()| 0))
}

const _: () = assert!(NR_RESOURCES == bindings::rdmacg_resource_type_RDMACG_RESOURCE_MAX as usize);
