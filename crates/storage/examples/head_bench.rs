//! Head append throughput and memory per series: `SERIES` series of the synthetic
//! population, `ROUNDS` samples each, appended in batches of 1,000 by `THREADS` threads
//! (each its own share of the series), with the WAL policy given. Series are resolved to
//! refs once (`Head::series_refs`, timed apart); the rounds append by ref
//! (`Head::append_refs`, the ingest hot path), and only those calls are timed.
//!
//! Run: `cargo run --release -p strata-storage --example head_bench -- 1000000 10 2 batch`.

use std::sync::Arc;
use std::time::Instant;

use strata_index::population::Population;
use strata_storage::{Head, HeadOptions};
use strata_wal::{SyncPolicy, WalOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let (series, rounds, threads): (usize, i64, usize) =
        (get(0, "100000").parse()?, get(1, "10").parse()?, get(2, "1").parse()?);
    let policy = match get(3, "batch").as_str() {
        "sync" => SyncPolicy::Sync,
        "none" => SyncPolicy::None,
        _ => SyncPolicy::Batch,
    };
    // Distinct label sets without a second copy of them (a set freed here would be reused
    // by the head and hide part of its growth in the RSS figure).
    let mut population = Population::new(1);
    let mut labels = Vec::with_capacity(series + series / 8);
    while labels.len() < series {
        labels.extend((labels.len()..series).map(|_| population.next_labels()));
        labels.sort_unstable();
        labels.dedup();
    }
    let labels = Arc::new(labels);
    let dir = tempfile::tempdir()?;
    let rss_before = rss_bytes();
    let options =
        HeadOptions { wal: WalOptions { policy, ..WalOptions::default() }, ..HeadOptions::default() };
    let head = Arc::new(Head::open(dir.path(), options)?);
    let creating = Instant::now();
    let refs = Arc::new(
        labels.chunks(1000).map(|part| head.series_refs(part)).collect::<Result<Vec<_>, _>>()?.concat(),
    );
    let create_seconds = creating.elapsed().as_secs_f64();
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|w| {
            let (head, refs) = (Arc::clone(&head), Arc::clone(&refs));
            std::thread::spawn(move || {
                let mine: Vec<usize> = (w..refs.len()).step_by(threads).collect();
                let mut appending = std::time::Duration::ZERO;
                for round in 0..rounds {
                    for part in mine.chunks(1000) {
                        let batch: Vec<_> = part
                            .iter()
                            .map(|&i| (refs[i], round * 15_000, (i as i64 + round) as f64))
                            .collect();
                        let started = Instant::now();
                        head.append_refs(&batch).expect("append");
                        appending += started.elapsed();
                    }
                }
                appending
            })
        })
        .collect();
    let mut append_seconds = 0.0f64;
    for w in workers {
        append_seconds = append_seconds.max(w.join().map_err(|_| "a writer panicked")?.as_secs_f64());
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = head.stats();
    let rss_growth = rss_bytes().saturating_sub(rss_before);
    let total = series as f64 * rounds as f64;
    println!(
        "{series} series created in {create_seconds:.3} s; x {rounds} samples, {threads} thread(s), WAL {:?}: \
         {:.3} s wall; in Head::append_refs {:.3} s (busiest thread): {:.0} samples/s\n\
         head memory per series: chunks {:.0} B + index {:.0} B = {:.0} B (process anonymous RSS grew {:.0} B/series); head chunk files {:.0} B/series; \
         samples {}, chunks {}",
        policy,
        seconds,
        append_seconds,
        total / append_seconds.max(1e-9),
        stats.chunk_bytes as f64 / series as f64,
        stats.index_bytes as f64 / series as f64,
        (stats.chunk_bytes + stats.index_bytes) as f64 / series as f64,
        rss_growth as f64 / series as f64,
        stats.chunk_file_bytes as f64 / series as f64,
        stats.samples_appended,
        stats.chunks
    );
    Ok(())
}

/// Anonymous resident memory of this process (Linux `RssAnon`: the heap, not mapped
/// files such as the head chunk files), 0 where unknown.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).unwrap_or(0) * 1024
}
