//! OTLP metric and attribute names to Prometheus names, as Prometheus 3's OTLP receiver
//! makes them (its `translation_strategy` setting; the rules are OpenTelemetry's
//! "Prometheus and OpenMetrics compatibility" specification).
//!
//! Two independent choices make the four strategies:
//! - **escaping**: characters outside the classic sets become `_` (runs of them one `_`),
//!   so `http.server.duration` is `http_server_duration`; without it UTF-8 names are kept.
//! - **suffixes**: the unit is appended (`s` → `_seconds`, `By/s` → `_bytes_per_second`,
//!   unit `1` on a gauge → `_ratio`) and monotonic counters end in `_total`.

use std::fmt;

/// How names are translated (Prometheus' `translation_strategy` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameStrategy {
    /// Classic character sets, unit and type suffixes (Prometheus 3's default).
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Classic character sets, names otherwise as sent.
    UnderscoreEscapingWithoutSuffixes,
    /// UTF-8 names kept, suffixes added.
    NoUtf8EscapingWithSuffixes,
    /// Names exactly as sent.
    NoTranslation,
}

impl NameStrategy {
    /// Every strategy with its configuration name.
    pub const ALL: [(NameStrategy, &'static str); 4] = [
        (NameStrategy::UnderscoreEscapingWithSuffixes, "UnderscoreEscapingWithSuffixes"),
        (NameStrategy::UnderscoreEscapingWithoutSuffixes, "UnderscoreEscapingWithoutSuffixes"),
        (NameStrategy::NoUtf8EscapingWithSuffixes, "NoUTF8EscapingWithSuffixes"),
        (NameStrategy::NoTranslation, "NoTranslation"),
    ];

    /// The strategy a configuration names (Prometheus' spelling).
    pub fn parse(text: &str) -> Option<NameStrategy> {
        Self::ALL.iter().find(|(_, name)| name.eq_ignore_ascii_case(text)).map(|(s, _)| *s)
    }

    /// Whether names are escaped to the classic character sets.
    pub fn escapes(self) -> bool {
        matches!(self, Self::UnderscoreEscapingWithSuffixes | Self::UnderscoreEscapingWithoutSuffixes)
    }

    /// Whether unit and type suffixes are appended.
    pub fn adds_suffixes(self) -> bool {
        matches!(self, Self::UnderscoreEscapingWithSuffixes | Self::NoUtf8EscapingWithSuffixes)
    }
}

impl fmt::Display for NameStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Self::ALL.iter().find(|(s, _)| s == self).map_or("?", |(_, n)| n);
        f.write_str(name)
    }
}

/// What kind of Prometheus metric an OTLP metric becomes: it decides the suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A monotonic cumulative sum: gets `_total`.
    Counter,
    /// A gauge or non-monotonic sum: unit `1` gets `_ratio`.
    Gauge,
    /// Histograms, summaries and delta sums: unit suffix only.
    Other,
}

/// OTLP units (UCUM) to Prometheus base-unit words.
const UNITS: &[(&str, &str)] = &[
    ("d", "days"),
    ("h", "hours"),
    ("min", "minutes"),
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("us", "microseconds"),
    ("ns", "nanoseconds"),
    ("By", "bytes"),
    ("KiBy", "kibibytes"),
    ("MiBy", "mebibytes"),
    ("GiBy", "gibibytes"),
    ("TiBy", "tibibytes"),
    ("KBy", "kilobytes"),
    ("MBy", "megabytes"),
    ("GBy", "gigabytes"),
    ("TBy", "terabytes"),
    ("m", "meters"),
    ("V", "volts"),
    ("A", "amperes"),
    ("J", "joules"),
    ("W", "watts"),
    ("g", "grams"),
    ("Cel", "celsius"),
    ("Hz", "hertz"),
    ("1", ""),
    ("%", "percent"),
];

/// The denominators of `x/y` units, singular.
const PER_UNITS: &[(&str, &str)] = &[
    ("s", "second"),
    ("m", "minute"),
    ("h", "hour"),
    ("d", "day"),
    ("w", "week"),
    ("mo", "month"),
    ("y", "year"),
];

/// A name that cannot be made valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub String);

/// The Prometheus metric name of an OTLP metric.
pub fn metric_name(
    name: &str,
    unit: &str,
    kind: MetricKind,
    strategy: NameStrategy,
) -> Result<String, NameError> {
    let built = match (strategy.escapes(), strategy.adds_suffixes()) {
        (true, true) => escaped_with_suffixes(name, unit, kind),
        (true, false) => escaped_plain(name),
        (false, true) => utf8_with_suffixes(name, unit, kind),
        (false, false) => name.to_string(),
    };
    if built.is_empty() {
        return Err(NameError(format!("metric name {name:?} is empty once translated")));
    }
    if built != name && built.bytes().all(|b| b == b'_') {
        return Err(NameError(format!("metric name {name:?} translates to the invalid name {built:?}")));
    }
    Ok(built)
}

/// The Prometheus label name of an OTLP attribute key.
pub fn label_name(key: &str, strategy: NameStrategy) -> Result<String, NameError> {
    if key.is_empty() {
        return Err(NameError("an attribute has an empty key".to_string()));
    }
    if !strategy.escapes() {
        if key.bytes().all(|b| b == b'_') {
            return Err(NameError(format!("attribute key {key:?} is only underscores")));
        }
        return Ok(key.to_string());
    }
    let mut name = sanitize_label(key);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "key_");
    }
    if name.bytes().all(|b| b == b'_') {
        return Err(NameError(format!(
            "attribute key {key:?} translates to the invalid label name {name:?}"
        )));
    }
    Ok(name)
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Every run of characters outside `[a-zA-Z0-9]` (underscores included) becomes one `_`;
/// a reserved `__x__` name keeps its double underscores around the sanitized inside.
fn sanitize_label(key: &str) -> String {
    let reserved = key.len() >= 4 && key.starts_with("__") && key.ends_with("__");
    let inner = if reserved { &key[2..key.len() - 2] } else { key };
    let mut out = String::with_capacity(key.len());
    let mut after_underscore = false;
    for c in inner.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            after_underscore = false;
        } else if !after_underscore {
            out.push('_');
            after_underscore = true;
        }
    }
    if reserved {
        format!("__{out}__")
    } else {
        out
    }
}

/// Escaping without suffixes: invalid characters split the name, joined again by `_`.
fn escaped_plain(name: &str) -> String {
    let parts: Vec<&str> =
        name.split(|c: char| !is_metric_char(c) && c != '_').filter(|p| !p.is_empty()).collect();
    let mut out = parts.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The full normalization: tokens of valid characters, unit tokens, `total` / `ratio`.
fn escaped_with_suffixes(name: &str, unit: &str, kind: MetricKind) -> String {
    let mut tokens: Vec<String> =
        name.split(|c: char| !is_metric_char(c)).filter(|t| !t.is_empty()).map(str::to_string).collect();
    let (main, per) = unit_words(unit);
    add_unit_tokens(&mut tokens, clean_unit(&main), clean_unit(&per));
    if kind == MetricKind::Counter {
        tokens.retain(|t| t != "total");
        tokens.push("total".to_string());
    }
    if unit == "1" && kind == MetricKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".to_string());
    }
    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Appends the unit words the name does not already hold.
fn add_unit_tokens(tokens: &mut Vec<String>, mut main: String, per: String) {
    if tokens.contains(&main) {
        main.clear();
    }
    let per = if per == "per_" {
        String::new()
    } else {
        let trimmed = per.trim_end_matches('_').to_string();
        if tokens.contains(&trimmed) {
            String::new()
        } else {
            trimmed
        }
    };
    if !per.is_empty() {
        main = main.trim_end_matches('_').to_string();
    }
    for word in [main, per] {
        if !word.is_empty() {
            tokens.push(word);
        }
    }
}

/// UTF-8 names with suffixes: the name as sent, then `_unit`, `_per_x`, `_total`, `_ratio`.
fn utf8_with_suffixes(name: &str, unit: &str, kind: MetricKind) -> String {
    let ratio = unit == "1" && kind == MetricKind::Gauge;
    let total = kind == MetricKind::Counter;
    let (main, per) = unit_words(unit);
    let mut base = name.to_string();
    if ratio {
        base = trim_suffix_word(&base, "ratio");
    }
    if total {
        base = trim_suffix_word(&base, "total");
    }
    if !per.is_empty() {
        base = trim_suffix_word(&base, &per);
    }
    if !main.is_empty() && !base.ends_with(&main) {
        base = format!("{base}_{main}");
    }
    if !per.is_empty() {
        base = format!("{base}_{per}");
    }
    if total {
        base.push_str("_total");
    }
    if ratio {
        base.push_str("_ratio");
    }
    base
}

/// `name` without a trailing `word` and the one delimiter before it (if more remains).
fn trim_suffix_word(name: &str, word: &str) -> String {
    if name.ends_with(word) && name.len() > word.len() + 1 {
        name[..name.len() - word.len() - 1].to_string()
    } else {
        name.to_string()
    }
}

/// A unit's main and "per" words (`By/s` → `bytes`, `per_second`); annotations in braces
/// (`{request}`) name no unit.
fn unit_words(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main, Some(per)),
        None => (unit, None),
    };
    let lookup = |table: &[(&str, &'static str)], u: &str| {
        table.iter().find(|(k, _)| *k == u).map_or_else(|| u.to_string(), |(_, v)| v.to_string())
    };
    let main = main.trim();
    let main_word =
        if main.is_empty() || main.contains(['{', '}']) { String::new() } else { lookup(UNITS, main) };
    let per_word = match per.map(str::trim) {
        Some(p) if !p.is_empty() && !p.contains(['{', '}']) => format!("per_{}", lookup(PER_UNITS, p)),
        _ => String::new(),
    };
    (main_word, per_word)
}

/// A unit word in classic characters: invalid characters become `_`, runs of `_` one, no
/// leading `_`.
fn clean_unit(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out.trim_start_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn prom(name: &str, unit: &str, kind: MetricKind) -> String {
        metric_name(name, unit, kind, NameStrategy::UnderscoreEscapingWithSuffixes).unwrap()
    }

    #[test]
    fn units_and_types_become_suffixes() {
        assert_eq!(
            prom("http.server.request.duration", "s", MetricKind::Other),
            "http_server_request_duration_seconds"
        );
        assert_eq!(prom("requests.count", "1", MetricKind::Counter), "requests_count_total");
        assert_eq!(prom("memory.usage", "By", MetricKind::Gauge), "memory_usage_bytes");
        assert_eq!(prom("cpu.utilization", "1", MetricKind::Gauge), "cpu_utilization_ratio");
        assert_eq!(prom("network.io", "By/s", MetricKind::Gauge), "network_io_bytes_per_second");
        assert_eq!(prom("requests", "{request}", MetricKind::Counter), "requests_total");
        assert_eq!(prom("requests_total", "", MetricKind::Counter), "requests_total");
        assert_eq!(prom("latency_seconds", "s", MetricKind::Other), "latency_seconds");
        assert_eq!(prom("2xx.count", "", MetricKind::Gauge), "_2xx_count");
        assert_eq!(prom("temp", "Cel", MetricKind::Gauge), "temp_celsius");
        assert_eq!(prom("odd", "m/x", MetricKind::Gauge), "odd_meters_per_x");
    }

    #[test]
    fn other_strategies() {
        let m = |s| metric_name("http.server.duration", "s", MetricKind::Counter, s).unwrap();
        assert_eq!(m(NameStrategy::UnderscoreEscapingWithoutSuffixes), "http_server_duration");
        assert_eq!(m(NameStrategy::NoUtf8EscapingWithSuffixes), "http.server.duration_seconds_total");
        assert_eq!(m(NameStrategy::NoTranslation), "http.server.duration");
        let ratio =
            metric_name("load_ratio", "1", MetricKind::Gauge, NameStrategy::NoUtf8EscapingWithSuffixes);
        assert_eq!(ratio.unwrap(), "load_ratio");
    }

    #[test]
    fn bad_names_are_errors() {
        assert!(
            metric_name("...", "", MetricKind::Gauge, NameStrategy::UnderscoreEscapingWithSuffixes).is_err()
        );
        assert!(label_name("", NameStrategy::NoTranslation).is_err());
        assert!(label_name("...", NameStrategy::UnderscoreEscapingWithSuffixes).is_err());
    }

    #[test]
    fn labels_are_sanitized() {
        let l = |k| label_name(k, NameStrategy::UnderscoreEscapingWithSuffixes).unwrap();
        assert_eq!(l("http.method"), "http_method");
        assert_eq!(l("123invalid"), "key_123invalid");
        assert_eq!(l("__reserved__"), "__reserved__");
        assert_eq!(l("a..b__c"), "a_b_c");
        assert_eq!(l("service.instance.id"), "service_instance_id");
        assert_eq!(label_name("http.method", NameStrategy::NoTranslation).unwrap(), "http.method");
    }

    proptest! {
        /// Escaped names are valid classic names (or an error), whatever the input.
        #[test]
        fn escaped_names_are_classic(name in "\\PC{0,20}", unit in "\\PC{0,6}", kind in 0..3usize) {
            let kind = [MetricKind::Counter, MetricKind::Gauge, MetricKind::Other][kind];
            if let Ok(n) = metric_name(&name, &unit, kind, NameStrategy::UnderscoreEscapingWithSuffixes) {
                prop_assert!(strata_model::is_legacy_metric_name(&n), "{n:?}");
            }
            if let Ok(n) = label_name(&name, NameStrategy::UnderscoreEscapingWithSuffixes) {
                prop_assert!(strata_model::is_legacy_label_name(&n), "{n:?}");
            }
        }
    }
}
