//! The index's memory accounting against the allocator's own count.

use strata_index::SeriesIndex;
use strata_testkit::counting_alloc::{self, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// What `SeriesIndex::stats` reports as its heap is most of what the allocator saw it take,
/// and not more.
#[test]
fn the_index_reports_what_it_allocates() {
    let series = 20_000usize;
    let labels = counting_alloc::node_series(series);
    let before = counting_alloc::live_bytes();
    let index = SeriesIndex::new();
    for l in &labels {
        index.get_or_create(l).unwrap();
    }
    let measured = (counting_alloc::live_bytes() - before) as f64;
    let reported = index.stats().memory_bytes as f64;
    let ratio = reported / measured;
    drop(labels);
    // Hash-table slack and a few small allocations are not counted (about 10 bytes a series).
    assert!(
        (0.78..=1.05).contains(&ratio),
        "the index reports {reported} bytes, the allocator counted {measured}: ratio {ratio:.2}"
    );
}
