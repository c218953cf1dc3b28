//! `strata alert --config rules.yaml --url URL`: the rule engine on its own, against any
//! server with the Prometheus query API (Strata, Prometheus, VictoriaMetrics): each group at
//! its interval, each evaluation printed as it happens (`strata_rules::console`), alerts sent
//! to Alertmanagers if given. Nothing is written back: `ALERTS` lives in the server's own
//! rule engine, not here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use strata_model::Labels;
use strata_rules::file::{load_file, ParseOptions};
use strata_rules::notifier::{Notifier, NotifierOptions};
use strata_rules::{console, EvalContext, Group, Rule, RuleQuerier, SampleSink};

use crate::http;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Rule files (Prometheus' format); repeat for several.
    #[arg(long = "config", required = true)]
    files: Vec<PathBuf>,
    /// The server to query: http://host:port.
    #[arg(long)]
    url: String,
    /// Interval of groups that set none.
    #[arg(long, default_value = "1m")]
    evaluation_interval: String,
    /// Evaluations of each group before exiting (0: run until stopped).
    #[arg(long, default_value_t = 0)]
    rounds: u64,
    /// Alertmanagers to send alerts to (http://host:9093), comma-separated or repeated.
    #[arg(long = "alertmanager-url", value_delimiter = ',')]
    alertmanagers: Vec<String>,
    /// Print one JSON object per evaluation instead of text.
    #[arg(long)]
    json: bool,
}

/// Instant queries over HTTP.
struct RemoteQuerier {
    addr: String,
}

impl RuleQuerier for RemoteQuerier {
    fn instant(&self, expr: &str, t: i64) -> Result<Vec<(Labels, f64)>, String> {
        let path =
            format!("/api/v1/query?query={}&time={:.3}", http::encode_component(expr), t as f64 / 1000.0);
        let (status, body) =
            http::get(&self.addr, &path, Duration::from_secs(60)).map_err(|e| format!("{e:#}"))?;
        let answer: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{} answered {status}: {e}", self.addr))?;
        if answer["status"] != "success" {
            return Err(format!(
                "{}: {}",
                answer["errorType"].as_str().unwrap_or("error"),
                answer["error"].as_str().unwrap_or(&body)
            ));
        }
        let data = &answer["data"];
        let number = |v: &serde_json::Value| {
            v[1].as_str().and_then(strata_promql::testscript::parse_float).unwrap_or(f64::NAN)
        };
        match data["resultType"].as_str() {
            Some("scalar") => Ok(vec![(Labels::empty(), number(&data["result"]))]),
            Some("vector") => data["result"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|s| {
                            let pairs = s["metric"]
                                .as_object()
                                .into_iter()
                                .flatten()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()));
                            Ok((Labels::from_pairs(pairs).map_err(|e| e.to_string())?, number(&s["value"])))
                        })
                        .collect()
                })
                .unwrap_or_else(|| Ok(Vec::new())),
            other => Err(format!("rule result is not a vector or scalar: got {other:?}")),
        }
    }
}

/// Output goes nowhere: the standalone engine does not write.
struct Discard;

impl SampleSink for Discard {
    fn append_samples(&self, _: &[(Labels, i64, f64)]) -> Result<(), String> {
        Ok(())
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let interval =
        strata_rules::duration::parse_duration_ms(&args.evaluation_interval).map_err(anyhow::Error::msg)?;
    if interval <= 0 {
        bail!("--evaluation-interval must be positive");
    }
    let mut groups = Vec::new();
    for file in &args.files {
        let parsed = load_file(file, &ParseOptions::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
        groups.extend(parsed.groups.iter().map(|g| Group::new(g, interval, 0)));
    }
    if groups.is_empty() {
        bail!("no rule groups in {:?}", args.files);
    }
    let querier = RemoteQuerier { addr: http::host_port(&args.url)? };
    let notifier = (!args.alertmanagers.is_empty()).then(|| {
        Notifier::start(NotifierOptions { alertmanagers: args.alertmanagers.clone(), ..Default::default() })
    });
    let none = BTreeMap::new();
    let ctx =
        EvalContext { querier: &querier, sink: &Discard, external_labels: &none, external_url: &args.url };
    let mut next: Vec<i64> = groups.iter().map(|_| now_ms()).collect();
    let mut rounds = vec![0u64; groups.len()];
    let due = |next: &[i64], rounds: &[u64]| {
        next.iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| args.rounds == 0 || rounds[*i] < args.rounds)
            .min_by_key(|(_, t)| *t)
    };
    while let Some((i, at)) = due(&next, &rounds) {
        let wait = at - now_ms();
        if wait > 0 {
            std::thread::sleep(Duration::from_millis(wait as u64));
        }
        evaluate(&mut groups[i], at, &ctx, args.json, notifier.as_deref())?;
        rounds[i] += 1;
        next[i] = at + groups[i].interval_ms;
    }
    if let Some(n) = notifier {
        n.stop();
    }
    Ok(ExitCode::SUCCESS)
}

fn evaluate(
    group: &mut Group,
    ts: i64,
    ctx: &EvalContext<'_>,
    json: bool,
    notifier: Option<&Notifier>,
) -> anyhow::Result<()> {
    let before: Vec<console::StatesBefore> = group.alerting_rules().map(console::states).collect();
    let errors = group.evaluate(ts, ctx);
    let mut alerting = 0;
    for rule in &mut group.rules {
        match rule {
            Rule::Alerting(a) => {
                if json {
                    println!("{}", serde_json::to_string(&alert_json(a, ts))?);
                } else {
                    print!("{}", console::describe(a, &before[alerting], ts));
                }
                if let Some(n) = notifier {
                    n.send(a.due_alerts(ts, 60_000, group.interval_ms, ctx.external_url));
                }
                alerting += 1;
            }
            Rule::Recording(r) if !json => {
                if let Some(e) = &r.status.last_error {
                    println!("{} {}: error: {e}", strata_rules::notifier::rfc3339_ms(ts), r.name);
                }
            }
            Rule::Recording(_) => {}
        }
    }
    for e in errors {
        eprintln!("{} {}: error: {}", strata_rules::notifier::rfc3339_ms(ts), e.rule, e.error);
    }
    Ok(())
}

fn alert_json(rule: &strata_rules::alerting_rule::AlertingRule, ts: i64) -> serde_json::Value {
    let alerts: Vec<serde_json::Value> = rule
        .active
        .values()
        .map(|a| {
            serde_json::json!({
                "labels": a.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect::<BTreeMap<_, _>>(),
                "annotations": a.annotations,
                "state": a.state.as_str(),
                "value": a.value,
                "activeAt": strata_rules::notifier::rfc3339_ms(a.active_at),
                "pendingForMs": ts - a.active_at,
            })
        })
        .collect();
    serde_json::json!({
        "time": strata_rules::notifier::rfc3339_ms(ts),
        "rule": rule.name,
        "state": rule.state().as_str(),
        "forMs": rule.hold_ms,
        "threshold": console::threshold(&rule.expr).map(|(op, t)| format!("{op} {t}")),
        "error": rule.status.last_error,
        "alerts": alerts,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
