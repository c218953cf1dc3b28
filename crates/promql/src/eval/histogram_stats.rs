//! Counter-reset hints as Prometheus' `HistogramStatsIterator` gives them. When a selector
//! is read only for `histogram_count`, `histogram_sum` or `histogram_avg` (not through
//! `histogram_quantile`/`histogram_fraction`, a subquery or a binary operator, which need
//! whole histograms), Prometheus reads it through an iterator that works out each sample's
//! counter reset as it goes: a sample whose hint says nothing is compared with the one read
//! before it and becomes `CounterReset` or `NotCounterReset`; the first read keeps the hint
//! storage gave it; gauges and explicit resets stay as they are. The values are unchanged — what
//! this changes is what an aggregation of them sees: a `CounterReset` beside a
//! `NotCounterReset` is the "conflicting counter resets" warning.

use strata_model::histogram::{CounterResetHint, FloatHistogram, HistogramValue};

use super::histogram_windows::detect_reset;

/// The hint the stats iterator gives `curr`, read after `prev` (`None` for the first).
fn stats_hint(curr: &FloatHistogram, prev: Option<&FloatHistogram>) -> CounterResetHint {
    match (curr.counter_reset_hint, prev) {
        (hint @ (CounterResetHint::Gauge | CounterResetHint::CounterReset), _) => hint,
        (hint, None) => hint,
        (_, Some(prev)) if detect_reset(curr, prev) => CounterResetHint::CounterReset,
        _ => CounterResetHint::NotCounterReset,
    }
}

/// Sets the stats iterator's hints on a series' histograms, in time order (stale markers
/// are passed over: they are not histograms the iterator hands on).
pub(crate) fn set_stats_hints(histograms: &mut [(i64, HistogramValue)]) {
    let mut prev: Option<FloatHistogram> = None;
    for (_, h) in histograms.iter_mut().filter(|(_, h)| !h.is_stale()) {
        let float = h.to_float();
        let hint = stats_hint(&float, prev.as_ref());
        match h {
            HistogramValue::Integer(i) => i.counter_reset_hint = hint,
            HistogramValue::Float(f) => f.counter_reset_hint = hint,
        }
        prev = Some(float);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(count: f64) -> HistogramValue {
        HistogramValue::Float(FloatHistogram { count, ..Default::default() })
    }

    fn hints(hs: &[(i64, HistogramValue)]) -> Vec<CounterResetHint> {
        hs.iter().map(|(_, h)| h.to_float().counter_reset_hint).collect()
    }

    #[test]
    fn resets_are_found_as_the_series_is_read() {
        let mut hs = vec![(0, counter(3.0)), (1, counter(2.0)), (2, counter(2.0)), (3, counter(3.0))];
        set_stats_hints(&mut hs);
        use CounterResetHint::*;
        assert_eq!(hints(&hs), [Unknown, CounterReset, NotCounterReset, NotCounterReset]);
        let not_reset = HistogramValue::Float(FloatHistogram {
            counter_reset_hint: NotCounterReset,
            ..Default::default()
        });
        let mut hs = vec![(0, not_reset), (1, counter(0.0))];
        set_stats_hints(&mut hs);
        assert_eq!(hints(&hs), [NotCounterReset, NotCounterReset], "the first keeps what storage said");
        let gauge = HistogramValue::Float(FloatHistogram { counter_reset_hint: Gauge, ..Default::default() });
        let mut hs = vec![(0, counter(3.0)), (1, gauge)];
        set_stats_hints(&mut hs);
        assert_eq!(hints(&hs), [Unknown, Gauge]);
    }
}
