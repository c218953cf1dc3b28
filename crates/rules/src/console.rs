//! What `strata alert` prints after each evaluation of an alerting rule: every alert's value
//! against the rule's threshold and its state (`pending (for: 15s of 5m)`), an `ALERT FIRED`
//! block with labels, annotations and the time it became active when one fires, and a
//! `RESOLVED` line when one clears.

use std::collections::BTreeMap;
use std::fmt::Write;

use strata_model::{format_float, Labels};

use crate::alert::AlertState;
use crate::alerting_rule::AlertingRule;
use crate::duration::format_duration_ms;

/// Each alert's state before an evaluation, to tell what changed.
pub type StatesBefore = BTreeMap<Labels, AlertState>;

/// The states of a rule's alerts now.
pub fn states(rule: &AlertingRule) -> StatesBefore {
    rule.active.iter().map(|(l, a)| (l.clone(), a.state)).collect()
}

/// The comparison at the top of an expression (`… > 0.9`): operator and threshold.
pub fn threshold(expr: &str) -> Option<(String, String)> {
    let re = regex::Regex::new(
        r"(?s)^.*\S\s*(>=|<=|==|!=|>|<)\s*(?:bool\s+)?([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))\s*$",
    )
    .ok()?;
    let c = re.captures(expr.trim())?;
    Some((c[1].to_string(), c[2].to_string()))
}

/// The lines for one evaluation of `rule` at `ts` (ms); `before` is [`states`] before it.
pub fn describe(rule: &AlertingRule, before: &StatesBefore, ts: i64) -> String {
    let mut out = String::new();
    let when = crate::notifier::rfc3339_ms(ts);
    let limit = threshold(&rule.expr);
    let live: Vec<_> = rule.active.values().filter(|a| a.state != AlertState::Inactive).collect();
    if live.is_empty() && !before.values().any(|s| *s != AlertState::Inactive) {
        let _ = writeln!(out, "{when} {}: inactive (the expression returned nothing)", rule.name);
    }
    for alert in &live {
        let vs = match &limit {
            Some((op, t)) => format!("value {} {op} {t}", format_float(alert.value)),
            None => format!("value {}", format_float(alert.value)),
        };
        let state = match alert.state {
            AlertState::Pending => format!(
                "pending (for: {} of {})",
                format_duration_ms(ts - alert.active_at),
                format_duration_ms(rule.hold_ms)
            ),
            _ if alert.keep_firing_since.is_some() => {
                format!("firing (kept for {})", format_duration_ms(rule.keep_firing_for_ms))
            }
            other => other.as_str().to_string(),
        };
        let _ = writeln!(out, "{when} {}{} {vs} -> {state}", rule.name, short_labels(&alert.labels));
        let was = before.get(&alert.labels).copied().unwrap_or(AlertState::Inactive);
        if alert.state == AlertState::Firing && was != AlertState::Firing {
            let _ = writeln!(out, "ALERT FIRED {}{}", rule.name, short_labels(&alert.labels));
            let _ = writeln!(
                out,
                "  labels:      {}",
                pairs(alert.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
            );
            let _ = writeln!(
                out,
                "  annotations: {}",
                pairs(alert.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            );
            let _ = writeln!(out, "  since:       {}", crate::notifier::rfc3339_ms(alert.active_at));
        }
    }
    for (labels, was) in before {
        let now = rule.active.get(labels).map(|a| a.state);
        if *was == AlertState::Firing && now.is_none_or(|s| s == AlertState::Inactive) {
            let fired = rule.active.get(labels).map_or(0, |a| ts - a.fired_at.unwrap_or(a.active_at));
            let _ = writeln!(
                out,
                "{when} RESOLVED {}{} after firing for {}",
                rule.name,
                short_labels(labels),
                format_duration_ms(fired)
            );
        }
    }
    out
}

/// `{k="v", …}` without `alertname` (the rule's name is printed beside it).
fn short_labels(labels: &Labels) -> String {
    let inner =
        pairs(labels.iter().filter(|l| l.name != "alertname").map(|l| (l.name.as_str(), l.value.as_str())));
    if inner.is_empty() {
        String::new()
    } else {
        format!("{{{inner}}}")
    }
}

fn pairs<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    items.map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_come_from_the_top_comparison() {
        assert_eq!(threshold("rate(x[5m]) > 0.9"), Some((">".into(), "0.9".into())));
        assert_eq!(threshold("up == bool 0"), Some(("==".into(), "0".into())));
        assert_eq!(threshold("vector(1)"), None);
    }
}
