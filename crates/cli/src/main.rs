//! `strata`: the time series database and the tools that show each of its layers.
//!
//! Every subcommand lives in its own module under `cmd/`; reports are plain structs that
//! print as text, or as one JSON object with `--json` (see `report.rs`).

mod cmd;
mod duration;
mod http;
mod pointfile;
mod report;
mod selector;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: the ingest path allocates many small label strings
/// per sample, and with glibc's allocator half of the server's CPU went to malloc and free
/// (perf, remote write at ~1M samples/s); see docs/server.md. Its version 2 (the workspace's
/// `v2` feature), not 3: at 1M series by remote write the server held ~100 MiB less
/// resident memory for the same live heap (docs/server.md, "Memory at a million series").
/// Without the `mimalloc` feature (on by default) glibc's malloc is used, which heap
/// profilers such as heaptrack can see.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Strata, a time series database.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load generators against a running server: `strata bench ingest`.
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Run alerting and recording rules against any Prometheus-API server and print each
    /// evaluation: `strata alert --config rules.yaml --url http://host:9090`.
    Alert(cmd::alert::Args),
    /// Cardinality of a running server: `strata cardinality report|forecast --url URL`.
    #[command(subcommand)]
    Cardinality(cmd::cardinality::CardinalityCommand),
    /// The cluster: `strata cluster simulate` (the token ring at many sizes, on paper).
    #[command(subcommand)]
    Cluster(cmd::cluster::ClusterCommand),
    /// Check rule files as `promtool check rules` does: `strata check rules FILE…`.
    #[command(subcommand)]
    Check(cmd::rules::CheckCommand),
    /// Compress a raw point file with the delta or Gorilla codec and report the figures.
    Compress(cmd::compress::Args),
    /// Decompress a file written by `compress`, timing the decode and verifying it.
    Decompress(cmd::decompress::Args),
    /// Write a raw point file of monitoring-like values.
    Gen(cmd::gen::Args),
    /// Backfill: write a file of timestamped samples (Prometheus text, OpenMetrics, Influx
    /// line protocol; gzip or plain) straight into blocks.
    Import(cmd::import::Args),
    /// The inverted label index: `strata index bench` builds one and measures it.
    #[command(subcommand)]
    Index(cmd::index::IndexCommand),
    /// An interactive in-memory store: INSERT and QUERY from stdin.
    Mem(cmd::mem::Args),
    /// PromQL: a REPL over a data dir (`--dir D`), or `test PATH…` to run `.test` scripts.
    Promql(cmd::promql::Args),
    /// Rollup tiers: `strata rollup status|query|run` over a server (--url) or a data dir.
    #[command(subcommand)]
    Rollup(cmd::rollup::RollupCommand),
    /// The database: ingestion (Influx line protocol, remote write, Prometheus text) and the
    /// Prometheus HTTP API, on 127.0.0.1:9090 with data in ./data by default.
    Server(Box<cmd::server::Args>),
    /// A data dir's time shards: status, query plans, retention.
    #[command(subcommand)]
    Shards(cmd::shards::ShardsCommand),
    /// Run Prometheus rule unit tests: `strata test rules FILE…`.
    #[command(subcommand)]
    Test(cmd::rules::TestCommand),
    /// A data dir's blocks and head: inspect, dump.
    #[command(subcommand)]
    Tsdb(cmd::tsdb::TsdbCommand),
    /// InfluxDB-format TSM files: `strata tsm inspect FILE`.
    #[command(subcommand)]
    Tsm(cmd::tsm::TsmCommand),
    /// The write-ahead log: demo, recover, checkpoint.
    #[command(subcommand)]
    Wal(cmd::wal::WalCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(command) => cmd::bench::run(command),
        Command::Alert(args) => cmd::alert::run(args),
        Command::Cardinality(command) => cmd::cardinality::run(command),
        Command::Check(command) => cmd::rules::run_check(command),
        Command::Compress(args) => cmd::compress::run(args),
        Command::Decompress(args) => cmd::decompress::run(args),
        Command::Gen(args) => cmd::gen::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Index(command) => cmd::index::run(command),
        Command::Mem(args) => cmd::mem::run(args),
        Command::Promql(args) => cmd::promql::run(args),
        Command::Server(args) => cmd::server::run(*args),
        Command::Shards(command) => cmd::shards::run(command),
        Command::Cluster(command) => cmd::cluster::run(command),
        Command::Rollup(command) => cmd::rollup::run(command),
        Command::Test(command) => cmd::rules::run_test(command),
        Command::Tsdb(command) => cmd::tsdb::run(command),
        Command::Tsm(command) => cmd::tsm::run(command),
        Command::Wal(command) => cmd::wal::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
