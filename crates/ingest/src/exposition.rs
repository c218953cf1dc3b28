//! The Prometheus text exposition format (0.0.4) and OpenMetrics text, a sample per line:
//!
//! ```text
//! metric_name{label="value",other="v\"2\""} 1.5e3 1712345678901
//! ```
//!
//! - the metric name is `[a-zA-Z_:][a-zA-Z0-9_:]*`; the label set in braces is optional, may
//!   end with a comma and may have spaces around its parts; label values are double-quoted
//!   with `\\`, `\"` and `\n` escapes; an empty value means the label is absent;
//! - the value is a float as Go's `ParseFloat` reads it (`NaN`, `+Inf`, `-Inf` included);
//! - the timestamp, optional, is integer milliseconds in the exposition format and (possibly
//!   fractional) seconds in OpenMetrics, which also may end a line with an exemplar
//!   (` # {…} value [timestamp]`), ignored here;
//! - blank lines and `#` lines (HELP, TYPE, `# EOF`) carry no sample.

use strata_model::{Labels, METRIC_NAME_LABEL};

use crate::{ParseError, ParsedSample};

/// The unit of the optional timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Prometheus text exposition: integer milliseconds.
    Prometheus,
    /// OpenMetrics: seconds, with a fraction.
    OpenMetrics,
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    /// Where `text` starts in the line (errors give columns of the whole line).
    base: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, line: usize, base: usize) -> Self {
        Cursor { text, pos: 0, line, base }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line, self.base + self.pos, message)
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected {what}")))
        }
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels: without `:`).
    fn name(&mut self, colons: bool, what: &str) -> Result<&'a str, ParseError> {
        let start = self.pos;
        let ok = |b: u8, first: bool| {
            b.is_ascii_alphabetic() || b == b'_' || (colons && b == b':') || (!first && b.is_ascii_digit())
        };
        while self.peek().is_some_and(|b| ok(b, self.pos == start)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(format!("expected a {what}")));
        }
        Ok(&self.text[start..self.pos])
    }

    fn quoted(&mut self) -> Result<String, ParseError> {
        self.expect(b'"', "'\"' to open a label value")?;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(at) = rest.find(['"', '\\']) else {
                return Err(self.error("label value has no closing '\"'"));
            };
            out.push_str(&rest[..at]);
            self.pos += at;
            if self.peek() == Some(b'"') {
                self.pos += 1;
                return Ok(out);
            }
            self.pos += 1; // the backslash
            match self.peek() {
                Some(b'\\') => out.push('\\'),
                Some(b'"') => out.push('"'),
                Some(b'n') => out.push('\n'),
                _ => return Err(self.error("unknown escape in a label value (only \\\\, \\\" and \\n)")),
            }
            self.pos += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b' ' && b != b'\t') {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }
}

/// A sample line with its series still text: what the server's series cache keys on, so
/// a series seen before costs no label decoding (`parse_series` does that for new ones).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSample<'a> {
    /// The series as written: the metric name and its braces, if any (`up{job="a"}`).
    /// Not validated yet: `parse_series` does that.
    pub series: &'a str,
    /// Where `series` starts in the line (a byte offset), for `parse_series`' errors.
    pub series_at: usize,
    /// The value.
    pub value: f64,
    /// Milliseconds since the epoch, if the line had a timestamp.
    pub timestamp: Option<i64>,
}

/// Parses one line (`line_no` names it in errors); `None` for lines without a sample.
pub fn parse_line(line: &str, line_no: usize, flavor: Flavor) -> Result<Option<ParsedSample>, ParseError> {
    let Some(raw) = scan_line(line, line_no, flavor)? else { return Ok(None) };
    let labels = parse_series(raw.series, line_no, raw.series_at)?;
    Ok(Some(ParsedSample { labels, value: raw.value, timestamp: raw.timestamp }))
}

/// Splits a line into its series text, value and timestamp, checking all but the series
/// (whose bytes are only delimited). An error is the one `parse_line` gives: when the rest
/// of the line is bad too, the series' own error comes first.
pub fn scan_line(line: &str, line_no: usize, flavor: Flavor) -> Result<Option<RawSample<'_>>, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut c = Cursor::new(line, line_no, 0);
    c.skip_spaces();
    if matches!(c.peek(), None | Some(b'#')) {
        return Ok(None);
    }
    let start = c.pos;
    let series_error = |series: &str| parse_series(series, line_no, start).err();
    let Some(end) = series_end(line.as_bytes(), start) else {
        return Err(series_error(&line[start..]).unwrap_or_else(|| c.error("expected a metric name")));
    };
    c.pos = end;
    match sample_tail(&mut c, flavor) {
        Ok((value, timestamp)) => {
            Ok(Some(RawSample { series: &line[start..end], series_at: start, value, timestamp }))
        }
        Err(e) => Err(series_error(&line[start..end]).unwrap_or(e)),
    }
}

/// Where the series that starts at `start` ends: after the metric name, or after the `}`
/// closing its labels (quotes and escapes respected). `None` when there is no name or the
/// braces never close. Only delimits: `parse_series` validates.
fn series_end(line: &[u8], start: usize) -> Option<usize> {
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let name_end = start + line[start..].iter().take_while(|&&b| name_byte(b)).count();
    if name_end == start {
        return None;
    }
    let brace = name_end + line[name_end..].iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    if line.get(brace) != Some(&b'{') {
        return Some(name_end);
    }
    // From quote to quote by memchr: this scan is most of the cost of a known series' line.
    let mut i = brace + 1;
    loop {
        let rest = line.get(i..)?;
        let at = memchr::memchr2(b'"', b'}', rest)?;
        if rest[at] == b'}' {
            return Some(i + at + 1);
        }
        i += at + 1;
        loop {
            let rest = line.get(i..)?;
            let at = memchr::memchr2(b'"', b'\\', rest)?;
            i += at + if rest[at] == b'\\' { 2 } else { 1 };
            if rest[at] == b'"' {
                break;
            }
        }
    }
}

/// A series as `scan_line` delimits it (`series_at` is its offset in the line, for errors)
/// to labels: the metric name, then labels in braces (optional, may end with a comma, spaces
/// allowed around their parts).
pub fn parse_series(series: &str, line_no: usize, series_at: usize) -> Result<Labels, ParseError> {
    let mut c = Cursor::new(series, line_no, series_at);
    let name = c.name(true, "metric name")?;
    let mut pairs = vec![(METRIC_NAME_LABEL.to_string(), name.to_string())];
    let name_end = c.pos;
    c.skip_spaces();
    if c.peek() == Some(b'{') {
        c.pos += 1;
        loop {
            c.skip_spaces();
            if c.peek() == Some(b'}') {
                c.pos += 1;
                break;
            }
            let label_at = c.pos;
            let label = c.name(false, "label name or '}'")?;
            if label == METRIC_NAME_LABEL {
                return Err(ParseError::new(line_no, series_at + label_at, "__name__ given as a label"));
            }
            c.skip_spaces();
            c.expect(b'=', "'=' after the label name")?;
            c.skip_spaces();
            let value = c.quoted()?;
            pairs.push((label.to_string(), value));
            c.skip_spaces();
            match c.peek() {
                Some(b',') => c.pos += 1,
                Some(b'}') => {}
                _ => return Err(c.error("expected ',' or '}' after a label")),
            }
        }
    } else {
        c.pos = name_end;
    }
    if c.pos != series.len() {
        return Err(c.error("expected a space before the value"));
    }
    Labels::from_pairs(pairs).map_err(|e| c.error(e.to_string()))
}

/// What follows the series: spaces, the value, the optional timestamp (and in OpenMetrics
/// an optional exemplar, ignored).
fn sample_tail(c: &mut Cursor<'_>, flavor: Flavor) -> Result<(f64, Option<i64>), ParseError> {
    if c.skip_spaces() == 0 {
        return Err(c.error("expected a space before the value"));
    }
    let value_at = c.pos;
    let value =
        parse_float(c.token()).ok_or_else(|| ParseError::new(c.line, value_at, "value is not a number"))?;
    c.skip_spaces();
    let timestamp = match c.peek() {
        None => None,
        Some(b'#') if flavor == Flavor::OpenMetrics => None, // an exemplar
        Some(_) => {
            let at = c.pos;
            let text = c.token();
            let t = match flavor {
                Flavor::Prometheus => text.parse::<i64>().ok(),
                Flavor::OpenMetrics => seconds_to_ms(text),
            };
            Some(t.ok_or_else(|| {
                ParseError::new(c.line, at, format!("timestamp {text:?} is not a valid time"))
            })?)
        }
    };
    c.skip_spaces();
    match c.peek() {
        None => {}
        Some(b'#') if flavor == Flavor::OpenMetrics => {}
        Some(_) => return Err(c.error("unexpected text after the sample")),
    }
    Ok((value, timestamp))
}

/// A float as Go's `ParseFloat` reads Prometheus values (`NaN`, `Inf`, `+Inf`, `-Inf`).
fn parse_float(text: &str) -> Option<f64> {
    if text.is_empty() || text.contains('_') {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Seconds with an optional fraction to milliseconds (truncating past the millisecond, as
/// promtool does).
fn seconds_to_ms(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let negative = whole.starts_with('-');
    let secs: i64 = if whole.is_empty() || whole == "-" { 0 } else { whole.parse().ok()? };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms_digits: String = fraction.chars().chain("000".chars()).take(3).collect();
    let ms: i64 = ms_digits.parse().ok()?;
    let ms = if negative { -ms } else { ms };
    secs.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(line: &str) -> ParsedSample {
        parse_line(line, 1, Flavor::Prometheus).unwrap().unwrap()
    }

    #[test]
    fn samples_with_and_without_labels_and_timestamps() {
        let s = one(r#"http_requests_total{method="post",code="200",} 1027 1395066363000"#);
        assert_eq!(s.labels.to_string(), r#"http_requests_total{code="200",method="post"}"#);
        assert_eq!((s.value, s.timestamp), (1027.0, Some(1395066363000)));
        let s = one("  up 1");
        assert_eq!((s.labels.metric_name(), s.value, s.timestamp), (Some("up"), 1.0, None));
        let s = one(
            r#"msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9"#,
        );
        assert_eq!(s.labels.get("path"), Some(r"C:\DIR\FILE.TXT"));
        assert_eq!(s.labels.get("error"), Some("Cannot find file:\n\"FILE.TXT\""));
        assert!(one("x NaN").value.is_nan());
        assert_eq!(one("x -Inf").value, f64::NEG_INFINITY);
        assert_eq!(one(r#"x{a=""} 1"#).labels.len(), 1, "an empty value is no label");
        for comment in ["", "   ", "# HELP x y", "# TYPE x counter", "# EOF"] {
            assert_eq!(parse_line(comment, 1, Flavor::Prometheus).unwrap(), None);
        }
    }

    #[test]
    fn openmetrics_timestamps_are_seconds_and_exemplars_are_ignored() {
        let s = parse_line(
            r#"foo_total{a="b"} 17 1520879607.789 # {id="x"} 1 1520879607"#,
            3,
            Flavor::OpenMetrics,
        )
        .unwrap()
        .unwrap();
        assert_eq!((s.value, s.timestamp), (17.0, Some(1_520_879_607_789)));
        let t = |text: &str| {
            parse_line(&format!("m 1 {text}"), 1, Flavor::OpenMetrics).unwrap().unwrap().timestamp
        };
        assert_eq!(t("12"), Some(12_000));
        assert_eq!(t("12.5"), Some(12_500));
        assert_eq!(t("12.0019"), Some(12_001));
        assert_eq!(t("-1.5"), Some(-1_500));
    }

    #[test]
    fn bad_lines_name_the_line_and_column() {
        let cases = [
            ("9up 1", 1, "metric name"),
            ("up{a=1} 1", 6, "'\"'"),
            (r#"up{a="1} 1"#, 7, "closing"),
            (r#"up{a="1" b="2"} 1"#, 10, "',' or '}'"),
            (r#"up{a="1",a="2"} 1"#, 16, "a"),
            ("up one", 4, "not a number"),
            ("up 1 12x", 6, "not a valid time"),
            ("up 1 12 13", 9, "unexpected"),
            ("up{} 1", 5, ""),
            (r#"up{a="\t"} 1"#, 8, "escape"),
            (r#"up{__name__="x"} 1"#, 4, "__name__"),
        ];
        for (line, column, want) in cases {
            match parse_line(line, 7, Flavor::Prometheus) {
                Ok(Some(_)) if want.is_empty() => {}
                Err(e) => {
                    assert_eq!((e.line, e.column), (7, column), "{line}: {e}");
                    assert!(e.to_string().contains(want), "{line}: {e}");
                }
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    fn arb_value() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!['a', 'Z', ' ', '"', '\\', '\n', 'é', ',', '}', '=']),
            0..8,
        )
        .prop_map(|c| c.into_iter().collect())
    }

    proptest! {
        /// What the exposition format writes, the parser reads back.
        #[test]
        fn written_lines_read_back(
            name in "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
            labels in prop::collection::btree_map("[a-z_][a-z0-9_]{0,6}", arb_value(), 0..4),
            value in any::<f64>(),
            t in prop::option::of(any::<i64>()),
        ) {
            prop_assume!(!labels.contains_key("__name__"));
            let escape = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            let v = if value.is_nan() { "NaN".to_string() } else if value.is_infinite() {
                if value > 0.0 { "+Inf".into() } else { "-Inf".into() }
            } else { format!("{value:?}") };
            let ts = t.map(|t| format!(" {t}")).unwrap_or_default();
            let line = format!("{name}{{{}}} {v}{ts}", body.join(","));
            let s = parse_line(&line, 1, Flavor::Prometheus).unwrap().unwrap();
            let raw = scan_line(&line, 1, Flavor::Prometheus).unwrap().unwrap();
            prop_assert_eq!(raw.series, &line[..line.find(&format!("}} {v}")).unwrap() + 1]);
            prop_assert_eq!(s.labels.metric_name(), Some(name.as_str()));
            for (k, v) in &labels {
                prop_assert_eq!(s.labels.get(k), if v.is_empty() { None } else { Some(v.as_str()) });
            }
            prop_assert!(s.value.to_bits() == value.to_bits() || (value.is_nan() && s.value.is_nan()));
            prop_assert_eq!(s.timestamp, t);
        }

        #[test]
        fn arbitrary_lines_never_panic(line in "\\PC{0,60}") {
            let _ = parse_line(&line, 1, Flavor::Prometheus);
            let _ = parse_line(&line, 1, Flavor::OpenMetrics);
        }

        /// The series text a scan delimits is a piece of the line, and the line's sample is
        /// the scan's sample under that text's labels: what lets the server key its series
        /// cache on the text.
        #[test]
        fn a_scan_delimits_what_the_parser_reads(
            line in r#"[ ]?[a-z9]{1,3}[ ]?(\{([a-z]{1,2}[ ]?=[ ]?"([a-z} ,=]|\\[\\"n])*"[ ]?,?)*\}?)?[ ]{0,2}(1|NaN|x)?( -?[0-9]{1,3})?"#,
        ) {
            let full = parse_line(&line, 1, Flavor::Prometheus);
            match scan_line(&line, 1, Flavor::Prometheus) {
                Ok(Some(raw)) => {
                    prop_assert_eq!(&line[raw.series_at..raw.series_at + raw.series.len()], raw.series);
                    match (parse_series(raw.series, 1, raw.series_at), full) {
                        (Ok(labels), Ok(Some(s))) => {
                            prop_assert_eq!(labels, s.labels);
                            prop_assert_eq!((raw.value.to_bits(), raw.timestamp), (s.value.to_bits(), s.timestamp));
                        }
                        (Err(a), Err(b)) => prop_assert_eq!(a, b),
                        (a, b) => prop_assert!(false, "series {:?} vs line {:?}", a, b),
                    }
                }
                Ok(None) => prop_assert_eq!(full, Ok(None)),
                Err(e) => prop_assert_eq!(full, Err(e)),
            }
        }
    }
}
