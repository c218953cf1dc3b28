//! Helpers the storage tests share.

use std::collections::BTreeMap;

use strata_model::Labels;
use strata_storage::Engine;

/// What an engine holds: each series' samples by timestamp.
pub(crate) type Model = BTreeMap<Labels, BTreeMap<i64, f64>>;

/// Everything `engine` returns for all time, checked to be in time order without
/// duplicates.
pub(crate) fn everything(engine: &dyn Engine) -> Model {
    let mut out = Model::new();
    for s in engine.select(&[], i64::MIN, i64::MAX).unwrap() {
        let samples = s.collect_samples().unwrap();
        assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "time order, no duplicates");
        out.insert(s.labels().clone(), samples.into_iter().collect());
    }
    out
}
