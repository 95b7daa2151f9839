// SPDX-License-Identifier: GPL-2.0

//! Counts of things in use (objects, bytes, users of a priority) that go down as they are
//! released.

use crate::sync::atomic::{
    Atomic,
    Relaxed, //
};

/// Takes `n` from `count`, the number of units in use, as `n` of them are released.
///
/// Releasing more than is counted is a kernel bug (an unbalanced release: something released
/// twice, or never counted). The count is then clamped at zero rather than wrapped, so that the
/// limits it is compared with keep working, and the kernel warns: the first underflow logs
/// `what` with the amounts, as `page_counter_cancel()` does, and every one warns with a
/// backtrace that names the caller. Returns `false` on an underflow.
///
/// # Examples
///
/// ```
/// use kernel::sync::{atomic::{Atomic, Relaxed}, counter};
///
/// let qps = Atomic::new(2u64);
/// assert!(counter::release(&qps, 2, "qp"));
/// assert_eq!(qps.load(Relaxed), 0);
/// ```
pub fn release(count: &Atomic<u64>, n: u64, what: &str) -> bool {
    let old = count.fetch_sub(n, Relaxed);
    if old >= n {
        return true;
    }
    // Give back what went below zero (concurrent changes are kept).
    count.fetch_add(n - old, Relaxed);
    crate::pr_warn_once!(
        "{} count underflow: {} released, {} counted\n",
        what,
        n,
        old
    );
    crate::warn_on!(true);
    false
}
