//! A rule group: its rules run in file order at one evaluation time, each rule's output
//! written before the next rule runs (so later rules see it), as Prometheus does.

use std::time::Instant;

use crate::alerting_rule::AlertingRule;
use crate::context::EvalContext;
use crate::file::{GroupSpec, RuleKind};
use crate::recording_rule::RecordingRule;
use crate::rule_status::RuleStatus;

/// A rule of either kind.
#[derive(Debug, Clone)]
pub enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(r) => &r.name,
        }
    }

    pub fn status(&self) -> &RuleStatus {
        match self {
            Rule::Recording(r) => &r.status,
            Rule::Alerting(r) => &r.status,
        }
    }
}

/// A group ready to evaluate.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub file: String,
    pub interval_ms: i64,
    pub query_offset_ms: i64,
    pub limit: usize,
    pub rules: Vec<Rule>,
    /// The group as written (reload compares it to keep the state of unchanged groups).
    pub spec: GroupSpec,
    pub last_evaluation_ms: Option<i64>,
    pub evaluation_seconds: f64,
}

/// A rule that failed in an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub rule: String,
    pub error: String,
}

impl Group {
    /// The group of `spec`, with the global interval and query offset where it sets none.
    pub fn new(spec: &GroupSpec, default_interval_ms: i64, default_query_offset_ms: i64) -> Group {
        let rules = spec
            .rules
            .iter()
            .map(|r| match r.kind {
                RuleKind::Record => Rule::Recording(RecordingRule::new(r, &spec.labels)),
                RuleKind::Alert => Rule::Alerting(AlertingRule::new(r, &spec.labels)),
            })
            .collect();
        Group {
            name: spec.name.clone(),
            file: spec.file.clone(),
            interval_ms: spec.interval_ms.unwrap_or(default_interval_ms),
            query_offset_ms: spec.query_offset_ms.unwrap_or(default_query_offset_ms),
            limit: spec.limit,
            rules,
            spec: spec.clone(),
            last_evaluation_ms: None,
            evaluation_seconds: 0.0,
        }
    }

    /// Evaluates every rule at `ts`; returns the rules that failed (the others ran).
    pub fn evaluate(&mut self, ts: i64, ctx: &EvalContext<'_>) -> Vec<RuleError> {
        let started = Instant::now();
        let query_t = ts - self.query_offset_ms;
        let mut errors = Vec::new();
        for rule in &mut self.rules {
            let rule_started = Instant::now();
            let outcome = match rule {
                Rule::Recording(r) => r.evaluate(query_t, self.limit, ctx).map(|_| ()),
                Rule::Alerting(r) => r.evaluate(ts, query_t, self.limit, ctx),
            };
            let seconds = rule_started.elapsed().as_secs_f64();
            match rule {
                Rule::Recording(r) => r.status.record(ts, seconds, &outcome),
                Rule::Alerting(r) => r.status.record(ts, seconds, &outcome),
            }
            if let Err(error) = outcome {
                errors.push(RuleError { rule: rule.name().to_string(), error });
            }
        }
        if let Err(error) = ctx.sink.flush() {
            errors.push(RuleError { rule: String::new(), error });
        }
        self.last_evaluation_ms = Some(ts);
        self.evaluation_seconds = started.elapsed().as_secs_f64();
        errors
    }

    /// Alerting rules by name (for tests and the API).
    pub fn alerting_rules(&self) -> impl Iterator<Item = &AlertingRule> {
        self.rules.iter().filter_map(|r| match r {
            Rule::Alerting(a) => Some(a),
            Rule::Recording(_) => None,
        })
    }

    /// Marks every alerting rule restored (its `ALERTS` series are written from now on).
    pub fn mark_restored(&mut self) {
        for rule in &mut self.rules {
            if let Rule::Alerting(a) = rule {
                a.restored = true;
            }
        }
    }
}
