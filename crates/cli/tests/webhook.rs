//! Plain webhooks: an alert that fires is posted once, after the group wait, in
//! Alertmanager's webhook JSON; its resolution is posted when the condition clears.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use strata_testkit::StrataServer;

/// A receiver that answers 200 to every POST and hands over the bodies.
fn receiver() -> (u16, mpsc::Receiver<serde_json::Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let body = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break Some(body[..len].to_string());
                    }
                }
            };
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Some(body) = body {
                let _ = tx.send(serde_json::from_str(&body).unwrap());
            }
        }
    });
    (port, rx)
}

#[test]
fn a_webhook_gets_the_grouped_alert_then_its_resolution() {
    let (port, bodies) = receiver();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n- name: hooks\n  interval: 1s\n  rules:\n  - alert: Flip\n    expr: flip == 1\n    annotations: {summary: 'flip on {{ $labels.instance }}'}\n",
    )
    .unwrap();
    let config = dir.path().join("strata.toml");
    std::fs::write(
        &config,
        format!(
            "rule-files = [\"{}\"]\n[alerting]\nresend-delay = \"1s\"\n[[alerting.webhooks]]\nurl = \"http://127.0.0.1:{port}/hook\"\nname = \"team\"\ngroup-wait = \"1s\"\ngroup-interval = \"1s\"\n",
            dir.path().join("rules.yml").display()
        ),
    )
    .unwrap();
    let server = StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    for instance in ["a", "b"] {
        let line = format!("flip{{instance=\"{instance}\"}} 1\n");
        assert!(server.post("/api/v1/import/prometheus", "text/plain", line.as_bytes()).code < 300);
    }
    let first = bodies.recv_timeout(Duration::from_secs(20)).expect("a notification");
    assert_eq!(first["version"], "4");
    assert_eq!(first["receiver"], "team");
    assert_eq!(first["status"], "firing");
    assert_eq!(first["groupLabels"]["alertname"], "Flip");
    assert_eq!(first["commonLabels"]["alertname"], "Flip");
    let alerts = first["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2, "both instances in one group: {first}");
    assert_eq!(alerts[0]["annotations"]["summary"], "flip on a");
    assert_eq!(alerts[0]["endsAt"], "0001-01-01T00:00:00Z");

    for instance in ["a", "b"] {
        let line = format!("flip{{instance=\"{instance}\"}} 0\n");
        assert!(server.post("/api/v1/import/prometheus", "text/plain", line.as_bytes()).code < 300);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = bodies.recv_timeout(Duration::from_secs(20)).expect("the resolution");
        if body["status"] == "resolved" {
            assert!(body["alerts"].as_array().unwrap().iter().all(|a| a["status"] == "resolved"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "no resolution");
    }
}
