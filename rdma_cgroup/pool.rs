// SPDX-License-Identifier: GPL-2.0

//! The counters of one cgroup for one device slot ([`Pool`]) and the hierarchical charge: one
//! pass up the links from a pool to its parent's, comparing before adding at every level that
//! has a limit.
//!
//! # Counted and uncounted levels
//!
//! A level without a limit on a resource does not count it (its counter's mode is
//! [`UNCOUNTED`]): a charge below it does not write it, so two containers under a common
//! unlimited parent share no written cache line. Every charge adds to [`Counter::own`] of the
//! charged cgroup, and the usage of an uncounted level is the sum of `own` over its subtree,
//! computed when read (`engine.rs`). Setting a limit on an uncounted level switches it to
//! [`COUNTED`] through [`SWITCHING`]: see `Documentation/design/rdma_cgroup-scaling.md` and
//! [`Pool::charge`].
//!
//! # Memory ordering
//!
//! The counters are `Relaxed` everywhere, as `page_counter.c` and `pids.c` keep theirs:
//!
//! - A limit holds because each level's usage changes only by a compare-and-exchange that checks
//!   the new value against the limit it read ([`Counter::add_within_max`]): every change of one
//!   counter is totally ordered (the atomicity of a read-modify-write, whatever its ordering), so
//!   no interleaving of chargers takes a level past the `max` they read. Nothing else is
//!   published through the counters: a charge does not make other memory visible to anyone.
//! - A write of `rdma.max` below the current usage is not a bug: the charge that read the old
//!   limit may complete, and later charges are refused until usage falls below the new limit
//!   (upstream's and `page_counter`'s rule; `rdma.max` writes are not ordered against charges
//!   in flight on other CPUs).
//! - Peaks and events are statistics read by `rdma.peak` and `rdma.events`; a reader may see a
//!   charge's usage before its peak. `rdma.current` is exact for a quiescent cgroup.
//! - Ordering matters in finding a pool (`engine.rs`) and in switching a level to counted: the
//!   sum is stored in `usage` before the mode is set to [`COUNTED`] with `Release`, and a charge
//!   reads the mode with `Acquire` before it reads `usage`.

use super::res::{
    Resource,
    NR_RESOURCES, //
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        counter,
        rcu,
        Arc, //
    },
};

/// The stored value of an unlimited `max`.
pub(crate) const MAX: u64 = u64::MAX;

/// [`Counter::mode`]: no limit; `usage` is not maintained (the level's usage is the sum of
/// `own` over its subtree).
pub(crate) const UNCOUNTED: u32 = 0;
/// [`Counter::mode`]: a limit is being set; charges wait until the level is [`COUNTED`].
pub(crate) const SWITCHING: u32 = 1;
/// [`Counter::mode`]: a limit is set; charges compare with it and add to `usage`.
pub(crate) const COUNTED: u32 = 2;

/// One resource's counters in one pool.
pub(crate) struct Counter {
    /// Usage of the cgroup and its descendants; maintained while the mode is [`COUNTED`] only.
    pub(crate) usage: Atomic<u64>,
    /// Units charged by this cgroup's own tasks (always maintained).
    pub(crate) own: Atomic<u64>,
    /// [`UNCOUNTED`], [`SWITCHING`] or [`COUNTED`]; changed only by writes of `rdma.max` (under
    /// the device table's mutex) and by resets.
    pub(crate) mode: Atomic<u32>,
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
            own: Atomic::new(0),
            mode: Atomic::new(UNCOUNTED),
            max: Atomic::new(MAX),
            peak: Atomic::new(0),
            ev_max: Atomic::new(0),
            ev_fail: Atomic::new(0),
            ev_local_max: Atomic::new(0),
            ev_local_fail: Atomic::new(0),
        }
    }

    /// Adds `n` to `usage` if the sum neither wraps nor exceeds `max`, and returns the sum;
    /// `None` leaves `usage` untouched.
    #[inline]
    fn add_within_max(&self, n: u64) -> Option<u64> {
        add_within(&self.usage, n, self.max.load(Relaxed))
    }

    /// Whether the mode is [`COUNTED`] (`Acquire`: `usage` is then the value the switch stored,
    /// or later).
    #[inline]
    pub(crate) fn counted(&self) -> bool {
        self.mode.load(Acquire) == COUNTED
    }

    /// Sets `max` to `v` and returns whether the level must now switch to counted: it was
    /// uncounted and `v` is a limit. The mode is then [`SWITCHING`] until
    /// [`Counter::finish_switch`]. A `v` of `max` makes the level uncounted at once.
    pub(crate) fn set_max(&self, v: u64) -> bool {
        self.max.store(v, Relaxed);
        if v == MAX {
            self.mode.store(UNCOUNTED, Relaxed);
            false
        } else if self.mode.load(Relaxed) == UNCOUNTED {
            self.mode.store(SWITCHING, Relaxed);
            true
        } else {
            false
        }
    }

    /// Ends a switch to counted once no charge can be writing with the old mode: `sum` is the
    /// sum of `own` over the subtree, read after that.
    pub(crate) fn finish_switch(&self, sum: u64) {
        self.usage.store(sum, Relaxed);
        self.raise_peak(sum);
        self.mode.store(COUNTED, Release);
    }

    /// No limit, uncounted.
    fn clear(&self) {
        self.max.store(MAX, Relaxed);
        self.mode.store(UNCOUNTED, Relaxed);
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

/// Adds `n` to `a` if the sum neither wraps nor exceeds `max`, and returns the sum; `None`
/// leaves `a` untouched.
#[inline]
fn add_within(a: &Atomic<u64>, n: u64, max: u64) -> Option<u64> {
    let mut old = a.load(Relaxed);
    loop {
        let new = old.checked_add(n).filter(|&new| new <= max)?;
        match a.cmpxchg(old, new, Relaxed) {
            Ok(_) => return Some(new),
            Err(seen) => old = seen,
        }
    }
}

/// Levels whose counters a charge keeps for raising their peaks without a second lookup.
pub(crate) const PEAK_LEVELS: usize = 8;

/// Why [`Pool::charge`] charged nothing.
pub(crate) enum NotCharged<'a> {
    /// A level of the chain is switching to counted: try again once it is.
    Switching,
    /// The level at this depth (0: the charged pool), this pool, is at its limit.
    Limit(usize, &'a Pool),
}

/// The counters of one cgroup for one device slot.
pub(crate) struct Pool {
    /// The pool of the same slot of the parent cgroup, if it is accounted.
    parent: Option<Arc<Pool>>,
    pub(crate) res: [Counter; NR_RESOURCES],
    /// Allowed Service Levels, bit n = SL n.
    pub(crate) sl: Atomic<u32>,
    /// Allowed User Priorities, bit n = UP n.
    pub(crate) up: Atomic<u32>,
    /// Objects of this cgroup or a descendant using SL n (index n) or UP n (index 16 + n).
    pub(crate) prio_use: [Atomic<u64>; NR_PRIOS],
    /// Refused uses of an SL (`[0]`) or UP (`[1]`) in this cgroup or a descendant.
    pub(crate) ev_denied: [Atomic<u64>; 2],
    /// Like `ev_denied`, for this cgroup's own requests only.
    pub(crate) ev_local_denied: [Atomic<u64>; 2],
}

/// Every Service Level allowed (the `sl` of a pool without an `sl=` limit).
pub(crate) const ALL_SL: u32 = 0xffff;
/// Every User Priority allowed.
pub(crate) const ALL_UP: u32 = 0xff;

/// Number of Service Levels (InfiniBand).
pub(crate) const NR_SL: u32 = 16;
/// Number of User Priorities (RoCE, 802.1p).
pub(crate) const NR_UP: u32 = 8;
pub(crate) const NR_PRIOS: usize = (NR_SL + NR_UP) as usize;

/// A Service Level (InfiniBand ports) or User Priority (RoCE ports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prio {
    /// Service Level, 0-15.
    Sl(u32),
    /// User Priority, 0-7.
    Up(u32),
}

impl Prio {
    /// The SL (`ib`) or UP `v`, if in range.
    pub(crate) fn new(ib: bool, v: u32) -> Option<Prio> {
        match ib {
            true if v < NR_SL => Some(Prio::Sl(v)),
            false if v < NR_UP => Some(Prio::Up(v)),
            _ => None,
        }
    }

    pub(crate) fn is_sl(self) -> bool {
        matches!(self, Prio::Sl(_))
    }

    /// The bit of this priority in an allowed-set mask.
    pub(crate) fn bit(self) -> u32 {
        match self {
            Prio::Sl(v) | Prio::Up(v) => 1 << v,
        }
    }

    /// The index of this priority's counter in [`Pool::prio_use`].
    pub(crate) fn use_index(self) -> usize {
        match self {
            Prio::Sl(v) => v as usize,
            Prio::Up(v) => (NR_SL + v) as usize,
        }
    }

    /// The index of this kind's counters in [`Pool::ev_denied`].
    pub(crate) fn event_index(self) -> usize {
        usize::from(!self.is_sl())
    }
}

impl Pool {
    /// A pool whose parent cgroup's pool of the same slot is `parent`.
    pub(crate) fn new(parent: Option<Arc<Pool>>) -> Self {
        Pool {
            parent,
            res: [const { Counter::new() }; NR_RESOURCES],
            sl: Atomic::new(ALL_SL),
            up: Atomic::new(ALL_UP),
            prio_use: [const { Atomic::new(0) }; NR_PRIOS],
            ev_denied: [const { Atomic::new(0) }; 2],
            ev_local_denied: [const { Atomic::new(0) }; 2],
        }
    }

    /// Sets every limit back to `max` (every level uncounted) and allows every priority.
    pub(crate) fn clear_limits(&self) {
        for c in self.res.iter() {
            c.clear();
        }
        self.sl.store(ALL_SL, Relaxed);
        self.up.store(ALL_UP, Relaxed);
    }

    /// The set of SLs (`ib`) or UPs in use, bit n = priority n.
    pub(crate) fn in_use(&self, ib: bool) -> u32 {
        let (first, n) = if ib { (0, NR_SL) } else { (NR_SL, NR_UP) };
        (0..n)
            .filter(|i| self.prio_use[(first + i) as usize].load(Relaxed) != 0)
            .fold(0, |m, i| m | 1 << i)
    }

    /// Returns the counters of resource `r`.
    pub(crate) fn get(&self, r: Resource) -> &Counter {
        &self.res[r as usize]
    }

    pub(crate) fn parent(&self) -> Option<&Pool> {
        self.parent.as_deref()
    }

    /// This pool and those of the same slot in every ancestor, bottom up.
    pub(crate) fn chain(&self) -> impl Iterator<Item = &Pool> {
        core::iter::successors(Some(self), |p| p.parent())
    }

    /// Charges `n` units of `r`: `usage` of every counted level, bottom up, comparing with the
    /// level's limit before adding (a `cmpxchg` loop), so that no level's usage is above its
    /// limit or wrapped, not even for an instant, whatever `n`; then `own` of this pool. On a
    /// refusal it takes back what it added and returns the level at its limit (`own` refuses
    /// only a wrap, as this pool's level). Peaks are raised once every level took the charge,
    /// from the values the walk kept (counted levels past [`PEAK_LEVELS`] read theirs again).
    ///
    /// The walk is one RCU read-side section, and if it meets a level switching to counted it
    /// takes back what it added and returns before it writes `own`: a switch waits for a grace
    /// period after marking its level, then sums `own` over the level's subtree (see
    /// `Documentation/design/rdma_cgroup-scaling.md`), so `own` must not change below a
    /// switching level once the grace period has passed.
    pub(crate) fn charge(&self, r: Resource, n: u64) -> Result<(), NotCharged<'_>> {
        let _rcu = rcu::read_lock();
        // The counted levels charged, in order, and their new usage (the first few).
        let mut charged: [Option<(&Counter, u64)>; PEAK_LEVELS] = [None; PEAK_LEVELS];
        let mut nr_charged = 0;
        let mut deep = false;
        for (depth, p) in self.chain().enumerate() {
            let c = p.get(r);
            match c.mode.load(Acquire) {
                COUNTED => {}
                SWITCHING => {
                    self.uncharge_counted(r, n, depth);
                    return Err(NotCharged::Switching);
                }
                _ => continue,
            }
            match c.add_within_max(n) {
                Some(new) => match charged.get_mut(nr_charged) {
                    Some(entry) => {
                        *entry = Some((c, new));
                        nr_charged += 1;
                    }
                    None => deep = true,
                },
                None => {
                    self.uncharge_counted(r, n, depth);
                    return Err(NotCharged::Limit(depth, p));
                }
            }
        }
        let own = self.get(r);
        let Some(own_new) = add_within(&own.own, n, MAX) else {
            self.uncharge_counted(r, n, usize::MAX);
            return Err(NotCharged::Limit(0, self));
        };
        own.raise_peak(own_new);
        for (c, new) in charged.iter().take(nr_charged).flatten() {
            c.raise_peak(*new);
        }
        if deep {
            // Past the first PEAK_LEVELS counted levels: read their usage again.
            for c in self
                .chain()
                .map(|p| p.get(r))
                .filter(|c| c.counted())
                .skip(PEAK_LEVELS)
            {
                c.raise_peak(c.usage.load(Relaxed));
            }
        }
        Ok(())
    }

    /// Takes `n` units of `r` back from the counted levels among the lowest `levels`. A level
    /// that a charge added to and that is no longer counted is skipped: its `usage` is not read,
    /// and a switch back to counted recomputes it.
    fn uncharge_counted(&self, r: Resource, n: u64, levels: usize) {
        for p in self.chain().take(levels) {
            let c = p.get(r);
            if c.counted() {
                counter::release(&c.usage, n, r.name());
            }
        }
    }

    /// Returns `n` units of `r` charged to this pool by [`Pool::charge`]; `false` (nothing done)
    /// if a level is switching to counted: try again once it is.
    pub(crate) fn uncharge(&self, r: Resource, n: u64) -> bool {
        let _rcu = rcu::read_lock();
        let mut counted = false;
        for p in self.chain() {
            match p.get(r).mode.load(Acquire) {
                SWITCHING => return false,
                COUNTED => counted = true,
                _ => {}
            }
        }
        if counted {
            self.uncharge_counted(r, n, usize::MAX);
        }
        counter::release(&self.get(r).own, n, r.name());
        true
    }
}
