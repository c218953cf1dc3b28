//! simple8b: many small unsigned integers packed into 64-bit words, as InfluxDB's tsm1
//! packs timestamp deltas and integer deltas.
//!
//! | bits 63..60 | bits 59..0                                                   |
//! |-------------|--------------------------------------------------------------|
//! | selector    | `n` values of `b` bits each, the first in the lowest bits    |
//!
//! | selector | 0   | 1   | 2  | 3  | 4  | 5  | 6  | 7  | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 |
//! |----------|-----|-----|----|----|----|----|----|----|---|---|----|----|----|----|----|----|
//! | n        | 240 | 120 | 60 | 30 | 20 | 15 | 12 | 10 | 8 | 7 | 6  | 5  | 4  | 3  | 2  | 1  |
//! | b        | 0   | 0   | 1  | 2  | 3  | 4  | 5  | 6  | 7 | 8 | 10 | 12 | 15 | 20 | 30 | 60 |
//!
//! Selectors 0 and 1 hold runs of the value 1 (not 0: a regular series' deltas divided by
//! their common factor are all 1). Words are written big-endian. Values over 2^60 − 1
//! cannot be packed; callers fall back to their raw encodings.
//!
//! The encoder is greedy: at each position, the first selector whose `n` next values all
//! fit. It only uses a selector when `n` values remain, so every word is full and a reader
//! needs no count.

use crate::error::DecodeError;

/// The largest value simple8b can hold.
pub const MAX_VALUE: u64 = (1 << 60) - 1;

/// (values per word, bits per value) by selector.
const SELECTORS: [(usize, u32); 16] = [
    (240, 0),
    (120, 0),
    (60, 1),
    (30, 2),
    (20, 3),
    (15, 4),
    (12, 5),
    (10, 6),
    (8, 7),
    (7, 8),
    (6, 10),
    (5, 12),
    (4, 15),
    (3, 20),
    (2, 30),
    (1, 60),
];

/// Packs `values` onto `out`; `None` (with nothing written) if one exceeds [`MAX_VALUE`].
pub fn encode(values: &[u64], out: &mut Vec<u8>) -> Option<()> {
    if values.iter().any(|&v| v > MAX_VALUE) {
        return None;
    }
    let mut rest = values;
    while !rest.is_empty() {
        let (selector, n, bits) = SELECTORS
            .iter()
            .enumerate()
            .map(|(s, &(n, bits))| (s as u64, n, bits))
            .find(|&(_, n, bits)| fits(rest, n, bits))?;
        let mut word = selector << 60;
        if bits > 0 {
            for (i, &v) in rest[..n].iter().enumerate() {
                word |= v << (i as u32 * bits);
            }
        }
        out.extend_from_slice(&word.to_be_bytes());
        rest = &rest[n..];
    }
    Some(())
}

/// Whether the next `n` values of `rest` fill a word of `bits`-bit values.
fn fits(rest: &[u64], n: usize, bits: u32) -> bool {
    if rest.len() < n {
        return false;
    }
    let head = &rest[..n];
    if bits == 0 {
        return head.iter().all(|&v| v == 1);
    }
    head.iter().all(|&v| v >> bits == 0)
}

/// Unpacks every word of `bytes` (a whole number of 8-byte words) onto `out`.
pub fn decode(bytes: &[u8], what: &'static str, out: &mut Vec<u64>) -> Result<(), DecodeError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(DecodeError::new(
            what,
            bytes.len(),
            "simple8b data is not a whole number of 8-byte words",
        ));
    }
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        unpack(u64::from_be_bytes(word), out);
    }
    Ok(())
}

/// The values of one word.
fn unpack(word: u64, out: &mut Vec<u64>) {
    let (n, bits) = SELECTORS[(word >> 60) as usize];
    if bits == 0 {
        out.extend(std::iter::repeat_n(1, n));
        return;
    }
    let mask = (1u64 << bits) - 1;
    out.extend((0..n as u32).map(|i| (word >> (i * bits)) & mask));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn runs_of_one_take_one_word_per_240() {
        let mut out = Vec::new();
        encode(&[1; 480], &mut out).unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(out[0] >> 4, 0, "selector 0");
    }

    #[test]
    fn a_value_over_sixty_bits_is_refused() {
        let mut out = Vec::new();
        assert!(encode(&[1, MAX_VALUE + 1], &mut out).is_none());
        assert!(out.is_empty());
    }

    #[test]
    fn a_partial_word_is_an_error() {
        assert!(decode(&[0; 7], "test", &mut Vec::new()).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(values in prop::collection::vec(
            prop_oneof![0u64..4, 0u64..1000, 0..=MAX_VALUE], 0..600)) {
            let mut bytes = Vec::new();
            encode(&values, &mut bytes).unwrap();
            let mut back = Vec::new();
            decode(&bytes, "test", &mut back).unwrap();
            prop_assert_eq!(back, values);
        }
    }
}
