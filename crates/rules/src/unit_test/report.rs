//! How test failures are printed: promtool's layout (`exp:` then `got:`).

use std::collections::BTreeMap;

use strata_model::{format_float, Labels};

use super::FileOutcome;
use crate::duration::format_duration_ms;

/// An eval time as promtool prints it (`5m`, `0s`).
pub(crate) fn duration(ms: i64) -> String {
    format_duration_ms(ms)
}

type AlertView = (BTreeMap<String, String>, BTreeMap<String, String>);

pub(crate) fn alert_mismatch(alertname: &str, at: i64, expected: &[AlertView], got: &[AlertView]) -> String {
    format!(
        "    alertname: {alertname}, time: {},\n        exp:{},\n        got:{}",
        duration(at),
        alerts(expected),
        alerts(got)
    )
}

fn alerts(list: &[AlertView]) -> String {
    if list.is_empty() {
        return "[]".into();
    }
    let mut out = String::from("[\n");
    for (i, (labels, annotations)) in list.iter().enumerate() {
        out.push_str(&format!(
            "            {i}:\n              Labels:{}\n              Annotations:{}\n",
            map(labels),
            map(annotations)
        ));
    }
    out.push_str("            ]");
    out
}

fn map(m: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

pub(crate) fn expr_mismatch(
    expr: &str,
    at: i64,
    expected: &[(Labels, f64)],
    got: &[(Labels, f64)],
) -> String {
    let samples = |list: &[(Labels, f64)]| -> String {
        let items: Vec<String> = list.iter().map(|(l, v)| format!("{l} {}", format_float(*v))).collect();
        format!("[{}]", items.join(", "))
    };
    format!(
        "    expr: {expr:?}, time: {},\n        exp: {}\n        got: {}",
        duration(at),
        samples(expected),
        samples(got)
    )
}

/// The whole report of one file, as promtool prints it.
pub fn format_failures(file: &str, outcome: &FileOutcome) -> String {
    let mut out = format!("Unit Testing:  {file}\n");
    if outcome.passed() {
        out.push_str("  SUCCESS\n");
        return out;
    }
    out.push_str("  FAILED:\n");
    for e in &outcome.errors {
        out.push_str(&format!("    {e}\n"));
    }
    for (_, failures) in &outcome.groups {
        for f in failures {
            out.push_str(f);
            out.push('\n');
        }
    }
    out
}
