//! Cutting one series' samples — floats and native histograms — into block chunks.
//!
//! The samples are walked in time order; each run of one kind becomes chunks of that
//! kind, so a series' chunks never overlap even when it switches between floats and
//! histograms (as Prometheus cuts them). Float runs become XOR chunks of
//! [`SAMPLES_PER_BLOCK_CHUNK`]; histogram runs become histogram chunks (encoding 2, or 3 for
//! float histograms) cut where the codec requires it, at a switch between integer and float
//! histograms, and when full — as the head cuts them (`head::OpenChunk`).

use strata_codec::histogram::CounterResetHeader;
use strata_codec::xor::XorEncoder;
use strata_model::histogram::HistogramValue;
use strata_model::Labels;

use super::chunk_writer::{FLOAT_HISTOGRAM_ENCODING, HISTOGRAM_ENCODING, XOR_ENCODING};
use super::SAMPLES_PER_BLOCK_CHUNK;
use crate::head::OpenChunk;
use crate::StorageError;

/// One encoded chunk and its time range (both ends inclusive).
#[derive(Debug)]
pub(crate) struct EncodedChunk {
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    pub(crate) encoding: u8,
    pub(crate) bytes: Vec<u8>,
}

/// The chunks of a series with `samples` and `histograms`, each strictly increasing in
/// time, in time order. Fails if a timestamp has both a float and a histogram.
pub(crate) fn encode_series(
    labels: &Labels,
    samples: &[(i64, f64)],
    histograms: &[(i64, HistogramValue)],
) -> Result<Vec<EncodedChunk>, StorageError> {
    let mut out = Vec::new();
    let (mut f, mut h) = (0, 0);
    while f < samples.len() || h < histograms.len() {
        let next_float = samples.get(f).map(|s| s.0);
        let next_histogram = histograms.get(h).map(|s| s.0);
        match (next_float, next_histogram) {
            (Some(a), Some(b)) if a == b => {
                return Err(StorageError::Invalid(format!(
                    "series {labels} has a float and a histogram at {a}"
                )));
            }
            (Some(a), b) if b.is_none_or(|b| a < b) => {
                let end = f + samples[f..].partition_point(|s| b.is_none_or(|b| s.0 < b));
                encode_floats(&samples[f..end], &mut out)?;
                f = end;
            }
            (a, _) => {
                let end = h + histograms[h..].partition_point(|s| a.is_none_or(|a| s.0 < a));
                encode_histograms(&histograms[h..end], &mut out)?;
                h = end;
            }
        }
    }
    Ok(out)
}

fn encode_floats(samples: &[(i64, f64)], out: &mut Vec<EncodedChunk>) -> Result<(), StorageError> {
    for part in samples.chunks(SAMPLES_PER_BLOCK_CHUNK) {
        let mut enc = XorEncoder::new();
        for &(t, v) in part {
            enc.append(t, v)?;
        }
        let (mint, maxt) = (part[0].0, part[part.len() - 1].0);
        out.push(EncodedChunk { mint, maxt, encoding: XOR_ENCODING, bytes: enc.finish().0 });
    }
    Ok(())
}

fn encode_histograms(
    samples: &[(i64, HistogramValue)],
    out: &mut Vec<EncodedChunk>,
) -> Result<(), StorageError> {
    let mut open: Option<(OpenChunk, i64, i64)> = None;
    for (t, value) in samples {
        let mut header = CounterResetHeader::Unknown;
        if let Some((chunk, mint, maxt)) = &mut open {
            if !chunk.full() {
                match chunk.append(*t, value)? {
                    None => {
                        *maxt = *t;
                        continue;
                    }
                    Some(h) => header = h,
                }
            }
            out.push(finish(chunk, *mint, *maxt));
        }
        let mut chunk = OpenChunk::new(value, header);
        chunk.append(*t, value)?;
        open = Some((chunk, *t, *t));
    }
    if let Some((chunk, mint, maxt)) = open {
        out.push(finish(&chunk, mint, maxt));
    }
    Ok(())
}

fn finish(chunk: &OpenChunk, mint: i64, maxt: i64) -> EncodedChunk {
    let encoding = if chunk.is_float() { FLOAT_HISTOGRAM_ENCODING } else { HISTOGRAM_ENCODING };
    EncodedChunk { mint, maxt, encoding, bytes: chunk.to_bytes() }
}
