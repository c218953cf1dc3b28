//! InfluxDB 1.6's own HTTP query tests (../shared/conformance/influxql/cases.json) replayed
//! against a real `strata server`, with a floor of passing cases that only rises.
//!
//! The replay follows the corpus' README (as its `replay.py` does): before each group every
//! database is dropped; setup statements must answer `{"results":[{"statement_id":0}]}`;
//! writes replace `${now_ns±K}` with the time truncated to 10 s; a query passes when the
//! status equals the expected one and the body, parsed as JSON (a chunked answer is several
//! documents), equals the expectation with numbers compared by value — or, for `pattern`
//! cases, when the regex is found in the body.
//!
//! The server runs the TSM engine (InfluxDB's write semantics: any order, the last write of
//! a timestamp wins, no head to fall behind) with retention off, since the cases write
//! points from 2000 on. The corpus' path comes from STRATA_INFLUXQL_CONFORMANCE (set by
//! .ci/run); without it the test says SKIPPED and passes.

use std::path::{Path, PathBuf};

use serde_json::Value;
use strata_testkit::{request, url_encode, StrataServer};

/// Passing cases, raised as the gap closes (never lowered).
const PASSED_FLOOR: usize = 521;

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("STRATA_INFLUXQL_CONFORMANCE") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("SKIPPED: STRATA_INFLUXQL_CONFORMANCE is not set; InfluxDB's query tests were not run");
            None
        }
    }
}

/// Outcome of one case.
struct Outcome {
    id: String,
    passed: bool,
    detail: String,
}

#[test]
fn influxdb_query_tests_pass_above_the_floor() {
    let Some(dir) = corpus() else { return };
    let cases: Value = serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let server = StrataServer::start(
        Path::new(env!("CARGO_BIN_EXE_strata")),
        &tmp.path().join("data"),
        &["--engine=tsm", "--retention=0s"],
    );
    let mut outcomes = Vec::new();
    for group in cases["groups"].as_array().unwrap() {
        outcomes.extend(run_group(server.port, group));
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    for o in outcomes.iter().filter(|o| !o.passed) {
        eprintln!("FAIL {}: {}", o.id, o.detail);
    }
    eprintln!("influxql conformance: {passed} of {} cases pass (floor {PASSED_FLOOR})", outcomes.len());
    assert!(passed >= PASSED_FLOOR, "{passed} cases pass, below the floor {PASSED_FLOOR}");
}

fn run_group(port: u16, group: &Value) -> Vec<Outcome> {
    drop_all(port);
    let mut outcomes = Vec::new();
    let mut broken: Option<String> = None;
    for step in group["steps"].as_array().unwrap() {
        match step["op"].as_str().unwrap() {
            "setup" => {
                let (code, body) = query(port, step["command"].as_str().unwrap(), &serde_json::Map::new());
                if code != 200 || body.trim() != r#"{"results":[{"statement_id":0}]}"# {
                    broken.get_or_insert(format!("setup {}: {code} {body}", step["command"]));
                }
            }
            "write" => {
                if let Err(e) = write(port, step) {
                    broken.get_or_insert(e);
                }
            }
            "query" => {
                let id = step["id"].as_str().unwrap().to_string();
                let mut outcome = run_query(port, step);
                if let (false, Some(b)) = (outcome.passed, &broken) {
                    outcome.detail = format!("{} (after: {b})", outcome.detail);
                }
                outcomes.push(Outcome { id, ..outcome });
            }
            other => panic!("unknown step {other}"),
        }
    }
    drop_all(port);
    outcomes
}

fn run_query(port: u16, step: &Value) -> Outcome {
    let params = step["params"].as_object().cloned().unwrap_or_default();
    let repeat = step["repeat"].as_u64().unwrap_or(1);
    let mut last = Outcome { id: String::new(), passed: false, detail: String::new() };
    for _ in 0..repeat {
        let (code, body) = query(port, step["command"].as_str().unwrap(), &params);
        let expected = step["exp"].as_str().unwrap();
        let status_ok = u64::from(code) == step["status"].as_u64().unwrap_or(200);
        let body_ok = if step["pattern"].as_bool() == Some(true) {
            regex::Regex::new(expected).is_ok_and(|re| re.is_match(&body))
        } else {
            same_documents(&body, expected)
        };
        last = Outcome {
            id: String::new(),
            passed: status_ok && body_ok,
            detail: format!("{}\n  expected {expected}\n  got {code} {}", step["command"], body.trim()),
        };
        if !last.passed {
            break;
        }
    }
    last
}

fn query(port: u16, command: &str, params: &serde_json::Map<String, Value>) -> (u16, String) {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    pairs.push(("q".into(), command.to_string()));
    pairs.sort();
    let qs: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v))).collect();
    let path = format!("/query?{}", qs.join("&"));
    let answer =
        request(port, "POST", &path, &[("Content-Type", "application/json")], b"").expect("server answers");
    (answer.code, answer.text())
}

fn write(port: u16, step: &Value) -> Result<(), String> {
    let params = step["params"].as_object().cloned().unwrap_or_default();
    let qs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v.as_str().unwrap_or_default())))
        .collect();
    let data = with_now(step["data"].as_str().unwrap());
    let answer = request(port, "POST", &format!("/write?{}", qs.join("&")), &[], data.as_bytes())
        .expect("server answers");
    let expect_error = step["expect_error"].as_bool() == Some(true);
    let ok = answer.code == 204 || answer.code == 200;
    match (expect_error, ok) {
        (false, true) | (true, false) => Ok(()),
        (false, false) => Err(format!("write failed: {} {}", answer.code, answer.text())),
        (true, true) => Err("a write InfluxDB refuses was accepted".into()),
    }
}

/// `${now_ns}`, `${now_ns+K}`, `${now_ns-K}` → now truncated to 10 s, plus K.
fn with_now(data: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    let now = now - now % 10_000_000_000;
    let re = regex::Regex::new(r"\$\{now_ns([+-]\d+)?\}").unwrap();
    re.replace_all(data, |c: &regex::Captures<'_>| {
        let k: i64 = c.get(1).map_or(0, |m| m.as_str().trim_start_matches('+').parse().unwrap());
        (now + k).to_string()
    })
    .into_owned()
}

fn drop_all(port: u16) {
    let (_, body) = query(port, "SHOW DATABASES", &serde_json::Map::new());
    let Ok(v) = serde_json::from_str::<Value>(&body) else { return };
    let names: Vec<String> = v["results"][0]["series"][0]["values"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r[0].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    for name in names {
        query(port, &format!("DROP DATABASE \"{name}\""), &serde_json::Map::new());
    }
}

/// Whether two bodies hold the same JSON documents (numbers by value).
fn same_documents(actual: &str, expected: &str) -> bool {
    let parse = |text: &str| -> Option<Vec<Value>> {
        serde_json::Deserializer::from_str(text.trim())
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .ok()
    };
    match (parse(actual), parse(expected)) {
        (Some(a), Some(e)) => a.len() == e.len() && a.iter().zip(&e).all(|(a, e)| same_json(a, e)),
        _ => false,
    }
}

fn same_json(a: &Value, e: &Value) -> bool {
    match (a, e) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, e)| same_json(a, e))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == e,
    }
}

#[test]
fn numbers_compare_by_value_and_chunks_one_by_one() {
    assert!(same_documents(r#"{"a":[5.0,1]}"#, r#"{"a":[5,1.0]}"#));
    assert!(!same_documents(r#"{"a":true}"#, r#"{"a":1}"#));
    assert!(same_documents("{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}{\"b\":2}"));
    assert!(!same_documents("{\"a\":1}", "{\"a\":1}{\"b\":2}"));
}
