//! Errors of the storage engines.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// What went wrong in storage.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file's bytes contradict its format.
    #[error("corrupt {path} at byte {offset}: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where (for chunks: the chunk reference).
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// Input that a block cannot hold.
    #[error("invalid block input: {0}")]
    Invalid(String),
    /// A codec refused the samples.
    #[error(transparent)]
    Codec(#[from] strata_codec::CodecError),
    /// The write-ahead log failed (its error names the segment, offset or file).
    #[error("WAL: {0}")]
    Wal(#[from] strata_wal::WalError),
    /// The series index failed.
    #[error("index: {0}")]
    Index(#[from] strata_index::IndexError),
    /// The engine refuses writes for now (its memory for unflushed writes is full); the
    /// same write may succeed later (HTTP 503 with Retry-After).
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// A write the engine (or a view of it) refuses for what it is, e.g. a series carrying
    /// a reserved label; retrying it cannot succeed.
    #[error("refused: {0}")]
    Refused(String),
}

impl StorageError {
    /// A closure turning an `io::Error` into [`StorageError::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io { op, path, source }
    }
}
