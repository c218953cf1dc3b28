//! `load_with_nhcb`: besides the float series as written, every classic histogram family of
//! the block (`X_bucket{le=…}`, `X_count`, `X_sum`) becomes a native histogram with custom
//! buckets (schema −53), stored as series `X` (the labels minus `le`) at each timestamp any
//! of its series has a float sample — as Prometheus' test driver converts them.
//!
//! The conversion follows Prometheus' rules for a classic histogram read as one:
//! - a `_bucket` series whose `le` does not read as a number, or is NaN, is left out;
//! - the buckets are ordered by bound; a second sample for a bound already seen is ignored;
//! - without `_count`, the count is the highest bucket's; without a `+Inf` bucket, one is
//!   added holding the count;
//! - counts that are all whole numbers give an integer histogram, else a float one;
//! - a histogram that cannot be one (a negative count, buckets that are not cumulative, a
//!   count other than the `+Inf` bucket's) is not stored, and the error says which and when.

use std::collections::BTreeMap;

use strata_model::histogram::{
    CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span, CUSTOM_BUCKETS_SCHEMA,
};
use strata_model::Labels;

use super::{parse_float, Item, SeriesSpec};

/// One classic histogram at one timestamp, as its series' samples arrive.
#[derive(Debug, Default, Clone)]
struct Collected {
    /// `(le, cumulative count)`, as the series come.
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
}

/// Which part of a classic histogram a series is.
enum Part {
    Bucket(f64),
    Count,
    Sum,
}

/// Native-histogram samples by series.
pub type HistogramSeries = BTreeMap<Labels, Vec<(i64, HistogramValue)>>;

/// The native histograms a block's classic histogram families make, by series; what could
/// not be converted is returned apart, one message per histogram.
pub fn nhcb_histograms(series: &[SeriesSpec], interval: i64) -> (HistogramSeries, Vec<String>) {
    let mut families: BTreeMap<Labels, BTreeMap<i64, Collected>> = BTreeMap::new();
    for s in series {
        let Some((base, part)) = classify(&s.labels) else { continue };
        let by_time = families.entry(base).or_default();
        for (i, item) in s.items.iter().enumerate() {
            let Item::Float(v) = item else { continue };
            let collected = by_time.entry(i as i64 * interval).or_default();
            match part {
                Part::Bucket(le) => collected.buckets.push((le, *v)),
                Part::Count => collected.count = Some(*v),
                Part::Sum => collected.sum = *v,
            }
        }
    }
    let (mut out, mut errors) = (BTreeMap::new(), Vec::new());
    for (labels, by_time) in families {
        let mut samples = Vec::with_capacity(by_time.len());
        for (t, collected) in by_time {
            match convert(collected) {
                Ok(h) => samples.push((t, h)),
                Err(e) => errors.push(format!("{labels} at {t} ms: {e}")),
            }
        }
        if !samples.is_empty() {
            out.insert(labels, samples);
        }
    }
    (out, errors)
}

/// The histogram series a classic series belongs to, and which part of it it is; `None`
/// for a series of no classic histogram (or a bucket whose bound is not a number).
fn classify(labels: &Labels) -> Option<(Labels, Part)> {
    let name = labels.metric_name()?;
    let (base, part) = if let Some(base) = name.strip_suffix("_bucket") {
        let le = parse_float(labels.get("le")?).filter(|le| !le.is_nan())?;
        (base, Part::Bucket(le))
    } else if let Some(base) = name.strip_suffix("_sum") {
        (base, Part::Sum)
    } else if let Some(base) = name.strip_suffix("_count") {
        (base, Part::Count)
    } else {
        return None;
    };
    let mut out = labels.clone();
    out.set(strata_model::METRIC_NAME_LABEL, base);
    out.remove("le");
    Some((out, part))
}

/// One collected classic histogram as a native one.
fn convert(c: Collected) -> Result<HistogramValue, String> {
    let mut buckets = c.buckets;
    // By bound; of two samples for one bound the first is kept (a stable sort, then dedup).
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets.dedup_by(|later, earlier| later.0 == earlier.0);
    if let Some(&(le, n)) = buckets.iter().find(|b| b.1 < 0.0) {
        return Err(format!("bucket count must be non-negative: le={le}, count={n}"));
    }
    if let Some(w) = buckets.windows(2).find(|w| w[1].1 < w[0].1) {
        return Err(format!("count is not cumulative: {} < {}", w[1].1, w[0].1));
    }
    let count = match c.count {
        Some(n) if n < 0.0 => return Err(format!("count must be non-negative: count={n}")),
        Some(n) => n,
        None => buckets.last().map_or(0.0, |b| b.1),
    };
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        buckets.push((f64::INFINITY, count));
    }
    let top = buckets[buckets.len() - 1].1;
    if count != top {
        return Err(format!("count mismatch: count={count} != le=+Inf count={top}"));
    }
    let custom_values: Vec<f64> = buckets[..buckets.len() - 1].iter().map(|b| b.0).collect();
    let spans = vec![Span { offset: 0, length: buckets.len() as u32 }];
    let whole = |x: f64| x == x.round();
    let counts: Vec<f64> = std::iter::once(0.0).chain(buckets.iter().map(|b| b.1)).collect();
    let per_bucket = counts.windows(2).map(|w| w[1] - w[0]);
    if buckets.iter().all(|b| whole(b.1)) && whole(count) {
        let absolute: Vec<i64> = per_bucket.map(|n| n as i64).collect();
        Ok(HistogramValue::Integer(Histogram {
            counter_reset_hint: CounterResetHint::Unknown,
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: count as u64,
            sum: c.sum,
            positive_spans: spans,
            positive_buckets: strata_model::histogram::delta_counts(&absolute),
            custom_values,
            ..Histogram::default()
        }))
    } else {
        Ok(HistogramValue::Float(FloatHistogram {
            counter_reset_hint: CounterResetHint::Unknown,
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: c.sum,
            positive_spans: spans,
            positive_buckets: per_bucket.collect(),
            custom_values,
            ..FloatHistogram::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testscript::{parse_script, Command};

    fn converted(script: &str) -> (HistogramSeries, Vec<String>) {
        let Command::Load { series, interval, with_nhcb, .. } = &parse_script(script).unwrap()[0] else {
            panic!("not a load")
        };
        assert!(with_nhcb);
        nhcb_histograms(series, *interval)
    }

    fn float(h: &HistogramValue) -> FloatHistogram {
        match h {
            HistogramValue::Integer(h) => h.to_float(),
            HistogramValue::Float(h) => h.clone(),
        }
    }

    #[test]
    fn buckets_count_and_sum_become_one_custom_bucket_histogram_per_timestamp() {
        let (out, errors) = converted(
            "load_with_nhcb 5m\n\
             \tm_bucket{le=\"0.1\", a=\"x\"} 0+5x1\n\
             \tm_bucket{le=\"+Inf\", a=\"x\"} 0+12x1\n\
             \tm_bucket{le=\".2\", a=\"x\"} 0+7x1\n\
             \tm_sum{a=\"x\"} 0+3.5x1\n\
             \tm_count{a=\"x\"} 0+12x1\n\
             \tother 1 2\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let labels = Labels::from_pairs([("__name__", "m"), ("a", "x")]).unwrap();
        let samples = &out[&labels];
        assert_eq!(samples.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 300_000]);
        let h = float(&samples[1].1);
        assert!(matches!(samples[1].1, HistogramValue::Integer(_)), "whole counts give an integer histogram");
        assert_eq!((h.schema, h.count, h.sum), (CUSTOM_BUCKETS_SCHEMA, 12.0, 3.5));
        assert_eq!(h.custom_values, [0.1, 0.2], "ordered by bound, +Inf implied");
        assert_eq!(h.positive_buckets, [5.0, 2.0, 5.0]);
        assert_eq!(out.len(), 1, "a series of no classic histogram makes none");
    }

    #[test]
    fn a_missing_inf_bucket_holds_the_count_and_fractions_give_a_float_histogram() {
        let (out, errors) = converted("load_with_nhcb 1m\n\tm_bucket{le=\"1\"} 0.5\n\tm_count 2\n");
        assert!(errors.is_empty(), "{errors:?}");
        let h = &out.values().next().unwrap()[0].1;
        assert!(matches!(h, HistogramValue::Float(_)));
        assert_eq!(float(h).positive_buckets, [0.5, 1.5]);
        assert_eq!(float(h).custom_values, [1.0]);
    }

    #[test]
    fn a_bucket_without_a_numeric_bound_is_left_out_and_broken_histograms_are_named() {
        let (out, errors) = converted(
            "load_with_nhcb 1m\n\
             \tm_bucket{le=\"nope\"} 9\n\
             \tm_bucket{le=\"1\"} 5\n\
             \tm_bucket{le=\"2\"} 3\n",
        );
        assert!(out.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("not cumulative") && errors[0].contains("at 0 ms"), "{errors:?}");
    }
}
