// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for the port-space policy of `cm_portspace`: its pure parts
//! (`cm_portspace/{ephemeral,privilege,listing}.rs`, included here) are tested without setting
//! the policy in rdma_cm.

use kernel::prelude::*;

#[path = "../cm_portspace/ephemeral.rs"]
mod ephemeral;
#[path = "../cm_portspace/listing.rs"]
#[allow(dead_code)]
mod listing;
#[path = "../cm_portspace/privilege.rs"]
mod privilege;

module! {
    type: CmPortspaceTest,
    name: "cm_portspace_test",
    authors: ["rdmaiso developers"],
    description: "KUnit tests of the cm_portspace engine",
    license: "GPL",
}

struct CmPortspaceTest;

impl kernel::Module for CmPortspaceTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(CmPortspaceTest)
    }
}

#[kunit_tests(cm_portspace_ephemeral)]
mod ephemeral_tests {
    use super::ephemeral::bind_any;
    use core::ops::RangeInclusive;
    use kernel::prelude::*;

    /// `bind_any` over `range` from `start`, nothing skipped, each port tried answered by
    /// `answer`: the result and how many ports were tried.
    fn counted(
        range: RangeInclusive<u16>,
        start: u16,
        last: &mut u16,
        answer: impl Fn(u16) -> Result,
    ) -> (Result<u16>, u32) {
        let mut tried = 0;
        let r = bind_any(
            range,
            start,
            last,
            |_| false,
            |p| {
                tried += 1;
                answer(p)
            },
        );
        (r, tried)
    }

    #[test]
    fn starts_at_start_and_records_it() {
        let mut last = 0;
        assert_eq!(counted(100..=109, 104, &mut last, |_| Ok(())), (Ok(104), 1));
        assert_eq!(last, 104);
    }

    #[test]
    fn skips_last_used_and_skipped_ports() {
        let mut last = 104;
        assert_eq!(counted(100..=109, 104, &mut last, |_| Ok(())), (Ok(105), 1));
        let mut last = 0;
        let r = bind_any(
            100..=109,
            104,
            &mut last,
            |p| p == 104 || p == 105,
            |_| Ok(()),
        );
        assert_eq!(r, Ok(106));
        assert_eq!(last, 106);
    }

    #[test]
    fn wraps_from_high_to_low() {
        let mut last = 0;
        // 108 and 109 are taken: the next free one is the low end.
        let taken = |p| if p >= 108 { Err(EADDRNOTAVAIL) } else { Ok(()) };
        assert_eq!(counted(100..=109, 108, &mut last, taken), (Ok(100), 3));
        // A start outside the range starts at the low end.
        let mut last = 0;
        assert_eq!(counted(100..=109, 7, &mut last, |_| Ok(())), (Ok(100), 1));
    }

    #[test]
    fn full_range_fails_after_exactly_len_tries() {
        let mut last = 0;
        let full = |_| Err(EADDRNOTAVAIL);
        assert_eq!(
            counted(100..=109, 103, &mut last, full),
            (Err(EADDRNOTAVAIL), 10)
        );
        assert_eq!(last, 0);
        // The whole u16 range: no overflow of the count.
        assert_eq!(
            counted(1..=65535, 65535, &mut last, full),
            (Err(EADDRNOTAVAIL), 65535)
        );
    }

    #[test]
    fn one_port_range_quirk() {
        // As upstream: the only port of the range was the last one used.
        let mut last = 5;
        assert_eq!(
            counted(5..=5, 5, &mut last, |_| Ok(())),
            (Err(EADDRNOTAVAIL), 0)
        );
    }

    #[test]
    fn other_errors_stop_the_walk() {
        let mut last = 42;
        assert_eq!(
            counted(100..=109, 100, &mut last, |_| Err(ENOMEM)),
            (Err(ENOMEM), 1)
        );
        assert_eq!(last, 42);
    }

    #[test]
    fn two_namespaces_are_independent() {
        // Each namespace keeps its own last used port: a port handed out in one is not skipped
        // in the other (upstream shares one for all).
        let (mut a, mut b) = (0, 0);
        assert_eq!(counted(100..=109, 105, &mut a, |_| Ok(())), (Ok(105), 1));
        assert_eq!(counted(100..=109, 105, &mut b, |_| Ok(())), (Ok(105), 1));
        assert_eq!((a, b), (105, 105));
    }
}

#[kunit_tests(cm_portspace_privilege)]
mod privilege_tests {
    use super::privilege::bind_check;
    use kernel::prelude::*;

    #[test]
    fn below_start_needs_the_capability() {
        assert_eq!(bind_check(399, 400, || false), Err(EACCES));
        assert_eq!(bind_check(399, 400, || true), Ok(()));
        assert_eq!(bind_check(1023, 1024, || false), Err(EACCES));
    }

    #[test]
    fn capability_asked_only_when_needed() {
        let mut asked = false;
        assert_eq!(
            bind_check(400, 400, || {
                asked = true;
                false
            }),
            Ok(())
        );
        assert!(!asked);
        // ip_unprivileged_port_start = 0: nothing is privileged.
        assert_eq!(bind_check(1, 0, || false), Ok(()));
        assert_eq!(bind_check(65535, 65536, || false), Err(EACCES));
    }
}

#[kunit_tests(cm_portspace_listing)]
mod listing_tests {
    use super::listing::{sanitize_comm, state_name, State, SPACES};

    #[test]
    fn names() {
        // enum rdma_ucm_port_space, in numeric order.
        assert_eq!(
            SPACES,
            [
                (0x0002, "IPOIB"),
                (0x0106, "TCP"),
                (0x0111, "UDP"),
                (0x013f, "IB")
            ]
        );
        assert_eq!(state_name(0), Some("IDLE"));
        assert_eq!(state_name(7), Some("ADDR_BOUND"));
        assert_eq!(state_name(8), Some("LISTEN"));
        assert_eq!(state_name(13), None);
    }

    #[test]
    fn state_column() {
        use kernel::{prelude::*, str::CString};

        let ok = |v: u8, want: &str| {
            CString::try_from_fmt(fmt!("[{:<17}]", State(v)))
                .is_ok_and(|s| s.to_bytes() == want.as_bytes())
        };
        assert!(ok(8, "[LISTEN           ]"));
        assert!(ok(12, "[ADDRINFO_RESOLVED]"));
        assert!(ok(13, "[UNKNOWN(13)      ]"));
        assert!(ok(255, "[UNKNOWN(255)     ]"));
    }

    #[test]
    fn comm_is_one_column() {
        let mut out = [0u8; 16];
        let n = sanitize_comm(b"a b\x01c\0junk", &mut out);
        assert_eq!(&out[..n], b"a_b_c");
        let n = sanitize_comm(b"\0", &mut out);
        assert_eq!(&out[..n], b"-");
        let n = sanitize_comm(b"0123456789abcdefXYZ", &mut out);
        assert_eq!(n, 16);
    }
}
