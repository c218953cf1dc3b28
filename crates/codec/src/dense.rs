//! The dense codec of cold shards: a series' timestamps and values in as few bytes as the
//! data allows, **bit-exact** — every float bit comes back, NaN payloads and Prometheus'
//! stale marker included (VictoriaMetrics' long-term format drops NaN and rounds past 12
//! significant digits; this does neither). docs/format/dense.md has the measurements that
//! chose it.
//!
//! Each column is encoded to bytes, then stored behind a tag byte: `1` and one zstd frame of
//! them, or `0` and the bytes as they are when zstd would not shrink them (a constant column).
//!
//! **Timestamps** (a column many series share: a cold shard stores each distinct one once)
//!
//! | field | encoding |
//! |---|---|
//! | count n | uvarint |
//! | first timestamp | zig-zag varint |
//! | first delta | zig-zag varint (if n ≥ 2) |
//! | n − 2 delta-of-deltas | as runs: zeros before the next non-zero one (uvarint), then it (zig-zag varint); trailing zeros' count last |
//!
//! **Values** — a kind byte, then:
//!
//! | kind | body |
//! |---|---|
//! | 0 `CONST` | count n (uvarint), the one value's 8 bytes (big-endian IEEE bits) |
//! | 1 `DECIMAL` | n (uvarint), exponent e (u8, 0–18), exception count m (uvarint), m × (index delta uvarint, 8 bytes BE bits), then n integers k: the first as a zig-zag varint, the n − 1 deltas as runs (as the timestamps' delta-of-deltas) |
//! | 2 `XOR` | n (uvarint), n × 8 bytes: each value's bits XOR the previous value's (the first XOR 0), big-endian |
//!
//! `DECIMAL` is the ALP idea: most monitoring values are decimals with few digits (`0.25`,
//! `1234`, `0.000353061`), so `v = k / 10^e` for a small integer k. The encoder picks the
//! smallest e that makes the most values exact — checked bit for bit by decoding, so a value
//! that does not come back identical (NaN, −0, `0.1 + 0.2`) is an exception stored whole —
//! and falls back to `XOR` when more than a quarter are exceptions. Exception positions
//! repeat the previous k, so they cost a zero delta.

use std::borrow::Cow;

use crate::error::{CodecError, Result};
use crate::varint::{put_uvarint, put_varint, read_uvarint, zigzag_decode};

/// zstd level of cold frames: near the best ratio, still ~hundreds of MB/s to decode.
const ZSTD_LEVEL: i32 = 15;

/// The largest decoded column a frame may declare (a corrupt or hostile frame cannot make
/// the decoder allocate more).
pub const MAX_FRAME_BYTES: usize = 256 << 20;

/// The most values a column holds (a week of 1 s samples is 604,800): a constant column's
/// count is not bounded by its bytes, so it is bounded by this.
pub const MAX_COLUMN: usize = 1 << 24;

/// Frame tags.
const STORED: u8 = 0;
const ZSTD: u8 = 1;

const CONST: u8 = 0;
const DECIMAL: u8 = 1;
const XOR: u8 = 2;

/// 10^e for e in 0..=18, exact in f64.
const POW10: [f64; 19] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];

/// Integers up to this magnitude are exact in f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Encodes a timestamp column (see the module docs).
pub fn encode_timestamps(ts: &[i64]) -> Result<Vec<u8>> {
    check_len(ts.len())?;
    let mut raw = Vec::with_capacity(ts.len() / 4 + 16);
    put_uvarint(&mut raw, ts.len() as u64);
    if let Some(&first) = ts.first() {
        put_varint(&mut raw, first);
    }
    if ts.len() >= 2 {
        let first_delta = ts[1].wrapping_sub(ts[0]);
        put_varint(&mut raw, first_delta);
        let deltas = ts.windows(2).map(|w| w[1].wrapping_sub(w[0]));
        let dods = deltas.clone().zip(deltas.skip(1)).map(|(a, b)| b.wrapping_sub(a));
        put_runs(&mut raw, dods);
    }
    compress(&raw)
}

/// Decodes a timestamp column.
pub fn decode_timestamps(frame: &[u8]) -> Result<Vec<i64>> {
    let raw = decompress(frame)?;
    let mut pos = 0;
    let n = count(&raw, &mut pos)?;
    let mut out = Vec::with_capacity(reserve(n));
    if n > 0 {
        let mut t = next_varint(&raw, &mut pos)?;
        out.push(t);
        if n > 1 {
            let mut delta = next_varint(&raw, &mut pos)?;
            t = t.wrapping_add(delta);
            out.push(t);
            read_runs(&raw, &mut pos, n - 2, |zeros, dod| {
                // A run of steady steps, then one step that changes the interval.
                out.extend((1..=zeros as i64).map(|j| t.wrapping_add(delta.wrapping_mul(j))));
                t = t.wrapping_add(delta.wrapping_mul(zeros as i64));
                if let Some(dod) = dod {
                    delta = delta.wrapping_add(dod);
                    t = t.wrapping_add(delta);
                    out.push(t);
                }
            })?;
        }
    }
    trailing(&raw, pos)?;
    Ok(out)
}

/// Writes integers as runs: the count of zeros before each non-zero one (uvarint), then it
/// (zig-zag varint), and the count of trailing zeros last if there are any.
fn put_runs(raw: &mut Vec<u8>, xs: impl Iterator<Item = i64>) {
    let mut zeros = 0u64;
    for x in xs {
        if x == 0 {
            zeros += 1;
        } else {
            put_uvarint(raw, zeros);
            put_varint(raw, x);
            zeros = 0;
        }
    }
    if zeros > 0 {
        put_uvarint(raw, zeros);
    }
}

/// Reads `m` integers written by [`put_runs`], calling `each(zeros, next non-zero)` per run.
fn read_runs(raw: &[u8], pos: &mut usize, m: usize, mut each: impl FnMut(usize, Option<i64>)) -> Result<()> {
    let mut done = 0usize;
    while done < m {
        let at = *pos;
        let zeros = read_uvarint(raw, pos)?;
        if zeros > (m - done) as u64 {
            return Err(CodecError::Corrupt {
                offset: at,
                detail: format!("a run of {zeros} past the column's end"),
            });
        }
        done += zeros as usize;
        let x = if done < m {
            done += 1;
            Some(next_varint(raw, pos)?)
        } else {
            None
        };
        each(zeros as usize, x);
    }
    Ok(())
}

/// The zig-zag varint at `pos`: one byte (a steady scrape's zero delta-of-delta, a small
/// delta) read inline, longer ones by `read_uvarint`.
#[inline]
fn next_varint(raw: &[u8], pos: &mut usize) -> Result<i64> {
    match raw.get(*pos) {
        Some(&b) if b < 0x80 => {
            *pos += 1;
            Ok(zigzag_decode(u64::from(b)))
        }
        _ => read_uvarint(raw, pos).map(zigzag_decode),
    }
}

/// Encodes a value column, choosing its kind (see the module docs).
pub fn encode_values(values: &[f64]) -> Result<Vec<u8>> {
    check_len(values.len())?;
    let mut raw = Vec::with_capacity(values.len() * 2 + 16);
    let first = values.first().map_or(0, |v| v.to_bits());
    if values.iter().all(|v| v.to_bits() == first) {
        raw.push(CONST);
        put_uvarint(&mut raw, values.len() as u64);
        raw.extend_from_slice(&first.to_be_bytes());
    } else if let Some((e, exceptions)) = best_exponent(values) {
        write_decimal(values, e, &exceptions, &mut raw);
    } else {
        raw.push(XOR);
        put_uvarint(&mut raw, values.len() as u64);
        let mut prev = 0u64;
        for v in values {
            raw.extend_from_slice(&(v.to_bits() ^ prev).to_be_bytes());
            prev = v.to_bits();
        }
    }
    compress(&raw)
}

/// Decodes a value column.
pub fn decode_values(frame: &[u8]) -> Result<Vec<f64>> {
    let raw = decompress(frame)?;
    let kind = *raw.first().ok_or(CodecError::Truncated { what: "value kind", offset: 0 })?;
    let mut pos = 1;
    let n = count(&raw, &mut pos)?;
    let out = match kind {
        CONST => vec![f64::from_bits(be_u64(&raw, &mut pos, "constant value")?); n],
        DECIMAL => read_decimal(&raw, &mut pos, n)?,
        XOR => {
            let mut out = Vec::with_capacity(reserve(n));
            let mut prev = 0u64;
            for _ in 0..n {
                prev ^= be_u64(&raw, &mut pos, "xor value")?;
                out.push(f64::from_bits(prev));
            }
            out
        }
        other => {
            return Err(CodecError::Corrupt { offset: 0, detail: format!("unknown value kind {other}") })
        }
    };
    trailing(&raw, pos)?;
    Ok(out)
}

/// `v` as `k / 10^e` exactly, if it is one.
fn as_decimal(v: f64, e: usize) -> Option<i64> {
    let scaled = v * POW10[e];
    if !scaled.is_finite() || scaled.abs() >= EXACT {
        return None;
    }
    // Checked as the decoder computes it, from the integer: −0 comes back +0, so it fails.
    let k = scaled.round() as i64;
    ((k as f64 / POW10[e]).to_bits() == v.to_bits()).then_some(k)
}

/// The exponent that leaves the fewest exceptions (the smallest on a tie), and their
/// indexes; `None` when more than a quarter would be exceptions.
fn best_exponent(values: &[f64]) -> Option<(usize, Vec<usize>)> {
    let allowed = values.len() / 4;
    let mut best: Option<(usize, Vec<usize>)> = None;
    for e in 0..POW10.len() {
        let bound = best.as_ref().map_or(allowed, |b| b.1.len().saturating_sub(1));
        let mut exceptions = Vec::new();
        for (i, &v) in values.iter().enumerate() {
            if as_decimal(v, e).is_none() {
                exceptions.push(i);
                if exceptions.len() > bound {
                    break;
                }
            }
        }
        if exceptions.len() <= bound {
            let done = exceptions.is_empty();
            best = Some((e, exceptions));
            if done {
                break;
            }
        }
    }
    best
}

fn write_decimal(values: &[f64], e: usize, exceptions: &[usize], raw: &mut Vec<u8>) {
    raw.push(DECIMAL);
    put_uvarint(raw, values.len() as u64);
    raw.push(e as u8);
    put_uvarint(raw, exceptions.len() as u64);
    let mut last = 0;
    for &i in exceptions {
        put_uvarint(raw, (i - last) as u64);
        raw.extend_from_slice(&values[i].to_bits().to_be_bytes());
        last = i;
    }
    let mut prev = 0i64;
    let mut next_exception = exceptions.iter().peekable();
    let mut ks = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        let k = if next_exception.peek() == Some(&&i) {
            next_exception.next();
            prev
        } else {
            as_decimal(v, e).unwrap_or(prev)
        };
        ks.push(k);
        prev = k;
    }
    if let Some(&first) = ks.first() {
        put_varint(raw, first);
        put_runs(raw, ks.windows(2).map(|w| w[1].wrapping_sub(w[0])));
    }
}

fn read_decimal(raw: &[u8], pos: &mut usize, n: usize) -> Result<Vec<f64>> {
    let at = *pos;
    let e = *raw.get(at).ok_or(CodecError::Truncated { what: "decimal exponent", offset: at })? as usize;
    let scale = *POW10
        .get(e)
        .ok_or_else(|| CodecError::Corrupt { offset: at, detail: format!("exponent {e} > 18") })?;
    *pos += 1;
    let m = count(raw, pos)?;
    let mut exceptions = Vec::with_capacity(reserve(m.min(n)));
    let mut index = 0usize;
    for _ in 0..m {
        let at = *pos;
        index = index.saturating_add(read_uvarint(raw, pos)? as usize);
        if index >= n {
            return Err(CodecError::Corrupt {
                offset: at,
                detail: format!("exception index {index} ≥ {n} values"),
            });
        }
        exceptions.push((index, be_u64(raw, pos, "exception value")?));
    }
    let mut out = Vec::with_capacity(reserve(n));
    if n > 0 {
        // Division, not a multiplication by 1/scale: the encoder checked this very operation.
        let mut k = next_varint(raw, pos)?;
        out.push(k as f64 / scale);
        read_runs(raw, pos, n - 1, |zeros, delta| {
            out.extend(std::iter::repeat_n(k as f64 / scale, zeros));
            if let Some(delta) = delta {
                k = k.wrapping_add(delta);
                out.push(k as f64 / scale);
            }
        })?;
    }
    for (i, bits) in exceptions {
        out[i] = f64::from_bits(bits);
    }
    Ok(out)
}

fn check_len(n: usize) -> Result<()> {
    if n > MAX_COLUMN {
        return Err(CodecError::Full { format: "dense column", limit: MAX_COLUMN });
    }
    Ok(())
}

/// A column's count, bounded by [`MAX_COLUMN`] (runs and constants hold many values in few
/// bytes, so the frame's size is no bound).
fn count(raw: &[u8], pos: &mut usize) -> Result<usize> {
    let at = *pos;
    let n = read_uvarint(raw, pos)?;
    if n > MAX_COLUMN as u64 {
        return Err(CodecError::Corrupt { offset: at, detail: format!("count {n} exceeds {MAX_COLUMN}") });
    }
    Ok(n as usize)
}

/// Room to reserve for `n` decoded values: what a hostile count cannot inflate.
fn reserve(n: usize) -> usize {
    n.min(1 << 16)
}

fn be_u64(raw: &[u8], pos: &mut usize, what: &'static str) -> Result<u64> {
    let bytes = raw.get(*pos..*pos + 8).ok_or(CodecError::Truncated { what, offset: *pos })?;
    *pos += 8;
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| CodecError::Truncated { what, offset: *pos })?))
}

fn trailing(raw: &[u8], pos: usize) -> Result<()> {
    if pos != raw.len() {
        return Err(CodecError::Corrupt {
            offset: pos,
            detail: format!("{} bytes after the column", raw.len() - pos),
        });
    }
    Ok(())
}

/// A column as stored: tag [`STORED`] and the column's bytes when zstd would not make them
/// smaller (a constant column is ~11 bytes, a zstd frame of it ~20), else tag [`ZSTD`] and
/// one zstd frame.
fn compress(raw: &[u8]) -> Result<Vec<u8>> {
    let frame = zstd::bulk::compress(raw, ZSTD_LEVEL)
        .map_err(|e| CodecError::Corrupt { offset: 0, detail: format!("zstd refused to compress: {e}") })?;
    let (tag, body) = if frame.len() < raw.len() { (ZSTD, frame.as_slice()) } else { (STORED, raw) };
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(tag);
    out.extend_from_slice(body);
    Ok(out)
}

/// A column's bytes from a stored frame (see [`compress`]): borrowed when stored as they
/// are (most columns are constants; no copy on the decode path).
fn decompress(frame: &[u8]) -> Result<Cow<'_, [u8]>> {
    match frame.split_first() {
        Some((&STORED, raw)) => Ok(Cow::Borrowed(raw)),
        Some((&ZSTD, body)) => unzstd(body).map(Cow::Owned),
        Some((&tag, _)) => Err(CodecError::Corrupt { offset: 0, detail: format!("unknown frame tag {tag}") }),
        None => Err(CodecError::Truncated { what: "frame tag", offset: 0 }),
    }
}

/// Decompresses one zstd frame with this thread's reused zstd context (making one per frame
/// cost more than decoding a small column). The frame must state its decoded size (ours
/// do), which may not exceed [`MAX_FRAME_BYTES`].
fn unzstd(frame: &[u8]) -> Result<Vec<u8>> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let corrupt = |detail: String| CodecError::Corrupt { offset: 0, detail };
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_FRAME_BYTES as u64 => size as usize,
        Ok(Some(size)) => {
            return Err(corrupt(format!("frame declares {size} bytes, past {MAX_FRAME_BYTES}")))
        }
        _ => return Err(corrupt("not a zstd frame with a stated size".into())),
    };
    CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| corrupt(format!("zstd context: {e}")))?);
        }
        let context = slot.as_mut().ok_or_else(|| corrupt("zstd context".into()))?;
        let out = context.decompress(frame, size).map_err(|e| corrupt(format!("zstd frame: {e}")))?;
        if out.len() != size {
            return Err(corrupt(format!("frame decoded to {} bytes, not the {size} it states", out.len())));
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(values: &[f64]) -> u8 {
        let frame = encode_values(values).unwrap();
        let back = decode_values(&frame).unwrap();
        assert_eq!(back.len(), values.len());
        for (a, b) in values.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits(), "{a} came back as {b}");
        }
        decompress(&frame).unwrap()[0]
    }

    #[test]
    fn each_kind_is_chosen_where_it_fits_and_every_bit_comes_back() {
        assert_eq!(round_trip(&[0.5; 100]), CONST);
        assert_eq!(round_trip(&[]), CONST);
        let counter: Vec<f64> = (0..500).map(|i| (i * 3) as f64).collect();
        assert_eq!(round_trip(&counter), DECIMAL);
        let durations: Vec<f64> = (0..500).map(|i| (353_061 + i * 17) as f64 / 1e9).collect();
        assert_eq!(round_trip(&durations), DECIMAL);
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let mut with_odd_ones = counter.clone();
        with_odd_ones[7] = stale;
        with_odd_ones[8] = -0.0;
        with_odd_ones[9] = f64::from_bits(0x7ff8_dead_beef_0001);
        with_odd_ones[10] = 0.1 + 0.2;
        assert_eq!(round_trip(&with_odd_ones), DECIMAL, "a few exceptions keep the decimal form");
        let noise: Vec<f64> = (0..200).map(|i| (i as f64).sin() * 1e-3).collect();
        assert_eq!(round_trip(&noise), XOR);
    }

    #[test]
    fn timestamps_round_trip_and_a_steady_scrape_takes_almost_nothing() {
        let ts: Vec<i64> = (0..10_000).map(|i| 1_700_000_000_000 + i * 15_000).collect();
        let frame = encode_timestamps(&ts).unwrap();
        assert_eq!(decode_timestamps(&frame).unwrap(), ts);
        assert!(frame.len() < 64, "{} bytes for 10,000 steady timestamps", frame.len());
        for odd in [vec![], vec![i64::MIN], vec![i64::MAX, i64::MIN, 0, 5]] {
            assert_eq!(decode_timestamps(&encode_timestamps(&odd).unwrap()).unwrap(), odd);
        }
    }

    #[test]
    fn damaged_frames_are_errors() {
        let frame = encode_values(&[1.0, 2.0, 3.5]).unwrap();
        assert!(decode_values(&frame[..frame.len() - 1]).is_err());
        assert!(decode_values(b"not zstd").is_err());
        let bomb = compress(&[XOR, 0xff, 0xff, 0xff, 0xff, 0x0f]).unwrap();
        assert!(decode_values(&bomb).is_err(), "a count past the frame is refused");
        let bad_kind = compress(&[9, 1, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert!(decode_values(&bad_kind).unwrap_err().to_string().contains("unknown value kind 9"));
    }

    proptest! {
        #[test]
        fn any_values_come_back_bit_for_bit(bits in proptest::collection::vec(any::<u64>(), 0..300), decimals in proptest::collection::vec(-1_000_000i64..1_000_000, 0..300), e in 0usize..10) {
            let arbitrary: Vec<f64> = bits.iter().map(|&b| f64::from_bits(b)).collect();
            let decimal: Vec<f64> = decimals.iter().map(|&k| k as f64 / POW10[e]).collect();
            let mixed: Vec<f64> = decimal.iter().copied().chain(arbitrary.iter().copied().take(5)).collect();
            for values in [arbitrary, decimal, mixed] {
                let back = decode_values(&encode_values(&values).unwrap()).unwrap();
                prop_assert_eq!(back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            }
        }

        #[test]
        fn any_timestamps_come_back(ts in proptest::collection::vec(any::<i64>(), 0..300)) {
            prop_assert_eq!(decode_timestamps(&encode_timestamps(&ts).unwrap()).unwrap(), ts);
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_values(&bytes);
            let _ = decode_timestamps(&bytes);
            if let Ok(frame) = compress(&bytes) {
                let _ = decode_values(&frame);
                let _ = decode_timestamps(&frame);
            }
        }
    }
}
