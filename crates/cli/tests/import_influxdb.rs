//! `strata import --from-influxdb` against a real InfluxDB 1.6 install: two databases (one
//! with a second retention policy), data in TSM files and in a WAL tail, a delete — every
//! point influxd would answer arrives, named by decision 2 with `db` and `rp` labels, and
//! nothing deleted does.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use strata_testkit::{peer_binary, InfluxDb};

fn strata() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_strata"))
}

fn tsm_files(data: &Path) -> usize {
    let mut n = 0;
    let mut dirs = vec![data.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "tsm") {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_whole_influxdb_install_is_imported_with_db_and_rp_labels() {
    let Some(influxd) = peer_binary("influxd", "influxdb") else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("influx");
    let mut db = InfluxDb::start(&influxd, &root, "  cache-snapshot-write-cold-duration = \"1s\"");
    db.query("", "CREATE DATABASE telegraf");
    db.query("", "CREATE DATABASE app");
    db.query("", "CREATE RETENTION POLICY \"year\" ON \"app\" DURATION 52w REPLICATION 1");
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let base = (now_s - 3600) * 1_000_000_000;
    let mut expected = BTreeSet::new();
    let mut lines = String::new();
    for i in 0..200i64 {
        let t = base + i * 10_000_000_000;
        for host in ["a", "b"] {
            lines.push_str(&format!("cpu,host={host} usage={}.25,count={i}i,note=\"x\" {t}\n", i % 50));
            if host == "a" {
                let ms = t / 1_000_000;
                expected.insert(format!(
                    "{{__name__=\"cpu_usage\", db=\"telegraf\", host=\"a\", rp=\"autogen\"}} {}.25 {ms}",
                    i % 50
                ));
                expected.insert(format!(
                    "{{__name__=\"cpu_count\", db=\"telegraf\", host=\"a\", rp=\"autogen\"}} {i} {ms}"
                ));
            }
        }
    }
    db.write("telegraf", &lines);
    // Snapshotted into TSM files once cold for 1 s …
    let deadline = Instant::now() + Duration::from_secs(60);
    while tsm_files(&db.data_dir().join("telegraf")) == 0 {
        assert!(Instant::now() < deadline, "influxd did not snapshot within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    // … then a WAL tail: more points, another database and retention policy, a delete.
    let t = base + 300 * 10_000_000_000;
    db.write("telegraf", &format!("cpu,host=a usage=99 {t}\ncpu,host=b usage=1 {t}\n"));
    expected.insert(format!(
        "{{__name__=\"cpu_usage\", db=\"telegraf\", host=\"a\", rp=\"autogen\"}} 99 {}",
        t / 1_000_000
    ));
    let path = "/write?db=app&rp=year";
    let body = format!("requests,path=/x value=7 {t}\n");
    let r = strata_testkit::post(db.port, path, "text/plain", body.as_bytes()).unwrap();
    assert_eq!(r.code, 204, "{}", r.text());
    expected.insert(format!(
        "{{__name__=\"requests\", db=\"app\", path=\"/x\", rp=\"year\"}} 7 {}",
        t / 1_000_000
    ));
    db.query("telegraf", "DELETE FROM cpu WHERE host = 'b'");
    db.stop();

    let out_dir = dir.path().join("strata");
    let out = Command::new(strata())
        .args(["import", "--from-influxdb"])
        .arg(&root)
        .arg("--dir")
        .arg(&out_dir)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["samples"].as_u64(), Some(expected.len() as u64), "{report}");
    assert!(report["string_fields_skipped"].as_u64().unwrap() >= 200, "{report}");

    let dump = Command::new(strata()).args(["tsdb", "dump"]).arg(&out_dir).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let got: BTreeSet<String> = String::from_utf8_lossy(&dump.stdout).lines().map(str::to_string).collect();
    let missing: Vec<_> = expected.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&expected).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
}
