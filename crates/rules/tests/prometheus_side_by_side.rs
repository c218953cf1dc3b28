//! The same rule file over the same data as a real Prometheus 2.42: the peers' rules
//! (../shared/peers/conf/rules.yml) evaluated over the inputs in the scrape-1s-A dataset at
//! the evaluation times that Prometheus used, compared with what that Prometheus wrote
//! (its recorded series and `ALERTS`, stored in the dataset beside its inputs;
//! ../shared/datasets/README.md). Prometheus can only evaluate rules at wall-clock time, so
//! its output from the recording is the oracle. Needs `STRATA_SHARED_DIR`; skipped loudly
//! without it.
//!
//! The recording starts after Prometheus did: in the first minute its `rate`s still saw
//! samples from before the window, and the always-firing Watchdog was already active. Those
//! are counted apart ("before the window settles"), not hidden. From then on every `ALERTS`
//! and `ALERTS_FOR_STATE` sample and every recorded value must be Prometheus', bit for bit —
//! except that a `sum` of rates may differ in the last bits: Strata sums with Kahan
//! compensation as Prometheus 3 does, 2.42 summed plainly.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

use strata_model::Labels;
use strata_promql::testscript::parse_series;
use strata_promql::QueryEngine;
use strata_rules::{parse_text, EvalContext, Group, LocalQuerier, MemoryStorage, ParseOptions, SampleSink};

const OUTPUTS: [&str; 4] =
    ["ALERTS", "ALERTS_FOR_STATE", "job:process_cpu_seconds:rate1m", "instance:node_cpu_busy:rate1m"];
const INPUTS: [&str; 3] = ["process_cpu_seconds_total", "node_cpu_seconds_total", "up"];

type Sample = (Labels, i64, f64);

fn read_dataset(path: &Path) -> (Vec<Sample>, Vec<Sample>) {
    let file = std::fs::File::open(path).expect("the dataset");
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for line in reader.lines() {
        let line = line.unwrap();
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        let is_output = OUTPUTS.contains(&name);
        if !is_output && !INPUTS.contains(&name) {
            continue;
        }
        let (labels, rest) = parse_series(&line).unwrap();
        let mut fields = rest.split_whitespace();
        let v = strata_promql::testscript::parse_float(fields.next().unwrap()).unwrap();
        let t: i64 = fields.next().unwrap().parse().unwrap();
        if is_output {
            outputs.push((labels, t, v));
        } else {
            inputs.push((labels, t, v));
        }
    }
    (inputs, outputs)
}

#[test]
fn the_peers_rules_give_what_prometheus_2_42_gave() {
    let Some(shared) = std::env::var_os("STRATA_SHARED_DIR") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but STRATA_SHARED_DIR is not set");
        eprintln!("SKIPPED: STRATA_SHARED_DIR is not set; the side-by-side with Prometheus' rule output did not run");
        return;
    };
    let shared = Path::new(&shared);
    let (inputs, prometheus) = read_dataset(&shared.join("datasets/scrape-1s-A.prom.gz"));
    let rules = std::fs::read_to_string(shared.join("peers/conf/rules.yml")).unwrap();
    let specs = parse_text("rules.yml", &rules, &ParseOptions::default()).unwrap();
    let storage = MemoryStorage::default();
    storage.append_samples(&inputs).unwrap();
    let engine = QueryEngine::default();
    let querier = LocalQuerier { storage: &storage, engine: &engine, cache: None };
    let none = BTreeMap::new();
    let ctx = EvalContext { querier: &querier, sink: &storage, external_labels: &none, external_url: "" };

    // Prometheus' evaluation times: of its recorded series (group peers-recording) and of
    // the always-firing Watchdog's ALERTS (group peers-alerts).
    let times = |pick: &dyn Fn(&Labels) -> bool| -> BTreeSet<i64> {
        prometheus.iter().filter(|(l, _, _)| pick(l)).map(|(_, t, _)| *t).collect()
    };
    let recording_times = times(&|l| l.metric_name() == Some("job:process_cpu_seconds:rate1m"));
    let alert_times = times(&|l| l.metric_name() == Some("ALERTS") && l.get("alertname") == Some("Watchdog"));
    let mut groups: Vec<Group> = specs.iter().map(|g| Group::new(g, 5_000, 0)).collect();
    for g in &mut groups {
        g.mark_restored();
    }
    let mut schedule: Vec<(i64, usize)> =
        recording_times.iter().map(|t| (*t, 0)).chain(alert_times.iter().map(|t| (*t, 1))).collect();
    schedule.sort();
    for (t, group) in &schedule {
        let errors = groups[*group].evaluate(*t, &ctx);
        assert!(errors.is_empty(), "{errors:?}");
    }

    // Every output Prometheus wrote, against Strata's at the same series and time.
    let ours: BTreeMap<(Labels, i64), f64> = OUTPUTS
        .iter()
        .flat_map(|name| {
            let m = [strata_model::Matcher::equal("__name__", *name)];
            strata_promql::Queryable::select(&storage, &m, i64::MIN, i64::MAX).unwrap()
        })
        .flat_map(|s| {
            s.collect_samples().unwrap().into_iter().map(move |(t, v)| ((s.labels().clone(), t), v))
        })
        .filter(|(_, v)| !strata_model::is_stale_marker(*v))
        .collect();
    let mut figures: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    let first_alerts = alert_times.iter().next().copied().unwrap_or(0);
    let window_start = inputs.iter().map(|(_, t, _)| *t).min().unwrap();
    let settled = window_start + 65_000;
    for (labels, t, v) in &prometheus {
        let name = OUTPUTS.iter().find(|n| labels.metric_name() == Some(n)).unwrap();
        let row = figures.entry(name).or_default();
        let began_before = *name == "ALERTS_FOR_STATE" && (*v * 1000.0) < window_start as f64;
        if *t < settled || began_before {
            row[4] += 1;
            continue;
        }
        match ours.get(&(labels.clone(), *t)) {
            Some(o) if o.to_bits() == v.to_bits() => row[0] += 1,
            Some(o) if *name == "instance:node_cpu_busy:rate1m" && (o - v).abs() <= 1e-9 * v.abs() => {
                // Kahan against plain summation: the plain sum of Strata's rates must be
                // Prometheus' value, bit for bit (one instance, so the sum is over all).
                let rates = engine
                    .instant(&storage, r#"rate(node_cpu_seconds_total{mode!="idle"}[1m])"#, *t)
                    .unwrap();
                let strata_promql::Value::Vector(rates) = rates.value else { panic!("a vector") };
                let plain = rates.iter().fold(0.0, |sum, s| sum + s.v);
                assert_eq!(
                    plain.to_bits(),
                    v.to_bits(),
                    "{labels} at {t}: plain sum {plain}, prometheus {v}"
                );
                row[1] += 1;
            }
            Some(o) => {
                row[2] += 1;
                if std::env::var_os("SHOW_DIFFERENCES").is_some() {
                    eprintln!("differs: {labels} at {t}: prometheus {v}, strata {o}");
                }
            }
            None => row[3] += 1,
        }
    }
    // What Strata wrote that Prometheus did not (from Prometheus' first ALERTS on).
    let theirs: BTreeSet<(Labels, i64)> = prometheus.iter().map(|(l, t, _)| (l.clone(), *t)).collect();
    let extra: Vec<_> = ours
        .keys()
        .filter(|(l, t)| {
            *t >= first_alerts && l.metric_name() == Some("ALERTS") && !theirs.contains(&(l.clone(), *t))
        })
        .collect();
    eprintln!("evaluations: {} recording, {} alerting", recording_times.len(), alert_times.len());
    for (name, [exact, close, differ, missing, before]) in &figures {
        eprintln!("{name}: {exact} bit-identical, {close} equal to the plain sum, {differ} different, {missing} missing in Strata; {before} before the window settles");
    }
    eprintln!("ALERTS samples Strata wrote that Prometheus did not: {}", extra.len());
    assert!(extra.is_empty(), "Strata wrote ALERTS that Prometheus did not: {extra:?}");
    for name in ["ALERTS", "ALERTS_FOR_STATE", "job:process_cpu_seconds:rate1m"] {
        let [exact, close, differ, missing, _] = figures[name];
        assert!(exact > 0 && close + differ + missing == 0, "{name} must be bit-identical: {figures:?}");
    }
    let [exact, close, differ, missing, _] = figures["instance:node_cpu_busy:rate1m"];
    assert!(exact + close > 0 && differ + missing == 0, "sums of rates within the last bits: {figures:?}");
}
