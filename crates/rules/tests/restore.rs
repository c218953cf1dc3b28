//! Alert state across a restart: a new rule instance (what a restarted server has) reads
//! `ALERTS_FOR_STATE` back with Prometheus' rule, and `keep_firing_for` holds come back from
//! `ALERTS_KEEP_FIRING_SINCE`.

use std::collections::BTreeMap;

use strata_model::Labels;
use strata_promql::QueryEngine;
use strata_rules::alerting_rule::AlertingRule;
use strata_rules::restore::{restore, RestoreOptions};
use strata_rules::{
    parse_text, AlertState, EvalContext, LocalQuerier, MemoryStorage, ParseOptions, SampleSink,
};

const MIN: i64 = 60_000;

fn rule(text: &str) -> AlertingRule {
    let groups = parse_text("r.yml", text, &ParseOptions::default()).unwrap();
    AlertingRule::new(&groups[0].rules[0], &BTreeMap::new())
}

fn up(storage: &MemoryStorage, t: i64, v: f64) {
    let labels = Labels::from_pairs([("__name__", "up"), ("job", "a")]).unwrap();
    storage.append_samples(&[(labels, t, v)]).unwrap();
}

fn eval(rule: &mut AlertingRule, storage: &MemoryStorage, t: i64) {
    let engine = QueryEngine::default();
    let none = BTreeMap::new();
    let querier = LocalQuerier { storage, engine: &engine, cache: None };
    let ctx = EvalContext { querier: &querier, sink: storage, external_labels: &none, external_url: "" };
    rule.evaluate(t, t, 0, &ctx).unwrap();
}

#[test]
fn a_long_for_is_not_reset_and_downtime_does_not_count() {
    let text = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 30m\n";
    let storage = MemoryStorage::default();
    let mut before = rule(text);
    before.restored = true;
    for m in 0..=10 {
        up(&storage, m * MIN, 0.0);
        eval(&mut before, &storage, m * MIN);
    }
    assert_eq!(before.state(), AlertState::Pending);
    // Down from minute 10 to 15; the restarted rule evaluates once, then restores.
    let mut after = rule(text);
    up(&storage, 15 * MIN, 0.0);
    eval(&mut after, &storage, 15 * MIN);
    let r = restore(&mut after, &storage, 15 * MIN, RestoreOptions::default());
    assert_eq!(r.alerts, 1);
    let alert = after.active.values().next().unwrap();
    // Pending since 0, down at 10: 20 minutes were left, so it fires at 15 + 20 = 35.
    assert_eq!(alert.active_at, 5 * MIN, "active since 0 plus the 5 minutes of downtime");
}

#[test]
fn a_firing_alert_stays_firing_and_a_near_one_waits_the_grace_period() {
    let text = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 10m\n";
    let storage = MemoryStorage::default();
    let mut before = rule(text);
    before.restored = true;
    for m in 0..=12 {
        up(&storage, m * MIN, 0.0);
        eval(&mut before, &storage, m * MIN);
    }
    assert_eq!(before.state(), AlertState::Firing);
    let mut after = rule(text);
    up(&storage, 14 * MIN, 0.0);
    eval(&mut after, &storage, 14 * MIN);
    restore(&mut after, &storage, 14 * MIN, RestoreOptions::default());
    assert_eq!(after.active.values().next().unwrap().active_at, 0, "was firing: keeps its start");
    up(&storage, 15 * MIN, 0.0);
    eval(&mut after, &storage, 15 * MIN);
    assert_eq!(after.state(), AlertState::Firing, "fires at the next evaluation");

    // Pending for 8 of 10 minutes: 2 left is under the 10 m grace period, so it fires 10 m
    // after the restart rather than 2 m.
    let storage = MemoryStorage::default();
    let mut before = rule(text);
    before.restored = true;
    for m in 0..=8 {
        up(&storage, m * MIN, 0.0);
        eval(&mut before, &storage, m * MIN);
    }
    let mut after = rule(text);
    up(&storage, 9 * MIN, 0.0);
    eval(&mut after, &storage, 9 * MIN);
    restore(&mut after, &storage, 9 * MIN, RestoreOptions::default());
    assert_eq!(after.active.values().next().unwrap().active_at, 9 * MIN + 10 * MIN - 10 * MIN);
}

#[test]
fn keep_firing_for_holds_survive_a_restart() {
    let text = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    keep_firing_for: 10m\n";
    let storage = MemoryStorage::default();
    let mut before = rule(text);
    before.restored = true;
    up(&storage, 0, 0.0);
    eval(&mut before, &storage, 0);
    up(&storage, MIN, 1.0);
    eval(&mut before, &storage, MIN);
    assert_eq!(before.state(), AlertState::Firing, "held");
    // Restarted at minute 3 with the condition still clear: Prometheus would forget the
    // alert; the hold that began at minute 1 still has 8 minutes to run.
    let mut after = rule(text);
    up(&storage, 3 * MIN, 1.0);
    eval(&mut after, &storage, 3 * MIN);
    assert_eq!(after.state(), AlertState::Inactive);
    let r = restore(&mut after, &storage, 3 * MIN, RestoreOptions::default());
    assert_eq!(r.held, 1);
    up(&storage, 4 * MIN, 1.0);
    eval(&mut after, &storage, 4 * MIN);
    assert_eq!(after.state(), AlertState::Firing, "still held after the restart");
    up(&storage, 11 * MIN, 1.0);
    eval(&mut after, &storage, 11 * MIN);
    assert_eq!(after.state(), AlertState::Inactive, "the hold ran out at minute 11");
}
