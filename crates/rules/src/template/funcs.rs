//! The functions a template can call: Go's builtins (`len`, `index`, `printf`, `eq`, …) and
//! Prometheus' (`query`, `humanize`, `reReplaceAll`, …), each with the output Go gives
//! (../shared/specs/alerting-notes.md, section 3.2).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use strata_model::gofmt::format_g_precision;

use super::printf::sprintf;
use super::value::{go_time, Value};

/// Runs a template's `query`.
pub type QueryFn<'a> = dyn Fn(&str) -> Result<Vec<QuerySample>, String> + 'a;

/// What Prometheus' functions read beyond their arguments.
#[allow(missing_debug_implementations)]
pub struct Env<'a> {
    /// Runs an instant query at the evaluation time (`query`); none: `query` fails.
    pub query: Option<&'a QueryFn<'a>>,
    /// The server's external URL (`externalURL`, `pathPrefix`, `graphLink`).
    pub external_url: &'a str,
    /// The evaluation time, seconds (`now`).
    pub now: f64,
}

/// One sample a template's `query` gives.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl QuerySample {
    /// As templates see it: a struct with `Labels` and `Value`.
    pub fn to_value(&self) -> Value {
        Value::Struct(vec![
            ("Labels".into(), Value::labels(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
            ("Value".into(), Value::Float(self.value)),
        ])
    }
}

/// Every function name a template may use.
pub const FUNCTIONS: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "html",
    "js",
    "urlquery",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "reReplaceAll",
    "match",
    "title",
    "toUpper",
    "toLower",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "now",
    "parseDuration",
    "urlQueryEscape",
    "graphLink",
    "tableLink",
    "externalURL",
    "pathPrefix",
    "safeHtml",
];

type Result<T, E = String> = std::result::Result<T, E>;

/// Calls function `name` (one of [`FUNCTIONS`]; `and`/`or` are run by the executor).
pub(crate) fn call(name: &str, args: Vec<Value>, env: &Env<'_>) -> Result<Value> {
    let s = |v: String| Ok(Value::String(v));
    match name {
        "not" => Ok(Value::Bool(!one(&args)?.truthy())),
        "len" => length(one(&args)?),
        "index" => index(&args),
        "slice" => slice(&args),
        "print" => s(go_sprint(&args)),
        "println" => s(args.iter().map(Value::to_go_string).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => match args.split_first() {
            Some((Value::String(format), rest)) => s(sprintf(format, rest)),
            _ => Err("printf needs a format string".into()),
        },
        "html" => s(html_escape(&go_sprint(&args))),
        "js" => s(js_escape(&go_sprint(&args))),
        "urlquery" | "urlQueryEscape" => s(query_escape(&go_sprint(&args))),
        "eq" => equal_any(&args).map(Value::Bool),
        "ne" => compare(two(&args)?).map(|o| Value::Bool(o != Some(Ordering::Equal))),
        "lt" => ordered(&args, |o| o == Ordering::Less),
        "le" => ordered(&args, |o| o != Ordering::Greater),
        "gt" => ordered(&args, |o| o == Ordering::Greater),
        "ge" => ordered(&args, |o| o != Ordering::Less),
        "query" => {
            let query = string(one(&args)?)?;
            let run = env.query.ok_or("query is not available here")?;
            Ok(Value::List(run(&query)?.iter().map(QuerySample::to_value).collect()))
        }
        "first" => match one(&args)? {
            Value::List(items) => {
                items.first().cloned().ok_or_else(|| "first() called on vector with no elements".into())
            }
            other => Err(format!("first() called on {}", other.type_name())),
        },
        "label" => {
            let (name, sample) = two(&args)?;
            sample_field(sample, "Labels").and_then(|labels| match labels {
                Value::Map { entries, .. } => {
                    Ok(entries.get(&string(name)?).cloned().unwrap_or(Value::String(String::new())))
                }
                _ => Ok(Value::String(String::new())),
            })
        }
        "value" => sample_field(one(&args)?, "Value"),
        "strvalue" => match sample_field(one(&args)?, "Labels")? {
            Value::Map { entries, .. } => {
                Ok(entries.get("__value__").cloned().unwrap_or(Value::String(String::new())))
            }
            _ => s(String::new()),
        },
        "sortByLabel" => sort_by_label(two(&args)?),
        "args" => Ok(Value::Map {
            entries: args.iter().enumerate().map(|(i, v)| (format!("arg{i}"), v.clone())).collect(),
            missing: Box::new(Value::Nil),
        }),
        "reReplaceAll" => {
            let [pattern, replacement, text] = three(&args)?;
            let re = regex::Regex::new(&string(pattern)?).map_err(|e| e.to_string())?;
            s(re.replace_all(&string(text)?, string(replacement)?.as_str()).into_owned())
        }
        "match" => {
            let (pattern, text) = two(&args)?;
            let re = regex::Regex::new(&string(pattern)?).map_err(|e| e.to_string())?;
            Ok(Value::Bool(re.is_match(&string(text)?)))
        }
        "title" => s(title(&string(one(&args)?)?)),
        "toUpper" => s(string(one(&args)?)?.to_uppercase()),
        "toLower" => s(string(one(&args)?)?.to_lowercase()),
        "stripPort" => s(strip_port(&string(one(&args)?)?)),
        "stripDomain" => s(strip_domain(&string(one(&args)?)?)),
        "humanize" => s(humanize(to_float(one(&args)?)?)),
        "humanize1024" => s(humanize_1024(to_float(one(&args)?)?)),
        "humanizeDuration" => s(humanize_duration(to_float(one(&args)?)?)),
        "humanizePercentage" => s(format!("{}%", format_g_precision(to_float(one(&args)?)? * 100.0, 4))),
        "humanizeTimestamp" => {
            let v = to_float(one(&args)?)?;
            if !v.is_finite() {
                return s(format_g_precision(v, 4));
            }
            s(go_time(v))
        }
        "toTime" => Ok(Value::Time(to_float(one(&args)?)?)),
        "toDuration" => Ok(Value::Duration(to_float(one(&args)?)?)),
        "now" => Ok(Value::Float(env.now)),
        "parseDuration" => {
            let text = string(one(&args)?)?;
            let ms = crate::duration::parse_duration_ms(&text)?;
            Ok(Value::Float(ms as f64 / 1000.0))
        }
        "graphLink" => s(format!("/graph?g0.expr={}&g0.tab=0", query_escape(&string(one(&args)?)?))),
        "tableLink" => s(format!("/graph?g0.expr={}&g0.tab=1", query_escape(&string(one(&args)?)?))),
        "externalURL" => s(env.external_url.to_string()),
        "pathPrefix" => s(path_of(env.external_url)),
        "safeHtml" => s(string(one(&args)?)?),
        _ => Err(format!("function {name:?} not defined")),
    }
}

fn one(args: &[Value]) -> Result<&Value> {
    match args {
        [v] => Ok(v),
        _ => Err(format!("wrong number of args: want 1 got {}", args.len())),
    }
}

fn two(args: &[Value]) -> Result<(&Value, &Value)> {
    match args {
        [a, b] => Ok((a, b)),
        _ => Err(format!("wrong number of args: want 2 got {}", args.len())),
    }
}

fn three(args: &[Value]) -> Result<[&Value; 3]> {
    match args {
        [a, b, c] => Ok([a, b, c]),
        _ => Err(format!("wrong number of args: want 3 got {}", args.len())),
    }
}

fn string(v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("wrong type for value; expected string; got {}", other.type_name())),
    }
}

/// Prometheus' `ConvertToFloat`: numbers, numeric strings and durations.
fn to_float(v: &Value) -> Result<f64> {
    match v {
        Value::Float(f) | Value::Duration(f) => Ok(*f),
        Value::Int(n) => Ok(*n as f64),
        Value::String(s) => crate::duration::parse_go_float(s),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn sample_field(v: &Value, field: &str) -> Result<Value> {
    match v {
        Value::Struct(fields) => fields
            .iter()
            .find(|(n, _)| n == field)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("no field {field}")),
        other => Err(format!("wrong type for value; expected sample; got {}", other.type_name())),
    }
}

fn length(v: &Value) -> Result<Value> {
    match v {
        Value::String(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Map { entries, .. } => Ok(Value::Int(entries.len() as i64)),
        other => Err(format!("len of type {}", other.type_name())),
    }
}

fn index(args: &[Value]) -> Result<Value> {
    let (first, keys) = args.split_first().ok_or("wrong number of args for index: want at least 1 got 0")?;
    let mut item = first.clone();
    for key in keys {
        item = match (&item, key) {
            (Value::Map { entries, missing }, Value::String(k)) => {
                entries.get(k).cloned().unwrap_or((**missing).clone())
            }
            (Value::List(l), Value::Int(i)) => l
                .get(usize::try_from(*i).map_err(|_| format!("index out of range: {i}"))?)
                .cloned()
                .ok_or(format!("index out of range: {i}"))?,
            (Value::Nil, _) => return Err("index of untyped nil".into()),
            (container, key) => {
                return Err(format!(
                    "can't index item of type {} with {}",
                    container.type_name(),
                    key.type_name()
                ))
            }
        };
    }
    Ok(item)
}

fn slice(args: &[Value]) -> Result<Value> {
    let (first, bounds) = args.split_first().ok_or("wrong number of args for slice")?;
    let bounds: Vec<usize> = bounds
        .iter()
        .map(|b| match b {
            Value::Int(i) if *i >= 0 => Ok(*i as usize),
            other => Err(format!("cannot index slice with {}", other.to_go_string())),
        })
        .collect::<Result<_>>()?;
    let (len, cut): (usize, Box<dyn Fn(usize, usize) -> Value>) = match first {
        Value::String(s) => {
            (s.len(), Box::new(move |a, b| Value::String(s.get(a..b).unwrap_or_default().to_string())))
        }
        Value::List(l) => (l.len(), Box::new(move |a, b| Value::List(l[a..b].to_vec()))),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let (a, b) = match bounds.as_slice() {
        [] => (0, len),
        [a] => (*a, len),
        [a, b, ..] => (*a, *b),
    };
    if a > b || b > len {
        return Err(format!("index out of range: {a}:{b}"));
    }
    Ok(cut(a, b))
}

/// `fmt.Sprint`: a space between two operands when neither is a string.
fn go_sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 && !matches!(arg, Value::String(_)) && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        out.push_str(&arg.to_go_string());
    }
    out
}

/// Go's ordering of two basic values of one kind; `None` when they are not ordered (NaN).
fn compare((a, b): (&Value, &Value)) -> Result<Option<Ordering>> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(Some(x.cmp(y))),
        (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(y)),
        (Value::String(x), Value::String(y)) => Ok(Some(x.cmp(y))),
        (Value::Bool(x), Value::Bool(y)) => Ok(Some(x.cmp(y))),
        (Value::Nil, Value::Nil) => Ok(Some(Ordering::Equal)),
        (Value::Time(x), Value::Time(y)) | (Value::Duration(x), Value::Duration(y)) => Ok(x.partial_cmp(y)),
        (Value::List(_) | Value::Map { .. } | Value::Struct(_), _)
        | (_, Value::List(_) | Value::Map { .. } | Value::Struct(_)) => {
            Err("invalid type for comparison".into())
        }
        _ => Err("incompatible types for comparison".into()),
    }
}

fn equal_any(args: &[Value]) -> Result<bool> {
    let (first, rest) = args.split_first().ok_or("missing argument for comparison")?;
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for other in rest {
        if compare((first, other))? == Some(Ordering::Equal) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn ordered(args: &[Value], test: fn(Ordering) -> bool) -> Result<Value> {
    let (a, b) = two(args)?;
    if matches!(a, Value::Bool(_)) {
        return Err("invalid type for comparison".into());
    }
    Ok(Value::Bool(compare((a, b))?.is_some_and(test)))
}

fn sort_by_label((label, list): (&Value, &Value)) -> Result<Value> {
    let label = string(label)?;
    let Value::List(items) = list else { return Err(format!("sortByLabel of {}", list.type_name())) };
    let key = |v: &Value| match sample_field(v, "Labels") {
        Ok(Value::Map { entries, .. }) => entries.get(&label).map(Value::to_go_string).unwrap_or_default(),
        _ => String::new(),
    };
    let mut sorted = items.clone();
    sorted.sort_by_key(key);
    Ok(Value::List(sorted))
}

/// `%.4g` of `v` scaled by 1000s with SI prefixes (`1.049M`, `123u`).
pub(crate) fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format_g_precision(v, 4);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", format_g_precision(v, 4))
}

/// `%.4g` of `v` scaled by 1024s with binary prefixes (`1Mi`).
pub(crate) fn humanize_1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return format_g_precision(v, 4);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g_precision(v, 4))
}

/// Seconds as `1d 2h 3m 4s` (leading zero units dropped), `%.4gs` under a minute, or with a
/// sub-second prefix (`135ms`).
pub(crate) fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return format_g_precision(v, 4);
    }
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let whole = v as i64;
        let (seconds, minutes, hours, days) =
            (whole % 60, whole / 60 % 60, whole / 3600 % 24, whole / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", format_g_precision(v, 4))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g_precision(v, 4))
}

/// `cases.Title` without lowering: the first letter of every word upper-cased.
fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !(c.is_alphanumeric() || c == '\'' || c == '’');
    }
    out
}

/// The host of `host:port` (`[::1]:80` gives `::1`); anything else unchanged.
fn strip_port(text: &str) -> String {
    split_host_port(text).map_or_else(|| text.to_string(), |(host, _)| host.to_string())
}

fn split_host_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = text.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

/// The first label of a host name, port kept; IP addresses unchanged.
fn strip_domain(text: &str) -> String {
    let (host, port) = match split_host_port(text) {
        Some((h, p)) => (h, Some(p)),
        None => (text, None),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return text.to_string();
    }
    let first = host.split('.').next().unwrap_or(host);
    match port {
        Some(p) => format!("{first}:{p}"),
        None => first.to_string(),
    }
}

/// Go's `url.QueryEscape`: spaces as `+`, unreserved bytes kept, the rest `%XX`.
pub fn query_escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn html_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.find('/').map_or(String::new(), |i| after_scheme[i..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizers_match_prometheus() {
        assert_eq!(humanize(1048576.0), "1.049M");
        assert_eq!(humanize(0.000123), "123u");
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize(1234.0), "1.234k");
        assert_eq!(humanize_1024(1048576.0), "1Mi");
        assert_eq!(humanize_1024(1.0), "1");
        assert_eq!(humanize_duration(135.3563), "2m 15s");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(12.34567), "12.35s");
        assert_eq!(humanize_duration(0.135), "135ms");
        assert_eq!(humanize_duration(0.0), "0s");
    }

    #[test]
    fn strings_and_hosts() {
        assert_eq!(title("this part is testing"), "This Part Is Testing");
        assert_eq!(strip_port("[::1]:9090"), "::1");
        assert_eq!(strip_port("127.0.0.1:9090"), "127.0.0.1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_domain("node.example.com:9100"), "node:9100");
        assert_eq!(strip_domain("10.0.0.1:9100"), "10.0.0.1:9100");
        assert_eq!(query_escape("rate(x[5m]) > 1"), "rate%28x%5B5m%5D%29+%3E+1");
        assert_eq!(
            go_sprint(&[Value::Int(1), Value::Int(2), Value::String("a".into()), Value::Int(3)]),
            "1 2a3"
        );
    }

    #[test]
    fn comparisons_refuse_mixed_kinds() {
        assert_eq!(
            ordered(&[Value::Float(2.0), Value::Float(1.0)], |o| o == Ordering::Greater),
            Ok(Value::Bool(true))
        );
        assert!(ordered(&[Value::Float(2.0), Value::Int(1)], |o| o == Ordering::Greater).is_err());
        assert_eq!(equal_any(&[Value::Int(1), Value::Int(2), Value::Int(1)]), Ok(true));
    }
}
