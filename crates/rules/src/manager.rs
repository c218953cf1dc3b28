//! Running rule groups in a server: one thread per group at its interval, so a slow group
//! never delays another; reload (SIGHUP, `POST /-/reload`) that keeps the state of what did
//! not change; restore of alert state at startup; alerts handed to the notifier.
//!
//! Scheduling follows Prometheus: a group's evaluation times are multiples of its interval
//! shifted by a per-group offset (a hash of file and name, so groups spread over the
//! interval); an evaluation that starts late by a whole interval or more skips the missed
//! times — counted in `strata_rule_group_iterations_missed_total`, never run twice.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use strata_promql::QueryEngine;

use crate::context::{EvalContext, ExprCache, LocalQuerier};
use crate::file::{load_file, GroupSpec, ParseOptions};
use crate::group::{Group, Rule};
use crate::notifier::Notifier;
use crate::restore::{restore, RestoreOptions};
use crate::storage::RuleStorage;
use crate::unit_test::expand_glob;

/// The rule engine's settings.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Interval of groups that set none (Prometheus' `global.evaluation_interval`, 1m).
    pub evaluation_interval_ms: i64,
    /// Query offset of groups that set none (`global.rule_query_offset`, 0).
    pub query_offset_ms: i64,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
    /// `--rules.alert.resend-delay` (1m).
    pub resend_delay_ms: i64,
    pub restore: RestoreOptions,
    pub parse: ParseOptions,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            evaluation_interval_ms: 60_000,
            query_offset_ms: 0,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            resend_delay_ms: 60_000,
            restore: RestoreOptions::default(),
            parse: ParseOptions::default(),
        }
    }
}

/// Counters of one group, for `/metrics`.
#[derive(Debug, Default)]
pub struct GroupCounters {
    pub iterations: AtomicU64,
    pub missed: AtomicU64,
    pub evaluation_failures: AtomicU64,
    pub rule_evaluations: AtomicU64,
}

/// A group and the thread that evaluates it.
pub struct GroupRunner {
    pub group: Mutex<Group>,
    pub counters: GroupCounters,
    stop: Mutex<bool>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for GroupRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRunner").finish_non_exhaustive()
    }
}

/// What a (re)load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub files: usize,
    pub groups: usize,
    pub rules: usize,
    /// Groups whose state was kept because they did not change.
    pub unchanged: usize,
}

struct Shared {
    storage: Arc<dyn RuleStorage>,
    engine: QueryEngine,
    exprs: ExprCache,
    options: ManagerOptions,
    notifier: Option<Arc<Notifier>>,
}

/// The rule engine of a server.
pub struct RuleManager {
    shared: Arc<Shared>,
    runners: RwLock<Vec<Arc<GroupRunner>>>,
    patterns: Mutex<Vec<String>>,
    first_load: AtomicBool,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    pub last_reload_ok: AtomicBool,
}

impl std::fmt::Debug for RuleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleManager").finish_non_exhaustive()
    }
}

impl RuleManager {
    pub fn new(
        storage: Arc<dyn RuleStorage>,
        engine: QueryEngine,
        options: ManagerOptions,
        notifier: Option<Arc<Notifier>>,
    ) -> Self {
        RuleManager {
            shared: Arc::new(Shared { storage, engine, exprs: ExprCache::default(), options, notifier }),
            runners: RwLock::new(Vec::new()),
            patterns: Mutex::new(Vec::new()),
            first_load: AtomicBool::new(true),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            last_reload_ok: AtomicBool::new(true),
        }
    }

    /// Loads the files the patterns name (globs) and starts their groups; on any error the
    /// running groups stay as they are and the errors are returned.
    pub fn load(&self, patterns: &[String]) -> Result<LoadReport, Vec<String>> {
        if let Ok(mut p) = self.patterns.lock() {
            *p = patterns.to_vec();
        }
        self.reload()
    }

    /// Reads the files again (SIGHUP, `POST /-/reload`).
    pub fn reload(&self) -> Result<LoadReport, Vec<String>> {
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let patterns = self.patterns.lock().map(|p| p.clone()).unwrap_or_default();
        let result = self.read_specs(&patterns).map(|(files, specs)| self.apply(files, specs));
        self.last_reload_ok.store(result.is_ok(), Ordering::Relaxed);
        if result.is_err() {
            self.reload_failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn read_specs(&self, patterns: &[String]) -> Result<(usize, Vec<GroupSpec>), Vec<String>> {
        let mut specs = Vec::new();
        let mut errors = Vec::new();
        let mut files = 0;
        for pattern in patterns {
            for path in expand_glob(std::path::Path::new(pattern)) {
                files += 1;
                match load_file(&path, &self.shared.options.parse) {
                    Ok(f) => specs.extend(f.groups),
                    Err(e) => errors.extend(e.errors),
                }
            }
        }
        if errors.is_empty() {
            Ok((files, specs))
        } else {
            Err(errors)
        }
    }

    /// Swaps in the new groups: an unchanged group keeps its runner; a changed one starts
    /// anew but keeps the alerts of its rules that kept name, expression and labels.
    fn apply(&self, files: usize, specs: Vec<GroupSpec>) -> LoadReport {
        let restore_state = self.first_load.swap(false, Ordering::SeqCst);
        let Ok(mut runners) = self.runners.write() else { return LoadReport::default() };
        let mut old: HashMap<(String, String), Arc<GroupRunner>> = runners
            .drain(..)
            .filter_map(|r| {
                let key = r.group.lock().ok().map(|g| (g.file.clone(), g.name.clone()))?;
                Some((key, r))
            })
            .collect();
        let mut report = LoadReport { files, groups: specs.len(), ..Default::default() };
        for spec in specs {
            report.rules += spec.rules.len();
            let key = (spec.file.clone(), spec.name.clone());
            let previous = old.remove(&key);
            if let Some(runner) = &previous {
                if runner.group.lock().is_ok_and(|g| g.spec == spec) {
                    report.unchanged += 1;
                    runners.push(runner.clone());
                    continue;
                }
            }
            let o = &self.shared.options;
            let mut group = Group::new(&spec, o.evaluation_interval_ms, o.query_offset_ms);
            if let Some(runner) = previous {
                runner.halt();
                if let Ok(before) = runner.group.lock() {
                    carry_state(&before, &mut group);
                }
            } else if !restore_state {
                // A group added by a reload has no earlier state to restore.
                group.mark_restored();
            }
            runners.push(start_runner(group, self.shared.clone()));
        }
        for (_, runner) in old {
            runner.halt();
        }
        report
    }

    /// The running groups (lock each to read it).
    pub fn groups(&self) -> Vec<Arc<GroupRunner>> {
        self.runners.read().map(|r| r.clone()).unwrap_or_default()
    }

    /// Stops every group (and the notifier, after it sent what is queued).
    pub fn stop(&self) {
        if let Ok(mut runners) = self.runners.write() {
            for r in runners.drain(..) {
                r.halt();
            }
        }
        if let Some(n) = &self.shared.notifier {
            n.stop();
        }
    }

    /// `strata_rule_*` (and `strata_notifications_*`) in the exposition format.
    pub fn render_metrics(&self, out: &mut String) {
        crate::metrics::render(self, out);
        if let Some(n) = &self.shared.notifier {
            n.render_metrics(out);
        }
    }
}

impl GroupRunner {
    /// Stops the thread and waits for it (an evaluation in progress finishes first).
    fn halt(&self) {
        if let Ok(mut stop) = self.stop.lock() {
            *stop = true;
        }
        self.wake.notify_all();
        if let Some(handle) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = handle.join();
        }
    }
}

/// Alert state of rules that are the same in both versions of a changed group.
fn carry_state(before: &Group, after: &mut Group) {
    for rule in &mut after.rules {
        let Rule::Alerting(new) = rule else { continue };
        if let Some(old) = before
            .alerting_rules()
            .find(|o| o.name == new.name && o.expr == new.expr && o.labels == new.labels)
        {
            new.active = old.active.clone();
            new.restored = old.restored;
        }
    }
}

fn start_runner(group: Group, shared: Arc<Shared>) -> Arc<GroupRunner> {
    let runner = Arc::new(GroupRunner {
        group: Mutex::new(group),
        counters: GroupCounters::default(),
        stop: Mutex::new(false),
        wake: Condvar::new(),
        thread: Mutex::new(None),
    });
    let for_thread = runner.clone();
    let spawned = std::thread::Builder::new()
        .name("strata-rules".into())
        .stack_size(16 << 20)
        .spawn(move || run_group(&for_thread, &shared));
    match spawned {
        Ok(handle) => {
            if let Ok(mut t) = runner.thread.lock() {
                *t = Some(handle);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot start a rule group thread"),
    }
    runner
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The group's offset within its interval: a hash of file and name, so groups spread.
fn slot_offset(file: &str, name: &str, interval: i64) -> i64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (file, name).hash(&mut h);
    (h.finish() % interval.max(1) as u64) as i64
}

/// The first evaluation time after `now` on the group's grid.
fn next_slot(now: i64, interval: i64, offset: i64) -> i64 {
    now - (now - offset).rem_euclid(interval) + interval
}

fn run_group(runner: &GroupRunner, shared: &Shared) {
    let (interval, mut next) = match runner.group.lock() {
        Ok(g) => {
            (g.interval_ms, next_slot(now_ms(), g.interval_ms, slot_offset(&g.file, &g.name, g.interval_ms)))
        }
        Err(_) => return,
    };
    loop {
        if !wait_until(runner, next) {
            return;
        }
        let (due, missed) = catch_up(next, now_ms(), interval);
        runner.counters.missed.fetch_add(missed, Ordering::Relaxed);
        next = due;
        evaluate_once(runner, shared, next);
        next += interval;
    }
}

/// The time to evaluate at when the evaluation due at `next` starts at `now`: `next` if it
/// is less than an interval late, else the latest due time, with the number skipped.
fn catch_up(next: i64, now: i64, interval: i64) -> (i64, u64) {
    let late = now - next;
    if late < interval {
        return (next, 0);
    }
    let missed = late / interval;
    (next + missed * interval, missed as u64)
}

/// Sleeps until `at` (ms); false when told to stop.
fn wait_until(runner: &GroupRunner, at: i64) -> bool {
    let Ok(mut stop) = runner.stop.lock() else { return false };
    loop {
        if *stop {
            return false;
        }
        let left = at - now_ms();
        if left <= 0 {
            return true;
        }
        stop = match runner.wake.wait_timeout(stop, Duration::from_millis(left as u64)) {
            Ok((s, _)) => s,
            Err(_) => return false,
        };
    }
}

/// One evaluation at `ts`: rules in order, state restored after the first evaluation at
/// startup, due alerts handed to the notifier.
fn evaluate_once(runner: &GroupRunner, shared: &Shared, ts: i64) {
    let Ok(mut group) = runner.group.lock() else { return };
    let o = &shared.options;
    let querier =
        LocalQuerier { storage: shared.storage.as_ref(), engine: &shared.engine, cache: Some(&shared.exprs) };
    let ctx = EvalContext {
        querier: &querier,
        sink: shared.storage.as_ref(),
        external_labels: &o.external_labels,
        external_url: &o.external_url,
    };
    let errors = group.evaluate(ts, &ctx);
    runner.counters.iterations.fetch_add(1, Ordering::Relaxed);
    runner.counters.rule_evaluations.fetch_add(group.rules.len() as u64, Ordering::Relaxed);
    runner.counters.evaluation_failures.fetch_add(errors.len() as u64, Ordering::Relaxed);
    for e in &errors {
        tracing::warn!(group = %group.name, rule = %e.rule, error = %e.error, "rule evaluation failed");
    }
    let interval = group.interval_ms;
    let mut outgoing = Vec::new();
    for rule in &mut group.rules {
        let Rule::Alerting(a) = rule else { continue };
        if !a.restored {
            let r = restore(a, shared.storage.as_ref(), ts, o.restore);
            if r.alerts + r.held > 0 {
                tracing::info!(rule = %a.name, alerts = r.alerts, held = r.held, "alert state restored");
            }
        }
        outgoing.extend(a.due_alerts(ts, o.resend_delay_ms, interval, &o.external_url));
    }
    if let Some(n) = &shared.notifier {
        n.send(outgoing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_on_the_grid_after_now() {
        assert_eq!(next_slot(1_000, 60_000, 0), 60_000);
        assert_eq!(next_slot(60_000, 60_000, 0), 120_000);
        assert_eq!(next_slot(61_000, 60_000, 5_000), 65_000);
        let o = slot_offset("f", "g", 15_000);
        assert!((0..15_000).contains(&o));
    }

    #[test]
    fn a_late_evaluation_skips_what_it_missed_and_counts_it() {
        assert_eq!(catch_up(60_000, 60_500, 15_000), (60_000, 0), "a little late runs as due");
        assert_eq!(catch_up(60_000, 75_000, 15_000), (75_000, 1));
        assert_eq!(catch_up(60_000, 106_000, 15_000), (105_000, 3), "never run twice, never late");
    }
}
