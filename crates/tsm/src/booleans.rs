//! Boolean values of a block: header `0x10`, uvarint(count), then one bit per value, the
//! first in the most significant bit of the first byte, the last byte zero-padded.

use strata_codec::varint::{put_uvarint, read_uvarint};

use crate::error::DecodeError;

/// Encodes booleans.
pub fn encode(values: &[bool], out: &mut Vec<u8>) {
    out.push(0x10);
    put_uvarint(out, values.len() as u64);
    for byte in values.chunks(8) {
        out.push(byte.iter().enumerate().fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << (7 - i))));
    }
}

/// Decodes booleans onto `out`.
pub fn decode(bytes: &[u8], out: &mut Vec<bool>) -> Result<(), DecodeError> {
    const WHAT: &str = "boolean values";
    if bytes.is_empty() {
        return Err(DecodeError::new(WHAT, 0, "no boolean encoding byte"));
    }
    let mut pos = 1;
    let count = read_uvarint(bytes, &mut pos).map_err(|_| DecodeError::new(WHAT, 1, "bad count"))?;
    let packed = &bytes[pos..];
    if count.div_ceil(8) > packed.len() as u64 {
        return Err(DecodeError::new(
            WHAT,
            pos,
            format!("{count} values need more than the {} bytes left", packed.len()),
        ));
    }
    out.extend((0..count as usize).map(|i| packed[i / 8] & (0x80 >> (i % 8)) != 0));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(values in prop::collection::vec(any::<bool>(), 0..100)) {
            let mut bytes = Vec::new();
            encode(&values, &mut bytes);
            let mut back = Vec::new();
            decode(&bytes, &mut back).unwrap();
            prop_assert_eq!(back, values);
        }
    }
}
