//! Strata's alerts in a real Alertmanager 0.25 (Debian `prometheus-alertmanager`): an alert
//! that fires arrives through API v2 with Strata's labels, external labels, annotations,
//! `startsAt`, a future `endsAt` and a `generatorURL` pointing at Strata; Alertmanager
//! groups it; when the condition clears, Strata's resolution ends it there.

use std::time::{Duration, Instant};

use strata_testkit::{peer_binary, Alertmanager, StrataServer};

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn write(server: &StrataServer, text: &str) {
    let r = server.post("/api/v1/import/prometheus", "text/plain", text.as_bytes());
    assert!(r.code < 300, "write: {}", r.text());
}

#[test]
fn an_alert_fires_groups_and_resolves_in_a_real_alertmanager() {
    let Some(binary) = peer_binary("prometheus-alertmanager", "prometheus-alertmanager") else { return };
    let dir = tempfile::tempdir().unwrap();
    let am = Alertmanager::start(&binary, &dir.path().join("am"));
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n- name: interop\n  interval: 1s\n  rules:\n  - alert: Flip\n    expr: flip == 1\n    labels: {severity: page}\n    annotations: {summary: 'flip is {{ $value }} on {{ $labels.instance }}'}\n",
    )
    .unwrap();
    let config = dir.path().join("strata.toml");
    std::fs::write(
        &config,
        format!(
            "rule-files = [\"{}\"]\nexternal-url = \"http://strata.test:9090\"\nexternal-labels = {{ cluster = \"interop\" }}\n[alerting]\nalertmanagers = [\"{}\"]\nresend-delay = \"2s\"\n",
            dir.path().join("rules.yml").display(),
            am.url()
        ),
    )
    .unwrap();
    let server = StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let mut fired = serde_json::Value::Null;
    wait_for("the alert in Alertmanager", Duration::from_secs(30), || {
        write(&server, "flip{instance=\"a\"} 1\n");
        let alerts = am.get_json("/api/v2/alerts");
        fired = alerts.as_array().and_then(|a| a.first()).cloned().unwrap_or_default();
        !fired.is_null()
    });
    let labels = &fired["labels"];
    assert_eq!(labels["alertname"], "Flip");
    assert_eq!(labels["instance"], "a");
    assert_eq!(labels["severity"], "page");
    assert_eq!(labels["cluster"], "interop", "external labels are added when sending: {fired}");
    assert_eq!(fired["annotations"]["summary"], "flip is 1 on a");
    assert_eq!(fired["status"]["state"], "active");
    let url = fired["generatorURL"].as_str().unwrap();
    assert!(url.starts_with("http://strata.test:9090/graph?g0.expr=flip+%3D%3D+1"), "{url}");
    let starts = fired["startsAt"].as_str().unwrap().to_string();
    assert!(fired["endsAt"].as_str().unwrap() > starts.as_str());
    let groups = am.get_json("/api/v2/alerts/groups");
    let group = groups.as_array().unwrap().iter().find(|g| g["labels"]["alertname"] == "Flip");
    assert!(
        group.is_some_and(|g| g["alerts"].as_array().unwrap().len() == 1),
        "grouped by alertname: {groups}"
    );

    // The condition clears: Strata sends the resolution, and the alert ends in Alertmanager.
    wait_for("the resolution in Alertmanager", Duration::from_secs(30), || {
        write(&server, "flip{instance=\"a\"} 0\n");
        let alerts = am.get_json("/api/v2/alerts");
        alerts.as_array().unwrap().iter().all(|a| a["labels"]["alertname"] != "Flip")
    });
    let metrics = server.get("/metrics").text();
    let sent = metrics.lines().find(|l| l.starts_with("strata_notifications_sent_total")).unwrap();
    assert!(!sent.ends_with(" 0"), "{sent}");
}
