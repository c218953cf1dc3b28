//! The `strata mem` command language.
//!
//! ```text
//! INSERT <metric> [tag=value ...] <timestamp> <value>
//! QUERY <selector> [FROM <timestamp> TO <timestamp>]
//! SERIES [<selector>]
//! STATS | HELP | EXIT | QUIT
//! ```
//! A selector is `metric`, `metric{tag=value,...}` or `{tag=value,...}`; a tag test may use
//! `=`, `!=`, `=~` or `!~` with PromQL's meaning, and a value may be quoted ("a b", with `\"`
//! and `\\` escapes). Keywords are case-insensitive. Values accept `NaN`, `Inf`, `+Inf`, `-Inf`.

use strata_model::{Labels, Matcher, METRIC_NAME_LABEL};

pub(crate) use crate::selector::parse_selector;

/// One parsed command.
#[derive(Debug)]
pub(crate) enum Command {
    Insert { labels: Labels, t: i64, v: f64 },
    Query { matchers: Vec<Matcher>, from: i64, to: i64 },
    Series { matchers: Vec<Matcher> },
    Stats,
    Help,
    Exit,
    Empty,
}

pub(crate) const HELP: &str = "\
INSERT <metric> [tag=value ...] <timestamp> <value>   add a point
QUERY <selector> [FROM <ts> TO <ts>]                  points of every matching series, merged by time
SERIES [<selector>]                                   list series and their point counts
STATS                                                 series, points and memory
HELP | EXIT | QUIT
A selector is metric, metric{tag=value,...} or {tag=value,...}; tests may use = != =~ !~.";

/// Parses one input line; the error is the one line shown to the user.
pub(crate) fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    match keyword.to_ascii_uppercase().as_str() {
        "" => Ok(Command::Empty),
        "INSERT" => parse_insert(rest),
        "QUERY" => parse_query(rest),
        "SERIES" if rest.is_empty() => Ok(Command::Series { matchers: Vec::new() }),
        "SERIES" => Ok(Command::Series { matchers: parse_selector(rest)? }),
        "STATS" => Ok(Command::Stats),
        "HELP" | "?" => Ok(Command::Help),
        "EXIT" | "QUIT" => Ok(Command::Exit),
        other => Err(format!("unknown command {other:?} (try HELP)")),
    }
}

fn parse_insert(rest: &str) -> Result<Command, String> {
    const USAGE: &str = "INSERT needs <metric> [tag=value ...] <timestamp> <value>";
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [metric, tags @ .., t, v] = words.as_slice() else {
        return Err(format!("{USAGE}; got {} word(s)", words.len()));
    };
    let mut pairs = vec![(METRIC_NAME_LABEL.to_string(), metric.to_string())];
    for tag in tags {
        let Some((name, value)) = tag.split_once('=') else {
            return Err(format!("tag {tag:?} is not name=value ({USAGE})"));
        };
        pairs.push((name.to_string(), value.to_string()));
    }
    let labels = Labels::from_pairs(pairs).map_err(|e| e.to_string())?;
    let t = t.parse().map_err(|_| format!("timestamp {t:?} is not an integer"))?;
    let v = parse_value(v)?;
    Ok(Command::Insert { labels, t, v })
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" | "+inf" | "inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("value {text:?} is not a number")),
    }
}

fn parse_query(rest: &str) -> Result<Command, String> {
    let upper = rest.to_ascii_uppercase();
    // The selector may hold quoted spaces; FROM/TO are taken from the end.
    let (selector, range) = match upper.rfind(" FROM ") {
        Some(at) => (&rest[..at], Some(&rest[at + 6..])),
        None => (rest, None),
    };
    if selector.trim().is_empty() {
        return Err("QUERY needs a selector, e.g. QUERY cpu.usage{host=server1} FROM 0 TO 100".into());
    }
    let matchers = parse_selector(selector.trim())?;
    let (from, to) = match range {
        None => (i64::MIN, i64::MAX),
        Some(range) => {
            let words: Vec<&str> = range.split_whitespace().collect();
            match words.as_slice() {
                [from, to_kw, to] if to_kw.eq_ignore_ascii_case("TO") => (
                    from.parse().map_err(|_| format!("FROM {from:?} is not an integer timestamp"))?,
                    to.parse().map_err(|_| format!("TO {to:?} is not an integer timestamp"))?,
                ),
                _ => return Err("expected FROM <timestamp> TO <timestamp>".into()),
            }
        }
    };
    if from > to {
        return Err(format!("FROM {from} is after TO {to}"));
    }
    Ok(Command::Query { matchers, from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_session() {
        let Ok(Command::Insert { labels, t, v }) =
            parse("INSERT cpu.usage host=server1 region=us-east 1703001600 0.75")
        else {
            panic!("insert did not parse");
        };
        assert_eq!(labels.seed_key(), "cpu.usage|host=server1|region=us-east");
        assert_eq!((t, v), (1703001600, 0.75));
        let Ok(Command::Query { matchers, from, to }) =
            parse("query cpu.usage{host=server1} FROM 1703001600 TO 1703001620")
        else {
            panic!("query did not parse");
        };
        assert_eq!(matchers.len(), 2);
        assert_eq!((from, to), (1703001600, 1703001620));
    }

    #[test]
    fn selectors_take_operators_and_quotes() {
        let m = parse_selector(r#"{host=~"web-.*", dc!="a,b", path="x \"y\""}"#).unwrap();
        assert_eq!(
            m.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            [r#"host=~"web-.*""#, r#"dc!="a,b""#, r#"path="x \"y\"""#]
        );
        assert!(m[0].matches("web-1") && !m[0].matches("db"));
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        let cases = [
            ("INSERT cpu 1", "got 2 word(s)"),
            ("INSERT cpu host 1 2", "not name=value"),
            ("INSERT cpu 1.5 2", "not an integer"),
            ("INSERT cpu 1 abc", "not a number"),
            ("INSERT cpu a=1 a=2 1 2", "duplicate label"),
            ("QUERY", "needs a selector"),
            ("QUERY cpu{host=a", "without a closing"),
            ("QUERY cpu FROM 5 TO 1", "after TO"),
            ("QUERY cpu FROM x TO 1", "not an integer"),
            ("QUERY cpu{host=~\"(\"}", "invalid regular expression"),
            ("QUERY {}", "empty selector"),
            ("FROB", "unknown command"),
        ];
        for (line, want) in cases {
            let err = parse(line).unwrap_err();
            assert!(err.contains(want), "{line:?}: {err:?} lacks {want:?}");
            assert!(!err.contains('\n'), "one line only");
        }
    }

    #[test]
    fn special_values_parse() {
        for (text, bits) in [
            ("NaN", f64::NAN.to_bits()),
            ("+Inf", f64::INFINITY.to_bits()),
            ("-Inf", f64::NEG_INFINITY.to_bits()),
        ] {
            let Ok(Command::Insert { v, .. }) = parse(&format!("INSERT m 1 {text}")) else {
                panic!("{text}")
            };
            assert_eq!(v.to_bits(), bits);
        }
    }
}
