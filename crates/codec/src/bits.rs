//! MSB-first bit streams, the layout Prometheus' chunks use: the first bit of the stream is
//! bit 7 of the first byte, an n-bit field is written most significant bit first, and the
//! last byte is zero-padded.
//!
//! Both sides buffer in a `u64` so that a field costs a shift or two, not a loop per bit.
//! The reader refills with one unaligned big-endian 8-byte load, topping its buffer up to
//! at least 56 valid bits (the "bit extraction" refill described by F. Giesen); within 8
//! bytes of the end it falls back to loading byte by byte. Reading past the end yields
//! zeros and sets a flag that decoders check once per sample, so a truncated stream is an
//! error, never a panic and never an out-of-bounds read.

/// Buffers smaller than this grow by a quarter, larger ones double ([`BitWriter::grow`]).
const SLOW_GROWTH_BELOW: usize = 4096;

/// Writes bits MSB-first into a byte vector.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Pending bits, right-aligned: the low `pending` bits of `acc`.
    acc: u64,
    /// Number of pending bits, always < 64.
    pending: u32,
}

impl BitWriter {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream whose first bytes are `prefix` (e.g. a chunk header to fill in later).
    pub fn with_prefix(prefix: Vec<u8>) -> Self {
        BitWriter { bytes: prefix, acc: 0, pending: 0 }
    }

    /// Bytes the buffer can hold before it grows.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Appends one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Appends the low `n` bits of `value` (`n` ≤ 64), most significant first.
    #[inline]
    pub fn write_bits(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64);
        let value = if n < 64 { value & ((1u64 << n) - 1) } else { value };
        let free = 64 - self.pending;
        if n < free {
            // `n < 64` here, and `acc << n` keeps all pending bits since pending + n < 64.
            self.acc = (self.acc << n) | value;
            self.pending += n;
        } else {
            // Fill the accumulator to exactly 64 bits and flush it as 8 bytes.
            let rest = n - free; // bits of `value` that stay pending
            let head = value.checked_shr(rest).unwrap_or(0);
            let word = self.acc.checked_shl(free).unwrap_or(0) | head;
            if self.bytes.capacity() - self.bytes.len() < 8 {
                self.grow();
            }
            self.bytes.extend_from_slice(&word.to_be_bytes());
            self.acc = if rest == 0 { 0 } else { value & ((1u64 << rest) - 1) };
            self.pending = rest;
        }
    }

    /// Makes room for at least 8 more bytes. Small buffers grow by a quarter (rounded up to
    /// 16 bytes), not by doubling: a TSDB head keeps one open chunk per series, and a
    /// doubled buffer is a quarter empty on average — at a million series of ~120-byte
    /// chunks, tens of megabytes. Past 4 KiB a buffer doubles, as a vector does.
    #[cold]
    fn grow(&mut self) {
        let capacity = self.bytes.capacity();
        let wanted = if capacity < SLOW_GROWTH_BELOW {
            (capacity + capacity / 4).next_multiple_of(16)
        } else {
            capacity * 2
        };
        let wanted = wanted.max(self.bytes.len() + 8);
        self.bytes.reserve_exact(wanted - self.bytes.len());
    }

    /// Appends whole bytes. Fast when the stream is byte-aligned (as at a chunk's start).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        if self.pending == 0 {
            self.bytes.extend_from_slice(bytes);
        } else {
            bytes.iter().for_each(|&b| self.write_bits(u64::from(b), 8));
        }
    }

    /// Number of bits written so far.
    pub fn bit_len(&self) -> u64 {
        self.bytes.len() as u64 * 8 + u64::from(self.pending)
    }

    /// The bytes so far with the pending bits zero-padded, without ending the stream.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.bytes.clone();
        Self::push_pending(&mut out, self.acc, self.pending);
        out
    }

    /// Ends the stream, zero-padding the last byte.
    pub fn finish(mut self) -> Vec<u8> {
        Self::push_pending(&mut self.bytes, self.acc, self.pending);
        self.bytes
    }

    /// Mutable access to the flushed bytes (e.g. to patch a header); pending bits excluded.
    pub fn flushed_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    fn push_pending(out: &mut Vec<u8>, acc: u64, pending: u32) {
        if pending > 0 {
            let aligned = acc << (64 - pending);
            let nbytes = pending.div_ceil(8) as usize;
            out.extend_from_slice(&aligned.to_be_bytes()[..nbytes]);
        }
    }
}

/// Reads bits MSB-first from a byte slice; see the module docs.
///
/// Two ways to read: [`BitReader::read_bits`] checks and refills as needed; the hot loop of
/// a decoder instead calls [`BitReader::refill`] once (which guarantees 56 bits while data
/// remains) and then [`BitReader::consume`]s up to 56 bits with no check at all.
#[derive(Debug, Clone, Copy)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load into `buf`.
    next: usize,
    /// `next < fast_end` exactly when 8 bytes can be loaded at `next`.
    fast_end: usize,
    /// Valid bits, left-aligned. Below them sit either the next bits of `data` (loaded
    /// early by a refill, and loaded again identically by the next one) or zeros past the
    /// end of `data`.
    buf: u64,
    /// Valid bits in `buf`, ≤ 63; negative once reads went past the end of `data`.
    avail: i64,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        let fast_end = data.len().saturating_sub(7);
        let mut r = BitReader { data, next: 0, fast_end, buf: 0, avail: 0 };
        r.refill();
        r
    }

    /// Tops the buffer up to at least 56 valid bits, or to the end of the data.
    #[inline(always)]
    pub fn refill(&mut self) {
        if self.next < self.fast_end {
            // SAFETY: `next < fast_end = len - 7`, so bytes `next..next + 8` are in `data`;
            // `read_unaligned` has no alignment requirement. Exercised by every decode test.
            let word = unsafe { self.data.as_ptr().add(self.next).cast::<[u8; 8]>().read_unaligned() };
            // While 8 bytes remain no read has passed the end, so 0 ≤ avail ≤ 63: the
            // shift is in range. Whole bytes that fit are taken; avail becomes 56..=63.
            self.buf |= u64::from_be_bytes(word).wrapping_shr(self.avail as u32);
            self.next += ((63 - self.avail) >> 3) as usize;
            self.avail |= 56;
        } else {
            *self = self.refill_tail();
        }
    }

    /// Loads the last bytes one at a time. By value, so that a decoder's reader never has
    /// its address taken and can live in registers.
    #[cold]
    #[must_use]
    fn refill_tail(mut self) -> Self {
        while (0..=55).contains(&self.avail) && self.next < self.data.len() {
            self.buf |= u64::from(self.data[self.next]) << (56 - self.avail);
            self.next += 1;
            self.avail += 8;
        }
        self
    }

    /// Refills only if fewer than `n` bits are buffered (a refill guarantees 56).
    #[inline(always)]
    pub fn ensure(&mut self, n: u32) {
        if self.avail < i64::from(n) {
            self.refill();
        }
    }

    /// The buffered bits, next bit first (bits past the end of the data read as zero).
    #[inline(always)]
    pub fn buffer(&self) -> u64 {
        self.buf
    }

    /// Takes the next `n` ≤ 56 bits without checking that they were loaded: call
    /// [`Self::refill`] first. Past the end of the data it yields zeros and
    /// [`Self::overrun`] turns true.
    #[inline(always)]
    pub fn consume(&mut self, n: u32) -> u64 {
        debug_assert!(n <= 56);
        // Two shifts so that n = 0 yields 0 instead of shifting by 64.
        let value = (self.buf >> 1) >> (63 - n);
        self.buf <<= n;
        self.avail -= i64::from(n);
        value
    }

    /// Reads `n` ≤ 56 bits. Past the end it returns zero bits and sets [`Self::overrun`].
    #[inline]
    pub fn read_bits(&mut self, n: u32) -> u64 {
        debug_assert!(n <= 56);
        self.ensure(n);
        self.consume(n)
    }

    /// Reads `n` ≤ 64 bits.
    #[inline]
    pub fn read_bits_wide(&mut self, n: u32) -> u64 {
        if n <= 56 {
            self.read_bits(n)
        } else {
            let high = self.read_bits(n - 32);
            (high << 32) | self.read_bits(32)
        }
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bit(&mut self) -> bool {
        self.read_bits(1) == 1
    }

    /// Whether any read went past the end of the data.
    #[inline(always)]
    pub fn overrun(&self) -> bool {
        self.avail < 0
    }

    /// Number of bits consumed so far.
    pub fn bit_position(&self) -> u64 {
        (self.next as u64 * 8).saturating_sub(self.avail.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn msb_first_layout() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bits(0b01, 2);
        w.write_bits(0xABC, 12);
        assert_eq!(w.bit_len(), 15);
        // 1 01 1010 1011 1100 + one padding zero
        assert_eq!(w.finish(), vec![0b1011_0101, 0b0111_1000]);
    }

    /// A small buffer is never more than a quarter (and 16 bytes) larger than what it
    /// holds after growing; a large one grows geometrically all the same.
    #[test]
    fn small_buffers_grow_by_a_quarter() {
        let mut w = BitWriter::with_prefix(Vec::with_capacity(32));
        let mut grew = 0;
        let mut capacity = w.capacity();
        while w.bit_len() < 64 * 1024 * 8 {
            w.write_bits(0x5A5A_5A5A, 29);
            if w.capacity() != capacity {
                grew += 1;
                capacity = w.capacity();
                let held = w.bit_len().div_ceil(8) as usize;
                if capacity <= SLOW_GROWTH_BELOW {
                    assert!(capacity <= held + held / 4 + 24, "{capacity} bytes for {held}");
                }
            }
        }
        assert!(grew < 40, "grew {grew} times to 64 KiB");
    }

    #[test]
    fn reading_past_the_end_sets_overrun() {
        let mut r = BitReader::new(&[0xFF]);
        assert_eq!(r.read_bits(4), 0xF);
        assert!(!r.overrun());
        assert_eq!(r.read_bits(8), 0xF0);
        assert!(r.overrun());
    }

    fn arb_fields() -> impl Strategy<Value = Vec<(u64, u32)>> {
        proptest::collection::vec((any::<u64>(), 0u32..=64), 0..200)
    }

    proptest! {
        #[test]
        fn fields_round_trip(fields in arb_fields(), prefix in 0usize..3) {
            let mut w = BitWriter::with_prefix(vec![0xAA; prefix]);
            for &(v, n) in &fields {
                w.write_bits(v, n);
            }
            let total = w.bit_len();
            let bytes = w.finish();
            prop_assert_eq!(bytes.len() as u64, total.div_ceil(8));
            let mut r = BitReader::new(&bytes[prefix..]);
            for &(v, n) in &fields {
                let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                prop_assert_eq!(r.read_bits_wide(n), v & mask);
            }
            prop_assert!(!r.overrun());
            prop_assert_eq!(r.bit_position() + prefix as u64 * 8, total);
        }

        #[test]
        fn to_bytes_equals_finish(fields in arb_fields()) {
            let mut w = BitWriter::new();
            fields.iter().for_each(|&(v, n)| w.write_bits(v, n));
            prop_assert_eq!(w.to_bytes(), w.finish());
        }
    }
}
