//! A tier's series over a run of segments, found but not yet decoded: what a query reads.
//!
//! A year of a 1h tier is 365 segments of every series. Reading it as columns gathered per
//! series by each core's run of segments ([`crate::RollupStore::read_columns`]) decodes
//! every window into fresh memory, copies it again when the runs are joined, and the
//! router copies it once more into the state it answers from: for `rate` over a year of
//! 500 series that was most of the query (profile: page zeroing, memmove, column pushes).
//!
//! A scan only *finds* each selected series' records: one pass over each segment's series
//! table (segments on every core), checking what the format checksums as a read would; a
//! thread decides a series it met in an earlier segment from its labels' bytes alone.
//! The reader then decodes one series' records, in time order, a few at a time, straight
//! into columns it keeps ([`TierScan::decode_records`]), one series per task on every
//! core: each window is decoded once, into memory the task reuses, and a task holds a few
//! records' windows, not a range's.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use memmap2::Mmap;
use rayon::prelude::*;
use strata_model::Labels;

use crate::columns::{Fields, SeriesColumns, WindowColumns};
use crate::segment::{Located, Segment, SegmentHeader, Selections};
use crate::window_record;
use crate::RollupError;

/// The selected series of a run of a tier's segments, sorted by labels, and where their
/// records are; see the module docs.
#[derive(Debug)]
pub struct TierScan {
    fields: Fields,
    /// Windows ending in `(mint, maxt]` are read.
    range: (i64, i64),
    segments: Vec<ScannedSegment>,
    series: Vec<ScannedSeries>,
}

/// A segment a scan reads, kept mapped for as long as the scan lives.
#[derive(Debug)]
struct ScannedSegment {
    path: PathBuf,
    map: Arc<Mmap>,
    header: SegmentHeader,
    version: u8,
}

#[derive(Debug)]
struct ScannedSeries {
    labels: Labels,
    /// In segment (time) order.
    records: Vec<Record>,
}

/// One series' records in one segment (a year of a 1h tier for 500 series is 182,500 of
/// them, gathered on one thread: 32 bytes each).
#[derive(Debug, Clone, Copy)]
struct Record {
    /// Where the window record starts (named in errors); its payload follows the CRC-32 that
    /// version 1 puts in front.
    at: u64,
    /// Where its sketch record's payload starts (read only when the scan reads sketches).
    sketch_at: u64,
    segment: u32,
    payload_len: u32,
    sketch_len: u32,
}

/// A length as a record keeps it (a record is one series' windows of one span, far under
/// 4 GiB; a longer one would read cut short and fail its checks).
fn length(r: &Range<usize>) -> u32 {
    u32::try_from(r.end - r.start).unwrap_or(u32::MAX)
}

/// One segment's selected series: where the table holds their labels' bytes (equal bytes
/// are equal labels: a table's encoding is canonical, so they identify a series across
/// segments and its labels are built once), and their records.
type Found = Vec<(Range<usize>, Record)>;

impl TierScan {
    /// Finds the series `matchers` select in `segments` (path and mapping, in time order),
    /// reading windows ending in `(mint, maxt]` and their `fields`.
    pub(crate) fn new(
        segments: Vec<(PathBuf, Arc<Mmap>)>,
        matchers: &[strata_model::Matcher],
        (mint, maxt): (i64, i64),
        fields: Fields,
    ) -> Result<TierScan, RollupError> {
        let with_sketch = fields.has(Fields::SKETCH);
        let found: Vec<(ScannedSegment, Found)> = segments
            .into_par_iter()
            .enumerate()
            .map_init(Selections::default, |selections, (i, (path, map))| {
                let segment = Segment::parse(&path, &map)?;
                let mut cursor = segment.cursor(matchers, mint, maxt, with_sketch)?.remembering(selections);
                let mut found = Vec::new();
                while let Some(Located { raw_labels, at, payload, sketches }) = cursor.next_located()? {
                    let start = raw_labels.as_ptr() as usize - map.as_ptr() as usize;
                    let sketches = sketches.unwrap_or_default();
                    let record = Record {
                        at: at as u64,
                        sketch_at: sketches.start as u64,
                        segment: i as u32,
                        payload_len: length(&payload),
                        sketch_len: length(&sketches),
                    };
                    found.push((start..start + raw_labels.len(), record));
                }
                let (header, version) = (segment.header, segment.version());
                Ok((ScannedSegment { path, map, header, version }, found))
            })
            .collect::<Result<_, RollupError>>()?;
        let (segments, found): (Vec<ScannedSegment>, Vec<Found>) = found.into_iter().unzip();
        let mut series: Vec<ScannedSeries> = Vec::new();
        let mut by_bytes: HashMap<&[u8], usize, foldhash::fast::RandomState> = HashMap::default();
        for (i, (segment, found)) in segments.iter().zip(found).enumerate() {
            for (raw, record) in found {
                let key = &segment.map[raw];
                let k = match by_bytes.get(key) {
                    Some(&k) => k,
                    None => {
                        let labels = Segment::parse(&segment.path, &segment.map)?
                            .labels_of(key, record.at as usize)?;
                        // A series found in one segment is likely in each of the later ones.
                        series
                            .push(ScannedSeries { labels, records: Vec::with_capacity(segments.len() - i) });
                        by_bytes.insert(key, series.len() - 1);
                        series.len() - 1
                    }
                };
                series[k].records.push(record);
            }
        }
        drop(by_bytes);
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(TierScan { fields, range: (mint, maxt), segments, series })
    }

    /// A scan that found nothing.
    pub fn empty(fields: Fields) -> TierScan {
        TierScan { fields, range: (0, 0), segments: Vec::new(), series: Vec::new() }
    }

    /// Series found.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The fields a decode fills.
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// Series `k`'s labels (series are in label order).
    pub fn labels(&self, k: usize) -> &Labels {
        &self.series[k].labels
    }

    /// Changes every series' labels (a tenant's view takes its label off) and sorts the
    /// series again.
    pub fn relabel(&mut self, mut change: impl FnMut(&mut Labels)) {
        self.series.iter_mut().for_each(|s| change(&mut s.labels));
        self.series.sort_by(|a, b| a.labels.cmp(&b.labels));
    }

    /// Series `k`'s records: one per segment holding it, in time order.
    pub fn records(&self, k: usize) -> usize {
        self.series[k].records.len()
    }

    /// The end of the span of the segment holding series `k`'s record `j`: once records
    /// `..=j` are decoded, every window of the series ending up to it has been read (a
    /// segment without the series holds none of its windows).
    pub fn record_span_end(&self, k: usize, j: usize) -> i64 {
        self.segments[self.series[k].records[j].segment as usize].header.end
    }

    /// Appends series `k`'s windows in the range, in time order, to `out` (which keeps this
    /// scan's fields and holds only earlier windows); returns how many windows its records
    /// hold. A damaged record is an error naming its file and offset.
    pub fn decode_into(&self, k: usize, out: &mut WindowColumns) -> Result<usize, RollupError> {
        self.decode_records(k, 0..self.records(k), out)
    }

    /// [`TierScan::decode_into`] of records `records` of series `k` only (a reader streams a
    /// long range a few records at a time).
    pub fn decode_records(
        &self,
        k: usize,
        records: Range<usize>,
        out: &mut WindowColumns,
    ) -> Result<usize, RollupError> {
        let mut held = 0;
        for r in &self.series[k].records[records] {
            let segment = &self.segments[r.segment as usize];
            let bytes: &[u8] = &segment.map;
            let slice = |start: u64, len: u32| &bytes[start as usize..start as usize + len as usize];
            let payload_at = r.at + if segment.version == 1 { 4 } else { 0 };
            held += window_record::decode(
                segment.version,
                slice(payload_at, r.payload_len),
                segment.header,
                self.range,
                self.fields.has(Fields::SKETCH).then(|| slice(r.sketch_at, r.sketch_len)),
                out,
            )
            .map_err(|detail| RollupError::Corrupt {
                path: segment.path.clone(),
                offset: r.at as usize,
                detail,
            })?;
        }
        Ok(held)
    }

    /// Every series with windows in the range, decoded (series on every core).
    pub fn into_columns(self) -> Result<Vec<SeriesColumns>, RollupError> {
        let decoded: Vec<SeriesColumns> = (0..self.len())
            .into_par_iter()
            .map(|k| {
                let mut windows = WindowColumns::new(self.fields);
                self.decode_into(k, &mut windows)?;
                Ok(SeriesColumns { labels: self.series[k].labels.clone(), windows })
            })
            .collect::<Result<_, RollupError>>()?;
        Ok(decoded.into_iter().filter(|s| !s.windows.is_empty()).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::segment_maps::map_segment;
    use strata_model::Matcher;

    /// A scan of a version-1 segment (its records behind a CRC-32) and of the same windows
    /// written as version 2 decodes what a segment's own reader decodes, field for field.
    #[test]
    fn a_scan_decodes_what_the_segment_reader_decodes_in_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = include_bytes!("../tests/fixtures/segment-v1.seg");
        let header = Segment::parse(Path::new("v1"), v1).unwrap().header;
        let series =
            Segment::parse(Path::new("v1"), v1).unwrap().series(&[], i64::MIN, i64::MAX, true).unwrap();
        let v2 = crate::segment::encode(header, &series);
        for (name, bytes) in [("v1.seg", v1.to_vec()), ("v2.seg", v2)] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let map = Arc::new(map_segment(&path).unwrap().unwrap());
            for fields in [Fields::ALL, Fields::SUM, Fields::LAST.and(Fields::STALE)] {
                let matchers = [Matcher::equal("__name__", "cpu")];
                let scan =
                    TierScan::new(vec![(path.clone(), Arc::clone(&map))], &matchers, (0, i64::MAX), fields)
                        .unwrap();
                let direct =
                    Segment::parse(&path, &bytes).unwrap().columns(&matchers, 0, i64::MAX, fields).unwrap();
                assert_eq!(scan.len(), direct.len(), "{name}");
                for (k, d) in direct.iter().enumerate() {
                    assert_eq!(scan.labels(k), &d.labels);
                    let mut windows = WindowColumns::new(fields);
                    scan.decode_into(k, &mut windows).unwrap();
                    assert_eq!(format!("{windows:?}"), format!("{:?}", d.windows), "{name}, {fields:?}");
                }
            }
        }
    }
}
