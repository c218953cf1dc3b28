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
    /// Minutes (InfluxDB 1.x's `m`).
    Minutes,
    /// Hours.
    Hours,
}

impl Precision {
    /// `ns`, `us`, `ms`, `s`, `m` or `h` (as InfluxDB 1.x's `precision` parameter; `n`, `u`
    /// too).
    pub fn parse(text: &str) -> Option<Precision> {
        Some(match text {
            "ns" | "n" => Precision::Nanoseconds,
            "us" | "u" | "µs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => return None,
        })
    }

    /// The nanoseconds `t` lies past its millisecond (0 for units of a millisecond and up).
    pub fn sub_ms_ns(self, t: i64) -> u32 {
        match self {
            Precision::Nanoseconds => t.rem_euclid(1_000_000) as u32,
            Precision::Microseconds => t.rem_euclid(1_000) as u32 * 1_000,
            _ => 0,
        }
    }

    fn to_ms(self, t: i64) -> Option<i64> {
        match self {
            Precision::Nanoseconds => Some(t.div_euclid(1_000_000)),
            Precision::Microseconds => Some(t.div_euclid(1_000)),
            Precision::Milliseconds => Some(t),
            Precision::Seconds => t.checked_mul(1000),
            Precision::Minutes => t.checked_mul(60_000),
            Precision::Hours => t.checked_mul(3_600_000),
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

/// Splits `text` (a series: quotes are plain characters there) at unescaped `separators`;
/// returns the pieces with their byte offsets.
fn split_unescaped<'a>(text: &'a str, separators: &[u8], base: usize) -> Vec<(usize, &'a str)> {
    let bytes = text.as_bytes();
    let (mut out, mut start, mut i) = (Vec::new(), 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b if separators.contains(&b) => {
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

/// Where the first unescaped `separator` at or after `from` is (with `quotes`, not inside
/// double quotes); the end of `bytes` if none.
fn find_unescaped(bytes: &[u8], from: usize, separator: u8, quotes: bool) -> usize {
    // Special bytes found by memchr: this scan is most of the cost of a known series' line.
    let quote = if quotes { b'"' } else { b'\\' };
    let (mut i, mut quoted) = (from, false);
    while let Some(rest) = bytes.get(i..) {
        let found = if quoted {
            memchr::memchr2(b'\\', b'"', rest)
        } else {
            memchr::memchr3(b'\\', separator, quote, rest)
        };
        let Some(at) = found else { break };
        i += at;
        match bytes[i] {
            b'\\' => i += 1,
            b'"' if quotes => quoted = !quoted,
            _ => return i,
        }
        i += 1;
    }
    bytes.len()
}

/// What a measurement escapes with a backslash.
pub const MEASUREMENT_ESCAPES: &[char] = &[',', ' '];
/// What tag keys, tag values and field keys escape with a backslash.
pub const TAG_ESCAPES: &[char] = &[',', '=', ' '];

/// Puts a backslash before any of `escaped` (what `unescape` removes).
pub fn escape(text: &str, escaped: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if escaped.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A series as line protocol writes it (and InfluxDB keys it): the escaped measurement,
/// then `,key=value` per tag in the order given.
pub fn series_text<'a>(measurement: &str, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = escape(measurement, MEASUREMENT_ESCAPES);
    for (k, v) in tags {
        out.push(',');
        out.push_str(&escape(k, TAG_ESCAPES));
        out.push('=');
        out.push_str(&escape(v, TAG_ESCAPES));
    }
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

/// A line with its series still text (measurement and tags as written): what the server's
/// series cache keys on, so a series seen before costs no tag decoding. `parse_series` and
/// `field_labels` make the labels of new ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawPoint<'a> {
    /// Measurement and tags as written, up to the first unescaped space. Not validated yet.
    pub series: &'a str,
    /// Where `series` starts in the line (a byte offset), for `parse_series`' errors.
    pub series_at: usize,
    /// The field set as written (`a=1,b="x"`).
    pub fields: &'a str,
    /// Milliseconds since the epoch, if the line had a timestamp.
    pub timestamp: Option<i64>,
    /// The nanoseconds the timestamp lies past `timestamp`'s millisecond (0 to 999,999):
    /// what an engine of nanoseconds keeps and the others drop.
    pub sub_ms_ns: u32,
    /// String fields left out.
    pub string_fields: usize,
}

/// A numeric (or boolean) field: its key as written (escapes kept) and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawField<'a> {
    /// The key, escapes kept.
    pub key: &'a str,
    /// The value as a float.
    pub value: f64,
    /// The type the line gave it (InfluxDB refuses a field written with two types).
    pub kind: FieldKind,
}

/// The type of a field value as line protocol writes it (strings aside: they are not
/// stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `1.5`, `1`, `1e3`.
    Float,
    /// `1i`.
    Integer,
    /// `1u`.
    Unsigned,
    /// `t`, `false`, ….
    Boolean,
}

impl FieldKind {
    /// The name InfluxDB gives the type (`SHOW FIELD KEYS`, its conflict errors).
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Float => "float",
            FieldKind::Integer => "integer",
            FieldKind::Unsigned => "unsigned",
            FieldKind::Boolean => "boolean",
        }
    }

    /// A byte standing for the type (in the write path's series-cache keys).
    pub fn tag(self) -> u8 {
        match self {
            FieldKind::Float => b'f',
            FieldKind::Integer => b'i',
            FieldKind::Unsigned => b'u',
            FieldKind::Boolean => b'b',
        }
    }
}

/// A series' measurement and tags, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesParts {
    /// The measurement.
    pub measurement: String,
    /// The tags, in line order.
    pub tags: Vec<(String, String)>,
}

/// Parses one line; an empty `Point` for blank and `#` lines.
pub fn parse_line(line: &str, line_no: usize, precision: Precision) -> Result<Point, ParseError> {
    let mut fields = Vec::new();
    let Some(raw) = scan_line(line, line_no, precision, &mut fields)? else { return Ok(Point::default()) };
    let parts = parse_series(raw.series, line_no, raw.series_at)?;
    let mut point = Point { samples: Vec::with_capacity(fields.len()), string_fields: raw.string_fields };
    for field in &fields {
        let labels = field_labels(&parts, field.key, line_no, raw.series_at)?;
        point.samples.push(ParsedSample { labels, value: field.value, timestamp: raw.timestamp });
    }
    Ok(point)
}

/// Splits a line into its series text, timestamp and numeric fields (into `fields`, which is
/// cleared first), checking all but the series (only delimited). An error is the one
/// `parse_line` gives: when the rest of the line is bad too, the series' own error comes first.
pub fn scan_line<'a>(
    line: &'a str,
    line_no: usize,
    precision: Precision,
    fields: &mut Vec<RawField<'a>>,
) -> Result<Option<RawPoint<'a>>, ParseError> {
    fields.clear();
    let line = line.strip_suffix('\r').unwrap_or(line);
    let start = line.len() - line.trim_start().len();
    if start == line.len() || line[start..].starts_with('#') {
        return Ok(None);
    }
    let err = |at: usize, message: String| ParseError::new(line_no, at, message);
    let bytes = line.as_bytes();
    let skip_spaces = |from: usize| from + bytes[from..].iter().take_while(|&&b| b == b' ').count();
    let series_end = find_unescaped(bytes, start, b' ', false);
    let fields_at = skip_spaces(series_end);
    if fields_at == bytes.len() {
        return Err(err(line.len(), "expected fields after the measurement and tags".into()));
    }
    let fields_end = find_unescaped(bytes, fields_at, b' ', true);
    let time_at = skip_spaces(fields_end);
    let time_end = find_unescaped(bytes, time_at, b' ', false);
    let rest_at = skip_spaces(time_end);
    let series = &line[start..series_end];
    let series_first = |e: ParseError| parse_series(series, line_no, start).err().unwrap_or(e);
    if rest_at < bytes.len() {
        return Err(series_first(err(rest_at, "unexpected text after the timestamp".into())));
    }
    let (timestamp, sub_ms_ns) = match &line[time_at..time_end] {
        "" => (None, 0),
        text => {
            let (ms, sub) = timestamp_ms(text, precision).map_err(|m| series_first(err(time_at, m)))?;
            (Some(ms), sub)
        }
    };
    let mut string_fields = 0;
    let mut at = fields_at;
    while at <= fields_end {
        let end = find_unescaped(&bytes[..fields_end], at, b',', true);
        let field = &line[at..end];
        let eq = find_unescaped(field.as_bytes(), 0, b'=', false);
        if eq == field.len() {
            return Err(series_first(err(at, format!("field {field:?} is not key=value"))));
        }
        if eq == 0 {
            return Err(series_first(err(at, "empty field key".into())));
        }
        match field_value(&field[eq + 1..]).map_err(|m| series_first(err(at + eq + 1, m)))? {
            Some((value, kind)) => fields.push(RawField { key: &field[..eq], value, kind }),
            None => string_fields += 1,
        }
        at = end + 1;
    }
    let fields_text = &line[fields_at..fields_end];
    Ok(Some(RawPoint { series, series_at: start, fields: fields_text, timestamp, sub_ms_ns, string_fields }))
}

/// A timestamp's millisecond and the nanoseconds past it.
fn timestamp_ms(text: &str, precision: Precision) -> Result<(i64, u32), String> {
    let raw: i64 = text.parse().map_err(|_| format!("timestamp {text:?} is not an integer"))?;
    let ms = precision.to_ms(raw).ok_or_else(|| format!("timestamp {text} overflows"))?;
    Ok((ms, precision.sub_ms_ns(raw)))
}

/// A series as `scan_line` delimits it (`series_at` is its offset in the line, for errors)
/// to its measurement and tags.
pub fn parse_series(series: &str, line_no: usize, series_at: usize) -> Result<SeriesParts, ParseError> {
    let err = |at: usize, message: String| ParseError::new(line_no, at, message);
    let mut parts = split_unescaped(series, b",", series_at).into_iter();
    let (m_at, measurement) = parts.next().unwrap_or((series_at, ""));
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
    Ok(SeriesParts { measurement, tags })
}

/// The labels of field `key` (as written) of a series: metric `measurement_key`, or
/// `measurement` for a field named `value`; the tags as labels.
pub fn field_labels(
    parts: &SeriesParts,
    key: &str,
    line_no: usize,
    series_at: usize,
) -> Result<Labels, ParseError> {
    let key = unescape(key, &[',', '=', ' ']);
    let m = &parts.measurement;
    let name = if key == "value" { m.clone() } else { format!("{m}_{key}") };
    let pairs = std::iter::once((METRIC_NAME_LABEL.to_string(), name)).chain(parts.tags.iter().cloned());
    Labels::from_pairs(pairs).map_err(|e| ParseError::new(line_no, series_at, e.to_string()))
}

/// A field's value as a float; `None` for a string field.
fn field_value(text: &str) -> Result<Option<(f64, FieldKind)>, String> {
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
    let kind = |kind: FieldKind| move |v: f64| Some((v, kind));
    match text {
        "t" | "T" | "true" | "True" | "TRUE" => Ok(Some((1.0, FieldKind::Boolean))),
        "f" | "F" | "false" | "False" | "FALSE" => Ok(Some((0.0, FieldKind::Boolean))),
        _ if text.ends_with('i') => number(&text[..text.len() - 1]).map(kind(FieldKind::Integer)),
        _ if text.ends_with('u') && !text.starts_with('-') => {
            number(&text[..text.len() - 1]).map(kind(FieldKind::Unsigned))
        }
        _ => {
            let finite =
                text.parse::<f64>().ok().filter(|v| v.is_finite() && !text.contains(['n', 'N', 'i', 'I']));
            finite
                .map(kind(FieldKind::Float))
                .ok_or_else(|| format!("field value {text:?} is not a number, boolean or string"))
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
        let minutes = parse_line("m v=1 3", 1, Precision::parse("m").unwrap()).unwrap();
        assert_eq!(minutes.samples[0].timestamp, Some(180_000));
        let hours = parse_line("m v=1 2", 1, Precision::parse("h").unwrap()).unwrap();
        assert_eq!(hours.samples[0].timestamp, Some(7_200_000));
        assert!(parse_line(&format!("m v=1 {}", i64::MAX / 1000), 1, Precision::Hours).is_err());
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
        // Quotes mean strings in field values only; in a tag they are characters.
        let p = point(r#"m,t=a"b v=1,s="x y" 5"#);
        assert_eq!(p.samples[0].labels.get("t"), Some("a\"b"));
        assert_eq!((p.samples.len(), p.string_fields), (1, 1));
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
            prop_assume!(!tags.contains_key("__name__"));
            let series = series_text(&measurement, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let line = format!("{series} value={value:?} {t}");
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
        fn a_timestamp_is_its_millisecond_and_the_nanoseconds_past_it(t in any::<i64>(), micro in any::<bool>()) {
            let mut fields = Vec::new();
            let (precision, ns) = if micro {
                (Precision::Microseconds, i128::from(t) * 1_000)
            } else {
                (Precision::Nanoseconds, i128::from(t))
            };
            let line = format!("m v=1 {t}");
            let point = scan_line(&line, 1, precision, &mut fields).unwrap().unwrap();
            prop_assert!(point.sub_ms_ns < 1_000_000);
            let back = i128::from(point.timestamp.unwrap()) * 1_000_000 + i128::from(point.sub_ms_ns);
            prop_assert_eq!(back, ns);
        }

        #[test]
        fn arbitrary_lines_never_panic(line in "\\PC{0,60}") {
            let _ = parse_line(&line, 1, Precision::Nanoseconds);
        }

        /// The series text a scan delimits is a piece of the line, and the line's samples
        /// are the scan's fields under that text's labels: what lets the server key its
        /// series cache on (series text, field key).
        #[test]
        fn a_scan_delimits_what_the_parser_reads(
            line in r#"[ ]?[a-z,=\\ "]{0,6}[ ]{1,2}([a-z\\ "]{0,2}=(1|2i|t|"[a-z ,]*"|x),?){0,3}( -?[0-9]{1,3})?[ ]?"#,
        ) {
            let full = parse_line(&line, 1, Precision::Seconds);
            let mut fields = Vec::new();
            match scan_line(&line, 1, Precision::Seconds, &mut fields) {
                Ok(Some(raw)) => {
                    prop_assert_eq!(&line[raw.series_at..raw.series_at + raw.series.len()], raw.series);
                    let labels: Result<Vec<Labels>, ParseError> = parse_series(raw.series, 1, raw.series_at)
                        .and_then(|parts| fields.iter().map(|f| field_labels(&parts, f.key, 1, raw.series_at)).collect());
                    match (labels, full) {
                        (Ok(labels), Ok(point)) => {
                            prop_assert_eq!(point.string_fields, raw.string_fields);
                            let want: Vec<_> = labels.into_iter().zip(&fields)
                                .map(|(labels, f)| ParsedSample { labels, value: f.value, timestamp: raw.timestamp })
                                .collect();
                            prop_assert_eq!(point.samples, want);
                        }
                        (Err(a), Err(b)) => prop_assert_eq!(a, b),
                        (a, b) => prop_assert!(false, "series {:?} vs line {:?}", a, b),
                    }
                }
                Ok(None) => prop_assert_eq!(full, Ok(Point::default())),
                Err(e) => prop_assert_eq!(full, Err(e)),
            }
        }
    }
}
