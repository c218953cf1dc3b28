//! `strata gen`: writes a raw point file with monitoring-like values, to try the codecs on.
//!
//! The patterns are described in `strata_codec::synthetic`.

use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;
use strata_codec::synthetic::{self, SeriesSpec};

use crate::duration::parse_duration_ms;
use crate::pointfile;
use crate::report::{self, Report};

#[derive(Debug, Clone, Copy, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Pattern {
    Gauge,
    Decimal,
    Counter,
    Constant,
}

impl From<Pattern> for synthetic::Pattern {
    fn from(p: Pattern) -> Self {
        match p {
            Pattern::Gauge => synthetic::Pattern::Gauge,
            Pattern::Decimal => synthetic::Pattern::Decimal,
            Pattern::Counter => synthetic::Pattern::Counter,
            Pattern::Constant => synthetic::Pattern::Constant,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Number of points to write.
    #[arg(long)]
    points: u64,
    /// Time between points (e.g. 10s, 1m, 500ms).
    #[arg(long, default_value = "10s")]
    interval: String,
    /// Shape of the values.
    #[arg(long, value_enum, default_value = "gauge")]
    pattern: Pattern,
    /// Timestamp of the first point, in milliseconds since the epoch.
    #[arg(long, default_value_t = 1_703_001_600_000)]
    start: i64,
    /// Largest random offset added to each timestamp, in milliseconds (scrape jitter).
    #[arg(long, default_value_t = 0)]
    jitter: u32,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// The raw point file to write.
    output: PathBuf,
}

#[derive(Debug, Serialize)]
struct GenReport {
    output: String,
    pattern: Pattern,
    points: u64,
    bytes: u64,
    first_timestamp: Option<i64>,
    last_timestamp: Option<i64>,
}

impl Report for GenReport {
    fn text(&self) -> String {
        let span = match (self.first_timestamp, self.last_timestamp) {
            (Some(a), Some(b)) => format!(", timestamps {a} … {b}"),
            _ => String::new(),
        };
        format!(
            "Wrote {} {:?} points ({} bytes) to {}{span}\n",
            self.points, self.pattern, self.bytes, self.output
        )
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let interval = parse_duration_ms(&args.interval)?;
    anyhow::ensure!(interval > 0, "--interval must be positive");
    let spec = SeriesSpec {
        pattern: args.pattern.into(),
        points: args.points,
        start: args.start,
        interval,
        jitter: args.jitter,
        seed: args.seed,
    };
    let points = synthetic::generate(&spec);
    pointfile::write(&args.output, &points)?;
    let report = GenReport {
        output: args.output.display().to_string(),
        pattern: args.pattern,
        points: points.len() as u64,
        bytes: (points.len() * pointfile::POINT_BYTES) as u64,
        first_timestamp: points.first().map(|p| p.0),
        last_timestamp: points.last().map(|p| p.0),
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}
