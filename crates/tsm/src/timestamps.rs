//! Timestamps of a block, as tsm1 stores them: delta-encoded, divided by their largest
//! common power of ten, then run-length, simple8b or raw.
//!
//! | byte 0                                   | then                                                  |
//! |------------------------------------------|-------------------------------------------------------|
//! | `0x2k`: RLE, divisor 10^k                | first: u64 BE, uvarint(delta / 10^k), uvarint(count)  |
//! | `0x1k`: simple8b, divisor 10^k           | first: u64 BE, simple8b words of delta / 10^k         |
//! | `0x00`: raw                              | first, then each delta: u64 BE (no divisor)           |
//!
//! The encoder picks as InfluxDB does: RLE when there are two or more timestamps and every
//! delta is equal, simple8b when every scaled delta fits in 60 bits, raw otherwise. The
//! divisor starts at 10^12 and falls to the largest power of ten dividing every delta (a
//! single timestamp has no delta and keeps 10^12: its header is `0x1C`). Timestamps are
//! nanoseconds in InfluxDB; the codec does not care about the unit.

use strata_codec::varint::{put_uvarint, read_uvarint};

use crate::error::DecodeError;
use crate::simple8b;

const RAW: u8 = 0;
const PACKED: u8 = 1;
const RLE: u8 = 2;
/// A hostile RLE count could ask for any number of timestamps; a block holds far fewer.
pub const MAX_DECODED: u64 = 1 << 24;

/// Encodes ascending timestamps.
pub fn encode(ts: &[i64], out: &mut Vec<u8>) {
    let Some(&first) = ts.first() else {
        out.push(RAW << 4);
        return;
    };
    let deltas: Vec<u64> = ts.windows(2).map(|w| w[1].wrapping_sub(w[0]) as u64).collect();
    let mut div = 1_000_000_000_000u64;
    let mut log = 12u8;
    for &d in &deltas {
        while div > 1 && d % div != 0 {
            div /= 10;
            log -= 1;
        }
    }
    let max = deltas.iter().copied().max().unwrap_or(0);
    if !deltas.is_empty() && deltas.iter().all(|&d| d == deltas[0]) {
        out.push(RLE << 4 | log);
        out.extend_from_slice(&(first as u64).to_be_bytes());
        put_uvarint(out, deltas[0] / div);
        put_uvarint(out, ts.len() as u64);
        return;
    }
    if max / div <= simple8b::MAX_VALUE {
        let start = out.len();
        out.push(PACKED << 4 | log);
        out.extend_from_slice(&(first as u64).to_be_bytes());
        let scaled: Vec<u64> = deltas.iter().map(|d| d / div).collect();
        if simple8b::encode(&scaled, out).is_some() {
            return;
        }
        out.truncate(start);
    }
    out.push(RAW << 4);
    out.extend_from_slice(&(first as u64).to_be_bytes());
    for d in deltas {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

/// Decodes timestamps onto `out`.
pub fn decode(bytes: &[u8], out: &mut Vec<i64>) -> Result<(), DecodeError> {
    const WHAT: &str = "timestamps";
    let Some(&header) = bytes.first() else {
        return Err(DecodeError::new(WHAT, 0, "no timestamp encoding byte"));
    };
    let log = u32::from(header & 0x0F);
    let div = 10u64.checked_pow(log).ok_or_else(|| DecodeError::new(WHAT, 0, format!("divisor 10^{log}")))?;
    let body = &bytes[1..];
    match header >> 4 {
        RAW => {
            if !body.len().is_multiple_of(8) {
                return Err(DecodeError::new(
                    WHAT,
                    1,
                    "raw timestamps are not a whole number of 8-byte values",
                ));
            }
            let mut t = 0i64;
            for chunk in body.chunks_exact(8) {
                t = t.wrapping_add(be_u64(chunk) as i64);
                out.push(t);
            }
        }
        PACKED => {
            let first = first_value(body, WHAT)?;
            let mut deltas = Vec::new();
            simple8b::decode(&body[8..], WHAT, &mut deltas).map_err(|e| shifted(e, 9))?;
            let mut t = first;
            out.push(t);
            for d in deltas {
                t = t.wrapping_add(d.wrapping_mul(div) as i64);
                out.push(t);
            }
        }
        RLE => {
            let first = first_value(body, WHAT)?;
            let mut pos = 8;
            let delta =
                read_uvarint(body, &mut pos).map_err(|_| DecodeError::new(WHAT, 1 + pos, "bad RLE delta"))?;
            let count =
                read_uvarint(body, &mut pos).map_err(|_| DecodeError::new(WHAT, 1 + pos, "bad RLE count"))?;
            if count > MAX_DECODED {
                return Err(DecodeError::new(WHAT, 1 + pos, format!("RLE count {count} is not plausible")));
            }
            let step = delta.wrapping_mul(div) as i64;
            let mut t = first;
            for _ in 0..count {
                out.push(t);
                t = t.wrapping_add(step);
            }
        }
        other => return Err(DecodeError::new(WHAT, 0, format!("unknown timestamp encoding {other}"))),
    }
    Ok(())
}

/// The first value (u64 BE) of a packed or RLE encoding.
pub(crate) fn first_value(body: &[u8], what: &'static str) -> Result<i64, DecodeError> {
    if body.len() < 8 {
        return Err(DecodeError::new(what, 1, "ended inside the first value"));
    }
    Ok(be_u64(&body[..8]) as i64)
}

pub(crate) fn be_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_be_bytes(w)
}

pub(crate) fn shifted(mut e: DecodeError, by: usize) -> DecodeError {
    e.offset += by;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(ts: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(ts, &mut out);
        out
    }

    #[test]
    fn regular_ten_second_samples_are_rle_with_divisor_ten_to_the_ten() {
        let ts: Vec<i64> = (0..1000).map(|i| 1_700_000_000_000_000_000 + i * 10_000_000_000).collect();
        let bytes = encoded(&ts);
        assert_eq!(bytes[0], 0x2A);
        assert!(bytes.len() < 16);
    }

    #[test]
    fn a_single_timestamp_keeps_the_largest_divisor() {
        assert_eq!(encoded(&[5])[0], 0x1C);
        assert_eq!(encoded(&[5]).len(), 9);
    }

    #[test]
    fn huge_deltas_are_raw() {
        let ts = [i64::MIN, 0, i64::MAX - 3];
        assert_eq!(encoded(&ts)[0], 0x00);
    }

    #[test]
    fn hostile_headers_are_errors() {
        let mut out = Vec::new();
        assert!(decode(&[], &mut out).is_err());
        assert!(decode(&[0x10, 0, 0], &mut out).is_err(), "ends inside the first value");
        assert!(decode(&[0x30], &mut out).is_err());
        let mut rle = vec![0x20];
        rle.extend_from_slice(&[0; 8]);
        rle.extend_from_slice(&[1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        assert!(decode(&rle, &mut out).is_err(), "an RLE count of 4 billion");
    }

    proptest! {
        #[test]
        fn round_trips(start in any::<i64>(), steps in prop::collection::vec(
            prop_oneof![Just(10_000_000_000i64), 1i64..1000, 1i64..i64::MAX / 2000], 0..1200)) {
            let mut ts = vec![start];
            for s in steps {
                let next = ts[ts.len() - 1].wrapping_add(s);
                ts.push(next);
            }
            let mut back = Vec::new();
            decode(&encoded(&ts), &mut back).unwrap();
            prop_assert_eq!(back, ts);
        }
    }
}
