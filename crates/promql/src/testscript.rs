//! Prometheus' `.test` scripts — the PromQL conformance corpus — read into commands.
//!
//! Format (../shared/conformance/promql/README.md): lines are trimmed; `#` lines count as
//! blank; a blank line ends a block. `load <interval>` (or `load_with_nhcb`) is followed by
//! series lines (`description items…`, item i at i × interval; a `name{…}@st` line gives the
//! next series' start timestamps); `clear` drops all data; `eval instant at <t> <expr>` and
//! `eval range from <t> to <t> step <d> <expr>` (and the `eval_fail`, `eval_warn`,
//! `eval_info`, `eval_ordered` prefixes) are followed by `expect …` lines and the expected
//! result: a number (a scalar) or series lines (one value for an instant query, one per step
//! for a range query). Expressions are kept as text here; the engine parses them.

mod load;
mod nhcb;
mod notation;

pub use load::{load_into, Loaded};
pub use nhcb::{nhcb_histograms, HistogramSeries};

pub use notation::{
    expand_item, expand_start_time_item, parse_duration, parse_float, parse_series, quoted_string,
    split_items, Item,
};

use strata_model::Labels;

/// A series given in a `load` block or as an expected result.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSpec {
    /// Its labels (the metric name as `__name__`).
    pub labels: Labels,
    /// One item per step.
    pub items: Vec<Item>,
    /// Per item, its sample's start timestamp as an offset from the sample's time (`None`
    /// unknown), from the `name{…}@st` line before it; empty when it has none.
    pub start_times: Vec<Option<i64>>,
}

/// What an annotation or failure expectation requires of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageMatch {
    /// Any message.
    Any,
    /// Exactly this text.
    Exact(String),
    /// A match of this regular expression.
    Regex(String),
}

/// When the eval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// An instant query at this time (ms).
    Instant { at: i64 },
    /// A range query.
    Range { start: i64, end: i64, step: i64 },
}

/// What an eval expects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    /// The query must fail (with a matching message).
    pub fail: Option<MessageMatch>,
    /// Warnings that must be returned (an empty list with `warn` set: at least one).
    pub warn: Vec<MessageMatch>,
    /// Infos that must be returned.
    pub info: Vec<MessageMatch>,
    /// No warning may be returned.
    pub no_warn: bool,
    /// No info may be returned.
    pub no_info: bool,
    /// Result order matters.
    pub ordered: bool,
    /// The result is a range vector over `(from, to, step)`.
    pub range_vector: Option<(i64, i64, i64)>,
    /// The result is this string.
    pub string: Option<String>,
    /// The result is this scalar.
    pub scalar: Option<f64>,
    /// The result's series (empty: an empty result, unless another expectation says else).
    pub series: Vec<SeriesSpec>,
}

/// One `eval` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    /// 1-based line of the `eval`.
    pub line: usize,
    /// Instant or range.
    pub kind: EvalKind,
    /// The PromQL expression, as written.
    pub expr: String,
    /// What it must give.
    pub expect: Expectations,
}

/// One command of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Add series (`with_nhcb`: also convert classic histograms to custom-bucket ones).
    Load { line: usize, interval: i64, with_nhcb: bool, series: Vec<SeriesSpec> },
    /// Drop all data.
    Clear { line: usize },
    /// Run a query and check its result.
    Eval(Box<Eval>),
}

/// A script that does not follow the format, with the line where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// Reads a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, ScriptError> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .map(|(n, l)| (n, if l.starts_with('#') { "" } else { l }))
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (line, text) = lines[i];
        i += 1;
        if text.is_empty() {
            continue;
        }
        let err = |message: String| ScriptError { line, message };
        let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        if word.eq_ignore_ascii_case("clear") {
            // A one-line command: the next line may be a command of its own.
            commands.push(Command::Clear { line });
            continue;
        }
        let block_end = lines[i..].iter().position(|(_, l)| l.is_empty()).map_or(lines.len(), |p| i + p);
        let block = &lines[i..block_end];
        i = block_end;
        match word {
            "load" | "load_with_nhcb" => {
                let interval = parse_duration(rest.trim()).map_err(err)?;
                let series = load_series(block)?;
                commands.push(Command::Load { line, interval, with_nhcb: word == "load_with_nhcb", series });
            }
            "eval" | "eval_fail" | "eval_warn" | "eval_info" | "eval_ordered" => {
                commands.push(Command::Eval(Box::new(eval(line, word, rest, block)?)));
            }
            _ => return Err(err(format!("unknown command {word:?}"))),
        }
    }
    Ok(commands)
}

fn load_series(block: &[(usize, &str)]) -> Result<Vec<SeriesSpec>, ScriptError> {
    let mut out = Vec::new();
    let mut pending_start_times: Option<(Labels, Vec<Option<i64>>)> = None;
    for &(line, text) in block {
        let err = |message: String| ScriptError { line, message };
        let (labels, rest) = parse_series(text).map_err(err)?;
        if let Some(items) = rest.strip_prefix("@st") {
            let mut start_times = Vec::new();
            for item in split_items(items).map_err(err)? {
                start_times.extend(expand_start_time_item(item).map_err(err)?);
            }
            pending_start_times = Some((labels, start_times));
            continue;
        }
        let mut items = Vec::new();
        for item in split_items(rest).map_err(err)? {
            items.extend(expand_item(item).map_err(err)?);
        }
        let start_times = match pending_start_times.take() {
            Some((for_labels, start_times)) if for_labels == labels => start_times,
            Some(_) => return Err(err("a start-time line must come right before its series".into())),
            None => Vec::new(),
        };
        out.push(SeriesSpec { labels, items, start_times });
    }
    Ok(out)
}

fn message_match(text: &str) -> MessageMatch {
    let text = text.trim();
    if let Some(m) = text.strip_prefix("msg:") {
        MessageMatch::Exact(m.trim().to_string())
    } else if let Some(r) = text.strip_prefix("regex:") {
        MessageMatch::Regex(r.trim().to_string())
    } else {
        MessageMatch::Any
    }
}

fn eval(line: usize, word: &str, rest: &str, block: &[(usize, &str)]) -> Result<Eval, ScriptError> {
    let err = |message: String| ScriptError { line, message };
    let (kind, expr) = if let Some(rest) = rest.strip_prefix("instant at ") {
        let (at, expr) = rest.split_once(char::is_whitespace).ok_or_else(|| err("no expression".into()))?;
        (EvalKind::Instant { at: parse_duration(at).map_err(err)? }, expr)
    } else if let Some(rest) = rest.strip_prefix("range from ") {
        let words: Vec<&str> = rest.splitn(6, char::is_whitespace).collect();
        let [start, "to", end, "step", step, expr] = words.as_slice() else {
            return Err(err(format!("expected `range from T to T step D EXPR`, got {rest:?}")));
        };
        let d = |t: &str| parse_duration(t).map_err(err);
        (EvalKind::Range { start: d(start)?, end: d(end)?, step: d(step)? }, *expr)
    } else {
        return Err(err(format!("expected `instant at` or `range from` after {word}")));
    };
    let mut expect = Expectations::default();
    match word {
        "eval_fail" => expect.fail = Some(MessageMatch::Any),
        "eval_warn" => expect.warn.push(MessageMatch::Any),
        "eval_info" => expect.info.push(MessageMatch::Any),
        "eval_ordered" => expect.ordered = true,
        _ => {}
    }
    for &(line, text) in block {
        let err = |message: String| ScriptError { line, message };
        if let Some(what) = text.strip_prefix("expect ") {
            let (key, arg) = what.split_once(char::is_whitespace).unwrap_or((what, ""));
            match key {
                "fail" => expect.fail = Some(message_match(arg)),
                "warn" => expect.warn.push(message_match(arg)),
                "info" => expect.info.push(message_match(arg)),
                "no_warn" => expect.no_warn = true,
                "no_info" => expect.no_info = true,
                "ordered" => expect.ordered = true,
                "string" => expect.string = Some(quoted_string(arg.trim()).map_err(err)?.0),
                "range" => {
                    let words: Vec<&str> = arg.split_whitespace().collect();
                    let ["vector", "from", from, "to", to, "step", step] = words.as_slice() else {
                        return Err(err(format!("bad `expect range vector` line {text:?}")));
                    };
                    let d = |t: &str| parse_duration(t).map_err(err);
                    expect.range_vector = Some((d(from)?, d(to)?, d(step)?));
                }
                _ => return Err(err(format!("unknown expectation {key:?}"))),
            }
        } else if let Some(m) = text.strip_prefix("expected_fail_message ") {
            expect.fail = Some(MessageMatch::Exact(m.to_string()));
        } else if let Some(r) = text.strip_prefix("expected_fail_regexp ") {
            expect.fail = Some(MessageMatch::Regex(r.to_string()));
        } else if let Some(v) = parse_float(text) {
            expect.scalar = Some(v);
        } else {
            let (labels, rest) = parse_series(text).map_err(err)?;
            let mut items = Vec::new();
            for item in split_items(rest).map_err(err)? {
                items.extend(expand_item(item).map_err(err)?);
            }
            expect.series.push(SeriesSpec { labels, items, start_times: Vec::new() });
        }
    }
    Ok(Eval { line, kind, expr: expr.trim().to_string(), expect })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = r#"
load 10s
	metric{a="1"} 0+10x2 _ stale
	{"dotted.name"} 1

# a comment between blocks
eval instant at 20s metric
	metric{a="1"} 20

eval range from 0 to 30s step 10s metric
	expect no_warn
	metric{a="1"} 0 10 20 _

eval_fail instant at 0 missing(
  expect fail msg: parse error

eval instant at 1m scalar(metric)
	20

Clear
eval instant at 0 metric
"#;

    #[test]
    fn a_script_reads_into_its_commands() {
        let commands = parse_script(SCRIPT).unwrap();
        assert_eq!(commands.len(), 7, "`clear` takes no block: an eval may follow at once");
        let Command::Load { interval, series, .. } = &commands[0] else { panic!("{:?}", commands[0]) };
        assert_eq!(*interval, 10_000);
        assert_eq!(series[0].items.len(), 5);
        assert_eq!(series[1].labels.metric_name(), Some("dotted.name"));
        let Command::Eval(e) = &commands[1] else { panic!() };
        assert_eq!((e.line, e.kind, e.expr.as_str()), (7, EvalKind::Instant { at: 20_000 }, "metric"));
        assert_eq!(e.expect.series[0].items, [Item::Float(20.0)]);
        let Command::Eval(e) = &commands[2] else { panic!() };
        assert_eq!(e.kind, EvalKind::Range { start: 0, end: 30_000, step: 10_000 });
        assert!(e.expect.no_warn);
        assert_eq!(e.expect.series[0].items[3], Item::Empty);
        let Command::Eval(e) = &commands[3] else { panic!() };
        assert_eq!(e.expect.fail, Some(MessageMatch::Exact("parse error".into())));
        let Command::Eval(e) = &commands[4] else { panic!() };
        assert_eq!(e.expect.scalar, Some(20.0));
        assert_eq!(commands[5], Command::Clear { line: 20 });
    }

    #[test]
    fn bad_scripts_name_the_line() {
        let e = parse_script("load 10s\n  m 1\n\nevaluate x\n").unwrap_err();
        assert_eq!(e.line, 4);
        let e = parse_script("eval range from 0 to 1m metric\n").unwrap_err();
        assert!(e.message.contains("range from"), "{e}");
        let e = parse_script("load 10s\n  m 1+x\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
