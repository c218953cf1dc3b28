//! String values of a block: header `0x10`, then one Snappy block (the raw format, not the
//! framed one) of uvarint(length) + bytes per string. Strata does not store strings (its
//! values are floats); it reads them to count and skip them, as its line protocol does.

use strata_codec::varint::{put_uvarint, read_uvarint};

use crate::error::DecodeError;

/// Encodes strings.
pub fn encode(values: &[&[u8]], out: &mut Vec<u8>) {
    let mut raw = Vec::new();
    for v in values {
        put_uvarint(&mut raw, v.len() as u64);
        raw.extend_from_slice(v);
    }
    out.push(0x10);
    // Compressing a buffer we built cannot fail but for its size (over 4 GiB).
    out.extend(snap::raw::Encoder::new().compress_vec(&raw).unwrap_or_default());
}

/// How many strings the values hold (decoding them all).
pub fn count(bytes: &[u8]) -> Result<usize, DecodeError> {
    Ok(decode(bytes)?.len())
}

/// Decodes strings.
pub fn decode(bytes: &[u8]) -> Result<Vec<Vec<u8>>, DecodeError> {
    const WHAT: &str = "string values";
    if bytes.is_empty() {
        return Err(DecodeError::new(WHAT, 0, "no string encoding byte"));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&bytes[1..])
        .map_err(|e| DecodeError::new(WHAT, 1, format!("snappy: {e}")))?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        let len = read_uvarint(&raw, &mut pos).map_err(|_| DecodeError::new(WHAT, 1, "bad string length"))?;
        let end = pos.checked_add(len as usize).filter(|&e| e <= raw.len());
        let Some(end) = end else {
            return Err(DecodeError::new(WHAT, 1, format!("a string of {len} bytes runs past the block")));
        };
        out.push(raw[pos..end].to_vec());
        pos = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..30), 0..50)) {
            let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            let mut bytes = Vec::new();
            encode(&refs, &mut bytes);
            prop_assert_eq!(decode(&bytes).unwrap(), values);
        }
    }
}
