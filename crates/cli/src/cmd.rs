//! One module per subcommand.

pub(crate) mod alert;
pub(crate) mod bench;
pub(crate) mod cardinality;
pub(crate) mod cluster;
pub(crate) mod compress;
pub(crate) mod decompress;
pub(crate) mod gen;
pub(crate) mod import;
pub(crate) mod index;
pub(crate) mod mem;
pub(crate) mod promql;
pub(crate) mod rollup;
pub(crate) mod rules;
pub(crate) mod server;
pub(crate) mod shards;
pub(crate) mod tsdb;
pub(crate) mod tsm;
pub(crate) mod wal;
