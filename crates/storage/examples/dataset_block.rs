//! Writes a whole dataset as one block and prints its size per sample, to compare with
//! Prometheus (which writes ../shared/datasets/scrape-1s-A in 0.925 bytes/sample).
//!
//! Input: a directory made by `scripts/extract_series.py DATASET --all DIR` (one raw point
//! file per series and an `index.tsv` of `file <TAB> points <TAB> series key`).
//! Run: `cargo run --release -p strata-storage --example dataset_block -- DIR OUT [--engine]`.
//! With `--engine` the samples go the whole way: appended through the block engine's head
//! (and WAL), then flushed into blocks, and the blocks' size on disk is reported.

use std::path::Path;

use strata_model::Labels;
use strata_storage::block::{write_block, BlockSeries};
use strata_storage::{BlockEngine, BlockEngineOptions, Engine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (input, out, engine) = match args.as_slice() {
        [input, out] => (input, out, false),
        [input, out, flag] if flag == "--engine" => (input, out, true),
        _ => return Err("usage: dataset_block INPUT_DIR OUT_DIR [--engine]".into()),
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
        series.push(BlockSeries { labels, samples, histograms: Vec::new() });
    }
    std::fs::create_dir_all(out)?;
    if engine {
        return through_the_engine(series, Path::new(out));
    }
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

fn through_the_engine(series: Vec<BlockSeries>, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let engine = BlockEngine::open(out, BlockEngineOptions::default())?;
    let labels: Vec<Labels> = series.iter().map(|s| s.labels.clone()).collect();
    let refs = engine.series_refs(&labels)?;
    let mut samples = 0u64;
    for (r, s) in refs.iter().zip(&series) {
        for part in s.samples.chunks(10_000) {
            let batch: Vec<_> = part.iter().map(|&(t, v)| (*r, t, v)).collect();
            let result = engine.append_refs(&batch)?;
            if let Some(first) = result.rejected.first() {
                return Err(format!(
                    "{} samples of {} refused: {}",
                    result.rejected.len(),
                    s.labels,
                    first.reason
                )
                .into());
            }
            samples += result.accepted as u64;
        }
    }
    let head = engine.head().stats();
    let flushed = engine.flush()?;
    let stats = engine.stats()?;
    println!(
        "{} series, {} samples through the head ({:.0} B/series in memory) in {:.2} s; flushed into {} block(s): \
         {} bytes on disk, {:.3} B/sample (index {} bytes)",
        series.len(),
        samples,
        (head.chunk_bytes + head.index_bytes) as f64 / head.series.max(1) as f64,
        started.elapsed().as_secs_f64(),
        flushed.written.len(),
        stats.block_bytes,
        stats.block_bytes as f64 / samples as f64,
        flushed.written.iter().map(|p| p.index_bytes).sum::<u64>(),
    );
    Ok(())
}
