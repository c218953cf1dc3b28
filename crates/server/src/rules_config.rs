//! The rule engine's settings as users write them: rule files, evaluation interval,
//! external labels and URL, and where alerts go —
//!
//! ```toml
//! rule-files = ["rules/*.yml"]
//! evaluation-interval = "1m"
//! external-url = "http://strata.example:9090"
//! external-labels = { cluster = "prod" }
//!
//! [alerting]
//! alertmanagers = ["http://127.0.0.1:9093"]
//! resend-delay = "1m"
//!
//! [[alerting.webhooks]]            # without an Alertmanager: Alertmanager's webhook JSON
//! url = "http://hooks.example/alerts"
//! group-by = ["alertname"]         # group-wait 30s, group-interval 5m, repeat-interval 4h
//! ```
//!
//! (`rule_files` is accepted too, as Prometheus spells it). The durations default to
//! Prometheus' (`--rules.alert.resend-delay` 1m, `for-grace-period` 10m,
//! `for-outage-tolerance` 1h).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use strata_rules::notifier::NotifierOptions;
use strata_rules::restore::RestoreOptions;
use strata_rules::webhook::WebhookOptions;
use strata_rules::{ManagerOptions, ParseOptions};

use crate::config::{ConfigError, ServerConfig};
use crate::params::parse_duration;

/// The `[alerting]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct AlertingConfig {
    /// Alertmanager base URLs; alerts go to every one.
    pub alertmanagers: Vec<String>,
    /// Least time between two sends of an unchanged firing alert.
    pub resend_delay: String,
    /// The least time left before a restored alert fires, and the shortest `for` restored.
    pub for_grace_period: String,
    /// How far back alert state is looked for at startup.
    pub for_outage_tolerance: String,
    /// Alerts queued per Alertmanager at most (the oldest are dropped past it).
    pub notification_queue_capacity: usize,
    /// Plain webhooks (`[[alerting.webhooks]]`), for users without an Alertmanager.
    pub webhooks: Vec<WebhookConfig>,
}

/// One `[[alerting.webhooks]]` entry: where to post, and Alertmanager's grouping settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebhookConfig {
    pub url: String,
    /// The receiver name in the payload.
    pub name: String,
    pub group_by: Vec<String>,
    pub group_wait: String,
    pub group_interval: String,
    pub repeat_interval: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            name: "webhook".into(),
            group_by: vec!["alertname".into()],
            group_wait: "30s".into(),
            group_interval: "5m".into(),
            repeat_interval: "4h".into(),
        }
    }
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            alertmanagers: Vec::new(),
            resend_delay: "1m".into(),
            for_grace_period: "10m".into(),
            for_outage_tolerance: "1h".into(),
            notification_queue_capacity: 10_000,
            webhooks: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// The rule engine's options.
    pub fn rule_manager_options(&self) -> Result<ManagerOptions, ConfigError> {
        let ms = |name: &str, text: &str| -> Result<i64, ConfigError> {
            parse_duration(text).map_err(|e| ConfigError(format!("{name}: {e}")))
        };
        let evaluation_interval_ms = self.duration_ms("evaluation-interval", &self.evaluation_interval)?;
        let mut promql = strata_promql::EngineOptions { duration_expressions: true, ..Default::default() };
        for feature in &self.enable_feature {
            promql.enable_feature(feature);
        }
        Ok(ManagerOptions {
            evaluation_interval_ms,
            query_offset_ms: ms("rule-query-offset", &self.rule_query_offset)?,
            external_labels: self.external_labels.clone(),
            external_url: self.external_url(),
            resend_delay_ms: ms("alerting.resend-delay", &self.alerting.resend_delay)?,
            restore: RestoreOptions {
                outage_tolerance_ms: ms(
                    "alerting.for-outage-tolerance",
                    &self.alerting.for_outage_tolerance,
                )?,
                grace_period_ms: ms("alerting.for-grace-period", &self.alerting.for_grace_period)?,
            },
            parse: ParseOptions { ignore_unknown_fields: false, promql },
        })
    }

    /// The notifier's options (`None`: no Alertmanager configured).
    pub fn notifier_options(&self) -> Result<Option<NotifierOptions>, ConfigError> {
        if self.alerting.alertmanagers.is_empty() && self.alerting.webhooks.is_empty() {
            return Ok(None);
        }
        for url in &self.alerting.alertmanagers {
            if !url.starts_with("http://") {
                return Err(ConfigError(format!("alerting.alertmanagers: {url:?} must be an http:// URL")));
            }
        }
        let mut webhooks = Vec::new();
        for (i, w) in self.alerting.webhooks.iter().enumerate() {
            let at = format!("alerting.webhooks[{i}]");
            if !w.url.starts_with("http://") {
                return Err(ConfigError(format!("{at}.url: {:?} must be an http:// URL", w.url)));
            }
            let ms = |name: &str, text: &str| {
                parse_duration(text).map_err(|e| ConfigError(format!("{at}.{name}: {e}")))
            };
            webhooks.push(WebhookOptions {
                url: w.url.clone(),
                name: w.name.clone(),
                group_by: w.group_by.clone(),
                group_wait_ms: ms("group-wait", &w.group_wait)?,
                group_interval_ms: ms("group-interval", &w.group_interval)?,
                repeat_interval_ms: ms("repeat-interval", &w.repeat_interval)?,
                external_url: self.external_url(),
            });
        }
        Ok(Some(NotifierOptions {
            webhooks,
            alertmanagers: self.alerting.alertmanagers.clone(),
            queue_capacity: self.alerting.notification_queue_capacity.max(1),
            external_labels: self.external_labels.clone(),
            timeout: Duration::from_secs(10),
            ..NotifierOptions::default()
        }))
    }

    /// The external URL: the configured one, or the listen address.
    pub fn external_url(&self) -> String {
        if self.external_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.external_url.trim_end_matches('/').to_string()
        }
    }

    pub(crate) fn validate_rules(&self) -> Result<(), ConfigError> {
        self.rule_manager_options()?;
        self.notifier_options()?;
        Ok(())
    }
}

/// External labels as written (TOML table).
pub(crate) type ExternalLabels = BTreeMap<String, String>;
