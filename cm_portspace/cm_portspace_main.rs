// SPDX-License-Identifier: GPL-2.0

//! `cm_portspace`: per-network-namespace rdma_cm port spaces owned by a module.
//!
//! While loaded, rdma_cm asks this module to store, find and remove its bind lists, to choose
//! ephemeral ports and to judge privileged ports, per network namespace (patch 0010,
//! `include/rdma/rdma_cm_ps.h`); the reuse rules stay rdma_cm's. `glue.c` registers the module and
//! turns rdma_cm's calls into the plain calls below. The storage is [`space`], the port choice
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
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    types::ForeignOwnable,
};

mod ephemeral;
mod listing;
mod privilege;
mod space;

use space::NetPorts;

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

type State = Pin<KBox<NetPorts<BindList>>>;

/// Borrows a namespace's port spaces.
///
/// # Safety
///
/// `st` comes from [`cm_ps_rs_net_init`] and was not yet passed to [`cm_ps_rs_net_exit`].
unsafe fn state<'a>(st: *mut c_void) -> Pin<&'a NetPorts<BindList>> {
    // SAFETY: By the safety requirements.
    unsafe { <State as ForeignOwnable>::borrow(st) }
}

/// Allocates the (empty) port spaces of a namespace; NULL if out of memory.
///
/// # Safety
///
/// No requirements (`unsafe` as every function `#[export]` checks against its C declaration).
#[export]
pub unsafe extern "C" fn cm_ps_rs_net_init() -> *mut c_void {
    match KBox::pin_init(NetPorts::<BindList>::new(), GFP_KERNEL) {
        Ok(s) => s.into_foreign(),
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees the port spaces of a namespace that goes away, or of every namespace at module exit.
///
/// Both happen only when nothing is bound: every rdma_cm ID holds a reference on its namespace,
/// and every stored bind list a reference on this module.
///
/// # Safety
///
/// `st` is a live state that nobody uses any more.
#[export]
pub unsafe extern "C" fn cm_ps_rs_net_exit(st: *mut c_void) {
    // SAFETY: By the safety requirements, ownership returns to us.
    let st = unsafe { <State as ForeignOwnable>::from_foreign(st) };
    kernel::warn_on!(!st.is_empty());
}

/// Stores the bind list of a newly bound `port` of `ps`: 0, `-EBUSY`, `-ENOMEM` or `-EINVAL`.
///
/// # Safety
///
/// `st` is a live state.
#[export]
pub unsafe extern "C" fn cm_ps_rs_insert(
    st: *mut c_void,
    ps: u32,
    port: u16,
    bind_list: *mut c_void,
) -> c_int {
    from_result(|| {
        let bl = NonNull::new(bind_list).ok_or(EINVAL)?;
        // SAFETY: By the safety requirements.
        unsafe { state(st) }.insert(ps, port, BindList(bl))?;
        Ok(0)
    })
}

/// The bind list of `port` of `ps`, or NULL. Does not sleep.
///
/// # Safety
///
/// `st` is a live state.
#[export]
pub unsafe extern "C" fn cm_ps_rs_find(st: *mut c_void, ps: u32, port: u16) -> *mut c_void {
    // SAFETY: By the safety requirements.
    unsafe { state(st) }
        .find(ps, port, |bl| bl.0.as_ptr())
        .unwrap_or(core::ptr::null_mut())
}

/// Forgets `port` of `ps`, whose last ID went.
///
/// # Safety
///
/// `st` is a live state.
#[export]
pub unsafe extern "C" fn cm_ps_rs_remove(st: *mut c_void, ps: u32, port: u16) {
    // SAFETY: By the safety requirements.
    let gone = unsafe { state(st) }.remove(ps, port);
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

/// Binds an ID to an ephemeral port of `low..=high` in the namespace of `st`, trying from `start`.
///
/// # Safety
///
/// `st` is a live state; `t` is the glue's context of this call, valid during it.
#[export]
pub unsafe extern "C" fn cm_ps_rs_bind_any(
    st: *mut c_void,
    low: u16,
    high: u16,
    start: u16,
    t: *mut bindings::cm_ps_try,
) -> c_int {
    // SAFETY: By the safety requirements.
    let st = unsafe { state(st) };
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

/// The format of the header and of each row of `/proc/net/rdma_cm_ports`.
macro_rules! show_line {
    ($m:expr, $($arg:expr),+ $(,)?) => {
        seq_print!($m, "{:<5} {:>5} {:<17} {:>2} {:>2} {:>7} {:<15} {} {}\n", $($arg),+)
    };
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

/// Shows the rows of every bound port of `st`, reading the IDs of a port `max` at a time; stops
/// early once `m`'s buffer is full, since seq_file then shows everything again into a larger one.
///
/// # Safety
///
/// `net` is the live network namespace whose port spaces `st` are, `m` (shown through `seq`) a
/// seq_file being shown, and `chunk` the glue's buffer of a listing, with room for `max` IDs and
/// used by nothing else during this call.
unsafe fn show_ports(
    st: Pin<&NetPorts<BindList>>,
    m: *mut bindings::seq_file,
    seq: &SeqFile,
    net: *mut bindings::net,
    chunk: *mut bindings::cm_ps_chunk,
    max: u32,
) -> Result {
    if max == 0 {
        return Err(EINVAL);
    }
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
                // SAFETY: `m` is being shown, by the safety requirements.
                if unsafe { bindings::cm_ps_glue_seq_full(m) } {
                    return Ok(());
                }
                // SAFETY: By the safety requirements; `rows` holds `max` rows.
                let (total, filled) = unsafe { owners(chunk, net, ps, port, skip, &mut rows) }?;
                for r in &rows[..filled] {
                    show_row(seq, name, port, r);
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

/// Shows `/proc/net/rdma_cm_ports` of `net`, whose port spaces `st` are, reading the IDs of a
/// port `max` at a time into the glue's `chunk`: 0, or the negative errno that the read returns.
///
/// # Safety
///
/// `st` is the live state of `net`, `m` a seq_file being shown, and `chunk` the glue's buffer of
/// a listing, with room for `max` IDs and used by nothing else during this call.
#[export]
pub unsafe extern "C" fn cm_ps_rs_show(
    st: *mut c_void,
    m: *mut bindings::seq_file,
    net: *mut bindings::net,
    chunk: *mut bindings::cm_ps_chunk,
    max: u32,
) -> c_int {
    // SAFETY: By the safety requirements.
    let (st, seq) = unsafe { (state(st), SeqFile::from_raw(m)) };
    show_line!(
        seq,
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
    // SAFETY: By the safety requirements.
    from_result(|| unsafe { show_ports(st, m, seq, net, chunk, max) }.map(|()| 0))
}

struct CmPortspace;

impl kernel::Module for CmPortspace {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: No requirements. Last in init: from here on the module stores bind lists, each
        // holding a reference on it.
        kernel::error::to_result(unsafe { bindings::cm_ps_glue_register() })?;
        pr_info!(
            "rdma_cm port spaces per network namespace (reserved ports {})\n",
            if module_parameters::skip_reserved.value() {
                "skipped"
            } else {
                "not skipped"
            }
        );
        Ok(CmPortspace)
    }
}

impl Drop for CmPortspace {
    fn drop(&mut self) {
        // SAFETY: Registered in `init`. The module is only unloaded when it stores no bind list;
        // after this rdma_cm calls nothing of it.
        unsafe { bindings::cm_ps_glue_unregister() };
    }
}
