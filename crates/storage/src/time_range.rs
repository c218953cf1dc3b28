//! Reading a time range out of chunks: shared by the block reader and the head.

use strata_codec::xor::decode_chunk_into;
use strata_codec::CodecError;

/// Whether a chunk spanning `[chunk_min, chunk_max]` holds anything in `[mint, maxt]`.
pub(crate) fn overlaps(chunk_min: i64, chunk_max: i64, mint: i64, maxt: i64) -> bool {
    chunk_max >= mint && chunk_min <= maxt
}

/// Appends the samples of XOR `chunk` that fall in `[mint, maxt]` to `out`.
pub(crate) fn push_samples_in_range(
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), CodecError> {
    let start = out.len();
    decode_chunk_into(chunk, out)?;
    // Samples are in time order: keep the slice of the new ones inside the range.
    let new = &out[start..];
    let from = start + new.partition_point(|s| s.0 < mint);
    let to = start + new.partition_point(|s| s.0 <= maxt);
    out.truncate(to);
    out.drain(start..from);
    Ok(())
}
