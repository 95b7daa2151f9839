// SPDX-License-Identifier: GPL-2.0

//! `cm_portspace`: the rdma_cm port-space policy of each network namespace.
//!
//! rdma_cm keeps its bind lists per network namespace and applies its reuse rules; while this
//! module is loaded, it asks the module to choose ephemeral ports and to judge privileged ports
//! (patch 0011, `include/rdma/rdma_cm_ps.h`), and looks AF_IB requests up in the receiving
//! namespace (0012). `glue.c` sets the policy and turns rdma_cm's calls into the plain calls
//! below. The state of each namespace, its last ephemeral port and its `/proc/net/rdma_cm_ports`,
//! is a [`kernel::net::pernet`] subsystem. The port choice is [`ephemeral`], the privileged-port
//! rule [`privilege`], the listing's format [`listing`]; they have no `unsafe` code. This file
//! holds the `#[export]` entry points and the calls into the glue. See
//! `Documentation/cm_portspace.rst` in the project.

use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_result,
    ffi::c_int,
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
    str::CStr,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

mod ephemeral;
mod listing;
mod privilege;

/// The format of the header and of each row of `/proc/net/rdma_cm_ports`.
macro_rules! show_line {
    ($m:expr, $($arg:expr),+ $(,)?) => {
        seq_print!($m, "{:<5} {:>5} {:<17} {:>2} {:>2} {:>7} {:<15} {} {}\n", $($arg),+)
    };
}

module! {
    type: CmPortspace,
    name: "cm_portspace",
    authors: ["rdmaiso developers"],
    description: "Per network namespace rdma_cm port-space policy",
    license: "GPL",
    params: {
        skip_reserved: bool {
            default: true,
            description: "Never hand out ports of net.ipv4.ip_local_reserved_ports as ephemeral ports",
        },
    },
}

/// The port-space state of one network namespace.
struct NetState {
    /// The last ephemeral port handed out in this namespace; 0 for none. rdma_cm serialises every
    /// call that reads or writes it (its `lock` mutex), so relaxed accesses suffice.
    last_used: Atomic<u32>,
}

/// The registration of every namespace's state (and `/proc/net/rdma_cm_ports`).
static NET_STATE: pernet::Subsys<NetState> = pernet::Subsys::new();

impl PernetData for NetState {
    const PROC_NAME: Option<&'static CStr> = Some(c"rdma_cm_ports");

    fn subsys() -> &'static pernet::Subsys<Self> {
        &NET_STATE
    }

    fn init(_net: &Net) -> impl PinInit<Self, Error> {
        Ok(NetState {
            last_used: Atomic::new(0),
        })
    }

    fn show(&self, net: &Net, m: &SeqFile) -> Result {
        show_line!(
            m,
            "ps",
            "port",
            "state",
            "ra",
            "af",
            "pid",
            "comm",
            "local_address",
            "remote_address"
        );
        let chunk = Chunk::new()?;
        show_ports(m, net, &chunk)
    }
}

/// The state of namespace `net`.
///
/// # Safety
///
/// `net` is a live namespace, and the policy is set in rdma_cm (so the pernet subsystem,
/// registered before and unregistered after, is registered) while the borrow lasts.
unsafe fn state<'a>(net: *mut bindings::net) -> Pin<&'a NetState> {
    // SAFETY: By the safety requirements.
    unsafe { NET_STATE.get_unchecked(Net::from_ptr(net)) }
}

/// One ID bound to a port, as the glue fills it in (`struct cm_ps_row`, `cm_portspace.h`).
type Row = bindings::cm_ps_row;

/// A row before the glue fills it in.
const EMPTY_ROW: Row = Row {
    local: [0; 64],
    remote: [0; 64],
    comm: [0; bindings::TASK_COMM_LEN as usize],
    pid: 0,
    state: 0,
    reuseaddr: 0,
    afonly: 0,
};

/// Binds an ID to an ephemeral port of `low..=high` in `net`, trying from `start`.
///
/// # Safety
///
/// `net` is a live namespace, called back by rdma_cm; `t` is the glue's context of this call,
/// valid during it.
#[export]
pub unsafe extern "C" fn cm_ps_rs_bind_any(
    net: *mut bindings::net,
    low: u16,
    high: u16,
    start: u16,
    t: *mut bindings::cm_ps_try,
) -> c_int {
    // SAFETY: By the safety requirements.
    let st = unsafe { state(net) };
    // Only ports (u16) are ever stored.
    let mut last_used = st.last_used.load(Relaxed) as u16;
    let skip_reserved = module_parameters::skip_reserved.value();
    let r = ephemeral::bind_any(
        low..=high,
        start,
        &mut last_used,
        // SAFETY: `t` is valid during this call.
        |p| skip_reserved && unsafe { bindings::cm_ps_glue_reserved(t, p) },
        // SAFETY: `t` is valid during this call.
        |p| kernel::error::to_result(unsafe { bindings::cm_ps_glue_try_port(t, p) }),
    );
    st.last_used.store(last_used.into(), Relaxed);
    from_result(|| r.map(|_| 0))
}

/// May the current task bind `port` in `net`? 0 or `-EACCES`.
///
/// # Safety
///
/// `net` is a live network namespace.
#[export]
pub unsafe extern "C" fn cm_ps_rs_bind_check(
    port: u16,
    unprivileged_start: c_int,
    net: *mut bindings::net,
) -> c_int {
    from_result(|| {
        privilege::bind_check(port, unprivileged_start, || {
            // SAFETY: `net` is live by the safety requirements.
            unsafe { bindings::cm_ps_glue_capable(net) }
        })?;
        Ok(0)
    })
}

/// Reads the IDs `skip..` of those bound to `port` of `ps` into `rows`, as many as fit: returns
/// how many IDs are bound to the port and how many rows were filled.
///
/// # Safety
///
/// `net` is a live network namespace, and `chunk` the glue's buffer of a listing, with room for
/// `rows.len()` IDs and used by nothing else during this call.
unsafe fn owners(
    chunk: *mut bindings::cm_ps_chunk,
    net: *mut bindings::net,
    ps: u32,
    port: u16,
    skip: u32,
    rows: &mut [Row],
) -> Result<(u32, usize)> {
    let max = u32::try_from(rows.len()).map_err(|_| EINVAL)?;
    // SAFETY: `net` and `chunk` by the safety requirements; `rows` has room for `max` rows.
    let n =
        unsafe { bindings::cm_ps_glue_owners(chunk, net, ps, port, skip, rows.as_mut_ptr(), max) };
    let total = u32::try_from(n).map_err(|_| Error::from_errno(n))?;
    let filled = usize::try_from(total.saturating_sub(skip)).map_err(|_| EINVAL)?;
    Ok((total, filled.min(rows.len())))
}

/// The text of a NUL-terminated field of a row (ASCII, written by the glue's `snprintf`).
fn field(bytes: &[u8]) -> &str {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..len]).unwrap_or("?")
}

/// Shows one row: an ID bound to `port` of the port space called `name`.
fn show_row(m: &SeqFile, name: &str, port: u16, r: &Row) {
    let mut comm = [0u8; bindings::TASK_COMM_LEN as usize];
    let len = listing::sanitize_comm(&r.comm, &mut comm);
    let comm = core::str::from_utf8(&comm[..len]).unwrap_or("?");
    show_line!(
        m,
        name,
        port,
        listing::State(r.state),
        r.reuseaddr,
        r.afonly,
        r.pid,
        comm,
        field(&r.local),
        field(&r.remote)
    );
}

/// The glue's buffer of the IDs of one listing (`struct cm_ps_chunk`, private to `glue.c`).
///
/// # Invariants
///
/// `ptr` is a buffer from `cm_ps_glue_chunk_alloc()` with room for `max` IDs, owned by `self`.
struct Chunk {
    ptr: NonNull<bindings::cm_ps_chunk>,
    max: u32,
}

impl Chunk {
    fn new() -> Result<Self> {
        let mut max = 0;
        // SAFETY: `max` is a valid place.
        let ptr = unsafe { bindings::cm_ps_glue_chunk_alloc(&mut max) };
        // INVARIANT: A non-null result is a buffer for `max` IDs, now ours.
        NonNull::new(ptr)
            .map(|ptr| Chunk { ptr, max })
            .ok_or(ENOMEM)
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: Allocated by `cm_ps_glue_chunk_alloc()` and owned (type invariant).
        unsafe { bindings::cm_ps_glue_chunk_free(self.ptr.as_ptr()) };
    }
}

/// The lowest port `>= from` bound in port space `ps` of `net`, in rdma_cm.
fn next_port(net: &Net, ps: u32, from: u32) -> Result<Option<u16>> {
    // SAFETY: `net` is live (borrowed).
    let r = unsafe { bindings::cm_ps_glue_next_port(net.as_ptr(), ps, from) };
    match r {
        r if r == ENOENT.to_errno() => Ok(None),
        r => u16::try_from(r).map(Some).map_err(|_| Error::from_errno(r)),
    }
}

/// Shows the rows of every port bound in `net`, reading the IDs of a port `chunk.max` at a time;
/// stops early once `m`'s buffer is full, since seq_file then shows everything again into a
/// larger one.
fn show_ports(m: &SeqFile, net: &Net, chunk: &Chunk) -> Result {
    let max = chunk.max;
    if max == 0 {
        return Err(EINVAL);
    }
    // CAST: `SeqFile` is a transparent wrapper of `struct seq_file`.
    let raw = core::ptr::from_ref(m)
        .cast_mut()
        .cast::<bindings::seq_file>();
    // One buffer of `max` rows for the whole show, whatever the number of IDs.
    let len = usize::try_from(max).map_err(|_| EINVAL)?;
    let mut rows = KVec::from_elem(EMPTY_ROW, len, GFP_KERNEL)?;
    for (ps, name) in listing::SPACES {
        let mut from = 0u32;
        while let Some(port) = next_port(net, ps, from)? {
            from = u32::from(port) + 1;
            // IDs bound or released between two chunks move the others across a chunk's edge, so
            // an ID may show twice or not at all; the loop ends once `skip` reaches the count.
            let mut skip = 0u32;
            loop {
                // SAFETY: `m` is being shown.
                if unsafe { bindings::cm_ps_glue_seq_full(raw) } {
                    return Ok(());
                }
                // SAFETY: `net` is live (borrowed); `chunk` holds `max` IDs (type invariant) and
                // is ours (borrowed for the whole show); `rows` holds `max` rows.
                let (total, filled) =
                    unsafe { owners(chunk.ptr.as_ptr(), net.as_ptr(), ps, port, skip, &mut rows) }?;
                for r in &rows[..filled] {
                    show_row(m, name, port, r);
                }
                skip = skip.saturating_add(max);
                if skip >= total {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The module: the per-namespace state, and the policy set in rdma_cm while it lives.
struct CmPortspace {
    /// Dropped after [`CmPortspace::drop`] cleared the policy: nothing uses the state then.
    _state: pernet::Registration<NetState>,
}

impl kernel::Module for CmPortspace {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let state = NET_STATE.register()?;
        // SAFETY: No requirements. Last in init: from here on rdma_cm calls the hooks, which use
        // the state registered above (kept until after `CmPortspace::drop` clears the policy).
        kernel::error::to_result(unsafe { bindings::cm_ps_glue_register() })?;
        pr_info!(
            "rdma_cm port-space policy per network namespace (reserved ports {})\n",
            if module_parameters::skip_reserved.value() {
                "skipped"
            } else {
                "not skipped"
            }
        );
        Ok(CmPortspace { _state: state })
    }
}

impl Drop for CmPortspace {
    fn drop(&mut self) {
        // SAFETY: Set in `init`. After this rdma_cm calls nothing of the module.
        unsafe { bindings::cm_ps_glue_unregister() };
    }
}
