// SPDX-License-Identifier: GPL-2.0

//! KUnit suite for the source-GID policy of `rdma_ns` (`rdma_ns/policy.rs`, included here so
//! that the policy is tested without registering it with ib_core).

use kernel::prelude::*;

#[path = "../rdma_ns/policy.rs"]
#[allow(dead_code)]
mod policy;

module! {
    type: RdmaNsTest,
    name: "rdma_ns_test",
    authors: ["rdmaiso developers"],
    description: "KUnit tests of the rdma_ns policy",
    license: "GPL",
}

struct RdmaNsTest;

impl kernel::Module for RdmaNsTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(RdmaNsTest)
    }
}

#[kunit_tests(rdma_ns_policy)]
mod tests {
    use super::policy::{decide, decide_raw, gid_visible, GidOwner, Input, Mode, Verdict};

    const A: u64 = 11;
    const B: u64 = 22;

    fn user(owner: Option<u64>, gid: GidOwner) -> Input {
        Input {
            shared: true,
            user: true,
            owner,
            gid,
        }
    }

    #[test]
    fn own_gid_allowed_foreign_refused() {
        let e = Mode::Enforce;
        assert_eq!(
            decide(e, &user(Some(A), GidOwner::Netdev(A))),
            Verdict::Allow
        );
        assert_eq!(
            decide(e, &user(Some(A), GidOwner::Netdev(B))),
            Verdict::Deny
        );
        assert_eq!(
            decide(e, &user(Some(B), GidOwner::Netdev(A))),
            Verdict::Deny
        );
    }

    #[test]
    fn audit_allows_and_reports() {
        let a = Mode::Audit;
        assert_eq!(
            decide(a, &user(Some(A), GidOwner::Netdev(B))),
            Verdict::Audit
        );
        assert_eq!(
            decide(a, &user(Some(A), GidOwner::Netdev(A))),
            Verdict::Allow
        );
    }

    #[test]
    fn fail_closed() {
        let e = Mode::Enforce;
        // An entry whose owner cannot be read, or an object without an owner.
        assert_eq!(
            decide(e, &user(Some(A), GidOwner::Unreadable)),
            Verdict::Deny
        );
        assert_eq!(decide(e, &user(None, GidOwner::Netdev(A))), Verdict::Deny);
        assert_eq!(
            decide(Mode::Audit, &user(None, GidOwner::Unreadable)),
            Verdict::Audit
        );
    }

    #[test]
    fn not_applicable() {
        let e = Mode::Enforce;
        // InfiniBand entries have no netdev and no owner.
        assert_eq!(
            decide(e, &user(Some(A), GidOwner::NoNetdev)),
            Verdict::Allow
        );
        // Exclusive mode: the device is in one namespace.
        let mut i = user(Some(A), GidOwner::Netdev(B));
        i.shared = false;
        assert_eq!(decide(e, &i), Verdict::Allow);
        // Kernel objects: ULPs use rdma_cm, which checks the namespace itself.
        let mut i = user(None, GidOwner::Netdev(B));
        i.user = false;
        assert_eq!(decide(e, &i), Verdict::Allow);
    }

    #[test]
    fn raw_packet_qps() {
        let (e, a) = (Mode::Enforce, Mode::Audit);
        // deny_raw off: nothing changes, for anyone.
        assert_eq!(decide_raw(e, false, true, false), Verdict::Allow);
        // deny_raw on, shared mode: only the initial namespace.
        assert_eq!(decide_raw(e, true, true, true), Verdict::Allow);
        assert_eq!(decide_raw(e, true, true, false), Verdict::Deny);
        assert_eq!(decide_raw(a, true, true, false), Verdict::Audit);
        // Exclusive mode: the device is the namespace's own.
        assert_eq!(decide_raw(e, true, false, false), Verdict::Allow);
    }

    #[test]
    fn gid_view_is_the_source_gid_rule() {
        let (e, a) = (Mode::Enforce, Mode::Audit);
        let gids = [
            GidOwner::Netdev(A),
            GidOwner::Netdev(B),
            GidOwner::NoNetdev,
            GidOwner::Unreadable,
        ];
        // A container sees exactly what it may send from, in either mode.
        for gid in gids {
            for mode in [e, a] {
                let may_send = decide(mode, &user(Some(A), gid)) != Verdict::Deny;
                assert_eq!(gid_visible(mode, true, false, A, gid), may_send);
            }
        }
        assert!(gid_visible(e, true, false, A, GidOwner::Netdev(A)));
        assert!(!gid_visible(e, true, false, A, GidOwner::Netdev(B)));
        assert!(gid_visible(e, true, false, A, GidOwner::NoNetdev));
        assert!(!gid_visible(e, true, false, A, GidOwner::Unreadable));
        // Audit mode hides nothing, as it refuses nothing.
        assert!(gid_visible(a, true, false, A, GidOwner::Netdev(B)));
        // The initial namespace sees every entry; exclusive mode hides nothing.
        for gid in gids {
            assert!(gid_visible(e, true, true, B, gid));
            assert!(gid_visible(e, false, false, A, gid));
        }
    }
}
