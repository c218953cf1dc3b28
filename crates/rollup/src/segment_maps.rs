//! Segments kept mapped between queries.
//!
//! A year of a 1h tier is 365 segment files. Mapping each anew for every query made the
//! kernel fault in every page a query touched, every time (in this VM a fault costs
//! microseconds): about a fifth of a year-long query's read. Segments are immutable once in
//! place and only the store replaces or removes them, so the store keeps the mappings of
//! the segments queries read (as the block engine keeps its blocks mapped) and forgets one
//! whenever it replaces or removes that segment.
//!
//! A read that mapped a segment just before the store replaced it may still answer from the
//! old file (it has it open); it must not leave that mapping behind for later reads. Every
//! forget bumps a generation, and a mapping is kept only if no forget came between the
//! moment its reader looked and the moment it would be kept.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use memmap2::Mmap;

use crate::RollupError;

/// Mappings kept at most (a year of a 1h tier and a month of a 1m tier are ~550); beyond
/// it, segments are mapped for the read only.
const MAX_KEPT: usize = 4096;

/// The kept mappings, by (tier index, span start).
#[derive(Debug, Default)]
pub(crate) struct SegmentMaps {
    inner: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    maps: HashMap<(usize, i64), Arc<Mmap>>,
    /// Bumped by every forget.
    generation: u64,
}

impl SegmentMaps {
    /// The mapping of tier `tier`'s segment starting at `start`, at `path`: kept, or mapped
    /// now (and kept); `None` when the file is gone (retention removed it after the listing).
    pub(crate) fn get(&self, tier: usize, start: i64, path: &Path) -> Result<Option<Arc<Mmap>>, RollupError> {
        let generation = {
            let kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(map) = kept.maps.get(&(tier, start)) {
                return Ok(Some(Arc::clone(map)));
            }
            kept.generation
        };
        let Some(map) = map_segment(path)? else { return Ok(None) };
        let map = Arc::new(map);
        let mut kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if kept.generation == generation && kept.maps.len() < MAX_KEPT {
            kept.maps.insert((tier, start), Arc::clone(&map));
        }
        Ok(Some(map))
    }

    /// Drops the mapping of a segment the store is replacing or removing.
    pub(crate) fn forget(&self, tier: usize, start: i64) {
        let mut kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        kept.generation += 1;
        kept.maps.remove(&(tier, start));
    }
}

/// The segment file at `path`, mapped; `None` when it is gone (retention may remove a
/// segment between a listing and a read).
pub(crate) fn map_segment(path: &Path) -> Result<Option<Mmap>, RollupError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RollupError::io("open", path, e)),
    };
    // SAFETY: a segment is never modified once renamed into place (module `store`): it is
    // only replaced by a rename or unlinked, and neither touches a mapping of the old file.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| RollupError::io("map", path, e))?;
    Ok(Some(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_mapping_is_forgotten_when_its_segment_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.seg");
        fs::write(&path, b"old").unwrap();
        let maps = SegmentMaps::default();
        assert_eq!(&maps.get(0, 0, &path).unwrap().unwrap()[..], b"old");
        // Replaced by a rename, as the store does: the kept mapping still shows the old file
        // until it is forgotten.
        fs::write(dir.path().join("0.tmp"), b"new").unwrap();
        fs::rename(dir.path().join("0.tmp"), &path).unwrap();
        assert_eq!(&maps.get(0, 0, &path).unwrap().unwrap()[..], b"old");
        maps.forget(0, 0);
        assert_eq!(&maps.get(0, 0, &path).unwrap().unwrap()[..], b"new");
        fs::remove_file(&path).unwrap();
        maps.forget(0, 0);
        assert!(maps.get(0, 0, &path).unwrap().is_none(), "a removed segment is no mapping");
    }
}
