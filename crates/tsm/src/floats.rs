//! Float values of a block: InfluxDB's variant of Gorilla's XOR compression (values only;
//! the timestamps are their own stream).
//!
//! | field           | bits | meaning                                                   |
//! |-----------------|------|-----------------------------------------------------------|
//! | header          | 8    | `0x10` (encoding 1 in the high nibble)                    |
//! | first value     | 64   | its IEEE 754 bits                                         |
//! | per next value  |      | XOR with the previous value, then:                        |
//! | `0`             | 1    | the same value again                                      |
//! | `10` + bits     | 2+m  | the meaningful bits inside the previous window            |
//! | `11` + l + s    | 13+s | new window: 5 bits leading zeros, 6 bits length (0 = 64)  |
//! | end             |      | the value `0x7FF8000000000001` (a NaN), then zero padding |
//!
//! Unlike Prometheus' XOR chunk there is no count: the stream ends at that NaN, so that one
//! bit pattern cannot be stored (InfluxDB refuses every NaN; Strata refuses only it, so a
//! Prometheus stale marker, `0x7FF0000000000002`, survives). Leading zeros above 31 are
//! written as 31 (5 bits), which only widens the window.

use strata_codec::bits::{BitReader, BitWriter};

use crate::error::DecodeError;

/// The end-of-stream marker's bits.
pub const END_BITS: u64 = 0x7FF8_0000_0000_0001;
const HEADER: u8 = 0x10;

/// Encodes `values`; `Err` names a value that is the end marker.
pub fn encode(values: &[f64], out: &mut Vec<u8>) -> Result<(), String> {
    if let Some(i) = values.iter().position(|v| v.to_bits() == END_BITS) {
        return Err(format!("value {i} has the bits 0x7FF8000000000001, the float stream's end marker"));
    }
    let mut w = BitWriter::with_prefix(vec![HEADER]);
    let mut bits = values.iter().map(|v| v.to_bits()).chain(std::iter::once(END_BITS));
    let Some(first) = bits.next() else { return Ok(()) };
    w.write_bits(first, 64);
    let (mut prev, mut window): (u64, Option<(u32, u32)>) = (first, None);
    for v in bits {
        let xor = v ^ prev;
        prev = v;
        if xor == 0 {
            w.write_bit(false);
            continue;
        }
        let leading = xor.leading_zeros().min(31);
        let trailing = xor.trailing_zeros();
        match window {
            Some((l, t)) if leading >= l && trailing >= t => {
                w.write_bits(0b10, 2);
                w.write_bits(xor >> t, 64 - l - t);
            }
            _ => {
                let significant = 64 - leading - trailing;
                w.write_bits(0b11, 2);
                w.write_bits(u64::from(leading), 5);
                w.write_bits(u64::from(significant), 6); // 64 is written as 0
                w.write_bits(xor >> trailing, significant);
                window = Some((leading, trailing));
            }
        }
    }
    out.extend_from_slice(&w.finish());
    Ok(())
}

/// Decodes values onto `out`.
pub fn decode(bytes: &[u8], out: &mut Vec<f64>) -> Result<(), DecodeError> {
    const WHAT: &str = "float values";
    match bytes.first() {
        Some(&h) if h >> 4 == 1 => {}
        Some(&h) => return Err(DecodeError::new(WHAT, 0, format!("unknown float encoding {}", h >> 4))),
        None => return Err(DecodeError::new(WHAT, 0, "no float encoding byte")),
    }
    let mut r = BitReader::new(&bytes[1..]);
    let mut value = r.read_bits_wide(64);
    let (mut leading, mut trailing) = (0u32, 0u32);
    loop {
        if r.overrun() {
            let at = 1 + (r.bit_position() / 8) as usize;
            return Err(DecodeError::new(WHAT, at.min(bytes.len()), "ended before the end marker"));
        }
        if value == END_BITS {
            return Ok(());
        }
        out.push(f64::from_bits(value));
        if !r.read_bit() {
            continue; // the same value again
        }
        if r.read_bit() {
            leading = r.read_bits(5) as u32;
            let significant = match r.read_bits(6) as u32 {
                0 => 64,
                s => s,
            };
            if leading + significant > 64 {
                let at = 1 + (r.bit_position() / 8) as usize;
                return Err(DecodeError::new(WHAT, at, format!("window of {leading} + {significant} bits")));
            }
            trailing = 64 - leading - significant;
        }
        let significant = 64 - leading - trailing;
        value ^= r.read_bits_wide(significant) << trailing;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: &[f64]) -> Vec<f64> {
        let mut bytes = Vec::new();
        encode(values, &mut bytes).unwrap();
        let mut back = Vec::new();
        decode(&bytes, &mut back).unwrap();
        back
    }

    #[test]
    fn the_end_marker_is_refused_and_other_nans_kept() {
        assert!(encode(&[1.0, f64::from_bits(END_BITS)], &mut Vec::new()).is_err());
        let stale = f64::from_bits(0x7FF0_0000_0000_0002);
        let back = round_trip(&[1.0, stale, f64::NAN]);
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            [1f64.to_bits(), stale.to_bits(), f64::NAN.to_bits()]
        );
    }

    #[test]
    fn truncation_is_an_error() {
        let mut bytes = Vec::new();
        encode(&[1.5, 2.5, 3.25, 100.0], &mut bytes).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], &mut Vec::new()).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn round_trips_bit_exact(values in prop::collection::vec(prop_oneof![
            any::<f64>(), (0i32..100).prop_map(f64::from), Just(0.0), Just(-0.0), Just(f64::INFINITY)], 0..1100)) {
            let values: Vec<f64> = values.into_iter().filter(|v| v.to_bits() != END_BITS).collect();
            let back = round_trip(&values);
            prop_assert_eq!(back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }

        #[test]
        fn never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes, &mut Vec::new());
        }
    }
}
