//! Writes a whole dataset as one block and prints its size per sample, to compare with
//! Prometheus (which writes ../shared/datasets/scrape-1s-A in 0.925 bytes/sample).
//!
//! Input: a directory made by `scripts/extract_series.py DATASET --all DIR` (one raw point
//! file per series and an `index.tsv` of `file <TAB> points <TAB> series key`).
//! Run: `cargo run --release -p strata-storage --example dataset_block -- DIR OUT`.

use std::path::Path;

use strata_model::Labels;
use strata_storage::block::{write_block, BlockSeries};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out] = args.as_slice() else {
        return Err("usage: dataset_block INPUT_DIR OUT_DIR".into());
    };
    let input = Path::new(input);
    let mut series = Vec::new();
    for line in std::fs::read_to_string(input.join("index.tsv"))?.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(file), Some(_), Some(key)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("bad index.tsv line: {line}").into());
        };
        let labels = Labels::parse_prometheus_key(key)?;
        let bytes = std::fs::read(input.join(file))?;
        let mut samples = strata_codec::raw_points::decode(&bytes)?;
        samples.dedup_by_key(|s| s.0);
        series.push(BlockSeries { labels, samples });
    }
    std::fs::create_dir_all(out)?;
    let started = std::time::Instant::now();
    let stats = write_block(Path::new(out), series)?;
    let samples = stats.meta.stats.num_samples as f64;
    let meta_bytes = std::fs::metadata(stats.dir.join("meta.json"))?.len();
    let total = stats.index_bytes + stats.chunk_bytes + meta_bytes + 9;
    println!(
        "{} series, {} samples, {} chunks -> {} in {:.2} s\n\
         chunks {} bytes ({:.3} B/sample), index {} bytes ({:.3} B/sample), total {:.3} B/sample",
        stats.meta.stats.num_series,
        stats.meta.stats.num_samples,
        stats.meta.stats.num_chunks,
        stats.dir.display(),
        started.elapsed().as_secs_f64(),
        stats.chunk_bytes,
        stats.chunk_bytes as f64 / samples,
        stats.index_bytes,
        stats.index_bytes as f64 / samples,
        total as f64 / samples,
    );
    Ok(())
}
