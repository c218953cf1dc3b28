//! `strata bench dense FILE [--json]`: the cold shards' dense codec against the XOR chunks
//! of warm blocks, on real data (a Prometheus text file with millisecond timestamps, gzip or
//! plain — ../shared/datasets/scrape-1s-A.prom.gz).
//!
//! Both encodings hold every series whole: XOR as the blocks hold it (chunks of 120 samples,
//! Prometheus' cut), dense as a cold shard does (each distinct timestamp column once, a value
//! column per series). It reports bytes per sample of each, checks that every value comes
//! back bit for bit, and times decoding every series with each (best of `--rounds`), so the
//! ratio of the two speeds is measured on the same series in the same run.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;
use strata_codec::{dense, xor};
use strata_ingest::exposition::{parse_line, Flavor};

use crate::report::{self, Report};

/// Samples per XOR chunk, as Prometheus cuts them.
const XOR_CHUNK: usize = 120;

#[derive(Debug, clap::Args)]
pub(crate) struct DenseArgs {
    /// The input: Prometheus text, one sample per line with a millisecond timestamp.
    file: PathBuf,
    /// Decode rounds to time (the best is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct DenseReport {
    series: usize,
    samples: u64,
    distinct_timestamp_columns: usize,
    xor_bytes: u64,
    xor_bytes_per_sample: f64,
    dense_bytes: u64,
    dense_timestamp_bytes: u64,
    dense_bytes_per_sample: f64,
    bit_exact: bool,
    xor_decode_samples_per_second: f64,
    dense_decode_samples_per_second: f64,
    dense_over_xor_decode_speed: f64,
}

impl Report for DenseReport {
    fn text(&self) -> String {
        format!(
            "{} series, {} samples, {} distinct timestamp columns\n\
             xor chunks:  {:>10} bytes  {:.4} bytes/sample  decode {:.1} M samples/s\n\
             dense:       {:>10} bytes  {:.4} bytes/sample  decode {:.1} M samples/s  (timestamps {} bytes)\n\
             every bit back: {}; dense decodes at {:.2}x the XOR speed\n",
            self.series,
            self.samples,
            self.distinct_timestamp_columns,
            self.xor_bytes,
            self.xor_bytes_per_sample,
            self.xor_decode_samples_per_second / 1e6,
            self.dense_bytes,
            self.dense_bytes_per_sample,
            self.dense_decode_samples_per_second / 1e6,
            self.dense_timestamp_bytes,
            self.bit_exact,
            self.dense_over_xor_decode_speed,
        )
    }
}

/// One series' samples, in time order.
type Columns = (Vec<i64>, Vec<f64>);

/// The series as a cold shard holds them: each distinct timestamp column once.
struct DenseSeries {
    ts_frames: Vec<Vec<u8>>,
    /// Each series' timestamp column.
    ts_of: Vec<usize>,
    value_frames: Vec<Vec<u8>>,
}

pub(crate) fn run(args: DenseArgs) -> anyhow::Result<std::process::ExitCode> {
    let series = read_series(&args.file)?;
    let samples: u64 = series.iter().map(|s| s.0.len() as u64).sum();
    if samples == 0 {
        bail!("{}: no samples", args.file.display());
    }
    let xor_chunks = encode_xor(&series)?;
    let dense = encode_dense(&series)?;
    let xor_bytes: u64 = xor_chunks.iter().flatten().map(|c| c.len() as u64).sum();
    let ts_bytes: u64 = dense.ts_frames.iter().map(|f| f.len() as u64).sum();
    let dense_bytes = ts_bytes + dense.value_frames.iter().map(|f| f.len() as u64).sum::<u64>();
    let bit_exact = check_dense(&series, &dense)?;
    let rounds = args.rounds.max(1);
    let xor_secs = best_of(rounds, || decode_xor(&xor_chunks))?;
    let dense_secs = best_of(rounds, || decode_dense(&dense))?;
    let report = DenseReport {
        series: series.len(),
        samples,
        distinct_timestamp_columns: dense.ts_frames.len(),
        xor_bytes,
        xor_bytes_per_sample: xor_bytes as f64 / samples as f64,
        dense_bytes,
        dense_timestamp_bytes: ts_bytes,
        dense_bytes_per_sample: dense_bytes as f64 / samples as f64,
        bit_exact,
        xor_decode_samples_per_second: samples as f64 / xor_secs,
        dense_decode_samples_per_second: samples as f64 / dense_secs,
        dense_over_xor_decode_speed: xor_secs / dense_secs,
    };
    report::print(&report, args.json)?;
    Ok(if bit_exact { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}

fn read_series(path: &PathBuf) -> anyhow::Result<Vec<Columns>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = BufReader::new(file);
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn Read> =
        if gzip { Box::new(flate2::read::MultiGzDecoder::new(reader)) } else { Box::new(reader) };
    let mut by_series: HashMap<String, Columns> = HashMap::new();
    for (i, line) in BufReader::new(input).lines().enumerate() {
        let line = line.with_context(|| format!("{}: reading line {}", path.display(), i + 1))?;
        let Some(sample) = parse_line(&line, i + 1, Flavor::Prometheus)? else { continue };
        let Some(t) = sample.timestamp else { bail!("{}: line {} has no timestamp", path.display(), i + 1) };
        let columns = by_series.entry(sample.labels.to_string()).or_default();
        columns.0.push(t);
        columns.1.push(sample.value);
    }
    let mut series: Vec<(String, Columns)> = by_series.into_iter().collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(series.into_iter().map(|(_, columns)| columns).collect())
}

fn encode_xor(series: &[Columns]) -> anyhow::Result<Vec<Vec<Vec<u8>>>> {
    let mut out = Vec::with_capacity(series.len());
    for (ts, vs) in series {
        let mut chunks = Vec::new();
        for (t, v) in ts.chunks(XOR_CHUNK).zip(vs.chunks(XOR_CHUNK)) {
            chunks.push(xor::encode_chunk(t.iter().copied().zip(v.iter().copied()))?.0);
        }
        out.push(chunks);
    }
    Ok(out)
}

fn encode_dense(series: &[Columns]) -> anyhow::Result<DenseSeries> {
    let mut distinct: HashMap<&[i64], usize> = HashMap::new();
    let mut out = DenseSeries { ts_frames: Vec::new(), ts_of: Vec::new(), value_frames: Vec::new() };
    for (ts, vs) in series {
        let next = distinct.len();
        let index = *distinct.entry(ts.as_slice()).or_insert(next);
        if index == out.ts_frames.len() {
            out.ts_frames.push(dense::encode_timestamps(ts)?);
        }
        out.ts_of.push(index);
        out.value_frames.push(dense::encode_values(vs)?);
    }
    Ok(out)
}

fn check_dense(series: &[Columns], dense: &DenseSeries) -> anyhow::Result<bool> {
    for (i, (ts, vs)) in series.iter().enumerate() {
        let back_ts = dense::decode_timestamps(&dense.ts_frames[dense.ts_of[i]])?;
        let back_vs = dense::decode_values(&dense.value_frames[i])?;
        let same = back_ts == *ts
            && back_vs.len() == vs.len()
            && back_vs.iter().zip(vs).all(|(a, b)| a.to_bits() == b.to_bits());
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

fn decode_xor(chunks: &[Vec<Vec<u8>>]) -> anyhow::Result<u64> {
    let mut n = 0u64;
    let mut samples = Vec::new();
    for series in chunks {
        samples.clear();
        for chunk in series {
            xor::decode_chunk_into(chunk, &mut samples)?;
        }
        n += samples.len() as u64;
    }
    Ok(n)
}

fn decode_dense(dense: &DenseSeries) -> anyhow::Result<u64> {
    let mut n = 0u64;
    for (i, frame) in dense.value_frames.iter().enumerate() {
        // A cold series is read whole: its timestamp column and its values.
        let ts = dense::decode_timestamps(&dense.ts_frames[dense.ts_of[i]])?;
        let vs = dense::decode_values(frame)?;
        n += ts.len().min(vs.len()) as u64;
    }
    Ok(n)
}

/// The shortest of `rounds` runs of `f`, in seconds.
fn best_of(rounds: usize, f: impl Fn() -> anyhow::Result<u64>) -> anyhow::Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let started = Instant::now();
        std::hint::black_box(f()?);
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(best)
}
