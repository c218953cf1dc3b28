//! Tenants on `strata server --multi-tenant` (issue #25; docs/tenants.md).
//!
//! The isolation oracle: for each tenant, a plain single-tenant server that received the
//! same writes. Whatever a tenant asks of the multi-tenant server — PromQL, the series and
//! label APIs, InfluxQL, remote read — must be answered exactly as its own plain server
//! answers, which holds nothing of the other tenants and no `__tenant__` label. The same
//! label sets are written by both tenants, so a leak changes an answer.

use std::path::Path;

use strata_testkit::{remote_v1, request, url_encode, HttpResponse, StrataServer};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

/// `method path` with an optional tenant header.
fn call(
    server: &StrataServer,
    method: &str,
    path: &str,
    tenant: Option<&str>,
    ctype: &str,
    body: &[u8],
) -> HttpResponse {
    let mut headers = vec![("Content-Type", ctype)];
    if let Some(t) = tenant {
        headers.push(("X-Scope-OrgID", t));
    }
    request(server.port, method, path, &headers, body).expect("the server answers")
}

/// A remote-read request for one query with one `=~` matcher.
fn remote_read_body(name: &str, regex: &str, start: i64, end: i64) -> Vec<u8> {
    remote_v1::remote_read_body(remote_v1::Query {
        start_timestamp_ms: start,
        end_timestamp_ms: end,
        matchers: vec![remote_v1::LabelMatcher { kind: 2, name: name.into(), value: regex.into() }],
    })
}

const T0: i64 = 1_703_001_600; // seconds

/// What tenant `who` writes: the same `up` series as every tenant (own values), a series
/// only it has, through line protocol, remote write and the Prometheus text format.
fn writes(who: &str, k: f64) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let line = format!("cpu,host=h1,owner={who} usage={k} {T0}\ncpu,host=h2 usage={} {T0}\n", k + 1.0);
    let only = format!("only_{who}");
    let rw = remote_v1::remote_write_body(&[
        (&[("__name__", "up"), ("job", "api")], &[(T0 * 1000, k)]),
        (&[("__name__", &only), ("owner", who)], &[(T0 * 1000, 1.0)]),
    ]);
    let text = format!("requests_total{{code=\"200\",owner=\"{who}\"}} {} {}\n", k * 10.0, T0 * 1000);
    vec![
        ("/write?db=telegraf&precision=s", "text/plain", line.into_bytes()),
        ("/api/v1/write", "application/x-protobuf", rw),
        ("/api/v1/import/prometheus", "text/plain", text.into_bytes()),
    ]
}

/// Reads to compare: every kind of read, selectors that try to reach other tenants too.
fn reads() -> Vec<(&'static str, String, Vec<u8>)> {
    let q = |e: &str| format!("/api/v1/query?time={}&query={}", T0 + 10, url_encode(e));
    let mut out: Vec<(&'static str, String, Vec<u8>)> = [
        "up",
        "{__name__=~\".+\"}",
        "count({__name__=~\".+\"})",
        "{__tenant__=\"b\"}",
        "{__name__=~\".+\",__tenant__=~\".*\"}",
        "sum by (__tenant__, owner) ({__name__=~\".+\"})",
        "label_replace(up, \"x\", \"$1\", \"__tenant__\", \"(.*)\")",
        "{owner=~\"a|b\"}",
        "cpu_usage",
        "rate(requests_total[5m])",
    ]
    .iter()
    .map(|e| ("GET", q(e), Vec::new()))
    .collect();
    let range = format!(
        "/api/v1/query_range?start={}&end={}&step=15&query={}",
        T0 - 60,
        T0 + 60,
        url_encode("{__name__=~\".+\"}")
    );
    out.push(("GET", range, Vec::new()));
    for path in [
        format!("/api/v1/series?match[]={}", url_encode("{__name__=~\".+\"}")),
        format!("/api/v1/series?match[]={}", url_encode("{__tenant__=~\".+\"}")),
        "/api/v1/labels".to_string(),
        "/api/v1/label/__name__/values".to_string(),
        "/api/v1/label/__tenant__/values".to_string(),
        "/api/v1/label/owner/values".to_string(),
        format!("/query?db=telegraf&q={}", url_encode("SHOW MEASUREMENTS")),
        format!("/query?db=telegraf&epoch=s&q={}", url_encode("SELECT * FROM cpu")),
        format!("/query?q={}", url_encode("SHOW DATABASES")),
    ] {
        out.push(("GET", path, Vec::new()));
    }
    out.push((
        "POST",
        "/api/v1/read".into(),
        remote_read_body("__name__", ".+", (T0 - 60) * 1000, (T0 + 60) * 1000),
    ));
    out
}

#[test]
fn each_tenant_reads_what_its_own_server_would_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let shared = StrataServer::start(strata(), &dir.path().join("shared"), &["--multi-tenant"]);
    let tenants = [("a", 1.0), ("b", 5.0)];
    let mut alone = Vec::new();
    for (who, k) in tenants {
        let own = StrataServer::start(strata(), &dir.path().join(who), &[]);
        for (path, ctype, body) in writes(who, k) {
            // Tenant a by header, tenant b by URL prefix.
            let answer = if who == "a" {
                call(&shared, "POST", path, Some(who), ctype, &body)
            } else {
                call(&shared, "POST", &format!("/tenant/{who}{path}"), None, ctype, &body)
            };
            assert!(answer.code < 300, "{who} {path}: {} {}", answer.code, answer.text());
            assert!(call(&own, "POST", path, None, ctype, &body).code < 300);
        }
        alone.push((who, own));
    }
    for (who, own) in &alone {
        for (method, path, body) in reads() {
            let ctype = if method == "POST" { "application/x-protobuf" } else { "text/plain" };
            let theirs = call(own, method, &path, None, ctype, &body);
            let by_header = call(&shared, method, &path, Some(who), ctype, &body);
            let by_prefix = call(&shared, method, &format!("/tenant/{who}{path}"), None, ctype, &body);
            assert_eq!(theirs.code, 200, "{path}: {}", theirs.text());
            for ours in [by_header, by_prefix] {
                assert_eq!(ours.code, theirs.code, "{who} {path}: {}", ours.text());
                assert!(
                    ours.body == theirs.body,
                    "tenant {who}, {method} {path}:\n ours   {}\n theirs {}",
                    ours.text(),
                    theirs.text()
                );
            }
        }
    }
    // Both tenants wrote `up{job="api"}`: each sees its own value.
    let value = |who: &str| {
        let answer =
            call(&shared, "GET", &format!("/api/v1/query?time={}&query=up", T0 + 10), Some(who), "", b"");
        answer.json()["data"]["result"][0]["value"][1].as_str().unwrap().to_string()
    };
    assert_eq!((value("a"), value("b")), ("1".to_string(), "5".to_string()));
}

#[test]
fn requests_must_name_a_tenant_where_the_route_is_about_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &["--multi-tenant"]);
    let up = format!("/api/v1/query?query=up&time={T0}");
    let no_tenant = call(&server, "GET", &up, None, "", b"");
    assert_eq!(no_tenant.code, 401, "{}", no_tenant.text());
    assert!(no_tenant.text().contains("X-Scope-OrgID"), "{}", no_tenant.text());
    let write = call(&server, "POST", "/api/v1/import/prometheus", None, "text/plain", b"up 1\n");
    assert_eq!(write.code, 401, "writes too");
    let bad = call(&server, "GET", &up, Some("a/b"), "", b"");
    assert_eq!(bad.code, 400);
    assert!(bad.text().contains("'/'"), "{}", bad.text());
    let mismatch = call(&server, "GET", &format!("/tenant/a{up}"), Some("b"), "", b"");
    assert_eq!(mismatch.code, 400, "{}", mismatch.text());
    for path in ["/metrics", "/api/v1/status/tsdb", "/admin/status", "/api/v1/rules"] {
        let answer = call(&server, "GET", path, Some("a"), "", b"");
        assert_eq!(answer.code, 400, "{path} is about every tenant: {}", answer.text());
        assert_eq!(call(&server, "GET", path, None, "", b"").code, 200, "{path} for the operator");
    }
    for path in ["/-/healthy", "/-/ready", "/api/v1/status/buildinfo"] {
        assert_eq!(call(&server, "GET", path, Some("a"), "", b"").code, 200, "{path}");
        assert_eq!(call(&server, "GET", path, None, "", b"").code, 200, "{path}");
    }
    // A series carrying the reserved label is refused, the rest of the request written.
    let sneaky = call(
        &server,
        "POST",
        "/api/v1/import/prometheus",
        Some("a"),
        "text/plain",
        format!("up{{__tenant__=\"b\"}} 1 {}\nup 2 {}\n", T0 * 1000, T0 * 1000).as_bytes(),
    );
    assert_eq!(sneaky.code, 400, "{}", sneaky.text());
    assert!(sneaky.text().contains("reserved"), "{}", sneaky.text());
    assert!(sneaky.text().contains("1 sample(s) written"), "{}", sneaky.text());
    let b = call(&server, "GET", &format!("/api/v1/query?query=up&time={}", T0 + 1), Some("b"), "", b"");
    assert_eq!(b.json()["data"]["result"], serde_json::json!([]), "nothing reached b");
    // Without --multi-tenant the header is ignored and /tenant/ is not a route.
    let plain = StrataServer::start(strata(), &dir.path().join("plain"), &[]);
    assert_eq!(call(&plain, "GET", &up, Some("a"), "", b"").code, 200);
    assert_eq!(call(&plain, "GET", &format!("/tenant/a{up}"), None, "", b"").code, 404);
}

#[test]
fn per_tenant_series_limit_ingest_rate_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strata.toml");
    std::fs::write(
        &config,
        "multi-tenant = true\n\
         [tenants.small]\nmax-series = 2\ningest-rate = 100\nretention = \"30d\"\n\
         [tenants.big]\n",
    )
    .unwrap();
    let config_arg = format!("--config={}", config.display());
    let server = StrataServer::start(strata(), &dir.path().join("data"), &[&config_arg]);
    let import = |tenant: &str, body: String| {
        call(&server, "POST", "/api/v1/import/prometheus", Some(tenant), "text/plain", body.as_bytes())
    };
    let series =
        |n: usize| -> String { (0..n).map(|i| format!("m{{i=\"{i}\"}} 1 {}\n", T0 * 1000)).collect() };

    // Series limit: the third series of `small` is refused, `big` has none.
    let answer = import("small", series(3));
    assert_eq!(answer.code, 400, "{}", answer.text());
    assert!(
        answer.text().contains("__tenant__=\\\"small\\\""),
        "names the tenant's limit: {}",
        answer.text()
    );
    assert_eq!(import("big", series(3)).code, 204);

    // Ingest rate: 100 samples a second, burst 100.
    let many = |n: usize, t: i64| -> String { (0..n).map(|_| format!("m{{i=\"0\"}} 1 {t}\n")).collect() };
    let _ = import("small", many(1, T0 * 1000 + 1));
    let refused = import("small", many(150, T0 * 1000 + 2));
    assert_eq!(refused.code, 429, "{}", refused.text());
    assert!(refused.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    assert!(refused.text().contains("ingest rate"), "{}", refused.text());

    let metrics = call(&server, "GET", "/metrics", None, "", b"").text();
    for line in [
        "strata_tenant_active_series{tenant=\"small\"} 2",
        "strata_tenant_active_series{tenant=\"big\"} 3",
        "strata_tenant_samples_rate_limited_total{tenant=\"small\"} 150",
        "strata_tenant_ingest_rate_limit{tenant=\"small\"} 100",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from /metrics");
    }
    let status = call(&server, "GET", "/admin/status", None, "", b"").json();
    let small =
        status["tenants"].as_array().unwrap().iter().find(|t| t["tenant"] == "small").unwrap().clone();
    assert_eq!(small["active_series"], 2, "{status}");
    assert_eq!(small["samples_rate_limited"], 150, "{status}");
    // The tenant's retention is a rule on its selector.
    let retention = call(&server, "GET", "/api/v1/status/retention", None, "", b"").text();
    assert!(retention.contains("__tenant__=\\\"small\\\""), "{retention}");
}

/// With a web config, `tenant_users` confines a token to its tenants: another tenant, or a
/// route about the whole server, is 403; an unconfined token may name any tenant.
#[test]
fn tenant_users_confine_credentials_to_their_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let sha = |token: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {token} | sha256sum"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
    };
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "bearer_tokens:\n  team-a: {}\n  ops: {}\ntenant_users:\n  team-a: [a]\nadmin_users: [ops]\n",
            sha("token-a"),
            sha("token-ops")
        ),
    )
    .unwrap();
    let web_arg = format!("--web-config-file={}", web.display());
    let server = StrataServer::start(strata(), &dir.path().join("data"), &["--multi-tenant", &web_arg]);
    let ask = |token: &str, path: &str, tenant: Option<&str>| {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("Authorization", auth.as_str())];
        if let Some(t) = tenant {
            headers.push(("X-Scope-OrgID", t));
        }
        request(server.port, "GET", path, &headers, b"").unwrap()
    };
    let up = format!("/api/v1/query?query=up&time={T0}");
    assert_eq!(ask("token-a", &up, Some("a")).code, 200);
    let other = ask("token-a", &up, Some("b"));
    assert_eq!(other.code, 403, "{}", other.text());
    assert!(other.text().contains("tenant_users"), "{}", other.text());
    assert_eq!(ask("token-a", &format!("/tenant/b{up}"), None).code, 403, "the URL prefix too");
    assert_eq!(ask("token-a", "/metrics", None).code, 403, "the whole server");
    assert_eq!(ask("token-a", "/-/healthy", None).code, 200);
    assert_eq!(ask("token-ops", &up, Some("b")).code, 200);
    assert_eq!(ask("token-ops", "/metrics", None).code, 200);
    // The admin role holds under the URL prefix too: a plain token may not delete there.
    let delete = |token: &str| {
        let auth = format!("Bearer {token}");
        let path = "/tenant/a/api/v1/admin/tsdb/delete_series?match[]=up";
        request(server.port, "POST", path, &[("Authorization", auth.as_str())], b"").unwrap().code
    };
    assert_eq!(delete("token-a"), 403, "delete_series needs the admin role under /tenant/ too");
    assert_eq!(delete("token-ops"), 204);
    let healthy = request(server.port, "GET", "/tenant/a/-/healthy", &[], b"").unwrap();
    assert_eq!(healthy.code, 200, "probes stay open under the prefix");
}
