// SPDX-License-Identifier: GPL-2.0

//! The accounting engine: per-(cgroup, device slot) pools of atomic counters, charged
//! hierarchically without a lock, like `mm/page_counter.c` but comparing before adding, and
//! only at the levels that have a limit (see [`super::pool`]).
//!
//! Pools are created on first use and live until their cgroup is freed, so a pool once found stays
//! valid for as long as the cgroup does; every charged object pins its cgroup. A pool
//! is created only once its parent cgroup has the pool of the same slot, and links to it (as
//! `page_counter::parent`): a charge finds its cgroup's pool in a [`kernel::xarray::ArcTable`]
//! (one load from a table indexed by slot) and walks up the links.
//!
//! # Memory ordering
//!
//! The counters' (`Relaxed`) argument is in [`super::pool`]. Finding a pool is ordered by
//! [`ArcTable`]: a pool is stored after it is initialised and loaded with `Acquire`.
//!
//! # Switching a level to counted
//!
//! A write of `rdma.max` that sets a limit on a level without one marks the level's counter
//! switching ([`Counter::set_max`]), then ([`RdmaCgroup::switch_to_counted`]) waits until no
//! charge can still be writing with the old mode ([`Hierarchy::wait_for_chargers`], an RCU
//! grace period), sums `own` over the level's subtree and stores it as the level's usage.
//! Charges that find a level switching sleep and try again.
//! `Documentation/design/rdma_cgroup-scaling.md` has the argument.

use super::parse::Plan;
use super::pool::{
    Counter,
    NotCharged,
    Pool,
    Prio,
    SWITCHING, //
};
use super::res::{
    Resource,
    NR_RESOURCES, //
};
use kernel::{
    prelude::*,
    sync::{
        atomic::Relaxed,
        counter,
        Arc, //
    },
    time::{
        delay::fsleep,
        Delta, //
    },
    xarray::{
        AllocKind,
        ArcTable, //
    },
};

/// Why a charge was refused.
pub(crate) enum Refused<'a> {
    /// No memory for a pool.
    NoMem,
    /// `over` (the charged cgroup or an ancestor) is at its limit.
    Limit { over: &'a RdmaCgroup },
}

/// What a charge needs to know of the cgroup hierarchy; implemented by the FFI layer.
pub(crate) trait Hierarchy {
    /// The parent, or `None` at the top of the accounted hierarchy (a child of the root).
    fn parent(&self) -> Option<&RdmaCgroup>;
    /// Tells user space that `rdma.events` (and, if `local`, `rdma.events.local`) changed.
    fn notify_events(&self, local: bool);
    /// Calls `f` for every descendant of `of` (whose hierarchy this is), not `of` itself, in
    /// an RCU read-side section: `f` must not sleep.
    fn for_each_descendant(&self, of: &RdmaCgroup, f: &mut dyn FnMut(&RdmaCgroup));
    /// Waits until every charge and uncharge that may have started before the call has returned
    /// (an RCU grace period: they run in read-side sections).
    fn wait_for_chargers(&self);
}

/// How long a charge that found a level switching to counted sleeps before it tries again.
const SWITCH_WAIT_US: i64 = 100;

/// Slots from this one on are found in the XArray of [`ArcTable`] only.
const TABLE_MAX: usize = 4096;

/// The controller's state of one cgroup.
#[pin_data]
pub(crate) struct RdmaCgroup {
    /// The pools, by slot (shared with the children's pools, which link to them).
    #[pin]
    pools: ArcTable<Pool>,
    pub(crate) hier: Option<KBox<dyn Hierarchy + Send + Sync>>,
}

impl RdmaCgroup {
    /// A new cgroup state; `hier` is `None` for a detached state (KUnit).
    pub(crate) fn new(
        hier: Option<KBox<dyn Hierarchy + Send + Sync>>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(RdmaCgroup {
            pools <- kernel::new_arc_table!(AllocKind::Alloc, TABLE_MAX),
            hier,
        })
    }

    fn parent(&self) -> Option<&RdmaCgroup> {
        self.hier.as_ref().and_then(|h| h.parent())
    }

    fn levels(&self) -> impl Iterator<Item = &RdmaCgroup> {
        core::iter::successors(Some(self), |cg| cg.parent())
    }

    /// The pool of `slot`, if it exists.
    #[inline]
    pub(crate) fn pool(&self, slot: u32) -> Option<&Pool> {
        self.pools.get(slot as usize)
    }

    /// The pool of `slot` of this cgroup or, if it has none, of its nearest ancestor that has
    /// one. Every ancestor of a cgroup with a pool has one too.
    fn nearest_pool(&self, slot: u32) -> Option<&Pool> {
        self.levels().find_map(|cg| cg.pool(slot))
    }

    /// The pool of `slot`, created first here and at every ancestor that lacks one, top down so
    /// that each new pool can link to its parent's. May sleep.
    #[inline]
    pub(crate) fn pool_or_create(&self, slot: u32) -> Result<&Pool, Error> {
        match self.pool(slot) {
            Some(p) => Ok(p),
            None => self.pool_create(slot),
        }
    }

    /// The slow path of [`RdmaCgroup::pool_or_create`].
    #[cold]
    fn pool_create(&self, slot: u32) -> Result<&Pool, Error> {
        loop {
            if let Some(p) = self.pool(slot) {
                return Ok(p);
            }
            // The highest level without a pool (this one at least), below one that has it (or
            // below the top).
            let missing = self
                .levels()
                .take_while(|cg| cg.pool(slot).is_none())
                .last()
                .unwrap_or(self);
            let parent = match missing.parent() {
                None => None,
                // It has a pool: `missing` is the highest level without one.
                Some(p) => match p.pools.get_arc(slot as usize) {
                    Some(pp) => Some(Arc::from(pp)),
                    None => {
                        // Cannot happen: pools are never removed. Linking to nothing would
                        // cut the chain (ancestors' limits skipped), so refuse instead.
                        kernel::warn_on!(true);
                        return Err(EINVAL);
                    }
                },
            };
            let new = Arc::new(Pool::new(parent), GFP_KERNEL)?;
            match missing.pools.insert(slot as usize, new, GFP_KERNEL) {
                Ok(()) => {}
                // Another charger may have created it meanwhile: use theirs.
                Err(e) if e.error == EBUSY => {}
                Err(e) => return Err(e.error),
            }
        }
    }

    /// Charges `n` units of `r` on `slot` to this cgroup and every ancestor with a limit, or
    /// nothing. May sleep.
    pub(crate) fn try_charge(&self, slot: u32, r: Resource, n: u64) -> Result<(), Refused<'_>> {
        let pool = self.pool_or_create(slot).map_err(|_| Refused::NoMem)?;
        loop {
            match pool.charge(r, n) {
                Ok(()) => return Ok(()),
                Err(NotCharged::Switching) => fsleep(Delta::from_micros(SWITCH_WAIT_US)),
                Err(NotCharged::Limit(depth, over_pool)) => {
                    // The chain of pools has one pool per level, so `depth` names a level.
                    let over = self.levels().nth(depth).unwrap_or(self);
                    self.record_refusal(over, over_pool, slot, r);
                    return Err(Refused::Limit { over });
                }
            }
        }
    }

    /// Returns `n` units of `r` on `slot` charged earlier by [`RdmaCgroup::try_charge`]. May
    /// sleep (only while an ancestor's limit is being set).
    pub(crate) fn uncharge(&self, slot: u32, r: Resource, n: u64) {
        match self.pool(slot) {
            Some(p) => {
                while !p.uncharge(r, n) {
                    fsleep(Delta::from_micros(SWITCH_WAIT_US));
                }
            }
            // A charged cgroup always has a pool: pools outlive every charge.
            None => {
                kernel::warn_on!(true);
            }
        }
    }

    /// Calls `f` with this cgroup's pool of `slot` and that of every descendant that has one.
    /// `f` runs in an RCU read-side section (it must not sleep).
    fn for_subtree(&self, slot: u32, f: &mut dyn FnMut(&Pool)) {
        let Some(p) = self.pool(slot) else {
            // No descendant has a pool of a slot that its ancestors lack.
            return;
        };
        f(p);
        if let Some(h) = &self.hier {
            h.for_each_descendant(self, &mut |cg| {
                if let Some(p) = cg.pool(slot) {
                    f(p);
                }
            });
        }
    }

    /// The sum of `own` of every resource on `slot` over this cgroup and its descendants
    /// (saturated at `u64::MAX`): the usage of a level that does not count a resource.
    fn own_sums(&self, slot: u32) -> [u64; NR_RESOURCES] {
        let mut sum = [0u64; NR_RESOURCES];
        self.for_subtree(slot, &mut |q| {
            for (s, c) in sum.iter_mut().zip(q.res.iter()) {
                *s = s.saturating_add(c.own.load(Relaxed));
            }
        });
        sum
    }

    /// The usage of every resource on `slot` (`rdma.current`): a counted level's `usage`, or
    /// the sum of `own` over the subtree.
    pub(crate) fn current(&self, slot: u32) -> [u64; NR_RESOURCES] {
        let Some(p) = self.pool(slot) else {
            return [0; NR_RESOURCES];
        };
        let counted: [bool; NR_RESOURCES] = core::array::from_fn(|i| p.res[i].counted());
        let mut v = if counted.contains(&false) {
            self.own_sums(slot)
        } else {
            [0; NR_RESOURCES]
        };
        for ((s, c), counted) in v.iter_mut().zip(p.res.iter()).zip(counted) {
            if counted {
                *s = c.usage.load(Relaxed);
            }
        }
        v
    }

    /// The peak of every resource on `slot` (`rdma.peak`): a counted level's own `peak`, else
    /// the largest `peak` of the level and its descendants (exact for a cgroup whose own tasks do
    /// all the charging; otherwise a lower bound, see the design).
    pub(crate) fn peaks(&self, slot: u32) -> [u64; NR_RESOURCES] {
        let Some(p) = self.pool(slot) else {
            return [0; NR_RESOURCES];
        };
        let mut v: [u64; NR_RESOURCES] = core::array::from_fn(|i| p.res[i].peak.load(Relaxed));
        let counted: [bool; NR_RESOURCES] = core::array::from_fn(|i| p.res[i].counted());
        if counted.contains(&false) {
            self.for_subtree(slot, &mut |q| {
                for ((m, c), counted) in v.iter_mut().zip(q.res.iter()).zip(counted) {
                    if !counted {
                        *m = (*m).max(c.peak.load(Relaxed));
                    }
                }
            });
        }
        v
    }

    /// Counts a refused charge: `over`, at its limit, is this cgroup or an ancestor, and
    /// `over_pool` its pool of `slot` (this cgroup has one too, and so do all their ancestors).
    fn record_refusal(&self, over: &RdmaCgroup, over_pool: &Pool, slot: u32, r: Resource) {
        if let Some(p) = self.pool(slot) {
            p.get(r).ev_local_fail.fetch_add(1, Relaxed);
            for p in p.chain() {
                p.get(r).ev_fail.fetch_add(1, Relaxed);
            }
        }
        over_pool.get(r).ev_local_max.fetch_add(1, Relaxed);
        for p in over_pool.chain() {
            p.get(r).ev_max.fetch_add(1, Relaxed);
        }
        for cg in self.levels() {
            if let Some(h) = &cg.hier {
                let local = core::ptr::eq(cg, self) || core::ptr::eq(cg, over);
                h.notify_events(local);
            }
        }
    }

    /// Sets limits and allowed sets on `slot`. Fails only with `ENOMEM`, changing nothing. May
    /// sleep. The caller serialises writes of limits (the device table's mutex).
    pub(crate) fn set_limits(
        &self,
        slot: u32,
        limits: &[Option<u64>; NR_RESOURCES],
        sl: Option<u16>,
        up: Option<u8>,
    ) -> Result {
        let p = self.pool_or_create(slot)?;
        if Self::store_limits(p, limits, sl, up) {
            self.switch_to_counted(core::iter::once(slot));
        }
        Ok(())
    }

    /// Stores limits and allowed sets in `p`; returns whether a level now switches to counted.
    fn store_limits(
        p: &Pool,
        limits: &[Option<u64>; NR_RESOURCES],
        sl: Option<u16>,
        up: Option<u8>,
    ) -> bool {
        let mut switching = false;
        for (c, l) in p.res.iter().zip(limits) {
            if let Some(v) = l {
                switching |= c.set_max(*v);
            }
        }
        if let Some(sl) = sl {
            p.sl.store(u32::from(sl), Relaxed);
        }
        if let Some(up) = up {
            p.up.store(u32::from(up), Relaxed);
        }
        switching
    }

    /// Ends the switches to counted that [`RdmaCgroup::store_limits`] began on `slots`: waits
    /// until no charge can still be writing with the old mode ([`Hierarchy::wait_for_chargers`]);
    /// from then on no charge below a switching level writes `own`, so the sums are stable.
    fn switch_to_counted(&self, slots: impl Iterator<Item = u32>) {
        if let Some(h) = &self.hier {
            h.wait_for_chargers();
        }
        let switching = |c: &Counter| c.mode.load(Relaxed) == SWITCHING;
        for slot in slots {
            let Some(p) = self.pool(slot) else {
                continue;
            };
            if !p.res.iter().any(switching) {
                continue;
            }
            for (c, s) in p.res.iter().zip(self.own_sums(slot)) {
                if switching(c) {
                    c.finish_switch(s);
                }
            }
        }
    }

    /// Applies a parsed and resolved `rdma.max` write: all of it, or nothing if it fails (only
    /// with `ENOMEM`, creating a pool; a pool without limits is what no pool means). Waits for
    /// one RCU grace period if it sets a limit on a level that had none.
    pub(crate) fn apply(&self, plan: &Plan<'_>) -> Result {
        // Create every pool first: after this nothing can fail.
        for (slot, _) in plan.iter() {
            self.pool_or_create(*slot)?;
        }
        let mut switching = false;
        for (slot, req) in plan.iter() {
            let p = self.pool_or_create(*slot)?;
            switching |= Self::store_limits(p, &req.limits, req.sl, req.up);
        }
        if switching {
            self.switch_to_counted(plan.iter().map(|(slot, _)| *slot));
        }
        Ok(())
    }

    /// Resets the pool of `slot`, if any, to what a new device starts with: no limit, every
    /// priority allowed, no peak, no event. Usage is left alone: a slot is reset only when no
    /// device is registered on it, so nothing is charged there.
    pub(crate) fn reset_slot(&self, slot: u32) {
        let Some(p) = self.pool(slot) else {
            return;
        };
        p.clear_limits();
        for c in p.res.iter() {
            for a in [
                &c.peak,
                &c.ev_max,
                &c.ev_fail,
                &c.ev_local_max,
                &c.ev_local_fail,
            ] {
                a.store(0, Relaxed);
            }
        }
        for a in [&p.ev_denied, &p.ev_local_denied].into_iter().flatten() {
            a.store(0, Relaxed);
        }
    }

    /// Sets every limit of every pool back to `max` (the cgroup goes offline and must drain).
    pub(crate) fn reset_limits(&self) {
        let mut slot = 0u32;
        while let Some((s, p)) = self.pools.find(slot as usize) {
            p.clear_limits();
            slot = match u32::try_from(s).ok().and_then(|s| s.checked_add(1)) {
                Some(s) => s,
                None => break,
            };
        }
    }

    /// Checks that this cgroup and every ancestor allow `prio` on `slot`; a refusal is counted
    /// in the events of this cgroup and its ancestors. May sleep.
    pub(crate) fn prio_check(&self, slot: u32, prio: Prio) -> Result {
        if self.allowed(slot, prio.is_sl()) & prio.bit() != 0 {
            return Ok(());
        }
        // The events need a pool at every level; without one the refusal still stands.
        if let Ok(p) = self.pool_or_create(slot) {
            p.ev_local_denied[prio.event_index()].fetch_add(1, Relaxed);
            for p in p.chain() {
                p.ev_denied[prio.event_index()].fetch_add(1, Relaxed);
            }
        }
        for cg in self.levels() {
            if let Some(h) = &cg.hier {
                h.notify_events(core::ptr::eq(cg, self));
            }
        }
        Err(EPERM)
    }

    /// Like [`RdmaCgroup::prio_check`], and on success counts `prio` in use on `slot` at every
    /// level until [`RdmaCgroup::prio_unuse`]. May sleep.
    pub(crate) fn prio_use(&self, slot: u32, prio: Prio) -> Result {
        self.prio_check(slot, prio)?;
        for p in self.pool_or_create(slot)?.chain() {
            p.prio_use[prio.use_index()].fetch_add(1, Relaxed);
        }
        Ok(())
    }

    /// Returns a use counted by [`RdmaCgroup::prio_use`].
    pub(crate) fn prio_unuse(&self, slot: u32, prio: Prio) {
        let Some(p) = self.pool(slot) else {
            // A counted use always has a pool: pools outlive every use.
            kernel::warn_on!(true);
            return;
        };
        let what = if prio.is_sl() { "sl" } else { "up" };
        for p in p.chain() {
            counter::release(&p.prio_use[prio.use_index()], 1, what);
        }
    }

    /// The SLs (`ib == true`) or UPs allowed on `slot`: the intersection over the hierarchy.
    pub(crate) fn allowed(&self, slot: u32, ib: bool) -> u32 {
        self.nearest_pool(slot)
            .into_iter()
            .flat_map(Pool::chain)
            .fold(u32::MAX, |m, p| {
                m & if ib {
                    p.sl.load(Relaxed)
                } else {
                    p.up.load(Relaxed)
                }
            })
    }
}

#[cfg(not(rdmaiso_included))]
#[kunit_tests(rdma_cgroup_engine)]
mod tests {
    use super::super::pool::{
        Counter,
        MAX, //
    };
    use super::*;
    use core::ptr;
    use kernel::sync::{
        atomic::Atomic,
        Arc,
        Completion,
        Mutex, //
    };

    /// The cgroups of one test, for walks over descendants, and a count of notifications.
    struct Tree {
        all: Arc<Mutex<KVec<Arc<RdmaCgroup>>>>,
        notified: Arc<Atomic<u64>>,
    }

    impl Tree {
        fn new() -> Result<Tree> {
            Ok(Tree {
                all: Arc::pin_init(kernel::new_mutex!(KVec::new()), GFP_KERNEL)?,
                notified: Arc::new(Atomic::new(0), GFP_KERNEL)?,
            })
        }
    }

    impl Drop for Tree {
        // The cgroups hold the list through their `TestHier`: empty it to free them.
        fn drop(&mut self) {
            let all = core::mem::take(&mut *self.all.lock());
            drop(all);
        }
    }

    /// A test hierarchy: a parent link, the test's cgroups and a count of notifications.
    struct TestHier {
        parent: Option<Arc<RdmaCgroup>>,
        all: Arc<Mutex<KVec<Arc<RdmaCgroup>>>>,
        notified: Arc<Atomic<u64>>,
    }

    impl Hierarchy for TestHier {
        fn parent(&self) -> Option<&RdmaCgroup> {
            self.parent.as_deref()
        }
        fn notify_events(&self, _local: bool) {
            self.notified.fetch_add(1, Relaxed);
        }
        fn for_each_descendant(&self, of: &RdmaCgroup, f: &mut dyn FnMut(&RdmaCgroup)) {
            let all = self.all.lock();
            for c in all.iter() {
                if c.levels().skip(1).any(|a| ptr::eq(a, of)) {
                    f(c);
                }
            }
        }
        fn wait_for_chargers(&self) {
            kernel::sync::rcu::synchronize_rcu();
        }
    }

    fn cg(parent: Option<&Arc<RdmaCgroup>>, t: &Tree) -> Result<Arc<RdmaCgroup>> {
        let hier: KBox<dyn Hierarchy + Send + Sync> = KBox::new(
            TestHier {
                parent: parent.cloned(),
                all: t.all.clone(),
                notified: t.notified.clone(),
            },
            GFP_KERNEL,
        )?;
        let c = Arc::pin_init(RdmaCgroup::new(Some(hier)), GFP_KERNEL)?;
        t.all.lock().push(c.clone(), GFP_KERNEL)?;
        Ok(c)
    }

    /// `rdma.current` of `r` on `slot`.
    fn usage(c: &RdmaCgroup, slot: u32, r: Resource) -> u64 {
        c.current(slot)[r as usize]
    }

    /// `rdma.peak` of `r` on `slot`.
    fn peak(c: &RdmaCgroup, slot: u32, r: Resource) -> u64 {
        c.peaks(slot)[r as usize]
    }

    fn counter(c: &RdmaCgroup, slot: u32, r: Resource, f: fn(&Counter) -> &Atomic<u64>) -> u64 {
        c.pool(slot).map_or(0, |p| f(p.get(r)).load(Relaxed))
    }

    fn limits(r: Resource, v: u64) -> [Option<u64>; NR_RESOURCES] {
        let mut l = [None; NR_RESOURCES];
        l[r as usize] = Some(v);
        l
    }

    #[test]
    fn charge_up_to_limit() -> Result {
        let n = Tree::new()?;
        let a = cg(None, &n)?;
        a.set_limits(0, &limits(Resource::Qp, 2), None, None)?;
        assert!(a.try_charge(0, Resource::Qp, 1).is_ok());
        assert!(a.try_charge(0, Resource::Qp, 1).is_ok());
        assert!(matches!(
            a.try_charge(0, Resource::Qp, 1),
            Err(Refused::Limit { .. })
        ));
        assert_eq!(usage(&a, 0, Resource::Qp), 2);
        assert_eq!(peak(&a, 0, Resource::Qp), 2);
        assert_eq!(counter(&a, 0, Resource::Qp, |c| &c.ev_max), 1);
        assert_eq!(counter(&a, 0, Resource::Qp, |c| &c.ev_local_fail), 1);
        assert_eq!(n.notified.load(Relaxed), 1);
        // Other resources and slots are independent.
        assert!(a.try_charge(0, Resource::Cq, 100).is_ok());
        assert!(a.try_charge(1, Resource::Qp, 5).is_ok());
        a.uncharge(0, Resource::Qp, 1);
        assert!(a.try_charge(0, Resource::Qp, 1).is_ok());
        a.uncharge(0, Resource::Qp, 2);
        assert_eq!(usage(&a, 0, Resource::Qp), 0);
        assert_eq!(peak(&a, 0, Resource::Qp), 2);
        Ok(())
    }

    #[test]
    fn pools_in_and_past_the_table() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let leaf = cg(Some(&top), &n)?;
        // The direct table grows (16, 32, 1024 places) and keeps what it held; the last slot
        // is past its largest length.
        for slot in [0, 15, 16, 1000, 3, TABLE_MAX as u32] {
            top.set_limits(slot, &limits(Resource::Pd, 1), None, None)?;
            assert!(leaf.try_charge(slot, Resource::Pd, 1).is_ok());
            assert!(matches!(
                leaf.try_charge(slot, Resource::Pd, 1),
                Err(Refused::Limit { .. })
            ));
            assert_eq!(usage(&top, slot, Resource::Pd), 1);
            assert_eq!(usage(&leaf, slot, Resource::Pd), 1);
            // The direct table, where it covers the slot, holds the pool that the XArray holds.
            let direct = leaf.pools.direct(slot as usize).map(ptr::from_ref);
            assert_eq!(direct.is_some(), (slot as usize) < TABLE_MAX);
            let xa = leaf
                .pools
                .get_arc(slot as usize)
                .map(|a| ptr::from_ref(&*a));
            assert!(xa.is_some());
            if direct.is_some() {
                assert_eq!(direct, xa);
            }
            assert_eq!(leaf.pool(slot).map(ptr::from_ref), xa);
            leaf.uncharge(slot, Resource::Pd, 1);
            assert_eq!(usage(&top, slot, Resource::Pd), 0);
            assert_eq!(peak(&top, slot, Resource::Pd), 1);
        }
        // The pools entered before the table grew are in the last one.
        assert_eq!(leaf.pools.direct_len(), 1024);
        for slot in [0, 15, 16, 3] {
            assert!(leaf.pools.direct(slot).is_some());
        }
        assert!(leaf.pools.direct(1).is_none());
        Ok(())
    }

    #[test]
    fn hierarchy_every_ancestor_must_have_room() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let mid = cg(Some(&top), &n)?;
        let leaf = cg(Some(&mid), &n)?;
        let sib = cg(Some(&top), &n)?;
        top.set_limits(0, &limits(Resource::Mr, 3), None, None)?;
        leaf.set_limits(0, &limits(Resource::Mr, 10), None, None)?;
        assert!(leaf.try_charge(0, Resource::Mr, 2).is_ok());
        assert_eq!(usage(&mid, 0, Resource::Mr), 2);
        assert_eq!(usage(&top, 0, Resource::Mr), 2);
        assert!(sib.try_charge(0, Resource::Mr, 1).is_ok());
        // The top is full: the leaf is refused although its own limit has room.
        match leaf.try_charge(0, Resource::Mr, 1) {
            Err(Refused::Limit { over }) => assert!(core::ptr::eq(over, &*top)),
            _ => panic!("charge over the top's limit succeeded"),
        }
        // Nothing stayed charged at any level.
        assert_eq!(usage(&leaf, 0, Resource::Mr), 2);
        assert_eq!(usage(&mid, 0, Resource::Mr), 2);
        assert_eq!(usage(&top, 0, Resource::Mr), 3);
        assert_eq!(counter(&top, 0, Resource::Mr, |c| &c.ev_local_max), 1);
        assert_eq!(counter(&leaf, 0, Resource::Mr, |c| &c.ev_local_max), 0);
        assert_eq!(counter(&leaf, 0, Resource::Mr, |c| &c.ev_local_fail), 1);
        assert_eq!(counter(&mid, 0, Resource::Mr, |c| &c.ev_fail), 1);
        assert_eq!(counter(&mid, 0, Resource::Mr, |c| &c.ev_max), 0);
        // Lowering a limit below usage refuses later charges only.
        leaf.set_limits(0, &limits(Resource::Mr, 1), None, None)?;
        leaf.uncharge(0, Resource::Mr, 1);
        assert!(leaf.try_charge(0, Resource::Mr, 1).is_err());
        leaf.uncharge(0, Resource::Mr, 1);
        sib.uncharge(0, Resource::Mr, 1);
        assert_eq!(usage(&top, 0, Resource::Mr), 0);
        Ok(())
    }

    #[test]
    fn limits_zero_and_huge() -> Result {
        let n = Tree::new()?;
        let a = cg(None, &n)?;
        a.set_limits(0, &limits(Resource::Pd, 0), None, None)?;
        assert!(a.try_charge(0, Resource::Pd, 1).is_err());
        a.set_limits(0, &limits(Resource::MrBytes, MAX - 1), None, None)?;
        assert!(a.try_charge(0, Resource::MrBytes, MAX - 1).is_ok());
        assert!(a.try_charge(0, Resource::MrBytes, 1).is_err());
        // No wrap-around even with max unlimited.
        a.set_limits(0, &limits(Resource::MrBytes, MAX), None, None)?;
        assert!(a.try_charge(0, Resource::MrBytes, 2).is_err());
        assert_eq!(usage(&a, 0, Resource::MrBytes), MAX - 1);
        a.uncharge(0, Resource::MrBytes, MAX - 1);
        a.reset_limits();
        assert!(a.try_charge(0, Resource::Pd, 1).is_ok());
        a.uncharge(0, Resource::Pd, 1);
        Ok(())
    }

    #[test]
    fn huge_charges_are_refused_without_a_trace() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let a = cg(Some(&top), &n)?;
        let b = cg(Some(&top), &n)?;
        top.set_limits(0, &limits(Resource::MrBytes, 1 << 20), None, None)?;
        assert!(b.try_charge(0, Resource::MrBytes, 4096).is_ok());
        // Refused at the top, for any size, and nothing stays charged at any level; the
        // unlimited level below it does not wrap either.
        for huge in [MAX, MAX - 4095, 1 << 63, (1 << 20) - 4095] {
            assert!(matches!(
                a.try_charge(0, Resource::MrBytes, huge),
                Err(Refused::Limit { .. })
            ));
            assert_eq!(usage(&a, 0, Resource::MrBytes), 0);
            assert_eq!(usage(&top, 0, Resource::MrBytes), 4096);
        }
        // Exactly the room left is granted; one more byte is not.
        assert!(a.try_charge(0, Resource::MrBytes, (1 << 20) - 4096).is_ok());
        assert!(b.try_charge(0, Resource::MrBytes, 1).is_err());
        a.uncharge(0, Resource::MrBytes, (1 << 20) - 4096);
        b.uncharge(0, Resource::MrBytes, 4096);
        assert_eq!(usage(&top, 0, Resource::MrBytes), 0);
        assert_eq!(peak(&a, 0, Resource::MrBytes), (1 << 20) - 4096);
        assert_eq!(peak(&top, 0, Resource::MrBytes), 1 << 20);
        Ok(())
    }

    /// Runs `f` on a worker of the unbound workqueue (another CPU, if there is one); the
    /// returned completion is completed when `f` has returned.
    fn on_another_cpu(f: impl FnOnce() + Send + 'static) -> Result<Arc<Completion>> {
        let done = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        let wdone = done.clone();
        kernel::workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            f();
            wdone.complete_all();
        })?;
        Ok(done)
    }

    /// Rounds of each side of [`concurrent_huge_charges_leave_a_sibling_alone`].
    const ROUNDS: u64 = 20000;

    /// One cgroup charges absurd sizes on one CPU while its sibling charges and uncharges 4 KiB
    /// on the other, under a parent with room for 256 such charges: the sibling is never refused
    /// and no level's usage is ever seen above the parent's limit. With add-then-compare the
    /// absurd charge inflates (and wraps) the parent's usage for a moment, refusing the sibling
    /// or corrupting the count.
    #[test]
    fn concurrent_huge_charges_leave_a_sibling_alone() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let a = cg(Some(&top), &n)?;
        let b = cg(Some(&top), &n)?;
        top.set_limits(0, &limits(Resource::MrBytes, 1 << 20), None, None)?;
        let huge_ok = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
        let (wa, wok) = (a.clone(), huge_ok.clone());
        let done = on_another_cpu(move || {
            for i in 0..ROUNDS {
                let size = if i % 2 == 0 { MAX - 4095 } else { MAX };
                if wa.try_charge(0, Resource::MrBytes, size).is_ok() {
                    wok.fetch_add(1, Relaxed);
                    wa.uncharge(0, Resource::MrBytes, size);
                }
            }
        })?;
        let (mut refused, mut over) = (0u64, 0u64);
        for _ in 0..ROUNDS {
            match b.try_charge(0, Resource::MrBytes, 4096) {
                Ok(()) => b.uncharge(0, Resource::MrBytes, 4096),
                Err(_) => refused += 1,
            }
            if usage(&top, 0, Resource::MrBytes) > 1 << 20 {
                over += 1;
            }
        }
        done.wait_for_completion();
        assert_eq!(huge_ok.load(Relaxed), 0);
        assert_eq!(refused, 0);
        assert_eq!(over, 0);
        for c in [&top, &a, &b] {
            assert_eq!(usage(c, 0, Resource::MrBytes), 0);
        }
        assert!(peak(&top, 0, Resource::MrBytes) <= 1 << 20);
        Ok(())
    }

    /// The raw `usage` field of `r` on `slot` (what a charge writes at a counted level).
    fn written(c: &RdmaCgroup, slot: u32, r: Resource) -> u64 {
        counter(c, slot, r, |c| &c.usage)
    }

    /// Two containers under unlimited parents: no charge writes the parents' counters, whose
    /// usage is summed on read; the peak of such a level is the largest in its subtree.
    #[test]
    fn unlimited_levels_are_summed_on_read() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let pod = cg(Some(&top), &n)?;
        let a = cg(Some(&pod), &n)?;
        let b = cg(Some(&pod), &n)?;
        for _ in 0..3 {
            assert!(a.try_charge(0, Resource::Qp, 1).is_ok());
        }
        assert!(b.try_charge(0, Resource::Qp, 4).is_ok());
        assert!(pod.try_charge(0, Resource::Qp, 1).is_ok());
        for c in [&top, &pod] {
            assert_eq!(written(c, 0, Resource::Qp), 0);
        }
        assert_eq!(usage(&a, 0, Resource::Qp), 3);
        assert_eq!(usage(&pod, 0, Resource::Qp), 8);
        assert_eq!(usage(&top, 0, Resource::Qp), 8);
        assert_eq!(peak(&a, 0, Resource::Qp), 3);
        // The largest peak of the subtree (b's), a lower bound of the true 8.
        assert_eq!(peak(&top, 0, Resource::Qp), 4);
        a.uncharge(0, Resource::Qp, 3);
        b.uncharge(0, Resource::Qp, 4);
        pod.uncharge(0, Resource::Qp, 1);
        assert_eq!(usage(&top, 0, Resource::Qp), 0);
        Ok(())
    }

    /// A limit set on a level that has usage below it counts that usage from then on: exactly,
    /// above the limit too, and again after the limit was removed and set once more.
    #[test]
    fn a_new_limit_counts_what_is_charged() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let pod = cg(Some(&top), &n)?;
        let a = cg(Some(&pod), &n)?;
        let b = cg(Some(&pod), &n)?;
        assert!(a.try_charge(0, Resource::Mr, 3).is_ok());
        assert!(b.try_charge(0, Resource::Mr, 4).is_ok());
        pod.set_limits(0, &limits(Resource::Mr, 8), None, None)?;
        assert_eq!(written(&pod, 0, Resource::Mr), 7);
        assert_eq!(peak(&pod, 0, Resource::Mr), 7);
        assert!(a.try_charge(0, Resource::Mr, 1).is_ok());
        match b.try_charge(0, Resource::Mr, 1) {
            Err(Refused::Limit { over }) => assert!(ptr::eq(over, &*pod)),
            _ => panic!("charge over the new limit succeeded"),
        }
        assert_eq!(usage(&b, 0, Resource::Mr), 4);
        assert_eq!(written(&top, 0, Resource::Mr), 0);
        // Unlimited again: no longer written; the sum is read.
        pod.set_limits(0, &limits(Resource::Mr, MAX), None, None)?;
        a.uncharge(0, Resource::Mr, 4);
        assert_eq!(written(&pod, 0, Resource::Mr), 8);
        assert_eq!(usage(&pod, 0, Resource::Mr), 4);
        // A limit below the usage: counted from the usage, later charges refused.
        pod.set_limits(0, &limits(Resource::Mr, 2), None, None)?;
        assert_eq!(written(&pod, 0, Resource::Mr), 4);
        assert!(a.try_charge(0, Resource::Mr, 1).is_err());
        b.uncharge(0, Resource::Mr, 3);
        assert!(a.try_charge(0, Resource::Mr, 1).is_ok());
        a.uncharge(0, Resource::Mr, 1);
        b.uncharge(0, Resource::Mr, 1);
        assert_eq!(written(&pod, 0, Resource::Mr), 0);
        assert_eq!(usage(&top, 0, Resource::Mr), 0);
        Ok(())
    }

    /// Switches back and forth: rounds of the limit toggling.
    const SWITCHES: u32 = 60;

    /// A cgroup charges and uncharges on one CPU while its parent's limit is set and removed
    /// again and again on the other: when the parent ends up counted, its usage is exactly what
    /// is charged below it, and nothing underflows (which would warn).
    #[test]
    fn switches_racing_charges_stay_exact() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let pod = cg(Some(&top), &n)?;
        let a = cg(Some(&pod), &n)?;
        assert!(a.try_charge(0, Resource::Cq, 5).is_ok());
        let stop = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let (wa, wstop) = (a.clone(), stop.clone());
        let done = on_another_cpu(move || {
            while wstop.load(Relaxed) == 0 {
                for _ in 0..3 {
                    if wa.try_charge(0, Resource::Cq, 1).is_err() {
                        wstop.store(2, Relaxed);
                    }
                }
                wa.uncharge(0, Resource::Cq, 3);
            }
        })?;
        for i in 0..SWITCHES {
            let v = if i % 2 == 0 { 1 << 30 } else { MAX };
            pod.set_limits(0, &limits(Resource::Cq, v), None, None)?;
        }
        pod.set_limits(0, &limits(Resource::Cq, 1 << 30), None, None)?;
        for _ in 0..SWITCHES {
            // Counted values only (no switch): the usage stays the one maintained so far.
            pod.set_limits(0, &limits(Resource::Cq, 1 << 29), None, None)?;
        }
        let _ = stop.cmpxchg(0, 1, Relaxed);
        done.wait_for_completion();
        assert_eq!(stop.load(Relaxed), 1);
        assert_eq!(written(&pod, 0, Resource::Cq), 5);
        assert_eq!(usage(&top, 0, Resource::Cq), 5);
        a.uncharge(0, Resource::Cq, 5);
        assert_eq!(written(&pod, 0, Resource::Cq), 0);
        Ok(())
    }

    #[test]
    fn allowed_sets_intersect() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let leaf = cg(Some(&top), &n)?;
        assert_eq!(leaf.allowed(0, false) & 0xff, 0xff);
        top.set_limits(0, &[None; NR_RESOURCES], None, Some(0b0000_1111))?;
        leaf.set_limits(0, &[None; NR_RESOURCES], Some(0b11), Some(0b1000_0110))?;
        assert_eq!(leaf.allowed(0, false), 0b0110);
        assert_eq!(leaf.allowed(0, true), 0b11);
        assert_eq!(top.allowed(0, true) & 0xffff, 0xffff);
        Ok(())
    }

    fn denied(c: &RdmaCgroup, slot: u32, i: usize, local: bool) -> u64 {
        c.pool(slot).map_or(0, |p| {
            if local {
                p.ev_local_denied[i].load(Relaxed)
            } else {
                p.ev_denied[i].load(Relaxed)
            }
        })
    }

    #[test]
    fn prio_denied_and_in_use() -> Result {
        let n = Tree::new()?;
        let top = cg(None, &n)?;
        let leaf = cg(Some(&top), &n)?;
        assert_eq!(Prio::new(false, 8), None);
        assert_eq!(Prio::new(true, 16), None);
        assert_eq!(Prio::new(true, 15), Some(Prio::Sl(15)));
        top.set_limits(1, &[None; NR_RESOURCES], Some(0b1), Some(0b1001))?;
        // Allowed by both levels: counted in use at both.
        leaf.prio_use(1, Prio::Up(3))?;
        leaf.prio_use(1, Prio::Up(3))?;
        leaf.prio_use(1, Prio::Sl(0))?;
        let in_use = |c: &RdmaCgroup, ib| c.pool(1).map_or(0, |p| p.in_use(ib));
        assert_eq!(
            (in_use(&leaf, false), in_use(&top, false)),
            (0b1000, 0b1000)
        );
        assert_eq!(in_use(&leaf, true), 0b1);
        // Refused by the top: EPERM, nothing in use, events in the leaf and the top.
        assert_eq!(leaf.prio_use(1, Prio::Up(1)), Err(EPERM));
        assert_eq!(leaf.prio_check(1, Prio::Sl(2)), Err(EPERM));
        assert_eq!(in_use(&leaf, false), 0b1000);
        assert_eq!(denied(&leaf, 1, 1, true), 1);
        assert_eq!(denied(&leaf, 1, 0, true), 1);
        assert_eq!(denied(&top, 1, 1, false), 1);
        assert_eq!(denied(&top, 1, 1, true), 0);
        // Another slot is unrestricted.
        assert!(leaf.prio_check(2, Prio::Up(1)).is_ok());
        leaf.prio_unuse(1, Prio::Up(3));
        assert_eq!(in_use(&top, false), 0b1000);
        leaf.prio_unuse(1, Prio::Up(3));
        leaf.prio_unuse(1, Prio::Sl(0));
        assert_eq!(
            (
                in_use(&leaf, false),
                in_use(&top, false),
                in_use(&top, true)
            ),
            (0, 0, 0)
        );
        Ok(())
    }
}
