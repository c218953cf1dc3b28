//! The auth crate's one error: a web config file that cannot be used, with the file named.

use std::path::{Path, PathBuf};

/// A web config file that cannot be read, parsed or used.
#[derive(Debug, thiserror::Error)]
#[error("web config {}: {detail}", path.display())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, naming the key.
    pub detail: String,
}

impl ConfigError {
    pub(crate) fn new(path: &Path, detail: impl Into<String>) -> ConfigError {
        ConfigError { path: path.to_path_buf(), detail: detail.into() }
    }
}
