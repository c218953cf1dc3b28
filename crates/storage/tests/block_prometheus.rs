//! Blocks Strata writes, read by the real Prometheus tools (Debian `prometheus`, 2.42):
//! `promtool tsdb analyze` accepts the block, `promtool tsdb dump` lists exactly the samples
//! written, and a real Prometheus serves every one of them.
//!
//! Skipped (loudly) without the peers, except under `CI=true`, where that fails.

use std::collections::BTreeMap;
use std::process::Command;

use strata_model::Labels;
use strata_storage::block::{write_block, BlockSeries};
use strata_testkit::{peer_binary, promtool_dump, promtool_labels, value_bits, Prometheus, PROM_NAN};

fn series(now: i64) -> Vec<BlockSeries> {
    let start = (now - 50 * 60_000) / 1000 * 1000;
    (0..50u32)
        .map(|s| {
            let n = 1 + (s as usize * 37) % 500; // 1 to 500 samples: one chunk or several
            let samples = (0..n)
                .map(|i| {
                    let t = start + i as i64 * 5_000 + i64::from(s % 7); // a little jitter
                    let v = match s % 5 {
                        0 => i as f64,
                        1 => (i as f64 * 0.1).sin() * 1e9,
                        2 if i % 11 == 3 => f64::from_bits(PROM_NAN),
                        2 => 42.0,
                        3 => 1e-300 * (i + 1) as f64,
                        _ => (1u64 << 50) as f64 + i as f64,
                    };
                    (t, v)
                })
                .collect();
            let labels = Labels::from_pairs([
                ("__name__", format!("block_metric_{}", s % 5)),
                ("series", s.to_string()),
                ("job", if s % 2 == 0 { "even".into() } else { "odd".into() }),
            ])
            .unwrap();
            BlockSeries { labels, samples, histograms: Vec::new() }
        })
        .collect()
}

#[test]
fn promtool_and_prometheus_read_a_strata_block() {
    let Some(promtool) = peer_binary("promtool", "prometheus") else { return };
    let Some(prometheus) = peer_binary("prometheus", "prometheus") else { return };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("wal")).unwrap(); // promtool opens the head too
    let input = series(now);
    let stats = write_block(&data, input.clone()).unwrap();
    let total: usize = input.iter().map(|s| s.samples.len()).sum();
    assert_eq!(stats.meta.stats.num_samples as usize, total);

    let analyze = Command::new(&promtool).args(["tsdb", "analyze"]).arg(&data).output().unwrap();
    let report = String::from_utf8_lossy(&analyze.stdout);
    assert!(
        analyze.status.success(),
        "promtool tsdb analyze failed: {report}{}",
        String::from_utf8_lossy(&analyze.stderr)
    );
    assert!(report.contains(&format!("Block ID: {}", stats.meta.ulid)), "{report}");
    assert!(report.contains("Series: 50"), "{report}");

    let dumped = promtool_dump(&promtool, &data);
    let written: BTreeMap<(String, i64), u64> = input
        .iter()
        .flat_map(|s| s.samples.iter().map(move |&(t, v)| ((promtool_labels(&s.labels), t), value_bits(v))))
        .collect();
    assert_eq!(dumped.len(), written.len(), "promtool dumps as many samples as were written");
    let mismatch = written.iter().find(|(k, v)| dumped.get(*k) != Some(*v));
    assert!(mismatch.is_none(), "sample differs in the dump: {mismatch:?}");

    // A real Prometheus on the same data dir serves every sample.
    let server = Prometheus::start(&prometheus, &data, false);
    let all = server.query("{__name__=~\"block_metric_.+\"}[2h]", None);
    let served: usize = all["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["values"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(served, total, "prometheus serves every sample of the block");
    server.stop();
}

#[test]
fn strata_reads_a_block_promtool_wrote() {
    let Some(promtool) = peer_binary("promtool", "prometheus") else { return };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let input = series(now);
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for s in &input {
        let key = promtool_labels(&s.labels).replace(", ", ",");
        let name = s.labels.metric_name().unwrap();
        let rest = key.replacen(&format!("__name__=\"{name}\","), "", 1);
        for &(t, v) in &s.samples {
            let v = if v.is_nan() { "NaN".to_string() } else { format!("{v:?}") };
            text.push_str(&format!("{name}{rest} {v} {}.{:03}\n", t / 1000, t % 1000));
        }
    }
    text.push_str("# EOF\n");
    let om = dir.path().join("input.om");
    std::fs::write(&om, text).unwrap();
    let out = dir.path().join("blocks");
    let run = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let mut read: BTreeMap<(String, i64), u64> = BTreeMap::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let block = strata_storage::block::BlockReader::open(&entry.unwrap().path()).unwrap();
        assert_eq!(block.index_version(), 2);
        for (labels, samples) in block.select(&[], i64::MIN, i64::MAX).unwrap() {
            for (t, v) in samples {
                assert!(
                    read.insert((promtool_labels(&labels), t), value_bits(v)).is_none(),
                    "sample read twice"
                );
            }
        }
    }
    let written: BTreeMap<(String, i64), u64> = input
        .iter()
        .flat_map(|s| s.samples.iter().map(move |&(t, v)| ((promtool_labels(&s.labels), t), value_bits(v))))
        .collect();
    assert_eq!(read.len(), written.len(), "every sample promtool stored is read");
    assert!(read == written, "strata reads exactly what promtool wrote");
}
