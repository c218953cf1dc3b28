//! `strata gen`: writes a raw point file with monitoring-like values, to try the codecs on.
//!
//! Patterns (each deterministic for a given `--seed`):
//! - `gauge`: a memory-in-use gauge like `process_resident_memory_bytes`: whole bytes, in
//!   4 KiB pages, following a daily cycle plus a random walk, unchanged at about a third of
//!   scrapes. Most gauges exporters expose are integer-valued like this (bytes, counts);
//! - `decimal`: a utilisation percentage with two decimals (like `node_load1` or a CPU
//!   percentage). Such values are not exact in binary, so every mantissa bit of the XOR
//!   is noise: the worst case for Gorilla, kept to show it;
//! - `counter`: a request counter: integer increments around a rate that follows the daily
//!   cycle, with a rare reset to zero (a process restart);
//! - `constant`: always 1, like `up`.

use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;

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
    let points = generate(args.pattern, args.points, args.start, interval, args.jitter, args.seed);
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

/// SplitMix64: tiny, fast, and the same sequence everywhere for a seed.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn generate(pattern: Pattern, n: u64, start: i64, interval: i64, jitter: u32, seed: u64) -> Vec<(i64, f64)> {
    const DAY_MS: f64 = 86_400_000.0;
    let mut rng = SplitMix(seed);
    let (mut walk, mut counter, mut held) = (0.0f64, 0.0f64, 0.0f64);
    (0..n)
        .map(|i| {
            let nominal = start.saturating_add((i as i64).saturating_mul(interval));
            let t = nominal.saturating_add((rng.next_u64() % (u64::from(jitter) + 1)) as i64);
            let daily = (nominal as f64 / DAY_MS * std::f64::consts::TAU).sin();
            let v = match pattern {
                Pattern::Gauge => {
                    if i > 0 && rng.unit() < 0.35 {
                        return (t, held);
                    }
                    walk = (walk + (rng.unit() - 0.5) * 400.0).clamp(-4000.0, 4000.0);
                    held = (12_000.0 + 3_000.0 * daily + walk).round().max(1.0) * 4096.0;
                    held
                }
                Pattern::Decimal => {
                    walk = (walk + (rng.unit() - 0.5) * 2.0).clamp(-20.0, 20.0);
                    let level = (45.0 + 25.0 * daily + walk).clamp(0.0, 100.0);
                    (level * 100.0).round() / 100.0
                }
                Pattern::Counter => {
                    if rng.next_u64().is_multiple_of(50_000) {
                        counter = 0.0;
                    }
                    let rate = 20.0 + 15.0 * daily; // per second
                    counter += (rate * interval as f64 / 1000.0 * (0.5 + rng.unit())).round();
                    counter
                }
                Pattern::Constant => 1.0,
            };
            (t, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_have_their_shape() {
        let g = generate(Pattern::Gauge, 10_000, 0, 10_000, 0, 7);
        assert!(g.iter().all(|&(_, v)| v > 0.0 && v % 4096.0 == 0.0));
        let repeats = g.windows(2).filter(|w| w[0].1 == w[1].1).count();
        assert!((2_000..5_000).contains(&repeats), "about a third unchanged, saw {repeats}");
        let d = generate(Pattern::Decimal, 10_000, 0, 10_000, 0, 7);
        assert!(d.iter().all(|&(_, v)| (0.0..=100.0).contains(&v) && (v * 100.0).round() / 100.0 == v));
        assert!(g.windows(2).all(|w| w[1].0 - w[0].0 == 10_000));
        let c = generate(Pattern::Counter, 10_000, 0, 10_000, 0, 7);
        let drops = c.windows(2).filter(|w| w[1].1 < w[0].1).count();
        assert!(drops <= 2, "counters only drop on a rare reset, saw {drops}");
        assert!(generate(Pattern::Constant, 100, 0, 1, 0, 7).iter().all(|&(_, v)| v == 1.0));
        let j = generate(Pattern::Constant, 1000, 0, 10_000, 25, 7);
        assert!(j.iter().enumerate().all(|(i, &(t, _))| (t - i as i64 * 10_000) <= 25));
        assert_eq!(generate(Pattern::Gauge, 50, 0, 1, 0, 3), generate(Pattern::Gauge, 50, 0, 1, 0, 3));
    }
}
