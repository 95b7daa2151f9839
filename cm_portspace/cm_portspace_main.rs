// SPDX-License-Identifier: GPL-2.0

//! `cm_portspace`: per-network-namespace rdma_cm port spaces owned by a module.
//!
//! While loaded, rdma_cm asks this module to store, find and remove its bind lists, to choose
//! ephemeral ports and to judge privileged ports, per network namespace (patch 0011,
//! `include/rdma/rdma_cm_ps.h`); the reuse rules stay rdma_cm's. `glue.c` registers the module with
//! rdma_cm and turns its calls into the plain calls below; the port spaces of each namespace are
//! a [`kernel::net::pernet`] subsystem. The storage is [`space`], the port choice
//! [`ephemeral`], the privileged-port rule [`privilege`], the `/proc/net/rdma_cm_ports` format
//! [`listing`]. The module's `unsafe` code is in this file: the `extern "C"` functions below,
//! their helpers, module registration and `BindList`'s `ForeignOwnable`; the other files have
//! none. See `Documentation/cm_portspace.rst` in the project.

use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_result,
    ffi::{
        c_int,
        c_void, //
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
    str::CStr,
    types::ForeignOwnable,
};

mod ephemeral;
mod listing;
mod privilege;
mod space;

use space::NetPorts;

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
    description: "Per network namespace rdma_cm port spaces",
    license: "GPL",
    params: {
        skip_reserved: bool {
            default: true,
            description: "Never hand out ports of net.ipv4.ip_local_reserved_ports as ephemeral ports",
        },
    },
}

/// A C `struct rdma_bind_list`, owned by rdma_cm: this module only stores its address in its maps
/// and hands it back; it never dereferences it.
#[derive(Clone, Copy)]
struct BindList(NonNull<c_void>);

// SAFETY: `BindList` is a token, not an owner: `into_foreign` gives back the address it was made
// from, which is not NULL, and bind lists come from `kzalloc`, so it is 8-byte aligned.
// `from_foreign` and the borrows rebuild the token; nothing is freed or dereferenced.
unsafe impl ForeignOwnable for BindList {
    const FOREIGN_ALIGN: usize = 8;
    type Borrowed<'a> = BindList;
    type BorrowedMut<'a> = BindList;

    fn into_foreign(self) -> *mut c_void {
        self.0.as_ptr()
    }

    unsafe fn from_foreign(ptr: *mut c_void) -> Self {
        // SAFETY: `ptr` came from `into_foreign`, so it is not NULL.
        BindList(unsafe { NonNull::new_unchecked(ptr) })
    }

    unsafe fn borrow<'a>(ptr: *mut c_void) -> Self::Borrowed<'a> {
        // SAFETY: As in `from_foreign`.
        unsafe { Self::from_foreign(ptr) }
    }

    unsafe fn borrow_mut<'a>(ptr: *mut c_void) -> Self::BorrowedMut<'a> {
        // SAFETY: As in `from_foreign`.
        unsafe { Self::from_foreign(ptr) }
    }
}

// SAFETY: A `BindList` is only an address; rdma_cm's `lock` serialises every use of the bind list
// behind it, whatever the thread.
unsafe impl Send for BindList {}

// SAFETY: As for `Send`: shared references give access to the address only.
unsafe impl Sync for BindList {}

/// The registration of every namespace's port spaces (and `/proc/net/rdma_cm_ports`).
static NET_PORTS: pernet::Subsys<NetPorts<BindList>> = pernet::Subsys::new();

impl PernetData for NetPorts<BindList> {
    const PROC_NAME: Option<&'static CStr> = Some(c"rdma_cm_ports");

    fn subsys() -> &'static pernet::Subsys<Self> {
        &NET_PORTS
    }

    fn init(_net: &Net) -> impl PinInit<Self, Error> {
        NetPorts::new()
    }

    /// The port spaces of a namespace go (or those of every namespace at module exit) only when
    /// nothing is bound: every rdma_cm ID holds a reference on its namespace, and every stored
    /// bind list a reference on this module.
    fn exit(&self, _net: &Net) {
        kernel::warn_on!(!self.is_empty());
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
        show_ports(self, m, net, &chunk)
    }
}

/// The port spaces of namespace `net`.
///
/// # Safety
///
/// `net` is a live namespace, and the module is registered with rdma_cm (so the pernet
/// subsystem, registered before and unregistered after, is too) while the borrow lasts.
unsafe fn state<'a>(net: *mut bindings::net) -> Pin<&'a NetPorts<BindList>> {
    // SAFETY: By the safety requirements.
    unsafe { NET_PORTS.get_unchecked(Net::from_ptr(net)) }
}

/// Stores the bind list of a newly bound `port` of `ps`: 0, `-EBUSY`, `-ENOMEM` or `-EINVAL`.
///
/// # Safety
///
/// `net` is a live namespace, called back by rdma_cm.
#[export]
pub unsafe extern "C" fn cm_ps_rs_insert(
    net: *mut bindings::net,
    ps: u32,
    port: u16,
    bind_list: *mut c_void,
) -> c_int {
    from_result(|| {
        let bl = NonNull::new(bind_list).ok_or(EINVAL)?;
        // SAFETY: By the safety requirements.
        unsafe { state(net) }.insert(ps, port, BindList(bl))?;
        Ok(0)
    })
}

/// The bind list of `port` of `ps`, or NULL. Does not sleep.
///
/// # Safety
///
/// `net` is a live namespace, called back by rdma_cm.
#[export]
pub unsafe extern "C" fn cm_ps_rs_find(net: *mut bindings::net, ps: u32, port: u16) -> *mut c_void {
    // SAFETY: By the safety requirements.
    unsafe { state(net) }
        .find(ps, port, |bl| bl.0.as_ptr())
        .unwrap_or(core::ptr::null_mut())
}

/// Forgets `port` of `ps`, whose last ID went.
///
/// # Safety
///
/// `net` is a live namespace, called back by rdma_cm.
#[export]
pub unsafe extern "C" fn cm_ps_rs_remove(net: *mut bindings::net, ps: u32, port: u16) {
    // SAFETY: By the safety requirements.
    let gone = unsafe { state(net) }.remove(ps, port);
    // rdma_cm only removes what it stored.
    kernel::warn_on!(gone.is_none());
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
    let mut last_used = st.last_used();
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
    st.set_last_used(last_used);
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

/// Shows the rows of every bound port of `st`, the port spaces of `net`, reading the IDs of a
/// port `chunk.max` at a time; stops early once `m`'s buffer is full, since seq_file then shows
/// everything again into a larger one.
fn show_ports(st: &NetPorts<BindList>, m: &SeqFile, net: &Net, chunk: &Chunk) -> Result {
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
        let mut from = 0usize;
        while let Some(port) = st.next_port(ps, from) {
            from = usize::from(port) + 1;
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

/// The module: the per-namespace port spaces, and the registration with rdma_cm while it lives.
struct CmPortspace {
    /// Dropped after [`CmPortspace::drop`] unregistered from rdma_cm: nothing uses them then.
    _ports: pernet::Registration<NetPorts<BindList>>,
}

impl kernel::Module for CmPortspace {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let ports = NET_PORTS.register()?;
        // SAFETY: No requirements. Last in init: from here on the module stores bind lists, each
        // holding a reference on it, in the port spaces registered above (kept until after
        // `CmPortspace::drop` unregisters).
        kernel::error::to_result(unsafe { bindings::cm_ps_glue_register() })?;
        pr_info!(
            "rdma_cm port spaces per network namespace (reserved ports {})\n",
            if module_parameters::skip_reserved.value() {
                "skipped"
            } else {
                "not skipped"
            }
        );
        Ok(CmPortspace { _ports: ports })
    }
}

impl Drop for CmPortspace {
    fn drop(&mut self) {
        // SAFETY: Registered in `init`. The module is only unloaded when it stores no bind list;
        // after this rdma_cm calls nothing of it.
        unsafe { bindings::cm_ps_glue_unregister() };
    }
}
