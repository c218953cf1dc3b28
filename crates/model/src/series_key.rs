//! Textual series keys, in two forms, each with a parser that inverts its renderer.
//!
//! - Prometheus form: `cpu_usage{host="server1",region="us-east"}`. Values are quoted and
//!   escaped as in the exposition format (`\\`, `\"`, `\n`). A metric name or label name
//!   outside the legacy character set is quoted, as Prometheus 3 does:
//!   `{"cpu.usage",host="server1"}`. A series with only a name renders as `name`.
//! - Seed form: `cpu.usage|host=server1|region=us-east`: the metric name, then `|name=value`
//!   per label. `\`, `|` and `=` inside a name or value are escaped with a backslash.

use crate::labels::METRIC_NAME_LABEL;
use crate::name::{is_legacy_label_name, is_legacy_metric_name};
use crate::{Labels, ModelError, Result};

impl Labels {
    /// Renders the Prometheus form (see the module docs).
    pub fn prometheus_key(&self) -> String {
        let mut out = String::with_capacity(self.heap_bytes().min(256) + 16);
        let name = self.metric_name();
        let others = self.iter().filter(|l| l.name != METRIC_NAME_LABEL);
        let mut first = true;
        match name {
            Some(n) if is_legacy_metric_name(n) => {
                out.push_str(n);
                if self.len() == 1 {
                    return out;
                }
                out.push('{');
            }
            Some(n) => {
                out.push('{');
                push_quoted(&mut out, n);
                first = false;
            }
            None => out.push('{'),
        }
        for label in others {
            if !first {
                out.push(',');
            }
            first = false;
            if is_legacy_label_name(&label.name) {
                out.push_str(&label.name);
            } else {
                push_quoted(&mut out, &label.name);
            }
            out.push('=');
            push_quoted(&mut out, &label.value);
        }
        out.push('}');
        out
    }

    /// Parses the Prometheus form produced by [`Labels::prometheus_key`] (spaces between
    /// tokens are allowed, as is `name{}`).
    pub fn parse_prometheus_key(key: &str) -> Result<Labels> {
        PromKeyParser { key, pos: 0 }.parse()
    }

    /// Renders the seed form (see the module docs).
    pub fn seed_key(&self) -> String {
        let mut out = String::new();
        push_seed_escaped(&mut out, self.metric_name().unwrap_or(""));
        for label in self.iter().filter(|l| l.name != METRIC_NAME_LABEL) {
            out.push('|');
            push_seed_escaped(&mut out, &label.name);
            out.push('=');
            push_seed_escaped(&mut out, &label.value);
        }
        out
    }

    /// Parses the seed form produced by [`Labels::seed_key`].
    pub fn parse_seed_key(key: &str) -> Result<Labels> {
        let err = |position, reason| ModelError::InvalidSeriesKey { key: key.to_string(), position, reason };
        let parts = split_unescaped(key, b'|').map_err(|p| err(p, "dangling escape"))?;
        let mut pairs = Vec::with_capacity(parts.len());
        let mut parts = parts.into_iter();
        if let Some((_, name)) = parts.next() {
            pairs.push((METRIC_NAME_LABEL.to_string(), unescape_seed(&name)));
        }
        for (start, part) in parts {
            let kv = split_unescaped(&part, b'=').map_err(|p| err(start + p, "dangling escape"))?;
            match kv.as_slice() {
                [(_, n), (_, v)] => pairs.push((unescape_seed(n), unescape_seed(v))),
                _ => return Err(err(start, "expected exactly one unescaped '=' in name=value")),
            }
        }
        Labels::from_pairs(pairs)
    }
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_seed_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        if matches!(c, '\\' | '|' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Splits on unescaped `sep`, keeping escapes in the parts; each part comes with its byte
/// offset. Err(offset) for a trailing lone backslash.
fn split_unescaped(s: &str, sep: u8) -> std::result::Result<Vec<(usize, String)>, usize> {
    let bytes = s.as_bytes();
    let (mut parts, mut start, mut i) = (Vec::new(), 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 >= bytes.len() => return Err(i),
            b'\\' => i += 2,
            b if b == sep => {
                parts.push((start, s[start..i].to_string()));
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    parts.push((start, s[start..].to_string()));
    Ok(parts)
}

fn unescape_seed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct PromKeyParser<'a> {
    key: &'a str,
    pos: usize,
}

impl PromKeyParser<'_> {
    fn err(&self, reason: &'static str) -> ModelError {
        ModelError::InvalidSeriesKey { key: self.key.to_string(), position: self.pos, reason }
    }

    fn rest(&self) -> &str {
        &self.key[self.pos..]
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t']);
        self.pos = self.key.len() - trimmed.len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn parse(mut self) -> Result<Labels> {
        let mut pairs = Vec::new();
        self.skip_spaces();
        let name = self.bare_name(true);
        if !name.is_empty() {
            pairs.push((METRIC_NAME_LABEL.to_string(), name));
        }
        if self.eat('{') {
            self.parse_label_list(&mut pairs)?;
        } else if pairs.is_empty() {
            return Err(self.err("expected a metric name or '{'"));
        }
        self.skip_spaces();
        if self.pos != self.key.len() {
            return Err(self.err("unexpected text after the series key"));
        }
        Labels::from_pairs(pairs)
    }

    fn parse_label_list(&mut self, pairs: &mut Vec<(String, String)>) -> Result<()> {
        loop {
            if self.eat('}') {
                return Ok(());
            }
            self.skip_spaces();
            let name = if self.rest().starts_with('"') { self.quoted()? } else { self.bare_name(false) };
            if name.is_empty() {
                return Err(self.err("expected a label name"));
            }
            if self.eat('=') {
                self.skip_spaces();
                pairs.push((name, self.quoted()?));
            } else if pairs.is_empty() {
                pairs.push((METRIC_NAME_LABEL.to_string(), name)); // {"metric.name", ...}
            } else {
                return Err(self.err("expected '=' after the label name"));
            }
            if !self.eat(',') {
                if self.eat('}') {
                    return Ok(());
                }
                return Err(self.err("expected ',' or '}'"));
            }
        }
    }

    fn bare_name(&mut self, metric: bool) -> String {
        let len = self
            .rest()
            .bytes()
            .take_while(|&b| b.is_ascii_alphanumeric() || b == b'_' || (metric && b == b':'))
            .count();
        let name = self.rest()[..len].to_string();
        self.pos += len;
        name
    }

    fn quoted(&mut self) -> Result<String> {
        if !self.rest().starts_with('"') {
            return Err(self.err("expected '\"'"));
        }
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, e @ ('\\' | '"'))) => out.push(e),
                    _ => {
                        self.pos += i;
                        return Err(self.err("invalid escape sequence (only \\\\, \\\" and \\n)"));
                    }
                },
                c => out.push(c),
            }
        }
        self.pos = self.key.len();
        Err(self.err("unterminated quoted string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn series() -> Labels {
        Labels::with_metric_name("cpu_usage", [("region", "us-east"), ("host", "server1")]).unwrap()
    }

    #[test]
    fn prometheus_form() {
        assert_eq!(series().prometheus_key(), r#"cpu_usage{host="server1",region="us-east"}"#);
        let dotted = Labels::with_metric_name("cpu.usage", [("host", "a\"b\\c\nd")]).unwrap();
        assert_eq!(dotted.prometheus_key(), r#"{"cpu.usage",host="a\"b\\c\nd"}"#);
        let only_name = Labels::with_metric_name("up", std::iter::empty::<(&str, &str)>()).unwrap();
        assert_eq!(only_name.prometheus_key(), "up");
        let no_name = Labels::from_pairs([("a.b", "1")]).unwrap();
        assert_eq!(no_name.prometheus_key(), r#"{"a.b"="1"}"#);
    }

    #[test]
    fn seed_form() {
        assert_eq!(series().seed_key(), "cpu_usage|host=server1|region=us-east");
        let odd = Labels::with_metric_name("a|b", [("k=", "v\\")]).unwrap();
        assert_eq!(odd.seed_key(), r"a\|b|k\==v\\");
        assert_eq!(Labels::parse_seed_key(&odd.seed_key()).unwrap(), odd);
    }

    #[test]
    fn parse_errors_name_the_position() {
        let err = Labels::parse_prometheus_key(r#"up{job="x""#).unwrap_err();
        assert!(matches!(err, ModelError::InvalidSeriesKey { position: 10, .. }), "{err}");
        let err = Labels::parse_prometheus_key(r#"up{job="x\q"}"#).unwrap_err();
        assert!(matches!(err, ModelError::InvalidSeriesKey { position: 9, .. }), "{err}");
        assert!(Labels::parse_prometheus_key("up junk").is_err());
        assert!(Labels::parse_seed_key("m|novalue").is_err());
        assert!(Labels::parse_seed_key("m|a=b\\").is_err());
    }

    #[test]
    fn parse_accepts_spaces_and_empty_braces() {
        let l = Labels::parse_prometheus_key(r#"cpu_usage{ host = "server1" , region="us-east", }"#).unwrap();
        assert_eq!(l, series());
        assert_eq!(Labels::parse_prometheus_key("up{}").unwrap().metric_name(), Some("up"));
    }

    fn arb_labels() -> impl Strategy<Value = Labels> {
        let name = prop_oneof![r"[a-z_][a-z0-9_]{0,6}", r"\PC{1,6}"];
        let pairs = proptest::collection::vec((name, r"\PC{0,8}"), 0..5);
        (proptest::option::of(r"[a-z:.|=\\]{1,8}"), pairs).prop_filter_map("valid", |(metric, pairs)| {
            let metric = metric.map(|m| (METRIC_NAME_LABEL.to_string(), m));
            let pairs = pairs.into_iter().filter(|(n, _)| n != METRIC_NAME_LABEL);
            Labels::from_pairs(metric.into_iter().chain(pairs)).ok()
        })
    }

    proptest! {
        #[test]
        fn prometheus_form_round_trips(labels in arb_labels()) {
            prop_assume!(!labels.is_empty());
            prop_assert_eq!(Labels::parse_prometheus_key(&labels.prometheus_key())?, labels);
        }

        #[test]
        fn seed_form_round_trips(labels in arb_labels()) {
            prop_assume!(labels.metric_name().is_some());
            prop_assert_eq!(Labels::parse_seed_key(&labels.seed_key())?, labels);
        }

        #[test]
        fn parsers_never_panic(s in r"\PC{0,40}") {
            let _ = Labels::parse_prometheus_key(&s);
            let _ = Labels::parse_seed_key(&s);
        }
    }
}
