//! Errors of the codecs. Decoders return these for any input they cannot decode; they
//! never panic, whatever the bytes.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = CodecError> = std::result::Result<T, E>;

/// What was wrong with encoded bytes, or with samples given to an encoder.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The input ended inside `what`.
    #[error("truncated input: ended inside {what} at byte {offset}")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// A varint ran over 10 bytes or 64 bits.
    #[error("varint at byte {offset} overflows 64 bits")]
    VarintOverflow {
        /// Byte offset of the varint's first byte.
        offset: usize,
    },
    /// Bytes that decode but contradict the format.
    #[error("corrupt input at byte {offset}: {detail}")]
    Corrupt {
        /// Byte offset of the problem.
        offset: usize,
        /// What is inconsistent.
        detail: String,
    },
    /// An encoder was asked to hold more samples than its format can count.
    #[error("a {format} holds at most {limit} samples")]
    Full {
        /// The format.
        format: &'static str,
        /// Its limit.
        limit: usize,
    },
}
