//! Errors of the TSM crate. Decoding never panics: bytes that do not follow the format give
//! [`TsmError::Corrupt`] naming the file and the byte offset, so a damaged file is reported
//! where it is damaged instead of answering with wrong data.

use std::path::PathBuf;

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = TsmError> = std::result::Result<T, E>;

/// What failed in the TSM engine.
#[derive(Debug, Error)]
pub enum TsmError {
    /// A file's bytes contradict the format.
    #[error("corrupt TSM data in {path} at byte {offset}: {detail}")]
    Corrupt { path: PathBuf, offset: u64, detail: String },
    /// Data that the format cannot hold (a NaN float, a key over 65,535 bytes, …).
    #[error("cannot encode: {0}")]
    Unencodable(String),
    /// An I/O error, with the file it happened on.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl TsmError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TsmError::Io { path: path.into(), source }
    }
}

/// A decoding error inside one block or record, before it is placed in a file: what was
/// wrong and at which byte of the piece being decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{detail} (byte {offset} of the {what})")]
pub struct DecodeError {
    /// The piece being decoded ("timestamps", "float values", …).
    pub what: &'static str,
    pub offset: usize,
    pub detail: String,
}

impl DecodeError {
    pub(crate) fn new(what: &'static str, offset: usize, detail: impl Into<String>) -> Self {
        DecodeError { what, offset, detail: detail.into() }
    }

    /// This error placed in a file: `base` is where the decoded piece starts in it.
    pub fn in_file(&self, path: impl Into<PathBuf>, base: u64) -> TsmError {
        TsmError::Corrupt {
            path: path.into(),
            offset: base + self.offset as u64,
            detail: format!("{}: {}", self.what, self.detail),
        }
    }
}
