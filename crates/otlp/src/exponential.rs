//! OTLP exponential histograms to native histograms, as Prometheus translates them (and,
//! on request, explicit-bucket histograms to native histograms with custom buckets).
//!
//! An OTLP bucket `i` (offset + position) holds `(base^i, base^(i+1)]`, a native bucket `k`
//! holds `(base^(k−1), base^k]` with the same base (`2^(2^−scale)`; the schema is the
//! scale), so bucket `i` becomes bucket `i + 1`. Scales above 8 (Prometheus' finest schema)
//! are reduced to 8 by merging `2^(scale−8)` neighbouring buckets; scales below −4 are
//! refused. Empty buckets are left out of the spans. The zero threshold is the point's when
//! it sets one, else Prometheus' default for OTLP, 1e-128. A cumulative point's counter-
//! reset hint is unknown (the reader compares), a delta point is a gauge histogram (each
//! sample the interval's own distribution, stored as sent — as Prometheus' native delta
//! ingestion does). A point flagged "no recorded value" is a stale marker.

use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::{ExponentialHistogramDataPoint, HistogramDataPoint};
use strata_model::histogram::{
    delta_counts, spans_for_indices, CounterResetHint, Histogram, CUSTOM_BUCKETS_SCHEMA,
    EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN,
};

/// The zero threshold Prometheus gives OTLP exponential histograms that set none.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 1e-128;

/// The native histogram of a point, or why it has none.
pub fn to_native(point: &ExponentialHistogramDataPoint, delta: bool) -> Result<Histogram, String> {
    if point.flags & 1 == 1 {
        return Ok(Histogram::stale());
    }
    if point.scale < EXPONENTIAL_SCHEMA_MIN {
        return Err(format!("exponential histogram scale {} is below {EXPONENTIAL_SCHEMA_MIN}", point.scale));
    }
    let reduce_by = (point.scale - EXPONENTIAL_SCHEMA_MAX).max(0) as u32;
    let schema = point.scale.min(EXPONENTIAL_SCHEMA_MAX);
    let (positive_spans, positive_buckets) = buckets(point.positive.as_ref(), reduce_by)?;
    let (negative_spans, negative_buckets) = buckets(point.negative.as_ref(), reduce_by)?;
    Ok(Histogram {
        counter_reset_hint: if delta { CounterResetHint::Gauge } else { CounterResetHint::Unknown },
        schema,
        zero_threshold: if point.zero_threshold > 0.0 {
            point.zero_threshold
        } else {
            DEFAULT_ZERO_THRESHOLD
        },
        zero_count: point.zero_count,
        count: point.count,
        sum: point.sum.unwrap_or(0.0),
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: Vec::new(),
    })
}

/// An explicit-bucket point as a native histogram with custom buckets: the bounds become
/// the custom values, bucket `i` (up to bound `i`, the last to `+Inf`) native bucket `i`,
/// empty buckets left out. Reset hints and staleness as for exponential points.
pub fn explicit_to_native(point: &HistogramDataPoint, delta: bool) -> Result<Histogram, String> {
    if point.flags & 1 == 1 {
        return Ok(Histogram::stale());
    }
    if !point.bucket_counts.is_empty() && point.bucket_counts.len() != point.explicit_bounds.len() + 1 {
        let (b, n) = (point.explicit_bounds.len(), point.bucket_counts.len());
        return Err(format!("{b} bounds need {} bucket counts, not {n}", b + 1));
    }
    let used: Vec<(i64, u64)> = point
        .bucket_counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| (i as i64, *c))
        .collect();
    let indices: Vec<i64> = used.iter().map(|b| b.0).collect();
    let counts: Vec<i64> = used.iter().map(|b| i64::try_from(b.1).unwrap_or(i64::MAX)).collect();
    Ok(Histogram {
        counter_reset_hint: if delta { CounterResetHint::Gauge } else { CounterResetHint::Unknown },
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: point.count,
        sum: point.sum.unwrap_or(0.0),
        positive_spans: spans_for_indices(&indices),
        positive_buckets: delta_counts(&counts),
        custom_values: point.explicit_bounds.clone(),
        ..Default::default()
    })
}

/// Spans and delta-encoded counts of one side's non-empty buckets.
fn buckets(side: Option<&Buckets>, reduce_by: u32) -> Result<(Vec<strata_model::Span>, Vec<i64>), String> {
    let Some(side) = side else { return Ok((Vec::new(), Vec::new())) };
    let mut merged: Vec<(i64, u64)> = Vec::new();
    for (position, &count) in side.bucket_counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let otlp_index = i64::from(side.offset) + position as i64;
        // Fine bucket p = i + 1 falls in coarse bucket ceil(p / 2^d) = (i >> d) + 1.
        let index = (otlp_index >> reduce_by) + 1;
        match merged.last_mut() {
            Some((last, total)) if *last == index => *total = total.saturating_add(count),
            _ => merged.push((index, count)),
        }
    }
    if merged.iter().any(|(i, _)| i32::try_from(*i).is_err()) {
        return Err("exponential histogram bucket index exceeds 32 bits".into());
    }
    let indices: Vec<i64> = merged.iter().map(|b| b.0).collect();
    let counts: Vec<i64> = merged.iter().map(|b| i64::try_from(b.1).unwrap_or(i64::MAX)).collect();
    Ok((spans_for_indices(&indices), delta_counts(&counts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_model::histogram::{absolute_counts, bucket_indices};

    fn point(scale: i32, offset: i32, counts: Vec<u64>) -> ExponentialHistogramDataPoint {
        let total: u64 = counts.iter().sum();
        ExponentialHistogramDataPoint {
            scale,
            count: total + 2,
            zero_count: 2,
            sum: Some(12.5),
            positive: Some(Buckets { offset, bucket_counts: counts }),
            ..Default::default()
        }
    }

    fn layout(h: &Histogram) -> Vec<(i64, i64)> {
        bucket_indices(&h.positive_spans).zip(absolute_counts(&h.positive_buckets)).collect()
    }

    #[test]
    fn buckets_shift_by_one_and_empty_ones_are_left_out() {
        let h = to_native(&point(3, -2, vec![1, 0, 0, 4, 2]), false).unwrap();
        assert_eq!((h.schema, h.zero_threshold, h.count, h.zero_count), (3, DEFAULT_ZERO_THRESHOLD, 9, 2));
        assert_eq!(layout(&h), [(-1, 1), (2, 4), (3, 2)]);
        h.validate().unwrap();
    }

    #[test]
    fn fine_scales_merge_down_to_schema_8() {
        // Scale 10 → 8: four fine buckets per coarse one. OTLP indices -3..=4.
        let h = to_native(&point(10, -3, vec![1, 1, 1, 1, 1, 1, 1, 1]), false).unwrap();
        assert_eq!(h.schema, 8);
        // i >> 2 + 1: -3,-2,-1 → 0; 0..=3 → 1; 4 → 2.
        assert_eq!(layout(&h), [(0, 3), (1, 4), (2, 1)]);
        h.validate().unwrap();
        assert!(to_native(&point(-5, 0, vec![1]), false).unwrap_err().contains("below -4"));
    }

    #[test]
    fn explicit_buckets_become_custom_buckets() {
        let point = HistogramDataPoint {
            count: 5,
            sum: Some(3.5),
            explicit_bounds: vec![0.1, 0.5, 1.0],
            bucket_counts: vec![1, 0, 3, 1],
            ..Default::default()
        };
        let h = explicit_to_native(&point, false).unwrap();
        h.validate().unwrap();
        assert_eq!((h.schema, h.custom_values.clone()), (CUSTOM_BUCKETS_SCHEMA, vec![0.1, 0.5, 1.0]));
        assert_eq!(layout(&h), [(0, 1), (2, 3), (3, 1)], "bucket 3 is (1, +Inf]");
        let bad =
            HistogramDataPoint { bucket_counts: vec![1], explicit_bounds: vec![1.0], ..Default::default() };
        assert!(explicit_to_native(&bad, false).unwrap_err().contains("need 2 bucket counts"));
    }

    #[test]
    fn delta_points_are_gauges_and_no_value_is_stale() {
        assert_eq!(
            to_native(&point(0, 0, vec![1]), true).unwrap().counter_reset_hint,
            CounterResetHint::Gauge
        );
        let mut stale = point(0, 0, vec![1]);
        stale.flags = 1;
        assert!(to_native(&stale, false).unwrap().is_stale());
    }
}
