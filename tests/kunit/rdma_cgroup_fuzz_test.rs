// SPDX-License-Identifier: GPL-2.0

//! KUnit property test of the `rdma.max` write path of the rdma controller: the parser
//! (`parse.rs`), the device resolution (`parse::plan`) and the all-or-nothing application to a
//! cgroup's pools (`engine::RdmaCgroup::apply`), the code a write to `rdma.max` runs, included
//! here from `kernel/cgroup/rdma_cgroup/` so that it runs on a detached cgroup state with an
//! invented device table.
//!
//! Each case generates a write (valid lines, lines built from a dictionary of good and bad
//! tokens, and byte-level mutations of them: flipped, inserted, deleted, duplicated bytes and
//! ranges, NUL and CR bytes, truncation; now and then thousands of lines, longer than a page),
//! applies it, and compares with a reference model written independently below:
//!
//! - the write is accepted exactly when the model accepts it, with the model's errno otherwise;
//! - a rejected write leaves every stored limit and priority set bit for bit as it was;
//! - an accepted write leaves them as the model's store (lines applied in order, keys not named
//!   left alone).
//!
//! `modprobe rdma_cgroup_fuzz_test seed=<n> cases=<n>`: the seed is printed in the kernel log;
//! the same seed replays the same inputs. `make check` loads the module with a random seed.

use kernel::prelude::*;

#[path = "../../../../kernel/cgroup/rdma_cgroup/res.rs"]
#[allow(dead_code)]
mod res;

#[path = "../../../../kernel/cgroup/rdma_cgroup/parse.rs"]
#[allow(dead_code)]
mod parse;

#[path = "../../../../kernel/cgroup/rdma_cgroup/pool.rs"]
#[allow(dead_code)]
mod pool;

#[path = "../../../../kernel/cgroup/rdma_cgroup/engine.rs"]
#[allow(dead_code)]
mod engine;

module! {
    type: RdmaCgroupFuzzTest,
    name: "rdma_cgroup_fuzz_test",
    authors: ["rdmaiso developers"],
    description: "KUnit property test of the rdma.max write path",
    license: "GPL",
    params: {
        seed: u64 {
            default: 1,
            description: "Seed of the generated inputs (printed; the same seed, the same inputs)",
        },
        cases: u64 {
            default: 1000000,
            description: "Number of generated writes",
        },
    },
}

struct RdmaCgroupFuzzTest;

impl kernel::Module for RdmaCgroupFuzzTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(RdmaCgroupFuzzTest)
    }
}

#[kunit_tests(rdma_cgroup_max_fuzz)]
mod tests {
    use super::engine::RdmaCgroup;
    use super::parse;
    use kernel::prelude::*;
    use kernel::sync::atomic::Relaxed;

    // ---- The reference model, written from the documented syntax, not from parse.rs. ----

    /// Key names, in the order of the cgroupfs files (and of C's enum).
    const KEYS: [&[u8]; 14] = [
        b"hca_handle",
        b"hca_object",
        b"pd",
        b"cq",
        b"qp",
        b"srq",
        b"mr",
        b"mw",
        b"ah",
        b"xrcd",
        b"wq",
        b"flow",
        b"cm_id",
        b"mr_bytes",
    ];
    /// Values stored per slot: 14 limits, the SL set, the UP set.
    const NV: usize = 16;
    /// The invented devices: (name, index); a slot is the position in this table.
    const DEVS: [(&[u8], u32); 5] = [
        (b"rxe0", 1),
        (b"rxe1", 2),
        (b"mlx5_0", 3),
        (b"dup", 4),
        (b"dup", 7),
    ];
    const NSLOTS: usize = DEVS.len();

    type State = [[u64; NV]; NSLOTS];

    /// The value of a string of decimal digits, saturated at `u128::MAX`; `None` if it is empty
    /// or holds anything but digits.
    fn dec(s: &[u8]) -> Option<u128> {
        if s.is_empty() {
            return None;
        }
        let mut v: u128 = 0;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v.saturating_mul(10).saturating_add(u128::from(c - b'0'));
        }
        Some(v)
    }

    /// `max`, or a comma-separated list of values and inclusive ranges of `0..=hi`, as a mask.
    fn set(s: &[u8], hi: u128) -> Option<u64> {
        if s == b"max" {
            return Some((1u64 << (hi + 1)) - 1);
        }
        let mut mask = 0u64;
        // An empty list is one empty item, which is not a number.
        for item in s.split(|&c| c == b',') {
            let (a, b) = match item.iter().position(|&c| c == b'-') {
                Some(i) => (dec(&item[..i])?, dec(&item[i + 1..])?),
                None => {
                    let v = dec(item)?;
                    (v, v)
                }
            };
            if a > b || b > hi {
                return None;
            }
            for v in a..=b {
                mask |= 1 << v;
            }
        }
        Some(mask)
    }

    /// One line, parsed by the model: the slot values it sets (`None`: left alone), or `None`
    /// if the line is malformed.
    struct MLine<'a> {
        name: &'a [u8],
        index: Option<u32>,
        vals: [Option<u64>; NV],
    }

    fn model_line(line: &[u8]) -> Option<MLine<'_>> {
        let mut words = line
            .split(|&c| c == b' ' || c == b'\t')
            .filter(|w| !w.is_empty());
        let name = words.next()?;
        if name.contains(&b'=') || name.len() >= 64 {
            return None;
        }
        let mut m = MLine {
            name,
            index: None,
            vals: [None; NV],
        };
        let mut seen_index = false;
        for w in words {
            let eq = w.iter().position(|&c| c == b'=')?;
            let (k, v) = (&w[..eq], &w[eq + 1..]);
            if k == b"index" {
                if seen_index {
                    return None;
                }
                seen_index = true;
                let n = dec(v)?;
                if n > u128::from(u32::MAX) {
                    return None;
                }
                m.index = Some(n as u32);
                continue;
            }
            let (i, val) = if k == b"sl" {
                (14, set(v, 15)?)
            } else if k == b"up" {
                (15, set(v, 7)?)
            } else {
                let i = KEYS.iter().position(|&n| n == k)?;
                let val = if v == b"max" {
                    u64::MAX
                } else {
                    let n = dec(v)?;
                    // u64::MAX is "max" itself: a number must be below it.
                    if n >= u128::from(u64::MAX) {
                        return None;
                    }
                    n as u64
                };
                (i, val)
            };
            if m.vals[i].is_some() {
                return None;
            }
            m.vals[i] = Some(val);
        }
        Some(m)
    }

    /// The slot of a device, or the errno the write fails with.
    fn model_resolve(name: &[u8], index: Option<u32>) -> Result<usize, Error> {
        let named = DEVS.iter().filter(|d| d.0 == name).count();
        match index {
            Some(i) => DEVS
                .iter()
                .position(|d| d.0 == name && d.1 == i)
                .ok_or(ENODEV),
            None if named == 0 => Err(ENODEV),
            None if named > 1 => Err(ENOTUNIQ),
            None => Ok(DEVS.iter().position(|d| d.0 == name).unwrap_or(0)),
        }
    }

    /// The model of a write: the new state, or the errno.
    fn model_write(buf: &[u8], st: &State) -> Result<State, Error> {
        let mut lines = 0;
        for line in buf.split(|&c| c == b'\n') {
            if line.iter().all(|&c| c == b' ' || c == b'\t') {
                continue;
            }
            model_line(line).ok_or(EINVAL)?;
            lines += 1;
        }
        if lines == 0 {
            return Err(EINVAL);
        }
        let mut new = *st;
        for line in buf.split(|&c| c == b'\n') {
            let Some(m) = model_line(line) else {
                continue;
            };
            let slot = model_resolve(m.name, m.index)?;
            for (i, v) in m.vals.iter().enumerate() {
                if let Some(v) = v {
                    new[slot][i] = *v;
                }
            }
        }
        Ok(new)
    }

    // ---- The code under test. ----

    fn snapshot(cg: &RdmaCgroup, fresh: &[u64; NV]) -> State {
        let mut st = [*fresh; NSLOTS];
        for (slot, vals) in st.iter_mut().enumerate() {
            if let Some(p) = cg.pool(slot as u32) {
                for (v, c) in vals.iter_mut().zip(p.res.iter()) {
                    *v = c.max.load(Relaxed);
                }
                vals[14] = u64::from(p.sl.load(Relaxed));
                vals[15] = u64::from(p.up.load(Relaxed));
            }
        }
        st
    }

    /// A write as `rdma_cgroup.rs` runs it, with the invented device table as the resolver.
    fn real_write(cg: &RdmaCgroup, buf: &[u8]) -> Result {
        let plan = parse::plan(buf, |name, index| {
            model_resolve(name, index).map(|slot| slot as u32)
        })?;
        cg.apply(&plan)
    }

    // ---- The generator. ----

    struct Rng(u64);

    impl Rng {
        /// splitmix64.
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        /// A number in `0..n` (0 if `n` is 0), without a division.
        fn below(&mut self, n: usize) -> usize {
            ((u128::from(self.next()) * n as u128) >> 64) as usize
        }
        fn one_in(&mut self, n: usize) -> bool {
            self.below(n) == 0
        }
        fn pick<'a>(&mut self, v: &[&'a [u8]]) -> &'a [u8] {
            v[self.below(v.len())]
        }
    }

    const NAMES: [&[u8]; 12] = [
        b"rxe0",
        b"rxe1",
        b"mlx5_0",
        b"dup",
        b"rxe0",
        b"rxe1",
        b"nodev",
        b"RXE0",
        b"rxe",
        b"rxe0=",
        b"a23456789012345678901234567890123456789012345678901234567890123",
        b"a234567890123456789012345678901234567890123456789012345678901234",
    ];
    const BAD_KEYS: [&[u8]; 8] = [
        b"QP", b"bogus", b"", b"mr_byte", b"cm-id", b"index ", b"SL", b"hca",
    ];
    const NUMS: [&[u8]; 22] = [
        b"0",
        b"1",
        b"2",
        b"max",
        b"7",
        b"18446744073709551614",
        b"18446744073709551615",
        b"18446744073709551616",
        b"99999999999999999999999999999999999999999999",
        b"000000000000000000000000000000000000000000001",
        b"4294967295",
        b"4294967296",
        b"-1",
        b"+1",
        b"0x10",
        b"1k",
        b"",
        b"maxx",
        b"MAX",
        b"1.5",
        b" 1",
        b"1e3",
    ];
    const INDEXES: [&[u8]; 13] = [
        b"1",
        b"2",
        b"3",
        b"4",
        b"7",
        b"0",
        b"4294967295",
        b"4294967296",
        b"01",
        b"007",
        b"",
        b"-1",
        b"+4",
    ];
    const LISTS: [&[u8]; 14] = [
        b"max",
        b"",
        b",",
        b"1,",
        b",1",
        b"-",
        b"1-",
        b"-1",
        b"3-1",
        b"0-99999999999999999999",
        b"1--2",
        b"0-3-5",
        b"01,002",
        b"MAX",
    ];
    const BYTES: [u8; 14] = [
        0, b'\r', b'\n', b'=', b' ', b'\t', b'-', b',', b'0', b'9', b'x', 0xff, b'\x0b', b'm',
    ];

    fn push(buf: &mut KVec<u8>, s: &[u8]) -> Result {
        buf.extend_from_slice(s, GFP_KERNEL)?;
        Ok(())
    }

    fn push_num(buf: &mut KVec<u8>, rng: &mut Rng, clean: bool) -> Result {
        if clean {
            // A valid limit: below u64::MAX, or max.
            return match rng.below(4) {
                0 => push(buf, b"max"),
                1 => push(buf, b"18446744073709551614"),
                _ => push_dec(buf, rng.below(100)),
            };
        }
        if rng.one_in(3) {
            // A random decimal number of 1 to 24 digits.
            for _ in 0..1 + rng.below(24) {
                push(buf, &[b'0' + rng.below(10) as u8])?;
            }
            Ok(())
        } else {
            push(buf, rng.pick(&NUMS))
        }
    }

    fn push_list(buf: &mut KVec<u8>, rng: &mut Rng, clean: bool) -> Result {
        let hi = if clean { 8 } else { 18 };
        if !clean && rng.one_in(4) {
            return push(buf, rng.pick(&LISTS));
        }
        for i in 0..1 + rng.below(4) {
            if i > 0 {
                push(buf, b",")?;
            }
            let a = rng.below(hi);
            push_dec(buf, a)?;
            if rng.one_in(3) {
                push(buf, b"-")?;
                let b = if clean {
                    a + rng.below(hi - a)
                } else {
                    rng.below(hi)
                };
                push_dec(buf, b)?;
            }
        }
        Ok(())
    }

    fn push_dec(buf: &mut KVec<u8>, v: usize) -> Result {
        if v >= 10 {
            push(buf, &[b'0' + (v / 10) as u8])?;
        }
        push(buf, &[b'0' + (v % 10) as u8])
    }

    fn push_sep(buf: &mut KVec<u8>, rng: &mut Rng) -> Result {
        for _ in 0..1 + usize::from(rng.one_in(4)) * rng.below(3) {
            push(buf, if rng.one_in(5) { b"\t" } else { b" " })?;
        }
        Ok(())
    }

    /// A line; a `clean` one has only valid tokens (no key twice, though, is left to chance).
    fn push_line(buf: &mut KVec<u8>, rng: &mut Rng, clean: bool) -> Result {
        if rng.one_in(8) {
            push_sep(buf, rng)?;
        }
        if clean {
            // A device that resolves: "dup" is ambiguous without its index.
            let (name, index) = DEVS[rng.below(NSLOTS)];
            push(buf, name)?;
            if name == b"dup" || rng.one_in(4) {
                push_sep(buf, rng)?;
                push(buf, b"index=")?;
                push_dec(buf, index as usize)?;
            }
        } else if !rng.one_in(40) {
            push(buf, rng.pick(&NAMES))?;
        }
        for _ in 0..rng.below(if clean { 4 } else { 6 }) {
            push_sep(buf, rng)?;
            let what = if clean {
                [2, 6, 6][rng.below(3)]
            } else {
                rng.below(20)
            };
            match what {
                0 => push(buf, b"index=")?,
                1 => {
                    push(buf, b"index=")?;
                    push(buf, rng.pick(&INDEXES))?;
                }
                2..=3 => {
                    push(buf, if rng.one_in(2) { b"sl=" } else { b"up=" })?;
                    push_list(buf, rng, clean)?;
                }
                4 => {
                    push(buf, rng.pick(&BAD_KEYS))?;
                    push(buf, b"=")?;
                    push_num(buf, rng, clean)?;
                }
                5 => push(buf, rng.pick(&NUMS))?,
                _ => {
                    push(buf, KEYS[rng.below(KEYS.len())])?;
                    push(buf, b"=")?;
                    push_num(buf, rng, clean)?;
                }
            }
        }
        if rng.one_in(8) {
            push_sep(buf, rng)?;
        }
        Ok(())
    }

    fn gen(buf: &mut KVec<u8>, rng: &mut Rng) -> Result {
        buf.clear();
        let lines = if rng.one_in(2000) {
            // Longer than a page, thousands of lines.
            500 + rng.below(3000)
        } else {
            1 + rng.below(3)
        };
        // Half the writes are built from valid tokens only (before any mutation), so that
        // accepted writes and the store's updates are exercised as much as rejections.
        let clean = rng.one_in(2);
        for i in 0..lines {
            if i > 0 {
                push(buf, b"\n")?;
                if rng.one_in(10) {
                    push(buf, if rng.one_in(2) { b"\n" } else { b" \t\n" })?;
                }
            }
            push_line(buf, rng, clean)?;
        }
        if rng.one_in(3) {
            push(buf, b"\n")?;
        }
        if rng.one_in(if clean { 8 } else { 2 }) {
            for _ in 0..1 + rng.below(3) {
                mutate(buf, rng)?;
            }
        }
        Ok(())
    }

    fn mutate(buf: &mut KVec<u8>, rng: &mut Rng) -> Result {
        let len = buf.len();
        if len == 0 {
            return push(buf, &[BYTES[rng.below(BYTES.len())]]);
        }
        let at = rng.below(len);
        match rng.below(6) {
            0 => buf[at] ^= 1 << rng.below(8),
            1 => buf[at] = BYTES[rng.below(BYTES.len())],
            2 => {
                buf.push(0, GFP_KERNEL)?;
                buf.copy_within(at..len, at + 1);
                buf[at] = BYTES[rng.below(BYTES.len())];
            }
            3 => {
                buf.copy_within(at + 1..len, at);
                buf.truncate(len - 1);
            }
            4 => buf.truncate(at),
            _ => {
                // Duplicate a range (a key, a token, a line) at its end.
                let n = 1 + rng.below(core::cmp::min(len - at, 40));
                let mut new = KVec::with_capacity(len + n, GFP_KERNEL)?;
                new.extend_from_slice(&buf[..at + n], GFP_KERNEL)?;
                new.extend_from_slice(&buf[at..], GFP_KERNEL)?;
                *buf = new;
            }
        }
        Ok(())
    }

    #[test]
    fn writes_agree_with_the_model() -> Result {
        let seed = *super::module_parameters::seed.value_ref();
        let cases = *super::module_parameters::cases.value_ref();
        pr_info!("rdma_cgroup_max_fuzz: seed {} cases {}\n", seed, cases);

        let cg = KBox::pin_init(RdmaCgroup::new(None), GFP_KERNEL)?;
        // What a slot without a pool reads as: a fresh pool's values.
        let fresh = {
            let scratch = KBox::pin_init(RdmaCgroup::new(None), GFP_KERNEL)?;
            scratch.pool_or_create(0)?;
            snapshot(&scratch, &[0; NV])[0]
        };
        let mut st = snapshot(&cg, &fresh);
        let mut rng = Rng(seed);
        let mut buf = KVec::new();
        let (mut accepted, mut rejected, mut long) = (0u64, 0u64, 0u64);
        for case in 0..cases {
            gen(&mut buf, &mut rng)?;
            long += u64::from(buf.len() > 4096);
            let want = model_write(&buf, &st);
            let got = real_write(&cg, &buf);
            let now = snapshot(&cg, &fresh);
            let ok = match (&want, &got) {
                (Ok(w), Ok(())) => *w == now,
                (Err(we), Err(ge)) => we.to_errno() == ge.to_errno() && now == st,
                _ => false,
            };
            if !ok {
                pr_err!(
                    "rdma_cgroup_max_fuzz: seed {} case {}: model {:?}, write {:?}, input {:?}\n",
                    seed,
                    case,
                    want.as_ref().map(|_| ()),
                    got,
                    kernel::str::BStr::from_bytes(&buf[..core::cmp::min(buf.len(), 512)]),
                );
                assert!(ok);
                return Ok(());
            }
            if got.is_ok() {
                accepted += 1;
            } else {
                rejected += 1;
            }
            st = now;
        }
        pr_info!(
            "rdma_cgroup_max_fuzz: {} writes: {} accepted, {} rejected, {} longer than a page\n",
            cases,
            accepted,
            rejected,
            long
        );
        // The generator must reach both outcomes, or the property says little.
        assert!(cases < 1000 || (accepted > cases / 5 && rejected > cases / 5));
        Ok(())
    }
}
