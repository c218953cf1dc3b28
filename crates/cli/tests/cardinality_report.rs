//! The cardinality report of a running server: `/api/v1/cardinality` (exact counts from the
//! head, label advice, limits), `strata cardinality report|forecast --url`,
//! `/api/v1/status/tsdb?limit=N` past Prometheus' 10 and with VictoriaMetrics' explorer
//! parameters, and Mimir's `/api/v1/cardinality/label_names|label_values`.

use std::process::Command;

use strata_testkit::StrataServer;

#[test]
fn the_report_names_the_exploding_label_and_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strata.toml");
    std::fs::write(&config, "max-series = 100000\n").unwrap();
    let server = StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let mut body = String::new();
    for i in 0..1_500 {
        body.push_str(&format!("checkout_total{{user_id=\"u{i}\",code=\"200\"}} 1\n"));
    }
    for m in 0..15 {
        body.push_str(&format!("metric_{m}{{job=\"a\"}} 1\n"));
    }
    assert_eq!(server.post("/api/v1/import/prometheus", "text/plain", body.as_bytes()).code, 204);

    let report = server.get("/api/v1/cardinality?topN=3").json();
    let data = &report["data"];
    assert_eq!(data["total_series"], 1_515);
    assert_eq!(data["top"][0]["metric"], "checkout_total");
    assert_eq!(data["top"][0]["share"], 99.0);
    assert_eq!(data["top"].as_array().unwrap().len(), 3);
    // One sample in 64 is heard of: ~23 of checkout_total's 1,500, none or one of the rest.
    assert_eq!(data["top_writers"][0]["key"], "checkout_total", "{report}");
    assert!(data["top_writers"][0]["samples_per_second"].as_f64().unwrap() > 0.0);
    assert!(data["busiest_series"][0]["key"].as_str().unwrap().starts_with("checkout_total{"));
    let label = &data["labels"][0];
    assert_eq!((label["level"].as_str(), label["label"].as_str()), (Some("WARNING"), Some("user_id")));
    assert_eq!(label["unique_values"], 1_500);
    assert!(label["recommendation"].as_str().unwrap().starts_with("drop it"));
    assert_eq!(data["limits"][0]["limit"], "max-series");
    assert_eq!(data["limits"][0]["current"], 1_515);

    let url = format!("http://127.0.0.1:{}", server.port);
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["cardinality", "report", "--url", &url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Total series: 1,515"), "{text}");
    assert!(text.contains("WARNING  checkout_total{user_id}: 1,500 unique values"), "{text}");
    assert!(
        text.contains("Top writers (samples/s over the last 10 min, sampled):\n   1. checkout_total"),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["cardinality", "forecast", "--url", &url, "--days", "30", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["total_series"], 1_515, "{json}");
    assert!(json["forecast"].is_null(), "one hour of history is not enough for a forecast");

    let tsdb = server.get("/api/v1/status/tsdb?limit=20").json();
    assert_eq!(
        tsdb["data"]["seriesCountByMetricName"].as_array().unwrap().len(),
        16,
        "beyond Prometheus' 10"
    );
    let default = server.get("/api/v1/status/tsdb").json();
    assert_eq!(default["data"]["seriesCountByMetricName"].as_array().unwrap().len(), 10);

    // VictoriaMetrics' explorer parameters: the selected series, one label's values.
    let vm = server.get("/api/v1/status/tsdb?topN=2&match[]=checkout_total&focusLabel=code").json();
    let data = &vm["data"];
    assert_eq!(data["totalSeries"], 1_500, "{vm}");
    assert_eq!(data["seriesCountByFocusLabelValue"][0], serde_json::json!({"name": "200", "value": 1500}));
    assert_eq!(data["labelValueCountByLabelName"][0], serde_json::json!({"name": "user_id", "value": 1500}));
    assert_eq!(server.get("/api/v1/status/tsdb?date=2001-01-01").code, 400, "only today's head is counted");

    // Mimir's cardinality API.
    let names = server.get("/api/v1/cardinality/label_names?selector=checkout_total").json();
    assert_eq!(names["data"]["label_names_count"], 3, "{names}");
    assert_eq!(names["data"]["cardinality"][0]["label_name"], "user_id");
    assert_eq!(names["data"]["cardinality"][0]["label_values_count"], 1_500);
    let values = server.get("/api/v1/cardinality/label_values?label_names[]=job&limit=1").json();
    assert_eq!(values["data"]["series_count_total"], 1_515);
    assert_eq!(values["data"]["labels"][0]["series_count"], 15);
    assert_eq!(
        values["data"]["labels"][0]["cardinality"][0],
        serde_json::json!({"label_value": "a", "series_count": 15})
    );
    assert_eq!(server.get("/api/v1/cardinality/label_values").code, 400, "label_names[] is required");
    assert_eq!(server.get("/api/v1/cardinality/label_names?limit=501").code, 400, "Mimir's cap of 500");
}

/// `--explorer-memory-budget`: a count that would hold more is refused by name, and the same
/// count with fewer entries answers.
#[test]
fn an_explorer_request_past_the_memory_budget_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &dir.path().join("data"),
        &["--explorer-memory-budget", "65536"],
    );
    let body: String = (0..5_000).map(|i| format!("requests_total{{request_id=\"r{i}\"}} 1\n")).collect();
    assert_eq!(server.post("/api/v1/import/prometheus", "text/plain", body.as_bytes()).code, 204);
    let refused = server.get("/api/v1/status/tsdb?limit=5000");
    assert_eq!(refused.code, 422, "{}", refused.text());
    assert!(refused.text().contains("memory budget of 65536 bytes"), "{}", refused.text());
    let refused = server.get("/api/v1/status/tsdb?topN=5000&focusLabel=request_id");
    assert_eq!(refused.code, 422, "{}", refused.text());
    let small = server.get("/api/v1/status/tsdb?limit=10").json();
    assert_eq!(small["data"]["headStats"]["numLabelPairs"], 5_001, "{small}");
    assert_eq!(small["data"]["seriesCountByLabelValuePair"][0]["name"], "__name__=requests_total");
}
