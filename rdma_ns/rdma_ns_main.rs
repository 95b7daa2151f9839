// SPDX-License-Identifier: GPL-2.0

//! `rdma_ns`: network-namespace tags on RDMA objects and RoCE source-GID enforcement.
//!
//! ib_core tags every QP, AH and rdma_cm ID with the namespace of its creator while this module is
//! loaded, and asks it whether a user object may use a source GID (patch 0009; rxe also for the
//! address vector of a UD work request, patch 0017) and whether a task may create a raw packet QP
//! (patch 0017). `glue.c` turns those callbacks into plain facts; this crate decides ([`policy`]),
//! counts the objects of each namespace per device (a [`kernel::net::pernet`] subsystem) and
//! prints them in `/proc/net/rdma_ns`. The module's `unsafe` code is in this file: the
//! `extern "C"` functions below and what they use (the registration with ib_core, the state of
//! the namespace a callback names, the caller's task); [`policy`] has none. See
//! `Documentation/rdma_ns.rst` in the project.

use kernel::{
    bindings,
    ffi::{
        c_char,
        c_int, //
    },
    net::{
        namespace::Net,
        pernet::{
            self,
            PernetData, //
        },
    },
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    str::{
        BStr,
        CStr,
        CStrExt, //
    },
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        counter,
    },
    xarray::{
        AllocKind,
        InsertOnly, //
    },
};

mod policy;

use policy::{
    decide,
    decide_raw,
    GidOwner,
    Input,
    Mode,
    Verdict, //
};

module! {
    type: RdmaNs,
    name: "rdma_ns",
    authors: ["rdmaiso developers"],
    description: "Network namespace tags on RDMA objects and RoCE source GID enforcement",
    license: "GPL",
    params: {
        audit: bool {
            default: false,
            description: "Log cross-namespace source GIDs instead of refusing them",
        },
        deny_raw: bool {
            default: false,
            description: "Refuse raw packet QPs and mlx5 DEVX contexts outside the initial netns",
        },
        gid_view: bool {
            default: true,
            description: "Show a netns only the GID entries it may send from (shared netns mode)",
        },
    },
}

/// The object types of C's `enum rdma_ns_obj` (`include/rdma/rdma_ns.h`).
#[derive(Clone, Copy)]
enum ObjType {
    Qp,
    Ah,
    CmId,
}

impl ObjType {
    /// Index into [`OBJ_NAMES`] and the per-device counters.
    fn index(self) -> usize {
        self as usize
    }
}

impl TryFrom<bindings::rdma_ns_obj> for ObjType {
    type Error = Error;

    fn try_from(v: bindings::rdma_ns_obj) -> Result<Self> {
        match v {
            bindings::rdma_ns_obj_RDMA_NS_QP => Ok(ObjType::Qp),
            bindings::rdma_ns_obj_RDMA_NS_AH => Ok(ObjType::Ah),
            bindings::rdma_ns_obj_RDMA_NS_CM_ID => Ok(ObjType::CmId),
            _ => Err(EINVAL),
        }
    }
}

/// The names of the object types, by [`ObjType::index`].
const OBJ_NAMES: [&str; 3] = ["qp", "ah", "cm_id"];

/// What the GID entry of a source GID tells of its owner: C's `enum rdma_ns_gid_kind`
/// (`rdma_ns.h`).
fn gid_owner(kind: bindings::rdma_ns_gid_kind, cookie: u64) -> GidOwner {
    match kind {
        bindings::rdma_ns_gid_kind_RDMA_NS_GID_NETDEV => GidOwner::Netdev(cookie),
        bindings::rdma_ns_gid_kind_RDMA_NS_GID_NO_NETDEV => GidOwner::NoNetdev,
        // RDMA_NS_GID_UNREADABLE, and anything else: what cannot be read is not trusted.
        _ => GidOwner::Unreadable,
    }
}

/// The raw access kinds of C's `enum rdma_ns_raw` (`include/rdma/rdma_ns.h`).
#[derive(Clone, Copy)]
enum RawKind {
    Qp,
    Devx,
}

impl RawKind {
    fn name(self) -> &'static str {
        match self {
            RawKind::Qp => "raw packet QP",
            RawKind::Devx => "DEVX context",
        }
    }
}

impl TryFrom<bindings::rdma_ns_raw> for RawKind {
    type Error = Error;

    fn try_from(v: bindings::rdma_ns_raw) -> Result<Self> {
        match v {
            bindings::rdma_ns_raw_RDMA_NS_RAW_QP => Ok(RawKind::Qp),
            bindings::rdma_ns_raw_RDMA_NS_RAW_DEVX => Ok(RawKind::Devx),
            _ => Err(EINVAL),
        }
    }
}

/// Longest device name kept (`IB_DEVICE_NAME_MAX`).
const NAME_MAX: usize = 64;

/// Objects of one namespace on one device.
struct DevCounts {
    name: [u8; NAME_MAX],
    name_len: usize,
    count: [Atomic<u64>; OBJ_NAMES.len()],
}

impl DevCounts {
    fn new(name: &CStr) -> Self {
        let bytes = name.to_bytes();
        let name_len = bytes.len().min(NAME_MAX);
        let mut d = DevCounts {
            name: [0; NAME_MAX],
            name_len,
            count: [const { Atomic::new(0) }; OBJ_NAMES.len()],
        };
        d.name[..name_len].copy_from_slice(&bytes[..name_len]);
        d
    }
}

/// The module's state for one network namespace.
#[pin_data]
struct NetState {
    /// By device index; a namespace keeps the counts of a device for as long as it lives.
    #[pin]
    devs: InsertOnly<KBox<DevCounts>>,
    /// Source GIDs refused to objects of this namespace.
    denied: Atomic<u64>,
    /// Source GIDs that would have been refused (audit mode).
    audited: Atomic<u64>,
}

impl NetState {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(NetState {
            devs <- InsertOnly::new(AllocKind::Alloc),
            denied: Atomic::new(0),
            audited: Atomic::new(0),
        })
    }

    /// Counts one more object of type `obj` on device `index`; false if out of memory.
    fn add(&self, index: u32, name: &CStr, obj: ObjType, may_sleep: bool) -> bool {
        let obj = obj.index();
        let gfp = if may_sleep { GFP_KERNEL } else { GFP_ATOMIC };
        loop {
            if let Some(d) = self.devs.get(index as usize) {
                d.count[obj].fetch_add(1, Relaxed);
                return true;
            }
            let Ok(new) = KBox::new(DevCounts::new(name), gfp) else {
                return false;
            };
            match self.devs.insert(index as usize, new, gfp) {
                // Inserted, or another CPU was first: count in the entry that is there.
                Ok(()) => {}
                Err(e) if e.error == EBUSY => {}
                Err(_) => return false,
            }
        }
    }

    fn del(&self, index: u32, obj: ObjType) {
        let obj = obj.index();
        let Some(d) = self.devs.get(index as usize) else {
            kernel::warn_on!(true);
            return;
        };
        counter::release(&d.count[obj], 1, OBJ_NAMES[obj]);
    }

    /// Counts a refusal (or, in audit mode, a would-be refusal) of this namespace.
    fn count(&self, verdict: Verdict) {
        let c = if verdict == Verdict::Deny {
            &self.denied
        } else {
            &self.audited
        };
        c.fetch_add(1, Relaxed);
    }

    fn show_counts(&self, m: &SeqFile) {
        let mode = match mode() {
            Mode::Audit => "audit",
            Mode::Enforce => "enforce",
        };
        seq_print!(
            m,
            "mode {} denied {} audited {} deny_raw {}\n",
            mode,
            self.denied.load(Relaxed),
            self.audited.load(Relaxed),
            u8::from(deny_raw())
        );
        seq_print!(m, "{:<16} {:>6}", "device", "index");
        for n in OBJ_NAMES {
            seq_print!(m, " {:>8}", n);
        }
        seq_print!(m, "\n");
        let mut start = 0usize;
        while let Some((i, d)) = self.devs.find(start) {
            let name = BStr::from_bytes(&d.name[..d.name_len]);
            seq_print!(m, "{:<16} {:>6}", name, i);
            for c in d.count.iter() {
                seq_print!(m, " {:>8}", c.load(Relaxed));
            }
            seq_print!(m, "\n");
            start = match i.checked_add(1) {
                Some(s) => s,
                None => break,
            };
        }
    }
}

/// What the module does with a cross-namespace source GID: the `audit` parameter.
fn mode() -> Mode {
    if module_parameters::audit.value() {
        Mode::Audit
    } else {
        Mode::Enforce
    }
}

/// Whether raw packet QPs are refused outside the initial namespace: the `deny_raw` parameter.
fn deny_raw() -> bool {
    module_parameters::deny_raw.value()
}

/// The registration of every namespace's [`NetState`] (and `/proc/net/rdma_ns`).
static NET_STATES: pernet::Subsys<NetState> = pernet::Subsys::new();

impl PernetData for NetState {
    const PROC_NAME: Option<&'static CStr> = Some(c"rdma_ns");

    fn subsys() -> &'static pernet::Subsys<Self> {
        &NET_STATES
    }

    fn init(_net: &Net) -> impl PinInit<Self, Error> {
        NetState::new()
    }

    fn show(&self, _net: &Net, m: &SeqFile) -> Result {
        self.show_counts(m);
        Ok(())
    }
}

/// The state of namespace `net`.
///
/// # Safety
///
/// `net` is a live namespace, and the module is registered with ib_core (so the pernet
/// subsystem, registered before and unregistered after, is too) while the borrow lasts.
unsafe fn state<'a>(net: *mut bindings::net) -> Pin<&'a NetState> {
    // SAFETY: By the safety requirements.
    unsafe { NET_STATES.get_unchecked(Net::from_ptr(net)) }
}

/// Counts a new object of type `obj` of namespace `net` on device `dev`.
///
/// # Safety
///
/// `net` is a live namespace, called back by ib_core; `name` a valid C string.
#[export]
pub unsafe extern "C" fn rdma_ns_rs_obj_add(
    net: *mut bindings::net,
    dev: u32,
    name: *const c_char,
    obj: bindings::rdma_ns_obj,
    may_sleep: bool,
) -> bool {
    let Ok(obj) = ObjType::try_from(obj) else {
        return false;
    };
    // SAFETY: By the safety requirements.
    let (st, name) = unsafe { (state(net), CStr::from_char_ptr(name)) };
    st.add(dev, name, obj, may_sleep)
}

/// Uncounts an object counted by [`rdma_ns_rs_obj_add`].
///
/// # Safety
///
/// `net` is a live namespace, called back by ib_core.
#[export]
pub unsafe extern "C" fn rdma_ns_rs_obj_del(
    net: *mut bindings::net,
    dev: u32,
    obj: bindings::rdma_ns_obj,
) {
    if let Ok(obj) = ObjType::try_from(obj) {
        // SAFETY: By the safety requirements.
        unsafe { state(net) }.del(dev, obj);
    }
}

/// The task that made the call, for a log line only: its pid and comm.
struct Caller {
    pid: c_int,
    comm: [u8; bindings::TASK_COMM_LEN as usize],
}

impl Caller {
    fn current() -> Self {
        let mut c = Caller {
            pid: 0,
            comm: [0; bindings::TASK_COMM_LEN as usize],
        };
        // SAFETY: `comm` is writable for its length; the glue NUL-terminates within it.
        c.pid = unsafe { bindings::rdma_ns_glue_caller(c.comm.as_mut_ptr().cast(), c.comm.len()) };
        c
    }

    fn comm(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.comm).unwrap_or(c"?")
    }
}

/// The first words of a log line about `verdict` (not `Allow`).
fn what(verdict: Verdict) -> &'static str {
    if verdict == Verdict::Deny {
        "refused"
    } else {
        "audit: would refuse"
    }
}

/// May an object use a source GID? 0, or `-EADDRNOTAVAIL`.
///
/// # Safety
///
/// `owner` is NULL or a live namespace, called back by ib_core; `f` points to valid facts whose
/// strings are valid.
#[export]
pub unsafe extern "C" fn rdma_ns_rs_check(
    owner: *mut bindings::net,
    f: *const bindings::rdma_ns_facts,
) -> c_int {
    // SAFETY: By the safety requirements.
    let f = unsafe { &*f };
    let input = Input {
        shared: f.shared,
        user: f.user,
        owner: (f.owner_cookie != 0).then_some(f.owner_cookie),
        gid: gid_owner(f.kind, f.gid_cookie),
    };
    let verdict = decide(mode(), &input);
    if verdict == Verdict::Allow {
        return 0;
    }
    if !owner.is_null() {
        // SAFETY: `owner` is a live namespace by the safety requirements.
        unsafe { state(owner) }.count(verdict);
    }
    // SAFETY: No requirements.
    if unsafe { bindings::rdma_ns_glue_ratelimit() } {
        // SAFETY: The strings are valid by the safety requirements.
        let (dev, ndev) = unsafe {
            (
                CStr::from_char_ptr(f.dev_name),
                CStr::from_char_ptr(f.ndev_name),
            )
        };
        let obj = ObjType::try_from(f.obj).map_or("object", |o| OBJ_NAMES[o.index()]);
        if f.wr {
            // A driver's send path: the current task is not the QP's owner.
            pr_warn!(
                "{} {} port {} GID index {} (netdev {} in net:[{}]) for a send of {} {} of net:[{}]\n",
                what(verdict),
                dev,
                f.port,
                f.gid_index,
                ndev,
                f.gid_inum,
                obj,
                f.qpn,
                f.owner_inum,
            );
        } else {
            // The caller is looked up only for the log line, off the allowed path.
            let caller = Caller::current();
            pr_warn!(
                "{} {} port {} GID index {} (netdev {} in net:[{}]) for {} of net:[{}] (pid {} {})\n",
                what(verdict),
                dev,
                f.port,
                f.gid_index,
                ndev,
                f.gid_inum,
                obj,
                f.owner_inum,
                caller.pid,
                caller.comm(),
            );
        }
    }
    if verdict == Verdict::Deny {
        EADDRNOTAVAIL.to_errno()
    } else {
        0
    }
}

/// Does a task of the namespace with cookie `viewer` (the initial one if `initial`) see a GID
/// entry whose owner `kind` and `gid_cookie` tell (C's `enum rdma_ns_gid_kind`)? Always, with the
/// `gid_view` parameter off. Never sleeps.
#[export]
pub extern "C" fn rdma_ns_rs_gid_visible(
    viewer: u64,
    initial: bool,
    shared: bool,
    kind: bindings::rdma_ns_gid_kind,
    gid_cookie: u64,
) -> bool {
    !module_parameters::gid_view.value()
        || policy::gid_visible(mode(), shared, initial, viewer, gid_owner(kind, gid_cookie))
}

/// May a task of namespace `net` (inode number `inum`) get raw access `kind` (a raw packet QP,
/// an mlx5 DEVX context) to device `dev`? 0, or `-EPERM`.
///
/// # Safety
///
/// `net` is a live namespace, called back by ib_core; `dev` a valid C string.
#[export]
pub unsafe extern "C" fn rdma_ns_rs_check_raw(
    net: *mut bindings::net,
    dev: *const c_char,
    kind: bindings::rdma_ns_raw,
    shared: bool,
    initial: bool,
    inum: u32,
) -> c_int {
    let verdict = decide_raw(mode(), deny_raw(), shared, initial);
    if verdict == Verdict::Allow {
        return 0;
    }
    // SAFETY: By the safety requirements.
    unsafe { state(net) }.count(verdict);
    // SAFETY: No requirements.
    if unsafe { bindings::rdma_ns_glue_ratelimit() } {
        // SAFETY: `dev` is valid by the safety requirements.
        let dev = unsafe { CStr::from_char_ptr(dev) };
        let caller = Caller::current();
        pr_warn!(
            "{} {} on {} for net:[{}] (pid {} {}): deny_raw\n",
            what(verdict),
            RawKind::try_from(kind).map_or("raw access", RawKind::name),
            dev,
            inum,
            caller.pid,
            caller.comm(),
        );
    }
    if verdict == Verdict::Deny {
        EPERM.to_errno()
    } else {
        0
    }
}

/// The module: the per-namespace state, and the policy registered with ib_core while it lives.
struct RdmaNs {
    /// Dropped after [`RdmaNs::drop`] unregistered the policy: no callback uses the state then.
    _states: pernet::Registration<NetState>,
}

impl kernel::Module for RdmaNs {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let states = NET_STATES.register()?;
        // SAFETY: No requirements; registers the policy, which uses the state registered above
        // (and kept until after `RdmaNs::drop` unregisters the policy).
        kernel::error::to_result(unsafe { bindings::rdma_ns_glue_register() })?;
        pr_info!(
            "source GID checks {} in shared netns mode, GID view {}{}\n",
            match mode() {
                Mode::Audit => "audited",
                Mode::Enforce => "enforced",
            },
            if module_parameters::gid_view.value() {
                "on"
            } else {
                "off"
            },
            if deny_raw() {
                "; raw packet QPs refused outside the initial netns"
            } else {
                ""
            }
        );
        Ok(RdmaNs { _states: states })
    }
}

impl Drop for RdmaNs {
    fn drop(&mut self) {
        // SAFETY: Registered in `init`; after this no callback runs. The state goes next.
        unsafe { bindings::rdma_ns_glue_unregister() };
    }
}
