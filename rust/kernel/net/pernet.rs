// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace data of a subsystem, and its `/proc/net` file.
//!
//! C headers: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h),
//! [`include/net/netns/generic.h`](srctree/include/net/netns/generic.h),
//! [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h)
//!
//! A subsystem that keeps data in every network namespace declares a `static` [`Subsys`] of its
//! data type and registers it ([`Subsys::register`]) for as long as it needs the data: the
//! network core then builds the data of every namespace, existing and future, with
//! [`PernetData::init`], in memory it allocates next to the namespace (`.id` / `.size` of
//! `struct pernet_operations`), and drops it when the namespace goes or the subsystem
//! unregisters. If [`PernetData::PROC_NAME`] is set, each namespace also shows a read-only file
//! `/proc/net/<name>` whose contents [`PernetData::show`] writes.

use crate::{
    bindings,
    error::{
        from_result,
        to_result,
        Error,
        Result, //
    },
    ffi::{
        c_int,
        c_uint,
        c_void, //
    },
    net::namespace::Net,
    prelude::*,
    seq_file::SeqFile,
    str::CStr,
    types::Opaque,
};
use core::marker::PhantomData;
use pin_init::PinInit;

/// The data that a subsystem keeps in every network namespace.
pub trait PernetData: Sized + Send + Sync + 'static {
    /// The name of the namespace's read-only file in `/proc/net`, if the subsystem has one.
    const PROC_NAME: Option<&'static CStr> = None;

    /// The subsystem's registration, a `static` (the network core's callbacks find the data
    /// through it).
    fn subsys() -> &'static Subsys<Self>;

    /// Initialises the data of `net`, a namespace being created (or, at registration, every
    /// namespace that exists).
    fn init(net: &Net) -> impl PinInit<Self, Error>;

    /// Called when namespace `net` goes (or the subsystem unregisters), once its `/proc/net`
    /// file is removed and before its data is dropped.
    fn exit(&self, _net: &Net) {}

    /// Writes the contents of `/proc/net/<PROC_NAME>` of `net`, whose data `self` is.
    fn show(&self, _net: &Net, _m: &SeqFile) -> Result {
        Ok(())
    }
}

/// The registration of a subsystem's per-namespace data `T`, to be declared as a `static`.
///
/// # Invariants
///
/// `ops` is a `struct pernet_operations` whose `init` and `exit` are [`init_callback::<T>`] and
/// [`exit_callback::<T>`] and whose `size` is that of `T`. While a [`Registration`] of `self`
/// exists, `ops.id` points to `id` and `ops` is registered: every live namespace then holds, at
/// its generic slot `id`, a `T` initialised by [`PernetData::init`] and pinned there until
/// [`exit_callback`] drops it.
pub struct Subsys<T: PernetData> {
    ops: Opaque<bindings::pernet_operations>,
    id: Opaque<c_uint>,
    _data: PhantomData<T>,
}

// SAFETY: `ops` and `id` are written only by `register`, which takes `&'static self` before the
// network core may read them, and then only by the network core, under its `pernet_ops_rwsem`.
// The `T`s that `get` shares are `Sync`.
unsafe impl<T: PernetData> Sync for Subsys<T> {}

/// `kzalloc()`, which allocates the data in `ops_init()`, aligns at least as `unsigned long long`
/// (`ARCH_KMALLOC_MINALIGN`).
const KMALLOC_MINALIGN: usize = core::mem::align_of::<u64>();

impl<T: PernetData> Subsys<T> {
    /// A registration of `T`, not yet registered.
    pub const fn new() -> Self {
        const {
            assert!(
                core::mem::align_of::<T>() <= KMALLOC_MINALIGN,
                "per-netns data is kmalloc()ed"
            )
        };
        // SAFETY: All-zero is a valid `struct pernet_operations` (null pointers, `None`s).
        let mut ops: bindings::pernet_operations = unsafe { core::mem::zeroed() };
        ops.init = Some(init_callback::<T>);
        ops.exit = Some(exit_callback::<T>);
        ops.size = core::mem::size_of::<T>();
        // INVARIANT: `ops` has the callbacks and size of `T`, and is not registered.
        Self {
            ops: Opaque::new(ops),
            id: Opaque::new(0),
            _data: PhantomData,
        }
    }

    /// Registers the subsystem: builds the data of every namespace that exists, and of every
    /// namespace created until the returned [`Registration`] is dropped.
    ///
    /// Fails with `EBUSY` if it is registered already, or with the error of a namespace's
    /// [`PernetData::init`] (then no namespace keeps data).
    pub fn register(&'static self) -> Result<Registration<T>> {
        // SAFETY: `ops` is valid; `register_pernet_subsys()` puts it on a list before anyone
        // reads `id`, so a registered `ops` has a non-null `id`.
        if unsafe { !(*self.ops.get()).id.is_null() } {
            return Err(EBUSY);
        }
        // SAFETY: Not registered (checked above; module init and exit are serialised), so
        // nobody reads `ops` meanwhile.
        unsafe { (*self.ops.get()).id = self.id.get() };
        // SAFETY: `ops` is valid for `'static`, its callbacks are those of `T` (type invariant).
        let ret = to_result(unsafe { bindings::register_pernet_subsys(self.ops.get()) });
        if ret.is_err() {
            // SAFETY: The registration failed: `ops` is not on the list any more.
            unsafe { (*self.ops.get()).id = core::ptr::null_mut() };
        }
        // INVARIANT: `ops` is registered with `id` until the registration is dropped.
        ret.map(|()| Registration(self))
    }

    /// The data of `net`.
    ///
    /// # Safety
    ///
    /// The subsystem is registered for at least `'a`, and `net` is a live namespace (its data
    /// is dropped only once nobody can reach the namespace any more).
    pub unsafe fn get_unchecked<'a>(&'a self, net: &'a Net) -> Pin<&'a T> {
        // SAFETY: Registered (safety requirements), so the slot holds the data, initialised by
        // `init_callback` and pinned there until `net` goes.
        unsafe { Pin::new_unchecked(&*self.slot(net.as_ptr())) }
    }

    /// The memory of the data of `net`: its generic slot `id`.
    ///
    /// # Safety
    ///
    /// `net` is a live namespace, and `ops` is registered or `ops_init()` is setting `net` up.
    unsafe fn slot(&self, net: *mut bindings::net) -> *mut T {
        // SAFETY: `net` is valid and, by the safety requirements, `id` is a slot the network core
        // assigned to this subsystem in it.
        unsafe { bindings::net_generic(net, *self.id.get()) }.cast::<T>()
    }
}

impl<T: PernetData> Default for Subsys<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A registered [`Subsys`]; dropping it unregisters the subsystem, which drops the data of
/// every namespace.
pub struct Registration<T: PernetData>(&'static Subsys<T>);

impl<T: PernetData> Registration<T> {
    /// The data of `net`.
    pub fn get<'a>(&'a self, net: &'a Net) -> Pin<&'a T> {
        // SAFETY: `self` keeps the subsystem registered for `'a`; `net` is borrowed, so alive.
        unsafe { self.0.get_unchecked(net) }
    }
}

impl<T: PernetData> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered by `Subsys::register` (type invariant of `Subsys`).
        unsafe { bindings::unregister_pernet_subsys(self.0.ops.get()) };
        // SAFETY: Unregistered: nothing reads `ops` any more.
        unsafe { (*self.0.ops.get()).id = core::ptr::null_mut() };
    }
}

/// `pernet_operations::init`: initialises the data of `net` in the memory the network core
/// allocated for it, then creates the namespace's `/proc/net` file.
///
/// # Safety
///
/// Called by the network core for a namespace being set up, with `ops` of `T::subsys()`
/// registered.
unsafe extern "C" fn init_callback<T: PernetData>(net: *mut bindings::net) -> c_int {
    from_result(|| {
        // SAFETY: The network core passes a namespace being set up.
        let n = unsafe { Net::from_ptr(net) };
        // SAFETY: `ops_init()` assigned the generic slot `id` a zeroed allocation of
        // `size_of::<T>()` bytes, aligned (checked in `Subsys::new`), before calling us.
        let slot = unsafe { T::subsys().slot(net) };
        // SAFETY: `slot` is valid for writing a `T`; on error the initialiser leaves nothing
        // to drop, and `ops_init()` frees the memory. On success the memory stays put until
        // `exit_callback` drops `T` in place, and `ops_free()` frees it.
        unsafe { T::init(n).__init(slot)? };
        if let Some(name) = T::PROC_NAME {
            // SAFETY: `net` is valid; `show_callback::<T>` finds the data through the file's
            // namespace, whose data outlives the file (removed first in `exit_callback`).
            let entry = unsafe {
                bindings::proc_create_net_single(
                    name.as_char_ptr(),
                    0o444,
                    (*net).proc_net,
                    Some(show_callback::<T>),
                    core::ptr::null_mut(),
                )
            };
            if entry.is_null() {
                // SAFETY: Initialised above and not shared yet.
                unsafe { core::ptr::drop_in_place(slot) };
                return Err(ENOMEM);
            }
        }
        Ok(0)
    })
}

/// `pernet_operations::exit`: removes the namespace's `/proc/net` file (waiting for its readers)
/// and drops the data of `net` (after [`PernetData::exit`]).
///
/// # Safety
///
/// Called by the network core for a namespace whose `init_callback::<T>` succeeded.
unsafe extern "C" fn exit_callback<T: PernetData>(net: *mut bindings::net) {
    if let Some(name) = T::PROC_NAME {
        // SAFETY: `net` is valid and its file was created by `init_callback`.
        unsafe { bindings::remove_proc_entry(name.as_char_ptr(), (*net).proc_net) };
    }
    // SAFETY: `init_callback` initialised the data at this slot; nothing uses it any more: the
    // namespace is dead and its file gone. The network core frees the memory afterwards.
    unsafe {
        let slot = T::subsys().slot(net);
        (*slot).exit(Net::from_ptr(net));
        core::ptr::drop_in_place(slot);
    }
}

/// The `show` of `/proc/net/<PROC_NAME>`.
///
/// # Safety
///
/// Called by the seq_file core for the file created by `init_callback::<T>`.
unsafe extern "C" fn show_callback<T: PernetData>(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    from_result(|| {
        // SAFETY: `m` is a seq_file of a single-record `/proc/net` file, which holds its
        // namespace while it is open; the namespace's data outlives the file (type invariant of
        // `Subsys`, `exit_callback` removes the file first).
        unsafe {
            let net = Net::from_ptr(bindings::seq_file_single_net(m));
            T::subsys()
                .get_unchecked(net)
                .show(net, SeqFile::from_raw(m))?;
        }
        Ok(0)
    })
}
