//! Strata's codecs: the bit-level layer under chunks, blocks and the WAL.
//!
//! - [`bits`]: MSB-first bit streams buffered in `u64` words.
//! - [`varint`]: Go-compatible uvarints and zig-zag varints.
//! - [`delta`]: a byte-aligned delta / delta-of-delta codec for `(timestamp, value)` series.
//! - [`dense`]: the bit-exact dense codec of cold shards (decimal detection, zstd columns).
//! - [`xor`]: Gorilla XOR chunks, bit-for-bit Prometheus' XOR chunk encoding, so blocks
//!   Strata writes can be read by Prometheus and the other way round.
//! - [`varbit`] and [`histogram`]: Prometheus' variable-width integers and its integer
//!   and float native-histogram chunks (block encodings 2 and 3), bit for bit.
//! - [`container`]: a self-describing, checksummed file of one series in either codec (what
//!   `strata compress` writes).
//! - [`raw_points`]: the 16-byte little-endian point files the tools exchange.
//! - [`synthetic`]: monitoring-like series for the tools and the benchmarks.
//!
//! Every decoder returns [`CodecError`] for input it cannot decode, never panics, and
//! decodes lazily through an iterator.

pub mod bits;
pub mod container;
pub mod delta;
pub mod dense;
mod error;
pub mod histogram;
pub mod raw_points;
pub mod synthetic;
pub mod varbit;
pub mod varint;
pub mod xor;

pub use error::{CodecError, Result};

#[cfg(test)]
mod tests;
