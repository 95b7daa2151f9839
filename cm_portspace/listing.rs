// SPDX-License-Identifier: GPL-2.0

//! The names and the row format of `/proc/net/rdma_cm_ports`: pure, so that KUnit can check them
//! (`tests/kunit/cm_portspace_test.rs` includes this file).

/// The rdma_cm port spaces (`enum rdma_ucm_port_space`), in the order the file lists them.
pub(crate) const SPACES: [(u32, &str); 4] = [
    (0x0002, "IPOIB"),
    (0x0106, "TCP"),
    (0x0111, "UDP"),
    (0x013f, "IB"),
];

/// The states of an rdma_cm ID, in the order of `enum rdma_cm_state` (`cma_priv.h`).
const STATES: [&str; 13] = [
    "IDLE",
    "ADDR_QUERY",
    "ADDR_RESOLVED",
    "ROUTE_QUERY",
    "ROUTE_RESOLVED",
    "CONNECT",
    "DISCONNECT",
    "ADDR_BOUND",
    "LISTEN",
    "DEVICE_REMOVAL",
    "DESTROYING",
    "ADDRINFO_QUERY",
    "ADDRINFO_RESOLVED",
];

/// The name of an rdma_cm ID state; `None` for a value this module does not know.
pub(crate) fn state_name(state: u8) -> Option<&'static str> {
    STATES.get(usize::from(state)).copied()
}

/// The `state` column: the state's name, or `UNKNOWN(n)` for a state this module does not know,
/// left-aligned in the column's width.
pub(crate) struct State(pub(crate) u8);

impl kernel::fmt::Display for State {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        if let Some(name) = state_name(self.0) {
            return f.pad(name);
        }
        let len = match self.0 {
            0..=9 => 10,
            10..=99 => 11,
            _ => 12,
        };
        write!(f, "UNKNOWN({})", self.0)?;
        for _ in len..f.width().unwrap_or(0) {
            f.write_str(" ")?;
        }
        Ok(())
    }
}

/// Makes a task name one column of the file: blanks and unprintable bytes become `_`, an empty
/// name `-`. Returns the length used in `out`.
pub(crate) fn sanitize_comm(comm: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    for (o, &b) in out.iter_mut().zip(comm.iter().take_while(|&&b| b != 0)) {
        *o = if b.is_ascii_graphic() { b } else { b'_' };
        n += 1;
    }
    if n == 0 && !out.is_empty() {
        out[0] = b'-';
        n = 1;
    }
    n
}
