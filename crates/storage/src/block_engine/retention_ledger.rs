//! What retention has freed since the data dir was made, kept across restarts in
//! `DIR/strata_retention.json` (so `strata shards status`, run on a stopped server, can say
//! what each rule freed). Replaced whole after each pass that freed something: written to
//! `strata_retention.json.tmp`, fsynced, renamed. A ledger that cannot be read is reported
//! and started afresh — it is a report, and nothing stored depends on it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::StorageError;

/// The file's name in the data dir.
const LEDGER_FILE: &str = "strata_retention.json";

/// Retention's totals; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionLedger {
    /// Shards deleted whole.
    pub shards_dropped: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Series whose expired part was tombstoned and rewritten away, counted once per block
    /// they were cut from, by the rule that gave them their retention (its selector as
    /// written; `""` for the global retention).
    pub series_expired: BTreeMap<String, u64>,
}

impl RetentionLedger {
    /// The ledger of `dir` (empty when there is none yet, or it cannot be read: `Err` then
    /// carries the reason beside it for the caller to report).
    pub(super) fn load(dir: &Path) -> (RetentionLedger, Option<String>) {
        let path = dir.join(LEDGER_FILE);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (RetentionLedger::default(), None),
            Err(e) => (RetentionLedger::default(), Some(format!("reading {}: {e}", path.display()))),
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(ledger) => (ledger, None),
                Err(e) => {
                    (RetentionLedger::default(), Some(format!("{}: {e}; started afresh", path.display())))
                }
            },
        }
    }

    /// Writes the ledger into `dir` (see the module docs).
    pub(super) fn save(&self, dir: &Path) -> Result<(), StorageError> {
        let (tmp, path) = (dir.join(format!("{LEDGER_FILE}.tmp")), dir.join(LEDGER_FILE));
        let json = serde_json::to_vec_pretty(self).map_err(|e| StorageError::Invalid(e.to_string()))?;
        let mut file = std::fs::File::create(&tmp).map_err(StorageError::io("creating", &tmp))?;
        file.write_all(&json).map_err(StorageError::io("writing", &tmp))?;
        file.sync_all().map_err(StorageError::io("syncing", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(StorageError::io("renaming", &tmp))
    }

    /// Series expired under the rule with this selector (`""`: the global retention).
    pub fn expired_by(&self, selector: &str) -> u64 {
        self.series_expired.get(selector).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_survives_a_reopen_and_a_damaged_one_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RetentionLedger::load(dir.path()), (RetentionLedger::default(), None));
        let mut ledger = RetentionLedger { shards_dropped: 3, bytes_freed: 1000, ..Default::default() };
        ledger.series_expired.insert("{job=\"x\"}".into(), 7);
        ledger.save(dir.path()).unwrap();
        let (back, problem) = RetentionLedger::load(dir.path());
        assert_eq!((back.expired_by("{job=\"x\"}"), back.shards_dropped, problem), (7, 3, None));
        std::fs::write(dir.path().join(LEDGER_FILE), b"{ torn").unwrap();
        let (fresh, problem) = RetentionLedger::load(dir.path());
        assert_eq!(fresh, RetentionLedger::default());
        assert!(problem.unwrap().contains("strata_retention.json"));
    }
}
