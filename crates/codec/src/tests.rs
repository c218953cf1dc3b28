//! Cross-codec tests: exact vectors, real Prometheus chunks, and property tests.

use proptest::prelude::*;

use crate::container::{self, Codec};
use crate::{delta, xor, CodecError};

fn bits_of(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fn xor_round_trip(samples: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let (bytes, _) = xor::encode_chunk(samples.iter().copied()).expect("fits one chunk");
    xor::XorIter::new(&bytes).unwrap().collect::<Result<_, _>>().expect("decodes")
}

#[test]
fn xor_matches_hand_derived_bytes() {
    // t0=1000 → zig-zag 2000 → uvarint d0 0f; v0=1.0; Δ=1000 → e8 07; v1 repeat → `0`;
    // dod 0 → `0`; 2.0^1.0 = 0x7ff0.. → `11` lz=1 (00001) sig=11 (001011) 0x7ff (11 ones).
    let samples = [(1000, 1.0), (2000, 1.0), (3000, 2.0)];
    let (bytes, stats) = xor::encode_chunk(samples).unwrap();
    let want = [0x00, 0x03, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07, 0x30, 0x97, 0xff, 0xc0];
    assert_eq!(bytes, want);
    assert_eq!(stats.repeat.count, 1);
    assert_eq!(stats.new_window.count, 1);
    assert_eq!(stats.new_window.bits, 2 + 5 + 6 + 11);
    assert_eq!(xor_round_trip(&samples), samples);
}

#[test]
fn xor_dod_bucket_edges_round_trip() {
    // Each bucket's asymmetric edge and one past it, in both directions.
    let mut samples = vec![(0, 0.0), (1_000_000_000, 0.0)];
    let mut t = 1_000_000_000i64;
    let mut delta = 1_000_000_000i64;
    for dod in [8192, -8191, 8193, -8192, 65536, -65535, 65537, 524288, -524287, 524289, -524288, 0] {
        delta += dod;
        t += delta;
        samples.push((t, 1.5));
    }
    assert_eq!(bits_of(&xor_round_trip(&samples)), bits_of(&samples));
}

#[test]
fn xor_dod_buckets_cost_what_prometheus_writes() {
    // (dod, bits of its field): the asymmetric edges pick the bucket Prometheus picks.
    let cases = [
        (0, 1),
        (8192, 16),
        (-8191, 16),
        (8193, 20),
        (-8192, 20),
        (65536, 20),
        (-65535, 20),
        (65537, 24),
        (-65536, 24),
        (524288, 24),
        (-524287, 24),
        (524289, 68),
        (-524288, 68),
    ];
    for (dod, field_bits) in cases {
        // t0 = 0 and Δ = 10 take one varint byte each.
        let (bytes, stats) = xor::encode_chunk([(0, 0.0), (10, 0.0), (20 + dod, 0.0)]).unwrap();
        assert_eq!(stats.timestamp_bits - 16, field_bits, "dod {dod}");
        let decoded: Vec<_> = xor::XorIter::new(&bytes).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(decoded[2].0, 20 + dod);
    }
}

#[test]
fn xor_seek_finds_first_sample_at_or_after() {
    let samples: Vec<_> = (0..100).map(|i| (i * 15_000, i as f64)).collect();
    let (bytes, _) = xor::encode_chunk(samples.iter().copied()).unwrap();
    let mut it = xor::XorIter::new(&bytes).unwrap();
    assert_eq!(it.seek(30_001).unwrap().unwrap(), (45_000, 3.0));
    assert_eq!(it.next().unwrap().unwrap(), (60_000, 4.0));
    assert!(it.seek(10_000_000).is_none());
}

#[test]
fn xor_chunk_is_full_at_65535() {
    let mut enc = xor::XorEncoder::new();
    for i in 0..xor::MAX_SAMPLES_PER_CHUNK as i64 {
        enc.append(i, 0.0).unwrap();
    }
    assert!(matches!(enc.append(1 << 20, 0.0), Err(CodecError::Full { .. })));
}

#[test]
fn xor_ignores_trailing_bytes_like_old_prometheus_chunks() {
    let samples = [(5, 2.0), (10, 3.0)];
    let (mut bytes, _) = xor::encode_chunk(samples).unwrap();
    bytes.push(0);
    let decoded: Vec<_> = xor::XorIter::new(&bytes).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(decoded, samples);
}

#[test]
fn container_rejects_corruption_and_truncation() {
    let samples: Vec<_> = (0..1000).map(|i| (i * 10_000, (i as f64).sin())).collect();
    for codec in [Codec::Delta, Codec::Gorilla] {
        let (bytes, report) = container::encode(codec, &samples, 120).unwrap();
        assert_eq!(report.total_bytes as usize, bytes.len());
        assert_eq!(report.timestamp_bits + report.value_bits + report.overhead_bits, bytes.len() as u64 * 8);
        let (header, decoded) = container::decode(&bytes).unwrap();
        assert_eq!(header.codec, codec);
        assert_eq!(bits_of(&decoded), bits_of(&samples));
        for cut in [0, 3, 27, 28, bytes.len() / 2, bytes.len() - 1] {
            assert!(container::decode(&bytes[..cut]).is_err(), "{codec:?} cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[bytes.len() - 10] ^= 0x10;
        let err = container::decode(&flipped).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(container::decode(&magic).unwrap_err().to_string().contains("magic"));
    }
}

/// Timestamps with the extremes mixed in: huge, negative and repeated deltas.
fn arb_timestamps() -> impl Strategy<Value = Vec<i64>> {
    let step = prop_oneof![
        4 => Just(15_000i64),
        2 => -20_000i64..20_000,
        1 => Just(0i64),
        1 => any::<i64>(),
    ];
    let start = prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(1_703_001_600_000i64)];
    (start, proptest::collection::vec(step, 0..300)).prop_map(|(start, steps)| {
        let mut t = start;
        let mut out = vec![t];
        for s in steps {
            t = t.wrapping_add(s);
            out.push(t);
        }
        out
    })
}

/// Values with NaN payloads, infinities, signed zeros, subnormals and long runs.
fn arb_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        2 => (0u32..1000).prop_map(|i| f64::from(i) * 0.25),
        1 => any::<u64>().prop_map(f64::from_bits),
        1 => (any::<u64>()).prop_map(|p| f64::from_bits(0x7ff0_0000_0000_0001 | (p & 0x000f_ffff_ffff_ffff))),
        1 => prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0), Just(0.0), Just(f64::MIN_POSITIVE / 3.0), Just(f64::from_bits(1)), Just(f64::from_bits(0x7ff0_0000_0000_0002))],
    ]
}

fn arb_series() -> impl Strategy<Value = Vec<(i64, f64)>> {
    (arb_timestamps(), proptest::collection::vec((arb_value(), 1usize..20), 1..60)).prop_map(|(ts, runs)| {
        let values = runs.into_iter().flat_map(|(v, n)| std::iter::repeat_n(v, n));
        ts.into_iter().zip(values.cycle()).collect()
    })
}

/// A scraped series: a steady interval with a rare jitter, values that stay the same for
/// long runs (the fast path of `decode_chunk_into`), chunks up to the 120 samples
/// Prometheus cuts and beyond.
fn arb_scraped_series() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let steps = proptest::collection::vec(prop_oneof![20 => Just(1_000i64), 1 => 990i64..1_010], 1..400);
    let runs = proptest::collection::vec((arb_value(), 1usize..100), 1..20);
    (steps, runs).prop_map(|(steps, runs)| {
        let mut t = 1_795_547_583_979i64;
        let times = std::iter::once(0).chain(steps).map(move |s| {
            t += s;
            t
        });
        let values = runs.into_iter().flat_map(|(v, n)| std::iter::repeat_n(v, n));
        times.zip(values.cycle()).collect()
    })
}

fn arb_any_series() -> impl Strategy<Value = Vec<(i64, f64)>> {
    prop_oneof![arb_series(), arb_scraped_series()]
}

proptest! {

    #![proptest_config(ProptestConfig::with_cases(512))]

    /// An encoder without figures writes the same bytes, and reports zeros.
    #[test]
    fn encoders_without_stats_write_the_same_chunk(
        samples in prop::collection::vec((any::<i64>(), any::<f64>()), 0..200),
        capacity in 0usize..300,
    ) {
        let (mut full, mut lean) = (xor::XorEncoder::new(), xor::XorEncoder::without_stats(capacity));
        for &(t, v) in &samples {
            full.append(t, v).unwrap();
            lean.append(t, v).unwrap();
        }
        prop_assert_eq!(lean.to_bytes(), full.to_bytes());
        let ((a, stats), (b, none)) = (full.finish(), lean.finish());
        prop_assert_eq!(a, b);
        prop_assert_eq!(none, xor::XorStats::default());
        prop_assert!(samples.is_empty() || stats.timestamp_bits > 0);
    }

    #[test]
    fn xor_round_trips_bit_exact(samples in arb_any_series()) {
        prop_assert_eq!(bits_of(&xor_round_trip(&samples)), bits_of(&samples));
        let (chunk, _) = xor::encode_chunk(samples.iter().copied()).unwrap();
        let mut fast = Vec::new();
        xor::decode_chunk_into(&chunk, &mut fast).unwrap();
        prop_assert_eq!(bits_of(&fast), bits_of(&samples), "the bulk decoder too");
    }

    #[test]
    fn xor_incremental_bytes_decode_at_any_point(samples in arb_series()) {
        let mut enc = xor::XorEncoder::new();
        for (i, &(t, v)) in samples.iter().enumerate() {
            enc.append(t, v).unwrap();
            let snapshot = enc.to_bytes();
            prop_assert_eq!(snapshot.len(), enc.byte_len());
            let n = xor::XorIter::new(&snapshot).unwrap().collect::<Result<Vec<_>, _>>()?.len();
            prop_assert_eq!(n, i + 1);
        }
    }

    #[test]
    fn delta_round_trips_bit_exact(samples in arb_series()) {
        let (bytes, stats) = delta::encode(samples.iter().copied());
        prop_assert_eq!(stats.timestamp_bytes + stats.value_bytes + stats.overhead_bytes, bytes.len() as u64);
        prop_assert_eq!(bits_of(&delta::decode(&bytes)?), bits_of(&samples));
    }

    #[test]
    fn container_round_trips(samples in arb_series(), chunk in 1usize..200) {
        for codec in [Codec::Delta, Codec::Gorilla] {
            let (bytes, _) = container::encode(codec, &samples, chunk)?;
            prop_assert_eq!(bits_of(&container::decode(&bytes)?.1), bits_of(&samples));
        }
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(it) = xor::XorIter::new(&bytes) {
            let _ = it.count();
        }
        let _ = delta::decode(&bytes);
        let _ = container::decode(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_damaged_valid_input(samples in arb_series(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
        let (chunk, _) = xor::encode_chunk(samples.iter().copied()).unwrap();
        let (dbytes, _) = delta::encode(samples.iter().copied());
        for mut bytes in [chunk, dbytes] {
            for &(at, x) in &flips {
                let i = at % bytes.len();
                bytes[i] ^= x;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            if let Ok(it) = xor::XorIter::new(&bytes) {
                let _ = it.count();
            }
            let _ = delta::decode(&bytes);
        }
    }

    #[test]
    fn fast_chunk_decoder_agrees_with_the_checked_iterator(samples in arb_any_series(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3), cut in any::<usize>()) {
        let (mut chunk, _) = xor::encode_chunk(samples.iter().copied()).unwrap();
        for &(at, x) in &flips {
            let i = at % chunk.len();
            chunk[i] ^= x;
        }
        chunk.truncate(cut % (chunk.len() + 1));
        let checked: Result<Vec<_>, _> = match xor::XorIter::new(&chunk) {
            Ok(it) => it.collect(),
            Err(e) => Err(e),
        };
        let mut fast = vec![(7, 7.0)];
        let result = xor::decode_chunk_into(&chunk, &mut fast);
        match checked {
            Ok(want) => {
                prop_assert!(result.is_ok());
                prop_assert_eq!(bits_of(&fast[1..]), bits_of(&want));
            }
            Err(_) => {
                prop_assert!(result.is_err());
                prop_assert_eq!(fast.len(), 1, "nothing appended on error");
            }
        }
    }

    #[test]
    fn truncated_xor_chunks_report_an_error(samples in arb_any_series(), cut in any::<usize>()) {
        let (chunk, _) = xor::encode_chunk(samples.iter().copied()).unwrap();
        // Cutting off whole bytes of sample data must not yield all samples silently.
        let cut = cut % chunk.len();
        let result: Result<Vec<_>, _> = match xor::XorIter::new(&chunk[..cut]) {
            Ok(it) => it.collect(),
            Err(e) => Err(e),
        };
        if let Ok(decoded) = result {
            // Only possible when the cut removed padding alone: all samples still there.
            prop_assert_eq!(bits_of(&decoded), bits_of(&samples));
        }
    }
}
