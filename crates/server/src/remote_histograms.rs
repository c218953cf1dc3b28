//! Native histograms arriving by remote write, 1.0 (`prometheus.Histogram`, what
//! Prometheus 2.40+ sends with `send_native_histograms`) and 2.0
//! (`io.prometheus.write.v2.Histogram`): both messages share field numbers 1–16, so one
//! decoder reads both (2.0's `start_timestamp = 17` is skipped: blocks have no place for it).
//!
//! | field | number |
//! |---|---|
//! | `count_int` / `count_float` (oneof) | 1 / 2 |
//! | `sum` | 3 |
//! | `schema` (sint32) | 4 |
//! | `zero_threshold` | 5 |
//! | `zero_count_int` / `zero_count_float` (oneof) | 6 / 7 |
//! | `negative_spans`, `negative_deltas` (sint64), `negative_counts` | 8, 9, 10 |
//! | `positive_spans`, `positive_deltas` (sint64), `positive_counts` | 11, 12, 13 |
//! | `reset_hint` (0 unknown, 1 yes, 2 no, 3 gauge) | 14 |
//! | `timestamp` | 15 |
//! | `custom_values` | 16 |
//! | `BucketSpan.offset` (sint32), `.length` | 1, 2 |
//!
//! A histogram is a float histogram when a float count field is present (Prometheus'
//! oneof), or it carries absolute float bucket counts.

use prost::Message;
use strata_model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};
use strata_model::Labels;

/// `prometheus.Histogram` / `io.prometheus.write.v2.Histogram`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct WireHistogram {
    #[prost(uint64, optional, tag = "1")]
    pub(crate) count_int: Option<u64>,
    #[prost(double, optional, tag = "2")]
    pub(crate) count_float: Option<f64>,
    #[prost(double, tag = "3")]
    pub(crate) sum: f64,
    #[prost(sint32, tag = "4")]
    pub(crate) schema: i32,
    #[prost(double, tag = "5")]
    pub(crate) zero_threshold: f64,
    #[prost(uint64, optional, tag = "6")]
    pub(crate) zero_count_int: Option<u64>,
    #[prost(double, optional, tag = "7")]
    pub(crate) zero_count_float: Option<f64>,
    #[prost(message, repeated, tag = "8")]
    pub(crate) negative_spans: Vec<WireSpan>,
    #[prost(sint64, repeated, tag = "9")]
    pub(crate) negative_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "10")]
    pub(crate) negative_counts: Vec<f64>,
    #[prost(message, repeated, tag = "11")]
    pub(crate) positive_spans: Vec<WireSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub(crate) positive_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "13")]
    pub(crate) positive_counts: Vec<f64>,
    #[prost(int32, tag = "14")]
    pub(crate) reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub(crate) timestamp: i64,
    #[prost(double, repeated, tag = "16")]
    pub(crate) custom_values: Vec<f64>,
}

/// `BucketSpan`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct WireSpan {
    #[prost(sint32, tag = "1")]
    pub(crate) offset: i32,
    #[prost(uint32, tag = "2")]
    pub(crate) length: u32,
}

fn spans(wire: &[WireSpan]) -> Vec<Span> {
    wire.iter().map(|s| Span { offset: s.offset, length: s.length }).collect()
}

fn hint(code: i32) -> CounterResetHint {
    match code {
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => CounterResetHint::Unknown,
    }
}

impl WireHistogram {
    /// The sample: its timestamp and histogram (not yet validated: the head does that).
    pub(crate) fn to_sample(&self) -> (i64, HistogramValue) {
        let float = self.count_float.is_some()
            || self.zero_count_float.is_some()
            || !self.positive_counts.is_empty()
            || !self.negative_counts.is_empty();
        let value = if float {
            HistogramValue::Float(FloatHistogram {
                counter_reset_hint: hint(self.reset_hint),
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count: self.zero_count_float.unwrap_or(self.zero_count_int.unwrap_or(0) as f64),
                count: self.count_float.unwrap_or(self.count_int.unwrap_or(0) as f64),
                sum: self.sum,
                positive_spans: spans(&self.positive_spans),
                negative_spans: spans(&self.negative_spans),
                positive_buckets: self.positive_counts.clone(),
                negative_buckets: self.negative_counts.clone(),
                custom_values: self.custom_values.clone(),
            })
        } else {
            HistogramValue::Integer(Histogram {
                counter_reset_hint: hint(self.reset_hint),
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count: self.zero_count_int.unwrap_or(0),
                count: self.count_int.unwrap_or(0),
                sum: self.sum,
                positive_spans: spans(&self.positive_spans),
                negative_spans: spans(&self.negative_spans),
                positive_buckets: self.positive_deltas.clone(),
                negative_buckets: self.negative_deltas.clone(),
                custom_values: self.custom_values.clone(),
            })
        };
        (self.timestamp, value)
    }
}

/// The histogram samples of a request and the problems met decoding them.
#[derive(Debug, Default)]
pub(crate) struct HistogramBatch {
    /// `(series, timestamp, histogram)`.
    pub(crate) samples: Vec<(Labels, i64, HistogramValue)>,
    /// Problems, each naming its series by position (from 1).
    pub(crate) errors: Vec<String>,
}

impl HistogramBatch {
    /// Adds the encoded histograms of series `position` (from 1), whose labels are `labels`.
    pub(crate) fn add<'a>(
        &mut self,
        position: usize,
        labels: impl FnOnce() -> Result<Labels, String>,
        encoded: impl IntoIterator<Item = &'a [u8]>,
    ) {
        let mut encoded = encoded.into_iter().peekable();
        if encoded.peek().is_none() {
            return;
        }
        let labels = match labels() {
            Ok(l) => l,
            Err(e) => return self.errors.push(format!("series {position}: {e}")),
        };
        for bytes in encoded {
            match WireHistogram::decode(bytes) {
                Ok(h) => {
                    let (t, value) = h.to_sample();
                    self.samples.push((labels.clone(), t, value));
                }
                Err(e) => {
                    self.errors.push(format!("series {position}: a histogram is not valid protobuf: {e}"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_and_float_histograms_are_told_apart_by_the_oneof() {
        let integer = WireHistogram {
            count_int: Some(0),
            zero_count_int: Some(0),
            schema: 3,
            timestamp: 7,
            positive_spans: vec![WireSpan { offset: -2, length: 1 }],
            positive_deltas: vec![0],
            ..Default::default()
        };
        let back = WireHistogram::decode(integer.encode_to_vec().as_slice()).unwrap();
        assert!(
            matches!(back.to_sample(), (7, HistogramValue::Integer(h)) if h.schema == 3 && h.positive_spans[0].offset == -2)
        );
        let float = WireHistogram { count_float: Some(0.0), reset_hint: 3, ..Default::default() };
        let back = WireHistogram::decode(float.encode_to_vec().as_slice()).unwrap();
        assert!(
            matches!(back.to_sample().1, HistogramValue::Float(h) if h.counter_reset_hint == CounterResetHint::Gauge)
        );
    }

    #[test]
    fn bad_bytes_and_bad_labels_are_named() {
        let mut batch = HistogramBatch::default();
        batch.add(3, || Ok(Labels::from_pairs([("__name__", "h")]).unwrap()), [&b"\xff\xff"[..]]);
        batch.add(4, || Err("no name".into()), [&b""[..]]);
        assert_eq!(batch.errors.len(), 2, "{:?}", batch.errors);
        assert!(batch.errors[0].starts_with("series 3: a histogram is not valid protobuf"));
        assert_eq!(batch.errors[1], "series 4: no name");
    }
}
