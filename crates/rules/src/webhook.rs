//! Plain webhooks for users without an Alertmanager: alerts grouped as Alertmanager groups
//! them (`group_by` labels; the first notification of a group after `group_wait`, changes
//! at most every `group_interval`, an unchanged group repeated after `repeat_interval`,
//! nothing sent twice in between) and posted in Alertmanager's webhook JSON (version 4).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use crate::alerting_rule::OutgoingAlert;
use crate::notifier::rfc3339_ms;

/// One webhook receiver.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub url: String,
    /// The receiver's name in the payload.
    pub name: String,
    /// Labels whose values make a group (empty: one group for everything).
    pub group_by: Vec<String>,
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    pub repeat_interval_ms: i64,
    /// The server's external URL (`externalURL`).
    pub external_url: String,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WebhookStats {
    pub sent: AtomicU64,
    pub errors: AtomicU64,
}

struct AlertGroup {
    labels: BTreeMap<String, String>,
    alerts: BTreeMap<BTreeMap<String, String>, OutgoingAlert>,
    first_seen: i64,
    last_flush: Option<i64>,
    /// (labels, firing) of what the last notification said.
    last_sent: BTreeSet<(BTreeMap<String, String>, bool)>,
}

/// A webhook's dispatcher: a thread that flushes groups when they are due.
pub struct Webhook {
    options: WebhookOptions,
    groups: Mutex<BTreeMap<Vec<String>, AlertGroup>>,
    pub stats: WebhookStats,
    stop: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.options.url).finish()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Webhook {
    pub fn start(options: WebhookOptions) -> Arc<Webhook> {
        let hook = Arc::new(Webhook {
            options,
            groups: Mutex::new(BTreeMap::new()),
            stats: WebhookStats::default(),
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
        });
        let runner = hook.clone();
        match std::thread::Builder::new().name("strata-webhook".into()).spawn(move || runner.run()) {
            Ok(handle) => {
                if let Ok(mut t) = hook.thread.lock() {
                    *t = Some(handle);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot start a webhook sender"),
        }
        hook
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.options.url
    }

    /// Takes alerts in (the latest version of each replaces the one held).
    pub fn receive(&self, alerts: &[OutgoingAlert]) {
        let now = now_ms();
        let Ok(mut groups) = self.groups.lock() else { return };
        for alert in alerts {
            let key: Vec<String> = self
                .options
                .group_by
                .iter()
                .map(|l| alert.labels.get(l).cloned().unwrap_or_default())
                .collect();
            let group = groups.entry(key).or_insert_with(|| AlertGroup {
                labels: self
                    .options
                    .group_by
                    .iter()
                    .filter_map(|l| alert.labels.get(l).map(|v| (l.clone(), v.clone())))
                    .collect(),
                alerts: BTreeMap::new(),
                first_seen: now,
                last_flush: None,
                last_sent: BTreeSet::new(),
            });
            group.alerts.insert(alert.labels.clone(), alert.clone());
        }
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = h.join();
        }
    }

    fn run(&self) {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
        while !self.stop.load(Ordering::SeqCst) {
            for payload in self.due(now_ms()) {
                match agent
                    .post(&self.options.url)
                    .set("Content-Type", "application/json")
                    .send_string(&payload)
                {
                    Ok(_) => self.stats.sent.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        tracing::warn!(url = %self.options.url, error = %e, "webhook notification failed");
                        self.stats.errors.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The payloads due at `now`; groups are updated as sent.
    fn due(&self, now: i64) -> Vec<String> {
        let o = &self.options;
        let Ok(mut groups) = self.groups.lock() else { return Vec::new() };
        let mut out = Vec::new();
        for (key, group) in groups.iter_mut() {
            let state: BTreeSet<(BTreeMap<String, String>, bool)> =
                group.alerts.values().map(|a| (a.labels.clone(), a.ends_at > now)).collect();
            let due = match group.last_flush {
                None => now - group.first_seen >= o.group_wait_ms,
                Some(last) => {
                    (state != group.last_sent && now - last >= o.group_interval_ms)
                        || (now - last >= o.repeat_interval_ms && state.iter().any(|(_, firing)| *firing))
                }
            };
            if !due {
                continue;
            }
            out.push(payload(o, key, group, now));
            group.last_flush = Some(now);
            group.last_sent = state;
            // A resolution is told once.
            group.alerts.retain(|_, a| a.ends_at > now);
        }
        groups.retain(|_, g| {
            !g.alerts.is_empty() || g.last_flush.is_none_or(|l| now - l < o.repeat_interval_ms)
        });
        out
    }
}

/// Alertmanager's webhook JSON for a group.
fn payload(o: &WebhookOptions, key: &[String], group: &AlertGroup, now: i64) -> String {
    let alerts: Vec<&OutgoingAlert> = group.alerts.values().collect();
    let firing = |a: &OutgoingAlert| a.ends_at > now;
    let common = |pick: fn(&OutgoingAlert) -> &BTreeMap<String, String>| -> BTreeMap<String, String> {
        let Some(first) = alerts.first() else { return BTreeMap::new() };
        pick(first)
            .iter()
            .filter(|(k, v)| alerts.iter().all(|a| pick(a).get(*k) == Some(*v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let items: Vec<serde_json::Value> = alerts
        .iter()
        .map(|a| {
            json!({
                "status": if firing(a) { "firing" } else { "resolved" },
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": rfc3339_ms(a.starts_at),
                "endsAt": if firing(a) { "0001-01-01T00:00:00Z".to_string() } else { rfc3339_ms(a.ends_at) },
                "generatorURL": a.generator_url,
                "fingerprint": format!("{:016x}", strata_model::SeriesHash::of_pairs(a.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))).0),
            })
        })
        .collect();
    let group_key = format!(
        "{{}}:{{{}}}",
        o.group_by.iter().zip(key).map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(", ")
    );
    json!({
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": if alerts.iter().any(|a| firing(a)) { "firing" } else { "resolved" },
        "receiver": o.name,
        "groupLabels": group.labels,
        "commonLabels": common(|a| &a.labels),
        "commonAnnotations": common(|a| &a.annotations),
        "externalURL": o.external_url,
        "alerts": items,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, instance: &str, ends_at: i64) -> OutgoingAlert {
        OutgoingAlert {
            labels: [
                ("alertname".to_string(), name.to_string()),
                ("instance".to_string(), instance.to_string()),
            ]
            .into(),
            annotations: BTreeMap::new(),
            starts_at: 0,
            ends_at,
            generator_url: String::new(),
        }
    }

    fn hook() -> Webhook {
        Webhook {
            options: WebhookOptions {
                url: String::new(),
                name: "team".into(),
                group_by: vec!["alertname".into()],
                group_wait_ms: 1_000,
                group_interval_ms: 5_000,
                repeat_interval_ms: 60_000,
                external_url: String::new(),
            },
            groups: Mutex::new(BTreeMap::new()),
            stats: WebhookStats::default(),
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
        }
    }

    #[test]
    fn groups_wait_then_send_changes_and_repeats() {
        let h = hook();
        let t0 = now_ms();
        h.receive(&[
            alert("A", "x", t0 + 600_000),
            alert("A", "y", t0 + 600_000),
            alert("B", "x", t0 + 600_000),
        ]);
        assert!(h.due(t0 + 500).is_empty(), "group_wait");
        let sent = h.due(t0 + 1_000);
        assert_eq!(sent.len(), 2, "one notification per alertname");
        let a: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(a["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(a["commonLabels"]["alertname"], "A");
        assert_eq!(a["status"], "firing");
        // The same alerts again (a resend): nothing new before the repeat interval.
        h.receive(&[alert("A", "x", t0 + 700_000)]);
        assert!(h.due(t0 + 10_000).is_empty(), "dedup");
        // A resolution: sent after group_interval, once.
        h.receive(&[alert("A", "y", t0 + 2_000)]);
        assert!(h.due(t0 + 5_000).is_empty(), "group_interval");
        let sent = h.due(t0 + 6_500);
        let a: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
        let statuses: Vec<&str> =
            a["alerts"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["firing", "resolved"]);
        assert_eq!(h.due(t0 + 61_000).len(), 1 + 1, "both groups repeat after repeat_interval");
    }
}
