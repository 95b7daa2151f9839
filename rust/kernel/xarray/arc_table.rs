// SPDX-License-Identifier: GPL-2.0

//! [`ArcTable`]: an insert-only map from small indexes to shared objects, whose lookup is one
//! load from a direct-mapped table.

use super::{
    AllocKind,
    InsertOnly,
    StoreError, //
};
use crate::{
    alloc::{
        self,
        KBox,
        KVec, //
    },
    str::CStr,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        Arc,
        ArcBorrow,
        LockClassKey,
        Mutex, //
    },
};
use core::{
    pin::Pin,
    ptr, //
};
use pin_init::{
    pin_data,
    pin_init,
    PinInit, //
};

/// A direct-mapped table of entries by index; its length never changes.
struct Direct<U>(KVec<Atomic<*const U>>);

/// The first direct table's length; each new one doubles it (at least), up to the array's limit.
const DIRECT_MIN: usize = 16;

/// An [`InsertOnly`] array of `Arc<U>` whose indexes below a limit are also found in a
/// direct-mapped table, without a lock, a tree walk or an RCU read-side section.
///
/// For tables indexed by small integers and read on fast paths, as `struct page_counter` users
/// index per-node state: the rdma cgroup's pools by device slot. [`ArcTable::get`] loads the
/// current table and then its entry, both with `Acquire`. [`ArcTable::insert`] enters the new
/// entry in the table after the XArray, with `Release`, replacing the table by a longer copy
/// when the index is past its end. Replaced tables are kept until the array is dropped, so a
/// lookup may go on reading an old one (the tables together take at most twice the memory of
/// the last one, and there is no grace period to wait for). An entry that is not in the table
/// yet (being entered, past the limit, or left out for lack of memory) is found in the XArray.
///
/// # Invariants
///
/// - `direct` is null or points to the last table in `tables`.
/// - Each entry of a table in `tables` is null or points to the object shared by the entry of
///   its index in `xa`.
///
/// # Examples
///
/// ```
/// use kernel::alloc::KBox;
/// use kernel::sync::Arc;
/// use kernel::xarray::AllocKind;
///
/// let t = KBox::pin_init(kernel::new_arc_table!(AllocKind::Alloc, 64), GFP_KERNEL)?;
/// t.insert(3, Arc::new(30u32, GFP_KERNEL)?, GFP_KERNEL)?;
/// t.insert(100, Arc::new(1000u32, GFP_KERNEL)?, GFP_KERNEL)?;
/// assert_eq!((t.get(3).copied(), t.get(100).copied()), (Some(30), Some(1000)));
/// // Index 3 is in the direct table; 100 is past its limit, so only in the XArray.
/// assert_eq!((t.direct(3).copied(), t.direct(100)), (Some(30), None));
/// assert_eq!(t.direct_len(), 16);
/// // An index in use is refused, and the entry stays.
/// let err = t.insert(3, Arc::new(31u32, GFP_KERNEL)?, GFP_KERNEL).unwrap_err();
/// assert_eq!((err.error, t.get(3).copied()), (EBUSY, Some(30)));
/// # Ok::<(), Error>(())
/// ```
#[pin_data]
pub struct ArcTable<U: Send + Sync + 'static> {
    /// Owns the entries.
    #[pin]
    xa: InsertOnly<Arc<U>>,
    /// The current direct table.
    direct: Atomic<*const Direct<U>>,
    /// Every direct table made, the current one last. Taken to enter an entry.
    #[pin]
    tables: Mutex<KVec<KBox<Direct<U>>>>,
    /// Indexes from this one on are found in the XArray only.
    limit: usize,
}

/// Creates an empty [`ArcTable`] whose indexes below `limit` are found in a direct table, with
/// a lock class of its own for the mutex that enters entries (as [`crate::new_mutex!`] gives one
/// per call site).
#[macro_export]
macro_rules! new_arc_table {
    ($kind:expr, $limit:expr $(, $name:literal)? $(,)?) => {
        $crate::xarray::ArcTable::new(
            $kind, $limit, $crate::optional_name!($($name)?), $crate::static_lock_class!())
    };
}

impl<U: Send + Sync + 'static> ArcTable<U> {
    /// Creates an empty array whose indexes below `limit` are found in a direct table; `name`
    /// and `key` are the lock class of its mutex. Use [`crate::new_arc_table!`].
    pub fn new(
        kind: AllocKind,
        limit: usize,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        // INVARIANT: There is no table and no entry.
        pin_init!(Self {
            xa <- InsertOnly::new(kind),
            direct: Atomic::new(ptr::null()),
            tables <- Mutex::new(KVec::new(), name, key),
            limit,
        })
    }

    /// The object of the entry at `index`, borrowed for as long as the array.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&U> {
        self.direct(index).or_else(|| self.xa.get_ref(index))
    }

    /// The object of the entry at `index` if it is in the direct table; for tests and
    /// statistics ([`ArcTable::get`] finds every entry).
    #[inline]
    pub fn direct(&self, index: usize) -> Option<&U> {
        // Acquire (both loads): pairs with the releases in `enter`, so that the table's and the
        // object's initialisation are seen.
        let t = self.direct.load(Acquire);
        // SAFETY: By the type invariant `t` is null or points to a table in `tables`, which
        // keeps it, unchanged in length, until `self` is dropped.
        let t = unsafe { t.as_ref() }?;
        let p = t.0.get(index)?.load(Acquire);
        // SAFETY: By the type invariant `p` is null or points to the object of an `Arc` owned by
        // `xa`, which keeps it alive and in place until `self` is dropped. An `Arc` is only ever
        // shared.
        unsafe { p.as_ref() }
    }

    /// The length of the current direct table (0 before the first entry below the limit).
    pub fn direct_len(&self) -> usize {
        // SAFETY: As in `direct`.
        unsafe { self.direct.load(Acquire).as_ref() }.map_or(0, |t| t.0.len())
    }

    /// The entry at `index`, as a borrowed `Arc` (to take a reference of it).
    pub fn get_arc(&self, index: usize) -> Option<ArcBorrow<'_, U>> {
        self.xa.get(index)
    }

    /// The first entry at an index `>= start`, with its index.
    pub fn find(&self, start: usize) -> Option<(usize, ArcBorrow<'_, U>)> {
        self.xa.find(start)
    }

    /// Stores `value` at `index` if that index is free, and enters it in the direct table if
    /// `index` is below the limit; see [`InsertOnly::insert`]. May sleep: entering takes a mutex.
    pub fn insert(
        &self,
        index: usize,
        value: Arc<U>,
        gfp: alloc::Flags,
    ) -> Result<(), StoreError<Arc<U>>> {
        let p = Arc::as_ptr(&value);
        self.xa.insert(index, value, gfp)?;
        // INVARIANT: `p` is the object of the entry just stored at `index`.
        self.enter(index, p, gfp);
        Ok(())
    }

    /// Enters `p`, the object of the entry at `index`, in the direct table, replacing the table
    /// by a longer one if it is too short. Leaves it out for an index at or past the limit, or
    /// without memory for a table.
    fn enter(&self, index: usize, p: *const U, gfp: alloc::Flags) {
        if index >= self.limit {
            return;
        }
        let mut tables = self.tables.lock();
        let old: &[Atomic<*const U>] = tables.last().map_or(&[], |t| &t.0[..]);
        if index >= old.len() {
            let len = (index + 1).next_power_of_two().max(DIRECT_MIN);
            let Ok(mut v) = KVec::with_capacity(len, gfp) else {
                return;
            };
            for i in 0..len {
                let e = old.get(i).map_or(ptr::null(), |e| e.load(Relaxed));
                // Cannot fail: the capacity is there.
                if v.push(Atomic::new(e), gfp).is_err() {
                    return;
                }
            }
            let Ok(t) = KBox::new(Direct(v), gfp) else {
                return;
            };
            let t_ptr: *const Direct<U> = &*t;
            if tables.push(t, gfp).is_err() {
                return;
            }
            // INVARIANT: The new table is the last in `tables`; its entries are those of the
            // previous one, copied under the lock that every entry is stored under. Release:
            // pairs with the acquire in `direct`.
            self.direct.store(t_ptr, Release);
        }
        if let Some(e) = tables.last().and_then(|t| t.0.get(index)) {
            // INVARIANT: `p` is the object of the entry at `index` (the caller's). Release:
            // pairs with the acquire in `direct`.
            e.store(p, Release);
        }
    }
}
