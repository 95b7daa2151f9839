// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for the kernel-crate abstractions the RDMA isolation project adds:
//! [`kernel::net::namespace::Net`] and XArray's `insert`/`alloc`/`alloc_cyclic`.
//!
//! They live in a test module rather than in the `kernel` crate because every item
//! instantiated in that crate is exported, and generic instantiations (such as
//! `XArray<KBox<u32>>`) produce symbol names longer than modpost accepts.

use kernel::prelude::*;

module! {
    type: RdmaisoBaseTest,
    name: "rdmaiso_base_test",
    authors: ["rdmaiso developers"],
    description: "KUnit tests of the rdmaiso Rust base abstractions",
    license: "GPL",
}

struct RdmaisoBaseTest;

impl kernel::Module for RdmaisoBaseTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(RdmaisoBaseTest)
    }
}

#[kunit_tests(rdmaiso_net_namespace)]
mod net_namespace {
    use kernel::net::namespace::Net;

    #[test]
    fn init_is_init() {
        assert!(Net::init().is_init());
        assert_eq!(Net::init(), Net::init());
        assert_ne!(Net::init().inum(), 0);
    }

    #[test]
    fn current_is_counted() {
        let a = Net::current().expect("kunit runs in a live task");
        let b = a.clone();
        // KUnit cases run in kernel threads: the initial namespace.
        assert!(a.is_init());
        assert_eq!(*a, *b);
        assert_eq!(a.cookie(), Net::init().cookie());
        assert_eq!(a.inum(), Net::init().inum());
    }
}

#[kunit_tests(rdmaiso_xarray_insert)]
mod xarray_insert {
    use kernel::prelude::*;
    use kernel::sync::Arc;
    use kernel::xarray::{
        AllocKind,
        InsertOnly,
        XArray, //
    };

    // Values are boxed before the XArray's lock is taken: it is a spinlock, and allocating
    // under it is a bug (the XArray itself drops the lock for its own allocations).
    fn b(v: u32) -> Result<KBox<u32>> {
        Ok(KBox::new(v, GFP_KERNEL)?)
    }

    #[test]
    fn insert_never_replaces() -> Result {
        let xa = KBox::pin_init(XArray::<KBox<u32>>::new(AllocKind::Alloc), GFP_KERNEL)?;
        let (one, two, three) = (b(1)?, b(2)?, b(3)?);
        let mut g = xa.lock();
        g.insert(2000, one, GFP_KERNEL)?;
        let err = g.insert(2000, two, GFP_KERNEL).unwrap_err();
        assert_eq!(err.error, EBUSY);
        assert_eq!(*err.value, 2);
        assert_eq!(g.get(2000).copied(), Some(1));
        let old = g.remove(2000);
        assert!(old.is_some());
        g.insert(2000, three, GFP_KERNEL)?;
        assert_eq!(g.get(2000).copied(), Some(3));
        drop(g);
        drop((old, err));
        Ok(())
    }

    #[test]
    fn alloc_fills_range_then_fails() -> Result {
        let xa = KBox::pin_init(XArray::<KBox<u32>>::new(AllocKind::Alloc), GFP_KERNEL)?;
        let vals = [b(0)?, b(1)?, b(1)?, b(1)?, b(9)?];
        let [zero, a, bb, c, nine] = vals;
        let mut g = xa.lock();
        g.insert(101, zero, GFP_KERNEL)?;
        let got = [
            g.alloc(100..=103, a, GFP_KERNEL)?,
            g.alloc(100..=103, bb, GFP_KERNEL)?,
            g.alloc(100..=103, c, GFP_KERNEL)?,
        ];
        assert_eq!(got, [100, 102, 103]);
        let err = g.alloc(100..=103, nine, GFP_KERNEL).unwrap_err();
        assert_eq!(err.error, EBUSY);
        assert_eq!(*err.value, 9);
        // The failed claim left the array as it was.
        assert_eq!(g.get(101).copied(), Some(0));
        drop(g);
        drop(err);
        Ok(())
    }

    #[test]
    fn insert_only_lookups() -> Result {
        let xa = KBox::pin_init(InsertOnly::<KBox<u32>>::new(AllocKind::Alloc), GFP_KERNEL)?;
        let (seven, big, again) = (b(7)?, b(2000)?, b(8)?);
        xa.insert(7, seven, GFP_KERNEL)?;
        xa.insert(2000, big, GFP_KERNEL)?;
        // A claimed index stays with its first entry.
        let err = xa.insert(7, again, GFP_KERNEL).unwrap_err();
        assert_eq!((err.error, *err.value), (EBUSY, 8));
        assert_eq!(xa.get(7).copied(), Some(7));
        assert!(xa.get(8).is_none());
        assert_eq!(xa.get(2000).copied(), Some(2000));
        assert_eq!(xa.find(8).map(|(i, v)| (i, *v)), Some((2000, 2000)));
        assert_eq!(xa.find(0).map(|(i, v)| (i, *v)), Some((7, 7)));
        assert!(xa.find(2001).is_none());
        // Arcs: the borrow lasts as long as the array, not as the lookup.
        let arcs = KBox::pin_init(InsertOnly::<Arc<u64>>::new(AllocKind::Alloc), GFP_KERNEL)?;
        arcs.insert(3, Arc::new(33, GFP_KERNEL)?, GFP_KERNEL)?;
        let r: &u64 = arcs.get_ref(3).ok_or(ENOENT)?;
        assert_eq!((*r, arcs.get_ref(4)), (33, None));
        Ok(())
    }

    #[test]
    fn alloc_cyclic_wraps() -> Result {
        let xa = KBox::pin_init(XArray::<KBox<u32>>::new(AllocKind::Alloc), GFP_KERNEL)?;
        let [v0, v1, v2, v3, v4, v5] = [b(0)?, b(1)?, b(2)?, b(3)?, b(4)?, b(5)?];
        let mut g = xa.lock();
        let mut next = 5;
        let got = [
            g.alloc_cyclic(3..=6, &mut next, v0, GFP_KERNEL)?,
            g.alloc_cyclic(3..=6, &mut next, v1, GFP_KERNEL)?,
            g.alloc_cyclic(3..=6, &mut next, v2, GFP_KERNEL)?,
            g.alloc_cyclic(3..=6, &mut next, v3, GFP_KERNEL)?,
        ];
        assert_eq!(got, [5, 6, 3, 4]);
        let old = g.remove(4);
        assert!(old.is_some());
        assert_eq!(g.alloc_cyclic(3..=6, &mut next, v4, GFP_KERNEL)?, 4);
        let err = g.alloc_cyclic(3..=6, &mut next, v5, GFP_KERNEL);
        assert!(matches!(&err, Err(e) if e.error == EBUSY));
        drop(g);
        drop((old, err));
        Ok(())
    }
}
