// SPDX-License-Identifier: GPL-2.0

//! The accounting engine: per-(cgroup, device slot) pools of atomic counters, charged
//! hierarchically without a lock, in the style of `mm/page_counter.c`.
//!
//! Pools are created on first use and live until their cgroup is freed, so a pool found under
//! RCU stays valid for as long as the cgroup does; every charged object pins its cgroup.

use super::res::{Resource, NR_RESOURCES};
use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    sync::rcu,
    xarray::{AllocKind, XArray},
};

/// The stored value of an unlimited `max`.
pub(crate) const MAX: u64 = u64::MAX;

/// One resource's counters in one pool.
pub(crate) struct Counter {
    pub(crate) usage: Atomic<u64>,
    pub(crate) max: Atomic<u64>,
    pub(crate) peak: Atomic<u64>,
    /// Charges refused because this cgroup or a descendant was at its limit (hierarchical).
    pub(crate) ev_max: Atomic<u64>,
    /// Charges refused in this cgroup or a descendant (hierarchical).
    pub(crate) ev_fail: Atomic<u64>,
    /// Like `ev_max`, for this cgroup's own limit only.
    pub(crate) ev_local_max: Atomic<u64>,
    /// Like `ev_fail`, for charges requested by this cgroup's own tasks only.
    pub(crate) ev_local_fail: Atomic<u64>,
}

impl Counter {
    const fn new() -> Self {
        Counter {
            usage: Atomic::new(0),
            max: Atomic::new(MAX),
            peak: Atomic::new(0),
            ev_max: Atomic::new(0),
            ev_fail: Atomic::new(0),
            ev_local_max: Atomic::new(0),
            ev_local_fail: Atomic::new(0),
        }
    }

    /// Raises `peak` to at least `v`.
    fn raise_peak(&self, v: u64) {
        let mut cur = self.peak.load(Relaxed);
        while v > cur {
            match self.peak.cmpxchg(cur, v, Relaxed) {
                Ok(_) => break,
                Err(seen) => cur = seen,
            }
        }
    }
}

/// The counters of one cgroup for one device slot.
pub(crate) struct Pool {
    pub(crate) res: [Counter; NR_RESOURCES],
    /// Allowed Service Levels, bit n = SL n.
    pub(crate) sl: Atomic<u32>,
    /// Allowed User Priorities, bit n = UP n.
    pub(crate) up: Atomic<u32>,
}

impl Pool {
    fn new() -> Self {
        Pool {
            res: [const { Counter::new() }; NR_RESOURCES],
            sl: Atomic::new(0xffff),
            up: Atomic::new(0xff),
        }
    }

    /// Returns the counters of resource `r`.
    pub(crate) fn get(&self, r: Resource) -> &Counter {
        &self.res[r as usize]
    }
}

/// Why a charge was refused.
pub(crate) enum Refused<'a> {
    /// No memory for a pool.
    NoMem,
    /// `over` (the charged cgroup or an ancestor) is at its limit.
    Limit { over: &'a Cg },
}

/// What a charge needs to know of the cgroup hierarchy; implemented by the FFI layer.
pub(crate) trait Hierarchy {
    /// The parent, or `None` at the top of the accounted hierarchy (a child of the root).
    fn parent(&self) -> Option<&Cg>;
    /// Tells user space that `rdma.events` (and, if `local`, `rdma.events.local`) changed.
    fn notify_events(&self, local: bool);
}

/// The controller's state of one cgroup.
#[pin_data]
pub(crate) struct Cg {
    #[pin]
    pools: XArray<KBox<Pool>>,
    pub(crate) hier: Option<KBox<dyn Hierarchy + Send + Sync>>,
}

enum Walk<'a> {
    Missing(&'a Cg),
    Over(&'a Cg),
}

impl Cg {
    /// A new cgroup state; `hier` is `None` for a detached state (KUnit).
    pub(crate) fn new(
        hier: Option<KBox<dyn Hierarchy + Send + Sync>>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Cg {
            pools <- XArray::new(AllocKind::Alloc),
            hier,
        })
    }

    fn parent(&self) -> Option<&Cg> {
        self.hier.as_ref().and_then(|h| h.parent())
    }

    fn levels(&self) -> impl Iterator<Item = &Cg> {
        core::iter::successors(Some(self), |cg| cg.parent())
    }

    /// The pool of `slot`, if it exists.
    pub(crate) fn pool<'a>(&'a self, slot: u32, rcu: &'a rcu::Guard) -> Option<&'a Pool> {
        // SAFETY: Pools are removed from `pools` only when it is dropped with `self`, so a pool
        // borrowed for `'a` (no longer than `&'a self`) stays valid.
        unsafe { self.pools.load_rcu(slot as usize, rcu) }.map(|p| &*p)
    }

    /// The pool of `slot`, created if needed. May sleep.
    pub(crate) fn pool_or_create(&self, slot: u32) -> Result<(), Error> {
        {
            let rcu = rcu::read_lock();
            if self.pool(slot, &rcu).is_some() {
                return Ok(());
            }
        }
        let new = KBox::new(Pool::new(), GFP_KERNEL)?;
        match self.pools.lock().insert(slot as usize, new, GFP_KERNEL) {
            Ok(()) => Ok(()),
            // Another charger created it meanwhile: use theirs.
            Err(e) if e.error == EBUSY => Ok(()),
            Err(e) => Err(e.error),
        }
    }

    fn walk_charge<'a>(
        &'a self,
        slot: u32,
        r: Resource,
        n: u64,
        rcu: &rcu::Guard,
    ) -> Result<(), Walk<'a>> {
        // Every level's pool must exist before anything is charged, so that a refusal can
        // record its events all the way up.
        for cg in self.levels() {
            if cg.pool(slot, rcu).is_none() {
                return Err(Walk::Missing(cg));
            }
        }
        for cg in self.levels() {
            let c = cg.pool(slot, rcu).ok_or(Walk::Missing(cg))?.get(r);
            let old = c.usage.fetch_add(n, Relaxed);
            let new = old.checked_add(n);
            if new.is_none_or(|v| v > c.max.load(Relaxed)) {
                c.usage.fetch_sub(n, Relaxed);
                self.walk_uncharge(slot, r, n, rcu, Some(cg));
                return Err(Walk::Over(cg));
            }
        }
        for cg in self.levels() {
            if let Some(p) = cg.pool(slot, rcu) {
                let c = p.get(r);
                c.raise_peak(c.usage.load(Relaxed));
            }
        }
        Ok(())
    }

    fn walk_uncharge(&self, slot: u32, r: Resource, n: u64, rcu: &rcu::Guard, stop: Option<&Cg>) {
        for cg in self.levels() {
            if stop.is_some_and(|s| core::ptr::eq(s, cg)) {
                break;
            }
            let Some(p) = cg.pool(slot, rcu) else {
                // A charged level always has a pool: pools outlive every charge.
                kernel::warn_on!(true);
                continue;
            };
            let old = p.get(r).usage.fetch_sub(n, Relaxed);
            if old < n {
                // Unbalanced uncharge: clamp at zero and complain once.
                p.get(r).usage.fetch_add(n - old, Relaxed);
                kernel::warn_on!(true);
            }
        }
    }

    /// Charges `n` units of `r` on `slot` to this cgroup and every ancestor, or nothing.
    pub(crate) fn try_charge(&self, slot: u32, r: Resource, n: u64) -> Result<(), Refused<'_>> {
        loop {
            let walk = {
                let rcu = rcu::read_lock();
                self.walk_charge(slot, r, n, &rcu)
            };
            match walk {
                Ok(()) => return Ok(()),
                Err(Walk::Missing(cg)) => cg.pool_or_create(slot).map_err(|_| Refused::NoMem)?,
                Err(Walk::Over(over)) => {
                    self.record_refusal(over, slot, r);
                    return Err(Refused::Limit { over });
                }
            }
        }
    }

    /// Returns `n` units of `r` on `slot` charged earlier by [`Cg::try_charge`].
    pub(crate) fn uncharge(&self, slot: u32, r: Resource, n: u64) {
        let rcu = rcu::read_lock();
        self.walk_uncharge(slot, r, n, &rcu, None);
    }

    fn record_refusal(&self, over: &Cg, slot: u32, r: Resource) {
        {
            let rcu = rcu::read_lock();
            if let Some(p) = self.pool(slot, &rcu) {
                p.get(r).ev_local_fail.fetch_add(1, Relaxed);
            }
            if let Some(p) = over.pool(slot, &rcu) {
                p.get(r).ev_local_max.fetch_add(1, Relaxed);
            }
            for cg in over.levels() {
                if let Some(p) = cg.pool(slot, &rcu) {
                    p.get(r).ev_max.fetch_add(1, Relaxed);
                }
            }
            for cg in self.levels() {
                if let Some(p) = cg.pool(slot, &rcu) {
                    p.get(r).ev_fail.fetch_add(1, Relaxed);
                }
            }
        }
        for cg in self.levels() {
            if let Some(h) = &cg.hier {
                let local = core::ptr::eq(cg, self) || core::ptr::eq(cg, over);
                h.notify_events(local);
            }
        }
    }

    /// Sets limits and allowed sets on `slot`. Fails only with `ENOMEM`, changing nothing.
    pub(crate) fn set_limits(
        &self,
        slot: u32,
        limits: &[Option<u64>; NR_RESOURCES],
        sl: Option<u16>,
        up: Option<u8>,
    ) -> Result {
        self.pool_or_create(slot)?;
        let rcu = rcu::read_lock();
        let p = self.pool(slot, &rcu).ok_or(ENOMEM)?;
        for (c, l) in p.res.iter().zip(limits) {
            if let Some(v) = l {
                c.max.store(*v, Relaxed);
            }
        }
        if let Some(sl) = sl {
            p.sl.store(u32::from(sl), Relaxed);
        }
        if let Some(up) = up {
            p.up.store(u32::from(up), Relaxed);
        }
        Ok(())
    }

    /// Sets every limit of every pool back to `max` (the cgroup goes offline and must drain).
    pub(crate) fn reset_limits(&self) {
        let mut slot = 0u32;
        let rcu = rcu::read_lock();
        // SAFETY: As in `Cg::pool`: pools are never removed while `self` lives.
        while let Some((s, p)) = unsafe { self.pools.find_rcu(slot as usize, &rcu) } {
            for c in p.res.iter() {
                c.max.store(MAX, Relaxed);
            }
            p.sl.store(0xffff, Relaxed);
            p.up.store(0xff, Relaxed);
            slot = match u32::try_from(s).ok().and_then(|s| s.checked_add(1)) {
                Some(s) => s,
                None => break,
            };
        }
    }

    /// The SLs (`ib == true`) or UPs allowed on `slot`: the intersection over the hierarchy.
    pub(crate) fn allowed(&self, slot: u32, ib: bool) -> u32 {
        let rcu = rcu::read_lock();
        self.levels()
            .filter_map(|cg| cg.pool(slot, &rcu))
            .fold(u32::MAX, |m, p| {
                m & if ib {
                    p.sl.load(Relaxed)
                } else {
                    p.up.load(Relaxed)
                }
            })
    }
}

#[kunit_tests(rdma_cgroup_engine)]
mod tests {
    use super::*;
    use kernel::sync::Arc;

    /// A test hierarchy: a parent link and a count of notifications.
    struct TestHier {
        parent: Option<Arc<Pin<KBox<Cg>>>>,
        notified: Arc<Atomic<u64>>,
    }

    impl Hierarchy for TestHier {
        fn parent(&self) -> Option<&Cg> {
            self.parent.as_ref().map(|p| &***p)
        }
        fn notify_events(&self, _local: bool) {
            self.notified.fetch_add(1, Relaxed);
        }
    }

    fn cg(parent: Option<&Arc<Pin<KBox<Cg>>>>, n: &Arc<Atomic<u64>>) -> Result<Arc<Pin<KBox<Cg>>>> {
        let hier: KBox<dyn Hierarchy + Send + Sync> = KBox::new(
            TestHier {
                parent: parent.cloned(),
                notified: n.clone(),
            },
            GFP_KERNEL,
        )?;
        Ok(Arc::new(
            KBox::pin_init(Cg::new(Some(hier)), GFP_KERNEL)?,
            GFP_KERNEL,
        )?)
    }

    fn usage(c: &Cg, slot: u32, r: Resource) -> u64 {
        let rcu = rcu::read_lock();
        c.pool(slot, &rcu)
            .map_or(0, |p| p.get(r).usage.load(Relaxed))
    }

    fn counter(c: &Cg, slot: u32, r: Resource, f: fn(&Counter) -> &Atomic<u64>) -> u64 {
        let rcu = rcu::read_lock();
        c.pool(slot, &rcu).map_or(0, |p| f(p.get(r)).load(Relaxed))
    }

    fn limits(r: Resource, v: u64) -> [Option<u64>; NR_RESOURCES] {
        let mut l = [None; NR_RESOURCES];
        l[r as usize] = Some(v);
        l
    }

    #[test]
    fn charge_up_to_limit() -> Result {
        let n = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
        let a = cg(None, &n)?;
        a.set_limits(0, &limits(Resource::Qp, 2), None, None)?;
        assert!(a.try_charge(0, Resource::Qp, 1).is_ok());
        assert!(a.try_charge(0, Resource::Qp, 1).is_ok());
        assert!(matches!(
            a.try_charge(0, Resource::Qp, 1),
            Err(Refused::Limit { .. })
        ));
        assert_eq!(usage(&a, 0, Resource::Qp), 2);
        assert_eq!(counter(&a, 0, Resource::Qp, |c| &c.peak), 2);
        assert_eq!(counter(&a, 0, Resource::Qp, |c| &c.ev_max), 1);
        assert_eq!(counter(&a, 0, Resource::Qp, |c| &c.ev_local_fail), 1);
        assert_eq!(n.load(Relaxed), 1);
        // Other resources and slots are independent.
        assert!(a.try_charge(0, Resource::Cq, 100).is_ok());
        assert!(a.try_charge(1, Resource::Qp, 5).is_ok());
        a.uncharge(0, Resource::Qp, 1);
        assert!(a.try_charge(0, Resource::Qp, 1).is_ok());
        a.uncharge(0, Resource::Qp, 2);
        assert_eq!(usage(&a, 0, Resource::Qp), 0);
        assert_eq!(counter(&a, 0, Resource::Qp, |c| &c.peak), 2);
        Ok(())
    }

    #[test]
    fn hierarchy_every_ancestor_must_have_room() -> Result {
        let n = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
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
            Err(Refused::Limit { over }) => assert!(core::ptr::eq(over, &**top)),
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
        let n = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
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
    fn allowed_sets_intersect() -> Result {
        let n = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
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
}
