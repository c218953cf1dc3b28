//! `strata alert` against a running server: each evaluation printed with the value against
//! the threshold and the state, `ALERT FIRED` with labels, annotations and since, and
//! `--json` lines.

use std::process::Command;

use strata_testkit::StrataServer;

#[test]
fn the_console_shows_pending_then_fired() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(env!("CARGO_BIN_EXE_strata").as_ref(), &dir.path().join("data"), &[]);
    let r = server.post("/api/v1/import/prometheus", "text/plain", b"load{instance=\"a\"} 0.95\n");
    assert!(r.code < 300);
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: g\n  interval: 1s\n  rules:\n  - alert: HighLoad\n    expr: load > 0.9\n    for: 2s\n    annotations: {summary: 'load {{ $value }} on {{ $labels.instance }}'}\n",
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{}", server.port);
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["alert", "--config", rules.to_str().unwrap(), "--url", &url, "--rounds", "4"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("HighLoad{instance=\"a\"} value 0.95 > 0.9 -> pending (for: 0s of 2s)"), "{text}");
    assert!(text.contains("-> pending (for: 1s of 2s)"), "{text}");
    assert!(text.contains("ALERT FIRED HighLoad{instance=\"a\"}"), "{text}");
    assert!(text.contains("annotations: summary=\"load 0.95 on a\""), "{text}");

    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["alert", "--config", rules.to_str().unwrap(), "--url", &url, "--rounds", "1", "--json"])
        .output()
        .unwrap();
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["rule"], "HighLoad");
    assert_eq!(line["state"], "pending");
    assert_eq!(line["threshold"], "> 0.9");
    assert_eq!(line["alerts"][0]["value"], 0.95);
}
