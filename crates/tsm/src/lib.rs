//! Strata's TSM engine: InfluxDB 1.x's storage format, read and written so that a real
//! influxd reads Strata's files and Strata reads influxd's.
//!
//! The format, bottom up (byte tables in each module and in docs/format/tsm.md):
//! `simple8b` packs small integers; `timestamps`, `floats`, `integers`, `booleans` and
//! `strings` encode one stream of a block; `block` joins a timestamp stream and a value
//! stream; `writer` and `reader` lay blocks, an index and a footer into a `.tsm` file;
//! `tombstone` records deletions beside it; `key` maps Strata's series to the file's keys.

pub mod block;
pub mod booleans;
pub mod cache;
pub mod compact;
pub mod engine;
pub mod error;
pub mod file_set;
pub mod floats;
pub mod influx_install;
pub mod integers;
pub mod key;
pub mod reader;
pub mod sharded;
pub mod simple8b;
pub mod strings;
pub mod timestamps;
pub mod tombstone;
pub mod wal;
pub mod writer;

pub use block::{Block, BlockInfo, BlockType, Values, MAX_POINTS_PER_BLOCK};
pub use engine::{TsmEngine, TsmOptions};
pub use error::{DecodeError, Result, TsmError};
pub use reader::{BlockRef, TsmReader};
pub use sharded::ShardedTsm;
pub use tombstone::Tombstone;
pub use writer::{FileSummary, TsmWriter};
