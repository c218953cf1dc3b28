//! Errors of the index. Corrupt files are reported with their path and byte offset.

use std::path::PathBuf;

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;

/// What went wrong in the index.
#[derive(Debug, Error)]
pub enum IndexError {
    /// Reading or writing an index file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An index file's bytes contradict the format.
    #[error("corrupt index file {path} at byte {offset}: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the problem is.
        offset: usize,
        /// What is wrong.
        detail: String,
    },
    /// The index reached a hard limit of its format.
    #[error("index full: {0}")]
    Full(&'static str),
}
