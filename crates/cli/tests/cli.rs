//! End-to-end tests of the `strata` binary's tool subcommands.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{strata_stdin, text};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata runs")
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn mem_answers_the_seed_session() {
    let session = "\
INSERT cpu.usage host=server1 region=us-east 1703001600 0.75
INSERT cpu.usage host=server1 region=us-east 1703001610 0.82
INSERT cpu.usage host=server2 region=us-east 1703001615 0.10
QUERY cpu.usage{host=server1} FROM 1703001600 TO 1703001620
INSERT nonsense
QUERY cpu.usage{region=us-east} FROM 1703001605 TO 1703001615
";
    let out = strata_stdin(&["mem"], session);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..5], ["OK", "OK", "OK", "[1703001600, 0.75]", "[1703001610, 0.82]"]);
    assert!(lines[5].starts_with("2 points returned in ") && lines[5].ends_with("ms"), "{}", lines[5]);
    assert!(lines[6].starts_with("ERROR: INSERT needs"), "{}", lines[6]);
    assert_eq!(lines[7..9], ["[1703001610, 0.82]", "[1703001615, 0.1]"]);
    assert!(lines.iter().all(|l| !l.starts_with("> ")), "no prompt without a terminal");
}

#[test]
fn mem_json_answers_one_object_per_command() {
    let out = strata_stdin(&["mem", "--json"], "INSERT m a=1 5 NaN\nQUERY m{a=1}\nBAD\nSTATS\n");
    let objects: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(objects.len(), 4);
    assert_eq!(objects[1]["points"], serde_json::json!([[5, "NaN"]]));
    assert!(objects[2]["error"].as_str().unwrap().contains("unknown command"));
    assert_eq!(objects[3]["points"], 1);
}

#[test]
fn gen_compress_decompress_round_trip_for_each_codec() {
    let dir = tempfile::tempdir().unwrap();
    let raw = path(dir.path(), "in.raw");
    for pattern in ["gauge", "decimal", "counter", "constant"] {
        let out = strata(&[
            "gen",
            "--points",
            "5000",
            "--interval",
            "15s",
            "--jitter",
            "3",
            "--pattern",
            pattern,
            &raw,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        for codec in ["delta", "gorilla"] {
            let packed = path(dir.path(), "x.stc");
            let unpacked = path(dir.path(), "x.raw");
            let out = strata(&["compress", "--codec", codec, &raw, &packed]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            let report = text(&out.stdout);
            assert!(
                report.contains("Ratio:") && report.contains("Timestamps:") && report.contains("Values:"),
                "{report}"
            );
            assert_eq!(report.contains("'10'"), codec == "gorilla", "{report}");
            for extra in [vec![], vec!["--verify", raw.as_str()]] {
                let mut args = vec!["decompress"];
                args.extend(extra.iter().copied());
                args.extend([packed.as_str(), unpacked.as_str()]);
                let out = strata(&args);
                assert!(out.status.success(), "{}", text(&out.stderr));
                assert!(text(&out.stdout).contains("Points:       5000"), "{}", text(&out.stdout));
                assert!(text(&out.stdout).contains("Verification: PASSED"), "{}", text(&out.stdout));
                assert_eq!(
                    std::fs::read(&raw).unwrap(),
                    std::fs::read(&unpacked).unwrap(),
                    "{pattern} {codec}"
                );
            }
        }
    }
}

#[test]
fn verify_against_a_different_original_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, packed, out_raw) =
        (path(dir.path(), "a"), path(dir.path(), "b"), path(dir.path(), "p"), path(dir.path(), "o"));
    assert!(strata(&["gen", "--points", "100", "--seed", "1", &a]).status.success());
    assert!(strata(&["gen", "--points", "100", "--seed", "2", &b]).status.success());
    assert!(strata(&["compress", "--codec", "gorilla", &a, &packed]).status.success());
    let out = strata(&["decompress", "--verify", &b, &packed, &out_raw]);
    assert!(!out.status.success());
    assert!(text(&out.stdout).contains("Verification: FAILED"), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("PASSED"));
}

#[test]
fn damaged_files_are_rejected_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, packed, bad, out_raw) =
        (path(dir.path(), "r"), path(dir.path(), "p"), path(dir.path(), "bad"), path(dir.path(), "o"));
    assert!(strata(&["gen", "--points", "2000", &raw]).status.success());
    assert!(strata(&["compress", "--codec", "gorilla", &raw, &packed]).status.success());
    let bytes = std::fs::read(&packed).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (bytes[..bytes.len() - 7].to_vec(), "truncated"),
        (bytes[..10].to_vec(), "truncated"),
        (
            {
                let mut b = bytes.clone();
                b[bytes.len() / 2] ^= 0x40;
                b
            },
            "checksum mismatch",
        ),
        (
            {
                let mut b = bytes.clone();
                b[0] = b'Z';
                b
            },
            "not a Strata series file",
        ),
        (b"hello".to_vec(), "truncated"),
    ];
    for (content, want) in cases {
        std::fs::write(&bad, content).unwrap();
        let out = strata(&["decompress", &bad, &out_raw]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(want), "want {want:?}: {}", text(&out.stderr));
    }
    std::fs::write(&bad, &std::fs::read(&raw).unwrap()[..33]).unwrap();
    let out = strata(&["compress", "--codec", "delta", &bad, &packed]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not a whole number of 16-byte points"), "{}", text(&out.stderr));
}

#[test]
fn json_reports_carry_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, packed, out_raw) = (path(dir.path(), "r"), path(dir.path(), "p"), path(dir.path(), "o"));
    let gen: serde_json::Value =
        serde_json::from_slice(&strata(&["gen", "--json", "--points", "1000", &raw]).stdout).unwrap();
    assert_eq!(gen["points"], 1000);
    assert_eq!(gen["bytes"], 16_000);
    let c: serde_json::Value =
        serde_json::from_slice(&strata(&["compress", "--json", "--codec", "gorilla", &raw, &packed]).stdout)
            .unwrap();
    assert_eq!(c["points"], 1000);
    assert_eq!(c["output_bytes"].as_u64().unwrap(), std::fs::metadata(&packed).unwrap().len());
    let shares: f64 =
        c["gorilla_value_fields"].as_array().unwrap().iter().map(|f| f["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    let d: serde_json::Value =
        serde_json::from_slice(&strata(&["decompress", "--json", &packed, &out_raw]).stdout).unwrap();
    assert_eq!(d["verification"], "PASSED");
    assert_eq!(d["points"], 1000);
}

#[test]
fn index_bench_reports_the_agreed_json_fields() {
    let out = strata(&["index", "bench", "--series", "20000", "--runs", "3", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["series"], 20_000);
    assert!(report["build_seconds"].as_f64().unwrap() > 0.0);
    assert!(report["bytes_per_series"].as_f64().unwrap() > 10.0);
    assert_eq!(report["label_names"], 15);
    let queries = report["queries"].as_array().unwrap();
    assert!(queries.len() >= 4);
    for q in queries {
        for field in ["query", "matchers", "matching_series", "median_ms", "p99_ms"] {
            assert!(!q[field].is_null(), "{field} missing in {q}");
        }
        assert!(q["median_ms"].as_f64().unwrap() <= q["p99_ms"].as_f64().unwrap());
    }
    let three = queries.iter().find(|q| q["matchers"] == 3).expect("a 3-matcher query");
    assert!(three["matching_series"].as_u64().unwrap() > 0, "the 3-way query matches something");
}

#[test]
fn tsdb_demo_writes_blocks_that_tsdb_inspect_and_dump_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path(), "data");
    let out = strata(&["tsdb", "demo", "--dir", &data, "--series", "200", "--samples", "120000", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["samples"], 120_000);
    assert_eq!(report["series"], 200);
    let bytes_per_sample = report["bytes_per_sample"].as_f64().unwrap();
    assert!(bytes_per_sample > 0.1 && bytes_per_sample < 16.0, "{bytes_per_sample}");
    assert!(report["head_bytes_per_series"].as_f64().unwrap() > 0.0);
    let blocks = report["blocks"].as_array().unwrap();
    let in_blocks: u64 = blocks.iter().map(|b| b["samples"].as_u64().unwrap()).sum();
    assert_eq!(in_blocks, 120_000, "the flush put every sample in a block");
    let query_samples = report["query"]["samples"].as_u64().unwrap();
    assert_eq!(query_samples, 600 * report["query"]["series"].as_u64().unwrap(), "whole series returned");

    let inspect = strata(&["tsdb", "inspect", "--json", &data]);
    let listed: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let ids: Vec<&str> =
        listed["blocks"].as_array().unwrap().iter().map(|b| b["ulid"].as_str().unwrap()).collect();
    let mut want: Vec<&str> = blocks.iter().map(|b| b["ulid"].as_str().unwrap()).collect();
    want.sort();
    assert_eq!(ids, want);
    let dump = strata(&["tsdb", "dump", &data]);
    assert_eq!(text(&dump.stdout).lines().count(), 120_000, "dump prints each sample once");

    let again = strata(&["tsdb", "demo", "--dir", &data, "--series", "1", "--samples", "1"]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("is not empty"), "{}", text(&again.stderr));
}

#[test]
fn tsdb_delete_and_snapshot_change_and_copy_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path(), "data");
    let out = strata(&["tsdb", "demo", "--dir", &data, "--series", "50", "--samples", "5000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = text(&strata(&["tsdb", "dump", &data]).stdout).lines().count();
    assert_eq!(before, 5000);

    let deleted = strata(&["tsdb", "delete", "--dir", &data, "--match", "metric_0", "--json"]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let report: serde_json::Value = serde_json::from_slice(&deleted.stdout).unwrap();
    let touched = report["series_touched"].as_u64().unwrap();
    assert!(touched > 0, "{report}");
    let after = text(&strata(&["tsdb", "dump", &data]).stdout).lines().count();
    assert_eq!(after as u64, 5000 - touched * 100, "each touched series loses its 100 samples");
    let left = text(&strata(&["tsdb", "dump", &data, "--match", "metric_0"]).stdout).lines().count();
    assert_eq!(left, 0);

    let snap = path(dir.path(), "snap");
    let snapshot = strata(&["tsdb", "snapshot", "--dir", &data, "--out", &snap, "--json"]);
    assert!(snapshot.status.success(), "{}", text(&snapshot.stderr));
    assert_eq!(text(&strata(&["tsdb", "dump", &snap]).stdout).lines().count(), after);
    let again = strata(&["tsdb", "snapshot", "--dir", &data, "--out", &snap]);
    assert!(!again.status.success() && text(&again.stderr).contains("not empty"), "{}", text(&again.stderr));
    let bad = strata(&["tsdb", "delete", "--dir", &data, "--match", "{"]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("--match"), "{}", text(&bad.stderr));
}

#[test]
fn tsdb_compact_merges_the_demo_blocks_and_cleans_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path(), "data");
    // 40 series x 400 samples at 15 s over 1 h 40 min, blocks of 10 minutes.
    let demo =
        ["tsdb", "demo", "--dir", &data, "--series", "40", "--samples", "16000", "--block-range", "10m"];
    assert!(strata(&demo).status.success());
    let before = text(&strata(&["tsdb", "dump", &data]).stdout);
    let blocks_before = strata(&["tsdb", "inspect", "--json", &data]);
    let listed: serde_json::Value = serde_json::from_slice(&blocks_before.stdout).unwrap();
    let n_before = listed["blocks"].as_array().unwrap().len();

    let out = strata(&["tsdb", "compact", "--dir", &data, "--block-range", "10m", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let compactions = report["compactions"].as_array().unwrap();
    assert!(!compactions.is_empty(), "{report}");
    assert!(compactions
        .iter()
        .all(|c| c["sources"].as_array().unwrap().len() >= 2 && c["bytes_after"].as_u64() > Some(0)));
    assert!((report["blocks_after"].as_u64().unwrap() as usize) < n_before);
    let mut after =
        text(&strata(&["tsdb", "dump", &data]).stdout).lines().map(String::from).collect::<Vec<_>>();
    let mut want = before.lines().map(String::from).collect::<Vec<_>>();
    after.sort();
    want.sort();
    assert!(after == want, "compaction keeps every sample, once");

    assert!(strata(&["tsdb", "delete", "--dir", &data, "--match", "metric_0"]).status.success());
    let cleaned =
        strata(&["tsdb", "compact", "--dir", &data, "--block-range", "10m", "--clean-tombstones", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&cleaned.stdout).unwrap();
    assert!(!report["compactions"].as_array().unwrap().is_empty(), "{report}");
    let listed: serde_json::Value =
        serde_json::from_slice(&strata(&["tsdb", "inspect", "--json", &data]).stdout).unwrap();
    for b in listed["blocks"].as_array().unwrap() {
        let tombstones =
            std::fs::metadata(dir.path().join("data").join(b["ulid"].as_str().unwrap()).join("tombstones"));
        assert_eq!(tombstones.unwrap().len(), 9, "no tombstones left after cleaning");
    }
    assert_eq!(text(&strata(&["tsdb", "dump", &data, "--match", "metric_0"]).stdout).lines().count(), 0);
}
