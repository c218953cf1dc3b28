//! `strata import` end to end: each format (plain and gzip) round-trips through blocks,
//! bad input stops the import with its line number and leaves no block, and — with
//! `STRATA_SHARED_DIR` — both text forms of ../shared/datasets/scrape-1s-A import whole,
//! with the counts its stats.json gives.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sorted_dump(dir: &Path) -> Vec<String> {
    let out = strata(&["tsdb", "dump", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    lines.sort();
    lines
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn import(dir: &Path, format: &str, name: &str, content: &[u8], extra: &[&str]) -> Output {
    let file = dir.join(name);
    std::fs::write(&file, content).unwrap();
    let data = dir.join(format!("data-{name}"));
    let mut args =
        vec!["import", "--format", format, file.to_str().unwrap(), "--dir", data.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    strata(&args)
}

/// 3 series × 600 samples, 10 s apart over 100 minutes, in all three formats.
fn inputs() -> (String, String, String) {
    let (mut prom, mut om, mut lp) = (String::new(), String::new(), String::new());
    let start = 1_700_000_000_000i64;
    for i in 0..600i64 {
        for host in ["a", "b", "c"] {
            let t = start + i * 10_000;
            let v = (i as f64) * 0.25 + if host == "b" { 1e9 } else { 0.0 };
            prom.push_str(&format!("cpu_seconds{{host=\"{host}\",mode=\"idle\"}} {v:?} {t}\n"));
            om.push_str(&format!(
                "cpu_seconds{{host=\"{host}\",mode=\"idle\"}} {v:?} {}.{:03}\n",
                t / 1000,
                t % 1000
            ));
            lp.push_str(&format!("cpu,host={host},mode=idle seconds={v:?} {}\n", t * 1_000_000));
        }
    }
    om.push_str("# EOF\n");
    (prom, om, lp)
}

#[test]
fn every_format_imports_the_same_samples_gzip_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let (prom, om, lp) = inputs();
    let runs = [
        ("prometheus", "in.prom", prom.clone().into_bytes()),
        ("prometheus", "in.prom.gz", gzip(prom.as_bytes())),
        ("openmetrics", "in.om", om.into_bytes()),
        ("influx", "in.lp.gz", gzip(lp.as_bytes())),
    ];
    let mut dumps = Vec::new();
    for (format, name, content) in runs {
        let out = import(dir.path(), format, name, &content, &[]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((report["samples"].as_u64(), report["series"].as_u64()), (Some(1800), Some(3)), "{name}");
        assert_eq!(report["blocks_written"], 1, "{name}: 100 minutes fall in one 2 h block");
        dumps.push(sorted_dump(&dir.path().join(format!("data-{name}"))));
    }
    assert_eq!(dumps[0].len(), 1800);
    assert!(dumps.iter().all(|d| *d == dumps[0]), "all formats give the same samples");
    assert!(dumps[0]
        .iter()
        .any(|l| l == r#"{__name__="cpu_seconds", host="b", mode="idle"} 1.00000014975e+09 1700005990000"#));

    // A small buffer: written out every 500 samples, into blocks that overlap, which the
    // compaction after the import merges; the samples are the same.
    let out = import(
        dir.path(),
        "prometheus",
        "buffered.prom",
        prom.as_bytes(),
        &["--max-buffered-samples", "500"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["blocks_written"], 4, "{report}");
    assert_eq!(report["blocks_after"], 1, "{report}");
    assert_eq!(report["series"], 3, "{report}");
    assert_eq!(sorted_dump(&dir.path().join("data-buffered.prom")), dumps[0]);

    // Small blocks: the data is cut at range boundaries and compaction runs after.
    let out = import(dir.path(), "prometheus", "small.prom", prom.as_bytes(), &["--block-range", "10m"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["blocks_written"].as_u64().unwrap() >= 10, "{report}");
    assert!(report["compactions"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(sorted_dump(&dir.path().join("data-small.prom")), dumps[0]);
}

#[test]
fn a_bad_line_stops_the_import_with_its_number_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (prom, om, lp) = inputs();
    let mut lines: Vec<&str> = prom.lines().collect();
    lines[1234] = "cpu_seconds{host=\"a\" 1 2";
    let cases = [
        ("prometheus", "bad.prom", lines.join("\n"), "line 1235"),
        ("prometheus", "nots.prom", "up 1\n".to_string(), "line 1: no timestamp"),
        ("openmetrics", "noeof.om", om.replace("# EOF\n", ""), "must end with `# EOF`"),
        ("openmetrics", "after.om", format!("{om}up 1 2\n"), "text after `# EOF`"),
        ("influx", "bad.lp", lp.replacen("seconds=", "seconds=x", 1), "line 1, column"),
    ];
    for (format, name, content, want) in cases {
        // A small buffer, so blocks were already written when the bad line comes.
        let out = import(dir.path(), format, name, content.as_bytes(), &["--max-buffered-samples", "100"]);
        assert!(!out.status.success(), "{name}");
        assert!(text(&out.stderr).contains(want), "{name}: {}", text(&out.stderr));
        let data = dir.path().join(format!("data-{name}"));
        assert!(
            !data.exists() || std::fs::read_dir(&data).unwrap().next().is_none(),
            "{name}: nothing written"
        );
    }
}

#[test]
fn the_shared_dataset_imports_whole_in_both_text_forms() {
    let Some(shared) = std::env::var_os("STRATA_SHARED_DIR") else {
        eprintln!("SKIPPED: STRATA_SHARED_DIR is not set; the dataset import was not run");
        return;
    };
    let datasets = Path::new(&shared).join("datasets");
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(datasets.join("scrape-1s-A.stats.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (format, file, samples, series) in [
        (
            "prometheus",
            "scrape-1s-A.prom.gz",
            stats["samples"].as_u64().unwrap(),
            stats["series"].as_u64().unwrap(),
        ),
        ("influx", "scrape-1s-A.lp.gz", stats["lp_lines"].as_u64().unwrap(), 0),
    ] {
        let data = dir.path().join(format);
        let input = datasets.join(file);
        let out = strata(&[
            "import",
            "--format",
            format,
            input.to_str().unwrap(),
            "--dir",
            data.to_str().unwrap(),
            "--json",
        ]);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        eprintln!("{file}: {report}");
        assert_eq!(report["samples"].as_u64(), Some(samples), "{file}");
        if series > 0 {
            assert_eq!(report["series"].as_u64(), Some(series), "{file}");
        }
        assert_eq!(report["min_time"], stats["min_ts_ms"], "{file}");
        assert_eq!(report["max_time"], stats["max_ts_ms"], "{file}");
        let inspect: serde_json::Value =
            serde_json::from_slice(&strata(&["tsdb", "inspect", "--json", data.to_str().unwrap()]).stdout)
                .unwrap();
        let in_blocks: u64 =
            inspect["blocks"].as_array().unwrap().iter().map(|b| b["samples"].as_u64().unwrap()).sum();
        assert_eq!(in_blocks, samples, "{file}: the blocks hold every sample");
    }
}

#[test]
fn a_server_takes_live_writes_right_after_an_import_of_recent_data() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let content = format!("recent{{a=\"1\"}} 1 {}\nrecent{{a=\"1\"}} 2 {}\n", now - 60_000, now - 1_000);
    let out = import(dir.path(), "prometheus", "recent.prom", content.as_bytes(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let data = dir.path().join("data-recent.prom");
    let server = strata_testkit::StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &data,
        &["--retention", "0"],
    );
    // A sample one second after the imported ones, in the same 2 h window.
    let line = format!("recent{{a=\"1\"}} 3 {now}\n");
    let r = server.post("/api/v1/import/prometheus", "text/plain", line.as_bytes());
    assert_eq!(r.code, 204, "{}", r.text());
    let answer = server.query("count_over_time(recent[5m])", now as f64 / 1000.0);
    assert_eq!(answer["data"]["result"][0]["value"][1], "3", "{answer}");
}

/// 120 scrapes 15 s apart, each a native histogram family and a counter family, the
/// timestamps in the metrics (`stamped`) or not — encoded by testkit's own encoder, not the
/// decoder's message types.
fn protobuf_scrapes(start: i64, stamped: bool) -> Vec<u8> {
    use strata_testkit::histogram_target::{counter_family, counter_histogram, histogram_family};
    let mut body = Vec::new();
    for n in 1..=120u64 {
        let t = stamped.then_some(start + n as i64 * 15_000);
        let job = [("job", "api")];
        body.extend(histogram_family("api_latency_seconds", &job, &counter_histogram(n), t));
        body.extend(counter_family("api_requests_total", &job, n as f64 * 2.0, t));
    }
    body
}

#[test]
fn a_protobuf_exposition_imports_native_histograms_into_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000i64;
    let out = import(dir.path(), "protobuf", "scrapes.pb", &protobuf_scrapes(start, true), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["samples"].as_u64(), report["histogram_samples"].as_u64()), (Some(240), Some(120)));
    assert_eq!((report["series"].as_u64(), report["lines"].as_u64()), (Some(2), Some(240)), "{report}");

    let server = strata_testkit::StrataServer::start(
        env!("CARGO_BIN_EXE_strata").as_ref(),
        &dir.path().join("data-scrapes.pb"),
        &["--retention", "0"],
    );
    let last = (start + 120 * 15_000) as f64 / 1000.0;
    let want = strata_testkit::histogram_target::counter_histogram(120);
    for (query, expected) in [
        ("histogram_count(api_latency_seconds)", want.count as f64),
        ("histogram_sum(api_latency_seconds)", want.sum),
        ("api_requests_total", 240.0),
        ("count_over_time(api_latency_seconds[30m])", 120.0),
    ] {
        let answer = server.query(query, last);
        let got = answer["data"]["result"][0]["value"][1].as_str().map(|v| v.parse::<f64>().unwrap());
        assert_eq!(got, Some(expected), "{query}: {answer}");
    }

    // A capture of a scrape carries no timestamps: refused, naming the family, unless
    // --timestamp gives one.
    let bare = protobuf_scrapes(start, false);
    let out = import(dir.path(), "protobuf", "bare.pb", &bare, &[]);
    assert!(!out.status.success());
    let message = text(&out.stderr);
    assert!(message.contains("metric family 1") && message.contains("--timestamp"), "{message}");
    assert!(!dir.path().join("data-bare.pb").read_dir().unwrap().any(|e| e.unwrap().path().is_dir()));
    let out = import(dir.path(), "protobuf", "bare2.pb", &bare, &["--timestamp", &start.to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every scrape at one timestamp: the last of each series is kept.
    assert_eq!((report["samples"].as_u64(), report["duplicate_timestamps"].as_u64()), (Some(2), Some(238)));
}
