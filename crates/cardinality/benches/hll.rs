//! Our HyperLogLog against the two crates the cardinality issue named: `hyperloglogplus`
//! (HLL++, sparse then dense, serialisable) and `hyperloglockless` (dense, lock-free inserts,
//! an O(1) running estimate), all at precision 14. Before the timings it prints, for each,
//! the relative error at 1M distinct keys (mean and worst over 8 key sets) and the heap
//! bytes a sketch holds after 100 and after 1M keys (counted by this binary's allocator):
//! the tracker keeps up to 20,000 metric × label sketches, most of them seeing few values,
//! so the bytes of a small sketch matter as much as speed.
//!
//! Run: `cargo bench -p strata-cardinality --bench hll`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use hyperloglogplus::{HyperLogLog as _, HyperLogLogPlus};
use strata_cardinality::HyperLogLog;

/// Counts live heap bytes, to weigh each sketch.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type Xx = BuildHasherDefault<xxhash_rust::xxh3::Xxh3Default>;

/// One sketch type behind one face: insert a key, estimate.
trait Sketch {
    const NAME: &'static str;
    fn make() -> Self;
    fn add(&mut self, key: &[u8]);
    fn estimate(&mut self) -> f64;
}

impl Sketch for HyperLogLog {
    const NAME: &'static str = "strata";
    fn make() -> Self {
        HyperLogLog::new()
    }
    fn add(&mut self, key: &[u8]) {
        self.insert(key);
    }
    fn estimate(&mut self) -> f64 {
        self.count() as f64
    }
}

impl Sketch for HyperLogLogPlus<[u8], Xx> {
    const NAME: &'static str = "hyperloglogplus";
    fn make() -> Self {
        HyperLogLogPlus::new(14, Xx::default()).expect("precision 14 is valid")
    }
    fn add(&mut self, key: &[u8]) {
        self.insert(key);
    }
    fn estimate(&mut self) -> f64 {
        self.count()
    }
}

impl Sketch for hyperloglockless::HyperLogLog {
    const NAME: &'static str = "hyperloglockless";
    fn make() -> Self {
        hyperloglockless::HyperLogLog::seeded(14, 7)
    }
    fn add(&mut self, key: &[u8]) {
        self.insert(key);
    }
    fn estimate(&mut self) -> f64 {
        self.raw_count()
    }
}

fn key(set: u64, i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&set.to_le_bytes());
    k[8..].copy_from_slice(&i.to_le_bytes());
    k
}

/// A sketch of keys 0..n of key set `set`, and the heap bytes it holds.
fn filled<S: Sketch>(set: u64, n: u64) -> (S, isize) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut sketch = S::make();
    (0..n).for_each(|i| sketch.add(&key(set, i)));
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    (sketch, bytes)
}

fn report<S: Sketch>() {
    const N: u64 = 1_000_000;
    let errors: Vec<f64> =
        (0..8).map(|set| (filled::<S>(set, N).0.estimate() / N as f64 - 1.0).abs()).collect();
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let worst = errors.iter().copied().fold(0.0, f64::max);
    let (_, small) = filled::<S>(99, 100);
    let (_, large) = filled::<S>(99, N);
    eprintln!(
        "{:17} |error| at 1M keys: mean {:.2}%, worst {:.2}% (8 sets); heap after 100 keys {small} B, after 1M {large} B",
        S::NAME,
        mean * 100.0,
        worst * 100.0,
    );
}

fn time<S: Sketch>(c: &mut Criterion) {
    c.bench_function(&format!("{}/insert 10k new keys", S::NAME), |b| {
        b.iter(|| black_box(filled::<S>(1, 10_000).0))
    });
    let (mut full, _) = filled::<S>(2, 1_000_000);
    c.bench_function(&format!("{}/estimate at 1M", S::NAME), |b| b.iter(|| black_box(full.estimate())));
}

fn bench(c: &mut Criterion) {
    report::<HyperLogLog>();
    report::<HyperLogLogPlus<[u8], Xx>>();
    report::<hyperloglockless::HyperLogLog>();
    time::<HyperLogLog>(c);
    time::<HyperLogLogPlus<[u8], Xx>>(c);
    time::<hyperloglockless::HyperLogLog>(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
