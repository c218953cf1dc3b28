//! Raw point files on disk; the format is `strata_codec::raw_points`.

use std::path::Path;

use anyhow::Context;
pub(crate) use strata_codec::raw_points::POINT_BYTES;
use strata_codec::raw_points::{decode, encode};

/// Reads a whole raw point file.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<(i64, f64)>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode(&bytes).with_context(|| format!("in raw point file {}", path.display()))
}

/// Writes a raw point file.
pub(crate) fn write(path: &Path, points: &[(i64, f64)]) -> anyhow::Result<()> {
    std::fs::write(path, encode(points)).with_context(|| format!("writing {}", path.display()))
}
