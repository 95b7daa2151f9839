// SPDX-License-Identifier: GPL-2.0

//! Insertion into free slots: [`Guard::insert`], [`Guard::alloc`] and [`Guard::alloc_cyclic`];
//! ordered walks under the lock: [`Guard::find`]. Lock-free lookups are those of
//! [`super::InsertOnly`].
//!
//! Unlike [`Guard::store`], none of these replaces an existing entry, so a caller can claim an
//! index (a port, an id) without racing against another claimant.

use super::{Guard, StoreError};
use crate::{
    alloc,
    bindings,
    build_assert::build_assert,
    error::Error,
    types::ForeignOwnable, //
};
use core::ops::RangeInclusive;

/// The C `struct xa_limit` of an inclusive range of indices.
fn xa_limit(range: &RangeInclusive<u32>) -> bindings::xa_limit {
    bindings::xa_limit {
        min: *range.start(),
        max: *range.end(),
    }
}

impl<T: ForeignOwnable> Guard<'_, T> {
    /// Stores `value` at `index` only if that slot is empty.
    ///
    /// May drop the lock if needed to allocate memory, and then reacquire it afterwards.
    ///
    /// Fails with `EBUSY` if the slot is occupied (the entry is left as it was), or `ENOMEM`; the
    /// value is handed back in both cases.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::alloc::KBox;
    /// use kernel::xarray::{AllocKind, XArray};
    ///
    /// let xa = KBox::pin_init(XArray::new(AllocKind::Alloc), GFP_KERNEL)?;
    /// // Allocate before taking the lock: it is a spinlock.
    /// let (one, two) = (KBox::new(1u32, GFP_KERNEL)?, KBox::new(2u32, GFP_KERNEL)?);
    /// let mut guard = xa.lock();
    /// guard.insert(7, one, GFP_KERNEL)?;
    /// let err = guard.insert(7, two, GFP_KERNEL).unwrap_err();
    /// assert_eq!(err.error, EBUSY);
    /// assert_eq!(*err.value, 2);
    /// assert_eq!(guard.get(7).copied(), Some(1));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn insert(
        &mut self,
        index: usize,
        value: T,
        gfp: alloc::Flags,
    ) -> Result<(), StoreError<T>> {
        build_assert!(
            T::FOREIGN_ALIGN >= 4,
            "pointers stored in XArray must be 4-byte aligned"
        );
        let new = value.into_foreign();
        // SAFETY:
        // - `self.xa.xa` is always valid by the type invariant.
        // - The caller holds the lock.
        //
        // INVARIANT: `new` came from `T::into_foreign` and is not NULL, so the entry is stored
        // as such (a NULL entry would become a reservation).
        let ret =
            unsafe { bindings::__xa_insert(self.xa.xa.get(), index, new.cast(), gfp.as_raw()) };
        self.claimed(ret, new)
    }

    /// Stores `value` in the lowest free index within `range` and returns that index.
    ///
    /// The array must have been created with [`AllocKind::Alloc`](super::AllocKind::Alloc) or
    /// [`AllocKind::Alloc1`](super::AllocKind::Alloc1). May drop the lock to allocate memory.
    ///
    /// Fails with `EBUSY` if every index in `range` is taken, or `ENOMEM`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::alloc::KBox;
    /// use kernel::xarray::{AllocKind, XArray};
    ///
    /// let xa = KBox::pin_init(XArray::new(AllocKind::Alloc), GFP_KERNEL)?;
    /// let (a, b, c) = (KBox::new(0u32, GFP_KERNEL)?, KBox::new(1u32, GFP_KERNEL)?, KBox::new(2u32, GFP_KERNEL)?);
    /// let mut guard = xa.lock();
    /// assert_eq!(guard.alloc(10..=11, a, GFP_KERNEL)?, 10);
    /// assert_eq!(guard.alloc(10..=11, b, GFP_KERNEL)?, 11);
    /// let full = guard.alloc(10..=11, c, GFP_KERNEL);
    /// assert_eq!(full.map_err(Error::from), Err(EBUSY));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn alloc(
        &mut self,
        range: RangeInclusive<u32>,
        value: T,
        gfp: alloc::Flags,
    ) -> Result<u32, StoreError<T>> {
        build_assert!(
            T::FOREIGN_ALIGN >= 4,
            "pointers stored in XArray must be 4-byte aligned"
        );
        let limit = xa_limit(&range);
        let mut id = 0u32;
        let new = value.into_foreign();
        // SAFETY:
        // - `self.xa.xa` is always valid by the type invariant.
        // - The caller holds the lock; `id` is a valid place for the result.
        //
        // INVARIANT: `new` came from `T::into_foreign`.
        let ret = unsafe {
            bindings::__xa_alloc(self.xa.xa.get(), &mut id, new.cast(), limit, gfp.as_raw())
        };
        self.claimed(ret, new).map(|()| id)
    }

    /// Stores `value` in the first free index within `range` at or after `*next`, wrapping around
    /// to the start of `range`, and returns that index; `*next` becomes the index after it.
    ///
    /// This spreads allocations over the range the way ephemeral ports are chosen. Same errors
    /// and requirements as [`Guard::alloc`].
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::alloc::KBox;
    /// use kernel::xarray::{AllocKind, XArray};
    ///
    /// let xa = KBox::pin_init(XArray::new(AllocKind::Alloc), GFP_KERNEL)?;
    /// let (a, b) = (KBox::new(0u32, GFP_KERNEL)?, KBox::new(1u32, GFP_KERNEL)?);
    /// let mut guard = xa.lock();
    /// let mut next = 12;
    /// assert_eq!(guard.alloc_cyclic(10..=12, &mut next, a, GFP_KERNEL)?, 12);
    /// assert_eq!(guard.alloc_cyclic(10..=12, &mut next, b, GFP_KERNEL)?, 10);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn alloc_cyclic(
        &mut self,
        range: RangeInclusive<u32>,
        next: &mut u32,
        value: T,
        gfp: alloc::Flags,
    ) -> Result<u32, StoreError<T>> {
        build_assert!(
            T::FOREIGN_ALIGN >= 4,
            "pointers stored in XArray must be 4-byte aligned"
        );
        let limit = xa_limit(&range);
        let mut id = 0u32;
        let new = value.into_foreign();
        // SAFETY:
        // - `self.xa.xa` is always valid by the type invariant.
        // - The caller holds the lock; `id` and `next` are valid places.
        //
        // INVARIANT: `new` came from `T::into_foreign`.
        let ret = unsafe {
            bindings::__xa_alloc_cyclic(
                self.xa.xa.get(),
                &mut id,
                new.cast(),
                limit,
                next,
                gfp.as_raw(),
            )
        };
        self.claimed(ret, new).map(|()| id)
    }

    /// Finds the first entry at an index `>= start` and returns that index with the entry.
    ///
    /// Walking an array in index order with the lock held: take the lock, find, drop the lock,
    /// use the index, and start again after it.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::alloc::KBox;
    /// use kernel::xarray::{AllocKind, XArray};
    ///
    /// let xa = KBox::pin_init(XArray::new(AllocKind::Alloc), GFP_KERNEL)?;
    /// let (a, b) = (KBox::new(3u32, GFP_KERNEL)?, KBox::new(9u32, GFP_KERNEL)?);
    /// let mut guard = xa.lock();
    /// guard.insert(3, a, GFP_KERNEL)?;
    /// guard.insert(9, b, GFP_KERNEL)?;
    /// assert_eq!(guard.find(0).map(|(i, v)| (i, *v)), Some((3, 3)));
    /// assert_eq!(guard.find(4).map(|(i, v)| (i, *v)), Some((9, 9)));
    /// assert!(guard.find(10).is_none());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn find(&self, start: usize) -> Option<(usize, T::Borrowed<'_>)> {
        let mut index = start;
        // SAFETY: `self.xa.xa` is always valid by the type invariant, the caller holds the lock,
        // and `index` is a valid place.
        let ptr = unsafe {
            bindings::xa_find(
                self.xa.xa.get(),
                &mut index,
                usize::MAX,
                bindings::XA_PRESENT,
            )
        };
        let ptr = core::ptr::NonNull::new(ptr)?;
        // SAFETY: `ptr` came from `T::into_foreign` (type invariant), and it cannot be removed
        // (and so freed) while the borrow of `self`, which holds the lock, is alive.
        Some((index, unsafe { T::borrow(ptr.as_ptr()) }))
    }

    /// Turns the return value of `__xa_{insert,alloc,alloc_cyclic}` into a result, giving the
    /// value back on error.
    fn claimed(&self, ret: i32, new: *mut crate::ffi::c_void) -> Result<(), StoreError<T>> {
        if ret >= 0 {
            return Ok(());
        }
        // SAFETY: `new` came from `T::into_foreign` and the XArray did not take ownership of it
        // because the call failed.
        let value = unsafe { T::from_foreign(new) };
        Err(StoreError {
            value,
            error: Error::from_errno(ret),
        })
    }
}
