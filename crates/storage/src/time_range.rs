//! Reading a time range out of chunks: shared by the block reader and the head.

use strata_codec::xor::XorIter;
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
    for sample in XorIter::new(chunk)? {
        let (t, v) = sample?;
        if (mint..=maxt).contains(&t) {
            out.push((t, v));
        }
    }
    Ok(())
}
