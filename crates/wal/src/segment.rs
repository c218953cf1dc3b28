//! Segment files and fragments: how records sit in `wal/`.
//!
//! Segments are files named by 8-digit numbers (`00000000`, `00000001`, …), cut at a
//! configurable size and made of 32 KiB pages, with no file header. A record is written as
//! one or more fragments:
//!
//! | field | size | meaning |
//! |---|---|---|
//! | type | 1 | low 3 bits: 1 full, 2 first, 3 middle, 4 last; bit 3 (`0x08`): snappy-compressed record |
//! | length | 2 | `BE16` bytes of fragment data |
//! | crc | 4 | `BE32` CRC-32C of the fragment data |
//! | data | length | |
//!
//! A fragment header never straddles a page: when fewer than 7 bytes are left in a page
//! they are zeros (type 0 reads as "rest of page empty"), and a closed segment is padded
//! with zeros to a page boundary. A record never crosses into another segment. Compression
//! applies to the whole record before it is cut into fragments (snappy block format);
//! Strata writes uncompressed records and reads both. Source: Prometheus'
//! `tsdb/docs/format/wal.md` and `tsdb/wlog`, restated in ../shared/specs/prom-format-notes.md §6.

use std::path::{Path, PathBuf};

use crate::{Result, WalError};

/// Bytes in a page.
pub const PAGE_SIZE: usize = 32 * 1024;
/// Bytes of a fragment header.
pub(crate) const HEADER_SIZE: usize = 7;

const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;
const SNAPPY: u8 = 0x08;

/// The file name of segment `n`.
pub fn segment_name(n: u32) -> String {
    format!("{n:08}")
}

/// The segments in `dir`, sorted by number (other files are ignored).
pub fn list_segments(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|source| WalError::Io { op: "listing", path: dir.into(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| WalError::Io { op: "listing", path: dir.into(), source })?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit()) && entry.path().is_file() {
            if let Ok(n) = name.parse() {
                out.push((n, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Bytes the fragments of a `len`-byte record take when the current page has
/// `page_offset` bytes used (headers and page padding included).
pub(crate) fn framed_len(len: usize, page_offset: usize) -> usize {
    let (mut left, mut offset, mut total) = (len, page_offset, 0);
    loop {
        let room = PAGE_SIZE - offset;
        if room <= HEADER_SIZE {
            total += room;
            offset = 0;
            continue;
        }
        let n = left.min(room - HEADER_SIZE);
        total += HEADER_SIZE + n;
        offset += HEADER_SIZE + n;
        left -= n;
        if left == 0 {
            return total;
        }
    }
}

/// Appends `record` to `out` as fragments, starting `*page_offset` bytes into a page.
pub(crate) fn write_fragments(out: &mut Vec<u8>, page_offset: &mut usize, record: &[u8]) {
    let mut rest = record;
    let mut first = true;
    loop {
        let room = PAGE_SIZE - *page_offset;
        if room <= HEADER_SIZE {
            out.resize(out.len() + room, 0);
            *page_offset = 0;
            continue;
        }
        let n = rest.len().min(room - HEADER_SIZE);
        let last = n == rest.len();
        let kind = match (first, last) {
            (true, true) => FULL,
            (true, false) => FIRST,
            (false, false) => MIDDLE,
            (false, true) => LAST,
        };
        out.push(kind);
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.extend_from_slice(&crc32c::crc32c(&rest[..n]).to_be_bytes());
        out.extend_from_slice(&rest[..n]);
        *page_offset += HEADER_SIZE + n;
        if *page_offset == PAGE_SIZE {
            *page_offset = 0;
        }
        rest = &rest[n..];
        first = false;
        if last {
            return;
        }
    }
}

/// Zero bytes that complete the current page.
pub(crate) fn page_padding(page_offset: usize) -> usize {
    if page_offset == 0 {
        0
    } else {
        PAGE_SIZE - page_offset
    }
}

/// What reading a segment found: the records and where they start, and the first
/// corruption, if any (with its offset and whether valid records follow it).
#[derive(Debug, Default)]
pub(crate) struct SegmentScan {
    /// `(offset of the record's first fragment, record bytes, decompressed)`.
    pub(crate) records: Vec<(u64, Vec<u8>)>,
    /// Where the last complete record ends: where to truncate when the rest is damaged.
    pub(crate) valid_len: u64,
    /// The first corruption: offset and description.
    pub(crate) corruption: Option<(u64, String)>,
    /// Whether a valid record starts somewhere after the corruption (so it is not a torn
    /// tail but damage in the middle).
    pub(crate) valid_after_corruption: bool,
}

/// Reads every record of a segment's bytes; never panics, whatever the bytes.
pub(crate) fn scan(bytes: &[u8]) -> SegmentScan {
    let mut out = SegmentScan::default();
    let mut pos = 0usize;
    let mut pending: Option<(u64, Vec<u8>, bool)> = None;
    while pos < bytes.len() {
        let in_page = pos % PAGE_SIZE;
        if PAGE_SIZE - in_page <= HEADER_SIZE || bytes[pos] == 0 {
            // The writer pads inside a record only in a page's last few bytes, where no
            // header fits; an empty page in the middle of a record means lost fragments.
            if PAGE_SIZE - in_page > HEADER_SIZE {
                if let Some((start, _, _)) = &pending {
                    let start = *start;
                    return corrupt(
                        out,
                        bytes,
                        pos as u64,
                        &format!("record starting at byte {start} interrupted by an empty page"),
                    );
                }
            }
            // Rest of page empty: everything up to the next page must be zero.
            let page_end = (pos - in_page + PAGE_SIZE).min(bytes.len());
            if let Some(i) = bytes[pos..page_end].iter().position(|&b| b != 0) {
                return corrupt(out, bytes, (pos + i) as u64, "non-zero byte in page padding");
            }
            pos = page_end;
            continue;
        }
        let Some(header) = bytes.get(pos..pos + HEADER_SIZE) else {
            return corrupt(out, bytes, pos as u64, "fragment header cut off by the end of the segment");
        };
        let (kind, compressed) = (header[0] & 0x07, header[0] & SNAPPY != 0);
        if header[0] & 0xe0 != 0 || header[0] & 0x10 != 0 || !(FULL..=LAST).contains(&kind) {
            return corrupt(
                out,
                bytes,
                pos as u64,
                &format!("invalid fragment type byte {:#04x}", header[0]),
            );
        }
        let len = usize::from(u16::from_be_bytes([header[1], header[2]]));
        let crc = u32::from_be_bytes([header[3], header[4], header[5], header[6]]);
        if in_page + HEADER_SIZE + len > PAGE_SIZE {
            return corrupt(out, bytes, pos as u64, &format!("fragment of {len} bytes overruns its page"));
        }
        let Some(data) = bytes.get(pos + HEADER_SIZE..pos + HEADER_SIZE + len) else {
            return corrupt(out, bytes, pos as u64, "fragment cut off by the end of the segment");
        };
        if crc32c::crc32c(data) != crc {
            return corrupt(out, bytes, pos as u64, "fragment checksum mismatch");
        }
        match (kind, pending.take()) {
            (FULL, None) => match decompress(data, compressed) {
                Ok(record) => out.records.push((pos as u64, record)),
                Err(e) => return corrupt(out, bytes, pos as u64, &e),
            },
            (FIRST, None) => pending = Some((pos as u64, data.to_vec(), compressed)),
            (MIDDLE, Some((start, mut buf, c))) => {
                buf.extend_from_slice(data);
                pending = Some((start, buf, c));
            }
            (LAST, Some((start, mut buf, c))) => {
                buf.extend_from_slice(data);
                match decompress(&buf, c) {
                    Ok(record) => out.records.push((start, record)),
                    Err(e) => return corrupt(out, bytes, start, &e),
                }
            }
            (_, Some((start, _, _))) => {
                return corrupt(
                    out,
                    bytes,
                    start,
                    "record interrupted by a new record before its last fragment",
                );
            }
            (_, None) => return corrupt(out, bytes, pos as u64, "middle or last fragment without a first"),
        }
        pos += HEADER_SIZE + len;
        if pending.is_none() {
            out.valid_len = pos as u64;
        }
    }
    if let Some((start, _, _)) = pending {
        return corrupt(out, bytes, start, "record cut off by the end of the segment");
    }
    out.valid_len = bytes.len() as u64;
    out
}

/// Snappy-decompresses a record if its fragments said so.
fn decompress(data: &[u8], compressed: bool) -> std::result::Result<Vec<u8>, String> {
    if !compressed {
        return Ok(data.to_vec());
    }
    snap::raw::Decoder::new().decompress_vec(data).map_err(|e| format!("snappy: {e}"))
}

fn corrupt(mut out: SegmentScan, bytes: &[u8], at: u64, detail: &str) -> SegmentScan {
    out.corruption = Some((at, detail.to_string()));
    out.valid_after_corruption = valid_record_after(bytes, at as usize);
    out
}

/// Whether some later page starts with a valid full or first fragment.
fn valid_record_after(bytes: &[u8], at: usize) -> bool {
    let mut page = (at / PAGE_SIZE + 1) * PAGE_SIZE;
    while page + HEADER_SIZE <= bytes.len() {
        let h = &bytes[page..page + HEADER_SIZE];
        let len = usize::from(u16::from_be_bytes([h[1], h[2]]));
        let kind = h[0] & 0x07;
        if (kind == FULL || kind == FIRST) && h[0] & 0xf0 == 0 && HEADER_SIZE + len <= PAGE_SIZE {
            if let Some(data) = bytes.get(page + HEADER_SIZE..page + HEADER_SIZE + len) {
                if crc32c::crc32c(data) == u32::from_be_bytes([h[3], h[4], h[5], h[6]]) {
                    return true;
                }
            }
        }
        page += PAGE_SIZE;
    }
    false
}
