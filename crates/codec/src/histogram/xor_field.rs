//! One Gorilla-XOR-encoded float field of a histogram chunk (the sum, and in float
//! histogram chunks every count): the same value encoding as the XOR chunk's values
//! (format/xor-chunk.md), one window per field.

use crate::bits::{BitReader, BitWriter};
use crate::varbit::check;
use crate::Result;

/// The encoder's or decoder's state for one field: the previous value and the window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct XorField {
    /// Bits of the previous value.
    pub bits: u64,
    /// Leading and trailing zeros of the current window; `None` until one is written
    /// (a decoder that meets a window reuse first reads it as (0, 0), as Prometheus does).
    window: Option<(u32, u32)>,
}

impl XorField {
    /// A field whose first value is written raw (64 bits) by the caller.
    pub(crate) fn starting_at(value: f64) -> Self {
        XorField { bits: value.to_bits(), window: None }
    }

    /// The previous value.
    pub(crate) fn value(&self) -> f64 {
        f64::from_bits(self.bits)
    }

    /// Appends `value` XORed with the previous one.
    pub(crate) fn write(&mut self, w: &mut BitWriter, value: f64) {
        let bits = value.to_bits();
        let x = bits ^ self.bits;
        self.bits = bits;
        if x == 0 {
            w.write_bit(false);
            return;
        }
        let lz = x.leading_zeros().min(31);
        let tz = x.trailing_zeros();
        match self.window {
            Some((wl, wt)) if lz >= wl && tz >= wt => {
                w.write_bits(0b10, 2);
                w.write_bits(x >> wt, 64 - wl - wt);
            }
            _ => {
                let sig = 64 - lz - tz;
                w.write_bits(0b11, 2);
                w.write_bits(u64::from(lz), 5);
                w.write_bits(u64::from(sig), 6); // 64 is written as 0
                w.write_bits(x >> tz, sig);
                self.window = Some((lz, tz));
            }
        }
    }

    /// Reads the next value.
    pub(crate) fn read(&mut self, r: &mut BitReader<'_>, what: &'static str) -> Result<f64> {
        if r.read_bit() {
            if r.read_bit() {
                let lz = r.read_bits(5) as u32;
                let sig = match r.read_bits(6) as u32 {
                    0 => 64,
                    s => s,
                };
                // A corrupt window (lz + sig > 64) cannot come from an encoder; clamping
                // keeps the shifts in range so bad bytes decode to garbage, not a panic.
                self.window = Some((lz, 64u32.saturating_sub(lz + sig)));
            }
            let (lz, tz) = self.window.unwrap_or((0, 0));
            let sig = 64u32.saturating_sub(lz + tz);
            let x = r.read_bits_wide(sig);
            self.bits ^= x.checked_shl(tz).unwrap_or(0);
        }
        check(r, what)?;
        Ok(self.value())
    }
}
