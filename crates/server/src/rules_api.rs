//! `/api/v1/rules`, `/api/v1/alerts` and `POST /-/reload` in Prometheus' shapes
//! (../shared/specs/alerting-notes.md, section 2.8): rule groups with their rules' health,
//! last error, last evaluation and duration; active alerts with `activeAt` and the value
//! printed as Go's `%e` shortest (`"1e+00"`).

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use strata_rules::alerting_rule::AlertingRule;
use strata_rules::notifier::rfc3339_ms;
use strata_rules::rule_status::RuleStatus;
use strata_rules::{AlertState, Group, Rule};

use crate::api_error::{json_response, ApiError};
use crate::json;
use crate::query_api::request_params;
use crate::state::Shared;

/// What `/api/v1/rules` was asked for.
struct RulesFilter {
    kind: Option<String>,
    rule_names: Vec<String>,
    group_names: Vec<String>,
    files: Vec<String>,
    exclude_alerts: bool,
}

impl RulesFilter {
    fn wants_group(&self, g: &Group) -> bool {
        (self.group_names.is_empty() || self.group_names.contains(&g.name))
            && (self.files.is_empty() || self.files.contains(&g.file))
    }

    fn wants_rule(&self, r: &Rule) -> bool {
        let kind_ok = matches!(
            (self.kind.as_deref(), r),
            (None, _) | (Some("alert"), Rule::Alerting(_)) | (Some("record"), Rule::Recording(_))
        );
        kind_ok && (self.rule_names.is_empty() || self.rule_names.iter().any(|n| n == r.name()))
    }
}

pub(crate) async fn rules(State(state): State<Shared>, request: Request) -> Response {
    let params = match request_params(request, state.config.max_body_bytes).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let kind = params.get("type").map(str::to_string);
    if let Some(k) = &kind {
        if k != "alert" && k != "record" {
            return ApiError::bad_data(format!("unsupported type {k:?}: must be alert or record"))
                .into_response();
        }
    }
    let strings = |name: &str| params.all(name).into_iter().map(str::to_string).collect::<Vec<_>>();
    let mut group_names = strings("rule_group[]");
    group_names.extend(strings("group_name[]"));
    let filter = RulesFilter {
        kind,
        rule_names: strings("rule_name[]"),
        group_names,
        files: strings("file[]"),
        exclude_alerts: params.get("exclude_alerts").is_some_and(|v| v == "true"),
    };
    let manager = state.rules.clone();
    // Reading a group waits for its evaluation in progress: off the async threads.
    match tokio::task::spawn_blocking(move || rule_groups(&manager, &filter)).await {
        Ok(groups) => {
            let data = json!({ "groups": groups });
            json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[]))
        }
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

fn rule_groups(manager: &strata_rules::RuleManager, filter: &RulesFilter) -> Vec<Json> {
    let mut groups = Vec::new();
    for runner in manager.groups() {
        let Ok(group) = runner.group.lock() else { continue };
        if !filter.wants_group(&group) {
            continue;
        }
        let rules: Vec<Json> = group
            .rules
            .iter()
            .filter(|r| filter.wants_rule(r))
            .map(|r| rule_json(r, filter.exclude_alerts))
            .collect();
        if rules.is_empty() && (filter.kind.is_some() || !filter.rule_names.is_empty()) {
            continue;
        }
        groups.push(json!({
            "name": group.name,
            "file": group.file,
            "rules": rules,
            "interval": seconds(group.interval_ms),
            "limit": group.limit,
            "evaluationTime": group.evaluation_seconds,
            "lastEvaluation": time_or_zero(group.last_evaluation_ms),
        }));
    }
    groups
}

pub(crate) async fn alerts(State(state): State<Shared>) -> Response {
    let manager = state.rules.clone();
    let read = tokio::task::spawn_blocking(move || {
        let mut alerts = Vec::new();
        for runner in manager.groups() {
            let Ok(group) = runner.group.lock() else { continue };
            for rule in group.alerting_rules() {
                alerts.extend(active_alerts(rule));
            }
        }
        alerts
    });
    match read.await {
        Ok(alerts) => {
            let data = json!({ "alerts": alerts });
            json_response(StatusCode::OK, json::success(&data.to_string(), &[], &[]))
        }
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// `POST /-/reload`: reads the cardinality limits and the rule files again; a bad file
/// keeps what runs.
pub(crate) async fn reload(State(state): State<Shared>) -> Response {
    let reloading = state.clone();
    let reloaded = tokio::task::spawn_blocking(move || reloading.reload_config()).await;
    if let Err(e) = reloaded.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
        return (StatusCode::INTERNAL_SERVER_ERROR, format!("failed to reload config: {e}\n"))
            .into_response();
    }
    let rules = state.rules.clone();
    match tokio::task::spawn_blocking(move || rules.reload()).await {
        Ok(Ok(report)) => {
            tracing::info!(
                groups = report.groups,
                rules = report.rules,
                unchanged = report.unchanged,
                "rules reloaded"
            );
            (StatusCode::OK, "").into_response()
        }
        Ok(Err(errors)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("failed to reload config: {}\n", errors.join("\n")))
                .into_response()
        }
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

fn rule_json(rule: &Rule, exclude_alerts: bool) -> Json {
    match rule {
        Rule::Recording(r) => {
            let mut v = json!({
                "name": r.name,
                "query": r.expr,
                "labels": r.labels,
                "type": "recording",
            });
            status_fields(&mut v, &r.status);
            v
        }
        Rule::Alerting(a) => {
            let mut v = json!({
                "state": a.state().as_str(),
                "name": a.name,
                "query": a.expr,
                "duration": seconds(a.hold_ms),
                "keepFiringFor": seconds(a.keep_firing_for_ms),
                "labels": a.labels,
                "annotations": a.annotations,
                "type": "alerting",
            });
            if !exclude_alerts {
                v["alerts"] = Json::Array(active_alerts(a));
            }
            status_fields(&mut v, &a.status);
            v
        }
    }
}

fn status_fields(v: &mut Json, status: &RuleStatus) {
    v["health"] = json!(status.health.as_str());
    if let Some(e) = &status.last_error {
        v["lastError"] = json!(e);
    }
    v["evaluationTime"] = json!(status.evaluation_seconds);
    v["lastEvaluation"] = json!(time_or_zero(status.last_evaluation_ms));
}

/// Pending and firing alerts of a rule (resolved ones are kept only for re-sending).
fn active_alerts(rule: &AlertingRule) -> Vec<Json> {
    rule.active
        .values()
        .filter(|a| a.state != AlertState::Inactive)
        .map(|a| {
            let labels: BTreeMap<&str, &str> =
                a.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
            let mut v = json!({
                "labels": labels,
                "annotations": a.annotations,
                "state": a.state.as_str(),
                "activeAt": rfc3339_ms(a.active_at),
                "value": go_e(a.value),
            });
            if let Some(since) = a.keep_firing_since {
                v["keepFiringSince"] = json!(rfc3339_ms(since));
            }
            v
        })
        .collect()
}

/// ms as seconds the way Go's JSON writes a float64: `15`, not `15.0`.
fn seconds(ms: i64) -> Json {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

fn time_or_zero(ms: Option<i64>) -> String {
    ms.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339_ms)
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: shortest digits, exponent with a sign and at
/// least two digits (`6.631999969482422e+00`, `1e+00`).
fn go_e(v: f64) -> String {
    if !v.is_finite() {
        return strata_model::format_float(v);
    }
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_go_e() {
        assert_eq!(go_e(1.0), "1e+00");
        assert_eq!(go_e(6.631999969482422), "6.631999969482422e+00");
        assert_eq!(go_e(0.00012), "1.2e-04");
        assert_eq!(go_e(f64::NAN), "NaN");
    }
}
