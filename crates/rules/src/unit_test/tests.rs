use super::*;

fn run(test_file: &str, rules: &str) -> FileOutcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
    std::fs::write(dir.path().join("test.yml"), test_file).unwrap();
    run_file(&dir.path().join("test.yml"), &TestOptions::default())
}

const RULES: &str = "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 2m\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.instance }} down, v={{ $value }}'}\n";

#[test]
fn alerts_fire_after_for_and_recorded_series_are_queryable() {
    let test = r#"
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="a", instance="x"}'
        values: '1 0 0 0 0'
    alert_rule_test:
      - eval_time: 2m
        alertname: Down
      - eval_time: 3m30s
        alertname: Down
        exp_alerts:
          - exp_labels: {job: a, instance: x, severity: page}
            exp_annotations: {summary: 'x down, v=0'}
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 4m
        exp_samples:
          - labels: 'job:up:sum{job="a"}'
            value: 0
      - expr: count(ALERTS) by (alertstate)
        eval_time: 2m
        exp_samples:
          - labels: '{alertstate="pending"}'
            value: 1
"#;
    let outcome = run(test, RULES);
    assert!(outcome.passed(), "{outcome:?}");
}

#[test]
fn a_wrong_expectation_fails_with_exp_and_got() {
    let test = "rule_files: [rules.yml]\ntests:\n  - input_series:\n      - series: up\n        values: '1'\n    promql_expr_test:\n      - expr: up\n        eval_time: 0\n        exp_samples:\n          - labels: up\n            value: 2\n";
    let outcome = run(test, RULES);
    assert!(!outcome.passed());
    let report = format_failures("test.yml", &outcome);
    assert!(report.contains("exp: [up 2]") && report.contains("got: [up 1]"), "{report}");
}

#[test]
fn rfc3339_start_times() {
    assert_eq!(crate::duration::parse_rfc3339_ms("2024-01-01T00:00:00Z"), Some(1_704_067_200_000));
    assert_eq!(crate::duration::parse_rfc3339_ms("2024-01-01T01:00:00.5+01:00"), Some(1_704_067_200_500));
}
