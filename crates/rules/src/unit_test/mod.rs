//! `strata test rules`: Prometheus' rule unit tests, run as promtool runs them
//! (../shared/specs/alerting-notes.md, section 2.1).
//!
//! Per test group: the input series are loaded at `start + i × interval`; every rule group
//! is evaluated at every `evaluation_interval` step from the start to the latest `eval_time`
//! of the group's tests (alerting rules count as restored, so `ALERTS` is written from the
//! first step); an alert test at time t is checked against the firing alerts after the
//! evaluation of the step t falls in; expression tests run afterwards, over inputs and
//! everything the rules wrote. A rule evaluation error fails the test group.

mod report;
mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_model::Labels;
use strata_promql::testscript::{expand_item, parse_series, split_items, Item};
use strata_promql::{EngineOptions, QueryEngine, Value};

use crate::alert::AlertState;
use crate::context::{label_map, EvalContext, LocalQuerier};
use crate::duration::parse_duration_ms;
use crate::file::{load_file, ParseOptions};
use crate::group::Group;
use crate::storage::{MemoryStorage, SampleSink};

pub use report::format_failures;
pub use spec::TestFile;

/// How `strata test rules` runs.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Only groups whose name matches one of these (`--run`).
    pub run: Vec<regex::Regex>,
    /// `--ignore-unknown-fields`.
    pub ignore_unknown_fields: bool,
    /// The PromQL features rules and tests may use.
    pub promql: EngineOptions,
}

/// The outcome of one test file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileOutcome {
    /// Errors that stopped the file before any test ran (unreadable file, bad rule file).
    pub errors: Vec<String>,
    /// Test groups run, with what failed in each (empty: passed).
    pub groups: Vec<(String, Vec<String>)>,
}

impl FileOutcome {
    pub fn passed(&self) -> bool {
        self.errors.is_empty() && self.groups.iter().all(|(_, failures)| failures.is_empty())
    }
}

/// Runs one test file.
pub fn run_file(path: &Path, options: &TestOptions) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            outcome.errors.push(format!("{}: {e}", path.display()));
            return outcome;
        }
    };
    let file = match spec::parse(&text, options.ignore_unknown_fields) {
        Ok(f) => f,
        Err(e) => {
            outcome.errors.push(format!("{}: {e}", path.display()));
            return outcome;
        }
    };
    let interval = match file.evaluation_interval.as_deref().map(parse_duration_ms).transpose() {
        Ok(i) => i.unwrap_or(60_000),
        Err(e) => {
            outcome.errors.push(format!("evaluation_interval: {e}"));
            return outcome;
        }
    };
    let groups = match load_groups(path, &file, interval, options) {
        Ok(g) => g,
        Err(errors) => {
            outcome.errors = errors;
            return outcome;
        }
    };
    for test in &file.tests {
        if !options.run.is_empty() && !options.run.iter().any(|r| r.is_match(&test.name)) {
            continue;
        }
        let failures =
            run_group(test, &groups, interval, file.fuzzy_compare, options).unwrap_or_else(|e| vec![e]);
        outcome.groups.push((test.name.clone(), failures));
    }
    outcome
}

/// The rule groups of the file's `rule_files` (relative to the test file, globs allowed),
/// in `group_eval_order` when given, else by file and name.
fn load_groups(
    path: &Path,
    file: &TestFile,
    interval: i64,
    options: &TestOptions,
) -> Result<Vec<Group>, Vec<String>> {
    let base = path.parent().unwrap_or(Path::new("."));
    let parse =
        ParseOptions { ignore_unknown_fields: options.ignore_unknown_fields, promql: options.promql.clone() };
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for pattern in &file.rule_files {
        for rule_file in expand_glob(&base.join(pattern)) {
            match load_file(&rule_file, &parse) {
                Ok(f) => groups.extend(f.groups.iter().map(|g| Group::new(g, interval, 0))),
                Err(e) => errors.extend(e.errors),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let rank = |g: &Group| file.group_eval_order.iter().position(|n| *n == g.name).unwrap_or(usize::MAX);
    groups.sort_by(|a, b| (rank(a), &a.file, &a.name).cmp(&(rank(b), &b.file, &b.name)));
    Ok(groups)
}

/// Files a path with `*`, `?` or `[…]` in its last part names (the path itself otherwise).
pub fn expand_glob(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if !name.contains(['*', '?', '[']) {
        return vec![pattern.to_path_buf()];
    }
    let regex_text: String = name
        .chars()
        .map(|c| match c {
            '*' => "[^/]*".to_string(),
            '?' => "[^/]".to_string(),
            '[' | ']' => c.to_string(),
            c => regex::escape(&c.to_string()),
        })
        .collect();
    let Ok(re) = regex::Regex::new(&format!("^{regex_text}$")) else { return Vec::new() };
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| re.is_match(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn run_group(
    test: &spec::TestGroup,
    groups: &[Group],
    eval_interval: i64,
    fuzzy: bool,
    options: &TestOptions,
) -> Result<Vec<String>, String> {
    let start = test.start_timestamp.as_deref().map(parse_start).transpose()?.unwrap_or(0);
    let interval = test.interval.as_deref().map(parse_duration_ms).transpose()?.unwrap_or(eval_interval);
    let storage = MemoryStorage::default();
    load_series(&storage, test, start, interval)?;
    let engine =
        QueryEngine::new(EngineOptions { default_subquery_step_ms: eval_interval, ..options.promql.clone() });
    let querier = LocalQuerier { storage: &storage, engine: &engine, cache: None };
    let ctx = EvalContext {
        querier: &querier,
        sink: &storage,
        external_labels: &test.external_labels,
        external_url: &test.external_url,
    };
    let mut groups: Vec<Group> = groups.to_vec();
    for g in &mut groups {
        g.mark_restored();
    }
    let mut alert_tests: Vec<(i64, &spec::AlertTest)> = Vec::new();
    for t in &test.alert_rule_test {
        alert_tests.push((parse_duration_ms(&t.eval_time)?, t));
    }
    let mut expr_tests: Vec<(i64, &spec::ExprTest)> = Vec::new();
    for t in &test.promql_expr_test {
        expr_tests.push((parse_duration_ms(&t.eval_time)?, t));
    }
    let last = alert_tests.iter().map(|t| t.0).chain(expr_tests.iter().map(|t| t.0)).max().unwrap_or(0);
    let mut failures = Vec::new();
    let mut ts = start;
    while ts <= start + last {
        for g in &mut groups {
            if let Some(e) = g.evaluate(ts, &ctx).into_iter().next() {
                return Ok(vec![format!(
                    "    rule: {}, time: {}, err: {}",
                    e.rule,
                    report::duration(ts - start),
                    e.error
                )]);
            }
        }
        for (at, t) in &alert_tests {
            if start + at >= ts && start + at < ts + eval_interval {
                failures.extend(check_alerts(t, *at, &groups));
            }
        }
        ts += eval_interval;
    }
    for (at, t) in expr_tests {
        failures.extend(check_expr(t, start + at, at, &storage, &engine, fuzzy));
    }
    Ok(failures.into_iter().map(|f| format!("    name: {},\n{f}", test.name)).collect())
}

fn load_series(
    storage: &MemoryStorage,
    test: &spec::TestGroup,
    start: i64,
    interval: i64,
) -> Result<(), String> {
    let mut samples = Vec::new();
    for input in &test.input_series {
        let (labels, rest) =
            parse_series(&input.series).map_err(|e| format!("bad input series {:?}: {e}", input.series))?;
        if !rest.trim().is_empty() {
            return Err(format!("bad input series {:?}: unexpected {rest:?}", input.series));
        }
        let mut i = 0i64;
        for item in split_items(&input.values)? {
            for value in expand_item(item).map_err(|e| format!("bad input series {:?}: {e}", input.series))? {
                match value {
                    Item::Float(v) => samples.push((labels.clone(), start + i * interval, v)),
                    Item::Histogram(_) => {
                        return Err(format!(
                            "input series {:?}: native histograms are not supported yet",
                            input.series
                        ))
                    }
                    Item::Empty => {}
                }
                i += 1;
            }
        }
    }
    storage.append_samples(&samples)
}

/// `start_timestamp`: Unix seconds or RFC 3339, as ms.
fn parse_start(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.trim().parse::<f64>() {
        return Ok((seconds * 1000.0).round() as i64);
    }
    crate::duration::parse_rfc3339_ms(text)
        .ok_or_else(|| format!("start_timestamp: cannot parse {text:?} as Unix seconds or RFC 3339"))
}

fn check_alerts(test: &spec::AlertTest, at: i64, groups: &[Group]) -> Option<String> {
    let mut got: Vec<(BTreeMap<String, String>, BTreeMap<String, String>)> = groups
        .iter()
        .flat_map(Group::alerting_rules)
        .filter(|r| r.name == test.alertname)
        .flat_map(|r| r.active.values())
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| (label_map(&a.labels), a.annotations.clone()))
        .collect();
    let mut expected: Vec<(BTreeMap<String, String>, BTreeMap<String, String>)> = test
        .exp_alerts
        .iter()
        .map(|e| {
            let mut labels = e.exp_labels.clone();
            labels.insert("alertname".into(), test.alertname.clone());
            (labels, e.exp_annotations.clone())
        })
        .collect();
    got.sort();
    expected.sort();
    (got != expected).then(|| report::alert_mismatch(&test.alertname, at, &expected, &got))
}

fn check_expr(
    test: &spec::ExprTest,
    t: i64,
    at: i64,
    storage: &MemoryStorage,
    engine: &QueryEngine,
    fuzzy: bool,
) -> Option<String> {
    let got = match engine.instant(storage, &test.expr, t) {
        Ok(r) => match r.value {
            Value::Vector(samples) => samples.into_iter().map(|s| (s.labels, s.v)).collect::<Vec<_>>(),
            Value::Scalar { v, .. } => vec![(Labels::empty(), v)],
            other => {
                return Some(format!(
                    "    expr: {:?}, time: {},\n        err: unexpected result type {}",
                    test.expr,
                    report::duration(at),
                    other.type_name()
                ))
            }
        },
        Err(e) => {
            return Some(format!(
                "    expr: {:?}, time: {},\n        err: {e}",
                test.expr,
                report::duration(at)
            ))
        }
    };
    let mut expected = Vec::new();
    for s in &test.exp_samples {
        if s.histogram.is_some() {
            return Some(format!(
                "    expr: {:?}, time: {},\n        err: native histogram samples are not supported yet",
                test.expr,
                report::duration(at)
            ));
        }
        let labels = if s.labels.trim().is_empty() {
            Labels::empty()
        } else {
            match parse_series(&s.labels) {
                Ok((l, _)) => l,
                Err(e) => {
                    return Some(format!(
                        "    expr: {:?}, time: {},\n        err: bad labels {:?}: {e}",
                        test.expr,
                        report::duration(at),
                        s.labels
                    ))
                }
            }
        };
        expected.push((labels, s.value.unwrap_or(0.0)));
    }
    let mut got = got;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let same = got.len() == expected.len()
        && got.iter().zip(&expected).all(|(g, e)| g.0 == e.0 && same_value(g.1, e.1, fuzzy));
    (!same).then(|| report::expr_mismatch(&test.expr, at, &expected, &got))
}

/// Exact equality (NaN equals NaN); with `fuzzy_compare`, one unit in the last place apart.
fn same_value(a: f64, b: f64, fuzzy: bool) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    fuzzy
        && a.is_finite()
        && b.is_finite()
        && (a.to_bits() as i64 - b.to_bits() as i64).abs() <= 1
        && a.signum() == b.signum()
}

#[cfg(test)]
mod tests;
