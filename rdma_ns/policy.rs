// SPDX-License-Identifier: GPL-2.0

//! The source-GID policy of `rdma_ns`: pure, without kernel state, so that KUnit can check every
//! rule (`tests/kunit/rdma_ns_test.rs` includes this file).

/// What the module does with a cross-namespace source GID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Refuse it.
    Enforce,
    /// Log it and let it through.
    Audit,
}

/// The owner of a GID table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GidOwner {
    /// A netdev in the namespace with this cookie (RoCE).
    Netdev(u64),
    /// No netdev (InfiniBand, OPA): no namespace owns the entry.
    NoNetdev,
    /// The entry or its netdev is going away: its owner cannot be told.
    Unreadable,
}

/// One source-GID check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Input {
    /// ib_core's shared netns mode (`netns_mode=1`); exclusive mode isolates whole devices.
    pub(crate) shared: bool,
    /// The object was created from user space.
    pub(crate) user: bool,
    /// Cookie of the namespace that owns the object, if known.
    pub(crate) owner: Option<u64>,
    /// The GID entry's owner.
    pub(crate) gid: GidOwner,
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The object may use the GID.
    Allow,
    /// Refused.
    Deny,
    /// Would be refused; allowed and logged (audit mode).
    Audit,
}

/// Decides whether an object may send from a GID, by these rules, in order:
///
/// 1. exclusive mode: allow (the device lives in one namespace already);
/// 2. kernel objects: allow (ULPs choose GIDs through rdma_cm, which checks the namespace);
/// 3. entries without a netdev (InfiniBand): allow (nothing to compare);
/// 4. an entry whose netdev is in the owner's namespace: allow;
/// 5. anything else, including an unknown owner or an unreadable entry: refuse (fail closed),
///    or only log in audit mode.
pub(crate) fn decide(mode: Mode, i: &Input) -> Verdict {
    let allowed = !i.shared
        || !i.user
        || match i.gid {
            GidOwner::NoNetdev => true,
            GidOwner::Netdev(c) => i.owner == Some(c),
            GidOwner::Unreadable => false,
        };
    match (allowed, mode) {
        (true, _) => Verdict::Allow,
        (false, Mode::Enforce) => Verdict::Deny,
        (false, Mode::Audit) => Verdict::Audit,
    }
}

/// Decides whether a task of a namespace sees a GID table entry (the GID view): it sees exactly
/// the entries that [`decide`] would not refuse to a user object of its namespace, so the entries
/// a container lists are those it may send from. The initial namespace (`initial`) sees every
/// entry, as without the module: the host's administrator and its tools.
pub(crate) fn gid_visible(
    mode: Mode,
    shared: bool,
    initial: bool,
    viewer: u64,
    gid: GidOwner,
) -> bool {
    let i = Input {
        shared,
        user: true,
        owner: Some(viewer),
        gid,
    };
    initial || decide(mode, &i) != Verdict::Deny
}

/// Decides whether a task may create a raw packet QP (which sends and receives whole Ethernet
/// frames, past any GID or priority check), by these rules, in order:
///
/// 1. the `deny_raw` parameter is off: allow (the kernel's own `CAP_NET_RAW` check stands);
/// 2. exclusive mode: allow (the device lives in the task's namespace already);
/// 3. a task of the initial namespace: allow;
/// 4. anything else: refuse, or only log in audit mode.
pub(crate) fn decide_raw(mode: Mode, deny_raw: bool, shared: bool, initial: bool) -> Verdict {
    match (!deny_raw || !shared || initial, mode) {
        (true, _) => Verdict::Allow,
        (false, Mode::Enforce) => Verdict::Deny,
        (false, Mode::Audit) => Verdict::Audit,
    }
}
