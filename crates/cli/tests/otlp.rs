//! OTLP metrics into `strata server`: over HTTP (protobuf and JSON, Prometheus' path) and
//! gRPC (`--grpc-listen`), from a Rust client built on `opentelemetry-proto` and from
//! OpenTelemetry's own Python SDK and exporters; PromQL must return what was sent.
//!
//! Under CI=true a missing Python SDK fails the test; elsewhere it says SKIPPED.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use serde_json::Value;
use strata_otlp::collector::metrics_service_client::MetricsServiceClient;
use strata_otlp::collector::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use strata_otlp::common::v1::{any_value, AnyValue, KeyValue};
use strata_otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use strata_otlp::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, ExponentialHistogram,
    ExponentialHistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use strata_otlp::resource::v1::Resource;
use strata_testkit::{python_module, StrataServer};

fn start(dir: &Path) -> StrataServer {
    StrataServer::start(Path::new(env!("CARGO_BIN_EXE_strata")), &dir.join("data"), &[])
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn now_s() -> f64 {
    now_ns() as f64 / 1e9
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

/// What [`request`] adds besides its counter.
#[derive(Clone, Copy, PartialEq)]
enum Extra {
    Nothing,
    /// A well-formed exponential histogram, stored as a native histogram.
    Exponential,
    /// An exponential histogram of scale −5 (below native histograms' −4): refused.
    BadExponential,
}

/// A counter `requests` of `value` from service `service`, plus `extra`.
fn request(service: &str, value: f64, extra: Extra) -> ExportMetricsServiceRequest {
    let t = now_ns();
    let mut metrics = vec![Metric {
        name: "requests".into(),
        unit: "1".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                attributes: vec![kv("code", "200")],
                time_unix_nano: t,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }];
    if extra != Extra::Nothing {
        metrics.push(Metric {
            name: "sizes".into(),
            data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    time_unix_nano: t,
                    count: 3,
                    zero_count: 1,
                    sum: Some(40.0),
                    scale: if extra == Extra::BadExponential { -5 } else { 2 },
                    positive: Some(Buckets { offset: 10, bucket_counts: vec![1, 0, 1] }),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            ..Default::default()
        });
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() }),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// The values of `query` now, by the value of label `by`.
fn values_by(server: &StrataServer, query: &str, by: &str) -> HashMap<String, f64> {
    let answer = server.query(query, now_s());
    let result = answer["data"]["result"].as_array().unwrap_or_else(|| panic!("{query}: {answer}"));
    result
        .iter()
        .map(|s| {
            let key = s["metric"][by].as_str().unwrap_or("").to_string();
            (key, s["value"][1].as_str().unwrap().parse::<f64>().unwrap())
        })
        .collect()
}

fn value(server: &StrataServer, query: &str) -> Option<f64> {
    values_by(server, query, "__name__").into_values().next()
}

#[test]
fn http_protobuf_and_json_bodies_are_stored_and_answered_in_kind() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());

    let body = request("web", 42.0, Extra::Nothing).encode_to_vec();
    let answer = server.post("/api/v1/otlp/v1/metrics", "application/x-protobuf", &body);
    assert_eq!(answer.code, 200, "{}", answer.text());
    let decoded = ExportMetricsServiceResponse::decode(&answer.body[..]).unwrap();
    assert_eq!(decoded.partial_success, None, "everything was stored");
    assert_eq!(value(&server, r#"requests_total{job="web",code="200"}"#), Some(42.0));

    // JSON, on OTLP's default path, with a point Strata cannot store: 200 + partialSuccess.
    let json = serde_json::to_vec(&request("api", 7.0, Extra::BadExponential)).unwrap();
    let answer = server.post("/v1/metrics", "application/json", &json);
    assert_eq!(answer.code, 200, "{}", answer.text());
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["partialSuccess"]["rejectedDataPoints"], 1, "{body}");
    let message = body["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(message.contains("scale -5 is below -4"), "{message}");
    assert_eq!(value(&server, r#"requests_total{job="api"}"#), Some(7.0));

    // Bad bodies are 400 with a google.rpc.Status that says why; other media types 415.
    let bad = server.post("/api/v1/otlp/v1/metrics", "application/json", b"{\"resourceMetrics\": 1}");
    assert_eq!(bad.code, 400);
    assert!(bad.text().contains("not an OTLP/JSON ExportMetricsServiceRequest"), "{}", bad.text());
    let bad = server.post("/api/v1/otlp/v1/metrics", "text/plain", b"requests 1");
    assert_eq!(bad.code, 415, "{}", bad.text());

    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("strata_samples_ingested_total{protocol=\"otlp\"} 2"), "{metrics}");
}

#[test]
fn grpc_export_with_gzip_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let answer = runtime.block_on(async {
        let mut client = MetricsServiceClient::connect(format!("http://127.0.0.1:{}", server.grpc_port))
            .await
            .expect("gRPC connects")
            .send_compressed(tonic::codec::CompressionEncoding::Gzip);
        client
            .export(request("grpc-svc", 5.0, Extra::Exponential))
            .await
            .expect("export succeeds")
            .into_inner()
    });
    assert_eq!(answer.partial_success, None, "the exponential histogram was stored as a native one");
    assert_eq!(value(&server, r#"requests_total{job="grpc-svc"}"#), Some(5.0));
    assert_eq!(value(&server, r#"histogram_count(sizes{job="grpc-svc"})"#), Some(3.0));
    assert_eq!(value(&server, r#"histogram_sum(sizes{job="grpc-svc"})"#), Some(40.0));
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("strata_samples_ingested_total{protocol=\"otlp\"} 2"), "{metrics}");
}

/// With a web config, a gRPC export needs the same credentials as HTTP (`authorization`
/// metadata): refused as unauthenticated without, stored with a bearer token.
#[test]
fn grpc_export_needs_credentials_when_the_web_config_has_users() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    let token = "otlp-token";
    let digest = {
        let out =
            Command::new("sh").arg("-c").arg(format!("printf %s {token} | sha256sum")).output().unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
    };
    std::fs::write(&web, format!("bearer_tokens:\n  collector: {digest}\n")).unwrap();
    let server = StrataServer::start(
        Path::new(env!("CARGO_BIN_EXE_strata")),
        &dir.path().join("data"),
        &[&format!("--web-config-file={}", web.display())],
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (refused, accepted) = runtime.block_on(async {
        let mut client = MetricsServiceClient::connect(format!("http://127.0.0.1:{}", server.grpc_port))
            .await
            .expect("gRPC connects");
        let refused = client.export(request("grpc-auth", 1.0, Extra::Nothing)).await;
        let mut with_token = tonic::Request::new(request("grpc-auth", 2.0, Extra::Nothing));
        with_token.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        (refused, client.export(with_token).await)
    });
    assert_eq!(refused.unwrap_err().code(), tonic::Code::Unauthenticated);
    accepted.expect("an export with the token is stored");
    let answer = strata_testkit::request(
        server.port,
        "GET",
        "/api/v1/query?query=requests_total%7Bjob%3D%22grpc-auth%22%7D",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
    .unwrap()
    .json();
    assert_eq!(answer["data"]["result"][0]["value"][1], "2", "{answer}");
}

/// On a multi-tenant server a gRPC export names its tenant with `x-scope-orgid` metadata:
/// refused as unauthenticated without, stored in that tenant with it (over HTTP, the
/// header does the same).
#[test]
fn grpc_export_goes_to_the_tenant_its_metadata_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(
        Path::new(env!("CARGO_BIN_EXE_strata")),
        &dir.path().join("data"),
        &["--multi-tenant"],
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (refused, accepted) = runtime.block_on(async {
        let mut client = MetricsServiceClient::connect(format!("http://127.0.0.1:{}", server.grpc_port))
            .await
            .expect("gRPC connects");
        let refused = client.export(request("grpc-tenant", 1.0, Extra::Nothing)).await;
        let mut for_acme = tonic::Request::new(request("grpc-tenant", 3.0, Extra::Nothing));
        for_acme.metadata_mut().insert("x-scope-orgid", "acme".parse().unwrap());
        (refused, client.export(for_acme).await)
    });
    assert_eq!(refused.unwrap_err().code(), tonic::Code::Unauthenticated);
    accepted.expect("an export naming a tenant is stored");
    let ask = |tenant: &str| {
        let path = "/api/v1/query?query=requests_total%7Bjob%3D%22grpc-tenant%22%7D";
        strata_testkit::request(server.port, "GET", path, &[("X-Scope-OrgID", tenant)], b"").unwrap().json()
    };
    assert_eq!(ask("acme")["data"]["result"][0]["value"][1], "3");
    assert_eq!(ask("other")["data"]["result"], serde_json::json!([]));
}

/// With `--otlp-convert-histograms-to-nhcb`, explicit-bucket histograms are stored as
/// native histograms with custom buckets, which PromQL reads as such.
#[test]
fn explicit_histograms_as_native_custom_buckets() {
    use strata_otlp::metrics::v1::{Histogram, HistogramDataPoint};
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(
        Path::new(env!("CARGO_BIN_EXE_strata")),
        &dir.path().join("data"),
        &["--otlp-convert-histograms-to-nhcb", "true"],
    );
    let point = HistogramDataPoint {
        time_unix_nano: now_ns(),
        count: 10,
        sum: Some(7.5),
        bucket_counts: vec![2, 3, 5],
        explicit_bounds: vec![0.25, 1.0],
        ..Default::default()
    };
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: vec![kv("service.name", "nhcb")], ..Default::default() }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "rpc.duration".into(),
                    unit: "s".into(),
                    data: Some(Data::Histogram(Histogram {
                        data_points: vec![point],
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let answer = server.post("/api/v1/otlp/v1/metrics", "application/x-protobuf", &request.encode_to_vec());
    assert_eq!(answer.code, 200, "{}", answer.text());
    assert_eq!(value(&server, "histogram_count(rpc_duration_seconds)"), Some(10.0));
    assert_eq!(value(&server, "count(rpc_duration_seconds_bucket)"), None, "no classic series");
    // Half of the 10 observations are at or below 1; 5 of 10 are in (1, +Inf].
    assert_eq!(value(&server, "histogram_fraction(-Inf, 1, rpc_duration_seconds)"), Some(0.5));
    let raw = server.query("rpc_duration_seconds", now_s());
    let buckets = &raw["data"]["result"][0]["histogram"][1]["buckets"];
    assert_eq!(buckets[0], serde_json::json!([0, "-Inf", "0.25", "2"]), "{raw}");
    assert_eq!(buckets.as_array().map(Vec::len), Some(3), "{raw}");
}

/// The Python SDK's gRPC and HTTP exporters: counter, gauge and explicit histogram come
/// back from PromQL as recorded, and the exponential histogram as a native histogram.
#[test]
fn opentelemetry_python_sdk_exports_over_grpc_and_http() {
    let modules = [
        ("opentelemetry.sdk.metrics", "opentelemetry-sdk"),
        ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "opentelemetry-exporter-otlp-proto-grpc"),
        ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "opentelemetry-exporter-otlp-proto-http"),
    ];
    if !modules.iter().all(|(m, p)| python_module(m, p)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/otlp_export.py");
    let endpoints = [
        ("grpc", format!("http://127.0.0.1:{}", server.grpc_port), "py-grpc"),
        ("http", format!("http://127.0.0.1:{}/api/v1/otlp/v1/metrics", server.port), "py-http"),
    ];
    for (kind, endpoint, service) in &endpoints {
        let out =
            Command::new("python3").arg(&script).args([kind, endpoint.as_str(), service]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{kind} exporter failed: {stderr}");
        let sent: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        assert_eq!(sent["flushed"], true, "{kind}: {stderr}");
        check_exported(&server, service, &sent);
        let metrics = server.get("/metrics").text();
        assert!(
            metrics.contains("strata_samples_rejected_total{reason=\"native_histogram\"} 0"),
            "{kind}: {metrics}"
        );
    }
}

fn check_exported(server: &StrataServer, service: &str, sent: &Value) {
    let job = format!(r#"job="{service}",instance="i-1""#);
    let orders = values_by(server, &format!("shop_orders_total{{{job}}}"), "payment_method");
    for (method, n) in sent["orders"].as_object().unwrap() {
        assert_eq!(orders.get(method), Some(&n.as_f64().unwrap()), "{service}: {orders:?}");
    }
    let depth = value(server, &format!(r#"queue_depth{{{job},queue="emails"}}"#));
    assert_eq!(depth, sent["queue_depth"].as_f64(), "{service}");
    let latency = &sent["latency"];
    let count = value(server, &format!("request_duration_seconds_count{{{job}}}"));
    assert_eq!(count, latency["count"].as_f64(), "{service}");
    let sum = value(server, &format!("request_duration_seconds_sum{{{job}}}")).unwrap();
    assert!((sum - latency["sum"].as_f64().unwrap()).abs() < 1e-9, "{service}: {sum}");
    let buckets = values_by(server, &format!("request_duration_seconds_bucket{{{job}}}"), "le");
    for (bound, n) in latency["buckets"].as_object().unwrap() {
        let le = bound.parse::<f64>().unwrap();
        let got = buckets.iter().find(|(k, _)| k.parse::<f64>().ok() == Some(le)).map(|(_, v)| *v);
        assert_eq!(got, n.as_f64(), "{service} le={bound}: {buckets:?}");
    }
    assert_eq!(buckets.get("+Inf"), latency["count"].as_f64().as_ref(), "{service}");
    // The resource's other attributes are in target_info.
    let info = values_by(server, &format!("target_info{{{job}}}"), "deployment_environment");
    assert_eq!(info.get("test"), Some(&1.0), "{service}: {info:?}");
    // The exponential histogram is a native histogram: 100, 2000 and 30000 observed.
    assert_eq!(
        value(server, &format!("histogram_count(payload_size_bytes{{{job}}})")),
        Some(3.0),
        "{service}"
    );
    assert_eq!(
        value(server, &format!("histogram_sum(payload_size_bytes{{{job}}})")),
        Some(32_100.0),
        "{service}"
    );
    let median = value(server, &format!("histogram_quantile(0.5, payload_size_bytes{{{job}}})")).unwrap();
    assert!((1_000.0..=4_000.0).contains(&median), "{service}: the median bucket holds 2000, got {median}");
}
