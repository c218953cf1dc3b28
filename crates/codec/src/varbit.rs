//! Prometheus' "varbit" integers, the variable-width fields of histogram chunks.
//!
//! A value is a unary-ish prefix naming a payload width, then the payload, MSB first:
//!
//! | prefix      | payload | signed range            | unsigned range |
//! |-------------|---------|-------------------------|----------------|
//! | `0`         | —       | 0                       | 0              |
//! | `10`        | 3       | −3 … 4                  | ≤ 7            |
//! | `110`       | 6       | −31 … 32                | ≤ 63           |
//! | `1110`      | 9       | −255 … 256              | ≤ 511          |
//! | `11110`     | 12      | −2047 … 2048            | ≤ 4095         |
//! | `111110`    | 18      | −131071 … 131072        | ≤ 262143       |
//! | `1111110`   | 25      | −16777215 … 16777216    | ≤ 33554431     |
//! | `11111110`  | 56      | −(2^55 − 1) … 2^55      | < 2^56         |
//! | `11111111`  | 64      | anything                | anything       |
//!
//! Signed payloads are two's complement truncated to the width, with the same asymmetric
//! ranges as the XOR chunk's timestamps: a payload `u > 2^(w−1)` reads as `u − 2^w`.

use crate::bits::{BitReader, BitWriter};
use crate::{CodecError, Result};

/// Payload widths, indexed by the number of leading one bits of the prefix.
const WIDTHS: [u32; 9] = [0, 3, 6, 9, 12, 18, 25, 56, 64];

/// Whether `v` fits a signed payload of `width` bits as the format reads it back.
fn fits_signed(v: i64, width: u32) -> bool {
    let half = 1i64 << (width - 1);
    -(half - 1) <= v && v <= half
}

/// Writes the prefix for the bucket with `ones` leading one bits.
fn write_prefix(w: &mut BitWriter, ones: u32) {
    if ones < 8 {
        // `ones` one bits then a zero: the value (2^ones − 1) << 1 in ones + 1 bits.
        w.write_bits(((1u64 << ones) - 1) << 1, ones + 1);
    } else {
        w.write_bits(0xff, 8);
    }
}

/// Appends a signed varbit integer.
pub fn put_varbit_int(w: &mut BitWriter, v: i64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    let ones = (1..8).find(|&i| fits_signed(v, WIDTHS[i as usize])).unwrap_or(8);
    write_prefix(w, ones);
    w.write_bits(v as u64, WIDTHS[ones as usize]);
}

/// Appends an unsigned varbit integer.
pub fn put_varbit_uint(w: &mut BitWriter, v: u64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    let ones = (1..8).find(|&i| v >> WIDTHS[i as usize] == 0).unwrap_or(8);
    write_prefix(w, ones);
    w.write_bits(v, WIDTHS[ones as usize]);
}

/// Reads the prefix and returns the payload width.
fn read_width(r: &mut BitReader<'_>) -> u32 {
    let mut ones = 0;
    while ones < 8 && r.read_bit() {
        ones += 1;
    }
    WIDTHS[ones]
}

/// Reads a signed varbit integer; `what` names the field in the error for a short stream.
pub fn read_varbit_int(r: &mut BitReader<'_>, what: &'static str) -> Result<i64> {
    let width = read_width(r);
    let value = match width {
        0 => 0,
        64 => r.read_bits_wide(64) as i64,
        w => {
            let bits = r.read_bits(w);
            if bits > 1 << (w - 1) {
                bits as i64 - (1i64 << w)
            } else {
                bits as i64
            }
        }
    };
    check(r, what)?;
    Ok(value)
}

/// Reads an unsigned varbit integer.
pub fn read_varbit_uint(r: &mut BitReader<'_>, what: &'static str) -> Result<u64> {
    let value = match read_width(r) {
        0 => 0,
        w => r.read_bits_wide(w),
    };
    check(r, what)?;
    Ok(value)
}

/// The error for a stream that ended inside `what`, if it did.
pub(crate) fn check(r: &BitReader<'_>, what: &'static str) -> Result<()> {
    if r.overrun() {
        Err(CodecError::Truncated { what, offset: (r.bit_position() / 8) as usize })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_int(v: i64) -> (Vec<u8>, u64) {
        let mut w = BitWriter::new();
        put_varbit_int(&mut w, v);
        let bits = w.bit_len();
        (w.finish(), bits)
    }

    #[test]
    fn widths_follow_the_table() {
        for (v, bits) in [(0, 1), (4, 5), (-3, 5), (5, 9), (32, 9), (-31, 9), (256, 13), (2048, 17)] {
            assert_eq!(encode_int(v).1, bits, "value {v}");
        }
        for (v, bits) in [(131_072, 24), (16_777_216, 32), (1i64 << 55, 64), (i64::MIN, 72)] {
            assert_eq!(encode_int(v).1, bits, "value {v}");
        }
        assert_eq!(encode_int(-4).0, vec![0b1101_1110, 0b0000_0000], "-4 needs the 6-bit bucket");
    }

    #[test]
    fn truncated_input_is_an_error() {
        let (bytes, _) = encode_int(1 << 40);
        let mut r = BitReader::new(&bytes[..3]);
        assert!(matches!(
            read_varbit_int(&mut r, "bucket"),
            Err(CodecError::Truncated { what: "bucket", .. })
        ));
    }

    proptest! {
        #[test]
        fn signed_round_trip(values in proptest::collection::vec(any::<i64>().prop_flat_map(|v| prop_oneof![Just(v), Just(v >> 40), Just(v >> 58)]), 1..50)) {
            let mut w = BitWriter::new();
            values.iter().for_each(|v| put_varbit_int(&mut w, *v));
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for v in &values {
                prop_assert_eq!(read_varbit_int(&mut r, "value").unwrap(), *v);
            }
        }

        #[test]
        fn unsigned_round_trip(values in proptest::collection::vec(any::<u64>().prop_flat_map(|v| prop_oneof![Just(v), Just(v >> 40), Just(v >> 60)]), 1..50)) {
            let mut w = BitWriter::new();
            values.iter().for_each(|v| put_varbit_uint(&mut w, *v));
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for v in &values {
                prop_assert_eq!(read_varbit_uint(&mut r, "value").unwrap(), *v);
            }
        }
    }
}
