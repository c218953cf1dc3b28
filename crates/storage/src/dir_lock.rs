//! The data dir's `lock` file: one process at a time on a data dir.
//!
//! Prometheus takes an exclusive `flock(2)` on `DIR/lock` while it runs; Strata takes the
//! same lock, so two Strata processes — or Strata and a Prometheus — never write one data
//! dir at once. The kernel drops the lock when the process exits, however it exits (kill -9
//! included), so a stale file never blocks a restart.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::StorageError;

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir/lock`, creating it; fails at once if another process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, StorageError> {
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(StorageError::io("opening", &path))?;
        // SAFETY: flock(2) on a descriptor this function owns; no memory is involved.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(StorageError::Invalid(format!(
                    "data dir {} is in use by another process (it holds {})",
                    dir.display(),
                    path.display()
                )));
            }
            return Err(StorageError::Io { op: "locking", path, source: err });
        }
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains("in use by another process"), "{err}");
        drop(first);
        DirLock::acquire(dir.path()).expect("free again");
    }
}
