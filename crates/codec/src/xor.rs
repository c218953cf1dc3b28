//! Gorilla XOR chunks, byte-compatible with Prometheus' XOR chunk (encoding 1).
//!
//! | field | encoding |
//! |---|---|
//! | header | `BE16` number of samples (so at most 65,535); the bit stream follows |
//! | sample 0 | timestamp as zig-zag varint bytes; value as 64 raw bits |
//! | sample 1 | `t1 − t0` as uvarint bytes; value as an XOR field (below) |
//! | sample n ≥ 2 | delta-of-delta `dod = (tₙ − tₙ₋₁) − (tₙ₋₁ − tₙ₋₂)`; value as an XOR field |
//! | padding | zero bits to the next byte |
//!
//! Delta-of-delta buckets (the payload is the low n bits, two's complement; the ranges are
//! deliberately asymmetric, `-(2ⁿ⁻¹−1) ..= 2ⁿ⁻¹`, and so is the decoder):
//!
//! | prefix | payload | dod range |
//! |---|---|---|
//! | `0` | — | 0 |
//! | `10` | 14 bits | −8191 ..= 8192 |
//! | `110` | 17 bits | −65535 ..= 65536 |
//! | `1110` | 20 bits | −524287 ..= 524288 |
//! | `1111` | 64 bits | anything |
//!
//! XOR field, with `x = bits(v) ^ bits(previous v)`:
//!
//! | prefix | then | when |
//! |---|---|---|
//! | `0` | — | `x == 0` (value repeated) |
//! | `10` | `64 − lz − tz` bits of `x >> tz`, reusing the window `(lz, tz)` | `x`'s leading zeros ≥ lz and trailing zeros ≥ tz |
//! | `11` | 5 bits lz, 6 bits sig (64 is written as 0), sig bits of `x >> tz`; the window becomes `(lz, tz)` | otherwise |
//!
//! Leading zeros are clamped to 31 (5 bits). Timestamp arithmetic wraps (as Go's does), so
//! any `i64` timestamps round-trip, however far apart. Prometheus releases up to 2.42
//! sometimes leave one extra zero byte at the end; decoders stop at the sample count and
//! ignore trailing bytes. Source: Prometheus' `tsdb/chunkenc/xor.go` and
//! `tsdb/docs/format/chunks.md`, restated in ../shared/specs/prom-format-notes.md.

use crate::bits::{BitReader, BitWriter};
use crate::varint::{put_uvarint, put_varint, read_uvarint, read_varint};
use crate::{CodecError, Result};

/// Most samples one chunk can count in its `BE16` header.
pub const MAX_SAMPLES_PER_CHUNK: usize = u16::MAX as usize;

/// How an encoder's output divides between timestamps and the three kinds of value field;
/// this is what `strata compress` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XorStats {
    /// Bits spent on timestamps (varints and delta-of-delta fields).
    pub timestamp_bits: u64,
    /// Bits spent on the first value of each chunk (64 each).
    pub first_value_bits: u64,
    /// Values equal to their predecessor: count and bits (`0`).
    pub repeat: ClassStats,
    /// Values that reused the previous XOR window: count and bits (`10` + payload).
    pub reuse_window: ClassStats,
    /// Values that set a new XOR window: count and bits (`11` + 11 + payload).
    pub new_window: ClassStats,
    /// Header bits (the 16-bit count) and final padding.
    pub overhead_bits: u64,
}

/// Count and total bits of one kind of value field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Values of this kind.
    pub count: u64,
    /// Bits they took, control bits included.
    pub bits: u64,
}

impl ClassStats {
    fn add(&mut self, bits: u32) {
        self.count += 1;
        self.bits += u64::from(bits);
    }

    fn merge(&mut self, other: &ClassStats) {
        self.count += other.count;
        self.bits += other.bits;
    }
}

impl XorStats {
    /// Adds another encoder's figures to these.
    pub fn merge(&mut self, other: &XorStats) {
        self.timestamp_bits += other.timestamp_bits;
        self.first_value_bits += other.first_value_bits;
        self.repeat.merge(&other.repeat);
        self.reuse_window.merge(&other.reuse_window);
        self.new_window.merge(&other.new_window);
        self.overhead_bits += other.overhead_bits;
    }

    /// All value bits (first values and the three XOR kinds).
    pub fn value_bits(&self) -> u64 {
        self.first_value_bits + self.repeat.bits + self.reuse_window.bits + self.new_window.bits
    }
}

/// Where an encoder keeps its encoding figures: [`Counted`] keeps them, [`Uncounted`] (a
/// type of no size) does not — an encoder per series sits in every TSDB head, and the head
/// never reads the figures, so its encoders carry no field for them.
pub trait Figures: std::fmt::Debug {
    /// The figures to add to, if kept.
    fn get(&mut self) -> Option<&mut XorStats>;
    /// The figures at the end, with the chunk's final padding (all zeros when not kept).
    fn into_stats(self, padding_bits: u64) -> XorStats;
}

/// Figures kept (boxed: they are large, and only a few encoders keep them).
pub type Counted = Box<XorStats>;

impl Figures for Counted {
    #[inline]
    fn get(&mut self) -> Option<&mut XorStats> {
        Some(self)
    }

    fn into_stats(self, padding_bits: u64) -> XorStats {
        XorStats { overhead_bits: self.overhead_bits + padding_bits, ..*self }
    }
}

/// No figures kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct Uncounted;

impl Figures for Uncounted {
    #[inline]
    fn get(&mut self) -> Option<&mut XorStats> {
        None
    }

    fn into_stats(self, _padding_bits: u64) -> XorStats {
        XorStats::default()
    }
}

/// Builds one XOR chunk sample by sample.
#[derive(Debug, Clone)]
pub struct XorEncoder<F: Figures = Counted> {
    stream: BitWriter,
    count: u16,
    t: i64,
    /// `t − previous t`, wrapping; meaningful from the second sample on.
    t_delta: i64,
    v_bits: u64,
    /// The current XOR window `(leading, trailing)`; `None` until the first `11` field.
    /// Bytes, not u32s (leading ≤ 31, trailing ≤ 63): an encoder per series sits in every
    /// TSDB head, and this keeps it 8 bytes smaller.
    window: Option<(u8, u8)>,
    /// Encoding figures, if kept ([`Figures`]).
    stats: F,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorEncoder {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::with_capacity(2)
    }

    /// An empty chunk whose buffer holds `bytes` before it must grow: a writer that knows
    /// its chunks' usual size avoids the reallocations (and the freed blocks they leave).
    pub fn with_capacity(bytes: usize) -> Self {
        XorEncoder::empty(bytes, Box::new(XorStats { overhead_bits: 16, ..XorStats::default() }))
    }
}

impl XorEncoder<Uncounted> {
    /// [`XorEncoder::with_capacity`] without encoding figures: [`XorEncoder::finish`] then
    /// reports all zeros. For encoders kept by the million, where the figures are not read.
    pub fn without_stats(bytes: usize) -> Self {
        XorEncoder::empty(bytes, Uncounted)
    }
}

impl<F: Figures> XorEncoder<F> {
    fn empty(bytes: usize, stats: F) -> Self {
        let mut header = Vec::with_capacity(bytes.max(2));
        header.extend_from_slice(&[0, 0]);
        XorEncoder {
            stream: BitWriter::with_prefix(header),
            count: 0,
            t: 0,
            t_delta: 0,
            v_bits: 0,
            window: None,
            stats,
        }
    }

    /// Timestamp of the newest sample appended, if any.
    pub fn last_timestamp(&self) -> Option<i64> {
        (self.count > 0).then_some(self.t)
    }

    /// Number of samples appended.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether no sample was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size of the chunk so far in bytes, padding included.
    pub fn byte_len(&self) -> usize {
        self.stream.bit_len().div_ceil(8) as usize
    }

    /// Bytes allocated for the chunk (at least [`XorEncoder::byte_len`]).
    pub fn byte_capacity(&self) -> usize {
        self.stream.capacity()
    }

    /// Appends a sample. Timestamps need not increase (any `i64` sequence round-trips),
    /// though chunks in a TSDB hold increasing ones. Fails only when the chunk is full.
    pub fn append(&mut self, t: i64, v: f64) -> Result<()> {
        if usize::from(self.count) == MAX_SAMPLES_PER_CHUNK {
            return Err(CodecError::Full { format: "XOR chunk", limit: MAX_SAMPLES_PER_CHUNK });
        }
        let v_bits = v.to_bits();
        let before = self.stream.bit_len();
        match self.count {
            0 => {
                let mut head = Vec::with_capacity(10);
                put_varint(&mut head, t);
                self.stream.write_bytes(&head);
                if let Some(st) = self.stats.get() {
                    st.timestamp_bits += self.stream.bit_len() - before;
                }
                self.stream.write_bits(v_bits, 64);
                if let Some(st) = self.stats.get() {
                    st.first_value_bits += 64;
                }
            }
            1 => {
                let delta = t.wrapping_sub(self.t);
                let mut head = Vec::with_capacity(10);
                put_uvarint(&mut head, delta as u64);
                self.stream.write_bytes(&head);
                if let Some(st) = self.stats.get() {
                    st.timestamp_bits += self.stream.bit_len() - before;
                }
                self.t_delta = delta;
                self.write_value(v_bits);
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                self.write_dod(delta.wrapping_sub(self.t_delta));
                if let Some(st) = self.stats.get() {
                    st.timestamp_bits += self.stream.bit_len() - before;
                }
                self.t_delta = delta;
                self.write_value(v_bits);
            }
        }
        self.t = t;
        self.v_bits = v_bits;
        self.count += 1;
        Ok(())
    }

    #[inline]
    fn write_dod(&mut self, dod: i64) {
        let s = &mut self.stream;
        if dod == 0 {
            s.write_bits(0, 1);
        } else if fits_bucket(dod, 14) {
            s.write_bits(0b10, 2);
            s.write_bits(dod as u64, 14);
        } else if fits_bucket(dod, 17) {
            s.write_bits(0b110, 3);
            s.write_bits(dod as u64, 17);
        } else if fits_bucket(dod, 20) {
            s.write_bits(0b1110, 4);
            s.write_bits(dod as u64, 20);
        } else {
            s.write_bits(0b1111, 4);
            s.write_bits(dod as u64, 64);
        }
    }

    #[inline]
    fn write_value(&mut self, v_bits: u64) {
        let x = v_bits ^ self.v_bits;
        if x == 0 {
            self.stream.write_bits(0, 1);
            if let Some(st) = self.stats.get() {
                st.repeat.add(1);
            }
            return;
        }
        let lz = x.leading_zeros().min(31);
        let tz = x.trailing_zeros();
        match self.window {
            Some((wl, wt)) if lz >= u32::from(wl) && tz >= u32::from(wt) => {
                let (wl, wt) = (u32::from(wl), u32::from(wt));
                let sig = 64 - wl - wt;
                self.stream.write_bits(0b10, 2);
                self.stream.write_bits(x >> wt, sig);
                if let Some(st) = self.stats.get() {
                    st.reuse_window.add(2 + sig);
                }
            }
            _ => {
                let sig = 64 - lz - tz;
                self.stream.write_bits(0b11, 2);
                self.stream.write_bits(u64::from(lz), 5);
                self.stream.write_bits(u64::from(sig), 6); // 64 wraps to 0 in 6 bits
                self.stream.write_bits(x >> tz, sig);
                // lz ≤ 31 and tz ≤ 63 (x is not 0 here): both fit a byte.
                self.window = Some((lz as u8, tz as u8));
                if let Some(st) = self.stats.get() {
                    st.new_window.add(13 + sig);
                }
            }
        }
    }

    /// The chunk as it stands, without ending it (appending may continue).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.stream.to_bytes();
        bytes[..2].copy_from_slice(&self.count.to_be_bytes());
        bytes
    }

    /// Ends the chunk, returning its bytes and the encoding figures (all zeros for an
    /// encoder made [`XorEncoder::without_stats`]).
    pub fn finish(self) -> (Vec<u8>, XorStats) {
        let padding = (8 - self.stream.bit_len() % 8) % 8;
        let stats = self.stats.into_stats(padding);
        let count = self.count.to_be_bytes();
        let mut bytes = self.stream.finish();
        bytes[..2].copy_from_slice(&count);
        (bytes, stats)
    }
}

/// Whether `dod` fits the asymmetric n-bit bucket `-(2ⁿ⁻¹−1) ..= 2ⁿ⁻¹`.
#[inline]
fn fits_bucket(dod: i64, n: u32) -> bool {
    let half = 1i64 << (n - 1);
    -(half - 1) <= dod && dod <= half
}

/// Encodes `samples` as one chunk (at most [`MAX_SAMPLES_PER_CHUNK`]).
pub fn encode_chunk(samples: impl IntoIterator<Item = (i64, f64)>) -> Result<(Vec<u8>, XorStats)> {
    let mut enc = XorEncoder::new();
    for (t, v) in samples {
        enc.append(t, v)?;
    }
    Ok(enc.finish())
}

/// Streaming decoder over one chunk: yields samples in stored order without materialising
/// the chunk. After an error it yields nothing more.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    chunk: &'a [u8],
    /// State of the bit stream; meaningful once sample 1 was read.
    body: BodyDecoder<'a>,
    /// Samples still to decode.
    remaining: u16,
    /// Samples decoded so far.
    read: u16,
    failed: bool,
    /// Byte offset just past sample 0 (where sample 1's uvarint starts).
    body_start: usize,
}

/// What decoding a sample after the first two needs: the bit reader and the previous
/// sample. `Copy`, so a hot loop can work on a local copy that lives in registers.
#[derive(Debug, Clone, Copy)]
struct BodyDecoder<'a> {
    reader: BitReader<'a>,
    t: i64,
    /// `t − previous t`, wrapping.
    t_delta: i64,
    v_bits: u64,
    /// The current XOR window.
    leading: u32,
    trailing: u32,
}

/// The sample count an XOR chunk's 2-byte header gives (big-endian); `None` when the chunk
/// is too short to have one. Nothing else is read or checked.
pub fn header_sample_count(chunk: &[u8]) -> Option<u16> {
    chunk.get(..2).map(|h| u16::from_be_bytes([h[0], h[1]]))
}

impl<'a> XorIter<'a> {
    /// Starts decoding `chunk`. Fails only if the 2-byte header is missing.
    pub fn new(chunk: &'a [u8]) -> Result<Self> {
        let Some(count) = header_sample_count(chunk) else {
            return Err(CodecError::Truncated { what: "XOR chunk header", offset: chunk.len() });
        };
        let body =
            BodyDecoder { reader: BitReader::new(&[]), t: 0, t_delta: 0, v_bits: 0, leading: 0, trailing: 0 };
        Ok(XorIter { chunk, body, remaining: count, read: 0, failed: false, body_start: 2 })
    }

    /// Number of samples the chunk header announces.
    pub fn sample_count(&self) -> usize {
        usize::from(self.remaining) + usize::from(self.read)
    }

    /// Advances to the first sample with timestamp ≥ `t` and returns it (`None` when there
    /// is none). Like Prometheus' `Seek`, a linear scan: chunks are short.
    pub fn seek(&mut self, t: i64) -> Option<Result<(i64, f64)>> {
        self.by_ref().find(|s| s.as_ref().map_or(true, |&(st, _)| st >= t))
    }

    fn fail(&mut self, err: CodecError) -> Option<Result<(i64, f64)>> {
        self.failed = true;
        Some(Err(err))
    }

    /// Samples 0 and 1 start with byte-aligned varints; read them from the slice, then
    /// hand the rest of the chunk to the bit reader.
    fn read_head_sample(&mut self) -> Result<(i64, f64)> {
        let b = &mut self.body;
        if self.read == 0 {
            let mut pos = 2;
            b.t = read_varint(self.chunk, &mut pos)?;
            let Some(v) = self.chunk.get(pos..pos + 8) else {
                return Err(CodecError::Truncated { what: "first value", offset: self.chunk.len() });
            };
            let mut word = [0u8; 8];
            word.copy_from_slice(v);
            b.v_bits = u64::from_be_bytes(word);
            self.body_start = pos + 8;
            return Ok((b.t, f64::from_bits(b.v_bits)));
        }
        let mut pos = self.body_start;
        b.t_delta = read_uvarint(self.chunk, &mut pos)? as i64;
        b.t = b.t.wrapping_add(b.t_delta);
        b.reader = BitReader::new(&self.chunk[pos..]);
        b.reader.refill();
        b.read_value();
        Ok((b.t, f64::from_bits(b.v_bits)))
    }
}

impl BodyDecoder<'_> {
    /// Decodes sample n ≥ 2. A refill before the timestamp, and another before the value
    /// payload if fewer bits than it needs are left, keep every read within the 56 bits a
    /// refill guarantees (the timestamp and the value's control bits take at most 4 + 20 + 13).
    #[inline(always)]
    fn read_sample(&mut self) -> (i64, f64) {
        self.reader.refill();
        self.read_refilled_sample()
    }

    /// [`Self::read_sample`] right after a refill.
    #[inline(always)]
    fn read_refilled_sample(&mut self) -> (i64, f64) {
        let dod = if self.reader.buffer() >> 63 == 0 {
            self.reader.consume(1);
            0
        } else {
            self.read_dod_bucket()
        };
        self.t_delta = self.t_delta.wrapping_add(dod);
        self.t = self.t.wrapping_add(self.t_delta);
        self.read_value();
        (self.t, f64::from_bits(self.v_bits))
    }

    /// A non-zero delta-of-delta: up to four prefix bits, then its bucket's payload.
    #[inline(always)]
    fn read_dod_bucket(&mut self) -> i64 {
        let r = &mut self.reader;
        let ones = (!r.buffer()).leading_zeros().min(4);
        r.consume(if ones == 4 { 4 } else { ones + 1 });
        let size = match ones {
            1 => 14,
            2 => 17,
            3 => 20,
            _ => {
                r.refill();
                let high = r.consume(32);
                r.refill();
                return ((high << 32) | r.consume(32)) as i64;
            }
        };
        let bits = r.consume(size);
        if bits > 1 << (size - 1) {
            (bits as i64) - (1i64 << size)
        } else {
            bits as i64
        }
    }

    /// Decodes an XOR field without branching on its kind (which kind comes next depends
    /// on the data, so a branch would often be mispredicted): the control bits and the
    /// 11-bit window header are read from the buffer at once and selected arithmetically.
    /// Expects at least 13 buffered bits.
    #[inline(always)]
    fn read_value(&mut self) {
        let r = &mut self.reader;
        let bits = r.buffer();
        let nonzero = (bits >> 63) as u32; // `0` → value repeated
        let new_window = u32::from(bits >> 62 == 0b11); // `11` → window header follows
        let header = ((bits >> 51) & 0x7ff) as u32;
        let lead = header >> 6;
        let sig = ((header & 0x3f).wrapping_sub(1) & 0x3f) + 1; // 0 means 64
                                                                // A corrupt window (lead + sig > 64) cannot come from an encoder; clamping keeps
                                                                // the shifts in range, so a bad chunk decodes to garbage, never to a panic.
        let trail = 64u32.saturating_sub(lead + sig);
        if new_window == 1 {
            self.leading = lead;
            self.trailing = trail;
        }
        r.consume(1 + nonzero + 11 * new_window);
        let sig = (64 - self.leading - self.trailing) * nonzero;
        r.ensure(sig.min(56));
        let x = if sig <= 56 {
            r.consume(sig)
        } else {
            let high = r.consume(sig - 32);
            r.refill();
            (high << 32) | r.consume(32)
        };
        self.v_bits ^= x << self.trailing;
    }
}

impl Iterator for XorIter<'_> {
    type Item = Result<(i64, f64)>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 || self.failed {
            return None;
        }
        let sample = if self.read < 2 {
            match self.read_head_sample() {
                Ok(s) => s,
                Err(e) => return self.fail(e),
            }
        } else {
            self.body.read_sample()
        };
        if self.body.reader.overrun() {
            let offset = self.chunk.len();
            return self.fail(CodecError::Truncated { what: "XOR chunk sample", offset });
        }
        self.remaining -= 1;
        self.read += 1;
        Some(Ok(sample))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}

/// The shortest run of unchanged samples [`decode_chunk_into`] writes in one go. Shorter
/// runs take the ordinary path: checking for a run at every sample would mispredict on a
/// changing series whose value sometimes repeats once (a gauge decoded 35% slower).
const MIN_RUN: u32 = 4;

/// Decodes a whole chunk into `out`, appending; on error `out` is left as it was.
///
/// Faster than collecting the iterator: after the first two samples it decodes in a
/// counted loop on a local copy of the decoder state (which can then live in registers)
/// straight into `out`'s spare capacity, and checks for a truncated chunk once at the end
/// (a read past the end yields zeros, never out-of-bounds memory, so checking late is safe).
/// Runs of unchanged samples at a steady interval are written without decoding each.
pub fn decode_chunk_into(chunk: &[u8], out: &mut Vec<(i64, f64)>) -> Result<()> {
    let start_len = out.len();
    let mut iter = XorIter::new(chunk)?;
    out.reserve(iter.sample_count());
    while iter.read < 2 {
        match iter.next() {
            Some(Ok(sample)) => out.push(sample),
            Some(Err(e)) => {
                out.truncate(start_len);
                return Err(e);
            }
            None => return Ok(()),
        }
    }
    let n = usize::from(iter.remaining);
    let mut body = iter.body;
    let mut slots = out.spare_capacity_mut()[..n].iter_mut();
    let mut left = n;
    while let Some(slot) = slots.next() {
        body.reader.refill();
        let bits = body.reader.buffer();
        if bits.leading_zeros() >= 2 * MIN_RUN {
            // `0` `0`: same interval, same value — a scraped series at a steady interval
            // whose value did not change (three in four samples of real exporter data).
            // A run of them is counted from the leading zeros and written without
            // decoding each. Only the 56 refilled bits are trusted; zeros past the end
            // of the data are caught by the overrun check as on the slow path.
            let run = ((bits.leading_zeros().min(56) / 2) as usize).min(left);
            body.reader.consume(2 * run as u32);
            let v = f64::from_bits(body.v_bits);
            body.t = body.t.wrapping_add(body.t_delta);
            slot.write((body.t, v));
            for slot in slots.by_ref().take(run - 1) {
                body.t = body.t.wrapping_add(body.t_delta);
                slot.write((body.t, v));
            }
            left -= run;
        } else {
            slot.write(body.read_refilled_sample());
            left -= 1;
        }
    }
    if body.reader.overrun() {
        out.truncate(start_len);
        return Err(CodecError::Truncated { what: "XOR chunk sample", offset: chunk.len() });
    }
    // SAFETY: `reserve` made room for all the chunk's samples, and the loop above wrote the
    // `n` slots after the current length. Exercised by every test that decodes a chunk.
    unsafe { out.set_len(out.len() + n) };
    Ok(())
}
