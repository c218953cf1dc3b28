//! `--web-config-file`: authentication, the admin role and TLS on `strata server`.
//!
//! The route table test's oracle is a second server without a web config: a request that is
//! allowed must get exactly the status the open server gives it; a refused one gets 401 (with
//! `WWW-Authenticate`, no data) or 403, and each refusal is counted in /metrics.

use std::path::Path;
use std::sync::Arc;

use strata_testkit::{
    https_request, peer_binary, request, url_encode, HttpResponse, Prometheus, StrataServer, TestPki,
    TlsClientConfig,
};

const BCRYPT_COST: u32 = 4;

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64_encode(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 (the test's own, to stay independent of the server's decoder).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sha256_hex(text: &str) -> String {
    let output = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("sha256sum runs");
    String::from_utf8(output.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

/// A web config with admin alice, user bob and token ci (not an admin).
fn write_web_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let alice = bcrypt::hash("wonderland", BCRYPT_COST).unwrap();
    let bob = bcrypt::hash("builder", BCRYPT_COST).unwrap();
    let path = dir.join("web.yml");
    std::fs::write(
        &path,
        format!(
            "basic_auth_users:\n  alice: '{alice}'\n  bob: '{bob}'\nbearer_tokens:\n  ci: {}\nadmin_users: [alice]\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n{extra}",
            sha256_hex("ci-token")
        ),
    )
    .unwrap();
    path
}

/// A server with the web config of [`write_web_config`] (users alice, bob; token ci), data
/// under `dir/data`.
fn start_guarded(dir: &Path) -> (std::path::PathBuf, StrataServer) {
    let web = write_web_config(dir, "");
    let server =
        StrataServer::start(strata(), &dir.join("data"), &[&format!("--web-config-file={}", web.display())]);
    (web, server)
}

/// Who asks: the Authorization header (or `u`/`p` parameters) and what they may do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Nobody,
    Malformed,
    WrongPassword,
    UnknownUser,
    WrongToken,
    Bob,
    Token,
    Alice,
    AliceByParams,
}

impl Who {
    fn header(self) -> Option<String> {
        match self {
            Who::Nobody | Who::AliceByParams => None,
            Who::Malformed => Some("Basic not-base64!".into()),
            Who::WrongPassword => Some(basic("bob", "builder!")),
            Who::UnknownUser => Some(basic("mallory", "builder")),
            Who::WrongToken => Some("Bearer ci-token-".into()),
            Who::Bob => Some(basic("bob", "builder")),
            Who::Token => Some("Bearer ci-token".into()),
            Who::Alice => Some(basic("alice", "wonderland")),
        }
    }

    /// The failure reason counted for a refusal on a route of class `admin`.
    fn refusal(self, open: bool, admin: bool) -> Option<&'static str> {
        match self {
            _ if open => None,
            Who::Nobody => Some("missing"),
            Who::Malformed => Some("malformed"),
            Who::WrongPassword | Who::UnknownUser | Who::WrongToken => Some("invalid"),
            Who::Bob | Who::Token if admin => Some("forbidden"),
            _ => None,
        }
    }
}

/// (method, path, body, open route, admin route).
const ROUTES: &[(&str, &str, &str, bool, bool)] = &[
    ("GET", "/-/healthy", "", true, false),
    ("GET", "/-/ready", "", true, false),
    ("GET", "/ping", "", true, false),
    ("GET", "/api/v1/query?query=1", "", false, false),
    ("GET", "/api/v1/query_range?query=1&start=0&end=60&step=15", "", false, false),
    ("GET", "/api/v1/series?match[]=up", "", false, false),
    ("GET", "/api/v1/labels", "", false, false),
    ("GET", "/api/v1/label/__name__/values", "", false, false),
    ("GET", "/api/v1/metadata", "", false, false),
    ("GET", "/api/v1/status/buildinfo", "", false, false),
    ("GET", "/api/v1/status/tsdb", "", false, false),
    ("GET", "/api/v1/status/retention", "", false, false),
    ("GET", "/api/v1/status/rollups", "", false, false),
    ("GET", "/api/v1/cardinality", "", false, false),
    ("GET", "/api/v1/cardinality/label_names", "", false, false),
    ("GET", "/api/v1/rules", "", false, false),
    ("GET", "/api/v1/alerts", "", false, false),
    ("GET", "/admin/status", "", false, false),
    ("GET", "/metrics", "", false, false),
    ("GET", "/query?q=SHOW%20DATABASES", "", false, false),
    ("POST", "/write?db=telegraf", "cpu value=1", false, false),
    ("POST", "/api/v2/write?bucket=telegraf", "cpu value=1", false, false),
    ("POST", "/api/v1/import/prometheus", "up 1\n", false, false),
    ("POST", "/api/v1/write", "not snappy", false, false),
    ("POST", "/api/v1/read", "not snappy", false, false),
    ("POST", "/api/v1/otlp/v1/metrics", "not protobuf", false, false),
    ("GET", "/no/such/route", "", false, false),
    ("POST", "/api/v1/admin/tsdb/delete_series?match[]=nothing_here", "", false, true),
    ("POST", "/api/v1/admin/tsdb/clean_tombstones", "", false, true),
    ("POST", "/api/v1/admin/tsdb/snapshot", "", false, true),
    ("POST", "/-/reload", "", false, true),
];

const EVERYONE: [Who; 9] = [
    Who::Nobody,
    Who::Malformed,
    Who::WrongPassword,
    Who::UnknownUser,
    Who::WrongToken,
    Who::Bob,
    Who::Token,
    Who::Alice,
    Who::AliceByParams,
];

fn send(port: u16, method: &str, path: &str, body: &str, who: Who) -> HttpResponse {
    let header = who.header();
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Authorization", h.as_str())).collect();
    let path = if who == Who::AliceByParams {
        format!("{path}{}u=alice&p=wonderland", if path.contains('?') { '&' } else { '?' })
    } else {
        path.to_string()
    };
    request(port, method, &path, &headers, body.as_bytes()).expect("strata answers")
}

fn failure_count(metrics: &str, reason: &str) -> u64 {
    let prefix = format!("strata_http_auth_failures_total{{reason=\"{reason}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |n| n.parse().unwrap())
}

#[test]
fn every_route_answers_as_the_open_server_to_the_allowed_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let web = write_web_config(dir.path(), "");
    let web_flag = format!("--web-config-file={}", web.display());
    let guarded = StrataServer::start(strata(), &dir.path().join("guarded"), &[&web_flag]);
    let open = StrataServer::start(strata(), &dir.path().join("open"), &[]);
    let mut expected_failures = std::collections::BTreeMap::<&str, u64>::new();
    for &(method, path, body, is_open, is_admin) in ROUTES {
        let oracle = send(open.port, method, path, body, Who::Nobody).code;
        for who in EVERYONE {
            let answer = send(guarded.port, method, path, body, who);
            let context = format!("{method} {path} as {who:?}: {} {}", answer.code, answer.text());
            assert_eq!(answer.header("x-frame-options"), Some("deny"), "{context}");
            match who.refusal(is_open, is_admin) {
                None => assert_eq!(answer.code, oracle, "{context}"),
                Some("forbidden") => {
                    assert_eq!(answer.code, 403, "{context}");
                    assert!(answer.text().contains("admin_users"), "{context}");
                }
                Some(reason) => {
                    assert_eq!(answer.code, 401, "{context}");
                    assert_eq!(
                        answer.header("www-authenticate"),
                        Some("Basic realm=\"strata\""),
                        "{context}"
                    );
                    assert!(answer.text().starts_with("Unauthorized"), "{context}");
                    *expected_failures.entry(reason).or_default() += 1;
                    continue;
                }
            }
            if who.refusal(is_open, is_admin) == Some("forbidden") {
                *expected_failures.entry("forbidden").or_default() += 1;
            }
        }
    }
    // A refused write lands nothing; an allowed one does.
    for (i, who) in EVERYONE.iter().enumerate() {
        let body = format!("written_by_{i} 1\n");
        send(guarded.port, "POST", "/api/v1/import/prometheus", &body, *who);
        if let Some(reason) = who.refusal(false, false) {
            *expected_failures.entry(reason).or_default() += 1;
        }
    }
    let names = send(guarded.port, "GET", "/api/v1/label/__name__/values", "", Who::Alice).json();
    for (i, who) in EVERYONE.iter().enumerate() {
        let landed = names["data"].as_array().unwrap().iter().any(|n| n == &format!("written_by_{i}"));
        assert_eq!(landed, who.refusal(false, false).is_none(), "{who:?}'s write: {names}");
    }
    let metrics = send(guarded.port, "GET", "/metrics", "", Who::Alice).text();
    for reason in ["missing", "malformed", "invalid", "forbidden"] {
        let expected = expected_failures.get(reason).copied().unwrap_or(0);
        assert_eq!(failure_count(&metrics, reason), expected, "failures counted as {reason}");
    }
}

/// InfluxQL statements that delete or manage need the admin role, as the admin endpoints
/// do: a plain user gets InfluxDB's authorization error and nothing is dropped.
#[test]
fn influxql_deletes_and_user_management_need_the_admin_role() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = start_guarded(dir.path());
    let port = server.port;
    assert_eq!(
        send(port, "POST", "/write?db=telegraf&precision=s", "cpu value=1 1703001600", Who::Bob).code,
        204
    );
    let q = |text: &str| format!("/query?db=telegraf&q={}", url_encode(text));
    for statement in [
        "DROP DATABASE telegraf",
        "DROP MEASUREMENT cpu",
        "DELETE FROM cpu",
        "DROP SERIES FROM cpu",
        "CREATE USER x WITH PASSWORD 'y'",
    ] {
        for who in [Who::Bob, Who::Token] {
            let refused = send(port, "POST", &q(statement), "", who);
            assert_eq!(refused.code, 403, "{statement} by {who:?}: {}", refused.text());
            assert!(refused.text().contains("requires admin privilege"), "{}", refused.text());
        }
    }
    let count = |who: Who| send(port, "GET", &q("SELECT count(value) FROM cpu"), "", who).json();
    assert_eq!(count(Who::Bob)["results"][0]["series"][0]["values"][0][1], 1, "nothing was dropped");
    assert_eq!(
        send(port, "POST", &q("CREATE DATABASE other"), "", Who::Bob).code,
        200,
        "creating is writing"
    );
    assert_eq!(send(port, "POST", &q("DROP MEASUREMENT cpu"), "", Who::Alice).code, 200, "the admin may");
    assert!(count(Who::Alice)["results"][0]["series"].is_null(), "{}", count(Who::Alice));
}

#[test]
fn reload_takes_new_users_and_a_broken_file_keeps_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (web, server) = start_guarded(dir.path());
    let carol = || {
        request(server.port, "GET", "/api/v1/labels", &[("Authorization", &basic("carol", "c"))], b"")
            .unwrap()
            .code
    };
    assert_eq!(carol(), 401);
    let text = std::fs::read_to_string(&web).unwrap();
    let carol_hash = bcrypt::hash("c", BCRYPT_COST).unwrap();
    std::fs::write(
        &web,
        text.replace("basic_auth_users:\n", &format!("basic_auth_users:\n  carol: '{carol_hash}'\n")),
    )
    .unwrap();
    assert_eq!(send(server.port, "POST", "/-/reload", "", Who::Alice).code, 200);
    assert_eq!(carol(), 200);
    std::fs::write(&web, "basic_auth_users:\n  carol: not-a-hash\n").unwrap();
    let refused = send(server.port, "POST", "/-/reload", "", Who::Alice);
    assert_eq!(refused.code, 500);
    assert!(refused.text().contains("not a bcrypt hash"), "{}", refused.text());
    assert_eq!(carol(), 200, "the running users stay after a failed reload");
}

#[test]
fn a_web_config_with_a_mistake_stops_the_server_before_it_opens_anything() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("basic_auth_user:\n  alice: x\n", "basic_auth_user"),
        ("tls_server_config:\n  cert_file: missing.pem\n  key_file: missing-key.pem\n", "missing.pem"),
        ("basic_auth_users:\n  alice: plaintext\n", "not a bcrypt hash"),
    ];
    for (text, expected) in cases {
        let web = dir.path().join("web.yml");
        std::fs::write(&web, text).unwrap();
        let output = std::process::Command::new(strata())
            .args(["server", "--listen=127.0.0.1:0", "--grpc-listen=off"])
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--web-config-file={}", web.display()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text:?} was accepted");
        assert!(stderr.contains(expected) && stderr.contains("web.yml"), "{text:?}: {stderr}");
    }
}

fn tls_server(dir: &Path, pki: &TestPki, tls_extra: &str) -> StrataServer {
    let extra = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n{tls_extra}",
        pki.server_cert.display(),
        pki.server_key.display()
    );
    let web = write_web_config(dir, &extra);
    let client = pki.client_config(true);
    StrataServer::start_when(
        strata(),
        &dir.join("data"),
        &[&format!("--web-config-file={}", web.display())],
        |port| https_request(port, client.clone(), "GET", "/-/ready", &[], b"").is_ok_and(|r| r.code == 200),
    )
}

fn https(port: u16, client: &Arc<TlsClientConfig>, path: &str, who: Who) -> Result<HttpResponse, String> {
    let header = who.header();
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Authorization", h.as_str())).collect();
    https_request(port, client.clone(), "GET", path, &headers, b"")
}

#[test]
fn tls_serves_https_only_and_still_needs_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(&dir.path().join("pki"));
    let server = tls_server(dir.path(), &pki, "");
    let client = pki.client_config(false);
    assert_eq!(https(server.port, &client, "/api/v1/labels", Who::Bob).unwrap().code, 200);
    let refused = https(server.port, &client, "/api/v1/labels", Who::Nobody).unwrap();
    assert_eq!((refused.code, refused.header("www-authenticate")), (401, Some("Basic realm=\"strata\"")));
    // Plain HTTP to the TLS port gets no answer.
    assert!(request(server.port, "GET", "/-/ready", &[], b"").is_none_or(|r| r.code != 200));
    // A client that does not trust the CA fails the handshake.
    let other = TestPki::generate(&dir.path().join("other-pki"));
    assert!(https(server.port, &other.client_config(false), "/-/ready", Who::Bob).is_err());
    let metrics = https(server.port, &client, "/metrics", Who::Alice).unwrap().text();
    let failures =
        metrics.lines().find_map(|l| l.strip_prefix("strata_tls_handshake_failures_total ")).unwrap();
    assert!(failures.parse::<u64>().unwrap() >= 2, "{failures}");
}

/// With TLS on, OTLP gRPC is served over TLS too (the HTTP listener's certificate) and
/// needs the same credentials: OpenTelemetry's Python SDK exports over gRPC with TLS and
/// over HTTPS with a bearer token, and both land; without the token the gRPC export fails.
#[test]
fn the_python_sdk_exports_over_grpc_tls_and_https_with_a_token() {
    let modules = [
        ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "opentelemetry-exporter-otlp-proto-grpc"),
        ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "opentelemetry-exporter-otlp-proto-http"),
    ];
    if !modules.iter().all(|(m, p)| strata_testkit::python_module(m, p)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(&dir.path().join("pki"));
    let server = tls_server(dir.path(), &pki, "");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/otlp_export.py");
    let export = |kind: &str, endpoint: &str, service: &str, token: Option<&str>| {
        let mut command = std::process::Command::new("python3");
        command.arg(&script).args([kind, endpoint, service]).env("OTLP_CA_FILE", &pki.ca);
        if let Some(t) = token {
            command.env("OTLP_AUTHORIZATION", format!("Bearer {t}"));
        }
        let out = command.output().unwrap();
        let sent: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out.status.success() && sent["flushed"] == true, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let grpc = format!("https://127.0.0.1:{}", server.grpc_port);
    let http = format!("https://127.0.0.1:{}/api/v1/otlp/v1/metrics", server.port);
    let (ok, grpc_log) = export("grpc", &grpc, "tls-grpc", Some("ci-token"));
    assert!(ok, "gRPC over TLS with the token: {grpc_log}");
    let (ok, http_log) = export("http", &http, "tls-http", Some("ci-token"));
    assert!(ok, "HTTPS with the token: {http_log}");
    let client = pki.client_config(false);
    let missing =
        || failure_count(&https(server.port, &client, "/metrics", Who::Alice).unwrap().text(), "missing");
    let before = missing();
    // The SDK reports a refused export in its log, not in force_flush's answer.
    let _ = export("grpc", &grpc, "tls-anonymous", None);
    assert!(missing() > before, "the anonymous gRPC export was refused and counted");
    let count = |job: &str| {
        let path = format!("/api/v1/query?query={}", url_encode(&format!("count({{job=\"{job}\"}})")));
        https(server.port, &client, &path, Who::Token).unwrap().json()["data"]["result"][0]["value"][1]
            .clone()
    };
    assert!(count("tls-grpc").as_str().is_some_and(|n| n != "0"), "{} {grpc_log}", count("tls-grpc"));
    assert!(count("tls-http").as_str().is_some_and(|n| n != "0"), "{} {http_log}", count("tls-http"));
    assert!(count("tls-anonymous").is_null(), "nothing stored without credentials");
}

#[test]
fn client_certificates_are_required_when_the_config_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(&dir.path().join("pki"));
    let ca = format!(
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n  min_version: TLS13\n",
        pki.ca.display()
    );
    let server = tls_server(dir.path(), &pki, &ca);
    assert_eq!(https(server.port, &pki.client_config(true), "/api/v1/labels", Who::Bob).unwrap().code, 200);
    let without = https(server.port, &pki.client_config(false), "/api/v1/labels", Who::Bob);
    assert!(without.is_err(), "no client certificate, yet: {without:?}");
}

/// A certificate renewed in place (new files at the same paths, as cert-manager or certbot
/// leave them) is served to new connections within a couple of seconds, without a restart
/// or a signal; a client that only trusts the old CA is then refused.
#[test]
fn a_certificate_renewed_in_place_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(&dir.path().join("pki"));
    let server = tls_server(dir.path(), &pki, "");
    let (old_client, renewed) = (pki.client_config(false), TestPki::generate(&dir.path().join("renewed")));
    let new_client = renewed.client_config(false);
    assert_eq!(https(server.port, &old_client, "/api/v1/labels", Who::Bob).unwrap().code, 200);
    assert!(https(server.port, &new_client, "/-/ready", Who::Bob).is_err(), "not renewed yet");
    std::fs::copy(&renewed.server_key, &pki.server_key).unwrap();
    std::fs::copy(&renewed.server_cert, &pki.server_cert).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while https(server.port, &new_client, "/-/ready", Who::Bob).is_err() {
        assert!(std::time::Instant::now() < deadline, "the renewed certificate was never served");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(https(server.port, &new_client, "/api/v1/labels", Who::Bob).unwrap().code, 200);
    assert!(https(server.port, &old_client, "/-/ready", Who::Bob).is_err(), "the old certificate is gone");
}

/// A real Prometheus 2.42 scrapes Strata's /metrics and remote-writes to Strata, both over
/// TLS with basic auth (`tls_config.ca_file`, `basic_auth`); curl without credentials is
/// refused. Skipped (loudly) without `prometheus` or `curl`, except under `CI=true`.
#[test]
fn prometheus_scrapes_and_remote_writes_over_tls_with_basic_auth() {
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let Some(curl) = peer_binary("curl", "curl") else { return };
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(&dir.path().join("pki"));
    let server = tls_server(dir.path(), &pki, "");
    let (port, ca) = (server.port, pki.ca.display().to_string());
    let auth = "basic_auth:\n      username: bob\n      password: builder\n    tls_config:\n      ca_file";
    let _prom = Prometheus::start_configured(&prometheus, &dir.path().join("prometheus"), &[], |_| {
        format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n  - job_name: strata\n    scheme: https\n    {auth}: {ca}\n    static_configs:\n      - targets: ['localhost:{port}']\n\
             remote_write:\n  - url: https://localhost:{port}/api/v1/write\n    {auth}: {ca}\n    queue_config:\n      batch_send_deadline: 1s\n"
        )
    });
    // Strata holds `up` of its own scrape: scraped over TLS with auth, then remote-written
    // back over TLS with auth.
    let client = pki.client_config(false);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let answer =
            https(port, &client, "/api/v1/query?query=up%7Bjob%3D%22strata%22%7D", Who::Bob).unwrap().json();
        if answer["data"]["result"][0]["value"][1] == "1" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no up{{job=\"strata\"}} = 1 in Strata: {answer}\n{}",
            server.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let scraped =
        https(port, &client, "/api/v1/query?query=strata_http_requests_total", Who::Bob).unwrap().json();
    assert_eq!(scraped["data"]["result"][0]["metric"]["job"], "strata", "{scraped}");
    // curl: refused without credentials, served with them.
    let curl_status = |credentials: &[&str]| {
        let output = std::process::Command::new(&curl)
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", &ca])
            .args(credentials)
            .arg(format!("https://localhost:{port}/api/v1/query?query=up"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    assert_eq!(curl_status(&[]), "401");
    assert_eq!(curl_status(&["-u", "bob:wrong"]), "401");
    assert_eq!(curl_status(&["-u", "bob:builder"]), "200");
}
