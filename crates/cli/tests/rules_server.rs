//! The rule engine in a running server: alert state across a restart, reload by
//! `POST /-/reload` and SIGHUP (keeping the state of what did not change, refusing a bad
//! file without touching the running rules), and the `/api/v1/rules` filters.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use strata_testkit::StrataServer;

const ALERT_RULES: &str = "groups:\n- name: alerts\n  interval: 1s\n  rules:\n  - alert: Flip\n    expr: flip == 1\n    for: 2s\n    labels: {severity: page}\n";

fn start(dir: &Path) -> StrataServer {
    let config = dir.join("strata.toml");
    std::fs::write(
        &config,
        format!(
            "rule-files = [\"{}/*.yml\"]\n[alerting]\nfor-grace-period = \"1s\"\n",
            dir.join("rules").display()
        ),
    )
    .unwrap();
    StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &dir.join("data"),
        &["--config", config.to_str().unwrap()],
    )
}

fn write_rules(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("rules").join(name), text).unwrap();
}

/// Writes `flip 1` until the alert is firing; returns it.
fn firing(server: &StrataServer) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = server.post("/api/v1/import/prometheus", "text/plain", b"flip{instance=\"a\"} 1\n");
        assert!(r.code < 300);
        let alerts = server.get("/api/v1/alerts").json();
        if let Some(a) = alerts["data"]["alerts"].as_array().and_then(|a| a.first()) {
            if a["state"] == "firing" {
                return a.clone();
            }
        }
        assert!(Instant::now() < deadline, "no firing alert: {alerts}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_firing_alert_keeps_its_start_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    write_rules(dir.path(), "alerts.yml", ALERT_RULES);
    let server = start(dir.path());
    let before = firing(&server);
    let status = server.signal_and_wait(libc::SIGTERM);
    assert!(status.success());
    std::thread::sleep(Duration::from_secs(2));
    let server = start(dir.path());
    let after = firing(&server);
    // ALERTS_FOR_STATE keeps whole seconds; a new alert would have started after the restart.
    let second = |a: &Value| a["activeAt"].as_str().unwrap()[..19].to_string();
    assert_eq!(second(&after), second(&before), "before {before}, after {after}");
}

#[test]
fn reload_keeps_unchanged_rules_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    write_rules(dir.path(), "alerts.yml", ALERT_RULES);
    let server = start(dir.path());
    let before = firing(&server);

    write_rules(
        dir.path(),
        "recorded.yml",
        "groups:\n- name: recorded\n  interval: 1s\n  rules:\n  - record: flip:sum\n    expr: sum(flip)\n",
    );
    let r = server.post("/-/reload", "text/plain", b"");
    assert_eq!(r.code, 200, "{}", r.text());
    let groups = server.get("/api/v1/rules").json();
    let names: Vec<&str> =
        groups["data"]["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{groups}");
    let after = firing(&server);
    assert_eq!(after["activeAt"], before["activeAt"], "the unchanged group kept its alert");

    // Filters: only recording rules; one rule by name.
    let recorded = server.get("/api/v1/rules?type=record").json();
    let groups = recorded["data"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["rules"][0]["type"], "recording");
    let by_name = server.get("/api/v1/rules?rule_name[]=Flip").json();
    assert_eq!(by_name["data"]["groups"][0]["rules"][0]["name"], "Flip");
    assert_eq!(by_name["data"]["groups"][0]["rules"][0]["duration"], 2);

    // A bad file: refused with its name, and the running rules stay.
    write_rules(dir.path(), "bad.yml", "groups:\n- name: bad\n  rules:\n  - record: x\n    expr: 'sum('\n");
    let r = server.post("/-/reload", "text/plain", b"");
    assert_eq!(r.code, 500);
    assert!(r.text().contains("bad.yml") && r.text().contains("group \"bad\", rule 1"), "{}", r.text());
    assert_eq!(server.get("/api/v1/rules").json()["data"]["groups"].as_array().unwrap().len(), 2);
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("strata_rule_config_last_reload_successful 0"), "{metrics}");

    // SIGHUP reloads too.
    std::fs::remove_file(dir.path().join("rules/bad.yml")).unwrap();
    std::fs::remove_file(dir.path().join("rules/recorded.yml")).unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get("/api/v1/rules").json()["data"]["groups"].as_array().unwrap().len() != 1 {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(firing(&server)["activeAt"], before["activeAt"]);
}
