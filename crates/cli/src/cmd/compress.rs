//! `strata compress`: raw points in, a checksummed container out, and where the bytes went.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;
use strata_codec::container::{self, Codec};
use strata_codec::xor::XorStats;

use crate::pointfile;
use crate::report::{self, Report};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum CodecArg {
    Delta,
    Gorilla,
}

impl From<CodecArg> for Codec {
    fn from(c: CodecArg) -> Self {
        match c {
            CodecArg::Delta => Codec::Delta,
            CodecArg::Gorilla => Codec::Gorilla,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Codec to use.
    #[arg(long, value_enum)]
    codec: CodecArg,
    /// Samples per XOR chunk for Gorilla (Prometheus cuts chunks at 120; at most 65535).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(1..))]
    chunk_samples: u16,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Raw point file: little-endian (i64 ms, f64) pairs.
    input: PathBuf,
    /// Compressed file to write.
    output: PathBuf,
}

/// One kind of Gorilla value field.
#[derive(Debug, Serialize)]
struct FieldClass {
    control: &'static str,
    count: u64,
    share: f64,
    avg_bits: f64,
}

#[derive(Debug, Serialize)]
struct CompressReport {
    codec: &'static str,
    points: u64,
    input_bytes: u64,
    output_bytes: u64,
    ratio: f64,
    bytes_per_point: f64,
    timestamp_bytes_per_point: f64,
    value_bytes_per_point: f64,
    overhead_bytes_per_point: f64,
    chunk_samples: Option<u16>,
    gorilla_value_fields: Option<Vec<FieldClass>>,
    encode_ms: f64,
    encode_points_per_second: f64,
}

impl Report for CompressReport {
    fn text(&self) -> String {
        let mut s = format!(
            "Codec:      {}{}\n\
             Input:      {} points, {} bytes (16 bytes/point)\n\
             Output:     {} bytes\n\
             Ratio:      {:.2}x  ({:.3} bytes/point)\n\
             Timestamps: {:.3} bytes/point\n\
             Values:     {:.3} bytes/point\n\
             Overhead:   {:.3} bytes/point (headers, framing, padding)\n",
            self.codec,
            self.chunk_samples.map(|c| format!(" ({c} samples per chunk)")).unwrap_or_default(),
            self.points,
            self.input_bytes,
            self.output_bytes,
            self.ratio,
            self.bytes_per_point,
            self.timestamp_bytes_per_point,
            self.value_bytes_per_point,
            self.overhead_bytes_per_point,
        );
        if let Some(classes) = &self.gorilla_value_fields {
            s.push_str("Gorilla value fields (after the first value of each chunk):\n");
            for c in classes {
                s.push_str(&format!(
                    "  '{:<2}' {:>10} values {:>6.2}%  avg {:>5.2} bits\n",
                    c.control,
                    c.count,
                    c.share * 100.0,
                    c.avg_bits
                ));
            }
        }
        s.push_str(&format!(
            "Encode:     {:.3} ms ({:.1} M points/s)\n",
            self.encode_ms,
            self.encode_points_per_second / 1e6
        ));
        s
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let points = pointfile::read(&args.input)?;
    let started = Instant::now();
    let (bytes, enc) =
        container::encode(args.codec.into(), &points, usize::from(args.chunk_samples)).context("encoding")?;
    let elapsed = started.elapsed().as_secs_f64();
    std::fs::write(&args.output, &bytes).with_context(|| format!("writing {}", args.output.display()))?;
    let n = points.len() as u64;
    let per_point = |bits: u64| if n == 0 { 0.0 } else { bits as f64 / 8.0 / n as f64 };
    let input_bytes = n * pointfile::POINT_BYTES as u64;
    let report = CompressReport {
        codec: enc.header.codec.name(),
        points: n,
        input_bytes,
        output_bytes: enc.total_bytes,
        ratio: input_bytes as f64 / enc.total_bytes as f64,
        bytes_per_point: per_point(enc.total_bytes * 8),
        timestamp_bytes_per_point: per_point(enc.timestamp_bits),
        value_bytes_per_point: per_point(enc.value_bits),
        overhead_bytes_per_point: per_point(enc.overhead_bits),
        chunk_samples: (enc.header.codec == Codec::Gorilla).then_some(args.chunk_samples),
        gorilla_value_fields: enc.xor.as_ref().map(field_classes),
        encode_ms: elapsed * 1e3,
        encode_points_per_second: if elapsed > 0.0 { n as f64 / elapsed } else { 0.0 },
    };
    report::print(&report, args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn field_classes(stats: &XorStats) -> Vec<FieldClass> {
    let total = stats.repeat.count + stats.reuse_window.count + stats.new_window.count;
    [("0", &stats.repeat), ("10", &stats.reuse_window), ("11", &stats.new_window)]
        .into_iter()
        .map(|(control, class)| FieldClass {
            control,
            count: class.count,
            share: if total == 0 { 0.0 } else { class.count as f64 / total as f64 },
            avg_bits: if class.count == 0 { 0.0 } else { class.bits as f64 / class.count as f64 },
        })
        .collect()
}
