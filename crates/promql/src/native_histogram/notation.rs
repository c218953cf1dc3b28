//! The `{{…}}` notation of Prometheus' PromQL test scripts for a native histogram:
//!
//! `{{schema:0 count:4 sum:5 z_bucket:1 z_bucket_w:0.001 offset:1 buckets:[1 2 1] n_offset:0
//! n_buckets:[1] custom_values:[5 10] counter_reset_hint:gauge}}`
//!
//! Every field is optional (schema 0, everything else 0 or empty). `buckets` are absolute
//! counts of consecutive positive buckets from index `offset`, `n_buckets` likewise for the
//! negative side from `n_offset`; `z_bucket` is the zero bucket's count and `z_bucket_w` its
//! threshold; `counter_reset_hint` is `unknown`, `reset`, `not_reset` or `gauge`.

use strata_model::format_float;
use strata_model::histogram::{CounterResetHint, FloatHistogram, Span};

use super::buckets::side_map;

/// Parses one `{{…}}` histogram.
pub fn parse_histogram(text: &str) -> Result<FloatHistogram, String> {
    let bad = |why: String| format!("bad histogram {text:?}: {why}");
    let body = text
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .ok_or_else(|| bad("not enclosed in {{ }}".into()))?;
    let mut h = FloatHistogram::default();
    let (mut offset, mut n_offset) = (0i32, 0i32);
    let (mut positive, mut negative) = (Vec::new(), Vec::new());
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (key, after) =
            rest.split_once(':').ok_or_else(|| bad(format!("expected key:value at {rest:?}")))?;
        let after = after.trim_start();
        let (value, next) = if let Some(list) = after.strip_prefix('[') {
            let end = list.find(']').ok_or_else(|| bad("unclosed [".into()))?;
            (&list[..end], &list[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        let number = |v: &str| parse_number(v).ok_or_else(|| bad(format!("{key}: {v:?} is not a number")));
        let list = |v: &str| v.split_whitespace().map(number).collect::<Result<Vec<f64>, String>>();
        let integer = |v: &str| v.parse::<i32>().map_err(|_| bad(format!("{key}: {v:?} is not an integer")));
        match key.trim() {
            "schema" => h.schema = integer(value)?,
            "count" => h.count = number(value)?,
            "sum" => h.sum = number(value)?,
            "z_bucket" => h.zero_count = number(value)?,
            "z_bucket_w" => h.zero_threshold = number(value)?,
            "offset" => offset = integer(value)?,
            "n_offset" => n_offset = integer(value)?,
            "buckets" => positive = list(value)?,
            "n_buckets" => negative = list(value)?,
            "custom_values" => h.custom_values = list(value)?,
            "counter_reset_hint" => {
                h.counter_reset_hint = match value {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(bad(format!("unknown counter_reset_hint {other:?}"))),
                }
            }
            other => return Err(bad(format!("unknown key {other:?}"))),
        }
        rest = next.trim_start();
    }
    if !positive.is_empty() {
        h.positive_spans = vec![Span { offset, length: positive.len() as u32 }];
        h.positive_buckets = positive;
    }
    if !negative.is_empty() {
        h.negative_spans = vec![Span { offset: n_offset, length: negative.len() as u32 }];
        h.negative_buckets = negative;
    }
    Ok(h)
}

fn parse_number(v: &str) -> Option<f64> {
    match v {
        "Inf" | "+Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => v.parse().ok(),
    }
}

/// A histogram in the same notation (buckets from the lowest to the highest index in use,
/// gaps as zeros), for messages and the REPL.
pub fn format_histogram(h: &FloatHistogram) -> String {
    let mut parts = Vec::new();
    if h.schema != 0 {
        parts.push(format!("schema:{}", h.schema));
    }
    parts.push(format!("count:{}", format_float(h.count)));
    parts.push(format!("sum:{}", format_float(h.sum)));
    if h.zero_count != 0.0 {
        parts.push(format!("z_bucket:{}", format_float(h.zero_count)));
    }
    if h.zero_threshold != 0.0 {
        parts.push(format!("z_bucket_w:{}", format_float(h.zero_threshold)));
    }
    for (spans, counts, offset_key, key) in [
        (&h.positive_spans, &h.positive_buckets, "offset", "buckets"),
        (&h.negative_spans, &h.negative_buckets, "n_offset", "n_buckets"),
    ] {
        let map = side_map(spans, counts);
        let (Some((&lo, _)), Some((&hi, _))) = (map.first_key_value(), map.last_key_value()) else {
            continue;
        };
        if lo != 0 {
            parts.push(format!("{offset_key}:{lo}"));
        }
        let values: Vec<String> =
            (lo..=hi).map(|i| format_float(map.get(&i).copied().unwrap_or(0.0))).collect();
        parts.push(format!("{key}:[{}]", values.join(" ")));
    }
    if !h.custom_values.is_empty() {
        let values: Vec<String> = h.custom_values.iter().map(|v| format_float(*v)).collect();
        parts.push(format!("custom_values:[{}]", values.join(" ")));
    }
    match h.counter_reset_hint {
        CounterResetHint::Unknown => {}
        CounterResetHint::CounterReset => parts.push("counter_reset_hint:reset".into()),
        CounterResetHint::NotCounterReset => parts.push("counter_reset_hint:not_reset".into()),
        CounterResetHint::Gauge => parts.push("counter_reset_hint:gauge".into()),
    }
    format!("{{{{{}}}}}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_field_is_read() {
        let h = parse_histogram(
            "{{schema:1 count:12 sum:18.4 z_bucket:2 z_bucket_w:0.001 offset:-1 buckets:[1 2 0 1 1] n_buckets:[1] custom_values:[5 10] counter_reset_hint:gauge}}",
        )
        .unwrap();
        assert_eq!((h.schema, h.count, h.sum, h.zero_count, h.zero_threshold), (1, 12.0, 18.4, 2.0, 0.001));
        assert_eq!(h.positive_spans, vec![Span { offset: -1, length: 5 }]);
        assert_eq!(h.negative_buckets, vec![1.0]);
        assert_eq!(h.custom_values, vec![5.0, 10.0]);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
        assert_eq!(parse_histogram("{{}}").unwrap(), FloatHistogram::default());
        assert!(parse_histogram("{{sum:NaN count:Inf}}").unwrap().sum.is_nan());
        assert!(parse_histogram("{{bogus:1}}").unwrap_err().contains("unknown key"));
        assert!(parse_histogram("{{buckets:[1 2}}").is_err());
    }

    proptest! {
        #[test]
        fn formatting_reads_back(
            schema in -4i32..=8,
            count in 0u32..1000,
            offset in -20i32..20,
            buckets in proptest::collection::vec(1u32..100, 0..6),
        ) {
            let text = format!(
                "{{{{schema:{schema} count:{count} sum:{} offset:{offset} buckets:[{}]}}}}",
                f64::from(count) * 0.5,
                buckets.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
            );
            let h = parse_histogram(&text).unwrap();
            prop_assert_eq!(parse_histogram(&format_histogram(&h)).unwrap(), h);
        }
    }
}
