//! Errors of the WAL. Corruption names the segment and the byte offset.

use std::path::PathBuf;

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = WalError> = std::result::Result<T, E>;

/// What went wrong in the WAL.
#[derive(Debug, Error)]
pub enum WalError {
    /// A file operation failed (a full disk included).
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Bytes in a segment contradict the format.
    #[error("corrupt WAL segment {segment} ({path}) at byte {offset}: {detail}")]
    Corrupt {
        /// Segment number.
        segment: u32,
        /// The segment file.
        path: PathBuf,
        /// Byte offset in the segment.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A record's payload could not be decoded.
    #[error("bad WAL record: {0}")]
    BadRecord(String),
    /// An earlier write or sync failed; the log refuses further writes rather than go on
    /// after an unknown amount of it was lost.
    #[error("the WAL stopped accepting writes after an earlier failure: {0}")]
    Failed(String),
}
