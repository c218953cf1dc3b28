//! The conformance runner: plays a `.test` script against the engine and checks every eval
//! as Prometheus' own harness does — whole label sets, unordered unless `ordered`, values
//! within a relative 1e-6 (NaN equals NaN, a stale marker only a stale marker), exact
//! timestamps — and runs each instant eval a second time as a 3-step range query around its
//! time, whose middle step must give the same answer. Then, as Prometheus' harness, the
//! instant eval again with `@ <its time>` put on every selector and subquery that has none,
//! evaluated far before, at zero, between, at and far after its time (each with its range
//! re-run): the pinned answer must not move. Queries calling a function that reads the
//! evaluation time itself (`time()`, `timestamp()`, the date functions, `predict_linear`)
//! skip these re-runs, as there; so do those that read the query's own range (`start()`,
//! `end()`, `step()`, `range()`), which an instant query does not have.
//!
//! Native histograms are loaded and expected in the scripts' `{{…}}` notation and compared
//! as Prometheus' harness compares them (compact forms, values within 1e-6). Evals that use
//! the bucket trim operators `</` and `>/` (which the parser cannot read) or select a
//! series that `load_with_nhcb` would convert to custom-bucket histograms (not done yet) are
//! skipped. Annotation messages are compared without their trailing `(line:col)`: the parser
//! gives no positions.

use std::path::PathBuf;

use strata_promql_syntax::ast::AtModifier;

use strata_model::{is_stale_marker, Labels};

use crate::engine::{QueryEngine, QueryError, QueryResult, Range};
use crate::testscript::{
    load_into, nhcb_histograms, parse_script, Command, Eval, EvalKind, Item, MessageMatch, ScriptError,
};
use crate::{Expr, MemoryQueryable, QueryBounds, Value};

/// How an eval ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalStatus {
    Passed,
    Failed,
    /// Not played (the runner plays every eval today; reports keep the count).
    Skipped,
}

impl EvalStatus {
    /// `passed`, `failed` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalStatus::Passed => "passed",
            EvalStatus::Failed => "failed",
            EvalStatus::Skipped => "skipped",
        }
    }
}

/// One eval's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOutcome {
    /// 1-based line of the `eval`.
    pub line: usize,
    /// The expression.
    pub expr: String,
    pub status: EvalStatus,
    /// Why it failed or was skipped (empty when it passed).
    pub reason: String,
}

/// The `.test` scripts `paths` name: files as given, a directory's `*.test` files in name
/// order. A path that is neither is an error naming it.
pub fn script_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "test"))
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            let message = format!("{}: no such file or directory", path.display());
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, message));
        }
    }
    Ok(files)
}

/// Runs a whole script; a script that does not read is an error.
pub fn run_script(text: &str, engine: &QueryEngine) -> Result<Vec<EvalOutcome>, ScriptError> {
    let mut store = MemoryQueryable::new();
    let mut outcomes = Vec::new();
    for command in parse_script(text)? {
        match command {
            Command::Load { interval, with_nhcb, series, .. } => {
                load_into(&mut store, &series, interval);
                if with_nhcb {
                    // A histogram Prometheus could not convert fails its load; here it is
                    // left out, and the evals that read it fail instead.
                    let (histograms, _unconvertible) = nhcb_histograms(&series, interval);
                    for (labels, samples) in histograms {
                        for (t, h) in samples {
                            store.add_histogram(&labels, t, h);
                        }
                    }
                }
            }
            Command::Clear { .. } => store.clear(),
            Command::Eval(eval) => {
                let (status, reason) = match check_eval(&eval, &store, engine) {
                    Ok(()) => (EvalStatus::Passed, String::new()),
                    Err(reason) => (EvalStatus::Failed, reason),
                };
                outcomes.push(EvalOutcome { line: eval.line, expr: eval.expr.clone(), status, reason });
            }
        }
    }
    Ok(outcomes)
}

fn check_eval(eval: &Eval, store: &MemoryQueryable, engine: &QueryEngine) -> Result<(), String> {
    let bounds = match eval.kind {
        EvalKind::Instant { .. } => QueryBounds::default(),
        EvalKind::Range { start, end, step } => Range { start, end, step }.bounds(),
    };
    let expr = engine.parse(&eval.expr, bounds);
    match eval.kind {
        EvalKind::Instant { at } => {
            check_instant(eval, store, engine, expr.as_ref(), at)?;
            let Ok(expr) = &expr else { return Ok(()) };
            let Some(injected) = with_at(expr, at) else { return Ok(()) };
            for t in at_eval_times(at) {
                check_instant(eval, store, engine, Ok(&injected), t)
                    .map_err(|e| format!("with every selector at @ {}, evaluated at {}: {e}", at, t))?;
            }
            Ok(())
        }
        EvalKind::Range { start, end, step } => {
            let range = Range { start, end, step };
            let result = expr.and_then(|expr| engine.range_expr(store, &expr, range, None));
            let Some(result) = expected_outcome(eval, result)? else { return Ok(()) };
            check_annotations(eval, &result)?;
            check_value(eval, &result.value, start)
        }
    }
}

/// The result of a query that should succeed, `None` for one that failed as expected.
fn expected_outcome(
    eval: &Eval,
    result: Result<QueryResult, QueryError>,
) -> Result<Option<QueryResult>, String> {
    match (result, &eval.expect.fail) {
        (Err(e), Some(want)) if message_matches(want, &e.to_string()) => Ok(None),
        (Err(e), Some(want)) => Err(format!("failed with {:?}, expected {want:?}", e.to_string())),
        (Ok(_), Some(_)) => Err("expected the query to fail; it succeeded".into()),
        (Err(e), None) => Err(format!("query failed: {e}")),
        (Ok(r), None) => Ok(Some(r)),
    }
}

/// An instant eval at `at`, then (for unordered vector and scalar results) as a 3-step
/// range query around `at`.
fn check_instant(
    eval: &Eval,
    store: &MemoryQueryable,
    engine: &QueryEngine,
    expr: Result<&Expr, &QueryError>,
    at: i64,
) -> Result<(), String> {
    let result = expr.map_err(Clone::clone).and_then(|expr| engine.instant_expr(store, expr, at, None));
    let Some(result) = expected_outcome(eval, result)? else { return Ok(()) };
    check_annotations(eval, &result)?;
    check_value(eval, &result.value, at)?;
    let (Ok(expr), false) = (expr, eval.expect.ordered) else { return Ok(()) };
    if matches!(result.value, Value::Vector(_) | Value::Scalar { .. })
        && !calls_any(expr, &QUERY_RANGE_FUNCTIONS)
    {
        check_as_range(eval, store, engine, expr, at)?;
    }
    Ok(())
}

/// Functions that give the query's own range (experimental): an instant query has none,
/// so the 3-step range re-run of an instant eval would answer otherwise by design.
const QUERY_RANGE_FUNCTIONS: [&str; 4] = ["start", "end", "step", "range"];

/// Whether `expr` calls one of `names`.
fn calls_any(expr: &Expr, names: &[&str]) -> bool {
    let any = |e: &Expr| calls_any(e, names);
    match expr {
        Expr::Call(call) => names.contains(&call.func.as_str()) || call.args.iter().any(any),
        Expr::Aggregate(agg) => any(&agg.expr) || agg.param.as_deref().is_some_and(any),
        Expr::Unary(u) => any(&u.expr),
        Expr::Binary(b) => any(&b.lhs) || any(&b.rhs),
        Expr::Paren(p) => any(&p.expr),
        Expr::Subquery(sq) => any(&sq.expr),
        Expr::MatrixSelector(_) | Expr::VectorSelector(_) | Expr::Number(_) | Expr::String(_) => false,
    }
}

/// Functions whose result changes with the evaluation time even when every selector has
/// an `@` (Prometheus' `AtModifierUnsafeFunctions`, with `start()` and `end()`, which are
/// the evaluation time in an instant query).
const AT_UNSAFE_FUNCTIONS: [&str; 13] = [
    "start",
    "end",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// The evaluation times of the `@`-injected re-runs of an instant eval at `at` (as
/// Prometheus' harness: far before, at zero, between, at, and far after).
fn at_eval_times(at: i64) -> Vec<i64> {
    if at == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * at, 0, at / 5, at, 10 * at]
    }
}

/// `expr` with `@ at` on every selector and subquery that has none, leaving alone what
/// sits inside a subquery that has one; `None` when it calls a function that depends on
/// the evaluation time anyway (Prometheus' harness skips those too).
fn with_at(expr: &Expr, at: i64) -> Option<Expr> {
    let mut out = expr.clone();
    let mut unsafe_call = false;
    set_at(&mut out, &at_modifier(at), &mut unsafe_call);
    (!unsafe_call).then_some(out)
}

fn at_modifier(at: i64) -> AtModifier {
    AtModifier::Timestamp(at)
}

fn set_at(expr: &mut Expr, at: &AtModifier, unsafe_call: &mut bool) {
    match expr {
        Expr::VectorSelector(vs) => {
            vs.at.get_or_insert(*at);
        }
        Expr::MatrixSelector(ms) => {
            ms.selector.at.get_or_insert(*at);
        }
        // The subquery is at `at` now (or was already at its own time): its inside stays.
        Expr::Subquery(sq) => {
            sq.at.get_or_insert(*at);
        }
        Expr::Call(call) => {
            *unsafe_call |= AT_UNSAFE_FUNCTIONS.contains(&call.func.as_str());
            for arg in call.args.iter_mut() {
                set_at(arg, at, unsafe_call);
            }
        }
        Expr::Aggregate(agg) => {
            set_at(&mut agg.expr, at, unsafe_call);
            if let Some(param) = agg.param.as_mut() {
                set_at(param, at, unsafe_call);
            }
        }
        Expr::Unary(u) => set_at(&mut u.expr, at, unsafe_call),
        Expr::Binary(b) => {
            set_at(&mut b.lhs, at, unsafe_call);
            set_at(&mut b.rhs, at, unsafe_call);
        }
        Expr::Paren(p) => set_at(&mut p.expr, at, unsafe_call),
        Expr::Number(_) | Expr::String(_) => {}
    }
}

/// The instant eval as a range query from `at − 1m` to `at + 1m`: the middle step must give
/// the same answer.
fn check_as_range(
    eval: &Eval,
    store: &MemoryQueryable,
    engine: &QueryEngine,
    expr: &Expr,
    at: i64,
) -> Result<(), String> {
    let range = Range { start: at - 60_000, end: at + 60_000, step: 60_000 };
    let result =
        engine.range_expr(store, expr, range, None).map_err(|e| format!("as a range query: failed: {e}"))?;
    let Value::Matrix(series) = result.value else {
        return Err("as a range query: the result is not a matrix".into());
    };
    let middle: Vec<crate::Sample> = series
        .into_iter()
        .filter_map(|s| {
            if let Some(p) = s.points.iter().find(|p| p.0 == at) {
                return Some(crate::Sample { labels: s.labels, t: at, v: p.1, h: None });
            }
            let h = s.histograms.into_iter().find(|h| h.0 == at)?.1;
            Some(crate::Sample { labels: s.labels, t: at, v: 0.0, h: Some(h) })
        })
        .collect();
    let value = match eval.expect.scalar {
        Some(_) => Value::Scalar { t: at, v: middle.first().map_or(f64::NAN, |s| s.v) },
        None => Value::Vector(middle),
    };
    check_value(eval, &value, at).map_err(|e| format!("as a range query: {e}"))
}

fn check_annotations(eval: &Eval, result: &QueryResult) -> Result<(), String> {
    let e = &eval.expect;
    for (kind, wanted, got, none) in
        [("warning", &e.warn, &result.warnings, e.no_warn), ("info", &e.info, &result.infos, e.no_info)]
    {
        if none && !got.is_empty() {
            return Err(format!("expected no {kind}, got {got:?}"));
        }
        if !wanted.is_empty() && got.is_empty() {
            return Err(format!("expected a {kind}, got none"));
        }
        for want in wanted {
            if !got.iter().any(|g| message_matches(want, g)) {
                return Err(format!("expected {kind} {want:?}, got {got:?}"));
            }
        }
    }
    Ok(())
}

/// Whether `message` is what `want` asks for (a trailing `(line:col)` is not compared).
fn message_matches(want: &MessageMatch, message: &str) -> bool {
    match want {
        MessageMatch::Any => true,
        MessageMatch::Exact(text) => strip_position(text) == strip_position(message),
        MessageMatch::Regex(re) => {
            let re = strip_regex_position(re);
            regex::Regex::new(re).is_ok_and(|r| r.is_match(message))
        }
    }
}

/// A pattern without its final ` \(…:…\)` (the expected position, written as a regex).
fn strip_regex_position(re: &str) -> &str {
    match (re.rfind(r" \("), re.ends_with(r"\)")) {
        (Some(open), true) if re[open..].contains(':') => &re[..open],
        _ => re,
    }
}

fn strip_position(text: &str) -> &str {
    let t = text.trim_end();
    if let Some(open) = t.rfind(" (") {
        let inner = &t[open + 2..];
        if let Some(pos) = inner.strip_suffix(')') {
            if pos.split(':').count() == 2
                && pos.split(':').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                return &t[..open];
            }
        }
    }
    t
}

/// Whether `value` is what the eval expects; an instant result's samples must carry the
/// evaluation time `at`.
fn check_value(eval: &Eval, value: &Value, at: i64) -> Result<(), String> {
    let e = &eval.expect;
    if let Some(want) = &e.string {
        return match value {
            Value::String { s, .. } if s == want => Ok(()),
            other => Err(format!("expected string {want:?}, got {other:?}")),
        };
    }
    if let Some(want) = e.scalar {
        return match value {
            Value::Scalar { v, .. } if values_equal(want, *v) => Ok(()),
            other => Err(format!("expected scalar {want}, got {}", describe(other))),
        };
    }
    match (eval.kind, value) {
        (EvalKind::Instant { .. }, Value::Vector(samples)) if e.range_vector.is_none() => {
            let want: Vec<(Labels, Point)> = e
                .series
                .iter()
                .map(|s| match s.items.as_slice() {
                    [Item::Float(v)] => Ok((s.labels.clone(), Point::Float(*v))),
                    [Item::Histogram(h)] => Ok((s.labels.clone(), Point::Histogram(h.clone()))),
                    other => Err(format!("an instant result needs one value per series, got {other:?}")),
                })
                .collect::<Result<_, _>>()?;
            let got: Vec<(Labels, Point)> = samples
                .iter()
                .map(|s| {
                    let point = s.h.as_ref().map_or(Point::Float(s.v), |h| Point::Histogram((**h).clone()));
                    (s.labels.clone(), point)
                })
                .collect();
            if samples.iter().any(|s| s.t != at) {
                return Err("a sample's timestamp is not the evaluation time".into());
            }
            compare_samples(&want, &got, e.ordered)
        }
        (EvalKind::Instant { .. }, Value::Matrix(series))
            if e.range_vector.is_some() || e.series.is_empty() =>
        {
            let (from, to, step) = e.range_vector.unwrap_or((0, 0, 1));
            compare_matrix(eval, series, from, step, to)
        }
        (EvalKind::Range { start, end, step }, Value::Matrix(series)) => {
            compare_matrix(eval, series, start, step, end)
        }
        (_, other) => Err(format!("unexpected result type {}: {}", other.type_name(), describe(other))),
    }
}

/// A float or a histogram, compared as Prometheus' harness compares them.
#[derive(Debug, Clone)]
enum Point {
    Float(f64),
    Histogram(strata_model::histogram::FloatHistogram),
}

impl Point {
    fn matches(&self, got: &Point) -> bool {
        match (self, got) {
            (Point::Float(w), Point::Float(g)) => values_equal(*w, *g),
            (Point::Histogram(w), Point::Histogram(g)) => histograms_equal(w, g),
            _ => false,
        }
    }
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Point::Float(v) => write!(f, "{v}"),
            Point::Histogram(h) => f.write_str(&crate::native_histogram::format_histogram(h)),
        }
    }
}

/// Histograms compared in their compact forms: schema, zero threshold, counts, sum and
/// every non-empty bucket within a relative 1e-6, custom bounds exactly; the counter-reset
/// hint only when the expected one says more than "unknown".
fn histograms_equal(
    want: &strata_model::histogram::FloatHistogram,
    got: &strata_model::histogram::FloatHistogram,
) -> bool {
    use crate::native_histogram::arith::compact;
    use strata_model::histogram::CounterResetHint;
    let (w, g) = (compact(want), compact(got));
    let close =
        |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_equal(*x, *y));
    let hint_ok =
        w.counter_reset_hint == CounterResetHint::Unknown || w.counter_reset_hint == g.counter_reset_hint;
    hint_ok
        && w.schema == g.schema
        && close(
            &[w.zero_threshold, w.zero_count, w.count, w.sum],
            &[g.zero_threshold, g.zero_count, g.count, g.sum],
        )
        && w.positive_spans == g.positive_spans
        && w.negative_spans == g.negative_spans
        && close(&w.positive_buckets, &g.positive_buckets)
        && close(&w.negative_buckets, &g.negative_buckets)
        && w.custom_values == g.custom_values
}

fn compare_samples(want: &[(Labels, Point)], got: &[(Labels, Point)], ordered: bool) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!("expected {} series, got {}: {}", want.len(), got.len(), list(got)));
    }
    for (i, (labels, v)) in want.iter().enumerate() {
        let found =
            if ordered { got.get(i).filter(|g| g.0 == *labels) } else { got.iter().find(|g| g.0 == *labels) };
        match found {
            None if ordered => return Err(format!("expected {labels} at position {i}, got {}", list(got))),
            None => return Err(format!("expected series {labels} missing; got {}", list(got))),
            Some((_, g)) if !v.matches(g) => return Err(format!("{labels}: expected {v}, got {g}")),
            Some(_) => {}
        }
    }
    Ok(())
}

fn compare_matrix(
    eval: &Eval,
    got: &[crate::RangeSeries],
    start: i64,
    step: i64,
    end: i64,
) -> Result<(), String> {
    let mut want: Vec<(Labels, Vec<(i64, Point)>)> = Vec::new();
    for s in &eval.expect.series {
        let mut points = Vec::new();
        for (i, item) in s.items.iter().enumerate() {
            let t = start + i as i64 * step;
            match item {
                Item::Float(v) => points.push((t, Point::Float(*v))),
                Item::Empty => {}
                Item::Histogram(h) => points.push((t, Point::Histogram(h.clone()))),
            }
            if t > end {
                return Err(format!("expected series {} has more points than steps", s.labels));
            }
        }
        want.push((s.labels.clone(), points));
    }
    if want.len() != got.len() {
        let names: Vec<String> = got.iter().map(|s| s.labels.to_string()).collect();
        return Err(format!("expected {} series, got {}: [{}]", want.len(), got.len(), names.join(", ")));
    }
    if got.windows(2).any(|w| w[0].labels > w[1].labels) {
        return Err("range result is not sorted by labels".into());
    }
    for (labels, points) in &want {
        let Some(g) = got.iter().find(|g| g.labels == *labels) else {
            return Err(format!("expected series {labels} missing"));
        };
        let mut got_points: Vec<(i64, Point)> = g.points.iter().map(|p| (p.0, Point::Float(p.1))).collect();
        got_points.extend(g.histograms.iter().map(|h| (h.0, Point::Histogram((*h.1).clone()))));
        got_points.sort_by_key(|p| p.0);
        let same = got_points.len() == points.len()
            && got_points.iter().zip(points).all(|(a, b)| a.0 == b.0 && b.1.matches(&a.1));
        if !same {
            let show = |p: &[(i64, Point)]| {
                p.iter().map(|(t, v)| format!("{v} @{t}")).collect::<Vec<_>>().join(", ")
            };
            return Err(format!("{labels}: expected [{}], got [{}]", show(points), show(&got_points)));
        }
    }
    Ok(())
}

/// Prometheus' test comparison: equal, or both NaN (a stale marker only equals a stale
/// marker), or within a relative 1e-6.
pub(crate) fn values_equal(want: f64, got: f64) -> bool {
    if is_stale_marker(want) || is_stale_marker(got) {
        return is_stale_marker(want) && is_stale_marker(got);
    }
    crate::eval::almost_equal(want, got, 1e-6)
}

fn list(got: &[(Labels, Point)]) -> String {
    let items: Vec<String> = got.iter().map(|(l, v)| format!("{l} {v}")).collect();
    format!("[{}]", items.join(", "))
}

fn describe(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.trim_end().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn injected(query: &str, at: i64) -> Option<String> {
        with_at(&parse(query).unwrap(), at).map(|e| e.to_string())
    }

    #[test]
    fn at_goes_on_every_selector_and_subquery_but_not_inside_one_that_has_it() {
        let got = injected("sum(rate(m[5m])) + on() n offset 1m", 10_000).unwrap();
        assert_eq!(got.matches("@ 10").count(), 2, "{got}");
        let got = injected("max_over_time(rate(m[1m])[5m:1m]) / m @ 5", 10_000).unwrap();
        assert!(got.contains("[5m:1m] @ 10"), "the subquery gets it: {got}");
        assert!(got.contains("rate(m[1m])"), "its inside does not: {got}");
        assert!(got.contains("m @ 5"), "a selector keeps its own: {got}");
        let got = injected("rate(m[1m] @ 3)[5m:1m] @ 7", 10_000).unwrap();
        assert!(!got.contains("@ 10"), "{got}");
        assert_eq!(injected("time() - m", 10_000), None, "time() depends on the evaluation time");
        assert_eq!(injected("timestamp(m)", 10_000), None);
        assert!(injected("-m @ start()", -5_000).unwrap().contains("@ start()"));
        // Before the epoch.
        let Some(Expr::Unary(u)) = with_at(&parse("-m").unwrap(), -5_000) else { panic!() };
        let Expr::VectorSelector(vs) = *u.expr else { panic!() };
        assert_eq!(vs.at, Some(AtModifier::Timestamp(-5_000)));
    }

    #[test]
    fn re_runs_are_at_prometheus_times() {
        assert_eq!(at_eval_times(0), [-1000, 0, 1000]);
        assert_eq!(at_eval_times(7), [-70, 0, 1, 7, 70]);
    }

    /// The re-runs evaluate at negative times, at zero and far after the data: answers the
    /// `@` pins must come out the same there (the engine must not, say, clip a selection to
    /// the evaluation time).
    #[test]
    fn pinned_answers_hold_at_every_re_run_time() {
        let engine = QueryEngine::new(crate::EngineOptions::conformance());
        let script = "load 1m\n  m 0+1x20\n\neval instant at 10m m\n  m 10\n\n\
eval instant at 10m sum(rate(m[5m])) * 60\n  {} 1\n\n\
eval instant at 0m m\n  m 0\n\n\
eval instant at 10m max_over_time(m[3m:1m])\n  {} 10\n";
        let outcomes = run_script(script, &engine).unwrap();
        assert_eq!(outcomes.len(), 4);
        assert!(outcomes.iter().all(|o| o.status == EvalStatus::Passed), "{outcomes:?}");
    }
}
