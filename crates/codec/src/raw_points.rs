//! Raw point files: little-endian `(i64 timestamp_ms, f64 value)` pairs, 16 bytes a point,
//! nothing else. What `strata gen` writes, `strata compress` reads and `strata decompress`
//! writes back; the examples read them too.

use crate::{CodecError, Result};

/// Bytes per point.
pub const POINT_BYTES: usize = 16;

/// Decodes raw point bytes; a length that is not a whole number of points is an error.
pub fn decode(bytes: &[u8]) -> Result<Vec<(i64, f64)>> {
    if !bytes.len().is_multiple_of(POINT_BYTES) {
        return Err(CodecError::Corrupt {
            offset: bytes.len() - bytes.len() % POINT_BYTES,
            detail: format!(
                "{} bytes is not a whole number of {POINT_BYTES}-byte points (truncated? {} bytes left over)",
                bytes.len(),
                bytes.len() % POINT_BYTES
            ),
        });
    }
    Ok(bytes
        .chunks_exact(POINT_BYTES)
        .map(|p| {
            let mut t = [0u8; 8];
            let mut v = [0u8; 8];
            t.copy_from_slice(&p[..8]);
            v.copy_from_slice(&p[8..]);
            (i64::from_le_bytes(t), f64::from_le_bytes(v))
        })
        .collect())
}

/// Encodes points as raw bytes.
pub fn encode(points: &[(i64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * POINT_BYTES);
    for &(t, v) in points {
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let points = [(1703001600000, 0.75), (i64::MIN, f64::NAN)];
        let bytes = encode(&points);
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[..8], &1703001600000i64.to_le_bytes());
        let back = decode(&bytes).unwrap();
        assert_eq!(back[0], points[0]);
        assert!(back[1].1.is_nan());
        let err = decode(&bytes[..31]).unwrap_err().to_string();
        assert!(err.contains("31 bytes") && err.contains("15 bytes left over"), "{err}");
    }
}
