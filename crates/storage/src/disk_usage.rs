//! How many bytes a directory takes on disk (files' apparent sizes, recursively): the
//! figure block, WAL and data-dir reports give.

use std::path::Path;

/// Sum of the sizes of every file under `dir`; 0 for what cannot be read.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
