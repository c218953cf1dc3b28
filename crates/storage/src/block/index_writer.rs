//! The block `index`, format version 2.
//!
//! | section | encoding |
//! |---|---|
//! | header | `BE32` magic `0xBAAAD700`, version byte `2` |
//! | symbols | `BE32` len, `BE32` count, every label name and value once, sorted by bytes, as uvarint-length strings; `BE32` CRC-32C of count + strings |
//! | series | per series, sorted by label set, at a 16-byte-aligned offset (its ref is offset / 16): `uvarint` body length, body, `BE32` CRC of the body. Body: `uvarint` label count, per label `uvarint` symbol index of name and of value; `uvarint` chunk count; first chunk `varint` mint, `uvarint` maxt − mint, `uvarint` ref; later chunks `uvarint` mint − previous maxt, `uvarint` maxt − mint, `varint` ref − previous ref |
//! | postings | per list, 4-byte aligned: `BE32` len, `BE32` count, `BE32` series refs ascending, `BE32` CRC of count + refs. The first list is `("", "")`, every series; then one per `name=value`, sorted |
//! | postings offset table | `BE32` len, `BE32` count, per list: `uvarint` 2, name, value (uvarint-length strings), `uvarint` offset of its len field; `BE32` CRC of count + entries |
//! | TOC | six `BE64` offsets (symbols, series, label indices, label offset table, postings, postings offset table), `BE32` CRC of the 48 bytes |
//!
//! The legacy label-index sections are not written (as Prometheus ≥ 3.7 does): their TOC
//! offsets point at the end of the series section and at the postings offset table. Format
//! v2 readers, Prometheus 2.42 included, never read them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use strata_codec::varint::{put_uvarint, put_varint};
use strata_model::Labels;

use crate::StorageError;

const MAGIC: u32 = 0xBAAA_D700;

/// What the index records of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkMeta {
    /// First sample's timestamp.
    pub(crate) mint: i64,
    /// Last sample's timestamp (inclusive).
    pub(crate) maxt: i64,
    /// Reference into the chunk segments.
    pub(crate) chunk_ref: u64,
}

/// Builds the index file of a block in memory. `series` must be sorted by labels, and each
/// series' chunks in time order with increasing refs.
pub(crate) fn build_index(series: &[(Labels, Vec<ChunkMeta>)]) -> Result<Vec<u8>, StorageError> {
    let mut out = MAGIC.to_be_bytes().to_vec();
    out.push(2);

    let symbols: BTreeSet<&str> =
        series.iter().flat_map(|(l, _)| l.iter().flat_map(|l| [&*l.name, &*l.value])).collect();
    let symbol_index: HashMap<&str, u64> = symbols.iter().enumerate().map(|(i, s)| (*s, i as u64)).collect();
    let symbols_at = out.len() as u64;
    section(&mut out, |body| {
        body.extend_from_slice(&(symbols.len() as u32).to_be_bytes());
        for s in &symbols {
            put_string(body, s);
        }
    });

    let series_at = out.len() as u64;
    let mut refs = Vec::with_capacity(series.len());
    for (labels, chunks) in series {
        pad_to(&mut out, 16);
        let r =
            u32::try_from(out.len() / 16).map_err(|_| StorageError::Invalid("index over 64 GiB".into()))?;
        refs.push(r);
        let body = series_body(labels, chunks, &symbol_index)?;
        put_uvarint(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    }
    let series_end = out.len() as u64;

    // ("", "") lists every series; then one list per name=value, in (name, value) order.
    let mut lists: BTreeMap<(&str, &str), Vec<u32>> = BTreeMap::new();
    lists.insert(("", ""), refs.clone());
    for ((labels, _), &r) in series.iter().zip(&refs) {
        for l in labels {
            lists.entry((&l.name, &l.value)).or_default().push(r);
        }
    }
    let postings_at = out.len() as u64;
    let mut offsets = Vec::with_capacity(lists.len());
    for (key, refs) in &lists {
        pad_to(&mut out, 4);
        offsets.push((*key, out.len() as u64));
        section(&mut out, |body| {
            body.extend_from_slice(&(refs.len() as u32).to_be_bytes());
            for r in refs {
                body.extend_from_slice(&r.to_be_bytes());
            }
        });
    }

    let table_at = out.len() as u64;
    section(&mut out, |body| {
        body.extend_from_slice(&(offsets.len() as u32).to_be_bytes());
        for ((name, value), offset) in &offsets {
            put_uvarint(body, 2);
            put_string(body, name);
            put_string(body, value);
            put_uvarint(body, *offset);
        }
    });

    let toc: Vec<u8> = [symbols_at, series_at, series_end, table_at, postings_at, table_at]
        .iter()
        .flat_map(|o| o.to_be_bytes())
        .collect();
    out.extend_from_slice(&toc);
    out.extend_from_slice(&crc32c::crc32c(&toc).to_be_bytes());
    Ok(out)
}

fn series_body(
    labels: &Labels,
    chunks: &[ChunkMeta],
    symbols: &HashMap<&str, u64>,
) -> Result<Vec<u8>, StorageError> {
    let mut body = Vec::new();
    put_uvarint(&mut body, labels.len() as u64);
    for l in labels {
        // Every name and value went into the symbol table above.
        put_uvarint(&mut body, symbols.get(&*l.name).copied().unwrap_or_default());
        put_uvarint(&mut body, symbols.get(&*l.value).copied().unwrap_or_default());
    }
    put_uvarint(&mut body, chunks.len() as u64);
    let mut previous: Option<&ChunkMeta> = None;
    for c in chunks {
        if c.maxt < c.mint {
            return Err(StorageError::Invalid(format!(
                "chunk of {labels} ends ({}) before it starts ({})",
                c.maxt, c.mint
            )));
        }
        match previous {
            None => {
                put_varint(&mut body, c.mint);
                put_uvarint(&mut body, (c.maxt - c.mint) as u64);
                put_uvarint(&mut body, c.chunk_ref);
            }
            Some(p) => {
                if c.mint <= p.maxt || c.chunk_ref <= p.chunk_ref {
                    return Err(StorageError::Invalid(format!(
                        "chunks of {labels} overlap or are out of order"
                    )));
                }
                put_uvarint(&mut body, (c.mint - p.maxt) as u64);
                put_uvarint(&mut body, (c.maxt - c.mint) as u64);
                put_varint(&mut body, c.chunk_ref.wrapping_sub(p.chunk_ref) as i64);
            }
        }
        previous = Some(c);
    }
    Ok(body)
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn pad_to(out: &mut Vec<u8>, alignment: usize) {
    let rem = out.len() % alignment;
    if rem != 0 {
        out.resize(out.len() + alignment - rem, 0);
    }
}

/// `BE32 len | body | BE32 CRC(body)`, the body written by `fill`.
fn section(out: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>)) {
    let mut body = Vec::new();
    fill(&mut body);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
}
