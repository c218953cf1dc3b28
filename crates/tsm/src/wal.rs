//! The TSM engine's write-ahead log, in InfluxDB 1.x's WAL format, so influxd replays what
//! Strata logged and Strata replays what influxd logged.
//!
//! A WAL is a directory of segments `_00001.wal`, `_00002.wal`, … (5 digits, rolled at
//! [`SEGMENT_SIZE`]). A segment is a sequence of entries:
//!
//! | field   | bytes | content                                                      |
//! |---------|-------|--------------------------------------------------------------|
//! | type    | 1     | 1 write, 2 delete, 3 delete-range                            |
//! | length  | 4     | u32 BE: bytes of the compressed payload                      |
//! | payload | length| one Snappy block (raw format)                                |
//!
//! Payloads, decompressed (big-endian):
//!
//! | entry        | layout                                                                 |
//! |--------------|------------------------------------------------------------------------|
//! | write        | per key: value type: u8 (1 float, 2 integer, 3 boolean, 4 string, 5 unsigned), key length: u16, key, count: u32, then count × (time: i64, value) |
//! | delete       | keys joined by `\n`, each deleted for all time                         |
//! | delete-range | min: i64, max: i64, then per key: key length: u32, key                 |
//!
//! A value is 8 bytes (float bits, integer, unsigned), 1 byte (boolean) or length: u32 +
//! bytes (string). The format has no checksum: a damaged entry shows as a Snappy or layout
//! error, and replay stops there — like influxd, which truncates the segment after its last
//! good entry. That is the format's limit (influxd would drop an entry type it does not
//! know, so Strata cannot add a checksummed one without losing compatibility): a flipped
//! bit inside a value that still decodes is not detected.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::block::Values;
use crate::error::{Result, TsmError};

/// Segments roll at this size (InfluxDB's `DefaultSegmentSize`, 10 MiB).
pub const SEGMENT_SIZE: u64 = 10 * 1024 * 1024;
const WRITE: u8 = 1;
const DELETE: u8 = 2;
const DELETE_RANGE: u8 = 3;
/// A hostile length could ask for any allocation; no entry influxd writes comes near.
const MAX_ENTRY: usize = 1 << 30;

/// The points of one key in a write entry.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPoints {
    pub key: Vec<u8>,
    pub timestamps: Vec<i64>,
    pub values: Values,
}

/// One WAL entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Write(Vec<KeyPoints>),
    Delete(Vec<Vec<u8>>),
    DeleteRange { keys: Vec<Vec<u8>>, min_time: i64, max_time: i64 },
}

/// The name of segment `n`.
pub fn segment_name(n: u64) -> String {
    format!("_{n:05}.wal")
}

/// The segments of a WAL dir, by number.
pub fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TsmError::io(dir, e)),
    };
    let mut out: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let n = name.strip_prefix('_')?.strip_suffix(".wal")?.parse().ok()?;
            Some((n, p))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// What reading a segment found: its good entries, and where and why it stopped early.
#[derive(Debug)]
pub struct SegmentRead {
    pub entries: Vec<Entry>,
    /// Bytes of good entries from the start.
    pub valid_len: u64,
    /// Why the rest could not be read (a torn or damaged tail).
    pub damage: Option<TsmError>,
}

/// Reads a segment's entries up to its end or its first damaged entry.
pub fn read_segment(path: &Path) -> Result<SegmentRead> {
    let bytes = std::fs::read(path).map_err(|e| TsmError::io(path, e))?;
    Ok(parse_segment(path, &bytes))
}

/// [`read_segment`] over a segment's bytes; `path` names it in errors.
pub fn parse_segment(path: &Path, bytes: &[u8]) -> SegmentRead {
    let mut out = SegmentRead { entries: Vec::new(), valid_len: 0, damage: None };
    let mut pos = 0usize;
    while pos < bytes.len() {
        match read_entry(bytes, pos) {
            Ok((entry, next)) => {
                out.entries.push(entry);
                pos = next;
                out.valid_len = pos as u64;
            }
            Err(detail) => {
                out.damage = Some(TsmError::Corrupt { path: path.to_path_buf(), offset: pos as u64, detail });
                break;
            }
        }
    }
    out
}

fn read_entry(bytes: &[u8], at: usize) -> std::result::Result<(Entry, usize), String> {
    let head = bytes.get(at..at + 5).ok_or("the segment ends inside an entry header")?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let end =
        (at + 5).checked_add(len).filter(|&e| e <= bytes.len()).ok_or("the segment ends inside an entry")?;
    let compressed = &bytes[at + 5..end];
    let size = snap::raw::decompress_len(compressed).map_err(|e| format!("snappy: {e}"))?;
    if size > MAX_ENTRY {
        return Err(format!("an entry of {size} bytes"));
    }
    let payload = snap::raw::Decoder::new().decompress_vec(compressed).map_err(|e| format!("snappy: {e}"))?;
    let entry = match head[0] {
        WRITE => Entry::Write(parse_write(&payload)?),
        DELETE => Entry::Delete(
            payload.split(|&b| b == b'\n').filter(|k| !k.is_empty()).map(<[u8]>::to_vec).collect(),
        ),
        DELETE_RANGE => parse_delete_range(&payload)?,
        t => return Err(format!("unknown entry type {t}")),
    };
    Ok((entry, end))
}

/// A cursor over a payload that names what it was reading when it ran out.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("payload ends inside {what} at byte {}", self.pos))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u64(&mut self, what: &str) -> std::result::Result<u64, String> {
        Ok(crate::timestamps::be_u64(self.take(8, what)?))
    }

    fn u32(&mut self, what: &str) -> std::result::Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }
}

fn parse_write(payload: &[u8]) -> std::result::Result<Vec<KeyPoints>, String> {
    let mut c = Cursor { bytes: payload, pos: 0 };
    let mut out = Vec::new();
    while !c.done() {
        let value_type = c.take(1, "a value type")?[0];
        let key_len = c.take(2, "a key length")?;
        let key = c.take(usize::from(u16::from_be_bytes([key_len[0], key_len[1]])), "a key")?.to_vec();
        let count = c.u32("a count")? as usize;
        // Each point takes at least 9 bytes: a count beyond what is left is damage.
        if count > (payload.len() - c.pos) / 9 {
            return Err(format!(
                "{count} points for {} but only {} bytes left",
                String::from_utf8_lossy(&key),
                payload.len() - c.pos
            ));
        }
        let mut timestamps = Vec::with_capacity(count);
        let values = match value_type {
            1 => Values::Float(
                (0..count)
                    .map(|_| point(&mut c, &mut timestamps, |c| c.u64("a float").map(f64::from_bits)))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            2 => Values::Integer(
                (0..count)
                    .map(|_| point(&mut c, &mut timestamps, |c| c.u64("an integer").map(|v| v as i64)))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            3 => Values::Boolean(
                (0..count)
                    .map(|_| point(&mut c, &mut timestamps, |c| c.take(1, "a boolean").map(|b| b[0] != 0)))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            4 => Values::String(
                (0..count)
                    .map(|_| {
                        point(&mut c, &mut timestamps, |c| {
                            let n = c.u32("a string length")? as usize;
                            c.take(n, "a string").map(<[u8]>::to_vec)
                        })
                    })
                    .collect::<std::result::Result<_, _>>()?,
            ),
            5 => Values::Unsigned(
                (0..count)
                    .map(|_| point(&mut c, &mut timestamps, |c| c.u64("an unsigned")))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            t => return Err(format!("unknown value type {t} for {}", String::from_utf8_lossy(&key))),
        };
        out.push(KeyPoints { key, timestamps, values });
    }
    Ok(out)
}

/// Reads one point's time onto `timestamps` and returns its value.
fn point<'a, V>(
    c: &mut Cursor<'a>,
    timestamps: &mut Vec<i64>,
    value: impl Fn(&mut Cursor<'a>) -> std::result::Result<V, String>,
) -> std::result::Result<V, String> {
    timestamps.push(c.u64("a timestamp")? as i64);
    value(c)
}

fn parse_delete_range(payload: &[u8]) -> std::result::Result<Entry, String> {
    let mut c = Cursor { bytes: payload, pos: 0 };
    let min_time = c.u64("the minimum time")? as i64;
    let max_time = c.u64("the maximum time")? as i64;
    let mut keys = Vec::new();
    while !c.done() {
        let n = c.u32("a key length")? as usize;
        keys.push(c.take(n, "a key")?.to_vec());
    }
    Ok(Entry::DeleteRange { keys, min_time, max_time })
}

/// The bytes of an entry (header and compressed payload).
pub fn encode_entry(entry: &Entry) -> Vec<u8> {
    match entry {
        Entry::Write(points) => frame(WRITE, &encode_write(points)),
        Entry::Delete(keys) => frame(DELETE, &keys.join(&b'\n')),
        Entry::DeleteRange { keys, min_time, max_time } => {
            let mut p = min_time.to_be_bytes().to_vec();
            p.extend_from_slice(&max_time.to_be_bytes());
            for k in keys {
                p.extend_from_slice(&(k.len() as u32).to_be_bytes());
                p.extend_from_slice(k);
            }
            frame(DELETE_RANGE, &p)
        }
    }
}

/// The bytes of a write entry of float points: per series its key, timestamps and values
/// (what Strata's engine writes, without building an [`Entry`] first). Written straight into
/// its frame (see [`frame`]): the payload is copied once.
pub fn encode_float_write(series: &[(&[u8], &[i64], &[f64])]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_float_write_into(&mut out, series);
    out
}

/// [`encode_float_write`] into `out` (cleared first), so a writer can reuse one buffer.
pub fn encode_float_write_into(out: &mut Vec<u8>, series: &[(&[u8], &[i64], &[f64])]) {
    out.clear();
    let payload: usize = series.iter().map(|(key, ts, _)| 7 + key.len() + 16 * ts.len()).sum();
    let Ok(literal_len) = u32::try_from(payload.saturating_sub(1)) else {
        let mut p = Vec::with_capacity(payload);
        put_float_points(&mut p, series);
        out.extend_from_slice(&frame(WRITE, &p));
        return;
    };
    let mut block_head = Vec::with_capacity(16);
    strata_codec::varint::put_uvarint(&mut block_head, payload as u64);
    if payload > 0 {
        block_head.push(0xFC);
        block_head.extend_from_slice(&literal_len.to_le_bytes());
    }
    let block_len = block_head.len() + payload;
    out.reserve(5 + block_len);
    out.push(WRITE);
    out.extend_from_slice(&(block_len as u32).to_be_bytes());
    out.extend_from_slice(&block_head);
    put_float_points(out, series);
}

fn put_float_points(p: &mut Vec<u8>, series: &[(&[u8], &[i64], &[f64])]) {
    for (key, ts, vs) in series {
        put_key_header(p, 1, key, ts.len());
        for (t, v) in ts.iter().zip(vs.iter()) {
            p.extend_from_slice(&t.to_be_bytes());
            p.extend_from_slice(&v.to_bits().to_be_bytes());
        }
    }
}

/// Type, length and the payload as a Snappy block.
///
/// The block is Snappy's literal form: the uncompressed length, then the payload as literal
/// elements of at most 2^32 bytes (tag `0xFC` and the length − 1 as 4 bytes little-endian).
/// Any Snappy decoder, influxd's included, reads it; compressing instead cost about 9% of
/// the server's CPU under remote-write ingest (a profile of `scripts/bench-tsm.sh`'s load)
/// for a file that lives only until the next snapshot.
fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut block = Vec::with_capacity(payload.len() + 16);
    strata_codec::varint::put_uvarint(&mut block, payload.len() as u64);
    for literal in payload.chunks(u32::MAX as usize) {
        block.push(0xFC);
        block.extend_from_slice(&((literal.len() - 1) as u32).to_le_bytes());
        block.extend_from_slice(literal);
    }
    let mut out = Vec::with_capacity(5 + block.len());
    out.push(kind);
    out.extend_from_slice(&(block.len() as u32).to_be_bytes());
    out.extend_from_slice(&block);
    out
}

fn put_key_header(p: &mut Vec<u8>, value_type: u8, key: &[u8], count: usize) {
    p.push(value_type);
    p.extend_from_slice(&(key.len() as u16).to_be_bytes());
    p.extend_from_slice(key);
    p.extend_from_slice(&(count as u32).to_be_bytes());
}

fn encode_write(points: &[KeyPoints]) -> Vec<u8> {
    let mut p = Vec::new();
    for kp in points {
        let value_type = match kp.values {
            Values::Float(_) => 1u8,
            Values::Integer(_) => 2,
            Values::Boolean(_) => 3,
            Values::String(_) => 4,
            Values::Unsigned(_) => 5,
        };
        put_key_header(&mut p, value_type, &kp.key, kp.timestamps.len());
        for (i, t) in kp.timestamps.iter().enumerate() {
            p.extend_from_slice(&t.to_be_bytes());
            match &kp.values {
                Values::Float(v) => p.extend_from_slice(&v[i].to_bits().to_be_bytes()),
                Values::Integer(v) => p.extend_from_slice(&v[i].to_be_bytes()),
                Values::Unsigned(v) => p.extend_from_slice(&v[i].to_be_bytes()),
                Values::Boolean(v) => p.push(u8::from(v[i])),
                Values::String(v) => {
                    p.extend_from_slice(&(v[i].len() as u32).to_be_bytes());
                    p.extend_from_slice(&v[i]);
                }
            }
        }
    }
    p
}

/// Appends entries to the newest segment, rolling at [`SEGMENT_SIZE`]. A segment's file is
/// created by its first entry, so an idle WAL leaves no empty segments behind.
///
/// Entries are counted (`appended`) so that writers can share fsyncs (group commit): a
/// writer appends under the caller's lock, then, outside it, syncs the segment unless a sync
/// that began after its append already covered it (see the engine).
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    file: Option<std::sync::Arc<File>>,
    segment: u64,
    size: u64,
    /// Entries appended since open.
    appended: u64,
}

impl WalWriter {
    /// Opens `dir` for appending after segment `after` (the last one replayed; a new
    /// segment is started so a damaged tail is never appended to).
    pub fn open(dir: &Path, after: u64) -> Result<WalWriter> {
        std::fs::create_dir_all(dir).map_err(|e| TsmError::io(dir, e))?;
        Ok(WalWriter { dir: dir.to_path_buf(), file: None, segment: after + 1, size: 0, appended: 0 })
    }

    /// The segment being written.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// Appends `entry`; durable once `sync` returns (or at once with `sync_now`).
    pub fn append(&mut self, entry: &Entry, sync_now: bool) -> Result<()> {
        self.append_encoded(&encode_entry(entry))?;
        if sync_now {
            self.sync()?;
        }
        Ok(())
    }

    /// Appends an entry already encoded (`encode_entry`, done outside any lock); returns the
    /// count of entries appended so far, this one included.
    pub fn append_encoded(&mut self, bytes: &[u8]) -> Result<u64> {
        if self.size > 0 && self.size + bytes.len() as u64 > SEGMENT_SIZE {
            self.roll()?;
        }
        let path = self.dir.join(segment_name(self.segment));
        if self.file.is_none() {
            self.file = Some(std::sync::Arc::new(create_segment(&self.dir, self.segment)?));
        }
        if let Some(file) = &self.file {
            (&**file).write_all(bytes).map_err(|e| TsmError::io(&path, e))?;
        }
        self.size += bytes.len() as u64;
        self.appended += 1;
        Ok(self.appended)
    }

    /// Entries appended so far, and the open segment's file (to sync outside a lock; closed
    /// segments were synced when they closed).
    pub fn sync_target(&self) -> (u64, Option<(std::sync::Arc<File>, PathBuf)>) {
        let file = self.file.as_ref().map(|f| (f.clone(), self.dir.join(segment_name(self.segment))));
        (self.appended, file)
    }

    /// Makes every append so far durable.
    pub fn sync(&mut self) -> Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let path = self.dir.join(segment_name(self.segment));
        file.sync_data().map_err(|e| TsmError::io(path, e))
    }

    /// Closes the current segment and starts the next; returns the closed one's number.
    pub fn roll(&mut self) -> Result<u64> {
        self.sync()?;
        let closed = self.segment;
        self.segment += 1;
        self.file = None;
        self.size = 0;
        Ok(closed)
    }
}

fn create_segment(dir: &Path, n: u64) -> Result<File> {
    let path = dir.join(segment_name(n));
    let file =
        OpenOptions::new().create(true).append(true).open(&path).map_err(|e| TsmError::io(&path, e))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| TsmError::io(dir, e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write_entry(key: &str, ts: Vec<i64>, values: Values) -> Entry {
        Entry::Write(vec![KeyPoints { key: key.as_bytes().to_vec(), timestamps: ts, values }])
    }

    fn entries() -> Vec<Entry> {
        vec![
            write_entry("cpu,host=a#!~#f", vec![1, 2], Values::Float(vec![1.5, -2.0])),
            Entry::Write(vec![
                KeyPoints { key: b"m#!~#i".to_vec(), timestamps: vec![5], values: Values::Integer(vec![-7]) },
                KeyPoints {
                    key: b"m#!~#b".to_vec(),
                    timestamps: vec![5, 6],
                    values: Values::Boolean(vec![true, false]),
                },
                KeyPoints {
                    key: b"m#!~#s".to_vec(),
                    timestamps: vec![5],
                    values: Values::String(vec![b"hi".to_vec()]),
                },
                KeyPoints {
                    key: b"m#!~#u".to_vec(),
                    timestamps: vec![5],
                    values: Values::Unsigned(vec![u64::MAX]),
                },
            ]),
            Entry::Delete(vec![b"cpu,host=a#!~#f".to_vec(), b"m#!~#i".to_vec()]),
            Entry::DeleteRange { keys: vec![b"m#!~#b".to_vec()], min_time: 0, max_time: 5 },
        ]
    }

    #[test]
    fn entries_read_back_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path(), 0).unwrap();
        for (i, e) in entries().iter().enumerate() {
            w.append(e, true).unwrap();
            if i == 1 {
                w.roll().unwrap();
            }
        }
        let segs = segments(dir.path()).unwrap();
        assert_eq!(segs.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
        let read: Vec<Entry> = segs.iter().flat_map(|(_, p)| read_segment(p).unwrap().entries).collect();
        assert_eq!(read, entries());
    }

    #[test]
    fn entries_are_valid_snappy_blocks() {
        for payload in [Vec::new(), vec![7u8], (0..100_000u32).map(|i| (i % 251) as u8).collect()] {
            let framed = frame(DELETE, &payload);
            let block = &framed[5..];
            assert_eq!(
                u32::from_be_bytes([framed[1], framed[2], framed[3], framed[4]]) as usize,
                block.len()
            );
            assert_eq!(snap::raw::Decoder::new().decompress_vec(block).unwrap(), payload);
        }
    }

    #[test]
    fn float_writes_encode_as_write_entries() {
        let bytes =
            encode_float_write(&[(b"cpu#!~#value", &[1, 2], &[0.5, 1.5]), (b"mem#!~#value", &[3], &[2.0])]);
        let back = parse_segment(Path::new("x"), &bytes).entries;
        let expected = Entry::Write(vec![
            KeyPoints {
                key: b"cpu#!~#value".to_vec(),
                timestamps: vec![1, 2],
                values: Values::Float(vec![0.5, 1.5]),
            },
            KeyPoints {
                key: b"mem#!~#value".to_vec(),
                timestamps: vec![3],
                values: Values::Float(vec![2.0]),
            },
        ]);
        assert_eq!(back, [expected]);
    }

    #[test]
    fn a_torn_tail_stops_replay_at_the_last_whole_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path(), 0).unwrap();
        for e in entries() {
            w.append(&e, true).unwrap();
        }
        let path = dir.path().join(segment_name(1));
        let bytes = std::fs::read(&path).unwrap();
        let whole = encode_entry(&entries()[0]).len() + encode_entry(&entries()[1]).len();
        for cut in whole + 1..whole + encode_entry(&entries()[2]).len() {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let r = read_segment(&path).unwrap();
            assert_eq!(r.entries, entries()[..2], "cut at {cut}");
            assert_eq!(r.valid_len, whole as u64);
            assert!(r.damage.unwrap().to_string().contains(&format!("at byte {whole}")));
        }
    }

    proptest! {
        #[test]
        fn damaged_segments_never_panic(at in 0usize..200, byte in any::<u8>()) {
            let mut bytes: Vec<u8> = entries().iter().flat_map(encode_entry).collect();
            let at = at % bytes.len();
            bytes[at] = byte;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(segment_name(1));
            std::fs::write(&path, &bytes).unwrap();
            let _ = read_segment(&path).unwrap();
        }
    }
}
