//! A TSM file written by `TsmWriter` reads back point for point through `TsmReader`, and a
//! damaged file is reported by path and offset, never read as wrong data.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use strata_tsm::{TsmError, TsmReader, TsmWriter, Values};

type Data = BTreeMap<Vec<u8>, Vec<(i64, f64)>>;

fn write(path: &Path, data: &Data) {
    let mut w = TsmWriter::create(path).unwrap();
    for (key, points) in data {
        let ts: Vec<i64> = points.iter().map(|p| p.0).collect();
        let vs: Vec<f64> = points.iter().map(|p| p.1).collect();
        w.write_series(key, &ts, &Values::Float(vs)).unwrap();
    }
    w.finish().unwrap();
}

fn read_all(path: &Path) -> Result<Data, TsmError> {
    let r = TsmReader::open(path)?;
    let mut out = Data::new();
    for i in 0..r.key_count() {
        let mut points = Vec::new();
        for b in r.blocks(i) {
            let block = r.read_block(&b)?;
            let Values::Float(vs) = block.values else { panic!("float blocks only") };
            points.extend(block.timestamps.into_iter().zip(vs));
        }
        out.insert(r.key(i).to_vec(), points);
    }
    Ok(out)
}

fn data() -> impl Strategy<Value = Data> {
    let points = (any::<i64>(), 1usize..2500, prop::collection::vec(-1e9f64..1e9, 1..5)).prop_map(
        |(start, n, pool)| {
            let step = 1_000_000_000i64;
            (0..n as i64)
                .map(|i| (start.saturating_add(i * step), pool[i as usize % pool.len()] + i as f64))
                .collect::<Vec<_>>()
        },
    );
    prop::collection::btree_map(
        "[a-z]{1,4},host=[a-z0-9]{1,3}#!~#value".prop_map(String::into_bytes),
        points,
        1..6,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(k, mut v)| {
                v.dedup_by_key(|p| p.0);
                (k, v)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn files_read_back_point_for_point(data in data()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000000001-000000001.tsm");
        write(&path, &data);
        prop_assert_eq!(read_all(&path).unwrap(), data.clone());
        let r = TsmReader::open(&path).unwrap();
        let points: usize = data.values().map(Vec::len).sum();
        let blocks: usize = data.values().map(|p| p.len().div_ceil(1000)).sum();
        prop_assert_eq!(r.block_count(), blocks as u64, "{} points", points);
        prop_assert!(!dir.path().join("000000001-000000001.tsm.tmp").exists());
    }
}

fn sample() -> Data {
    let mut data = Data::new();
    for (k, n) in [("cpu,host=a#!~#value", 1500usize), ("mem,host=a#!~#value", 10)] {
        data.insert(
            k.as_bytes().to_vec(),
            (0..n as i64).map(|i| (i * 10_000_000_000, i as f64 * 0.5)).collect(),
        );
    }
    data
}

#[test]
fn a_flipped_byte_in_a_block_is_reported_with_path_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000000001-000000001.tsm");
    write(&path, &sample());
    let r = TsmReader::open(&path).unwrap();
    let second = r.blocks(0)[1];
    drop(r);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[second.offset as usize + 12] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let e = read_all(&path).unwrap_err().to_string();
    assert!(
        e.contains("000000001-000000001.tsm") && e.contains(&format!("at byte {}", second.offset)),
        "{e}"
    );
    assert!(e.contains("checksum"), "{e}");
}

#[test]
fn every_truncation_and_flip_is_an_error_or_the_right_data_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000000001-000000001.tsm");
    write(&path, &sample());
    let good = std::fs::read(&path).unwrap();
    let damaged = dir.path().join("damaged.tsm");
    for cut in (0..good.len()).step_by(7) {
        std::fs::write(&damaged, &good[..cut]).unwrap();
        assert!(read_all(&damaged).is_err(), "cut at {cut} of {}", good.len());
    }
    for at in (0..good.len()).step_by(3) {
        let mut bytes = good.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&damaged, &bytes).unwrap();
        // A flip in a block's time range only changes what the index says; anywhere else the
        // file must read back right or fail.
        if let Ok(data) = read_all(&damaged) {
            let same_points = data.values().map(Vec::len).eq(sample().values().map(Vec::len));
            assert!(same_points, "flip at {at} read back different data");
        }
    }
}

#[test]
fn keys_out_of_order_and_mixed_types_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = TsmWriter::create(&dir.path().join("a.tsm")).unwrap();
    w.write_series(b"b#!~#value", &[1], &Values::Float(vec![1.0])).unwrap();
    assert!(w.write_series(b"a#!~#value", &[1], &Values::Float(vec![1.0])).is_err());
    assert!(w.write_series(b"b#!~#value", &[2], &Values::Integer(vec![1])).is_err());
    assert!(TsmWriter::create(&dir.path().join("empty.tsm")).unwrap().finish().is_err());
    assert!(!dir.path().join("empty.tsm").exists() && !dir.path().join("empty.tsm.tmp").exists());
}
