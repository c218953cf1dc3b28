//! `strata rollup run` and `strata rollup query` over a data dir: the plan a query gets —
//! which tier answered which steps, points scanned with and without rollups, the result —
//! against a golden file (tests/golden/rollup_plan.txt; the timing line is masked, and
//! `STRATA_UPDATE_GOLDEN=1` rewrites the file), and `strata rollup status --dir --json`.

use std::process::Command;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-11-01T00:00:00Z.
const T0: i64 = 1_793_491_200_000;

fn strata(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "strata {args:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn the_plan_of_a_long_query_matches_the_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut body = String::new();
    for i in 0..3 * 24 * 60 {
        let t = T0 + i * 60_000 + 1_000;
        for host in ["a", "b"] {
            body.push_str(&format!("cpu{{host=\"{host}\"}} {} {t}\n", (i * 7 + host.len() as i64) % 100));
        }
    }
    let input = dir.path().join("in.prom");
    std::fs::write(&input, body).unwrap();
    let d = data.to_str().unwrap();
    strata(&["import", "--format", "prometheus", input.to_str().unwrap(), "--dir", d, "--json"]);
    let run: serde_json::Value =
        serde_json::from_str(&strata(&["rollup", "run", "--dir", d, "--rollups", "1m:1d,1h", "--json"]))
            .unwrap();
    assert!(run["spans"].as_u64().unwrap() > 10, "{run}");

    let end = ((T0 + 3 * DAY) / 1000).to_string();
    let plan = strata(&[
        "rollup",
        "query",
        "avg_over_time(cpu[1h])",
        "--range",
        "2d",
        "--step",
        "1h",
        "--end",
        &end,
        "--dir",
        d,
        "--rollups",
        "1m:1d,1h",
    ]);
    let masked: String = plan
        .lines()
        .map(|l| if l.starts_with("Time: ") { "Time: (masked)" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let golden_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/rollup_plan.txt");
    if std::env::var_os("STRATA_UPDATE_GOLDEN").is_some() {
        std::fs::write(golden_path, &masked).unwrap();
    }
    let golden = std::fs::read_to_string(golden_path).unwrap_or_default();
    assert_eq!(masked, golden, "the plan differs from tests/golden/rollup_plan.txt:\n{masked}");

    let status: serde_json::Value =
        serde_json::from_str(&strata(&["rollup", "status", "--dir", d, "--rollups", "1m:1d,1h", "--json"]))
            .unwrap();
    assert_eq!(status["tiers"][0]["resolution"], "1m");
    assert_eq!(status["tiers"][1]["keep"], "forever");
    assert!(status["tiers"][1]["lag_seconds"].as_f64().unwrap() > 0.0, "{status}");
}
