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
            self.bytes.extend_from_slice(&word.to_be_bytes());
            self.acc = if rest == 0 { 0 } else { value & ((1u64 << rest) - 1) };
            self.pending = rest;
        }
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
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load into `buf`.
    next: usize,
    /// Valid bits, left-aligned; the bits below the valid ones are zero.
    buf: u64,
    /// Number of valid bits in `buf`, ≤ 63.
    avail: u32,
    /// Set when a read needed bits beyond the end of `data`.
    overrun: bool,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        let mut r = BitReader { data, next: 0, buf: 0, avail: 0, overrun: false };
        r.refill();
        r
    }

    /// Tops the buffer up to at least 56 valid bits, or to the end of the data.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.next..self.next + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            // `avail` ≤ 63, so the shift is in range; the low bits shifted out are re-read
            // next time because `next` only advances by the whole bytes that fit.
            self.buf |= u64::from_be_bytes(word) >> self.avail;
            let whole_bytes = (63 - self.avail) >> 3;
            self.next += whole_bytes as usize;
            self.avail += whole_bytes * 8;
        } else {
            self.refill_tail();
        }
    }

    #[cold]
    fn refill_tail(&mut self) {
        while self.avail <= 55 && self.next < self.data.len() {
            self.buf |= u64::from(self.data[self.next]) << (56 - self.avail);
            self.next += 1;
            self.avail += 8;
        }
    }

    /// Reads `n` ≤ 56 bits. Past the end it returns zero bits and sets [`Self::overrun`].
    #[inline(always)]
    pub fn read_bits(&mut self, n: u32) -> u64 {
        debug_assert!(n <= 56);
        if n == 0 {
            return 0;
        }
        if self.avail < n {
            self.refill();
            if self.avail < n {
                self.overrun = true;
                self.avail = n; // the buffer's low bits are zero: read them as padding
            }
        }
        let value = self.buf >> (64 - n);
        self.buf <<= n;
        self.avail -= n;
        value
    }

    /// Reads `n` ≤ 64 bits.
    #[inline(always)]
    pub fn read_bits_wide(&mut self, n: u32) -> u64 {
        if n <= 56 {
            self.read_bits(n)
        } else {
            let high = self.read_bits(n - 32);
            (high << 32) | self.read_bits(32)
        }
    }

    /// Reads one bit.
    #[inline(always)]
    pub fn read_bit(&mut self) -> bool {
        self.read_bits(1) == 1
    }

    /// Returns the next `n` ≤ 56 bits without consuming them (zero past the end).
    #[inline(always)]
    pub fn peek_bits(&mut self, n: u32) -> u64 {
        if self.avail < n {
            self.refill();
        }
        self.buf >> (64 - n)
    }

    /// Consumes `n` bits previously looked at with [`Self::peek_bits`].
    #[inline(always)]
    pub fn skip_bits(&mut self, n: u32) {
        self.read_bits(n);
    }

    /// Whether any read went past the end of the data.
    #[inline]
    pub fn overrun(&self) -> bool {
        self.overrun
    }

    /// Number of bits consumed so far (saturating at the data's end).
    pub fn bit_position(&self) -> u64 {
        (self.next as u64 * 8).saturating_sub(u64::from(self.avail))
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
