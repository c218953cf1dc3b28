//! The web UI as `strata server` serves it (issue #26; docs/web-ui.md): every page path
//! answers the page, its assets are the embedded files (gzip when asked), and under
//! `--web-route-prefix` every route — UI, API, probes — moves under the prefix while the
//! access classes stay keyed on the route (an admin route under the prefix stays admin).
//! The pages themselves are tested in a real browser by web/e2e (run by .ci/run).

use std::io::Read;
use std::path::Path;

use strata_testkit::{request, StrataServer};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

/// The asset paths index.html names (`./assets/...`).
fn named_assets(index: &str) -> Vec<String> {
    index.split("\"./").skip(1).filter_map(|s| s.split('"').next()).map(str::to_string).collect()
}

#[test]
fn every_page_path_answers_the_page_and_its_assets() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &[]);
    for page in ["/", "/graph", "/series", "/cardinality", "/alerts", "/status"] {
        let answer = server.get(page);
        assert_eq!(answer.code, 200, "{page}");
        assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"), "{page}");
        assert!(answer.text().contains(r#"<meta name="strata-route-prefix" content="" />"#), "{page}");
    }
    let index = server.get("/").text();
    let assets = named_assets(&index);
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "{index}"
    );
    for asset in &assets {
        let plain = server.get(&format!("/{asset}"));
        assert_eq!(plain.code, 200, "{asset}");
        assert!(plain.header("cache-control").unwrap().contains("immutable"), "{asset}");
        assert_eq!(plain.header("content-encoding"), None);
        // The gzip copy is the same file.
        let packed =
            request(server.port, "GET", &format!("/{asset}"), &[("Accept-Encoding", "gzip, br")], b"")
                .unwrap();
        assert_eq!(packed.header("content-encoding"), Some("gzip"), "{asset}");
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&packed.body[..]).read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, plain.body, "{asset}");
        assert!(packed.body.len() < plain.body.len(), "{asset}");
    }
    let missing = server.get("/assets/nothing-here.js");
    assert_eq!(missing.code, 404);
    assert!(missing.text().contains("assets/nothing-here.js"));
    // The cardinality page's growth chart: the tracker's hourly history, this hour included.
    let written = server.post(
        "/api/v1/import/prometheus",
        "text/plain",
        b"ui_growth{a=\"1\"} 1\nui_growth{a=\"2\"} 1\n",
    );
    assert!(written.code < 300, "{}", written.text());
    let report = server.get("/api/v1/cardinality").json();
    let growth = report["data"]["growth"].as_array().expect("growth is a list");
    let this_hour = growth.last().expect("this hour is recorded");
    assert!(this_hour["series"].as_u64() >= Some(2) && this_hour["hour"].as_i64().is_some(), "{growth:?}");
    // The flags the status page shows.
    let flags = server.get("/api/v1/status/flags").json();
    assert_eq!(flags["status"], "success");
    assert_eq!(flags["data"]["listen"], format!("127.0.0.1:{}", server.port));
    assert!(flags["data"]["retention"].is_string());
}

#[test]
fn a_route_prefix_moves_every_route_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("web.yml");
    // A user token and an admin token (their SHA-256, as the web config keeps them): the
    // admin routes must stay admin under the prefix.
    std::fs::write(
        &tokens,
        "bearer_tokens:\n  user: 92458bffc9b190feea4bfd93611060a8e768ff3a5db84b4c387682e29a70436f\n  \
         admin: 10a4c7c9fc5206d6f36dc6944a81bb6f4a3cb0e25014ae3b12e6c3e52712292a\nadmin_users: [admin]\n",
    )
    .unwrap();
    let server = StrataServer::start_when(
        strata(),
        &dir.path().join("data"),
        &["--web-route-prefix=/strata/", &format!("--web-config-file={}", tokens.display())],
        |port| strata_testkit::get(port, "/strata/-/ready").is_some_and(|(code, _)| code == 200),
    );
    let user = [("Authorization", "Bearer user-token")];
    let admin = [("Authorization", "Bearer admin-token")];
    let call = |method: &str, path: &str, auth: &[(&str, &str)]| {
        request(server.port, method, path, auth, b"").unwrap()
    };

    let page = call("GET", "/strata/graph", &user);
    assert_eq!(page.code, 200);
    assert!(
        page.text().contains(r#"<meta name="strata-route-prefix" content="/strata" />"#),
        "{}",
        page.text()
    );
    for asset in named_assets(&page.text()) {
        assert_eq!(call("GET", &format!("/strata/{asset}"), &user).code, 200, "{asset}");
    }
    assert_eq!(call("GET", "/strata/api/v1/query?query=1", &user).code, 200);
    assert_eq!(
        call("GET", "/strata/api/v1/query?query=1", &[]).code,
        401,
        "auth still applies under the prefix"
    );
    // Outside the prefix nothing answers but the redirect from /.
    assert_eq!(call("GET", "/api/v1/query?query=1", &user).code, 404);
    assert_eq!(call("GET", "/strataX/graph", &user).code, 404);
    let root = call("GET", "/", &user);
    assert_eq!(root.code, 307);
    assert_eq!(root.header("location"), Some("/strata/"));
    // Route classes are the route's, not the prefixed path's.
    let delete = "/strata/api/v1/admin/tsdb/delete_series?match[]=up";
    assert_eq!(call("POST", delete, &user).code, 403, "a user token may not delete under the prefix");
    assert_eq!(call("POST", delete, &admin).code, 204);
}

#[test]
fn under_a_tenant_prefix_the_page_is_told_its_tenant_and_finds_its_assets() {
    let dir = tempfile::tempdir().unwrap();
    let server = StrataServer::start(strata(), &dir.path().join("data"), &["--multi-tenant"]);
    let page = server.get("/tenant/acme/graph");
    assert_eq!(page.code, 200);
    let text = page.text();
    assert!(text.contains(r#"<meta name="strata-tenant-prefix" content="/tenant/acme" />"#), "{text}");
    for asset in named_assets(&text) {
        assert_eq!(
            server.get(&format!("/tenant/acme/{asset}")).code,
            200,
            "{asset} under the tenant's prefix"
        );
    }
    // Without a tenant the pages still answer (they hold no data), told no tenant.
    let plain = server.get("/status");
    assert_eq!(plain.code, 200);
    assert!(plain.text().contains(r#"<meta name="strata-tenant-prefix" content="" />"#));
}

#[test]
fn a_bad_route_prefix_is_refused_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(strata())
        .args(["server", "--listen=127.0.0.1:0", "--web-route-prefix=strata?x"])
        .arg(format!("--data-dir={}", dir.path().display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("web-route-prefix") && stderr.contains("must start with /"), "{stderr}");
}
