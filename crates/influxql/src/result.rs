//! The answers of `/query` in InfluxDB 1.x's JSON, byte for byte: key order, omitted empty
//! parts, numbers as Go's `encoding/json` writes a float64 (`5`, `2.138089935299395`,
//! `1e+21`, `1e-7`), times per the `epoch` parameter.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::time::{format_rfc3339, format_rfc3339_at, Epoch};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Float(f64),
    Integer(i64),
    Str(String),
    /// A list of strings (SHOW SUBSCRIPTIONS' destinations).
    Strings(Vec<String>),
    Bool(bool),
    /// A time in ns, written per the epoch.
    Time(i64),
    /// A time in ns in a zone this many seconds east of UTC (`tz()`): an RFC 3339 string
    /// carries the zone's offset; an epoch integer is the same as for `Time`.
    ZonedTime(i64, i64),
}

impl Value {
    /// The number it holds, if any.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// One series of a result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Empty: left out (SHOW SERIES, SHOW RETENTION POLICIES).
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub columns: Vec<String>,
    pub values: Vec<Vec<Value>>,
    /// A chunked answer cut this series here; the next chunk goes on with it.
    pub partial: bool,
}

/// The result of one statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatementResult {
    pub statement_id: usize,
    pub series: Vec<Series>,
    pub messages: Vec<(String, String)>,
    /// A chunked answer has more of this statement in the next chunk.
    pub partial: bool,
    pub error: Option<String>,
}

impl StatementResult {
    pub fn error(statement_id: usize, message: impl Into<String>) -> StatementResult {
        StatementResult { statement_id, error: Some(message.into()), ..StatementResult::default() }
    }
}

/// `{"results":[…]}`.
pub fn write_results(results: &[StatementResult], epoch: Epoch) -> String {
    let mut out = String::from("{\"results\":[");
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_result(&mut out, r, epoch);
    }
    out.push_str("]}");
    out
}

/// One result object (also one line of a chunked answer).
pub fn write_result(out: &mut String, r: &StatementResult, epoch: Epoch) {
    let _ = write!(out, "{{\"statement_id\":{}", r.statement_id);
    if !r.series.is_empty() {
        out.push_str(",\"series\":[");
        for (i, s) in r.series.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_series(out, s, epoch);
        }
        out.push(']');
    }
    if !r.messages.is_empty() {
        out.push_str(",\"messages\":[");
        for (i, (level, text)) in r.messages.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"level\":");
            json_string(out, level);
            out.push_str(",\"text\":");
            json_string(out, text);
            out.push('}');
        }
        out.push(']');
    }
    if r.partial {
        out.push_str(",\"partial\":true");
    }
    if let Some(e) = &r.error {
        out.push_str(",\"error\":");
        json_string(out, e);
    }
    out.push('}');
}

fn write_series(out: &mut String, s: &Series, epoch: Epoch) {
    out.push('{');
    let mut first = true;
    let mut key = |out: &mut String, k: &str| {
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "\"{k}\":");
    };
    if !s.name.is_empty() {
        key(out, "name");
        json_string(out, &s.name);
    }
    if !s.tags.is_empty() {
        key(out, "tags");
        out.push('{');
        for (i, (k, v)) in s.tags.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(out, k);
            out.push(':');
            json_string(out, v);
        }
        out.push('}');
    }
    key(out, "columns");
    out.push('[');
    for (i, c) in s.columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, c);
    }
    out.push(']');
    if !s.values.is_empty() {
        key(out, "values");
        out.push('[');
        for (i, row) in s.values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_value(out, v, epoch);
            }
            out.push(']');
        }
        out.push(']');
    }
    if s.partial {
        key(out, "partial");
        out.push_str("true");
    }
    out.push('}');
}

fn write_value(out: &mut String, v: &Value, epoch: Epoch) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Float(f) => out.push_str(&json_float(*f)),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Str(s) => json_string(out, s),
        Value::Strings(list) => {
            out.push('[');
            for (i, s) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, s);
            }
            out.push(']');
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Time(ns) => match epoch {
            Epoch::Rfc3339 => json_string(out, &format_rfc3339(*ns)),
            Epoch::Unit(per) => {
                let _ = write!(out, "{}", ns / per);
            }
        },
        Value::ZonedTime(ns, offset_s) => match epoch {
            Epoch::Rfc3339 => json_string(out, &format_rfc3339_at(*ns, *offset_s)),
            Epoch::Unit(per) => {
                let _ = write!(out, "{}", ns / per);
            }
        },
    }
}

/// A float64 as Go's `encoding/json`: decimal from 1e-6 up to 1e21, exponent form outside
/// (`1e+21`, `1e-7`), the shortest digits that read back exactly. NaN and infinities,
/// which JSON cannot hold, are `null`.
pub fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let scientific = format!("{f:e}");
        if let Some((mantissa, exponent)) = scientific.split_once('e') {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            return format!("{mantissa}e{sign}{}", exponent.unsigned_abs());
        }
    }
    f.to_string()
}

/// A JSON string literal, escaped as Go's `encoding/json` escapes it.
pub fn json_string(out: &mut String, s: &str) {
    strata_model::gojson::push_string(out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_json() {
        assert_eq!(json_float(5.0), "5");
        assert_eq!(json_float(2.138089935299395), "2.138089935299395");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1e20), "100000000000000000000");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(0.000001), "0.000001");
        assert_eq!(json_float(-0.0), "-0");
        assert_eq!(json_float(f64::NAN), "null");
    }

    #[test]
    fn shapes() {
        let r = StatementResult {
            statement_id: 0,
            series: vec![Series {
                name: "cpu".into(),
                tags: BTreeMap::from([("host".to_string(), "a".to_string())]),
                columns: vec!["time".into(), "mean".into()],
                values: vec![vec![Value::Time(946_684_800_000_000_000), Value::Float(1.5)]],
                partial: false,
            }],
            ..StatementResult::default()
        };
        assert_eq!(
            write_results(std::slice::from_ref(&r), Epoch::Rfc3339),
            r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","mean"],"values":[["2000-01-01T00:00:00Z",1.5]]}]}]}"#
        );
        assert_eq!(
            write_results(&[r], Epoch::Unit(1_000_000)),
            r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","mean"],"values":[[946684800000,1.5]]}]}]}"#
        );
        assert_eq!(
            write_results(&[StatementResult::error(1, "database not found: x")], Epoch::Rfc3339),
            r#"{"results":[{"statement_id":1,"error":"database not found: x"}]}"#
        );
    }
}
