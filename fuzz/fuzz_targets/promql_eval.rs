//! Arbitrary text as a PromQL query: parsed, and when it parses, evaluated (instant and
//! range) over a small store with a time and sample budget — an answer or an error, never
//! a panic out of `strata_promql`, and never past the budget by much.
//!
//! The default panic hook is put back (libFuzzer's aborts at once) and the harness itself
//! fails on a panic that escapes, with the query that caused it.
#![no_main]

use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use strata_model::Labels;
use strata_promql::{EngineOptions, MemoryQueryable, QueryEngine, Range};

fn store() -> &'static MemoryQueryable {
    static STORE: OnceLock<MemoryQueryable> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut store = MemoryQueryable::new();
        for (name, job, scale) in [("http_requests_total", "api", 1.0), ("http_requests_total", "db", 3.0), ("up", "api", 0.0)] {
            let labels = Labels::from_pairs([("__name__", name), ("job", job)]).expect("valid labels");
            for i in 0..120i64 {
                store.add(&labels, i * 15_000, scale * i as f64 + if name == "up" { 1.0 } else { 0.0 });
            }
        }
        store
    })
}

fuzz_target!(|data: &[u8]| {
    static DEFAULT_HOOK: Once = Once::new();
    DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
    let Ok(query) = std::str::from_utf8(data) else { return };
    if query.len() > 2_000 {
        return;
    }
    let budget = Duration::from_millis(200);
    let engine = QueryEngine::new(EngineOptions { timeout: budget, max_samples: 200_000, ..EngineOptions::default() });
    let started = Instant::now();
    let evaluated = std::panic::catch_unwind(|| {
        let _ = engine.instant(store(), query, 900_000);
        let _ = engine.range(store(), query, Range { start: 0, end: 1_800_000, step: 60_000 });
    });
    assert!(evaluated.is_ok(), "a panic escaped strata_promql on {query:?}");
    assert!(started.elapsed() < budget * 20, "{query:?} took {:?}", started.elapsed());
});
