//! Bringing alert state back after a restart (Prometheus' `RestoreForState`, and beyond it
//! `keep_firing_for`): the `for` clock of each pending or firing alert is read back from
//! its last `ALERTS_FOR_STATE` sample, so a restart neither resets a long `for` nor lets
//! the downtime count towards it (../shared/specs/alerting-notes.md, section 2.5).
//!
//! `keep_firing_for` is kept the same way in a series Prometheus does not write,
//! `ALERTS_KEEP_FIRING_SINCE` (the Unix second its hold began; written while an alert is
//! held), so an alert held over a restart stays held for what remains of its hold.

use strata_model::{is_stale_marker, Matcher, METRIC_NAME_LABEL};

use crate::alert::AlertState;
use crate::alerting_rule::AlertingRule;
use crate::storage::RuleStorage;

/// Restore settings (Prometheus' flags of the same meaning).
#[derive(Debug, Clone, Copy)]
pub struct RestoreOptions {
    /// `--rules.alert.for-outage-tolerance`: how far back state is looked for (1h).
    pub outage_tolerance_ms: i64,
    /// `--rules.alert.for-grace-period`: the least time left before a restored alert fires,
    /// and the shortest `for` worth restoring (10m).
    pub grace_period_ms: i64,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions { outage_tolerance_ms: 3_600_000, grace_period_ms: 600_000 }
    }
}

/// What a restore did, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    pub alerts: usize,
    pub held: usize,
}

/// Restores `rule`'s alerts at `now` from what is stored, then marks it restored.
pub fn restore(
    rule: &mut AlertingRule,
    storage: &dyn RuleStorage,
    now: i64,
    options: RestoreOptions,
) -> Restored {
    let mut restored = Restored::default();
    let from = now - options.outage_tolerance_ms;
    let for_state = rule.hold_ms >= options.grace_period_ms;
    for alert in rule.active.values_mut() {
        if for_state && alert.state != AlertState::Inactive {
            if let Some((down_at, active_at)) =
                last_sample(storage, &alert.labels, "ALERTS_FOR_STATE", from, now)
            {
                let active_at = (active_at * 1000.0) as i64;
                let remaining = rule.hold_ms - (down_at - active_at);
                alert.active_at = if remaining <= 0 {
                    active_at
                } else if remaining < options.grace_period_ms {
                    now + options.grace_period_ms - rule.hold_ms
                } else {
                    active_at + (now - down_at)
                };
                restored.alerts += 1;
            }
        }
    }
    restored.held = restore_holds(rule, storage, now, from);
    rule.restored = true;
    restored
}

/// Alerts that were held by `keep_firing_for` when the server stopped come back firing and
/// held, with their hold's start, if it has not run out.
fn restore_holds(rule: &mut AlertingRule, storage: &dyn RuleStorage, now: i64, from: i64) -> usize {
    if rule.keep_firing_for_ms <= 0 {
        return 0;
    }
    let matchers = [
        Matcher::equal(METRIC_NAME_LABEL, "ALERTS_KEEP_FIRING_SINCE"),
        Matcher::equal("alertname", &rule.name),
    ];
    let Ok(series) = storage.select(&matchers, from, now) else { return 0 };
    let mut held = 0;
    for s in series {
        let Ok(samples) = s.collect_samples() else { continue };
        let Some(&(_, since)) = samples.last() else { continue };
        if is_stale_marker(since) {
            continue;
        }
        let since = (since * 1000.0) as i64;
        if now - since >= rule.keep_firing_for_ms {
            continue;
        }
        let mut labels = s.labels().clone();
        labels.remove(METRIC_NAME_LABEL);
        if rule.active.get(&labels).is_some_and(|a| a.state != AlertState::Inactive) {
            continue;
        }
        let mut alert = crate::alert::Alert::pending(labels.clone(), Default::default(), 0.0, since);
        alert.state = AlertState::Firing;
        alert.fired_at = Some(since);
        alert.keep_firing_since = Some(since);
        if let Some((_, active_at)) = last_sample(storage, &labels, "ALERTS_FOR_STATE", from, now) {
            alert.active_at = (active_at * 1000.0) as i64;
        }
        rule.active.insert(labels, alert);
        held += 1;
    }
    held
}

/// The last non-stale sample (time, value) of the series `name{labels}` in `[from, to]`.
fn last_sample(
    storage: &dyn RuleStorage,
    labels: &strata_model::Labels,
    name: &str,
    from: i64,
    to: i64,
) -> Option<(i64, f64)> {
    let mut matchers = vec![Matcher::equal(METRIC_NAME_LABEL, name)];
    matchers.extend(labels.iter().map(|l| Matcher::equal(&l.name, &l.value)));
    let series = storage.select(&matchers, from, to).ok()?;
    let wanted = crate::context::with_name(labels, name);
    let s = series.into_iter().find(|s| *s.labels() == wanted)?;
    let (t, v) = *s.collect_samples().ok()?.last()?;
    (!is_stale_marker(v)).then_some((t, v))
}
