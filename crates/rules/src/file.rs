//! Prometheus rule files (`groups:` of `record` and `alert` rules), read and checked as
//! `promtool check rules` does: unknown fields are errors (unless asked to ignore them),
//! YAML anchors, aliases and `<<` merges resolve, and every error names the file, the group,
//! the rule and what is wrong (../shared/specs/alerting-notes.md, section 2.2).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_norway::Value as Yaml;
use strata_promql::{EngineOptions, QueryEngine};

use crate::duration::parse_duration_ms;
use crate::template::Template;

/// One rule file, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    pub path: PathBuf,
    pub groups: Vec<GroupSpec>,
}

/// A group as written in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    /// The file it comes from (as given).
    pub file: String,
    /// `interval`; none: the global evaluation interval.
    pub interval_ms: Option<i64>,
    /// `limit`: most alerts (series, for recording rules) a rule may produce; 0 is none.
    pub limit: usize,
    /// `query_offset`; none: the global one.
    pub query_offset_ms: Option<i64>,
    /// `labels` added to every rule (a rule's own win).
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<RuleSpec>,
}

/// A rule as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub kind: RuleKind,
    /// The metric (`record`) or alert (`alert`) name.
    pub name: String,
    pub expr: String,
    /// `for` (alerts).
    pub for_ms: i64,
    /// `keep_firing_for` (alerts).
    pub keep_firing_for_ms: i64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Record,
    Alert,
}

/// How strictly files are read.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Accept fields Prometheus does not know (`--ignore-unknown-fields`).
    pub ignore_unknown_fields: bool,
    /// The PromQL features expressions may use (`--enable-feature`).
    pub promql: EngineOptions,
}

/// Everything wrong with one file (a file is refused whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .errors.join("\n"))]
pub struct RuleFileError {
    pub file: String,
    pub errors: Vec<String>,
}

/// Reads and checks one rule file.
pub fn load_file(path: &Path, options: &ParseOptions) -> Result<RuleFile, RuleFileError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| RuleFileError { file: name.clone(), errors: vec![format!("{name}: {e}")] })?;
    parse_text(&name, &text, options).map(|groups| RuleFile { path: path.to_path_buf(), groups })
}

/// Parses and checks rule-file text (`file` names it in errors).
pub fn parse_text(file: &str, text: &str, options: &ParseOptions) -> Result<Vec<GroupSpec>, RuleFileError> {
    let fail = |errors: Vec<String>| RuleFileError { file: file.to_string(), errors };
    // Only the first YAML document is read, as Prometheus does.
    let first = serde_norway::Deserializer::from_str(text).next();
    let mut yaml: Yaml = match first {
        Some(doc) => serde::Deserialize::deserialize(doc).map_err(|e| fail(vec![format!("{file}: {e}")]))?,
        None => Yaml::Null,
    };
    yaml.apply_merge().map_err(|e| fail(vec![format!("{file}: {e}")]))?;
    let mut errors = Vec::new();
    let groups = read_groups(file, &yaml, options, &mut errors);
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(fail(errors))
    }
}

fn read_groups(file: &str, yaml: &Yaml, options: &ParseOptions, errors: &mut Vec<String>) -> Vec<GroupSpec> {
    if yaml.is_null() {
        return Vec::new();
    }
    let Some(top) = yaml.as_mapping() else {
        errors.push(format!("{file}: the file must be a mapping with a groups list"));
        return Vec::new();
    };
    unknown_fields(top, &["groups"], options, &format!("{file}:"), errors);
    let Some(groups) = top.get("groups") else { return Vec::new() };
    let Some(groups) = groups.as_sequence() else {
        errors.push(format!("{file}: groups must be a list"));
        return Vec::new();
    };
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for group in groups {
        if let Some(g) = read_group(file, group, options, errors) {
            if !names.insert(g.name.clone()) {
                errors.push(format!("{file}: groupname: {:?} is repeated in the same file", g.name));
            }
            out.push(g);
        }
    }
    out
}

const GROUP_FIELDS: &[&str] = &["name", "interval", "limit", "query_offset", "labels", "rules"];
const RULE_FIELDS: &[&str] = &["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"];

fn read_group(
    file: &str,
    yaml: &Yaml,
    options: &ParseOptions,
    errors: &mut Vec<String>,
) -> Option<GroupSpec> {
    let Some(map) = yaml.as_mapping() else {
        errors.push(format!("{file}: a group must be a mapping"));
        return None;
    };
    let name = scalar(map.get("name")).unwrap_or_default();
    let at = format!("{file}: group {name:?}:");
    if name.is_empty() {
        errors.push(format!("{file}: Groupname must not be empty"));
    }
    unknown_fields(map, GROUP_FIELDS, options, &at, errors);
    let mut duration = |key: &str| {
        scalar(map.get(key)).and_then(|text| match parse_duration_ms(&text) {
            Ok(ms) if ms >= 0 => Some(ms),
            _ => {
                errors.push(format!("{at} {key}: not a valid duration string: {text:?}"));
                None
            }
        })
    };
    let interval_ms = duration("interval");
    let query_offset_ms = duration("query_offset");
    if interval_ms == Some(0) {
        errors.push(format!("{at} interval must be positive"));
    }
    let limit = match scalar(map.get("limit")) {
        None => 0,
        Some(text) => text.parse().unwrap_or_else(|_| {
            errors.push(format!("{at} limit: not a non-negative integer: {text:?}"));
            0
        }),
    };
    let labels = string_map(map.get("labels"), &format!("{at} labels"), errors);
    check_label_names(&labels, &at, "label", errors);
    let rules = match map.get("rules") {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Sequence(rules)) => rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                read_rule(&format!("{file}: group {name:?}, rule {}", i + 1), rule, options, errors)
            })
            .collect(),
        Some(_) => {
            errors.push(format!("{at} rules must be a list"));
            Vec::new()
        }
    };
    Some(GroupSpec { name, file: file.to_string(), interval_ms, limit, query_offset_ms, labels, rules })
}

fn read_rule(at: &str, yaml: &Yaml, options: &ParseOptions, errors: &mut Vec<String>) -> Option<RuleSpec> {
    let Some(map) = yaml.as_mapping() else {
        errors.push(format!("{at}: a rule must be a mapping"));
        return None;
    };
    let record = scalar(map.get("record"));
    let alert = scalar(map.get("alert"));
    let (kind, name) = match (record, alert) {
        (Some(_), Some(_)) => {
            errors.push(format!("{at}: only one of 'record' and 'alert' must be set"));
            return None;
        }
        (Some(r), None) => (RuleKind::Record, r),
        (None, Some(a)) => (RuleKind::Alert, a),
        (None, None) => {
            errors.push(format!("{at}: one of 'record' or 'alert' must be set"));
            return None;
        }
    };
    let at = format!("{at}, {name:?}");
    let before = errors.len();
    unknown_fields(map, RULE_FIELDS, options, &format!("{at}:"), errors);
    let expr = scalar(map.get("expr")).unwrap_or_default();
    if expr.trim().is_empty() {
        errors.push(format!("{at}: field 'expr' must be set in rule"));
    } else if let Err(e) = check_expression(&expr, &options.promql) {
        errors.push(format!("{at}: could not parse expression: {e}"));
    }
    let mut duration = |key: &str| match scalar(map.get(key)) {
        None => 0,
        Some(text) => match parse_duration_ms(&text) {
            Ok(ms) if ms >= 0 => ms,
            _ => {
                errors.push(format!("{at}: {key}: not a valid duration string: {text:?}"));
                0
            }
        },
    };
    let for_ms = duration("for");
    let keep_firing_for_ms = duration("keep_firing_for");
    let labels = string_map(map.get("labels"), &format!("{at}: labels"), errors);
    let annotations = string_map(map.get("annotations"), &format!("{at}: annotations"), errors);
    check_label_names(&labels, &format!("{at}:"), "label", errors);
    for name in annotations.keys() {
        if name.is_empty() {
            errors.push(format!("{at}: invalid annotation name: {name}"));
        }
    }
    match kind {
        RuleKind::Record => check_recording_rule(&at, map, &name, errors),
        RuleKind::Alert => {
            if name.is_empty() {
                errors.push(format!("{at}: invalid alert name: {name:?}"));
            }
        }
    }
    // Templates are parsed now, so a bad one refuses the file (as Prometheus does).
    let template_name = format!("__alert_{name}");
    for (what, texts) in [("label", &labels), ("annotation", &annotations)] {
        for (key, text) in texts {
            if let Err(e) = Template::parse(&template_name, text) {
                errors.push(format!("{at}: {what} {key:?}: {e}"));
            }
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(RuleSpec { kind, name, expr, for_ms, keep_firing_for_ms, labels, annotations })
}

/// Parses `expr`, then runs it once over no data: features that are not enabled
/// (experimental functions, fill modifiers) are refused only when evaluated.
fn check_expression(expr: &str, options: &EngineOptions) -> Result<(), String> {
    let engine = QueryEngine::new(options.clone());
    let parsed = engine.parse(expr, Default::default()).map_err(|e| format!("parse error: {e}"))?;
    match engine.instant_expr(&strata_promql::MemoryQueryable::new(), &parsed, 0, None) {
        Err(e) if e.to_string().contains("not enabled") => Err(e.to_string()),
        _ => Ok(()),
    }
}

fn check_recording_rule(at: &str, map: &serde_norway::Mapping, name: &str, errors: &mut Vec<String>) {
    for field in ["for", "keep_firing_for", "annotations"] {
        if map.get(field).is_some() {
            errors.push(format!("{at}: invalid field '{field}' in recording rule"));
        }
    }
    if name.contains('{') || name.contains('}') {
        errors
            .push(format!("{at}: braces present in the recording rule name; should it be in expr?: {name}"));
    } else if name.is_empty() {
        errors.push(format!("{at}: invalid recording rule name: {name}"));
    }
}

/// Label names as Prometheus 3 checks them (UTF-8 names; `__name__` may not be set).
fn check_label_names(labels: &BTreeMap<String, String>, at: &str, what: &str, errors: &mut Vec<String>) {
    for name in labels.keys() {
        if name.is_empty() || name == "__name__" {
            errors.push(format!("{at} invalid {what} name: {name}"));
        }
    }
}

fn unknown_fields(
    map: &serde_norway::Mapping,
    known: &[&str],
    options: &ParseOptions,
    at: &str,
    errors: &mut Vec<String>,
) {
    if options.ignore_unknown_fields {
        return;
    }
    for key in map.keys() {
        let key = scalar(Some(key)).unwrap_or_default();
        if !known.contains(&key.as_str()) {
            errors.push(format!("{at} field {key} not found (known fields: {})", known.join(", ")));
        }
    }
}

/// A scalar's text (strings as they are, numbers and bools as YAML writes them).
fn scalar(value: Option<&Yaml>) -> Option<String> {
    match value? {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_map(value: Option<&Yaml>, at: &str, errors: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Mapping(map)) => {
            for (k, v) in map {
                match (scalar(Some(k)), scalar(Some(v)).or_else(|| v.is_null().then(String::new))) {
                    (Some(k), Some(v)) => {
                        out.insert(k, v);
                    }
                    _ => errors.push(format!("{at}: values must be strings")),
                }
            }
        }
        Some(_) => errors.push(format!("{at} must be a mapping")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<GroupSpec>, RuleFileError> {
        parse_text("rules.yml", text, &ParseOptions::default())
    }

    #[test]
    fn reads_groups_and_rules() {
        let groups = parse(
            "groups:\n- name: g\n  interval: 30s\n  limit: 2\n  labels: {team: a}\n  rules:\n  - record: x:sum\n    expr: sum(x)\n  - alert: High\n    expr: x > 1\n    for: 5m\n    keep_firing_for: 1m\n    labels: {severity: page}\n    annotations: {summary: 'v={{ $value }}'}\n",
        )
        .unwrap();
        let g = &groups[0];
        assert_eq!((g.interval_ms, g.limit, g.labels.len()), (Some(30_000), 2, 1));
        assert_eq!(g.rules[1].kind, RuleKind::Alert);
        assert_eq!((g.rules[1].for_ms, g.rules[1].keep_firing_for_ms), (300_000, 60_000));
    }

    #[test]
    fn errors_name_the_file_group_rule_and_problem() {
        let e = parse("groups:\n- name: g\n  rules:\n  - record: x\n    expr: 'sum('\n").unwrap_err();
        assert!(
            e.to_string().starts_with("rules.yml: group \"g\", rule 1, \"x\": could not parse expression"),
            "{e}"
        );
        let e = parse("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '1'\n    annotation: {}\n")
            .unwrap_err();
        assert!(e.to_string().contains("field annotation not found"), "{e}");
        let lenient = ParseOptions { ignore_unknown_fields: true, ..Default::default() };
        parse_text("r", "groups:\n- name: g\n  owner: x\n  rules: []\n", &lenient).unwrap();
        let e = parse("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '1'\n    annotations: {s: '{{ $label.x }}'}\n").unwrap_err();
        assert!(e.to_string().contains("undefined variable \"$label\""), "{e}");
    }
}
