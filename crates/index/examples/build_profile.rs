//! Builds an index of `N` synthetic series, with label generation kept apart from the
//! build, for profilers: run with `build` and with `generate` and subtract.
//!
//! Run: `cargo run --release -p strata-index --example build_profile -- build 200000`.

use strata_index::population::Population;
use strata_index::SeriesIndex;

fn main() {
    let mut args = std::env::args().skip(1);
    let build = args.next().as_deref() == Some("build");
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let mut population = Population::new(1);
    let sets: Vec<_> = (0..n).map(|_| population.next_labels()).collect();
    if build {
        let index = SeriesIndex::new();
        let started = std::time::Instant::now();
        for labels in &sets {
            index.get_or_create(labels).expect("index has room");
        }
        println!("{n} series in {:.3} s", started.elapsed().as_secs_f64());
    }
}
