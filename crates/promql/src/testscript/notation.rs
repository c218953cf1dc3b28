//! The small languages inside a script line: durations (`1m30s`, `10s53ms`, `0`), series
//! descriptions (`name{label="v"}`, `{__name__="n"}`, `{"dotted.name", l="v"}`, `{}`) and
//! value items (`1.5`, `_`, `_xN`, `stale`, `a+bxN`, `a-bxN`, `axN`, `{{…}}` histograms and
//! their `xN` / `+{{…}}xN` / `-{{…}}xN` forms, parsed by `native_histogram::notation`).

use strata_model::histogram::FloatHistogram;
use strata_model::{Labels, STALE_NAN_BITS};

use crate::native_histogram::{arith, parse_histogram};

/// One step of a series in a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// No sample at this step.
    Empty,
    /// A float sample (a staleness marker is the stale NaN).
    Float(f64),
    /// A native histogram.
    Histogram(FloatHistogram),
}

/// Parses a Prometheus duration (`1h30m`, `500ms`, `0`, optionally negative) into ms.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if body == "0" {
        return Ok(0);
    }
    if body.is_empty() {
        return Err(format!("empty duration {text:?}"));
    }
    let units: [(&str, i64); 7] = [
        ("ms", 1),
        ("s", 1000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
        ("w", 604_800_000),
        ("y", 31_536_000_000),
    ];
    let (mut total, mut rest) = (0i64, body);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("bad duration {text:?}"));
        }
        let n: i64 = rest[..digits].parse().map_err(|_| format!("bad duration {text:?}"))?;
        rest = &rest[digits..];
        let (unit, ms) = units
            .iter()
            .filter(|(u, _)| rest.starts_with(u))
            .max_by_key(|(u, _)| u.len())
            .ok_or_else(|| format!("bad unit in duration {text:?}"))?;
        rest = &rest[unit.len()..];
        total = n
            .checked_mul(*ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration {text:?} overflows"))?;
    }
    Ok(if negative { -total } else { total })
}

/// One item of a start-timestamp line (`name{…}@st …`): each sample's start time as an offset
/// from the sample's own time — `_` (unknown), `-30s`, `+1m`, `-1mx15` (16 times), or
/// `-30s-1mx2` (−30 s, −90 s, −150 s: the same start as the samples step on).
pub fn expand_start_time_item(item: &str) -> Result<Vec<Option<i64>>, String> {
    let bad = |e: String| format!("bad start-time item {item:?}: {e}");
    if item == "_" {
        return Ok(vec![None]);
    }
    if let Some(n) = item.strip_prefix("_x") {
        return Ok(vec![None; n.parse::<usize>().map_err(|e| bad(e.to_string()))? + 1]);
    }
    let (body, times) = match item.split_once('x') {
        Some((body, n)) => (body, n.parse::<i64>().map_err(|e| bad(e.to_string()))?),
        None => (item, 0),
    };
    // The increment's sign is the first `+`/`-` after the start's own sign.
    let split = body.char_indices().skip(1).find(|&(_, c)| c == '+' || c == '-').map(|(i, _)| i);
    let (start, step) = match split {
        Some(i) => (&body[..i], signed_duration(&body[i..]).map_err(bad)?),
        None => (body, 0),
    };
    let start = signed_duration(start).map_err(bad)?;
    Ok((0..=times).map(|i| Some(start + i * step)).collect())
}

fn signed_duration(text: &str) -> Result<i64, String> {
    parse_duration(text.strip_prefix('+').unwrap_or(text))
}

/// A float as the scripts write it (`Inf`, `+Inf`, `-Inf`, `NaN`, decimals, exponents).
pub fn parse_float(text: &str) -> Option<f64> {
    match text {
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ if text.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') => None,
        _ => text.parse().ok(),
    }
}

/// Splits a line's value part into items, keeping `{{…}}` (which contain spaces) whole.
pub fn split_items(text: &str) -> Result<Vec<&str>, String> {
    let bytes = text.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            if bytes[i..].starts_with(b"{{") {
                let close =
                    text[i..].find("}}").ok_or_else(|| format!("histogram without '}}}}' in {text:?}"))?;
                i += close + 2;
            } else {
                i += 1;
            }
        }
        out.push(&text[start..i]);
    }
    Ok(out)
}

/// Expands one item into the steps it stands for.
pub fn expand_item(item: &str) -> Result<Vec<Item>, String> {
    let bad = || format!("bad value item {item:?}");
    if item == "_" {
        return Ok(vec![Item::Empty]);
    }
    if item == "stale" {
        return Ok(vec![Item::Float(f64::from_bits(STALE_NAN_BITS))]);
    }
    if let Some(n) = item.strip_prefix("_x") {
        return Ok(vec![Item::Empty; n.parse().map_err(|_| bad())?]);
    }
    if item.starts_with("{{") {
        return expand_histogram(item);
    }
    if let Some(v) = parse_float(item) {
        return Ok(vec![Item::Float(v)]);
    }
    // `a+bxN`, `a-bxN`, `axN`: N+1 values, each the previous one plus b.
    let (head, times) = item.rsplit_once('x').ok_or_else(bad)?;
    let times: usize = times.parse().map_err(|_| bad())?;
    let split = head
        .bytes()
        .enumerate()
        .skip(1)
        .find(|&(i, b)| (b == b'+' || b == b'-') && !matches!(head.as_bytes()[i - 1], b'e' | b'E'));
    let (start, step) = match split {
        Some((i, sign)) => {
            let step = parse_float(&head[i + 1..]).ok_or_else(bad)?;
            (parse_float(&head[..i]).ok_or_else(bad)?, if sign == b'-' { -step } else { step })
        }
        None => (parse_float(head).ok_or_else(bad)?, 0.0),
    };
    let mut values = Vec::with_capacity(times + 1);
    let mut v = start;
    for _ in 0..=times {
        values.push(Item::Float(v));
        v += step;
    }
    Ok(values)
}

fn expand_histogram(item: &str) -> Result<Vec<Item>, String> {
    let bad = || format!("bad histogram item {item:?}");
    let close = item.find("}}").ok_or_else(bad)? + 2;
    let first = parse_histogram(&item[..close])?;
    let rest = &item[close..];
    if rest.is_empty() {
        return Ok(vec![Item::Histogram(first)]);
    }
    let times = |n: &str| n.parse::<usize>().map_err(|_| bad());
    if let Some(n) = rest.strip_prefix('x') {
        return Ok(vec![Item::Histogram(first); times(n)? + 1]);
    }
    // `{{a}}+{{d}}xN` and `{{a}}-{{d}}xN`: a, a±d, …, a±N·d.
    let (sign, increment) = match rest.as_bytes().first() {
        Some(b'+') => (1.0, &rest[1..]),
        Some(b'-') => (-1.0, &rest[1..]),
        _ => return Err(bad()),
    };
    let (step, n) = increment.rsplit_once("}}x").ok_or_else(bad)?;
    let step = arith::scale(&parse_histogram(&format!("{step}}}}}"))?, sign);
    let mut out = Vec::with_capacity(times(n)? + 1);
    let mut current = first;
    for _ in 0..=times(n)? {
        let next = arith::add(&current, &step).map_err(|e| format!("{}: {e:?}", bad()))?;
        out.push(Item::Histogram(std::mem::replace(&mut current, next)));
    }
    Ok(out)
}

/// Parses a series description at the start of `text`; returns it and the rest of the line.
pub fn parse_series(text: &str) -> Result<(Labels, &str), String> {
    let text = text.trim_start();
    let name_len = text.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b':').count();
    let mut pairs: Vec<(String, String)> = Vec::new();
    if name_len > 0 {
        pairs.push(("__name__".into(), text[..name_len].to_string()));
    }
    let mut rest = &text[name_len..];
    if let Some(body) = rest.strip_prefix('{') {
        rest = body;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (name, after) = if rest.starts_with('"') {
                let (quoted, after) = quoted_string(rest)?;
                let after = after.trim_start();
                // `{"dotted.name", …}`: a quoted string alone is the metric name.
                if after.starts_with(',') || after.starts_with('}') {
                    pairs.push(("__name__".into(), quoted));
                    rest = after.strip_prefix(',').unwrap_or(after);
                    continue;
                }
                (quoted, after)
            } else {
                let n = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
                if n == 0 {
                    return Err(format!("expected a label name in {text:?}"));
                }
                (rest[..n].to_string(), &rest[n..])
            };
            let after =
                after.trim_start().strip_prefix('=').ok_or_else(|| format!("expected '=' in {text:?}"))?;
            let (value, after) = quoted_string(after.trim_start())?;
            pairs.push((name, value));
            rest = after.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    } else if name_len == 0 {
        return Err(format!("expected a series description in {text:?}"));
    }
    let labels = Labels::from_pairs(pairs).map_err(|e| format!("{e} in {text:?}"))?;
    Ok((labels, rest))
}

/// A double-quoted (or back-quoted) string with Go escapes; returns it and the rest.
pub fn quoted_string(text: &str) -> Result<(String, &str), String> {
    let quote = text
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '`')
        .ok_or_else(|| format!("expected a quoted string in {text:?}"))?;
    let mut out = String::new();
    let mut chars = text[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((out, &text[1 + i + 1..])),
            '\\' if quote == '"' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, other)) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(format!("unterminated string in {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn floats(item: &str) -> Vec<f64> {
        expand_item(item)
            .unwrap()
            .into_iter()
            .map(|i| match i {
                Item::Float(v) => v,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn items_expand_as_the_reference_parser_does() {
        assert_eq!(floats("0+10x3"), [0.0, 10.0, 20.0, 30.0]);
        assert_eq!(floats("5-2x2"), [5.0, 3.0, 1.0]);
        assert_eq!(floats("7x2"), [7.0, 7.0, 7.0]);
        assert_eq!(floats("1e3+1e-1x1"), [1000.0, 1000.1]);
        assert_eq!(floats("-1-1x1"), [-1.0, -2.0]);
        assert!(floats("NaN")[0].is_nan());
        assert_eq!(floats("-Inf"), [f64::NEG_INFINITY]);
        assert_eq!(floats("stale")[0].to_bits(), STALE_NAN_BITS);
        assert_eq!(expand_item("_x3").unwrap(), vec![Item::Empty; 3]);
        assert_eq!(expand_item("{{schema:0 sum:5}}x1").unwrap().len(), 2);
        assert_eq!(expand_item("{{sum:1}}+{{sum:2}}x4").unwrap().len(), 5);
        assert!(expand_item("1+x").is_err() && expand_item("abc").is_err());
        assert_eq!(
            split_items("1 {{schema:0 sum:5}} _ 2x3").unwrap(),
            ["1", "{{schema:0 sum:5}}", "_", "2x3"]
        );
    }

    #[test]
    fn series_descriptions_in_every_form() {
        let (l, rest) = parse_series(r#"http_requests{job="api", instance="0"}	0+10x10"#).unwrap();
        assert_eq!(l.to_string(), r#"http_requests{instance="0",job="api"}"#);
        assert_eq!(rest.trim(), "0+10x10");
        let (l, _) = parse_series(r#"{__name__="up", a="b\"c"} 1"#).unwrap();
        assert_eq!((l.metric_name(), l.get("a")), (Some("up"), Some("b\"c")));
        let (l, _) = parse_series(r#"{"dotted.name", "weird label"="x"} 1"#).unwrap();
        assert_eq!((l.metric_name(), l.get("weird label")), (Some("dotted.name"), Some("x")));
        assert!(parse_series("{} 3").unwrap().0.is_empty());
        assert!(parse_series("= 3").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("10s53ms"), Ok(10_053));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-5m"), Ok(-300_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert!(parse_duration("5").is_err() && parse_duration("m").is_err());
    }

    proptest! {
        #[test]
        fn series_notation_is_start_plus_repeated_steps(start in -1000i32..1000, step in -50i32..50, n in 0usize..40) {
            let item = if step < 0 { format!("{start}-{}x{n}", -step) } else { format!("{start}+{step}x{n}") };
            let values = floats(&item);
            prop_assert_eq!(values.len(), n + 1);
            for (i, v) in values.iter().enumerate() {
                prop_assert_eq!(*v, f64::from(start) + f64::from(step) * i as f64);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = expand_item(&text);
            let _ = parse_series(&text);
            let _ = split_items(&text);
            let _ = parse_duration(&text);
        }
    }
}
