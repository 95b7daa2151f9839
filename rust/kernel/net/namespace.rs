// SPDX-License-Identifier: GPL-2.0

//! Network namespaces.
//!
//! C header: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h)

use crate::{
    bindings,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque,
};
use core::ptr::{
    self,
    NonNull, //
};

/// Wraps the kernel's `struct net`, a network namespace.
///
/// Instances are always reference counted: an [`ARef<Net>`] holds one reference (`get_net` /
/// `put_net`) and keeps the namespace alive (though it may already be dying, see
/// [`Net::is_alive`]).
///
/// # Invariants
///
/// The inner `struct net` is valid for the lifetime of any `&Net`: either it is `init_net`, which
/// is never freed, or the reference is derived from a counted reference.
///
/// # Examples
///
/// ```
/// use kernel::net::namespace::Net;
///
/// let init = Net::init();
/// assert!(init.is_init());
/// let mine = Net::current().ok_or(ENOENT)?;
/// // Doc-tests run in a kernel thread, which lives in the initial namespace.
/// assert!(*mine == *init);
/// assert_eq!(mine.inum(), init.inum());
/// # Ok::<(), Error>(())
/// ```
#[repr(transparent)]
pub struct Net(Opaque<bindings::net>);

impl Net {
    /// Returns the initial network namespace, which lives as long as the kernel.
    #[inline]
    pub fn init() -> &'static Net {
        // SAFETY: `init_net` is a static object that is never freed, so a shared reference to it
        // is valid for `'static`. `Net` is `repr(transparent)` over `struct net`.
        unsafe { Self::from_ptr(ptr::addr_of!(bindings::init_net)) }
    }

    /// Returns a counted reference to the network namespace of the current task.
    ///
    /// Kernel threads are in the initial network namespace. Returns [`None`] only for a task that
    /// is exiting and has already released its namespaces.
    #[inline]
    pub fn current() -> Option<ARef<Net>> {
        // SAFETY: No requirements; the helper returns the current task's netns or NULL.
        let net = NonNull::new(unsafe { bindings::current_net_ns() })?;
        // SAFETY: While we run in the current task's context its nsproxy cannot be replaced, so
        // `net` is valid here; `from_ptr` gives a temporary reference that `into()` turns into a
        // counted one before we return.
        Some(unsafe { Self::from_ptr(net.as_ptr()) }.into())
    }

    /// Creates a reference to a [`Net`] from a valid pointer.
    ///
    /// # Safety
    ///
    /// The caller must ensure that `ptr` points to a valid `struct net` that stays valid (holds a
    /// reference) for the lifetime `'a`.
    #[inline]
    pub unsafe fn from_ptr<'a>(ptr: *const bindings::net) -> &'a Net {
        // SAFETY: The caller guarantees validity for `'a`; `Net` is `repr(transparent)`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw pointer to the C `struct net`.
    #[inline]
    pub fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// Returns `true` if this is the initial network namespace.
    #[inline]
    pub fn is_init(&self) -> bool {
        ptr::eq(self.as_ptr(), Self::init().as_ptr())
    }

    /// Returns the namespace's inode number, as shown by `ls -l /proc/<pid>/ns/net`.
    #[inline]
    pub fn inum(&self) -> u32 {
        // SAFETY: `self` is valid by the type invariant; `ns.inum` is written once when the
        // namespace is created, before it is visible to anyone else.
        unsafe { (*self.as_ptr()).ns.inum }
    }

    /// Returns the namespace's cookie: a 64-bit identifier never reused while the system runs.
    #[inline]
    pub fn cookie(&self) -> u64 {
        // SAFETY: `self` is valid by the type invariant; `net_cookie` is written once at creation.
        unsafe { (*self.as_ptr()).net_cookie }
    }
}

impl PartialEq for Net {
    /// Two [`Net`]s are equal when they are the same namespace (C's `net_eq`).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        ptr::eq(self.as_ptr(), other.as_ptr())
    }
}

impl Eq for Net {}

impl core::fmt::Debug for Net {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "net:[{}]", self.inum())
    }
}

// SAFETY: Instances of `Net` are always reference counted, by `get_net` and `put_net`.
unsafe impl AlwaysRefCounted for Net {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference means that the refcount is nonzero.
        unsafe { bindings::get_net(self.as_ptr()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Net>) {
        // SAFETY: The caller guarantees that the refcount is nonzero and that it gives up one.
        unsafe { bindings::put_net(obj.cast().as_ptr()) }
    }
}

// SAFETY: `put_net` may be called from any thread, so ownership of a reference can move.
unsafe impl Send for Net {}

// SAFETY: `Net` only exposes fields that are written once at creation, so shared references can
// be used from any thread.
unsafe impl Sync for Net {}
