//! Chunk segment files (`chunks/000001`, …).
//!
//! | field | encoding |
//! |---|---|
//! | header | `BE32` magic `0x85BD40DD`, version `1`, 3 zero bytes |
//! | chunk | `uvarint` data length, encoding byte (1 XOR, 2 histogram, 3 float histogram), data, `BE32` CRC-32C of encoding + data |
//!
//! A chunk's reference, which the index stores, is `segment index << 32 | byte offset of
//! its length field`, the segment index being 0-based (file `000001` is 0). A segment is cut
//! before it would pass 512 MiB; a chunk never spans two files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use strata_codec::varint::put_uvarint;

use crate::StorageError;

const MAGIC: u32 = 0x85BD_40DD;
const SEGMENT_LIMIT: u64 = 512 << 20;
/// Chunk encoding of float XOR chunks.
pub(crate) const XOR_ENCODING: u8 = 1;
/// Chunk encoding of integer native-histogram chunks.
pub(crate) const HISTOGRAM_ENCODING: u8 = 2;
/// Chunk encoding of float native-histogram chunks.
pub(crate) const FLOAT_HISTOGRAM_ENCODING: u8 = 3;

/// Writes chunks into a block's `chunks/` directory.
#[derive(Debug)]
pub(crate) struct ChunkWriter {
    dir: PathBuf,
    file: Option<(BufWriter<File>, PathBuf)>,
    /// 0-based index of the open segment.
    segment: u32,
    /// Bytes in the open segment.
    offset: u64,
}

impl ChunkWriter {
    pub(crate) fn new(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(StorageError::io("creating", dir))?;
        Ok(ChunkWriter { dir: dir.to_path_buf(), file: None, segment: 0, offset: 0 })
    }

    /// Appends a chunk of `encoding`; returns its reference.
    pub(crate) fn write(&mut self, encoding: u8, chunk: &[u8]) -> Result<u64, StorageError> {
        let mut head = Vec::with_capacity(11);
        put_uvarint(&mut head, chunk.len() as u64);
        let size = (head.len() + 1 + chunk.len() + 4) as u64;
        if self.file.is_none() || self.offset + size > SEGMENT_LIMIT {
            self.next_segment()?;
        }
        let r = (u64::from(self.segment) << 32) | self.offset;
        let mut crc_input = Vec::with_capacity(1 + chunk.len());
        crc_input.push(encoding);
        crc_input.extend_from_slice(chunk);
        let crc = crc32c::crc32c(&crc_input);
        let Some((file, path)) = self.file.as_mut() else { unreachable!("next_segment opened a file") };
        [&head[..], &crc_input, &crc.to_be_bytes()]
            .iter()
            .try_for_each(|part| file.write_all(part))
            .map_err(StorageError::io("writing", path))?;
        self.offset += size;
        Ok(r)
    }

    fn next_segment(&mut self) -> Result<(), StorageError> {
        if self.file.is_some() {
            self.finish_segment()?;
            self.segment += 1;
        }
        let path = self.dir.join(format!("{:06}", self.segment + 1));
        let mut file = BufWriter::new(File::create(&path).map_err(StorageError::io("creating", &path))?);
        let mut header = MAGIC.to_be_bytes().to_vec();
        header.extend_from_slice(&[1, 0, 0, 0]);
        file.write_all(&header).map_err(StorageError::io("writing", &path))?;
        self.offset = header.len() as u64;
        self.file = Some((file, path));
        Ok(())
    }

    fn finish_segment(&mut self) -> Result<(), StorageError> {
        if let Some((file, path)) = self.file.take() {
            let file = file.into_inner().map_err(|e| StorageError::io("writing", &path)(e.into_error()))?;
            file.sync_all().map_err(StorageError::io("syncing", &path))?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the last segment.
    pub(crate) fn finish(mut self) -> Result<(), StorageError> {
        self.finish_segment()
    }
}
