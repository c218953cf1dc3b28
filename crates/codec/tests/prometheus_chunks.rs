//! Byte compatibility with chunks written by the real Prometheus.
//!
//! 1. The block fixture in ../shared (written by Prometheus itself): every chunk decodes.
//! 2. A block written here by the real `promtool tsdb create-blocks-from openmetrics`
//!    (Prometheus 2.42, Debian package `prometheus`) from series we generate: the samples in
//!    its XOR chunks are exactly ours, and re-encoding each chunk's samples with our encoder
//!    gives Prometheus' bytes (up to the extra zero byte 2.42 sometimes appends).
//!
//! Both need things outside the repository: the first skips loudly without
//! `STRATA_SHARED_DIR`; the second skips loudly without `promtool`, except under `CI=true`,
//! where a missing peer fails the run.

use std::path::Path;
use std::process::Command;

use strata_codec::{varint, xor};

/// One chunk of a Prometheus chunk segment file.
struct SegmentChunk {
    encoding: u8,
    data: Vec<u8>,
}

/// Reads a chunk segment file (`<block>/chunks/NNNNNN`): 8-byte header (magic 0x85BD40DD,
/// version 1), then `uvarint len | encoding | data | BE32 CRC-32C(encoding | data)`.
fn read_segment(path: &Path) -> Vec<SegmentChunk> {
    let file = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert_eq!(file[..4], [0x85, 0xbd, 0x40, 0xdd], "chunk segment magic in {}", path.display());
    assert_eq!(file[4], 1, "chunk segment version");
    let mut pos = 8;
    let mut chunks = Vec::new();
    while pos < file.len() {
        let len = varint::read_uvarint(&file, &mut pos).unwrap() as usize;
        let body = &file[pos..pos + 1 + len];
        let crc = u32::from_be_bytes(file[pos + 1 + len..pos + 5 + len].try_into().unwrap());
        assert_eq!(crc32c::crc32c(body), crc, "CRC of the chunk at byte {pos} of {}", path.display());
        chunks.push(SegmentChunk { encoding: body[0], data: body[1..].to_vec() });
        pos += 5 + len;
    }
    chunks
}

fn decode(chunk: &SegmentChunk) -> Vec<(i64, f64)> {
    assert_eq!(chunk.encoding, 1, "XOR encoding");
    xor::XorIter::new(&chunk.data).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Our encoding of the chunk's samples equals Prometheus' bytes, ignoring trailing zeros.
fn assert_reencodes_identically(chunk: &SegmentChunk, samples: &[(i64, f64)]) {
    let (ours, _) = xor::encode_chunk(samples.iter().copied()).unwrap();
    assert_eq!(ours[..], chunk.data[..ours.len()], "chunk of {} samples", samples.len());
    let rest = &chunk.data[ours.len()..];
    assert!(rest.len() <= 1 && rest.iter().all(|&b| b == 0), "only one zero byte may follow: {rest:?}");
}

#[test]
fn fixture_block_from_prometheus() {
    let Some(shared) = std::env::var_os("STRATA_SHARED_DIR") else {
        eprintln!("SKIPPED: STRATA_SHARED_DIR is not set; the Prometheus fixture block was not read");
        return;
    };
    let path = Path::new(&shared).join("conformance/tsdb-fixtures/index_format_v1/chunks/000001");
    let chunks = read_segment(&path);
    assert_eq!(chunks.len(), 102);
    for chunk in &chunks {
        let samples = decode(chunk);
        assert_eq!(samples.len(), 1);
        let (t, v) = samples[0];
        assert!([0, 1, 3].contains(&t) && [0.0, 2.0, 4.0].contains(&v), "sample {t} {v}");
        assert_reencodes_identically(chunk, &samples);
    }
}

/// Deterministic series with the shapes that exercise every part of the encoding.
fn generate_series() -> Vec<(String, Vec<(i64, f64)>)> {
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 11
    };
    let start = 1_703_001_600_000i64;
    let mut all = Vec::new();
    for s in 0..28u32 {
        let (mut t, mut v, mut samples) = (start + (next() % 1000) as i64, 0.0f64, Vec::new());
        for i in 0..700u32 {
            // Mostly a 5 s interval with ms jitter; now and then a gap of up to 2 minutes
            // (larger delta-of-delta buckets) or the same step repeated (dod 0).
            t += match next() % 20 {
                0 => (next() % 120_000) as i64 + 1,
                1..=9 => 5_000,
                _ => 5_000 + (next() % 61) as i64 - 30,
            };
            v = match s % 7 {
                0 => v + (next() % 100) as f64,          // counter
                1 => (next() % 1000) as f64 * 4096.0,    // integer gauge
                2 => ((next() % 10_000) as f64) / 100.0, // two-decimal gauge
                3 => f64::from(i).sin() * 1e6,           // full-precision float
                // NaN now and then
                4 if i % 50 == 7 => f64::NAN,
                4 => 1.0,                                       // constant
                5 => f64::from_bits(next() << 11 | 1) * 1e-300, // wide exponent range
                // A large, slowly growing counter (bytes sent): XORs with ≥ 31 leading zeros.
                _ => (1u64 << 41) as f64 + f64::from(i) * 3.0 + (next() % 3) as f64,
            };
            // Text cannot carry a NaN payload: Prometheus' parser gives every NaN this one.
            let v = if v.is_nan() { f64::from_bits(0x7ff8_0000_0000_0001) } else { v };
            samples.push((t, v));
        }
        all.push((format!("interop_metric_{}{{series=\"{s}\"}}", s % 7), samples));
    }
    all
}

fn openmetrics_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:?}")
    }
}

#[test]
fn promtool_written_block_matches_our_encoder() {
    let Some(promtool) = strata_testkit::peer_binary("promtool", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.om");
    let series = generate_series();
    let mut text = String::new();
    for (key, samples) in &series {
        for &(t, v) in samples {
            text.push_str(&format!("{key} {} {}.{:03}\n", openmetrics_value(v), t / 1000, t % 1000));
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("blocks");
    let run = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "promtool failed: {}", String::from_utf8_lossy(&run.stderr));

    let mut decoded = Vec::new();
    let mut chunk_count = 0;
    for block in std::fs::read_dir(&out).unwrap() {
        let chunks_dir = block.unwrap().path().join("chunks");
        for segment in std::fs::read_dir(chunks_dir).unwrap() {
            for chunk in read_segment(&segment.unwrap().path()) {
                let samples = decode(&chunk);
                assert_reencodes_identically(&chunk, &samples);
                decoded.extend(samples);
                chunk_count += 1;
            }
        }
    }
    let key = |s: &(i64, f64)| (s.0, s.1.to_bits());
    let mut want: Vec<_> = series.iter().flat_map(|(_, s)| s.iter().map(key)).collect();
    let mut got: Vec<_> = decoded.iter().map(key).collect();
    want.sort_unstable();
    got.sort_unstable();
    let missing: Vec<_> = want.iter().filter(|w| got.binary_search(w).is_err()).take(5).collect();
    let extra: Vec<_> = got.iter().filter(|g| want.binary_search(g).is_err()).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    assert_eq!(got.len(), want.len(), "sample count");
    assert!(chunk_count > 28 * 4, "expected several chunks per series, got {chunk_count}");
}
