// SPDX-License-Identifier: GPL-2.0

//! The cgroup v2 `rdma` controller.
//!
//! `glue.c` defines the `struct cgroup_subsys` and the C API that ib_core calls; it calls the
//! `extern "C"` functions of this file. The per-cgroup state and its pools are in [`engine`], the
//! counters and the hierarchical charge in [`pool`], the `rdma.max` parser in [`parse`]. The
//! controller's `unsafe` code is here (the entry points, the state behind
//! `struct rdma_cgroup::state`) and in [`devices`] (the registered devices' raw `rdmacg_device`
//! pointers); [`engine`], [`files`], [`parse`], [`pool`], [`res`] and [`slots`] have none. See
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
    seq_file::SeqFile,
    sync::{
        Arc,
        ArcBorrow, //
    },
    types::ForeignOwnable,
};

mod devices;
mod engine;
mod files;
mod parse;
mod pool;
mod res;
mod slots;

/// Prefix of this crate's log messages (the `pr_*!` macros need it outside a module).
const __LOG_PREFIX: &[u8] = b"rdma_cgroup\0";

use devices::{
    DEVICES,
    NO_SLOT, //
};
use engine::{
    Hierarchy,
    RdmaCgroup,
    Refused, //
};
use files::Show;
use pool::Prio;
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

    fn for_each_descendant(&self, _of: &RdmaCgroup, f: &mut dyn FnMut(&RdmaCgroup)) {
        /// Called by `rdmacg_walk_descendants()` for each descendant.
        ///
        /// # Safety
        ///
        /// `st` is the live state of a cgroup in the tree, `arg` the `&mut &mut dyn FnMut`
        /// passed below, and the caller holds the RCU read lock.
        unsafe extern "C" fn visit(st: *mut c_void, arg: *mut c_void) {
            // SAFETY: By the safety requirements, `arg` is the closure reference below, not
            // aliased while the walk runs.
            let f = unsafe { &mut *arg.cast::<&mut dyn FnMut(&RdmaCgroup)>() };
            // SAFETY: A state is freed in `css_free`, an RCU grace period after its css left
            // the tree; the walk holds the RCU read lock, so it is alive for this call.
            let cg = unsafe { state(st) };
            f(&cg);
        }
        let mut f = f;
        // SAFETY: `cg` embeds the css that owns this state, alive as long as the state; `visit`
        // matches the callback's type and `arg` lives until the walk returns.
        unsafe {
            bindings::rdmacg_walk_descendants(
                self.cg.as_ptr(),
                Some(visit),
                core::ptr::from_mut(&mut f).cast(),
            )
        }
    }

    fn wait_for_chargers(&self) {
        kernel::sync::rcu::synchronize_rcu();
    }
}

/// Borrows the state stored in `struct rdma_cgroup::state`.
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
    match NonNull::new(dev) {
        // SAFETY: By the safety requirements.
        Some(dev) => unsafe { devices::register(dev) },
        None => NO_SLOT,
    }
}

/// Unregisters a device: its slot keeps the limits, under the device's current name.
///
/// # Safety
///
/// `dev` was registered with [`rdmacg_rs_register_device`], which returned `slot`.
#[export]
pub unsafe extern "C" fn rdmacg_rs_unregister_device(dev: *mut bindings::rdmacg_device, slot: u32) {
    // SAFETY: By the safety requirements.
    unsafe { devices::unregister(dev, slot) }
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
        files::show(&cg, m, what);
        Ok(0)
    })
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
    from_result(|| files::write(&cg, buf).map(|()| 0))
}

const _: () = assert!(NR_RESOURCES == bindings::rdmacg_resource_type_RDMACG_RESOURCE_MAX as usize);
