//! `strata_rule_*`: Prometheus' `prometheus_rule_*` under Strata's prefix, per group
//! (`rule_group="file;name"`), plus reload outcomes.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::manager::RuleManager;

pub(crate) fn render(manager: &RuleManager, out: &mut String) {
    let groups = manager.groups();
    let mut rows: Vec<(String, [f64; 8])> = Vec::new();
    for runner in &groups {
        let Ok(g) = runner.group.lock() else { continue };
        let c = &runner.counters;
        rows.push((
            format!("{};{}", g.file, g.name).replace('\\', "\\\\").replace('"', "\\\""),
            [
                c.iterations.load(Ordering::Relaxed) as f64,
                c.missed.load(Ordering::Relaxed) as f64,
                c.rule_evaluations.load(Ordering::Relaxed) as f64,
                c.evaluation_failures.load(Ordering::Relaxed) as f64,
                g.evaluation_seconds,
                g.interval_ms as f64 / 1000.0,
                g.rules.len() as f64,
                g.last_evaluation_ms.map_or(0.0, |t| t as f64 / 1000.0),
            ],
        ));
    }
    let metrics: [(&str, &str, &str); 8] = [
        ("strata_rule_group_iterations_total", "counter", "Evaluations of the group."),
        (
            "strata_rule_group_iterations_missed_total",
            "counter",
            "Evaluation times skipped because an evaluation ran late.",
        ),
        ("strata_rule_evaluations_total", "counter", "Rule evaluations."),
        ("strata_rule_evaluation_failures_total", "counter", "Rule evaluations that failed."),
        ("strata_rule_group_last_duration_seconds", "gauge", "How long the group's last evaluation took."),
        ("strata_rule_group_interval_seconds", "gauge", "The group's evaluation interval."),
        ("strata_rule_group_rules", "gauge", "Rules in the group."),
        (
            "strata_rule_group_last_evaluation_timestamp_seconds",
            "gauge",
            "When the group was last evaluated.",
        ),
    ];
    for (i, (name, kind, help)) in metrics.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (group, values) in &rows {
            let _ =
                writeln!(out, "{name}{{rule_group=\"{group}\"}} {}", strata_model::format_float(values[i]));
        }
    }
    let _ = writeln!(
        out,
        "# HELP strata_rule_reloads_total Rule reloads.\n# TYPE strata_rule_reloads_total counter\nstrata_rule_reloads_total {}\n# HELP strata_rule_reload_failures_total Rule reloads refused for bad files.\n# TYPE strata_rule_reload_failures_total counter\nstrata_rule_reload_failures_total {}\n# HELP strata_rule_config_last_reload_successful Whether the last reload succeeded.\n# TYPE strata_rule_config_last_reload_successful gauge\nstrata_rule_config_last_reload_successful {}",
        manager.reloads.load(Ordering::Relaxed),
        manager.reload_failures.load(Ordering::Relaxed),
        u8::from(manager.last_reload_ok.load(Ordering::Relaxed))
    );
}
