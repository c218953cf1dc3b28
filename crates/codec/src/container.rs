//! A self-describing file holding one series in either codec: what `strata compress`
//! writes and `strata decompress` reads. Fixed-width fields are big-endian, as in
//! Prometheus' formats.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `STSC` |
//! | 4 | 1 | version, 1 |
//! | 5 | 1 | codec: 1 = delta, 2 = Gorilla XOR |
//! | 6 | 2 | `BE16` samples per XOR chunk (0 for delta) |
//! | 8 | 8 | `BE64` sample count |
//! | 16 | 8 | `BE64` payload length in bytes |
//! | 24 | 4 | `BE32` CRC-32C of bytes 0–23 followed by the payload |
//! | 28 | … | payload |
//!
//! Payload: for delta, one [`crate::delta`] series; for Gorilla, Prometheus XOR chunks one
//! after another, each preceded by its byte length as a uvarint. The checksum catches
//! corruption that would still decode (a flipped value bit decodes to another value);
//! truncation and inconsistent counts are reported as such.

use crate::delta::{self, DeltaStats};
use crate::varint::{put_uvarint, read_uvarint};
use crate::xor::{self, XorEncoder, XorStats, MAX_SAMPLES_PER_CHUNK};
use crate::{CodecError, Result};

/// The four bytes every container starts with.
pub const MAGIC: [u8; 4] = *b"STSC";
/// The container format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 28;

/// Which codec a container's payload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// [`crate::delta`].
    Delta,
    /// [`crate::xor`] chunks.
    Gorilla,
}

impl Codec {
    fn id(self) -> u8 {
        match self {
            Codec::Delta => 1,
            Codec::Gorilla => 2,
        }
    }

    /// The codec's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Delta => "delta",
            Codec::Gorilla => "gorilla",
        }
    }
}

/// The header fields of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The payload's codec.
    pub codec: Codec,
    /// Samples per XOR chunk (the last may hold fewer); 0 for delta.
    pub chunk_samples: u16,
    /// Total samples.
    pub samples: u64,
    /// Payload length in bytes.
    pub payload_len: u64,
}

/// Where the bytes of an encoded container went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeReport {
    /// The header as written.
    pub header: Header,
    /// Whole file size.
    pub total_bytes: u64,
    /// Bits spent on timestamps.
    pub timestamp_bits: u64,
    /// Bits spent on values.
    pub value_bits: u64,
    /// Everything else: the file header, chunk headers and length prefixes, padding.
    pub overhead_bits: u64,
    /// For Gorilla: the breakdown by kind of value field.
    pub xor: Option<XorStats>,
}

/// Encodes `samples` with `codec`; for Gorilla, `chunk_samples` (1–65,535) per chunk.
pub fn encode(codec: Codec, samples: &[(i64, f64)], chunk_samples: usize) -> Result<(Vec<u8>, EncodeReport)> {
    let (payload, ts_bits, value_bits, xor_stats, chunk_field) = match codec {
        Codec::Delta => {
            let (payload, DeltaStats { timestamp_bytes, value_bytes, .. }) =
                delta::encode(samples.iter().copied());
            (payload, timestamp_bytes * 8, value_bytes * 8, None, 0)
        }
        Codec::Gorilla => {
            if chunk_samples == 0 || chunk_samples > MAX_SAMPLES_PER_CHUNK {
                return Err(CodecError::Full { format: "XOR chunk", limit: MAX_SAMPLES_PER_CHUNK });
            }
            let (payload, stats) = encode_chunks(samples, chunk_samples)?;
            (payload, stats.timestamp_bits, stats.value_bits(), Some(stats), chunk_samples as u16)
        }
    };
    let header = Header {
        codec,
        chunk_samples: chunk_field,
        samples: samples.len() as u64,
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(codec.id());
    out.extend_from_slice(&header.chunk_samples.to_be_bytes());
    out.extend_from_slice(&header.samples.to_be_bytes());
    out.extend_from_slice(&header.payload_len.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), &payload);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&payload);
    let total_bytes = out.len() as u64;
    let report = EncodeReport {
        header,
        total_bytes,
        timestamp_bits: ts_bits,
        value_bits,
        overhead_bits: total_bytes * 8 - ts_bits - value_bits,
        xor: xor_stats,
    };
    Ok((out, report))
}

fn encode_chunks(samples: &[(i64, f64)], chunk_samples: usize) -> Result<(Vec<u8>, XorStats)> {
    let mut payload = Vec::new();
    let mut total = XorStats::default();
    for part in samples.chunks(chunk_samples) {
        let mut enc = XorEncoder::new();
        for &(t, v) in part {
            enc.append(t, v)?;
        }
        let (bytes, stats) = enc.finish();
        put_uvarint(&mut payload, bytes.len() as u64);
        payload.extend_from_slice(&bytes);
        total.merge(&stats);
    }
    Ok((payload, total))
}

/// Reads and checks the fixed header (not the checksum, which covers the payload).
pub fn read_header(bytes: &[u8]) -> Result<Header> {
    let Some(head) = bytes.get(..HEADER_LEN) else {
        return Err(CodecError::Truncated { what: "container header", offset: bytes.len() });
    };
    if head[..4] != MAGIC {
        return Err(corrupt(
            0,
            format!("not a Strata series file: magic is {:02x?}, want \"STSC\"", &head[..4]),
        ));
    }
    if head[4] != VERSION {
        return Err(corrupt(4, format!("unsupported version {}, this build reads {VERSION}", head[4])));
    }
    let codec = match head[5] {
        1 => Codec::Delta,
        2 => Codec::Gorilla,
        other => return Err(corrupt(5, format!("unknown codec id {other}"))),
    };
    let be64 = |at: usize| u64::from_be_bytes(head[at..at + 8].try_into().unwrap_or([0; 8]));
    Ok(Header {
        codec,
        chunk_samples: u16::from_be_bytes([head[6], head[7]]),
        samples: be64(8),
        payload_len: be64(16),
    })
}

/// Decodes a container, verifying its checksum, length and sample count.
pub fn decode(bytes: &[u8]) -> Result<(Header, Vec<(i64, f64)>)> {
    let mut samples = Vec::new();
    let header = decode_into(bytes, &mut samples)?;
    Ok((header, samples))
}

/// Like [`decode`], into `out` (cleared first), so a caller can reuse its memory.
pub fn decode_into(bytes: &[u8], out: &mut Vec<(i64, f64)>) -> Result<Header> {
    out.clear();
    let header = read_header(bytes)?;
    let payload = &bytes[HEADER_LEN..];
    let len = payload.len() as u64;
    if len < header.payload_len {
        return Err(CodecError::Truncated { what: "container payload", offset: bytes.len() });
    }
    if len > header.payload_len {
        return Err(corrupt(
            16,
            format!("payload is {len} bytes but the header says {}", header.payload_len),
        ));
    }
    let stored = u32::from_be_bytes(bytes[24..28].try_into().unwrap_or([0; 4]));
    let actual = crc32c::crc32c_append(crc32c::crc32c(&bytes[..24]), payload);
    if stored != actual {
        return Err(corrupt(
            24,
            format!("checksum mismatch: stored {stored:#010x}, computed {actual:#010x}"),
        ));
    }
    match header.codec {
        Codec::Delta => out.extend(delta::decode(payload).map_err(|e| shift(e, HEADER_LEN))?),
        Codec::Gorilla => decode_chunks(payload, header.samples, out).map_err(|e| shift(e, HEADER_LEN))?,
    }
    if out.len() as u64 != header.samples {
        return Err(corrupt(
            8,
            format!("header announces {} samples, payload holds {}", header.samples, out.len()),
        ));
    }
    Ok(header)
}

fn decode_chunks(payload: &[u8], announced: u64, out: &mut Vec<(i64, f64)>) -> Result<()> {
    // Reserve no more than the payload could hold (a sample takes at least one bit).
    out.reserve(announced.min(payload.len() as u64 * 8) as usize);
    let mut pos = 0;
    while pos < payload.len() {
        let len = read_uvarint(payload, &mut pos)?;
        let end = usize::try_from(len).ok().and_then(|l| pos.checked_add(l)).filter(|&e| e <= payload.len());
        let Some(end) = end else {
            return Err(CodecError::Truncated { what: "XOR chunk", offset: payload.len() });
        };
        xor::decode_chunk_into(&payload[pos..end], out).map_err(|e| shift(e, pos))?;
        pos = end;
    }
    Ok(())
}

fn corrupt(offset: usize, detail: String) -> CodecError {
    CodecError::Corrupt { offset, detail }
}

/// Makes an error's byte offset relative to the whole file.
fn shift(err: CodecError, by: usize) -> CodecError {
    match err {
        CodecError::Truncated { what, offset } => CodecError::Truncated { what, offset: offset + by },
        CodecError::VarintOverflow { offset } => CodecError::VarintOverflow { offset: offset + by },
        CodecError::Corrupt { offset, detail } => CodecError::Corrupt { offset: offset + by, detail },
        other => other,
    }
}
