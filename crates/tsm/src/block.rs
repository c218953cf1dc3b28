//! One block of a TSM file: up to [`MAX_POINTS_PER_BLOCK`] points of one key, of one type.
//!
//! | field       | size     | meaning                                                   |
//! |-------------|----------|-----------------------------------------------------------|
//! | crc         | 4        | CRC-32 (IEEE) of everything after it (written by the file) |
//! | type        | 1        | 0 float, 1 integer, 2 boolean, 3 string, 4 unsigned       |
//! | ts length   | uvarint  | bytes of the timestamps that follow                       |
//! | timestamps  | ts length| `timestamps` encoding                                     |
//! | values      | the rest | the type's encoding (`floats`, `integers`, …)             |
//!
//! This module handles what follows the CRC; the file writer and reader add and check it.
//! Strata writes float blocks (what it stores) and reads every type: integers, unsigned and
//! booleans become floats as line protocol makes them; strings are counted, not returned.

use strata_codec::varint::{put_uvarint, read_uvarint};

use crate::error::DecodeError;
use crate::{booleans, floats, integers, strings, timestamps};

/// Points per block, as InfluxDB 1.6 writes them (`DefaultMaxPointsPerBlock`).
pub const MAX_POINTS_PER_BLOCK: usize = 1000;

/// A block's (and an index entry's) value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    Float = 0,
    Integer = 1,
    Boolean = 2,
    String = 3,
    Unsigned = 4,
}

impl BlockType {
    /// The type of a type byte.
    pub fn from_byte(b: u8) -> Option<BlockType> {
        Some(match b {
            0 => BlockType::Float,
            1 => BlockType::Integer,
            2 => BlockType::Boolean,
            3 => BlockType::String,
            4 => BlockType::Unsigned,
            _ => return None,
        })
    }

    /// The name InfluxDB's `SHOW FIELD KEYS` gives it.
    pub fn name(self) -> &'static str {
        match self {
            BlockType::Float => "float",
            BlockType::Integer => "integer",
            BlockType::Boolean => "boolean",
            BlockType::String => "string",
            BlockType::Unsigned => "unsigned",
        }
    }
}

/// A block's values, by type.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Float(Vec<f64>),
    Integer(Vec<i64>),
    Unsigned(Vec<u64>),
    Boolean(Vec<bool>),
    String(Vec<Vec<u8>>),
}

impl Values {
    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Values::Float(v) => v.len(),
            Values::Integer(v) => v.len(),
            Values::Unsigned(v) => v.len(),
            Values::Boolean(v) => v.len(),
            Values::String(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as Strata stores them (`None` for strings, which it does not).
    pub fn into_floats(self) -> Option<Vec<f64>> {
        Some(match self {
            Values::Float(v) => v,
            Values::Integer(v) => v.into_iter().map(|x| x as f64).collect(),
            Values::Unsigned(v) => v.into_iter().map(|x| x as f64).collect(),
            Values::Boolean(v) => v.into_iter().map(|b| if b { 1.0 } else { 0.0 }).collect(),
            Values::String(_) => return None,
        })
    }

    /// Appends `more` of the same type; `false` (nothing appended) for another type.
    pub fn extend(&mut self, more: Values) -> bool {
        match (self, more) {
            (Values::Float(a), Values::Float(b)) => a.extend(b),
            (Values::Integer(a), Values::Integer(b)) => a.extend(b),
            (Values::Unsigned(a), Values::Unsigned(b)) => a.extend(b),
            (Values::Boolean(a), Values::Boolean(b)) => a.extend(b),
            (Values::String(a), Values::String(b)) => a.extend(b),
            _ => return false,
        }
        true
    }

    /// The values at `positions`, in that order.
    pub fn select(&self, positions: &[usize]) -> Values {
        fn pick<T: Clone>(v: &[T], positions: &[usize]) -> Vec<T> {
            positions.iter().map(|&i| v[i].clone()).collect()
        }
        match self {
            Values::Float(v) => Values::Float(pick(v, positions)),
            Values::Integer(v) => Values::Integer(pick(v, positions)),
            Values::Unsigned(v) => Values::Unsigned(pick(v, positions)),
            Values::Boolean(v) => Values::Boolean(pick(v, positions)),
            Values::String(v) => Values::String(pick(v, positions)),
        }
    }

    /// The type of block these values make.
    pub fn block_type(&self) -> BlockType {
        match self {
            Values::Float(_) => BlockType::Float,
            Values::Integer(_) => BlockType::Integer,
            Values::Unsigned(_) => BlockType::Unsigned,
            Values::Boolean(_) => BlockType::Boolean,
            Values::String(_) => BlockType::String,
        }
    }
}

/// A decoded block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub timestamps: Vec<i64>,
    pub values: Values,
}

/// Encodes a block (without its CRC); `Err` if a value cannot be stored (see `floats`).
pub fn encode(timestamps: &[i64], values: &Values) -> Result<Vec<u8>, String> {
    if timestamps.len() != values.len() {
        return Err(format!("{} timestamps for {} values", timestamps.len(), values.len()));
    }
    let mut ts = Vec::new();
    timestamps::encode(timestamps, &mut ts);
    let mut out = vec![values.block_type() as u8];
    put_uvarint(&mut out, ts.len() as u64);
    out.extend_from_slice(&ts);
    match values {
        Values::Float(v) => floats::encode(v, &mut out)?,
        Values::Integer(v) => integers::encode(v, &mut out),
        Values::Unsigned(v) => integers::encode(&v.iter().map(|&x| x as i64).collect::<Vec<_>>(), &mut out),
        Values::Boolean(v) => booleans::encode(v, &mut out),
        Values::String(v) => strings::encode(&v.iter().map(Vec::as_slice).collect::<Vec<_>>(), &mut out),
    }
    Ok(out)
}

/// A block cut into its type and its two encoded streams.
struct Parts<'a> {
    block_type: BlockType,
    timestamps: &'a [u8],
    values: &'a [u8],
    /// Where the timestamps start in the block.
    timestamps_at: usize,
}

/// Cuts a block into its parts.
fn split(data: &[u8]) -> Result<Parts<'_>, DecodeError> {
    const WHAT: &str = "block";
    let Some(&type_byte) = data.first() else {
        return Err(DecodeError::new(WHAT, 0, "empty block"));
    };
    let block_type = BlockType::from_byte(type_byte)
        .ok_or_else(|| DecodeError::new(WHAT, 0, format!("unknown block type {type_byte}")))?;
    let mut pos = 1;
    let ts_len =
        read_uvarint(data, &mut pos).map_err(|_| DecodeError::new(WHAT, 1, "bad timestamps length"))?;
    let ts_end = (pos as u64).checked_add(ts_len).filter(|&e| e <= data.len() as u64);
    let Some(ts_end) = ts_end else {
        return Err(DecodeError::new(WHAT, 1, format!("timestamps of {ts_len} bytes run past the block")));
    };
    let ts_end = ts_end as usize;
    Ok(Parts { block_type, timestamps: &data[pos..ts_end], values: &data[ts_end..], timestamps_at: pos })
}

/// How a block is encoded: what `strata tsm inspect` prints of each block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    pub block_type: BlockType,
    pub points: usize,
    /// The timestamps' encoding: `none` (raw), `s8b` or `rle`.
    pub timestamp_encoding: &'static str,
    /// The values' encoding: `gor`, `s8b`, `rle`, `none`, `bp` or `snpy`.
    pub value_encoding: &'static str,
    pub timestamp_bytes: usize,
    pub value_bytes: usize,
}

/// Describes a block (without its CRC), decoding its timestamps to count the points.
pub fn describe(data: &[u8]) -> Result<BlockInfo, DecodeError> {
    let parts = split(data)?;
    let points = decode_timestamps(data)?.len();
    let nibble = |b: &[u8]| b.first().map_or(0xF, |h| h >> 4);
    let timestamp_encoding =
        ["none", "s8b", "rle"].get(nibble(parts.timestamps) as usize).copied().unwrap_or("?");
    let value_encoding = match (parts.block_type, nibble(parts.values)) {
        (BlockType::Float, 1) => "gor",
        (BlockType::Integer | BlockType::Unsigned, n) => {
            ["none", "s8b", "rle"].get(n as usize).copied().unwrap_or("?")
        }
        (BlockType::Boolean, 1) => "bp",
        (BlockType::String, 1) => "snpy",
        _ => "?",
    };
    Ok(BlockInfo {
        block_type: parts.block_type,
        points,
        timestamp_encoding,
        value_encoding,
        timestamp_bytes: parts.timestamps.len(),
        value_bytes: parts.values.len(),
    })
}

/// The timestamps of a block alone (without its CRC).
pub fn decode_timestamps(data: &[u8]) -> Result<Vec<i64>, DecodeError> {
    let parts = split(data)?;
    let mut ts = Vec::new();
    timestamps::decode(parts.timestamps, &mut ts).map_err(|e| timestamps::shifted(e, parts.timestamps_at))?;
    Ok(ts)
}

/// Decodes a block's timestamps and its values as floats onto `ts` and `vs` (cleared
/// first): the read path's way, reusing the caller's buffers. `Ok(false)` for a string
/// block (nothing decoded).
pub fn decode_floats_into(data: &[u8], ts: &mut Vec<i64>, vs: &mut Vec<f64>) -> Result<bool, DecodeError> {
    let parts = split(data)?;
    ts.clear();
    vs.clear();
    if parts.block_type == BlockType::String {
        return Ok(false);
    }
    timestamps::decode(parts.timestamps, ts).map_err(|e| timestamps::shifted(e, parts.timestamps_at))?;
    if parts.block_type == BlockType::Float {
        let at = parts.timestamps_at + parts.timestamps.len();
        floats::decode(parts.values, vs).map_err(|e| timestamps::shifted(e, at))?;
    } else {
        let Some(values) = decode(data)?.values.into_floats() else { return Ok(false) };
        *vs = values;
    }
    if vs.len() != ts.len() {
        let detail = format!("{} timestamps but {} values", ts.len(), vs.len());
        return Err(DecodeError::new("block", 0, detail));
    }
    Ok(true)
}

/// Decodes a block (without its CRC).
pub fn decode(data: &[u8]) -> Result<Block, DecodeError> {
    let Parts { block_type, timestamps: ts_bytes, values: value_bytes, timestamps_at } = split(data)?;
    let mut ts = Vec::new();
    timestamps::decode(ts_bytes, &mut ts).map_err(|e| timestamps::shifted(e, timestamps_at))?;
    let values_at = timestamps_at + ts_bytes.len();
    let at = |e: DecodeError| timestamps::shifted(e, values_at);
    let values = match block_type {
        BlockType::Float => {
            let mut v = Vec::with_capacity(ts.len());
            floats::decode(value_bytes, &mut v).map_err(at)?;
            Values::Float(v)
        }
        BlockType::Integer | BlockType::Unsigned => {
            let mut v = Vec::with_capacity(ts.len());
            integers::decode(value_bytes, &mut v).map_err(at)?;
            if block_type == BlockType::Unsigned {
                Values::Unsigned(v.into_iter().map(|x| x as u64).collect())
            } else {
                Values::Integer(v)
            }
        }
        BlockType::Boolean => {
            let mut v = Vec::with_capacity(ts.len());
            booleans::decode(value_bytes, &mut v).map_err(at)?;
            Values::Boolean(v)
        }
        BlockType::String => Values::String(strings::decode(value_bytes).map_err(at)?),
    };
    if values.len() != ts.len() {
        let detail = format!("{} timestamps but {} values", ts.len(), values.len());
        return Err(DecodeError::new("block", 0, detail));
    }
    Ok(Block { timestamps: ts, values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values() -> impl Strategy<Value = (Vec<i64>, Values)> {
        (1usize..50).prop_flat_map(|n| {
            let ts =
                prop::collection::btree_set(any::<i64>(), n).prop_map(|s| s.into_iter().collect::<Vec<_>>());
            let n = n..n + 1;
            let values = prop_oneof![
                prop::collection::vec(-1e6f64..1e6, n.clone()).prop_map(Values::Float),
                prop::collection::vec(any::<i64>(), n.clone()).prop_map(Values::Integer),
                prop::collection::vec(any::<u64>(), n.clone()).prop_map(Values::Unsigned),
                prop::collection::vec(any::<bool>(), n.clone()).prop_map(Values::Boolean),
                prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), n).prop_map(Values::String),
            ];
            (ts, values)
        })
    }

    proptest! {
        #[test]
        fn every_type_round_trips((ts, values) in values()) {
            prop_assume!(ts.len() == values.len());
            let data = encode(&ts, &values).unwrap();
            let block = decode(&data).unwrap();
            prop_assert_eq!(block.timestamps, ts);
            prop_assert_eq!(block.values, values);
        }

        #[test]
        fn never_panics_on_garbage(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&data);
        }
    }

    #[test]
    fn a_count_mismatch_is_an_error() {
        let mut data = encode(&[1, 2, 3], &Values::Float(vec![1.0, 2.0, 3.0])).unwrap();
        // Replace the timestamps (RLE of 3) with a single one.
        let mut ts = Vec::new();
        timestamps::encode(&[1], &mut ts);
        let old_len = data[1] as usize;
        data.splice(1..2 + old_len, std::iter::once(ts.len() as u8).chain(ts));
        assert!(decode(&data).unwrap_err().detail.contains("1 timestamps but 3 values"));
    }
}
