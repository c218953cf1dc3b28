//! Native histograms: the sample type of a histogram series, as Prometheus defines it.
//!
//! A native histogram has no fixed `le` labels. With an *exponential schema* `s` (−4…8)
//! bucket `i` of the positive side holds observations in `(2^((i−1)/2^s), 2^(i/2^s)]`,
//! mirrored on the negative side, and observations with `|x| ≤ zero_threshold` go to the
//! zero bucket. With the *custom-buckets schema* (−53, "NHCB") bucket `i` spans
//! `(custom_values[i−1], custom_values[i]]`, the last one reaching `+Inf`: a classic
//! histogram in native form.
//!
//! Only buckets in use are stored. [`Span`]s say which: the first span's offset is the
//! index of its first bucket, each later span's offset is the gap since the end of the
//! previous one. An integer [`Histogram`] stores its bucket counts as deltas (each count
//! minus the previous one on that side, the first one absolute), as Prometheus' chunks and
//! remote write do; a [`FloatHistogram`] stores absolute counts.
//!
//! A stale marker is a histogram whose `sum` has the stale NaN's bits; its other fields
//! mean nothing.

use crate::sample::is_stale_marker;
use thiserror::Error;

/// The schema of native histograms with custom bucket boundaries (NHCB).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;
/// The lowest exponential schema (buckets growing by a factor 2^16 = 65,536).
pub const EXPONENTIAL_SCHEMA_MIN: i32 = -4;
/// The highest exponential schema (buckets growing by a factor 2^(1/256)).
pub const EXPONENTIAL_SCHEMA_MAX: i32 = 8;

/// Whether `schema` is one this version understands.
pub fn is_known_schema(schema: i32) -> bool {
    schema == CUSTOM_BUCKETS_SCHEMA || (EXPONENTIAL_SCHEMA_MIN..=EXPONENTIAL_SCHEMA_MAX).contains(&schema)
}

/// A run of consecutive buckets in use: `offset` buckets skipped, then `length` in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    /// For the first span the index of its first bucket; for later ones the number of
    /// unused buckets since the previous span ended (never negative there).
    pub offset: i32,
    /// Number of buckets in use.
    pub length: u32,
}

/// What the producer knew about a counter reset at this sample (Prometheus' hint; a
/// chunk keeps it in its header for the chunk's first sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CounterResetHint {
    /// Nothing is known: a reader compares with the previous sample.
    #[default]
    Unknown,
    /// The counter was reset just before this sample.
    CounterReset,
    /// The counter was not reset.
    NotCounterReset,
    /// A gauge histogram: its counts go up and down, resets do not apply.
    Gauge,
}

/// Why a histogram is not well formed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum HistogramError {
    /// The schema is neither exponential (−4…8) nor custom buckets (−53).
    #[error("unknown histogram schema {0} (exponential schemas are -4 to 8, custom buckets -53)")]
    UnknownSchema(i32),
    /// The spans of a side do not cover as many buckets as it has counts.
    #[error("{side} spans cover {spans} buckets but {buckets} bucket counts were given")]
    SpanBucketMismatch {
        /// `positive` or `negative`.
        side: &'static str,
        /// Buckets the spans cover.
        spans: u64,
        /// Counts given.
        buckets: usize,
    },
    /// A span after the first has a negative offset.
    #[error("{side} span {index} has negative offset {offset}")]
    NegativeSpanOffset {
        /// `positive` or `negative`.
        side: &'static str,
        /// Position of the span.
        index: usize,
        /// Its offset.
        offset: i32,
    },
    /// A bucket count is negative.
    #[error("{side} bucket {index} has negative count {count}")]
    NegativeBucketCount {
        /// `positive` or `negative`.
        side: &'static str,
        /// Position of the bucket among those in use.
        index: usize,
        /// The count.
        count: f64,
    },
    /// The buckets and the zero bucket hold more (or, with a sum that is not NaN, a
    /// different number of) observations than `count`.
    #[error("count {count} does not match the {buckets} observations in the buckets")]
    CountMismatch {
        /// The histogram's count.
        count: f64,
        /// The observations its buckets hold.
        buckets: f64,
    },
    /// A custom-buckets histogram breaks that schema's rules.
    #[error("custom-buckets histogram: {0}")]
    CustomBuckets(&'static str),
}

/// An integer native histogram: counts are whole numbers, bucket counts delta-encoded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// The producer's counter-reset knowledge.
    pub counter_reset_hint: CounterResetHint,
    /// Exponential schema (−4…8) or [`CUSTOM_BUCKETS_SCHEMA`].
    pub schema: i32,
    /// Observations with `|x| ≤ zero_threshold` are counted in the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// All observations.
    pub count: u64,
    /// Sum of all observations.
    pub sum: f64,
    /// Positive buckets in use.
    pub positive_spans: Vec<Span>,
    /// Negative buckets in use.
    pub negative_spans: Vec<Span>,
    /// Positive bucket counts as deltas: the first absolute, then each minus its predecessor.
    pub positive_buckets: Vec<i64>,
    /// Negative bucket counts, delta-encoded like the positive ones.
    pub negative_buckets: Vec<i64>,
    /// Upper bounds of the custom buckets (schema −53 only), increasing; `+Inf` implied.
    pub custom_values: Vec<f64>,
}

/// A float native histogram: counts may be fractional (results of `rate`, averages), and
/// bucket counts are absolute.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatHistogram {
    /// The producer's counter-reset knowledge.
    pub counter_reset_hint: CounterResetHint,
    /// Exponential schema (−4…8) or [`CUSTOM_BUCKETS_SCHEMA`].
    pub schema: i32,
    /// Observations with `|x| ≤ zero_threshold` are counted in the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: f64,
    /// All observations.
    pub count: f64,
    /// Sum of all observations.
    pub sum: f64,
    /// Positive buckets in use.
    pub positive_spans: Vec<Span>,
    /// Negative buckets in use.
    pub negative_spans: Vec<Span>,
    /// Positive bucket counts, absolute.
    pub positive_buckets: Vec<f64>,
    /// Negative bucket counts, absolute.
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets (schema −53 only), increasing; `+Inf` implied.
    pub custom_values: Vec<f64>,
}

/// A histogram sample as stored: integer (scrapes, remote write) or float (rules, PromQL).
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramValue {
    /// Whole counts, delta-encoded buckets.
    Integer(Histogram),
    /// Float counts, absolute buckets.
    Float(FloatHistogram),
}

impl HistogramValue {
    /// Whether this is a stale marker.
    pub fn is_stale(&self) -> bool {
        match self {
            HistogramValue::Integer(h) => h.is_stale(),
            HistogramValue::Float(h) => h.is_stale(),
        }
    }

    /// Checks the structure Prometheus requires before it stores a histogram.
    pub fn validate(&self) -> Result<(), HistogramError> {
        match self {
            HistogramValue::Integer(h) => h.validate(),
            HistogramValue::Float(h) => h.validate(),
        }
    }

    /// The histogram with float counts (what PromQL computes with).
    pub fn to_float(&self) -> FloatHistogram {
        match self {
            HistogramValue::Integer(h) => h.to_float(),
            HistogramValue::Float(h) => h.clone(),
        }
    }

    /// Whether two samples are the same histogram, floats compared by bits (a resent
    /// sample; the counter-reset hint is not part of the value).
    pub fn identical(&self, other: &HistogramValue) -> bool {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        match (self, other) {
            (HistogramValue::Integer(a), HistogramValue::Integer(b)) => {
                (a.schema, a.zero_count, a.count, &a.positive_spans, &a.negative_spans)
                    == (b.schema, b.zero_count, b.count, &b.positive_spans, &b.negative_spans)
                    && (a.zero_threshold.to_bits(), a.sum.to_bits())
                        == (b.zero_threshold.to_bits(), b.sum.to_bits())
                    && (&a.positive_buckets, &a.negative_buckets)
                        == (&b.positive_buckets, &b.negative_buckets)
                    && bits(&a.custom_values) == bits(&b.custom_values)
            }
            (HistogramValue::Float(a), HistogramValue::Float(b)) => {
                (a.schema, &a.positive_spans, &a.negative_spans)
                    == (b.schema, &b.positive_spans, &b.negative_spans)
                    && bits(&[a.zero_threshold, a.zero_count, a.count, a.sum])
                        == bits(&[b.zero_threshold, b.zero_count, b.count, b.sum])
                    && bits(&a.positive_buckets) == bits(&b.positive_buckets)
                    && bits(&a.negative_buckets) == bits(&b.negative_buckets)
                    && bits(&a.custom_values) == bits(&b.custom_values)
            }
            _ => false,
        }
    }
}

/// Number of buckets a list of spans covers.
pub fn span_bucket_count(spans: &[Span]) -> u64 {
    spans.iter().map(|s| u64::from(s.length)).sum()
}

/// The bucket indices a list of spans covers, in increasing order.
pub fn bucket_indices(spans: &[Span]) -> impl Iterator<Item = i64> + '_ {
    let mut next = 0i64;
    spans.iter().enumerate().flat_map(move |(i, span)| {
        next = if i == 0 { i64::from(span.offset) } else { next + i64::from(span.offset) };
        let start = next;
        next += i64::from(span.length);
        start..next
    })
}

/// Spans covering exactly the given increasing bucket indices (the canonical form: no
/// empty spans, adjacent runs merged).
pub fn spans_for_indices(indices: &[i64]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    let mut end = 0i64; // index after the last bucket of the last span
    for &index in indices {
        if !spans.is_empty() && index == end {
            spans.last_mut().expect("not empty").length += 1;
        } else {
            let offset = if spans.is_empty() { index } else { index - end };
            spans.push(Span { offset: offset as i32, length: 1 });
        }
        end = index + 1;
    }
    spans
}

/// Absolute counts from delta-encoded ones.
pub fn absolute_counts(deltas: &[i64]) -> Vec<i64> {
    let mut current = 0i64;
    deltas
        .iter()
        .map(|d| {
            current = current.wrapping_add(*d);
            current
        })
        .collect()
}

/// Delta-encoded counts from absolute ones.
pub fn delta_counts(absolute: &[i64]) -> Vec<i64> {
    let mut previous = 0i64;
    absolute
        .iter()
        .map(|a| {
            let d = a.wrapping_sub(previous);
            previous = *a;
            d
        })
        .collect()
}

impl Histogram {
    /// A stale marker: no buckets, the stale NaN as sum.
    pub fn stale() -> Self {
        Histogram { sum: f64::from_bits(crate::sample::STALE_NAN_BITS), ..Default::default() }
    }

    /// Whether this is a stale marker.
    pub fn is_stale(&self) -> bool {
        is_stale_marker(self.sum)
    }

    /// Checks the structure Prometheus requires before it stores a histogram.
    pub fn validate(&self) -> Result<(), HistogramError> {
        let positive = absolute_counts(&self.positive_buckets);
        let negative = absolute_counts(&self.negative_buckets);
        let to_f64 = |v: &Vec<i64>| v.iter().map(|c| *c as f64).collect::<Vec<_>>();
        check_structure(
            self.schema,
            self.zero_threshold,
            self.zero_count as f64,
            self.count as f64,
            self.sum,
            [(&self.positive_spans, &to_f64(&positive)), (&self.negative_spans, &to_f64(&negative))],
            &self.custom_values,
        )
    }

    /// The same histogram with float counts.
    pub fn to_float(&self) -> FloatHistogram {
        let float = |deltas: &[i64]| absolute_counts(deltas).into_iter().map(|c| c as f64).collect();
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count as f64,
            count: self.count as f64,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_buckets: float(&self.positive_buckets),
            negative_buckets: float(&self.negative_buckets),
            custom_values: self.custom_values.clone(),
        }
    }
}

impl FloatHistogram {
    /// Whether its buckets are custom (schema −53) rather than exponential: the two kinds
    /// never combine.
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// A stale marker: no buckets, the stale NaN as sum.
    pub fn stale() -> Self {
        FloatHistogram { sum: f64::from_bits(crate::sample::STALE_NAN_BITS), ..Default::default() }
    }

    /// Whether this is a stale marker.
    pub fn is_stale(&self) -> bool {
        is_stale_marker(self.sum)
    }

    /// Checks the structure Prometheus requires before it stores a histogram.
    pub fn validate(&self) -> Result<(), HistogramError> {
        check_structure(
            self.schema,
            self.zero_threshold,
            self.zero_count,
            self.count,
            self.sum,
            [(&self.positive_spans, &self.positive_buckets), (&self.negative_spans, &self.negative_buckets)],
            &self.custom_values,
        )
    }
}

fn check_structure(
    schema: i32,
    zero_threshold: f64,
    zero_count: f64,
    count: f64,
    sum: f64,
    sides: [(&Vec<Span>, &Vec<f64>); 2],
    custom_values: &[f64],
) -> Result<(), HistogramError> {
    if !is_known_schema(schema) {
        return Err(HistogramError::UnknownSchema(schema));
    }
    if schema == CUSTOM_BUCKETS_SCHEMA {
        check_custom_buckets(zero_threshold, zero_count, &sides[1], custom_values)?;
    } else if !custom_values.is_empty() {
        return Err(HistogramError::CustomBuckets("custom bounds given with an exponential schema"));
    }
    let mut observed = zero_count;
    for ((spans, buckets), side) in sides.into_iter().zip(["positive", "negative"]) {
        let covered = span_bucket_count(spans);
        if covered != buckets.len() as u64 {
            return Err(HistogramError::SpanBucketMismatch { side, spans: covered, buckets: buckets.len() });
        }
        if let Some((index, span)) = spans.iter().enumerate().skip(1).find(|(_, s)| s.offset < 0) {
            return Err(HistogramError::NegativeSpanOffset { side, index, offset: span.offset });
        }
        if let Some((index, count)) = buckets.iter().enumerate().find(|(_, c)| **c < 0.0) {
            return Err(HistogramError::NegativeBucketCount { side, index, count: *count });
        }
        observed += buckets.iter().sum::<f64>();
    }
    // A NaN sum means an observation was NaN: it counts in `count` but in no bucket.
    let consistent = if sum.is_nan() { observed <= count } else { observed == count };
    if consistent || is_stale_marker(sum) {
        Ok(())
    } else {
        Err(HistogramError::CountMismatch { count, buckets: observed })
    }
}

fn check_custom_buckets(
    zero_threshold: f64,
    zero_count: f64,
    negative: &(&Vec<Span>, &Vec<f64>),
    custom_values: &[f64],
) -> Result<(), HistogramError> {
    if zero_threshold != 0.0 || zero_count != 0.0 {
        return Err(HistogramError::CustomBuckets("has a zero bucket"));
    }
    if !negative.0.is_empty() || !negative.1.is_empty() {
        return Err(HistogramError::CustomBuckets("has negative buckets"));
    }
    if custom_values.windows(2).any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less)) {
        return Err(HistogramError::CustomBuckets("bounds are not strictly increasing"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn example() -> Histogram {
        Histogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 2,
            count: 9,
            sum: 18.4,
            positive_spans: vec![Span { offset: 0, length: 2 }, Span { offset: 1, length: 2 }],
            positive_buckets: vec![1, 1, -1, 0],
            negative_spans: vec![Span { offset: 0, length: 1 }],
            negative_buckets: vec![2],
            ..Default::default()
        }
    }

    #[test]
    fn well_formed_histogram_validates() {
        assert_eq!(example().validate(), Ok(()));
        assert_eq!(example().to_float().validate(), Ok(()));
        assert_eq!(example().to_float().positive_buckets, vec![1.0, 2.0, 1.0, 1.0]);
    }

    #[test]
    fn malformed_histograms_are_named() {
        let mut h = example();
        h.count = 10;
        assert!(matches!(h.validate(), Err(HistogramError::CountMismatch { .. })));
        let mut h = example();
        h.positive_buckets.pop();
        assert!(matches!(h.validate(), Err(HistogramError::SpanBucketMismatch { side: "positive", .. })));
        let mut h = example();
        h.positive_spans[1].offset = -1;
        assert!(matches!(h.validate(), Err(HistogramError::NegativeSpanOffset { index: 1, .. })));
        let mut h = example();
        h.positive_buckets = vec![1, -2, 0, 0];
        assert!(matches!(h.validate(), Err(HistogramError::NegativeBucketCount { .. })));
        let mut h = example();
        h.schema = 9;
        assert_eq!(h.validate(), Err(HistogramError::UnknownSchema(9)));
        let mut h = example();
        h.sum = f64::NAN;
        h.count = 11;
        assert_eq!(h.validate(), Ok(()), "a NaN observation counts in no bucket");
    }

    #[test]
    fn custom_bucket_rules() {
        let h = Histogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: 3,
            sum: 2.0,
            positive_spans: vec![Span { offset: 0, length: 2 }],
            positive_buckets: vec![1, 1],
            custom_values: vec![0.5, 1.0],
            ..Default::default()
        };
        assert_eq!(h.validate(), Ok(()));
        let mut bad = h.clone();
        bad.custom_values = vec![1.0, 1.0];
        assert!(matches!(bad.validate(), Err(HistogramError::CustomBuckets(_))));
        let mut bad = h;
        bad.zero_count = 1;
        bad.count = 4;
        assert!(matches!(bad.validate(), Err(HistogramError::CustomBuckets(_))));
    }

    #[test]
    fn stale_marker_is_recognised() {
        assert!(Histogram::stale().is_stale());
        assert!(FloatHistogram::stale().is_stale());
        assert!(!example().is_stale());
    }

    proptest! {
        #[test]
        fn spans_and_indices_round_trip(mut indices in proptest::collection::btree_set(-300i64..300, 0..40)) {
            let indices: Vec<i64> = std::mem::take(&mut indices).into_iter().collect();
            let spans = spans_for_indices(&indices);
            prop_assert_eq!(bucket_indices(&spans).collect::<Vec<_>>(), indices.clone());
            prop_assert_eq!(span_bucket_count(&spans), indices.len() as u64);
            prop_assert!(spans.iter().skip(1).all(|s| s.offset > 0 && s.length > 0));
        }

        #[test]
        fn delta_counts_round_trip(counts in proptest::collection::vec(0i64..1_000_000, 0..50)) {
            prop_assert_eq!(absolute_counts(&delta_counts(&counts)), counts);
        }
    }
}
