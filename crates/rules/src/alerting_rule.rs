//! An alerting rule: every label set its expression returns is an alert, stepped through
//! its state machine (`alert`) at each evaluation; `ALERTS` and `ALERTS_FOR_STATE` series
//! record the pending and firing ones (../shared/specs/alerting-notes.md, sections 2.3–2.4).

use std::collections::{BTreeMap, HashMap, HashSet};

use strata_model::{Labels, METRIC_NAME_LABEL, STALE_NAN_BITS};

use crate::alert::{Alert, AlertState};
use crate::context::{instant_vector, label_map, set_label, template_query, with_name, EvalContext};
use crate::file::RuleSpec;
use crate::rule_status::RuleStatus;
use crate::template::{Env, Template, TemplateData};

#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub name: String,
    pub expr: String,
    pub hold_ms: i64,
    pub keep_firing_for_ms: i64,
    /// The group's labels with the rule's over them (unexpanded templates).
    pub labels: BTreeMap<String, String>,
    /// Unexpanded annotations.
    pub annotations: BTreeMap<String, String>,
    templates: HashMap<String, Template>,
    /// Active alerts (pending, firing, and resolved ones kept for re-sending) by labels.
    pub active: BTreeMap<Labels, Alert>,
    pub status: RuleStatus,
    /// Whether `ALERTS` series are written yet (after the state was restored at startup).
    pub restored: bool,
    previous_series: HashSet<Labels>,
}

impl AlertingRule {
    pub fn new(spec: &RuleSpec, group_labels: &BTreeMap<String, String>) -> Self {
        let mut labels = group_labels.clone();
        labels.extend(spec.labels.clone());
        let template_name = format!("__alert_{}", spec.name);
        let templates = labels
            .values()
            .chain(spec.annotations.values())
            .filter(|text| !Template::is_plain(text))
            .filter_map(|text| Template::parse(&template_name, text).ok().map(|t| (text.clone(), t)))
            .collect();
        AlertingRule {
            name: spec.name.clone(),
            expr: spec.expr.clone(),
            hold_ms: spec.for_ms,
            keep_firing_for_ms: spec.keep_firing_for_ms,
            labels,
            annotations: spec.annotations.clone(),
            templates,
            active: BTreeMap::new(),
            status: RuleStatus::default(),
            restored: false,
            previous_series: HashSet::new(),
        }
    }

    /// The rule's state: the most advanced of its alerts'.
    pub fn state(&self) -> AlertState {
        self.active.values().map(|a| a.state).max().unwrap_or(AlertState::Inactive)
    }

    /// Evaluates at group time `ts`, querying at `query_t` (`ts` minus the query offset),
    /// and writes `ALERTS`/`ALERTS_FOR_STATE` at `query_t` once restored.
    pub fn evaluate(
        &mut self,
        ts: i64,
        query_t: i64,
        limit: usize,
        ctx: &EvalContext<'_>,
    ) -> Result<(), String> {
        let samples = instant_vector(ctx, &self.expr, query_t)?;
        let mut returned: BTreeMap<Labels, (BTreeMap<String, String>, f64)> = BTreeMap::new();
        for (sample_labels, value) in samples {
            let (labels, annotations) = self.expand(&sample_labels, value, ts, ctx);
            if returned.insert(labels, (annotations, value)).is_some() {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels".into()
                );
            }
        }
        for (labels, (annotations, value)) in &returned {
            match self.active.get_mut(labels) {
                Some(alert) if alert.state != AlertState::Inactive => {
                    alert.value = *value;
                    alert.annotations = annotations.clone();
                    alert.keep_firing_since = None;
                }
                _ => {
                    self.active.insert(
                        labels.clone(),
                        Alert::pending(labels.clone(), annotations.clone(), *value, ts),
                    );
                }
            }
        }
        let keep = self.keep_firing_for_ms;
        self.active.retain(|labels, alert| returned.contains_key(labels) || !alert.missed(ts, keep));
        for alert in self.active.values_mut() {
            if alert.state != AlertState::Inactive {
                alert.advance(ts, self.hold_ms);
            }
        }
        let live = self.active.values().filter(|a| a.state != AlertState::Inactive).count();
        if limit > 0 && live > limit {
            self.active.clear();
            return Err(format!("exceeded limit of {limit} with {live} alerts"));
        }
        if self.restored {
            self.write_series(query_t, ctx)?;
        }
        Ok(())
    }

    /// The alert's labels and annotations for one sample, templates expanded (a failed
    /// expansion reads `<error expanding template: …>`, as in Prometheus).
    fn expand(
        &self,
        sample: &Labels,
        value: f64,
        ts: i64,
        ctx: &EvalContext<'_>,
    ) -> (Labels, BTreeMap<String, String>) {
        let data = TemplateData {
            labels: label_map(sample),
            external_labels: ctx.external_labels.clone(),
            external_url: ctx.external_url.to_string(),
            value,
        };
        let query = |q: &str| template_query(ctx, q, ts);
        let env = Env { query: Some(&query), external_url: ctx.external_url, now: ts as f64 / 1000.0 };
        let render = |text: &String| match self.templates.get(text) {
            None => text.clone(),
            Some(t) => t.expand(&data, &env).unwrap_or_else(|e| format!("<error expanding template: {e}>")),
        };
        let mut labels = sample.clone();
        labels.remove(METRIC_NAME_LABEL);
        for (name, text) in &self.labels {
            set_label(&mut labels, name, &render(text));
        }
        labels.set("alertname", &self.name);
        let annotations = self.annotations.iter().map(|(k, v)| (k.clone(), render(v))).collect();
        (labels, annotations)
    }

    fn write_series(&mut self, t: i64, ctx: &EvalContext<'_>) -> Result<(), String> {
        let mut out = Vec::new();
        let mut written = HashSet::new();
        for alert in self.active.values().filter(|a| a.state != AlertState::Inactive) {
            let mut alerts = with_name(&alert.labels, "ALERTS");
            alerts.set("alertstate", alert.state.as_str());
            let for_state = with_name(&alert.labels, "ALERTS_FOR_STATE");
            out.push((alerts.clone(), t, 1.0));
            out.push((for_state.clone(), t, alert.active_at.div_euclid(1000) as f64));
            written.insert(alerts);
            written.insert(for_state);
            // Beyond Prometheus: a hold survives a restart (see `restore`).
            if let Some(since) = alert.keep_firing_since {
                let held = with_name(&alert.labels, "ALERTS_KEEP_FIRING_SINCE");
                out.push((held.clone(), t, since.div_euclid(1000) as f64));
                written.insert(held);
            }
        }
        for gone in self.previous_series.iter().filter(|l| !written.contains(*l)) {
            out.push((gone.clone(), t, f64::from_bits(STALE_NAN_BITS)));
        }
        self.previous_series = written;
        ctx.sink.append_samples(&out)
    }
}

/// An alert as it is sent to Alertmanager (API v2 `postableAlert`), times in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
}

impl AlertingRule {
    /// The alerts due for (re)sending after an evaluation at `ts`, marked sent: firing ones
    /// hold until `ts + 4 × max(interval, resend delay)`, resolved ones end at their
    /// resolution (Prometheus' `sendAlerts`).
    pub fn due_alerts(
        &mut self,
        ts: i64,
        resend_delay: i64,
        interval: i64,
        external_url: &str,
    ) -> Vec<OutgoingAlert> {
        let generator_url = format!(
            "{}/graph?g0.expr={}&g0.tab=1",
            external_url.trim_end_matches('/'),
            crate::template::query_escape(&self.expr)
        );
        let mut out = Vec::new();
        for alert in self.active.values_mut() {
            if !alert.needs_sending(ts, resend_delay) {
                continue;
            }
            alert.last_sent_at = Some(ts);
            alert.valid_until = ts + 4 * interval.max(resend_delay);
            out.push(OutgoingAlert {
                labels: label_map(&alert.labels),
                annotations: alert.annotations.clone(),
                starts_at: alert.fired_at.unwrap_or(alert.active_at),
                ends_at: alert.resolved_at.unwrap_or(alert.valid_until),
                generator_url: generator_url.clone(),
            });
        }
        out
    }
}
