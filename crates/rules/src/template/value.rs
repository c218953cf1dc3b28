//! The values a template works with, and how Go's `fmt` prints each (`%v`).

use std::collections::BTreeMap;
use std::fmt::Write;

use strata_model::gofmt::format_g;

/// A value in a template: Go's dynamic types, reduced to those Prometheus' data and
/// functions produce.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Go's untyped nil (prints `<no value>`).
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
    /// A map; `missing` is what a lookup of an absent key gives: `""` for a label map
    /// (`map[string]string`), nil for `args`' `map[string]interface{}`.
    Map {
        entries: BTreeMap<String, Value>,
        missing: Box<Value>,
    },
    /// A struct's named fields (the template data, a query's sample).
    Struct(Vec<(String, Value)>),
    /// A point in time, seconds since the epoch (Go's `time.Time`, printed in UTC).
    Time(f64),
    /// A duration in seconds (Go's `time.Duration`).
    Duration(f64),
}

impl Value {
    /// A label map: absent labels read as `""`.
    pub fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
        Value::Map {
            entries: pairs.into_iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect(),
            missing: Box::new(Value::String(String::new())),
        }
    }

    /// Go's truth: false, 0, nil, and empty strings, lists and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Float(f) | Value::Time(f) | Value::Duration(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map { entries, .. } => !entries.is_empty(),
            Value::Struct(_) => true,
        }
    }

    /// The name Go would give its type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map { .. } => "map",
            Value::Struct(_) => "struct",
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
        }
    }

    /// The value as `fmt.Sprint` prints it.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, true);
        out
    }

    fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Value::Nil => out.push_str(if top { "<no value>" } else { "<nil>" }),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) => out.push_str(&format_g(*f)),
            Value::String(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.write_go(out, false);
                }
                out.push(']');
            }
            Value::Map { entries, .. } => {
                out.push_str("map[");
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Struct(fields) => {
                out.push('{');
                for (i, (_, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push('}');
            }
            Value::Time(seconds) => out.push_str(&go_time(*seconds)),
            Value::Duration(seconds) => out.push_str(&go_duration(*seconds)),
        }
    }
}

/// Go's `time.Time.String()` in UTC: `2022-01-25 12:36:43 +0000 UTC`, with the fraction of
/// a second when there is one (`12:36:43.5`).
pub(crate) fn go_time(seconds: f64) -> String {
    let nanos_total = (seconds * 1e9).round() as i128;
    let whole = nanos_total.div_euclid(1_000_000_000) as i64;
    let nanos = nanos_total.rem_euclid(1_000_000_000) as i64;
    let (year, month, day) = strata_model::calendar::civil_from_days(whole.div_euclid(86_400));
    let of_day = whole.rem_euclid(86_400);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Go's `time.Duration.String()`: `2m15s`, `1h0m0s`, `1.5s`, `300ms`, `0s`.
pub(crate) fn go_duration(seconds: f64) -> String {
    let nanos = (seconds * 1e9).round() as i128;
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (unit, scale) = if n < 1_000 {
            ("ns", 1u128)
        } else if n < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", fraction(n, scale));
    }
    let total_seconds = n / 1_000_000_000;
    let (hours, minutes) = (total_seconds / 3600, total_seconds / 60 % 60);
    let secs = fraction(n % 60_000_000_000, 1_000_000_000);
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{secs}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{secs}s")
    } else {
        format!("{sign}{secs}s")
    }
}

/// `n / scale` with its fraction, trailing zeros dropped.
fn fraction(n: u128, scale: u128) -> String {
    let whole = n / scale;
    let rest = n % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_go() {
        assert_eq!(Value::Float(1234567.0).to_go_string(), "1.234567e+06");
        assert_eq!(Value::Nil.to_go_string(), "<no value>");
        assert_eq!(Value::List(vec![Value::Int(1), Value::String("a".into())]).to_go_string(), "[1 a]");
        assert_eq!(Value::labels([("b", "2"), ("a", "1")]).to_go_string(), "map[a:1 b:2]");
        assert_eq!(go_time(1643114203.0), "2022-01-25 12:36:43 +0000 UTC");
        assert_eq!(go_time(1.5), "1970-01-01 00:00:01.5 +0000 UTC");
        assert_eq!(go_duration(135.0), "2m15s");
        assert_eq!(go_duration(3600.0), "1h0m0s");
        assert_eq!(go_duration(0.3), "300ms");
        assert_eq!(go_duration(-1.5), "-1.5s");
    }
}
