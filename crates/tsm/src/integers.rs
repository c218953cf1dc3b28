//! Integer (and unsigned) values of a block: each the ZigZag of its delta from the previous
//! (the first from 0), then run-length, simple8b or raw. Unsigned values are encoded as the
//! integers with the same bits; only the block's type byte tells them apart.
//!
//! | byte 0 | then                                                                  |
//! |--------|-----------------------------------------------------------------------|
//! | `0x20` | RLE: first: u64 BE, uvarint(delta), uvarint(repeats = count − 1)      |
//! | `0x10` | simple8b: first: u64 BE, simple8b words of the other deltas           |
//! | `0x00` | raw: every delta, u64 BE                                              |
//!
//! All fields hold ZigZag values. RLE is chosen for more than two values whose deltas after
//! the first are all equal; simple8b when every delta after the first fits in 60 bits.
//! Note RLE stores repeats where timestamps' RLE stores the count.

use strata_codec::varint::{put_uvarint, read_uvarint, zigzag_decode, zigzag_encode};

use crate::error::DecodeError;
use crate::simple8b;
use crate::timestamps::{be_u64, first_value, shifted, MAX_DECODED};

const RAW: u8 = 0;
const PACKED: u8 = 1;
const RLE: u8 = 2;

/// Encodes integers.
pub fn encode(values: &[i64], out: &mut Vec<u8>) {
    let mut prev = 0i64;
    let deltas: Vec<u64> = values
        .iter()
        .map(|&v| {
            let d = zigzag_encode(v.wrapping_sub(prev));
            prev = v;
            d
        })
        .collect();
    if deltas.len() > 2 && deltas[2..].iter().all(|&d| d == deltas[1]) {
        out.push(RLE << 4);
        out.extend_from_slice(&deltas[0].to_be_bytes());
        put_uvarint(out, deltas[1]);
        put_uvarint(out, deltas.len() as u64 - 1);
        return;
    }
    if let Some((&first, rest)) = deltas.split_first() {
        let start = out.len();
        out.push(PACKED << 4);
        out.extend_from_slice(&first.to_be_bytes());
        if simple8b::encode(rest, out).is_some() {
            return;
        }
        out.truncate(start);
    }
    out.push(RAW << 4);
    for d in deltas {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

/// Decodes integers onto `out`.
pub fn decode(bytes: &[u8], out: &mut Vec<i64>) -> Result<(), DecodeError> {
    const WHAT: &str = "integer values";
    let Some(&header) = bytes.first() else {
        return Err(DecodeError::new(WHAT, 0, "no integer encoding byte"));
    };
    let body = &bytes[1..];
    let mut v = 0i64;
    match header >> 4 {
        RAW => {
            if !body.len().is_multiple_of(8) {
                return Err(DecodeError::new(
                    WHAT,
                    1,
                    "raw integers are not a whole number of 8-byte values",
                ));
            }
            for chunk in body.chunks_exact(8) {
                v = v.wrapping_add(zigzag_decode(be_u64(chunk)));
                out.push(v);
            }
        }
        PACKED => {
            v = zigzag_decode(first_value(body, WHAT)? as u64);
            out.push(v);
            let mut deltas = Vec::new();
            simple8b::decode(&body[8..], WHAT, &mut deltas).map_err(|e| shifted(e, 9))?;
            for d in deltas {
                v = v.wrapping_add(zigzag_decode(d));
                out.push(v);
            }
        }
        RLE => {
            v = zigzag_decode(first_value(body, WHAT)? as u64);
            let mut pos = 8;
            let delta =
                read_uvarint(body, &mut pos).map_err(|_| DecodeError::new(WHAT, 1 + pos, "bad RLE delta"))?;
            let repeats =
                read_uvarint(body, &mut pos).map_err(|_| DecodeError::new(WHAT, 1 + pos, "bad RLE count"))?;
            if repeats >= MAX_DECODED {
                return Err(DecodeError::new(WHAT, 1 + pos, format!("RLE count {repeats} is not plausible")));
            }
            let delta = zigzag_decode(delta);
            out.push(v);
            for _ in 0..repeats {
                v = v.wrapping_add(delta);
                out.push(v);
            }
        }
        other => return Err(DecodeError::new(WHAT, 0, format!("unknown integer encoding {other}"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(values: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(values, &mut out);
        out
    }

    #[test]
    fn encodings_are_chosen_as_influxdb_does() {
        assert_eq!(encoded(&[5, 10, 15, 20])[0], 0x20, "equal deltas after the first");
        assert_eq!(encoded(&[5, 10])[0], 0x10, "two values are never RLE");
        assert_eq!(encoded(&[0, i64::MAX, i64::MIN])[0], 0x00, "deltas over 60 bits");
    }

    proptest! {
        #[test]
        fn round_trips(values in prop::collection::vec(prop_oneof![any::<i64>(), -50i64..50], 0..1100),
                       run in 0usize..20) {
            let mut values = values;
            values.extend((0..run as i64).map(|i| i * 7));
            let mut back = Vec::new();
            decode(&encoded(&values), &mut back).unwrap();
            prop_assert_eq!(back, values);
        }
    }
}
