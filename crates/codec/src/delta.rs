//! The "delta" codec: byte-aligned varints, columnar.
//!
//! | field | encoding |
//! |---|---|
//! | count | uvarint number of samples |
//! | ts_len | uvarint byte length of the timestamp section |
//! | timestamps | varint `t0`, varint `t1 − t0`, then varint delta-of-delta per sample |
//! | values | `v0`'s bits as `BE64`, then per sample the varint of `bits(vₙ) − bits(vₙ₋₁)` |
//!
//! Differences wrap (two's complement), so every `i64` timestamp and every `f64` bit
//! pattern (NaN payloads, `-0.0`, subnormals) round-trips exactly. It is simpler and looser
//! than Gorilla XOR: a regular scrape interval costs one byte per timestamp, but a changing
//! float value costs several bytes, since nearby floats differ in their low mantissa bits.
//! The sections are separate so their sizes can be reported (and so a reader that wants
//! only timestamps could skip the values).

use crate::varint::{put_uvarint, put_varint, read_uvarint, read_varint};
use crate::{CodecError, Result};

/// How the output divides between the two columns, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Bytes of the timestamp section.
    pub timestamp_bytes: u64,
    /// Bytes of the value section.
    pub value_bytes: u64,
    /// Bytes of the two length fields.
    pub overhead_bytes: u64,
}

/// Builds a delta-encoded series sample by sample.
#[derive(Debug, Clone, Default)]
pub struct DeltaEncoder {
    timestamps: Vec<u8>,
    values: Vec<u8>,
    count: u64,
    t: i64,
    t_delta: i64,
    v_bits: u64,
}

impl DeltaEncoder {
    /// An empty series.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a sample (any timestamps, any order).
    pub fn append(&mut self, t: i64, v: f64) {
        let v_bits = v.to_bits();
        match self.count {
            0 => {
                put_varint(&mut self.timestamps, t);
                self.values.extend_from_slice(&v_bits.to_be_bytes());
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                let field = if self.count == 1 { delta } else { delta.wrapping_sub(self.t_delta) };
                put_varint(&mut self.timestamps, field);
                put_varint(&mut self.values, v_bits.wrapping_sub(self.v_bits) as i64);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v_bits = v_bits;
        self.count += 1;
    }

    /// Ends the series, returning its bytes and figures.
    pub fn finish(self) -> (Vec<u8>, DeltaStats) {
        let mut out = Vec::with_capacity(self.timestamps.len() + self.values.len() + 20);
        put_uvarint(&mut out, self.count);
        put_uvarint(&mut out, self.timestamps.len() as u64);
        let stats = DeltaStats {
            timestamp_bytes: self.timestamps.len() as u64,
            value_bytes: self.values.len() as u64,
            overhead_bytes: out.len() as u64,
        };
        out.extend_from_slice(&self.timestamps);
        out.extend_from_slice(&self.values);
        (out, stats)
    }
}

/// Encodes a whole series.
pub fn encode(samples: impl IntoIterator<Item = (i64, f64)>) -> (Vec<u8>, DeltaStats) {
    let mut enc = DeltaEncoder::new();
    samples.into_iter().for_each(|(t, v)| enc.append(t, v));
    enc.finish()
}

/// Streaming decoder: two cursors, one per column. After an error it yields nothing more.
#[derive(Debug, Clone)]
pub struct DeltaIter<'a> {
    buf: &'a [u8],
    /// Cursor in the timestamp section; never passes `ts_end`.
    ts_pos: usize,
    ts_end: usize,
    /// Cursor in the value section.
    v_pos: usize,
    remaining: u64,
    read: u64,
    t: i64,
    t_delta: i64,
    v_bits: u64,
    failed: bool,
}

impl<'a> DeltaIter<'a> {
    /// Starts decoding; fails if the two length fields are missing or inconsistent.
    pub fn new(buf: &'a [u8]) -> Result<Self> {
        let mut pos = 0;
        let count = read_uvarint(buf, &mut pos)?;
        let ts_len = read_uvarint(buf, &mut pos)?;
        let ts_end = usize::try_from(ts_len)
            .ok()
            .and_then(|len| pos.checked_add(len))
            .filter(|&end| end <= buf.len())
            .ok_or(CodecError::Corrupt {
                offset: pos,
                detail: format!("timestamp section of {ts_len} bytes overruns the {}-byte input", buf.len()),
            })?;
        Ok(DeltaIter {
            buf,
            ts_pos: pos,
            ts_end,
            v_pos: ts_end,
            remaining: count,
            read: 0,
            t: 0,
            t_delta: 0,
            v_bits: 0,
            failed: false,
        })
    }

    /// Number of samples the header announces.
    pub fn sample_count(&self) -> u64 {
        self.remaining + self.read
    }

    /// Advances to the first sample with timestamp ≥ `t`.
    pub fn seek(&mut self, t: i64) -> Option<Result<(i64, f64)>> {
        self.by_ref().find(|s| s.as_ref().map_or(true, |&(st, _)| st >= t))
    }

    fn decode_next(&mut self) -> Result<(i64, f64)> {
        let ts = &self.buf[..self.ts_end];
        let field = read_varint(ts, &mut self.ts_pos).map_err(|e| match e {
            CodecError::Truncated { offset, .. } => {
                CodecError::Truncated { what: "timestamp section", offset }
            }
            other => other,
        })?;
        if self.read == 0 {
            self.t = field;
            let Some(bytes) = self.buf.get(self.v_pos..self.v_pos + 8) else {
                return Err(CodecError::Truncated { what: "first value", offset: self.buf.len() });
            };
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            self.v_bits = u64::from_be_bytes(word);
            self.v_pos += 8;
        } else {
            self.t_delta = if self.read == 1 { field } else { self.t_delta.wrapping_add(field) };
            self.t = self.t.wrapping_add(self.t_delta);
            let diff = read_varint(self.buf, &mut self.v_pos)?;
            self.v_bits = self.v_bits.wrapping_add(diff as u64);
        }
        Ok((self.t, f64::from_bits(self.v_bits)))
    }
}

impl Iterator for DeltaIter<'_> {
    type Item = Result<(i64, f64)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 || self.failed {
            return None;
        }
        match self.decode_next() {
            Ok(sample) => {
                self.remaining -= 1;
                self.read += 1;
                Some(Ok(sample))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Decodes a whole series, checking that no byte is left over.
pub fn decode(buf: &[u8]) -> Result<Vec<(i64, f64)>> {
    let mut iter = DeltaIter::new(buf)?;
    // The count comes from the input: cap the reservation by what the bytes can hold.
    let mut out = Vec::with_capacity((iter.sample_count() as usize).min(buf.len()));
    for sample in iter.by_ref() {
        out.push(sample?);
    }
    if iter.ts_pos != iter.ts_end || iter.v_pos != buf.len() {
        return Err(CodecError::Corrupt {
            offset: iter.v_pos,
            detail: "bytes left over after the announced samples".to_string(),
        });
    }
    Ok(out)
}
