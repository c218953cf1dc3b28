//! Prometheus' JSON, byte for byte (../shared/specs/prom-http-api-notes.md): the envelope
//! `{"status":…,"data":…,"warnings":…,"infos":…}`, timestamps as JSON numbers of seconds with
//! a three-digit millisecond fraction when there is one (`1.500`, `2`), values as strings in
//! Go's shortest form with Go's exponent rules (`"1e-07"`, `"+Inf"`, `"NaN"`).
//!
//! Results are written by hand into one `String` rather than through serde: a range query
//! can return millions of points, and this keeps it to one pass with no intermediate tree.

use std::fmt::Write;

use strata_model::Labels;
use strata_promql::Value;

/// Appends `s` as a JSON string (quotes included), escaped as Go escapes it.
pub(crate) fn push_str(out: &mut String, s: &str) {
    strata_model::gojson::push_string(out, s);
}

/// Appends a millisecond timestamp as Prometheus writes it: seconds, `.` and three digits
/// when the milliseconds are not zero.
pub(crate) fn push_timestamp(out: &mut String, ms: i64) {
    if ms < 0 {
        out.push('-');
    }
    let abs = ms.unsigned_abs();
    let _ = write!(out, "{}", abs / 1000);
    if !abs.is_multiple_of(1000) {
        let _ = write!(out, ".{:03}", abs % 1000);
    }
}

/// A value as Prometheus' JSON writes it (without the quotes): Go's
/// `FormatFloat(v, 'f', -1, 64)`, or `'e'` below 1e-6 and from 1e21 on.
#[cfg(test)]
fn float_text(v: f64) -> String {
    let mut out = String::new();
    push_float(&mut out, v);
    out
}

/// Appends [`float_text`]'s form of `v`, written straight into `out` (a range query's
/// answer has a value per point: no string of its own for each).
pub(crate) fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v != 0.0 && !(1e-6..1e21).contains(&v.abs()) {
        // Rust writes `1.5e21` / `1e-7`; Go writes `1.5e+21` / `1e-07`.
        let rust = format!("{v:e}");
        let (mantissa, exponent) = rust.split_once('e').unwrap_or((&rust, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    } else if v == 0.0 && v.is_sign_negative() {
        out.push_str("-0");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Appends `[<ts>,"<value>"]`.
pub(crate) fn push_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    push_timestamp(out, t);
    out.push_str(",\"");
    push_float(out, v);
    out.push_str("\"]");
}

/// Appends a label set as a JSON object, names in order.
pub(crate) fn push_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, &l.name);
        out.push(':');
        push_str(out, &l.value);
    }
    out.push('}');
}

/// Appends `[…]` of JSON strings.
pub(crate) fn push_str_array<'a>(out: &mut String, items: impl IntoIterator<Item = &'a str>) {
    out.push('[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, s);
    }
    out.push(']');
}

/// The `data` of a query answer: `{"resultType":…,"result":…}`.
pub(crate) fn query_data(value: &Value) -> String {
    // About 24 bytes a point (`[1795547583.979,"0.25"],`) and 64 a series' labels.
    let size = match value {
        Value::Vector(v) => v.len() * 88,
        Value::Matrix(m) => m.iter().map(|s| 64 + 24 * s.points.len()).sum(),
        _ => 0,
    };
    let mut out = String::with_capacity(256 + size);
    out.push_str("{\"resultType\":\"");
    out.push_str(value.type_name());
    out.push_str("\",\"result\":");
    match value {
        Value::Scalar { t, v } => push_point(&mut out, *t, *v),
        Value::String { t, s } => {
            out.push('[');
            push_timestamp(&mut out, *t);
            out.push(',');
            push_str(&mut out, s);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(&mut out, &s.labels);
                match &s.h {
                    Some(h) => {
                        out.push_str(",\"histogram\":");
                        push_histogram_point(&mut out, s.t, h);
                    }
                    None => {
                        out.push_str(",\"value\":");
                        push_point(&mut out, s.t, s.v);
                    }
                }
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(&mut out, &s.labels);
                // As Prometheus: `values` unless the series has only histograms, then
                // `histograms` if it has any.
                if !s.points.is_empty() || s.histograms.is_empty() {
                    out.push_str(",\"values\":[");
                    for (j, (t, v)) in s.points.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        push_point(&mut out, *t, *v);
                    }
                    out.push(']');
                }
                if !s.histograms.is_empty() {
                    out.push_str(",\"histograms\":[");
                    for (j, (t, h)) in s.histograms.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        push_histogram_point(&mut out, *t, h);
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

/// `[t, {"count":…,"sum":…,"buckets":[[boundaries,"lower","upper","count"],…]}]`, as
/// Prometheus writes a native histogram (no `buckets` when all are empty).
fn push_histogram_point(out: &mut String, t: i64, h: &strata_model::histogram::FloatHistogram) {
    let quoted = |out: &mut String, v: f64| {
        out.push('"');
        push_float(out, v);
        out.push('"');
    };
    out.push('[');
    push_timestamp(out, t);
    out.push_str(",{\"count\":");
    quoted(out, h.count);
    out.push_str(",\"sum\":");
    quoted(out, h.sum);
    let buckets = strata_promql::native_histogram::api_buckets(h);
    if !buckets.is_empty() {
        out.push_str(",\"buckets\":[");
        for (i, (rule, lower, upper, count)) in buckets.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("[{rule},"));
            quoted(out, *lower);
            out.push(',');
            quoted(out, *upper);
            out.push(',');
            quoted(out, *count);
            out.push(']');
        }
        out.push(']');
    }
    out.push_str("}]");
}

/// `data.stats` of a query asked with `stats`: Prometheus' sample count and Strata's
/// rollup route (one entry per run of steps a source answered; `tier` is `raw` or the
/// tier's resolution).
pub(crate) fn query_stats(result: &strata_promql::QueryResult) -> String {
    let route: Vec<serde_json::Value> = result
        .route
        .iter()
        .map(|r| {
            serde_json::json!({
                "function": r.function,
                "tier": r.resolution.map_or("raw".to_string(), strata_rollup::format_duration),
                "exact": r.exact,
                "start": r.start as f64 / 1000.0,
                "end": r.end as f64 / 1000.0,
                "steps": r.steps,
                "points": r.points,
            })
        })
        .collect();
    serde_json::json!({
        "samples": {"totalQueryableSamples": result.samples_loaded},
        "rollups": route,
    })
    .to_string()
}

/// A success envelope around already-encoded `data`.
pub(crate) fn success(data: &str, warnings: &[String], infos: &[String]) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str("{\"status\":\"success\",\"data\":");
    out.push_str(data);
    push_annotations(&mut out, warnings, infos);
    out.push('}');
    out
}

fn push_annotations(out: &mut String, warnings: &[String], infos: &[String]) {
    if !warnings.is_empty() {
        out.push_str(",\"warnings\":");
        push_str_array(out, warnings.iter().map(String::as_str));
    }
    if !infos.is_empty() {
        out.push_str(",\"infos\":");
        push_str_array(out, infos.iter().map(String::as_str));
    }
}

/// An error envelope.
pub(crate) fn error(error_type: &str, message: &str) -> String {
    error_with(error_type, message, "")
}

/// An error envelope with more members, `extra` being their JSON text (`,"k":v` each).
pub(crate) fn error_with(error_type: &str, message: &str, extra: &str) -> String {
    let mut out = String::with_capacity(message.len() + extra.len() + 64);
    out.push_str("{\"status\":\"error\",\"errorType\":");
    push_str(&mut out, error_type);
    out.push_str(",\"error\":");
    push_str(&mut out, message);
    out.push_str(extra);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn timestamps_are_seconds_with_three_digit_milliseconds() {
        for (ms, text) in [(1500, "1.500"), (1005, "1.005"), (2000, "2"), (0, "0"), (-1500, "-1.500")] {
            let mut out = String::new();
            push_timestamp(&mut out, ms);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn floats_follow_go() {
        let cases = [
            (0.023, "0.023"),
            (1.0, "1"),
            (-0.0, "-0"),
            (1e-7, "1e-07"),
            (1.5e21, "1.5e+21"),
            (1e100, "1e+100"),
            (0.000001, "0.000001"),
            (123456789012345680000.0, "123456789012345680000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, text) in cases {
            assert_eq!(float_text(v), text, "{v}");
        }
    }

    #[test]
    fn strings_are_escaped_as_go_does() {
        let mut out = String::new();
        push_str(&mut out, "a\"b\\c\n<&>\u{1}");
        assert_eq!(out, r#""a\"b\\c\n\u003c\u0026\u003e\u0001""#);
    }

    proptest! {
        /// Every finite value reads back exactly, and the text is valid JSON in a string.
        #[test]
        fn floats_round_trip(v in proptest::num::f64::ANY) {
            let text = float_text(v);
            if v.is_nan() {
                prop_assert_eq!(text, "NaN");
            } else {
                let back: f64 = text.replace("+Inf", "inf").replace("-Inf", "-inf").parse().unwrap();
                prop_assert_eq!(back.to_bits(), v.to_bits());
            }
        }

        /// Encoded strings are JSON that decodes to the input.
        #[test]
        fn strings_round_trip(s in ".*") {
            let mut out = String::new();
            push_str(&mut out, &s);
            let back: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
