// SPDX-License-Identifier: GPL-2.0

//! The `rdma.max` parser.
//!
//! A write holds one or more lines; each line is
//!
//! ```text
//! <device> [index=<u32>] [<resource>=<u64>|max]... [sl=<list>|max] [up=<list>|max]
//! ```
//!
//! where `<list>` is comma-separated values or inclusive ranges (`0-3,7`). Tokens are separated
//! by spaces or tabs. Every line is parsed completely, and every line of a write is parsed
//! before anything is applied, so a bad token anywhere leaves every limit as it was.
//!
//! The parser is pure: it borrows from the input; [`plan`] allocates only the list of lines it
//! returns, once every line has parsed, and finds devices through the caller's resolver.

use super::res::{
    Resource,
    NR_RESOURCES, //
};
use kernel::prelude::*;

/// A write resolved to device slots: the slot and the request of each line, in order.
pub(crate) type Plan<'a> = KVec<(u32, Request<'a>)>;

/// Why a line was rejected. Every variant maps to `EINVAL` for user space; the variant names
/// the malformed-input class (the KUnit suite covers each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// The line has no device name.
    NoDevice,
    /// The device name is longer than an RDMA device name can be.
    NameTooLong,
    /// A token is not `key=value`.
    NotKeyValue,
    /// The key is not a resource, `index`, `sl` or `up`.
    UnknownKey,
    /// The same key appears twice in one line.
    DuplicateKey,
    /// A number is malformed: empty, negative, non-decimal, junk after the digits.
    BadNumber,
    /// A number does not fit the key's type.
    Overflow,
    /// An SL/UP list is malformed or names a value out of range (SL 0-15, UP 0-7).
    BadList,
}

/// Longest RDMA device name (`IB_DEVICE_NAME_MAX` is 64, including the NUL).
pub(crate) const DEVICE_NAME_MAX: usize = 63;

/// One parsed line: the device key and the values to set. `None` leaves a value unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    /// The device name.
    pub(crate) name: &'a [u8],
    /// The device index, to pick one of several devices with the same name.
    pub(crate) index: Option<u32>,
    /// New limits, indexed by [`Resource`]; `u64::MAX` means `max`.
    pub(crate) limits: [Option<u64>; NR_RESOURCES],
    /// New set of allowed Service Levels (bit n = SL n).
    pub(crate) sl: Option<u16>,
    /// New set of allowed User Priorities (bit n = UP n).
    pub(crate) up: Option<u8>,
}

/// The non-empty lines of a write.
pub(crate) fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|&c| c == b'\n')
        .filter(|l| l.iter().any(|&c| c != b' ' && c != b'\t'))
}

fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&c| c == b' ' || c == b'\t' || c == b'\n')
        .filter(|t| !t.is_empty())
}

/// Parses a decimal `u64`: digits only, no sign, no junk.
pub(crate) fn parse_u64(s: &[u8]) -> Result<u64, ParseError> {
    if s.is_empty() {
        return Err(ParseError::BadNumber);
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return Err(ParseError::BadNumber);
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(ParseError::Overflow)?;
    }
    Ok(v)
}

/// Parses `max` or a list such as `0-3,7` of values in `0..=hi` into a bit mask.
pub(crate) fn parse_set(s: &[u8], hi: u32) -> Result<u32, ParseError> {
    let all = if hi >= 31 {
        u32::MAX
    } else {
        (1u32 << (hi + 1)) - 1
    };
    if s == b"max" {
        return Ok(all);
    }
    if s.is_empty() {
        return Err(ParseError::BadList);
    }
    let mut mask = 0u32;
    for item in s.split(|&c| c == b',') {
        let mut ends = item.splitn(2, |&c| c == b'-');
        let lo = ends.next().ok_or(ParseError::BadList)?;
        let lo = parse_u64(lo).map_err(|_| ParseError::BadList)?;
        let up = match ends.next() {
            Some(up) => parse_u64(up).map_err(|_| ParseError::BadList)?,
            None => lo,
        };
        if lo > up || up > u64::from(hi) {
            return Err(ParseError::BadList);
        }
        for v in lo..=up {
            mask |= 1 << v;
        }
    }
    Ok(mask)
}

/// Parses one line of an `rdma.max` write.
pub(crate) fn parse_line(line: &[u8]) -> Result<Request<'_>, ParseError> {
    let mut toks = tokens(line);
    let name = toks.next().ok_or(ParseError::NoDevice)?;
    if name.contains(&b'=') {
        return Err(ParseError::NoDevice);
    }
    if name.len() > DEVICE_NAME_MAX {
        return Err(ParseError::NameTooLong);
    }
    let mut req = Request {
        name,
        index: None,
        limits: [None; NR_RESOURCES],
        sl: None,
        up: None,
    };
    for tok in toks {
        let eq = tok
            .iter()
            .position(|&c| c == b'=')
            .ok_or(ParseError::NotKeyValue)?;
        let (key, val) = (&tok[..eq], &tok[eq + 1..]);
        match key {
            b"index" => {
                if req.index.is_some() {
                    return Err(ParseError::DuplicateKey);
                }
                let v = parse_u64(val)?;
                req.index = Some(u32::try_from(v).map_err(|_| ParseError::Overflow)?);
            }
            b"sl" => {
                if req.sl.is_some() {
                    return Err(ParseError::DuplicateKey);
                }
                // parse_set() returns only bits 0..=15 here.
                req.sl = Some(parse_set(val, 15)? as u16);
            }
            b"up" => {
                if req.up.is_some() {
                    return Err(ParseError::DuplicateKey);
                }
                req.up = Some(parse_set(val, 7)? as u8);
            }
            _ => {
                let r = Resource::from_name(key).ok_or(ParseError::UnknownKey)?;
                let slot = &mut req.limits[r as usize];
                if slot.is_some() {
                    return Err(ParseError::DuplicateKey);
                }
                *slot = Some(if val == b"max" {
                    u64::MAX
                } else {
                    let v = parse_u64(val)?;
                    // `u64::MAX` is how "max" is stored; a number must be below it.
                    if v == u64::MAX {
                        return Err(ParseError::Overflow);
                    }
                    v
                });
            }
        }
    }
    Ok(req)
}

/// Parses every line of an `rdma.max` write and resolves each line's device to a slot with
/// `resolve(name, index)`, before anything is applied: `EINVAL` for a malformed line or a write
/// without any line, the resolver's error for an unknown or ambiguous device, `ENOMEM`.
pub(crate) fn plan<'a>(
    buf: &'a [u8],
    mut resolve: impl FnMut(&[u8], Option<u32>) -> Result<u32>,
) -> Result<Plan<'a>> {
    // A malformed write is refused before anything is allocated.
    let mut n = 0;
    for line in lines(buf) {
        parse_line(line).map_err(|_| EINVAL)?;
        n += 1;
    }
    if n == 0 {
        return Err(EINVAL);
    }
    let mut plan = KVec::with_capacity(n, GFP_KERNEL)?;
    for line in lines(buf) {
        let req = parse_line(line).map_err(|_| EINVAL)?;
        let slot = resolve(req.name, req.index)?;
        plan.push((slot, req), GFP_KERNEL)?;
    }
    Ok(plan)
}

// Not in the test module that includes this file (`tests/kunit/rdma_cgroup_fuzz_test.rs`): the
// suite is built into the kernel already.
#[cfg(not(rdmaiso_included))]
#[kunit_tests(rdma_cgroup_parse)]
mod tests {
    use super::*;

    fn limit(req: &Request<'_>, r: Resource) -> Option<u64> {
        req.limits[r as usize]
    }

    #[test]
    fn upstream_runc_syntax() {
        let r = parse_line(b"mlx5_0 hca_handle=2 hca_object=2000").unwrap();
        assert_eq!(r.name, b"mlx5_0");
        assert_eq!(r.index, None);
        assert_eq!(limit(&r, Resource::HcaHandle), Some(2));
        assert_eq!(limit(&r, Resource::HcaObject), Some(2000));
        assert_eq!(limit(&r, Resource::Qp), None);
        let r = parse_line(b"rxe0 hca_handle=max hca_object=max\n").unwrap();
        assert_eq!(limit(&r, Resource::HcaHandle), Some(u64::MAX));
        assert_eq!(limit(&r, Resource::HcaObject), Some(u64::MAX));
        // A device name alone is accepted and changes nothing, as upstream.
        let r = parse_line(b"rxe0").unwrap();
        assert!(r.limits.iter().all(Option::is_none));
    }

    #[test]
    fn every_resource_and_sets() {
        let r = parse_line(
            b"rxe0 index=3 pd=1 cq=2 qp=3 srq=4 mr=5 mw=6 ah=7 xrcd=8 wq=9 flow=10 cm_id=11 \
              mr_bytes=1048576 sl=0-3,7 up=max",
        )
        .unwrap();
        assert_eq!(r.index, Some(3));
        let want = [
            None,
            None,
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(6),
            Some(7),
            Some(8),
            Some(9),
            Some(10),
            Some(11),
            Some(1048576),
        ];
        assert_eq!(r.limits, want);
        assert_eq!(r.sl, Some(0b1000_1111));
        assert_eq!(r.up, Some(0xff));
        let r = parse_line(b"\trxe0\t\tup=5  sl=max ").unwrap();
        assert_eq!(r.up, Some(1 << 5));
        assert_eq!(r.sl, Some(0xffff));
    }

    #[test]
    fn malformed_inputs() {
        use ParseError::*;
        let cases: &[(&[u8], ParseError)] = &[
            (b"", NoDevice),
            (b"   ", NoDevice),
            (b"qp=1", NoDevice),
            (b"rxe0 qp", NotKeyValue),
            (b"rxe0 qp=1 junk", NotKeyValue),
            (b"rxe0 bogus=1", UnknownKey),
            (b"rxe0 =1", UnknownKey),
            (b"rxe0 QP=1", UnknownKey),
            (b"rxe0 qp=1 qp=2", DuplicateKey),
            (b"rxe0 qp=max qp=1", DuplicateKey),
            (b"rxe0 index=1 index=1", DuplicateKey),
            (b"rxe0 sl=1 sl=2", DuplicateKey),
            (b"rxe0 up=1 up=1", DuplicateKey),
            (b"rxe0 qp=-1", BadNumber),
            (b"rxe0 qp=", BadNumber),
            (b"rxe0 qp=+1", BadNumber),
            (b"rxe0 qp=0x10", BadNumber),
            (b"rxe0 qp=10k", BadNumber),
            (b"rxe0 qp=1.5", BadNumber),
            (b"rxe0 qp=maxx", BadNumber),
            (b"rxe0 qp=18446744073709551616", Overflow),
            (b"rxe0 qp=18446744073709551615", Overflow),
            (b"rxe0 index=4294967296", Overflow),
            (b"rxe0 index=-1", BadNumber),
            (b"rxe0 sl=16", BadList),
            (b"rxe0 up=8", BadList),
            (b"rxe0 up=3-1", BadList),
            (b"rxe0 up=", BadList),
            (b"rxe0 up=1,", BadList),
            (b"rxe0 up=,1", BadList),
            (b"rxe0 up=1-", BadList),
            (b"rxe0 up=a", BadList),
            (b"rxe0 up=0-99999999999999999999", BadList),
            (
                b"a234567890123456789012345678901234567890123456789012345678901234 qp=1",
                NameTooLong,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_line(input).map(|_| ()), Err(*want));
        }
    }

    #[test]
    fn limits_at_edges() {
        let r = parse_line(b"rxe0 qp=0 cq=1 mr_bytes=18446744073709551614").unwrap();
        assert_eq!(limit(&r, Resource::Qp), Some(0));
        assert_eq!(limit(&r, Resource::Cq), Some(1));
        assert_eq!(limit(&r, Resource::MrBytes), Some(u64::MAX - 1));
        let r = parse_line(b"rxe0 hca_handle=2147483647").unwrap();
        assert_eq!(limit(&r, Resource::HcaHandle), Some(2147483647));
    }

    #[test]
    fn lines_skip_blank() {
        let mut it = lines(b"a qp=1\n\n  \nb qp=2\n");
        assert_eq!(it.next(), Some(&b"a qp=1"[..]));
        assert_eq!(it.next(), Some(&b"b qp=2"[..]));
        assert_eq!(it.next(), None);
    }
}
