//! `strata promql`: the `.test` runner and the REPL, end to end through the binary.

mod common;

use common::{strata_stdin as strata, text};

const SCRIPT: &str = r#"
load 1m
  http_requests_total{job="api"} 0+10x10
  http_requests_total{job="db"} 0+20x10

eval instant at 5m sum(rate(http_requests_total[5m]))
  {} 0.5

eval instant at 5m http_requests_total{job="api"}
  http_requests_total{job="api"} 999

eval range from 0 to 2m step 1m http_requests_total{job="db"} * 2
  {job="db"} 0 40 80

load 1m
  native_series {{schema:0 sum:1 count:1}}x3

eval instant at 1m native_series
  native_series {{schema:0 sum:1 count:1}}

eval instant at 1m histogram_count(native_series </ 2)
  {} 1
"#;

#[test]
fn test_reports_each_eval_and_the_totals() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mini.test");
    std::fs::write(&file, SCRIPT).unwrap();
    let file = file.display().to_string();

    let out = strata(&["promql", "test", &file], "");
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "an eval fails, so the exit status says so");
    assert!(stdout.contains(&format!("{file}: 4 passed, 1 failed, 0 skipped")), "{stdout}");
    assert!(stdout.trim_end().ends_with("4 passed, 1 failed, 0 skipped"), "{stdout}");

    let out = strata(&["promql", "test", "--json", dir.path().to_str().unwrap()], "");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64(), report["skipped"].as_u64()),
        (Some(4), Some(1), Some(0))
    );
    let evals = report["evals"].as_array().unwrap();
    let lines: Vec<(u64, &str)> =
        evals.iter().map(|e| (e["line"].as_u64().unwrap(), e["status"].as_str().unwrap())).collect();
    assert_eq!(lines, [(6, "passed"), (9, "failed"), (12, "passed"), (18, "passed"), (21, "passed")]);
    assert!(evals[1]["reason"].as_str().unwrap().contains("expected 999"), "{}", evals[1]);
    assert_eq!(evals[0]["file"].as_str().unwrap(), file);
}

#[test]
fn test_says_which_script_line_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.test");
    std::fs::write(&file, "load 1m\n  up 1 2\n\nfrobnicate\n").unwrap();
    let out = strata(&["promql", "test", file.to_str().unwrap()], "");
    assert!(!out.status.success());
    assert!(text(&out.stdout).contains("does not read: line 4: unknown command"), "{}", text(&out.stdout));
}

#[test]
fn the_repl_answers_over_an_imported_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.prom");
    std::fs::write(
        &input,
        "cpu_usage{host=\"server1\",region=\"us-east\"} 0.75 1703001600000\n\
         cpu_usage{host=\"server1\",region=\"us-east\"} 0.82 1703001610000\n\
         memory_usage{host=\"server1\"} 0.45 1703001600000\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let (input, data) = (input.to_str().unwrap(), data.to_str().unwrap());
    assert!(strata(&["import", "--format", "prometheus", "--dir", data, input], "").status.success());

    let session = ".at 1703001620\ncpu_usage\ncount({host=\"server1\"})\n.range 1703001600 1703001610 10s\nmemory_usage\nrate(cpu_usage)\n";
    let out = strata(&["promql", "--dir", data], session);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "TYPE: instant vector\ncpu_usage{host=\"server1\", region=\"us-east\"} 0.82\nQuery time: "
        ),
        "{stdout}"
    );
    assert!(stdout.contains("{} 2\n"), "{stdout}");
    assert!(
        stdout.contains("memory_usage{host=\"server1\"}\n  0.45 @1703001600\n  0.45 @1703001610\n"),
        "{stdout}"
    );
    assert!(stdout.contains("Error (bad_data): "), "a bad query prints Prometheus' error: {stdout}");

    let out = strata(&["promql", "--dir", data, "--at", "1703001620", "--json"], "sum(cpu_usage)\n");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["resultType"], "vector");
    assert_eq!(answer["result"][0]["value"][1], "0.82");

    let experimental = "limitk(1, cpu_usage)\n";
    let refused = text(&strata(&["promql", "--dir", data, "--at", "1703001620"], experimental).stdout);
    assert!(refused.contains("limitk() and limit_ratio() are experimental"), "{refused}");
    let out =
        strata(&["promql", "--dir", data, "--at", "1703001620", "--json", "--experimental"], experimental);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["result"][0]["value"][1], "0.82", "{answer}");
}
