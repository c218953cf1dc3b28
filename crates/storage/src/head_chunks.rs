//! Closed head chunks on disk, read back through mmap — what Prometheus does with its
//! `chunks_head/` — so that the head's memory holds only open chunks and references.
//!
//! A closed chunk never changes. It is written (`pwrite`) at the end of the current segment
//! file, `DIR/strata_chunks_head/NNNNNN`, created sparse at [`SEGMENT_BYTES`] and mapped
//! whole; reads go through that map (on Linux a shared map sees what `pwrite` wrote, both
//! being the page cache). A chunk is a segment (shared), an offset and a length.
//!
//! These files are a cache, not a record: the WAL holds every sample, nothing is fsynced
//! here, and the directory is emptied when the head opens (replay writes it again). A
//! segment file is deleted once the head is truncated past its newest chunk, though a query
//! still reading it keeps its map alive. If a write fails (a full disk), the chunk stays in
//! memory instead: appends never fail for the sake of this cache.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use memmap2::Mmap;
use strata_codec::xor::header_sample_count;

use crate::StorageError;

/// Size of a segment file (sparse: only written bytes take disk space).
pub(crate) const SEGMENT_BYTES: u64 = 128 << 20;

/// The directory under a data dir.
pub(crate) const DIR_NAME: &str = "strata_chunks_head";

/// One segment file and its map.
#[derive(Debug)]
pub(crate) struct Segment {
    path: PathBuf,
    file: File,
    map: Mmap,
    /// Newest sample time of any chunk in it.
    maxt: AtomicI64,
}

/// A closed chunk in a segment.
#[derive(Debug, Clone)]
pub(crate) struct DiskChunk {
    segment: Arc<Segment>,
    offset: u32,
    /// A head chunk holds at most 120 samples: its length fits 16 bits.
    len: u16,
    /// Its sample count, kept here so that counting a head's samples reads no mapped page.
    samples: u16,
}

impl DiskChunk {
    /// The chunk's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        let start = self.offset as usize;
        &self.segment.map[start..start + usize::from(self.len)]
    }

    /// The number of samples in it.
    pub(crate) fn samples(&self) -> u16 {
        self.samples
    }
}

#[derive(Debug)]
struct Writer {
    segments: Vec<Arc<Segment>>,
    next_number: u32,
    /// Bytes used in the last segment.
    used: u64,
}

/// The chunk files of one head; see the module docs.
#[derive(Debug)]
pub(crate) struct HeadChunkFiles {
    dir: PathBuf,
    segment_bytes: u64,
    writer: Mutex<Writer>,
}

impl HeadChunkFiles {
    /// Empties (creating) `data_dir/strata_chunks_head/`; segments of `segment_bytes`.
    pub(crate) fn create(data_dir: &Path, segment_bytes: u64) -> Result<HeadChunkFiles, StorageError> {
        let dir = data_dir.join(DIR_NAME);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(StorageError::io("removing", &dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(StorageError::io("creating", &dir))?;
        let writer = Mutex::new(Writer { segments: Vec::new(), next_number: 1, used: 0 });
        Ok(HeadChunkFiles { dir, segment_bytes, writer })
    }

    fn new_segment(&self, w: &mut Writer) -> Result<(), StorageError> {
        let path = self.dir.join(format!("{:06}", w.next_number));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(StorageError::io("creating", &path))?;
        file.set_len(self.segment_bytes).map_err(StorageError::io("sizing", &path))?;
        // SAFETY: the file is ours (created here, in a directory only this head uses), never
        // truncated while mapped; bytes are read only where a chunk was written before.
        let map = unsafe { Mmap::map(&file) }.map_err(StorageError::io("mapping", &path))?;
        w.segments.push(Arc::new(Segment { path, file, map, maxt: AtomicI64::new(i64::MIN) }));
        w.next_number += 1;
        w.used = 0;
        Ok(())
    }

    /// Writes a closed XOR chunk whose newest sample is at `maxt`.
    pub(crate) fn write(&self, bytes: &[u8], maxt: i64) -> Result<DiskChunk, StorageError> {
        let (Some(samples), Ok(short_len)) = (header_sample_count(bytes), u16::try_from(bytes.len())) else {
            return Err(StorageError::Invalid(format!("a {}-byte chunk is no head chunk", bytes.len())));
        };
        let len = bytes.len() as u64;
        if len > self.segment_bytes {
            return Err(StorageError::Invalid(format!(
                "a {len}-byte chunk does not fit a head chunk segment"
            )));
        }
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if w.segments.is_empty() || w.used + len > self.segment_bytes {
            self.new_segment(&mut w)?;
        }
        let offset = w.used;
        let segment = Arc::clone(w.segments.last().expect("a segment was just ensured"));
        segment.file.write_all_at(bytes, offset).map_err(StorageError::io("writing", &segment.path))?;
        segment.maxt.fetch_max(maxt, Ordering::SeqCst);
        w.used += len;
        Ok(DiskChunk { segment, offset: offset as u32, len: short_len, samples })
    }

    /// Deletes the files of segments (but the one being written) whose chunks all end
    /// before `t`; returns how many.
    pub(crate) fn remove_before(&self, t: i64) -> usize {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let last = w.segments.len().saturating_sub(1);
        let mut removed = 0;
        let mut i = 0;
        w.segments.retain(|s| {
            let old = i < last && s.maxt.load(Ordering::SeqCst) < t;
            i += 1;
            if old {
                // A failed unlink leaves a file the next open removes with the directory.
                let _ = std::fs::remove_file(&s.path);
                removed += 1;
            }
            !old
        });
        removed
    }

    /// Bytes written to segments still on disk.
    pub(crate) fn bytes(&self) -> u64 {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.segments.len().saturating_sub(1) as u64 * self.segment_bytes + w.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_back_and_old_segments_go() {
        let dir = tempfile::tempdir().unwrap();
        let files = HeadChunkFiles::create(dir.path(), 16).unwrap();
        let a = files.write(b"first chunk", 10).unwrap();
        let b = files.write(b"second", 20).unwrap(); // does not fit: a second segment
        let c = files.write(b"third", 30).unwrap();
        assert_eq!((a.bytes(), b.bytes(), c.bytes()), (&b"first chunk"[..], &b"second"[..], &b"third"[..]));
        assert!(files.write(&[0; 17], 40).is_err(), "a chunk larger than a segment is refused");
        assert_eq!(files.remove_before(10), 0, "no segment ends before 10");
        assert_eq!(files.remove_before(11), 1, "the first segment goes");
        assert_eq!(files.remove_before(1000), 0, "the segment being written stays");
        assert_eq!(a.bytes(), b"first chunk", "a deleted segment stays readable while referenced");
        assert_eq!(std::fs::read_dir(dir.path().join(DIR_NAME)).unwrap().count(), 1);
        drop(files);
        HeadChunkFiles::create(dir.path(), 16).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join(DIR_NAME)).unwrap().count(),
            0,
            "a new head starts empty"
        );
    }
}
