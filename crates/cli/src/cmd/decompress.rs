//! `strata decompress`: a container in, raw points out, with the decode timed and the
//! round trip proven bit-exact before `Verification: PASSED` is printed.
//!
//! Two timings: the decode as run (checksum, decode, and the first touch of freshly
//! allocated output memory, which for a large file costs more than decoding), and a warm
//! decode of the same file again into that memory, which is the codec's own speed.
//!
//! Without `--verify`, the proof is re-encoding: the decoded points, encoded again with the
//! file's codec and chunk size, must give the input file byte for byte (the encoders are
//! deterministic, and the checksum already matched). With `--verify ORIGINAL`, the decoded
//! points must equal the original raw file's bit for bit.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use strata_codec::container;

use crate::pointfile;
use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Compare the decoded points with this raw point file instead of re-encoding.
    #[arg(long, value_name = "ORIGINAL")]
    verify: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// File written by `strata compress`.
    input: PathBuf,
    /// Raw point file to write.
    output: PathBuf,
}

#[derive(Debug, Serialize)]
struct DecompressReport {
    codec: &'static str,
    points: u64,
    decode_ms: f64,
    decode_points_per_second: f64,
    warm_decode_ms: f64,
    warm_decode_points_per_second: f64,
    verification: &'static str,
    verified_by: &'static str,
    mismatch: Option<String>,
}

impl Report for DecompressReport {
    fn text(&self) -> String {
        let mut s = format!(
            "Codec:        {}\nPoints:       {}\nDecode time:  {:.3} ms ({:.1} M points/s)\n\
             Warm decode:  {:.3} ms ({:.1} M points/s, again into memory already touched)\n",
            self.codec,
            self.points,
            self.decode_ms,
            self.decode_points_per_second / 1e6,
            self.warm_decode_ms,
            self.warm_decode_points_per_second / 1e6,
        );
        if let Some(m) = &self.mismatch {
            s.push_str(&format!("Mismatch:     {m}\n"));
        }
        s.push_str(&format!("Verification: {} ({})\n", self.verification, self.verified_by));
        s
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let bytes = std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let started = Instant::now();
    let (header, points) =
        container::decode(&bytes).with_context(|| format!("decoding {}", args.input.display()))?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut again = Vec::with_capacity(points.len());
    again.extend_from_slice(&points); // touch the memory before timing
    let started = Instant::now();
    container::decode_into(&bytes, &mut again).context("decoding again")?;
    let warm = started.elapsed().as_secs_f64();
    pointfile::write(&args.output, &points)?;

    let (verified_by, mismatch) = match &args.verify {
        Some(original) => {
            ("compared with the original points", compare(&pointfile::read(original)?, &points))
        }
        None => {
            let chunk = usize::from(header.chunk_samples.max(1));
            let (again, _) = container::encode(header.codec, &points, chunk).context("re-encoding")?;
            let mismatch = (again != bytes).then(|| first_difference(&again, &bytes));
            ("re-encoded to identical bytes", mismatch)
        }
    };
    let report = DecompressReport {
        codec: header.codec.name(),
        points: points.len() as u64,
        decode_ms: elapsed * 1e3,
        decode_points_per_second: per_second(points.len(), elapsed),
        warm_decode_ms: warm * 1e3,
        warm_decode_points_per_second: per_second(points.len(), warm),
        verification: if mismatch.is_none() { "PASSED" } else { "FAILED" },
        verified_by,
        mismatch,
    };
    report::print(&report, args.json)?;
    Ok(if report.mismatch.is_none() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

fn per_second(points: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        points as f64 / seconds
    } else {
        0.0
    }
}

/// `None` when equal bit for bit, else where they first differ.
fn compare(original: &[(i64, f64)], decoded: &[(i64, f64)]) -> Option<String> {
    if original.len() != decoded.len() {
        return Some(format!("original has {} points, decoded {}", original.len(), decoded.len()));
    }
    let differs = |(a, b): (&(i64, f64), &(i64, f64))| a.0 != b.0 || a.1.to_bits() != b.1.to_bits();
    original.iter().zip(decoded).position(differs).map(|i| {
        format!(
            "point {i}: original ({}, {:#018x}), decoded ({}, {:#018x})",
            original[i].0,
            original[i].1.to_bits(),
            decoded[i].0,
            decoded[i].1.to_bits()
        )
    })
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("re-encoded bytes differ from the file at byte {i}"),
        None => format!("re-encoded length {} differs from the file's {}", a.len(), b.len()),
    }
}
