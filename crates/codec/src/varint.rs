//! Variable-length integers as Go's `encoding/binary` writes them (Prometheus uses these
//! everywhere): unsigned LEB128 ("uvarint": 7 bits a byte, least significant group first,
//! high bit set when more follows, at most 10 bytes) and zig-zag for signed integers
//! ("varint": `(n << 1) ^ (n >> 63)`, so small magnitudes of either sign stay short).

use crate::{CodecError, Result};

/// The longest uvarint of a `u64`.
pub const MAX_VARINT_LEN: usize = 10;

/// Maps a signed integer to an unsigned one with small magnitudes near zero.
#[inline]
pub fn zigzag_encode(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Inverse of [`zigzag_encode`].
#[inline]
pub fn zigzag_decode(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Appends `x` as a uvarint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Appends `n` as a zig-zag varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, n: i64) {
    put_uvarint(out, zigzag_encode(n));
}

/// Reads a uvarint at `*pos`, advancing `*pos` past it.
#[inline]
pub fn read_uvarint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let start = *pos;
    let mut x = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let Some(&b) = buf.get(start + i) else {
            return Err(CodecError::Truncated { what: "varint", offset: buf.len() });
        };
        // The 10th byte may only carry the top bit of a u64 (Go rejects the rest too).
        if i == MAX_VARINT_LEN - 1 && b > 1 {
            return Err(CodecError::VarintOverflow { offset: start });
        }
        x |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *pos = start + i + 1;
            return Ok(x);
        }
    }
    Err(CodecError::VarintOverflow { offset: start })
}

/// Reads a zig-zag varint at `*pos`, advancing `*pos` past it.
#[inline]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<i64> {
    read_uvarint(buf, pos).map(zigzag_decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        // Values from Go's encoding/binary documentation and tests.
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let cases: [(u64, &[u8]); 4] = [(0, &[0]), (1, &[1]), (300, &[0xac, 0x02]), (u64::MAX, &max)];
        for (x, want) in cases {
            let mut out = Vec::new();
            put_uvarint(&mut out, x);
            assert_eq!(out, want, "{x}");
        }
        assert_eq!(zigzag_encode(-1), 1);
        assert_eq!(zigzag_encode(1), 2);
        assert_eq!(zigzag_encode(i64::MIN), u64::MAX);
    }

    #[test]
    fn malformed_varints_are_errors() {
        let mut pos = 0;
        assert!(matches!(read_uvarint(&[0x80, 0x80], &mut pos), Err(CodecError::Truncated { .. })));
        let eleven = [0xff; 11];
        assert_eq!(read_uvarint(&eleven, &mut pos), Err(CodecError::VarintOverflow { offset: 0 }));
        let mut ten = [0xff; 10];
        ten[9] = 0x02; // would be bit 64
        assert_eq!(read_uvarint(&ten, &mut pos), Err(CodecError::VarintOverflow { offset: 0 }));
        assert_eq!(read_uvarint(&[], &mut pos), Err(CodecError::Truncated { what: "varint", offset: 0 }));
    }

    proptest! {
        #[test]
        fn uvarint_round_trips(xs in proptest::collection::vec(any::<u64>(), 0..50)) {
            let mut buf = Vec::new();
            xs.iter().for_each(|&x| put_uvarint(&mut buf, x));
            let mut pos = 0;
            for &x in &xs {
                prop_assert_eq!(read_uvarint(&buf, &mut pos)?, x);
            }
            prop_assert_eq!(pos, buf.len());
        }

        #[test]
        fn varint_round_trips(n in any::<i64>()) {
            prop_assert_eq!(zigzag_decode(zigzag_encode(n)), n);
            let mut buf = Vec::new();
            put_varint(&mut buf, n);
            prop_assert_eq!(read_varint(&buf, &mut 0)?, n);
        }

        #[test]
        fn reader_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..16), start in 0usize..20) {
            let mut pos = start;
            let _ = read_uvarint(&buf, &mut pos);
        }
    }
}
