// SPDX-License-Identifier: GPL-2.0

//! Which accounting slot a registering device gets: pure, so that KUnit can check it.
//!
//! A slot is a device's accounting identity: the pools of every cgroup are indexed by it. When a
//! device unregisters, its slot keeps the limits written for it, for the next device of the same
//! name *in the same network namespace* (a device re-created by `rdma link del` / `add`). Other
//! devices never inherit them: in exclusive netns mode several namespaces may each have a device
//! of one name. A slot whose device left no limit behind is reused at once; at most
//! [`KEPT_MAX`] slots keep limits of devices that went away, the oldest forgotten first, so that
//! the slots in use never exceed the devices registered plus [`KEPT_MAX`].

use kernel::prelude::*;

/// How many unregistered devices' limits are kept at most.
pub(crate) const KEPT_MAX: usize = 64;

/// What the choice needs to know of a slot.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    /// A device is registered on the slot.
    pub(crate) live: bool,
    /// The name of the device that unregistered last (empty if unknown).
    pub(crate) name: &'a [u8],
    /// The network namespace (cookie) that device was in when it unregistered.
    pub(crate) net: u64,
    /// A limit was written for the slot since it was last (re)assigned.
    pub(crate) limited: bool,
    /// When the device unregistered (larger: later).
    pub(crate) seq: u64,
}

/// Where a registering device goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The slot of the device's previous incarnation, with its limits.
    Keep(usize),
    /// A slot to reset to defaults in every cgroup first.
    Reclaim(usize),
    /// A new slot at the end.
    New,
}

/// Chooses the slot of a device named `name` registering in the network namespace `net`, among
/// `slots` (in slot order).
pub(crate) fn choose<'a, I>(slots: I, name: &[u8], net: u64) -> Choice
where
    I: Iterator<Item = View<'a>> + Clone,
{
    let dead = || slots.clone().enumerate().filter(|(_, s)| !s.live);
    let same = |s: &View<'_>| !name.is_empty() && s.name == name && s.net == net;
    if let Some((i, _)) = dead().find(|(_, s)| same(s)) {
        return Choice::Keep(i);
    }
    if let Some((i, _)) = dead().find(|(_, s)| !s.limited) {
        return Choice::Reclaim(i);
    }
    if dead().count() >= KEPT_MAX {
        if let Some((i, _)) = dead().min_by_key(|(_, s)| s.seq) {
            return Choice::Reclaim(i);
        }
    }
    Choice::New
}

#[kunit_tests(rdma_cgroup_slots)]
mod tests {
    use super::*;

    fn dead<'a>(name: &'a [u8], net: u64, limited: bool, seq: u64) -> View<'a> {
        View {
            live: false,
            name,
            net,
            limited,
            seq,
        }
    }

    const LIVE: View<'static> = View {
        live: true,
        name: b"",
        net: 0,
        limited: true,
        seq: 0,
    };

    #[test]
    fn same_name_same_netns_keeps_its_limits() {
        let s = [LIVE, dead(b"rxe0", 1, true, 1), dead(b"rxe0", 2, true, 2)];
        assert_eq!(choose(s.iter().copied(), b"rxe0", 2), Choice::Keep(2));
        assert_eq!(choose(s.iter().copied(), b"rxe0", 1), Choice::Keep(1));
        // The same name in a third namespace inherits neither.
        assert_eq!(choose(s.iter().copied(), b"rxe0", 3), Choice::New);
        // A live slot is never taken, whatever it holds.
        let s = [View {
            live: true,
            name: b"rxe0",
            net: 1,
            limited: false,
            seq: 0,
        }];
        assert_eq!(choose(s.iter().copied(), b"rxe0", 1), Choice::New);
    }

    #[test]
    fn slots_without_limits_are_reused() {
        let s = [dead(b"a", 1, true, 1), dead(b"b", 1, false, 2), LIVE];
        assert_eq!(choose(s.iter().copied(), b"c", 1), Choice::Reclaim(1));
        // An unknown name (the name was not saved) never matches.
        let s = [dead(b"", 1, true, 1)];
        assert_eq!(choose(s.iter().copied(), b"", 1), Choice::New);
    }

    #[test]
    fn kept_limits_are_bounded() -> Result {
        let mut s = KVec::new();
        for i in 0..KEPT_MAX as u64 - 1 {
            // Unregistered in a scrambled order; seq 7 is the oldest.
            s.push(dead(b"x", 1, true, (i * 37) % 101 + 7), GFP_KERNEL)?;
        }
        s.push(LIVE, GFP_KERNEL)?;
        assert_eq!(choose(s.iter().copied(), b"y", 1), Choice::New);
        s.push(dead(b"x", 1, true, 1000), GFP_KERNEL)?;
        // KEPT_MAX kept: the oldest goes.
        assert_eq!(choose(s.iter().copied(), b"y", 1), Choice::Reclaim(0));
        // Its own name still finds its own slot first.
        assert_eq!(choose(s.iter().copied(), b"x", 1), Choice::Keep(0));
        Ok(())
    }
}
