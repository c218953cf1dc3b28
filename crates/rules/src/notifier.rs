//! Sending alerts to Alertmanagers (API v2, `POST /api/v2/alerts`) as Prometheus' notifier
//! does: external labels added where an alert lacks them, one bounded queue per
//! Alertmanager (when full, the oldest alerts are dropped), batches of up to 256, any 2xx is
//! success. Beyond Prometheus, a failed batch is retried (three tries, with backoff) before
//! it is dropped; the resend loop covers what is lost after that.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::alerting_rule::OutgoingAlert;
use crate::webhook::{Webhook, WebhookOptions};

/// Notifier settings (Prometheus' flags of the same meaning).
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// Alertmanager base URLs (`http://host:9093`).
    pub alertmanagers: Vec<String>,
    /// `--alertmanager.notification-queue-capacity`.
    pub queue_capacity: usize,
    /// Alerts per request.
    pub batch_size: usize,
    /// Per request.
    pub timeout: Duration,
    /// Tries per batch.
    pub attempts: u32,
    /// Added to every alert that lacks them.
    pub external_labels: BTreeMap<String, String>,
    /// Plain webhooks, with their grouping.
    pub webhooks: Vec<WebhookOptions>,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            alertmanagers: Vec::new(),
            queue_capacity: 10_000,
            batch_size: 256,
            timeout: Duration::from_secs(10),
            attempts: 3,
            external_labels: BTreeMap::new(),
            webhooks: Vec::new(),
        }
    }
}

/// Counters per Alertmanager, for `/metrics`.
#[derive(Debug, Default)]
pub struct TargetStats {
    pub sent: AtomicU64,
    pub errors: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
    pub latency_micros: AtomicU64,
    pub requests: AtomicU64,
}

struct Target {
    url: String,
    queue: Mutex<VecDeque<OutgoingAlert>>,
    ready: Condvar,
    stats: TargetStats,
}

/// The notifier: a sender thread per Alertmanager.
pub struct Notifier {
    targets: Vec<Arc<Target>>,
    webhooks: Vec<Arc<Webhook>>,
    options: NotifierOptions,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("alertmanagers", &self.options.alertmanagers).finish()
    }
}

/// One alert as Alertmanager's API v2 takes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert<'a> {
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
}

impl Notifier {
    /// Starts a sender per Alertmanager.
    pub fn start(options: NotifierOptions) -> Arc<Notifier> {
        let stop = Arc::new(AtomicBool::new(false));
        let targets: Vec<Arc<Target>> = options
            .alertmanagers
            .iter()
            .map(|url| {
                Arc::new(Target {
                    url: url.trim_end_matches('/').to_string(),
                    queue: Mutex::new(VecDeque::new()),
                    ready: Condvar::new(),
                    stats: TargetStats::default(),
                })
            })
            .collect();
        let webhooks = options.webhooks.iter().cloned().map(Webhook::start).collect();
        let notifier = Arc::new(Notifier {
            targets: targets.clone(),
            webhooks,
            options: options.clone(),
            stop: stop.clone(),
            threads: Mutex::new(Vec::new()),
        });
        let mut threads = Vec::new();
        for target in targets {
            let (stop, options) = (stop.clone(), options.clone());
            let spawned = std::thread::Builder::new()
                .name("strata-notify".into())
                .spawn(move || send_loop(&target, &options, &stop));
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => tracing::error!(error = %e, "cannot start an Alertmanager sender"),
            }
        }
        if let Ok(mut t) = notifier.threads.lock() {
            *t = threads;
        }
        notifier
    }

    /// Queues alerts for every Alertmanager, external labels added.
    pub fn send(&self, alerts: Vec<OutgoingAlert>) {
        if alerts.is_empty() {
            return;
        }
        let alerts: Vec<OutgoingAlert> = alerts
            .into_iter()
            .map(|mut a| {
                for (k, v) in &self.options.external_labels {
                    a.labels.entry(k.clone()).or_insert_with(|| v.clone());
                }
                a
            })
            .collect();
        for hook in &self.webhooks {
            hook.receive(&alerts);
        }
        for target in &self.targets {
            let Ok(mut queue) = target.queue.lock() else { continue };
            queue.extend(alerts.iter().cloned());
            let over = queue.len().saturating_sub(self.options.queue_capacity);
            if over > 0 {
                queue.drain(..over);
                target.stats.dropped.fetch_add(over as u64, Ordering::Relaxed);
            }
            target.ready.notify_one();
        }
    }

    /// Stops the senders after they have sent what is queued (one try each).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for hook in &self.webhooks {
            hook.stop();
        }
        for t in &self.targets {
            t.ready.notify_all();
        }
        if let Ok(mut threads) = self.threads.lock() {
            for handle in threads.drain(..) {
                let _ = handle.join();
            }
        }
    }

    /// `strata_notifications_*` in the exposition format.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        type Read = fn(&TargetStats) -> u64;
        let metrics: [(&str, &str, &str, Read); 5] = [
            ("strata_notifications_sent_total", "counter", "Alerts sent to the Alertmanager.", |s| {
                s.sent.load(Ordering::Relaxed)
            }),
            (
                "strata_notifications_errors_total",
                "counter",
                "Requests to the Alertmanager that failed.",
                |s| s.errors.load(Ordering::Relaxed),
            ),
            (
                "strata_notifications_dropped_total",
                "counter",
                "Alerts dropped: queue full or every try failed.",
                |s| s.dropped.load(Ordering::Relaxed),
            ),
            ("strata_notifications_retries_total", "counter", "Requests tried again after a failure.", |s| {
                s.retries.load(Ordering::Relaxed)
            }),
            ("strata_notifications_requests_total", "counter", "Requests made to the Alertmanager.", |s| {
                s.requests.load(Ordering::Relaxed)
            }),
        ];
        for (name, kind, help, read) in metrics {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for t in &self.targets {
                let _ = writeln!(out, "{name}{{alertmanager=\"{}\"}} {}", t.url, read(&t.stats));
            }
        }
        let _ = writeln!(out, "# HELP strata_webhook_notifications_sent_total Webhook notifications sent.\n# TYPE strata_webhook_notifications_sent_total counter");
        for h in &self.webhooks {
            let _ = writeln!(
                out,
                "strata_webhook_notifications_sent_total{{url=\"{}\"}} {}",
                h.url(),
                h.stats.sent.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP strata_webhook_notifications_errors_total Webhook notifications that failed.\n# TYPE strata_webhook_notifications_errors_total counter");
        for h in &self.webhooks {
            let _ = writeln!(
                out,
                "strata_webhook_notifications_errors_total{{url=\"{}\"}} {}",
                h.url(),
                h.stats.errors.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP strata_notifications_queue_length Alerts waiting to be sent.\n# TYPE strata_notifications_queue_length gauge");
        for t in &self.targets {
            let len = t.queue.lock().map_or(0, |q| q.len());
            let _ = writeln!(out, "strata_notifications_queue_length{{alertmanager=\"{}\"}} {len}", t.url);
        }
        let _ = writeln!(
            out,
            "# HELP strata_notifications_queue_capacity Most alerts a queue holds.\n# TYPE strata_notifications_queue_capacity gauge\nstrata_notifications_queue_capacity {}",
            self.options.queue_capacity
        );
    }
}

fn send_loop(target: &Target, options: &NotifierOptions, stop: &AtomicBool) {
    let agent = ureq::AgentBuilder::new().timeout(options.timeout).build();
    loop {
        let batch: Vec<OutgoingAlert> = {
            let Ok(mut queue) = target.queue.lock() else { return };
            while queue.is_empty() && !stop.load(Ordering::SeqCst) {
                queue = match target.ready.wait_timeout(queue, Duration::from_secs(1)) {
                    Ok((q, _)) => q,
                    Err(_) => return,
                };
            }
            if queue.is_empty() {
                return;
            }
            let n = queue.len().min(options.batch_size);
            queue.drain(..n).collect()
        };
        let attempts = if stop.load(Ordering::SeqCst) { 1 } else { options.attempts.max(1) };
        post_batch(&agent, target, &batch, attempts);
    }
}

fn post_batch(agent: &ureq::Agent, target: &Target, batch: &[OutgoingAlert], attempts: u32) {
    let body = match serde_json::to_string(&batch.iter().map(postable).collect::<Vec<_>>()) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode alerts");
            return;
        }
    };
    let url = format!("{}/api/v2/alerts", target.url);
    for attempt in 0..attempts {
        if attempt > 0 {
            target.stats.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(200 << attempt));
        }
        let started = Instant::now();
        target.stats.requests.fetch_add(1, Ordering::Relaxed);
        let result = agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set("User-Agent", concat!("Strata/", env!("CARGO_PKG_VERSION")))
            .send_string(&body);
        target.stats.latency_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match result {
            Ok(_) => {
                target.stats.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                target.stats.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(alertmanager = %target.url, attempt = attempt + 1, error = %e, "sending alerts failed");
            }
        }
    }
    target.stats.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
}

fn postable(a: &OutgoingAlert) -> PostableAlert<'_> {
    PostableAlert {
        labels: &a.labels,
        annotations: &a.annotations,
        starts_at: rfc3339_ms(a.starts_at),
        ends_at: rfc3339_ms(a.ends_at),
        generator_url: &a.generator_url,
    }
}

/// RFC 3339 with milliseconds and `Z`, as Prometheus sends times.
pub fn rfc3339_ms(ms: i64) -> String {
    let (days, of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = strata_model::calendar::civil_from_days(days);
    let s = of_day / 1000;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", s / 3600, s / 60 % 60, s % 60, of_day % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(i: usize) -> OutgoingAlert {
        OutgoingAlert {
            labels: BTreeMap::from([("alertname".to_string(), format!("A{i}"))]),
            annotations: BTreeMap::new(),
            starts_at: 0,
            ends_at: 0,
            generator_url: String::new(),
        }
    }

    /// The queue is bounded: past `queue_capacity` the oldest alerts are dropped, counted.
    #[test]
    fn a_full_queue_drops_the_oldest_alerts_and_counts_them() {
        let notifier = Notifier::start(NotifierOptions {
            // Nothing listens on port 1: every send fails, so the queue only grows.
            alertmanagers: vec!["http://127.0.0.1:1".into()],
            queue_capacity: 5,
            attempts: 1,
            timeout: Duration::from_millis(100),
            ..NotifierOptions::default()
        });
        notifier.send((0..50).map(alert).collect());
        let queued = notifier.targets[0].queue.lock().unwrap().len();
        assert!(queued <= 5, "{queued} alerts queued past a capacity of 5");
        let dropped = notifier.targets[0].stats.dropped.load(Ordering::Relaxed);
        assert!(dropped >= 45, "{dropped} dropped");
        let mut metrics = String::new();
        notifier.render_metrics(&mut metrics);
        assert!(metrics.contains("strata_notifications_dropped_total"), "{metrics}");
        notifier.stop();
    }
}
