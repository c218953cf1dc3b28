//! Cardinality limits in a running server: a new series over a per-selector limit is
//! refused with a reason naming the limit (a partial write, 400, the rest written), counted
//! in `/metrics`; existing series keep being written; a raised limit applies after
//! `POST /-/reload` and SIGHUP, without a restart (remembered refusals included).

use std::time::{Duration, Instant};

use strata_testkit::StrataServer;

fn write(server: &StrataServer, from: usize, to: usize) -> strata_testkit::HttpResponse {
    let body: String =
        (from..to).map(|i| format!("explode{{user_id=\"{i}\"}} 1\nother{{n=\"{i}\"}} 1\n")).collect();
    server.post("/api/v1/import/prometheus", "text/plain", body.as_bytes())
}

fn metric(server: &StrataServer, line_start: &str) -> String {
    let text = server.get("/metrics").text();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("{line_start} in\n{text}"))
        .to_string()
}

#[test]
fn a_per_selector_limit_refuses_new_series_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strata.toml");
    std::fs::write(&config, "series-limits = [{ match = 'explode', max = 3 }]\n").unwrap();
    let server = StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );

    let r = write(&server, 0, 5);
    assert_eq!(r.code, 400, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains("2 sample(s) refused") && text.contains("the limit of 3 active series for explode"),
        "{text}"
    );
    assert!(text.contains("8 sample(s) written"), "{text}");
    assert_eq!(
        metric(&server, "strata_cardinality_rejected_total{limit=\"explode\"}"),
        "strata_cardinality_rejected_total{limit=\"explode\"} 2"
    );
    assert_eq!(
        metric(&server, "strata_cardinality_limit_current{limit=\"explode\"}"),
        "strata_cardinality_limit_current{limit=\"explode\"} 3"
    );
    // Existing series are always written.
    assert_eq!(write(&server, 0, 3).code, 204);
    // Refused again (now from the remembered refusals): the same answer, counted again.
    let again = write(&server, 3, 5);
    assert_eq!(again.code, 400);
    assert!(
        again.text().contains("2 sample(s) refused")
            && again.text().contains("the limit of 3 active series for explode"),
        "{}",
        again.text()
    );
    assert_eq!(
        metric(&server, "strata_cardinality_rejected_total{limit=\"explode\"}"),
        "strata_cardinality_rejected_total{limit=\"explode\"} 4"
    );

    std::fs::write(&config, "series-limits = [{ match = 'explode', max = 4 }]\n").unwrap();
    assert_eq!(server.post("/-/reload", "text/plain", b"").code, 200);
    let r = write(&server, 0, 5);
    assert_eq!(r.code, 400, "one more admitted, the fifth refused: {}", r.text());
    assert!(r.text().contains("1 sample(s) refused"), "{}", r.text());

    std::fs::write(&config, "series-limits = [{ match = 'explode', max = 10 }]\n").unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !metric(&server, "strata_cardinality_limit{limit=\"explode\"}").ends_with(" 10") {
        assert!(Instant::now() < deadline, "SIGHUP did not reload the limits");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(write(&server, 0, 5).code, 204);
}
