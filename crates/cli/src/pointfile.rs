//! Raw point files: little-endian `(i64 timestamp_ms, f64 value)` pairs, 16 bytes a point,
//! nothing else. The input of `compress` and the output of `decompress` and `gen`.

use std::path::Path;

use anyhow::{bail, Context};

/// Bytes per point.
pub(crate) const POINT_BYTES: usize = 16;

/// Reads a whole raw point file.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<(i64, f64)>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode(&bytes).with_context(|| format!("in raw point file {}", path.display()))
}

/// Decodes raw point bytes.
pub(crate) fn decode(bytes: &[u8]) -> anyhow::Result<Vec<(i64, f64)>> {
    if !bytes.len().is_multiple_of(POINT_BYTES) {
        bail!(
            "{} bytes is not a whole number of {POINT_BYTES}-byte points (truncated? {} bytes left over)",
            bytes.len(),
            bytes.len() % POINT_BYTES
        );
    }
    Ok(bytes
        .chunks_exact(POINT_BYTES)
        .map(|p| {
            let (t, v) = p.split_at(8);
            let t = i64::from_le_bytes(t.try_into().unwrap_or_default());
            let v = f64::from_le_bytes(v.try_into().unwrap_or_default());
            (t, v)
        })
        .collect())
}

/// Encodes points as raw bytes.
pub(crate) fn encode(points: &[(i64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * POINT_BYTES);
    for &(t, v) in points {
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes a raw point file.
pub(crate) fn write(path: &Path, points: &[(i64, f64)]) -> anyhow::Result<()> {
    std::fs::write(path, encode(points)).with_context(|| format!("writing {}", path.display()))
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
