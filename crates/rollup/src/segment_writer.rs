//! Writes a segment to disk one series at a time, so that rolling up a span holds one
//! series' windows in memory, not every series' (a 4h span of 100,000 series is 24 million
//! windows, gigabytes as aggregates; the soak test saw the job's memory jump by 1.9 GB at
//! 10,000 series when it built them all first).
//!
//! The format puts the series table before the window records and the sketch section after
//! them, and the header says where the sketch section starts, so neither can be written
//! before every series is known. The writer keeps the table in memory (labels only, tens of
//! bytes a series) and streams the records and the sketches into two scratch files beside
//! the segment; [`SegmentWriter::finish`] writes header and table to a temporary file,
//! appends both scratch files, syncs and renames it into place. Every scratch and temporary
//! file ends in `.tmp`, which the store removes when it opens (a crash's leftovers).
//!
//! Series must come in ascending label order (what a select and a merge of segments give):
//! merges of segments ([`crate::job`]) rely on every segment being sorted.

use std::fs::{self, File};
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use strata_model::Labels;

use crate::aggregate::WindowAggregate;
use crate::segment::{encode_head, SegmentHeader, SeriesParts};
use crate::RollupError;

/// A segment being written; see the module docs.
#[derive(Debug)]
pub struct SegmentWriter {
    header: SegmentHeader,
    path: PathBuf,
    records: Scratch,
    sketches: Scratch,
    table: Vec<u8>,
    parts: SeriesParts,
    series: u32,
    windows: u64,
    last: Option<Labels>,
}

/// A scratch file a section is streamed into, removed when dropped.
#[derive(Debug)]
struct Scratch {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    len: u64,
}

impl Scratch {
    fn create(path: PathBuf) -> Result<Scratch, RollupError> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| RollupError::io("create", &path, e))?;
        Ok(Scratch { path, file: Some(BufWriter::with_capacity(1 << 16, file)), len: 0 })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), RollupError> {
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        file.write_all(bytes).map_err(|e| RollupError::io("write", &self.path, e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Copies what was written to the end of `out`.
    fn copy_to(&mut self, out: &mut File, out_path: &Path) -> Result<(), RollupError> {
        let Some(file) = self.file.take() else { return Ok(()) };
        let mut file = file.into_inner().map_err(|e| RollupError::io("write", &self.path, e.into_error()))?;
        file.rewind().map_err(|e| RollupError::io("seek", &self.path, e))?;
        let copied = std::io::copy(&mut file, out).map_err(|e| RollupError::io("append to", out_path, e))?;
        if copied != self.len {
            return Err(RollupError::io(
                "read back",
                &self.path,
                std::io::Error::other(format!("{copied} of {} bytes", self.len)),
            ));
        }
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.file = None;
        let _ = fs::remove_file(&self.path);
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

impl SegmentWriter {
    /// Starts the segment that `finish` will put at `path` (`header.series` and
    /// `header.sketch_offset` are filled in then).
    pub fn create(path: &Path, header: SegmentHeader) -> Result<SegmentWriter, RollupError> {
        Ok(SegmentWriter {
            header,
            path: path.to_owned(),
            records: Scratch::create(sibling(path, ".records.tmp"))?,
            sketches: Scratch::create(sibling(path, ".sketches.tmp"))?,
            table: Vec::new(),
            parts: SeriesParts::default(),
            series: 0,
            windows: 0,
            last: None,
        })
    }

    /// Adds a series (after every series whose labels sort before its own); a series
    /// without windows is left out.
    pub fn add(&mut self, labels: &Labels, windows: &[WindowAggregate]) -> Result<(), RollupError> {
        if windows.is_empty() {
            return Ok(());
        }
        if self.last.as_ref().is_some_and(|last| last >= labels) {
            return Err(RollupError::Config(format!(
                "segment {}: series {labels} added out of label order",
                self.path.display()
            )));
        }
        let (record, sketches) = self.parts.encode(self.header, labels, windows, &mut self.table);
        self.records.append(record)?;
        self.sketches.append(sketches)?;
        self.series += 1;
        self.windows += windows.len() as u64;
        self.last = Some(labels.clone());
        Ok(())
    }

    /// Series added so far.
    pub fn series(&self) -> u32 {
        self.series
    }

    /// Windows added so far.
    pub fn windows(&self) -> u64 {
        self.windows
    }

    /// Writes the segment whole (temporary file, sync, rename); returns its bytes. With no
    /// series, writes nothing and removes a segment of that name.
    pub fn finish(mut self) -> Result<u64, RollupError> {
        if self.series == 0 {
            return match fs::remove_file(&self.path) {
                Ok(()) => Ok(0),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                Err(e) => Err(RollupError::io("remove", &self.path, e)),
            };
        }
        let head = encode_head(self.header, self.series, &self.table, self.records.len);
        let tmp = sibling(&self.path, ".tmp");
        let mut out = File::create(&tmp).map_err(|e| RollupError::io("create", &tmp, e))?;
        let written = (|| {
            out.write_all(&head).map_err(|e| RollupError::io("write", &tmp, e))?;
            self.records.copy_to(&mut out, &tmp)?;
            self.sketches.copy_to(&mut out, &tmp)?;
            crate::store::sync_and_rename(&out, &tmp, &self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        Ok(head.len() as u64 + self.records.len + self.sketches.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{encode, RolledSeries};
    use proptest::prelude::*;

    const RES: i64 = 60_000;

    fn header() -> SegmentHeader {
        SegmentHeader { resolution: RES, start: 0, end: 20 * RES, series: 0, sketch_offset: 0 }
    }

    /// Series `0..n`, each with windows built from `samples` (time offsets in the span).
    fn series_of(specs: &[Vec<(i64, f64)>]) -> Vec<RolledSeries> {
        specs
            .iter()
            .enumerate()
            .map(|(i, samples)| {
                let mut samples = samples.clone();
                samples.sort_by_key(|s| s.0);
                samples.dedup_by_key(|s| s.0);
                let tier = crate::tier::Tier { resolution: RES, keep: None, span: 20 * RES };
                RolledSeries {
                    labels: Labels::from_pairs([("__name__", "m"), ("i", &format!("{i:04}"))]).unwrap(),
                    windows: crate::job::windows_of_samples(&tier, &samples),
                }
            })
            .filter(|s| !s.windows.is_empty())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The streamed file is byte for byte what the in-memory encoder gives.
        #[test]
        fn streams_the_bytes_the_encoder_gives(
            specs in prop::collection::vec(
                prop::collection::vec((1i64..20 * RES, -1e6f64..1e6), 0..40), 0..30),
        ) {
            let series = series_of(&specs);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("0.seg");
            let mut w = SegmentWriter::create(&path, header()).unwrap();
            for s in &series {
                w.add(&s.labels, &s.windows).unwrap();
            }
            let bytes = w.finish().unwrap();
            if series.is_empty() {
                prop_assert_eq!(bytes, 0);
                prop_assert!(!path.exists());
            } else {
                let on_disk = fs::read(&path).unwrap();
                prop_assert_eq!(on_disk.len() as u64, bytes);
                prop_assert!(on_disk == encode(header(), &series), "streamed bytes differ");
            }
            let left: Vec<_> = fs::read_dir(dir.path()).unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            prop_assert!(left.is_empty(), "scratch files left: {:?}", left);
        }
    }

    #[test]
    fn refuses_series_out_of_order_and_cleans_up_when_dropped() {
        let series = series_of(&[vec![(1000, 1.0)], vec![(2000, 2.0)]]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.seg");
        let mut w = SegmentWriter::create(&path, header()).unwrap();
        w.add(&series[1].labels, &series[1].windows).unwrap();
        let err = w.add(&series[0].labels, &series[0].windows).unwrap_err();
        assert!(err.to_string().contains("out of label order"), "{err}");
        drop(w);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "scratch files removed");
    }
}
