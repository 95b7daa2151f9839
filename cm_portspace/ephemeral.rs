// SPDX-License-Identifier: GPL-2.0

//! The ephemeral port choice of `cm_portspace`: upstream's rover (`cma_alloc_any_port()`), with
//! the last used port kept per network namespace rather than in one function-static shared by all
//! of them, and with reserved ports skipped. Pure, so that KUnit can check it
//! (`tests/kunit/cm_portspace_test.rs` includes this file).

use core::ops::RangeInclusive;
use kernel::prelude::*;

/// Binds to an ephemeral port of `range`, trying each port at most once.
///
/// Starts at `start` (a random port of `range`; one outside it starts at the low end), goes up and
/// wraps from the high end to the low end. Skips the port in `*last_used`, so that a port just
/// released is not handed out again at once, and the ports for which `skip` is true. `try_port`
/// binds to a port if the reuse rules allow it: `Ok`, `EADDRNOTAVAIL` to go on with the next
/// port, or another error, which is returned as it is.
///
/// Returns the port bound to, which also becomes `*last_used`, or `EADDRNOTAVAIL` when no port of
/// the range could be taken. Like upstream, a one-port range whose port is `*last_used` fails.
pub(crate) fn bind_any(
    range: RangeInclusive<u16>,
    start: u16,
    last_used: &mut u16,
    mut skip: impl FnMut(u16) -> bool,
    mut try_port: impl FnMut(u16) -> Result,
) -> Result<u16> {
    let (low, high) = (*range.start(), *range.end());
    if low > high {
        return Err(EADDRNOTAVAIL);
    }
    let mut port = if range.contains(&start) { start } else { low };
    let mut remaining = u32::from(high - low) + 1;
    loop {
        if port != *last_used && !skip(port) {
            match try_port(port) {
                Ok(()) => {
                    *last_used = port;
                    return Ok(port);
                }
                Err(e) if e == EADDRNOTAVAIL => {}
                Err(e) => return Err(e),
            }
        }
        remaining -= 1;
        if remaining == 0 {
            return Err(EADDRNOTAVAIL);
        }
        port = if port >= high { low } else { port + 1 };
    }
}
