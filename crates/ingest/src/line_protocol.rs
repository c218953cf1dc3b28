//! InfluxDB line protocol, a point per line:
//!
//! ```text
//! cpu,host=server\ 1,region=us-east usage_idle=98.5,usage_user=1.2i 1712345678000000000
//! ```
//!
//! - measurement, then `,tag=value` pairs, a space, `field=value` pairs separated by commas,
//!   and optionally a space and an integer timestamp in the given precision;
//! - a backslash escapes `,` and space in the measurement, and `,`, `=` and space in tag keys,
//!   tag values and field keys (any other backslash is kept as it is); string field values
//!   are double-quoted with `\"` and `\\` escapes;
//! - field values: floats (`1`, `-1.5e3`), integers (`12i`), unsigned (`12u`), booleans
//!   (`t`, `true`, `T`, `True`, `TRUE` and the same for false).
//!
//! Mapping to series (ARCHITECTURE.md, decision 2): measurement `m` and field `f` make the
//! metric `m_f`, except a field named `value`, which makes `m`; tags are the labels; integers
//! and booleans become floats; timestamps become milliseconds (sub-millisecond parts are
//! dropped). String fields cannot be stored: they are counted and left out, not an error.

use strata_model::{Labels, METRIC_NAME_LABEL};

use crate::{ParseError, ParsedSample};

/// The unit of line protocol timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Nanoseconds (InfluxDB's default).
    Nanoseconds,
    /// Microseconds.
    Microseconds,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
}

impl Precision {
    /// `ns`, `us`, `ms` or `s` (as InfluxDB's `precision` parameter; `n`, `u` too).
    pub fn parse(text: &str) -> Option<Precision> {
        Some(match text {
            "ns" | "n" => Precision::Nanoseconds,
            "us" | "u" | "µs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            _ => return None,
        })
    }

    fn to_ms(self, t: i64) -> Option<i64> {
        match self {
            Precision::Nanoseconds => Some(t.div_euclid(1_000_000)),
            Precision::Microseconds => Some(t.div_euclid(1_000)),
            Precision::Milliseconds => Some(t),
            Precision::Seconds => t.checked_mul(1000),
        }
    }
}

/// The samples of one line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Point {
    /// One per numeric or boolean field.
    pub samples: Vec<ParsedSample>,
    /// String fields left out.
    pub string_fields: usize,
}

/// Splits `text` at unescaped `separators`; returns the pieces with their byte offsets.
fn split_unescaped<'a>(text: &'a str, separators: &[u8], base: usize) -> Vec<(usize, &'a str)> {
    let bytes = text.as_bytes();
    let (mut out, mut start, mut i, mut quoted) = (Vec::new(), 0, 0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => quoted = !quoted,
            b if !quoted && separators.contains(&b) => {
                out.push((base + start, &text[start..i]));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push((base + start, &text[start.min(text.len())..]));
    out
}

/// Removes the backslash before any of `escaped`.
fn unescape(text: &str, escaped: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|n| escaped.contains(n)) {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses one line; an empty `Point` for blank and `#` lines.
pub fn parse_line(line: &str, line_no: usize, precision: Precision) -> Result<Point, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let indent = line.len() - line.trim_start().len();
    let body = line.trim_start();
    if body.is_empty() || body.starts_with('#') {
        return Ok(Point::default());
    }
    let err = |at: usize, message: String| ParseError::new(line_no, at, message);
    let sections = split_unescaped(body, b" ", indent);
    let sections: Vec<(usize, &str)> = sections.into_iter().filter(|(_, s)| !s.is_empty()).collect();
    let (series, fields, timestamp) = match sections.as_slice() {
        [series, fields] => (*series, *fields, None),
        [series, fields, t] => (*series, *fields, Some(*t)),
        [_] => return Err(err(indent + body.len(), "expected fields after the measurement and tags".into())),
        _ => return Err(err(sections[3].0, "unexpected text after the timestamp".into())),
    };

    let mut parts = split_unescaped(series.1, b",", series.0).into_iter();
    let (m_at, measurement) = parts.next().unwrap_or((series.0, ""));
    let measurement = unescape(measurement, &[',', ' ']);
    if measurement.is_empty() {
        return Err(err(m_at, "empty measurement".into()));
    }
    let mut tags = Vec::new();
    for (at, tag) in parts {
        let kv = split_unescaped(tag, b"=", at);
        let [(_, k), (v_at, v)] = kv.as_slice() else {
            return Err(err(at, format!("tag {tag:?} is not key=value")));
        };
        if k.is_empty() {
            return Err(err(at, "empty tag key".into()));
        }
        if v.is_empty() {
            return Err(err(*v_at, format!("tag {k:?} has an empty value")));
        }
        tags.push((unescape(k, &[',', '=', ' ']), unescape(v, &[',', '=', ' '])));
    }

    let t = match timestamp {
        None => None,
        Some((at, text)) => {
            let raw: i64 =
                text.parse().map_err(|_| err(at, format!("timestamp {text:?} is not an integer")))?;
            Some(precision.to_ms(raw).ok_or_else(|| err(at, format!("timestamp {text} overflows")))?)
        }
    };

    let mut point = Point::default();
    for (at, field) in split_unescaped(fields.1, b",", fields.0) {
        let kv = split_unescaped(field, b"=", at);
        let [(_, key), (v_at, value)] = kv.as_slice() else {
            return Err(err(at, format!("field {field:?} is not key=value")));
        };
        if key.is_empty() {
            return Err(err(at, "empty field key".into()));
        }
        let Some(value) = field_value(value).map_err(|m| err(*v_at, m))? else {
            point.string_fields += 1;
            continue;
        };
        let key = unescape(key, &[',', '=', ' ']);
        let name = if key == "value" { measurement.clone() } else { format!("{measurement}_{key}") };
        let pairs = std::iter::once((METRIC_NAME_LABEL.to_string(), name)).chain(tags.iter().cloned());
        let labels = Labels::from_pairs(pairs).map_err(|e| err(series.0, e.to_string()))?;
        point.samples.push(ParsedSample { labels, value, timestamp: t });
    }
    Ok(point)
}

/// A field's value as a float; `None` for a string field.
fn field_value(text: &str) -> Result<Option<f64>, String> {
    if text.starts_with('"') {
        return if text.len() >= 2 && text.ends_with('"') && !text.ends_with("\\\"") || text == "\"\"" {
            Ok(None)
        } else {
            Err(format!("string field {text:?} has no closing '\"'"))
        };
    }
    let number = |digits: &str| -> Result<f64, String> {
        digits.parse::<i128>().map(|n| n as f64).map_err(|_| format!("{text:?} is not a valid integer field"))
    };
    match text {
        "t" | "T" | "true" | "True" | "TRUE" => Ok(Some(1.0)),
        "f" | "F" | "false" | "False" | "FALSE" => Ok(Some(0.0)),
        _ if text.ends_with('i') => number(&text[..text.len() - 1]).map(Some),
        _ if text.ends_with('u') && !text.starts_with('-') => number(&text[..text.len() - 1]).map(Some),
        _ => {
            let finite =
                text.parse::<f64>().ok().filter(|v| v.is_finite() && !text.contains(['n', 'N', 'i', 'I']));
            finite.map(Some).ok_or_else(|| format!("field value {text:?} is not a number, boolean or string"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point(line: &str) -> Point {
        parse_line(line, 1, Precision::Nanoseconds).unwrap()
    }

    #[test]
    fn fields_become_series_named_after_measurement_and_field() {
        let p = point(
            r#"cpu,host=server\ 1,region=us\,east usage_idle=98.5,value=3i,up=t,msg="x y" 1712345678123456789"#,
        );
        assert_eq!(p.string_fields, 1);
        let names: Vec<_> = p.samples.iter().map(|s| s.labels.metric_name().unwrap().to_string()).collect();
        assert_eq!(names, ["cpu_usage_idle", "cpu", "cpu_up"]);
        let values: Vec<f64> = p.samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [98.5, 3.0, 1.0]);
        assert!(p.samples.iter().all(|s| s.timestamp == Some(1_712_345_678_123)));
        assert_eq!(p.samples[0].labels.get("host"), Some("server 1"));
        assert_eq!(p.samples[0].labels.get("region"), Some("us,east"));
        assert_eq!(point("m v=1").samples[0].timestamp, None);
        assert_eq!(point("# comment").samples.len(), 0);
        let ms = parse_line("m v=1 1500", 1, Precision::Seconds).unwrap();
        assert_eq!(ms.samples[0].timestamp, Some(1_500_000));
    }

    #[test]
    fn the_dataset_line_shape_reads() {
        let p = point("go_gc_duration_seconds,instance=127.0.0.1:8086,job=influxdb,quantile=0.25 value=0.0 1795547583979000000");
        let s = &p.samples[0];
        assert_eq!(
            s.labels.to_string(),
            r#"go_gc_duration_seconds{instance="127.0.0.1:8086",job="influxdb",quantile="0.25"}"#
        );
        assert_eq!((s.value, s.timestamp), (0.0, Some(1_795_547_583_979)));
    }

    #[test]
    fn bad_lines_name_the_line_and_column() {
        let cases = [
            ("cpu", 4, "expected fields"),
            ("cpu,host usage=1", 5, "key=value"),
            ("cpu,host= usage=1", 10, "empty value"),
            ("cpu usage=abc", 11, "not a number"),
            ("cpu usage=1 12x", 13, "not an integer"),
            ("cpu usage=1 12 13", 16, "unexpected"),
            (",t=1 v=1", 1, "empty measurement"),
            ("cpu usage=NaN", 11, "not a number"),
            ("cpu v=\"open", 7, "closing"),
            ("cpu usage=1.5i", 11, "integer"),
        ];
        for (line, column, want) in cases {
            let e = parse_line(line, 9, Precision::Nanoseconds).unwrap_err();
            assert_eq!((e.line, e.column), (9, column), "{line}: {e}");
            assert!(e.message.contains(want), "{line}: {e}");
        }
    }

    proptest! {
        #[test]
        fn written_points_read_back(
            measurement in "[a-z][a-z0-9 ,._-]{0,8}",
            tags in prop::collection::btree_map("[a-z][a-z0-9 ,=]{0,5}", "[a-zA-Z0-9 ,=.]{1,6}", 0..4),
            value in -1e15f64..1e15,
            t in any::<i64>(),
        ) {
            let esc = |s: &str, chars: &[char]| {
                let mut out = String::new();
                for c in s.chars() {
                    if chars.contains(&c) { out.push('\\'); }
                    out.push(c);
                }
                out
            };
            prop_assume!(!tags.contains_key("__name__"));
            let tag_text: String = tags.iter().map(|(k, v)| format!(",{}={}", esc(k, &[',', '=', ' ']), esc(v, &[',', '=', ' ']))).collect();
            let line = format!("{}{tag_text} value={value:?} {t}", esc(&measurement, &[',', ' ']));
            let p = parse_line(&line, 1, Precision::Nanoseconds).unwrap();
            prop_assert_eq!(p.samples.len(), 1);
            let s = &p.samples[0];
            prop_assert_eq!(s.labels.metric_name(), Some(measurement.as_str()));
            for (k, v) in &tags {
                prop_assert_eq!(s.labels.get(k), Some(v.as_str()));
            }
            prop_assert_eq!(s.value.to_bits(), value.to_bits());
            prop_assert_eq!(s.timestamp, Some(t.div_euclid(1_000_000)));
        }

        #[test]
        fn arbitrary_lines_never_panic(line in "\\PC{0,60}") {
            let _ = parse_line(&line, 1, Precision::Nanoseconds);
        }
    }
}
