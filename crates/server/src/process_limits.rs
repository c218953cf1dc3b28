//! Open files: the process's limit and use. At start the soft `RLIMIT_NOFILE` is raised to
//! the hard limit (Go does the same for Prometheus), since every shard's WAL, blocks and every
//! connection hold descriptors and the common soft default of 1,024 runs out long before the
//! hard one. Both figures are in /metrics (`process_open_fds`, `process_max_fds`, Prometheus'
//! names) and /admin/status.

/// Raises the soft open-files limit to the hard one; returns the limit now in force.
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass, nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads the struct we pass; raising soft to hard needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

/// The soft open-files limit.
pub(crate) fn max_open_files() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: as in raise_open_files_limit.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit.rlim_cur)
}

/// Descriptors open now (Linux: entries of /proc/self/fd, less the one reading it).
pub(crate) fn open_files() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(entries.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_opened_shows_in_the_count_and_the_limit_is_at_least_the_use() {
        let before = open_files().unwrap();
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let during = open_files().unwrap();
        drop(file);
        // Other tests open files concurrently: only the direction is certain.
        assert!(during >= 1 && before >= 1, "{before} {during}");
        let limit = raise_open_files_limit().unwrap();
        assert_eq!(max_open_files(), Some(limit));
        assert!(limit >= during);
    }
}
