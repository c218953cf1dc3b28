//! Parse errors.

use thiserror::Error;

/// What was wrong with a line, and where (both 1-based; the column counts bytes).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// Line number.
    pub line: usize,
    /// Byte column.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, at: usize, message: impl Into<String>) -> ParseError {
        ParseError { line, column: at + 1, message: message.into() }
    }
}
