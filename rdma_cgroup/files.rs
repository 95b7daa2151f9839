// SPDX-License-Identifier: GPL-2.0

//! The interface files: `rdma.max`, `rdma.current`, `rdma.peak`, `rdma.events[.local]` shown one
//! line per registered device, and `rdma.max` written (parsed by [`super::parse`], applied by
//! [`RdmaCgroup::apply`]).

use super::{
    devices::{
        self,
        Slot,
        DEVICES, //
    },
    engine::RdmaCgroup,
    parse,
    pool::{
        self,
        MAX,
        NR_SL,
        NR_UP, //
    },
    res::{
        Resource,
        NR_RESOURCES, //
    },
};
use kernel::{
    bindings,
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    sync::atomic::Relaxed,
};

/// What a cgroupfs file shows: C's `enum rdmacg_show` (`rdma_cgroup.h`), the files'
/// `cftype::private` in `glue.c`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Show {
    Max,
    Current,
    Peak,
    Events,
    EventsLocal,
}

impl TryFrom<bindings::rdmacg_show> for Show {
    type Error = Error;

    fn try_from(what: bindings::rdmacg_show) -> Result<Self> {
        match what {
            bindings::rdmacg_show_RDMACG_SHOW_MAX => Ok(Show::Max),
            bindings::rdmacg_show_RDMACG_SHOW_CURRENT => Ok(Show::Current),
            bindings::rdmacg_show_RDMACG_SHOW_PEAK => Ok(Show::Peak),
            bindings::rdmacg_show_RDMACG_SHOW_EVENTS => Ok(Show::Events),
            bindings::rdmacg_show_RDMACG_SHOW_EVENTS_LOCAL => Ok(Show::EventsLocal),
            _ => Err(EINVAL),
        }
    }
}

/// Prints ` key=<set>`: `max` for all `bits` (if `all_is_max`), `none`, or a list of ranges.
fn write_set(m: &SeqFile, key: &str, mask: u32, bits: u32, all_is_max: bool) {
    seq_print!(m, " {}=", key);
    let all = (1u32 << bits) - 1;
    if all_is_max && mask & all == all {
        seq_print!(m, "max");
        return;
    }
    let mut first = true;
    let mut v = 0;
    while v < bits {
        if mask & (1 << v) == 0 {
            v += 1;
            continue;
        }
        let start = v;
        while v + 1 < bits && mask & (1 << (v + 1)) != 0 {
            v += 1;
        }
        let sep = if first { "" } else { "," };
        if start == v {
            seq_print!(m, "{}{}", sep, start);
        } else {
            seq_print!(m, "{}{}-{}", sep, start, v);
        }
        first = false;
        v += 1;
    }
    if first {
        seq_print!(m, "none");
    }
}

pub(crate) fn show(cg: &RdmaCgroup, m: &SeqFile, what: Show) {
    let slots = DEVICES.lock();
    for (slot, s) in slots.iter().enumerate() {
        let Some((name, index)) = s.key() else {
            continue;
        };
        seq_print!(m, "{}", name);
        let unique = slots
            .iter()
            .filter_map(Slot::key)
            .filter(|(n, _)| *n == name)
            .count()
            == 1;
        if !unique {
            seq_print!(m, " index={}", index);
        }
        let pool = cg.pool(slot as u32);
        let values = match what {
            Show::Current => cg.current(slot as u32),
            Show::Peak => cg.peaks(slot as u32),
            _ => [0; NR_RESOURCES],
        };
        for r in Resource::ALL {
            let c = pool.map(|p| p.get(r));
            let get = |f: fn(&pool::Counter) -> u64, default: u64| c.map_or(default, f);
            match what {
                Show::Max => {
                    let v = get(|c| c.max.load(Relaxed), MAX);
                    if v == MAX {
                        seq_print!(m, " {}=max", r.name());
                    } else {
                        seq_print!(m, " {}={}", r.name(), v);
                    }
                }
                Show::Current | Show::Peak => {
                    seq_print!(m, " {}={}", r.name(), values[r as usize])
                }
                Show::Events | Show::EventsLocal => {
                    let (mx, fail) = if what == Show::Events {
                        (
                            get(|c| c.ev_max.load(Relaxed), 0),
                            get(|c| c.ev_fail.load(Relaxed), 0),
                        )
                    } else {
                        (
                            get(|c| c.ev_local_max.load(Relaxed), 0),
                            get(|c| c.ev_local_fail.load(Relaxed), 0),
                        )
                    };
                    seq_print!(m, " {0}.max={1} {0}.alloc_fail={2}", r.name(), mx, fail);
                }
            }
        }
        if what == Show::Max {
            let (sl, up) = pool.map_or((u32::MAX, u32::MAX), |p| {
                (p.sl.load(Relaxed), p.up.load(Relaxed))
            });
            write_set(m, "sl", sl, NR_SL, true);
            write_set(m, "up", up, NR_UP, true);
        }
        if what == Show::Current {
            let (sl, up) = pool.map_or((0, 0), |p| (p.in_use(true), p.in_use(false)));
            write_set(m, "sl", sl, NR_SL, false);
            write_set(m, "up", up, NR_UP, false);
        }
        if what == Show::Events || what == Show::EventsLocal {
            let ev = |i: usize| {
                pool.map_or(0, |p| {
                    if what == Show::Events {
                        p.ev_denied[i].load(Relaxed)
                    } else {
                        p.ev_local_denied[i].load(Relaxed)
                    }
                })
            };
            seq_print!(m, " sl.denied={} up.denied={}", ev(0), ev(1));
        }
        seq_print!(m, "\n");
    }
}

pub(crate) fn write(cg: &RdmaCgroup, buf: &[u8]) -> Result {
    let mut slots = DEVICES.lock();
    // Every line is parsed and resolved, then all are applied or none.
    let plan = parse::plan(buf, |name, index| devices::find_slot(&slots, name, index))?;
    cg.apply(&plan)?;
    for (slot, _) in plan.iter() {
        if let Some(s) = slots.get_mut(*slot as usize) {
            s.mark_limited();
        }
    }
    Ok(())
}
