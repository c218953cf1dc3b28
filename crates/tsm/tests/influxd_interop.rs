//! Interop with the real InfluxDB 1.6 (Debian `influxdb`), both ways:
//! - influxd reads Strata's TSM files: put in a stopped influxd's shard dir, its `/query`
//!   returns exactly the count, sum and last value Strata wrote, per series;
//! - Strata reads influxd's: every point influxd snapshotted into TSM files (floats,
//!   integers, booleans, strings; regular and irregular times) reads back exactly;
//! - influxd replays the WAL Strata's engine writes, and Strata's engine opens a shard
//!   influxd left with TSM files and a WAL tail, returning every point.
//!
//! Skipped (loudly) without influxd, failed under CI=true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use strata_model::Labels;
use strata_storage::Engine;
use strata_testkit::{peer_binary, InfluxDb};
use strata_tsm::{TsmEngine, TsmOptions, TsmReader, TsmWriter, Values};

/// 2023-11-14T22:13:20Z in ns: inside one 7-day shard group with the points below.
const T0: i64 = 1_700_000_000_000_000_000;
const SECOND: i64 = 1_000_000_000;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The shard dirs of `db` (`data/<db>/autogen/<id>`).
fn shard_dirs(data: &Path, db: &str) -> Vec<PathBuf> {
    let rp = data.join(db).join("autogen");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&rp)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Asserts that influxd's count, sum and last of `measurement`'s `value`, per host, are
/// those of `expected` (each host's values in time order).
fn assert_count_sum_last(
    db: &InfluxDb,
    database: &str,
    measurement: &str,
    expected: &BTreeMap<String, Vec<f64>>,
) {
    let q = format!("SELECT count(value), sum(value), last(value) FROM {measurement} GROUP BY host");
    let answer = db.query(database, &q);
    let series = answer["results"][0]["series"].as_array().unwrap_or_else(|| panic!("no series: {answer}"));
    assert_eq!(series.len(), expected.len(), "{answer}");
    for s in series {
        let host = s["tags"]["host"].as_str().unwrap();
        let values = &expected[host];
        let row = &s["values"][0];
        assert_eq!(row[1].as_u64(), Some(values.len() as u64), "count of {host}");
        assert_eq!(row[2].as_f64(), Some(values.iter().sum::<f64>()), "sum of {host}");
        assert_eq!(row[3].as_f64(), values.last().copied(), "last of {host}");
    }
}

/// An influxd under `dir` that snapshots its cache after 1 s without writes, with the
/// database `influx`.
fn snapshotting_influxd(influxd: &Path, dir: &Path) -> InfluxDb {
    let db = InfluxDb::start(influxd, dir, "  cache-snapshot-write-cold-duration = \"1s\"");
    db.query("", "CREATE DATABASE influx");
    db
}

/// Writes `lines` into database `influx`, 1,000 a request.
fn write_in_chunks(db: &InfluxDb, lines: &[&str]) {
    for chunk in lines.chunks(1000) {
        db.write("influx", &(chunk.join("\n") + "\n"));
    }
}

/// Per series (host tag): timestamps and values, as Strata writes them.
fn strata_data() -> BTreeMap<String, (Vec<i64>, Vec<f64>)> {
    let mut rng = Rng(0x5eed);
    let mut data = BTreeMap::new();
    for host in 0..6 {
        let n = [1, 999, 1000, 1001, 2500, 3333][host];
        let mut ts = Vec::with_capacity(n);
        let mut t = T0 + host as i64 * SECOND;
        for i in 0..n {
            ts.push(t);
            // Regular 10 s steps, then irregular ones (simple8b), then huge jumps (raw).
            t += match (host, i % 7) {
                (0..=2, _) => 10 * SECOND,
                (3, _) => (1 + (rng.next() % 5000) as i64) * 1_000_000,
                (_, 0) => (rng.next() % (1 << 40)) as i64 + 1,
                _ => 15 * SECOND,
            };
        }
        // Multiples of 1/4 below 2^30: every sum is exact whatever order influxd adds in.
        let values = (0..n).map(|_| (rng.next() % (1 << 32)) as f64 / 4.0 - (1 << 29) as f64).collect();
        data.insert(format!("h{host}"), (ts, values));
    }
    data
}

#[test]
fn influxd_reads_the_tsm_files_strata_writes() {
    let Some(influxd) = peer_binary("influxd", "influxdb") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut db = InfluxDb::start(&influxd, &dir.path().join("influx"), "");
    db.query("", "CREATE DATABASE strata");
    // One point makes the shard (and its group) exist; it is of another measurement.
    db.write("strata", &format!("seed value=1 {T0}\n"));
    db.stop();
    let shards = shard_dirs(&db.data_dir(), "strata");
    assert_eq!(shards.len(), 1, "one shard: {shards:?}");

    let data = strata_data();
    let path = shards[0].join("000000099-000000001.tsm");
    let mut w = TsmWriter::create(&path).unwrap();
    for (host, (ts, values)) in &data {
        let key = format!("strata_metric,host={host}#!~#value");
        w.write_series(key.as_bytes(), ts, &Values::Float(values.clone())).unwrap();
    }
    let summary = w.finish().unwrap();
    assert_eq!(summary.points, data.values().map(|d| d.0.len() as u64).sum::<u64>());
    db.restart();

    let values: BTreeMap<String, Vec<f64>> = data.iter().map(|(h, (_, v))| (h.clone(), v.clone())).collect();
    assert_count_sum_last(&db, "strata", "strata_metric", &values);
    // Every point, not only the aggregates: the raw rows of the irregular series.
    let answer = db.query("strata", "SELECT value FROM strata_metric WHERE host = 'h5'");
    let rows = answer["results"][0]["series"][0]["values"].as_array().unwrap();
    let (ts, values) = &data["h5"];
    let got: Vec<(i64, f64)> =
        rows.iter().map(|r| (r[0].as_i64().unwrap(), r[1].as_f64().unwrap())).collect();
    assert_eq!(got, ts.iter().copied().zip(values.iter().copied()).collect::<Vec<_>>());
    let fields = db.query("strata", "SHOW FIELD KEYS FROM strata_metric");
    assert_eq!(fields["results"][0]["series"][0]["values"], serde_json::json!([["value", "float"]]));
}

/// Points as influxd was given them, by TSM key.
#[derive(Debug, Default, PartialEq)]
struct Written {
    floats: BTreeMap<String, Vec<(i64, u64)>>,
    integers: BTreeMap<String, Vec<(i64, i64)>>,
    booleans: BTreeMap<String, Vec<(i64, bool)>>,
    strings: BTreeMap<String, Vec<(i64, Vec<u8>)>>,
}

impl Written {
    fn points(&self) -> usize {
        count(&self.floats) + count(&self.integers) + count(&self.booleans) + count(&self.strings)
    }
}

fn count<V>(m: &BTreeMap<String, Vec<V>>) -> usize {
    m.values().map(Vec::len).sum()
}

fn flat<V>(m: BTreeMap<String, BTreeMap<i64, V>>) -> BTreeMap<String, Vec<(i64, V)>> {
    m.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()
}

fn influx_lines() -> (String, Written) {
    let mut rng = Rng(0xC0FFEE);
    let (mut lines, mut w) = (String::new(), Written::default());
    for host in 0..3 {
        let mut t = T0;
        for i in 0..2600i64 {
            t += if host == 2 { (1 + rng.next() % 3_000_000) as i64 } else { 10 * SECOND };
            let f = f64::from_bits(rng.next() >> 2) * if i % 2 == 0 { 1.0 } else { -1.0 };
            let f = if f.is_finite() { f } else { i as f64 };
            let n = (rng.next() as i64) >> (rng.next() % 64);
            let b = rng.next().is_multiple_of(3);
            let s = format!("s{}", rng.next() % 1000);
            lines.push_str(&format!("m,host=h{host} f={f:?},n={n}i,b={b},s=\"{s}\" {t}\n"));
            let key = |field: &str| format!("m,host=h{host}#!~#{field}");
            w.floats.entry(key("f")).or_default().push((t, f.to_bits()));
            w.integers.entry(key("n")).or_default().push((t, n));
            w.booleans.entry(key("b")).or_default().push((t, b));
            w.strings.entry(key("s")).or_default().push((t, s.into_bytes()));
        }
    }
    (lines, w)
}

/// Every point of the TSM files of `shard` (a later file's point replacing an earlier's).
fn read_shard(shard: &Path) -> Written {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shard)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsm"))
        .collect();
    files.sort();
    let mut maps = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for file in files {
        let Ok(r) = TsmReader::open(&file) else { continue }; // compacted away meanwhile
        for i in 0..r.key_count() {
            let key = String::from_utf8(r.key(i).to_vec()).unwrap();
            for b in r.blocks(i) {
                let block = r.read_block(&b).unwrap_or_else(|e| panic!("{e}"));
                let ts = block.timestamps;
                match block.values {
                    Values::Float(v) => {
                        extend(&mut maps.0, &key, ts.into_iter().zip(v.into_iter().map(f64::to_bits)))
                    }
                    Values::Integer(v) => extend(&mut maps.1, &key, ts.into_iter().zip(v)),
                    Values::Boolean(v) => extend(&mut maps.2, &key, ts.into_iter().zip(v)),
                    Values::String(v) => extend(&mut maps.3, &key, ts.into_iter().zip(v)),
                    Values::Unsigned(_) => panic!("no unsigned field was written"),
                }
            }
        }
    }
    Written { floats: flat(maps.0), integers: flat(maps.1), booleans: flat(maps.2), strings: flat(maps.3) }
}

fn extend<V>(m: &mut BTreeMap<String, BTreeMap<i64, V>>, key: &str, points: impl Iterator<Item = (i64, V)>) {
    m.entry(key.to_string()).or_default().extend(points);
}

#[test]
fn strata_reads_the_tsm_files_influxd_writes() {
    let Some(influxd) = peer_binary("influxd", "influxdb") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut db = snapshotting_influxd(&influxd, &dir.path().join("influx"));
    let (lines, written) = influx_lines();
    write_in_chunks(&db, &lines.lines().collect::<Vec<_>>());
    // Wait for the cold cache to be snapshotted into TSM files.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shards = shard_dirs(&db.data_dir(), "influx");
        if shards.len() == 1 && read_shard(&shards[0]).points() == written.points() {
            break;
        }
        assert!(Instant::now() < deadline, "influxd did not snapshot every point within 60 s");
        std::thread::sleep(Duration::from_millis(500));
    }
    db.stop();
    let shards = shard_dirs(&db.data_dir(), "influx");
    assert_eq!(read_shard(&shards[0]), written);
}

/// The WAL dir of `db`'s one shard (`wal/<db>/autogen/<id>`).
fn shard_wal_dir(db: &InfluxDb, name: &str, shard: &Path) -> PathBuf {
    db.wal_dir().join(name).join("autogen").join(shard.file_name().unwrap())
}

#[test]
fn influxd_replays_the_wal_strata_writes() {
    let Some(influxd) = peer_binary("influxd", "influxdb") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut db = InfluxDb::start(&influxd, &dir.path().join("influx"), "");
    db.query("", "CREATE DATABASE strata");
    db.write("strata", &format!("seed value=1 {T0}\n"));
    db.stop();
    let shard = shard_dirs(&db.data_dir(), "strata").remove(0);

    // Strata's engine logs writes and is dropped before any snapshot: all in its WAL.
    let ours = dir.path().join("strata");
    let options = TsmOptions { background: false, ..TsmOptions::default() };
    let mut expected = BTreeMap::new();
    {
        let engine = TsmEngine::open(&ours, options).unwrap();
        for round in 0..50i64 {
            let batch: Vec<_> = (0..4)
                .map(|h| {
                    let labels =
                        Labels::with_metric_name("strata_wal", [("host", format!("h{h}").as_str())]).unwrap();
                    (labels, T0 / 1_000_000 + round * 1000, (round * 4 + h) as f64 / 4.0)
                })
                .collect();
            for (l, t, v) in &batch {
                expected.entry(l.get("host").unwrap().to_string()).or_insert_with(Vec::new).push((*t, *v));
            }
            engine.append(&batch).unwrap();
        }
    }
    let segments = strata_tsm::wal::segments(&ours.join("wal")).unwrap();
    assert_eq!(segments.len(), 1, "{segments:?}");
    std::fs::copy(&segments[0].1, shard_wal_dir(&db, "strata", &shard).join("_00090.wal")).unwrap();
    db.restart();

    let values: BTreeMap<String, Vec<f64>> =
        expected.iter().map(|(h, points)| (h.clone(), points.iter().map(|p| p.1).collect())).collect();
    assert_count_sum_last(&db, "strata", "strata_wal", &values);
}

#[test]
fn strata_opens_a_shard_influxd_left_with_tsm_files_and_a_wal_tail() {
    let Some(influxd) = peer_binary("influxd", "influxdb") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut db = snapshotting_influxd(&influxd, &dir.path().join("influx"));
    let (lines, written) = influx_lines();
    let all: Vec<&str> = lines.lines().collect();
    let (first, tail) = all.split_at(all.len() / 2);
    write_in_chunks(&db, first);
    // The first half is snapshotted into TSM files (cold after 1 s) …
    let deadline = Instant::now() + Duration::from_secs(60);
    while shard_dirs(&db.data_dir(), "influx").first().is_none_or(|s| read_shard(s).points() == 0) {
        assert!(Instant::now() < deadline, "influxd did not snapshot within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    // … the second half is written and influxd stopped at once: it stays in the WAL.
    write_in_chunks(&db, tail);
    db.stop();
    let shard = shard_dirs(&db.data_dir(), "influx").remove(0);
    let wal = shard_wal_dir(&db, "influx", &shard);
    let wal_points: usize = strata_tsm::wal::segments(&wal)
        .unwrap()
        .iter()
        .flat_map(|(_, p)| strata_tsm::wal::read_segment(p).unwrap().entries)
        .map(|e| match e {
            strata_tsm::wal::Entry::Write(kps) => kps.iter().map(|k| k.timestamps.len()).sum(),
            _ => 0,
        })
        .sum();
    assert!(wal_points > 0, "a WAL tail was left");

    // A Strata dir made of the shard: its TSM files, its WAL segments under wal/.
    let ours = dir.path().join("strata");
    strata_testkit::copy_dir(&shard, &ours);
    strata_testkit::copy_dir(&wal, &ours.join("wal"));
    let engine = TsmEngine::open(&ours, TsmOptions { background: false, ..TsmOptions::default() }).unwrap();
    let mut got: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for series in engine.select(&[], i64::MIN / 2_000_000, i64::MAX / 2_000_000).unwrap() {
        let name = series.labels().to_string();
        got.insert(
            name,
            series.collect_samples().unwrap().into_iter().map(|(t, v)| (t, v.to_bits())).collect(),
        );
    }
    // Floats, integers and booleans as Strata names and stores them (ms, floats); strings left out.
    let mut expected: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    let ms = |t: i64| t.div_euclid(1_000_000);
    for (key, points) in &written.floats {
        expected.insert(strata_name(key), points.iter().map(|&(t, v)| (ms(t), v)).collect());
    }
    for (key, points) in &written.integers {
        expected
            .insert(strata_name(key), points.iter().map(|&(t, v)| (ms(t), (v as f64).to_bits())).collect());
    }
    for (key, points) in &written.booleans {
        expected.insert(
            strata_name(key),
            points.iter().map(|&(t, b)| (ms(t), if b { 1f64 } else { 0f64 }.to_bits())).collect(),
        );
    }
    // Timestamps closer than a millisecond (host h2's) collapse to one point in Strata.
    for points in expected.values_mut() {
        points.reverse();
        points.dedup_by_key(|p| p.0);
        points.reverse();
    }
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (name, points) in &expected {
        assert_eq!(&got[name], points, "{name}");
    }
}

/// Strata's name for the series of a TSM key.
fn strata_name(key: &str) -> String {
    strata_tsm::key::labels_of(key.as_bytes()).unwrap().to_string()
}
