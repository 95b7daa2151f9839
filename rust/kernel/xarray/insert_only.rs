// SPDX-License-Identifier: GPL-2.0

//! [`InsertOnly`]: an XArray that only ever gains entries, read without its lock.

use super::{
    AllocKind,
    StoreError,
    XArray, //
};
use crate::{
    alloc,
    bindings,
    sync::{
        rcu,
        Arc, //
    },
    types::ForeignOwnable, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use pin_init::{
    pin_data,
    pin_init,
    PinInit, //
};

/// An [`XArray`] whose entries, once inserted, stay in place, unchanged, until the array is
/// dropped.
///
/// Tables that are filled as they are used and emptied only when their owner goes away (the
/// per-device state of a namespace, the per-device pools of a cgroup) need lookups that take
/// no lock and return borrows as long as the table itself: nothing can free an entry while the
/// table lives, so such a borrow cannot dangle. The type offers only what keeps that true:
/// insertion into a free index, lookups, and no access to the lock or to mutable entries.
///
/// # Invariants
///
/// No entry of `xa` is removed, replaced or borrowed mutably before `xa` is dropped.
///
/// # Examples
///
/// ```
/// use kernel::alloc::KBox;
/// use kernel::xarray::{AllocKind, InsertOnly};
///
/// let xa = KBox::pin_init(InsertOnly::new(AllocKind::Alloc), GFP_KERNEL)?;
/// xa.insert(5, KBox::new(50u32, GFP_KERNEL)?, GFP_KERNEL)?;
/// xa.insert(9, KBox::new(90u32, GFP_KERNEL)?, GFP_KERNEL)?;
/// let five: &u32 = xa.get(5).ok_or(ENOENT)?;
/// // A second insertion at an index in use is refused and changes nothing.
/// let err = xa.insert(5, KBox::new(51u32, GFP_KERNEL)?, GFP_KERNEL).unwrap_err();
/// assert_eq!(err.error, EBUSY);
/// assert_eq!((*five, *err.value), (50, 51));
/// assert_eq!(xa.find(6).map(|(i, v)| (i, *v)), Some((9, 90)));
/// assert!(xa.find(10).is_none() && xa.get(6).is_none());
/// # Ok::<(), Error>(())
/// ```
#[pin_data]
pub struct InsertOnly<T: ForeignOwnable> {
    #[pin]
    xa: XArray<T>,
    /// Lookups share entries between threads without the lock: the array is `Sync` only if its
    /// entries are (an `XArray` alone asks only for `Send`).
    _shared: PhantomData<T>,
}

impl<T: ForeignOwnable> InsertOnly<T> {
    /// Creates an empty array.
    pub fn new(kind: AllocKind) -> impl PinInit<Self> {
        // INVARIANT: The array is empty.
        pin_init!(Self {
            xa <- XArray::new(kind),
            _shared: PhantomData,
        })
    }

    /// Stores `value` at `index` if that index is free; see [`super::Guard::insert`]. Takes the
    /// array's lock, which it may drop and take again to allocate memory.
    pub fn insert(&self, index: usize, value: T, gfp: alloc::Flags) -> Result<(), StoreError<T>> {
        // INVARIANT: An insertion into a free index changes no entry.
        self.xa.lock().insert(index, value, gfp)
    }

    /// The entry at `index`, without taking the lock.
    pub fn get(&self, index: usize) -> Option<T::Borrowed<'_>> {
        // SAFETY: `self.xa.xa` is always valid by `XArray`'s type invariant; `xa_load` takes the
        // RCU read lock for the walk itself.
        let ptr = unsafe { bindings::xa_load(self.xa.xa.get(), index) };
        let ptr = NonNull::new(ptr)?;
        // SAFETY: `ptr` came from `T::into_foreign` (`XArray`'s type invariant), and by the type
        // invariant it is neither freed nor borrowed mutably while `self` is borrowed.
        Some(unsafe { T::borrow(ptr.as_ptr()) })
    }

    /// The first entry at an index `>= start`, with its index, without taking the lock.
    pub fn find(&self, start: usize) -> Option<(usize, T::Borrowed<'_>)> {
        let mut index = start;
        let ptr = {
            let _rcu = rcu::read_lock();
            // SAFETY: `self.xa.xa` is always valid by `XArray`'s type invariant, `xa_find` may
            // walk the array under the RCU read lock without its lock, and `index` is a valid
            // place.
            unsafe {
                bindings::xa_find(
                    self.xa.xa.get(),
                    &mut index,
                    usize::MAX,
                    bindings::XA_PRESENT,
                )
            }
        };
        let ptr = NonNull::new(ptr)?;
        // SAFETY: As in `get`: the entry outlives the borrow of `self`, RCU or not.
        Some((index, unsafe { T::borrow(ptr.as_ptr()) }))
    }
}

impl<U: 'static> InsertOnly<Arc<U>> {
    /// The object shared by the entry at `index`, borrowed for as long as the array: the array
    /// holds a reference to it until it is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::alloc::KBox;
    /// use kernel::sync::Arc;
    /// use kernel::xarray::{AllocKind, InsertOnly};
    ///
    /// let xa = KBox::pin_init(InsertOnly::new(AllocKind::Alloc), GFP_KERNEL)?;
    /// let shared = Arc::new(7u64, GFP_KERNEL)?;
    /// xa.insert(0, shared.clone(), GFP_KERNEL)?;
    /// let seven: &u64 = xa.get_ref(0).ok_or(ENOENT)?;
    /// drop(shared);
    /// assert_eq!(*seven, 7);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn get_ref(&self, index: usize) -> Option<&U> {
        let entry = self.get(index)?;
        let ptr: *const U = &*entry;
        // SAFETY: The entry is an `Arc<U>` owned by the array; by the type invariant it is not
        // dropped, and so keeps `*ptr` alive and in place, while `self` is borrowed. An `Arc` is
        // only ever shared.
        Some(unsafe { &*ptr })
    }
}
